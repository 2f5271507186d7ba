/**
 * Node wrapper of the llama2.c converter: paths in, a Hugging Face model directory out.
 * `spechub convert llama2c <model.bin> <tokenizer.bin> <out-dir>` calls {@link convertLlama2cFiles}.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { convertLlama2c, type Llama2cHeader } from '../convert/llama2c.js';

/** Options of `convertLlama2cFiles`. */
export interface ConvertFilesOptions {
  /** Progress lines; default console.log. Pass `() => {}` for silence. */
  readonly log?: (line: string) => void;
}

/** What was written. */
export interface ConvertFilesResult {
  readonly header: Llama2cHeader;
  readonly outDir: string;
  readonly files: readonly { readonly path: string; readonly bytes: number; readonly sha256: string }[];
}

/**
 * Read a llama2.c checkpoint and tokenizer.bin, convert them (see convertLlama2c) and write
 * config.json, model.safetensors, tokenizer.json and tokenizer_config.json into `outDir` (created if
 * missing; those four files are overwritten, nothing else is touched). Prints progress.
 * @throws WeightsFormatError / ConfigError / TokenizerError naming the offending file.
 */
export async function convertLlama2cFiles(
  modelPath: string,
  tokenizerPath: string,
  outDir: string,
  options: ConvertFilesOptions = {},
): Promise<ConvertFilesResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const [modelBytes, tokenizerBytes] = await Promise.all([readFile(modelPath), readFile(tokenizerPath)]);
  log(`reading ${modelPath} (${modelBytes.length} bytes) and ${tokenizerPath} (${tokenizerBytes.length} bytes)`);
  const converted = convertLlama2c(new Uint8Array(modelBytes), new Uint8Array(tokenizerBytes), {
    modelFileName: modelPath,
    tokenizerFileName: tokenizerPath,
  });
  const h = converted.header;
  log(
    `llama2.c v0 checkpoint: dim=${h.dim} hidden_dim=${h.hiddenDim} n_layers=${h.nLayers} n_heads=${h.nHeads} n_kv_heads=${h.nKvHeads} ` +
      `vocab_size=${h.vocabSize} (${h.sharedClassifier ? 'shared' : 'separate'} classifier) seq_len=${h.seqLen}`,
  );
  await mkdir(outDir, { recursive: true });
  const files = [];
  for (const f of converted.files) {
    const path = join(outDir, f.name);
    await writeFile(path, f.bytes);
    const sha256 = createHash('sha256').update(f.bytes).digest('hex');
    log(`wrote ${path} (${f.bytes.length} bytes, sha256 ${sha256})`);
    files.push({ path, bytes: f.bytes.length, sha256 });
  }
  return { header: h, outDir, files };
}
