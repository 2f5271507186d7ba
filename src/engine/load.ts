/**
 * Loading a model (weights + config + tokenizer) into a runtime, from a Hugging Face directory
 * (any ModelSource: memory, HTTP, or files via src/node) or from a llama GGUF file.
 * Headers are validated before any tensor is read; a failed load leaves nothing half-usable.
 */
import type { GenerationConfig, ModelConfig } from '../config.js';
import { ChatTemplateError, TokenizerError } from '../errors.js';
import type { ByteSource, ModelSource } from '../io/source.js';
import { openGgufModel, openHfModel } from '../weights/open-model.js';
import { LlamaModel, type LlamaLoadOptions } from '../model/llama.js';
import { Tokenizer } from '../tokenizer.js';
import type { GgufTokenizerData } from '../weights/gguf-llama.js';
import type { GgufFile } from '../weights/gguf.js';
import { chatTemplateSet, chatTemplatesFromTokenizerConfig, type ChatTemplateSet } from '../chat/template.js';
import type { Runtime } from '../wasm/runtime.js';

/** A model ready to run: the forward pass, its tokenizer and where it came from. */
export interface LoadedModel {
  readonly name: string;
  readonly config: ModelConfig;
  readonly model: LlamaModel;
  readonly tokenizer: Tokenizer;
  /** generation_config.json, when the directory has one. */
  readonly generation: GenerationConfig | null;
  /**
   * The chat templates the model ships (chat_template.jinja, tokenizer_config.json chat_template,
   * or GGUF tokenizer.chat_template), or null when it ships none.
   */
  readonly chatTemplates: ChatTemplateSet | null;
  /** Milliseconds spent reading and packing the weights. */
  readonly loadMs: number;
  /**
   * What the files hold that spechub does not read (config.json fields or GGUF keys that do not change
   * this architecture's math, ignored tensors), one line each; the CLI prints them once to stderr.
   */
  readonly warnings: readonly string[];
}

export type LoadModelOptions = LlamaLoadOptions;

/** Load a Hugging Face model directory (config.json, model.safetensors[ + index], tokenizer.json). */
export async function loadHfModel(rt: Runtime, source: ModelSource, options: LoadModelOptions = {}): Promise<LoadedModel> {
  const t0 = performance.now();
  const opened = await openHfModel(source);
  try {
    // a model that cannot fit is refused now, before its tokenizer or any weight is read
    LlamaModel.checkMemory(rt, opened.config, { name: source.name, ...options });
    if (!(await source.exists('tokenizer.json'))) {
      throw new TokenizerError(`${source.name}: expected tokenizer.json next to config.json, found none`);
    }
    const tokenizerJson = await source.readText('tokenizer.json');
    const tokenizerConfig = (await source.exists('tokenizer_config.json')) ? await source.readText('tokenizer_config.json') : null;
    const tokenizer = Tokenizer.fromJson(tokenizerJson, tokenizerConfig);
    checkTokenizerFits(source.name, tokenizer, opened.config);
    const jinja = (await source.exists('chat_template.jinja')) ? await source.readText('chat_template.jinja') : null;
    const chatTemplates = chatTemplatesFromTokenizerConfig(tokenizerConfig === null ? {} : JSON.parse(tokenizerConfig), jinja, `${source.name}/tokenizer_config.json`);
    const model = await LlamaModel.load(rt, opened.config, opened.tensors, { name: source.name, ...options });
    return { name: source.name, config: opened.config, model, tokenizer, generation: opened.generation, chatTemplates, loadMs: performance.now() - t0, warnings: opened.warnings };
  } finally {
    await opened.close();
  }
}

/** Load a GGUF file with its embedded tokenizer. */
export async function loadGgufModel(rt: Runtime, source: ByteSource, options: LoadModelOptions = {}): Promise<LoadedModel> {
  const t0 = performance.now();
  const opened = await openGgufModel(source);
  try {
    LlamaModel.checkMemory(rt, opened.config, { name: source.name, ...options });
    if (opened.tokenizer === null) {
      throw new TokenizerError(`${source.name}: the GGUF file embeds no tokenizer (tokenizer.ggml.model is absent)`);
    }
    const tokenizer = ggufTokenizer(source.name, opened.tokenizer);
    checkTokenizerFits(source.name, tokenizer, opened.config);
    const chatTemplates = ggufChatTemplates(opened.gguf, opened.tokenizer);
    const model = await LlamaModel.load(rt, opened.config, opened.tensors, { name: source.name, ...options });
    return { name: source.name, config: opened.config, model, tokenizer, generation: null, chatTemplates, loadMs: performance.now() - t0, warnings: opened.warnings };
  } finally {
    await opened.close();
  }
}

/** A Tokenizer from GGUF tokenizer metadata ("llama" SentencePiece or "gpt2" byte-level BPE); see Tokenizer.fromGguf. */
export function ggufTokenizer(file: string, data: GgufTokenizerData): Tokenizer {
  return Tokenizer.fromGguf(data, file);
}

/**
 * The chat templates of a GGUF: tokenizer.chat_template (the default) and tokenizer.chat_template.<name>,
 * rendering with the vocabulary's BOS/EOS/UNK/PAD pieces as bos_token, eos_token, unk_token, pad_token
 * (as llama.cpp does). null when the file has none.
 */
export function ggufChatTemplates(gguf: GgufFile, tok: GgufTokenizerData): ChatTemplateSet | null {
  const texts = new Map<string, string>();
  const prefix = 'tokenizer.chat_template';
  for (const [key, v] of gguf.metadata) {
    if (key !== prefix && !key.startsWith(`${prefix}.`)) continue;
    if (v.type !== 'STRING') throw new ChatTemplateError(`${gguf.name}: ${key}: expected a STRING, got ${v.type}`);
    texts.set(key === prefix ? 'default' : key.slice(prefix.length + 1), v.value);
  }
  if (texts.size === 0) return null;
  const special: Record<string, string> = {};
  const ids = { bos_token: tok.bosId, eos_token: tok.eosId, unk_token: tok.unkId, pad_token: tok.padId };
  for (const [k, id] of Object.entries(ids)) if (id !== null) special[k] = tok.tokens[id]!;
  return chatTemplateSet(texts, `${gguf.name}: tokenizer.chat_template`, special);
}

function checkTokenizerFits(file: string, tokenizer: Tokenizer, config: ModelConfig): void {
  if (tokenizer.vocabSize > config.vocabSize) {
    throw new TokenizerError(
      `${file}: the tokenizer has ${tokenizer.vocabSize} tokens but the model only ${config.vocabSize} logits (vocab_size)`,
    );
  }
}
