// Shared helpers for model tests: build engine models from reference weights, decode tok512 pieces.
import { readFileSync } from 'node:fs';
import type { ModelConfig } from '../../src/config.js';
import { LlamaModel } from '../../src/model/llama.js';
import { memoryRoleReader, type RoleReader } from '../../src/weights/llama-tensors.js';
import type { Runtime } from '../../src/wasm/runtime.js';
import { createRng } from '../../src/rng.js';
import { DraftTree } from '../../src/draft/tree.js';
import { parseLlama2cForTest, refModelConfig, refWeightsToRoles, type RefWeights } from '../reference/llama-ref.js';

export const FIXTURES = new URL('../../../test/fixtures/', import.meta.url);

export function readFixture(path: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(path, FIXTURES)));
}

/** stories260K in the reference oracle's form (llama2.c layout, interleaved RoPE). */
export function stories260KRef(): RefWeights {
  return parseLlama2cForTest(readFixture('llama2c/stories260K.bin'));
}

/** The engine's view of reference weights: a RoleReader over their arrays (tensor-role table). */
export function refReader(w: RefWeights): RoleReader {
  const roles = refWeightsToRoles(w);
  return memoryRoleReader(refModelConfig(w), (role) => roles.get(role));
}

export function configOf(w: RefWeights): ModelConfig {
  return refModelConfig(w);
}

/** Load reference weights into an engine model (HF layout). */
export function engineModel(rt: Runtime, w: RefWeights, options: { maxBatch?: number; capacity?: number } = {}): Promise<LlamaModel> {
  return LlamaModel.load(rt, configOf(w), refReader(w), options);
}

/** A random small Llama in reference form with Hugging Face (rotate-half) RoPE. */
export function randomRefWeights(seed: number, shape: { dim: number; hiddenDim: number; nLayers: number; nHeads: number; nKvHeads: number; vocabSize: number; maxSeqLen: number; tied: boolean }): RefWeights {
  const rng = createRng(seed);
  const u = (n: number, s: number) => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = (rng.next() * 2 - 1) * s;
    return a;
  };
  const { dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, maxSeqLen } = shape;
  const hd = dim / nHeads;
  const kvDim = nKvHeads * hd;
  const emb = u(vocabSize * dim, 1);
  return {
    config: { dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, maxSeqLen, normEps: 1e-5, ropeTheta: 10000 },
    ropeStyle: 'halves',
    tokenEmbedding: emb,
    layers: Array.from({ length: nLayers }, () => ({
      rmsAtt: u(dim, 1).map((x) => 1 + 0.5 * x),
      wq: u(dim * dim, 1 / Math.sqrt(dim)),
      wk: u(kvDim * dim, 1 / Math.sqrt(dim)),
      wv: u(kvDim * dim, 1 / Math.sqrt(dim)),
      wo: u(dim * dim, 1 / Math.sqrt(dim)),
      rmsFfn: u(dim, 1).map((x) => 1 + 0.5 * x),
      w1: u(hiddenDim * dim, 1 / Math.sqrt(dim)),
      w2: u(dim * hiddenDim, 1 / Math.sqrt(hiddenDim)),
      w3: u(hiddenDim * dim, 1 / Math.sqrt(dim)),
    })),
    rmsFinal: u(dim, 1).map((x) => 1 + 0.5 * x),
    wcls: shape.tied ? emb : u(vocabSize * dim, 1),
  };
}

/** Max |a − b| / (1 + max |b|). */
export function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(b[i]!));
  }
  return d / (1 + m);
}

export function argmax(a: ArrayLike<number>, from = 0, count = a.length): number {
  let best = from;
  for (let i = from + 1; i < from + count; i++) if (a[i]! > a[best]!) best = i;
  return best - from;
}

/** A random draft tree of `size` nodes over ids < V: breadth first, each node 1–3 children until full. */
export function randomTree(seed: number, size: number, V: number): DraftTree {
  const rng = createRng(seed);
  const t = new DraftTree(size);
  t.reset(rng.nextU32() % V);
  // BFS: each node in order gets 0..3 children until the tree is full
  const buf = new Int32Array(4);
  for (let node = 0; node < t.size && t.size < size; node++) {
    const k = Math.min(1 + (rng.nextU32() % 3), size - t.size);
    for (let j = 0; j < k; j++) buf[j] = rng.nextU32() % V;
    t.addChildren(node, buf, k);
  }
  return t;
}

/** The staged rows of the root-to-node path of `node`, root first. */
export function pathTo(t: DraftTree, node: number): number[] {
  const p: number[] = [];
  for (let j = node; j !== -1; j = t.parents[j]!) p.unshift(j);
  return p;
}

/** Whole tree in one forward; returns logits per node. */
export function treeForward(m: LlamaModel, t: DraftTree): Float32Array[] {
  const P = m.cache.length;
  for (let i = 0; i < t.size; i++) {
    m.tokens[i] = t.tokens[i]!;
    m.positions[i] = P + t.depths[i]!;
  }
  t.fillMask(m.mask, 0, t.size, 0);
  m.forward(t.size, 0, true);
  const V = m.config.vocabSize;
  return Array.from({ length: t.size }, (_, i) => m.logits.slice(i * V, (i + 1) * V));
}
