/**
 * Sharded safetensors checkpoints: `model.safetensors.index.json` maps every tensor name to the
 * shard file holding it:
 *
 *   {"metadata": {"total_size": …}, "weight_map": {"model.norm.weight": "model-00002-of-00002.safetensors", …}}
 *
 * Validation: the index is strict JSON (no duplicate keys, so no tensor is mapped twice); shard
 * names are plain file names (an untrusted index must not reach "../"); every referenced shard
 * exists and parses; every mapped tensor is in the shard the map names; no tensor is stored in two
 * shards; no shard holds a tensor absent from the map. Other top-level keys and
 * `metadata.total_size` are not checked (writers disagree on what total_size counts).
 *
 * `openSafetensorsWeights` opens a model directory: model.safetensors if present, else the index.
 */
import { WeightsFormatError } from '../errors.js';
import { checkPlainFileName, type ModelSource } from '../io/source.js';
import { describeJson, isJsonObject, parseJsonStrict } from '../io/json.js';
import { SafetensorsFile } from './safetensors.js';
import { getTensor, readBytes, readF32, type ReadBytesOptions, type ReadF32Options, type TensorDirectory, type TensorInfo } from './tensor.js';

/** The single-file checkpoint name. */
export const SAFETENSORS_FILE = 'model.safetensors';
/** The index of a sharded checkpoint. */
export const SAFETENSORS_INDEX_FILE = 'model.safetensors.index.json';

/** A parsed index file. */
export interface SafetensorsIndex {
  /** Tensor name → shard file name, in file order. */
  readonly weightMap: ReadonlyMap<string, string>;
  /** Distinct shard file names, in order of first appearance. */
  readonly shards: readonly string[];
  /** The index's "metadata" object (empty when absent). */
  readonly metadata: Readonly<Record<string, unknown>>;
}

/** Parse and validate the text of an index file named `file`. */
export function parseSafetensorsIndex(text: string, file: string): SafetensorsIndex {
  const parsed = parseJsonStrict(text);
  if (!parsed.ok) throw new WeightsFormatError(`${file}: ${parsed.problem}`);
  const json = parsed.value;
  if (!isJsonObject(json)) throw new WeightsFormatError(`${file}: expected a JSON object, got ${describeJson(json)}`);
  const meta = json.metadata ?? {};
  if (!isJsonObject(meta)) throw new WeightsFormatError(`${file}: metadata: expected an object, got ${describeJson(meta)}`);
  const map = json.weight_map;
  if (!isJsonObject(map)) throw new WeightsFormatError(`${file}: weight_map: expected an object of tensor name → shard file, got ${describeJson(map)}`);
  const weightMap = new Map<string, string>();
  const shards: string[] = [];
  const seen = new Set<string>(); // shards by name: linear in the size of a hostile weight_map
  for (const [name, shard] of Object.entries(map)) {
    if (typeof shard !== 'string') {
      throw new WeightsFormatError(`${file}: weight_map[${JSON.stringify(name)}]: expected a shard file name, got ${describeJson(shard)}`);
    }
    checkPlainFileName(`${file}: weight_map[${JSON.stringify(name)}]`, shard);
    weightMap.set(name, shard);
    if (!seen.has(shard)) {
      seen.add(shard);
      shards.push(shard);
    }
  }
  if (weightMap.size === 0) throw new WeightsFormatError(`${file}: weight_map: expected at least one tensor, got none`);
  return { weightMap, shards, metadata: meta };
}

/** A sharded checkpoint: the union of its shards, validated against the index. */
export class ShardedSafetensors implements TensorDirectory {
  readonly format = 'safetensors' as const;
  readonly tensors: ReadonlyMap<string, TensorInfo>;

  private constructor(
    /** The index file (as named in messages). */
    readonly name: string,
    readonly index: SafetensorsIndex,
    /** Shard file name → opened shard. */
    readonly shards: ReadonlyMap<string, SafetensorsFile>,
  ) {
    const all = new Map<string, TensorInfo>();
    for (const name of index.weightMap.keys()) all.set(name, shards.get(index.weightMap.get(name)!)!.tensors.get(name)!);
    this.tensors = all;
  }

  /** Open `indexFile` in `model` and every shard it names; validate them together. */
  static async open(model: ModelSource, indexFile: string = SAFETENSORS_INDEX_FILE): Promise<ShardedSafetensors> {
    const where = `${model.name}/${indexFile}`;
    const index = parseSafetensorsIndex(await model.readText(indexFile), where);
    const shards = new Map<string, SafetensorsFile>();
    try {
      for (const shard of index.shards) {
        if (!(await model.exists(shard))) {
          const example = [...index.weightMap].find(([, s]) => s === shard)![0];
          throw new WeightsFormatError(`${where}: shard ${shard} (holding ${example}, …) not found in ${model.name}`);
        }
        const src = await model.open(shard);
        try {
          shards.set(shard, await SafetensorsFile.open(src));
        } catch (e) {
          await src.close?.();
          throw e;
        }
      }
      const home = new Map<string, string>(); // tensor → shard that stores it
      for (const [shard, f] of shards) {
        for (const name of f.tensors.keys()) {
          const other = home.get(name);
          if (other !== undefined) throw new WeightsFormatError(`${where}: tensor ${name} is stored twice, in ${other} and in ${shard}`);
          home.set(name, shard);
          if (!index.weightMap.has(name)) throw new WeightsFormatError(`${where}: shard ${shard} holds tensor ${name}, which the weight_map does not list`);
        }
      }
      for (const [name, shard] of index.weightMap) {
        const found = home.get(name);
        if (found !== shard) {
          throw new WeightsFormatError(
            `${where}: weight_map puts tensor ${name} in ${shard}, but ${found === undefined ? 'no shard holds it' : `it is in ${found}`}`,
          );
        }
      }
    } catch (e) {
      await Promise.all([...shards.values()].map((s) => s.close()));
      throw e;
    }
    return new ShardedSafetensors(where, index, shards);
  }

  private locate(name: string): { shard: SafetensorsFile; t: TensorInfo } {
    const t = getTensor(this, name);
    return { shard: this.shards.get(this.index.weightMap.get(name)!)!, t };
  }

  readTensorF32(name: string, dest: Float32Array, options?: ReadF32Options): Promise<void> {
    const { shard, t } = this.locate(name);
    return readF32(shard.source, t, dest, options);
  }

  readTensorBytes(name: string, dest: Uint8Array, options?: ReadBytesOptions): Promise<void> {
    const { shard, t } = this.locate(name);
    return readBytes(shard.source, t, dest, options);
  }

  /** Close every shard. */
  async close(): Promise<void> {
    await Promise.all([...this.shards.values()].map((s) => s.close()));
  }
}

/** A model's weights as one directory: `SafetensorsFile` or `ShardedSafetensors`, with close(). */
export type SafetensorsWeights = (SafetensorsFile | ShardedSafetensors) & TensorDirectory;

/**
 * Open the weights of a Hugging Face model directory: model.safetensors when present, else
 * model.safetensors.index.json and its shards.
 */
export async function openSafetensorsWeights(model: ModelSource): Promise<SafetensorsWeights> {
  if (await model.exists(SAFETENSORS_FILE)) {
    const src = await model.open(SAFETENSORS_FILE);
    try {
      return await SafetensorsFile.open(src);
    } catch (e) {
      await src.close?.();
      throw e;
    }
  }
  if (await model.exists(SAFETENSORS_INDEX_FILE)) return ShardedSafetensors.open(model, SAFETENSORS_INDEX_FILE);
  throw new WeightsFormatError(`${model.name}: expected ${SAFETENSORS_FILE} or ${SAFETENSORS_INDEX_FILE}, found neither`);
}
