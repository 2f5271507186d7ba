// A StepModel whose next-token law is a given function of the prefix: the test double that makes
// the speculative engine's output law exactly computable. It keeps the committed tokens and the
// staged rows' tokens (its "KV cache"), finds each row's prefix from the batch mask exactly as
// attention would (committed rows + attended staged rows, in row order), and writes
// logits = ln(table(prefix)) (−∞ for zeros) into the runtime memory, where the engine's sampling
// kernels read them. `layers` below nLayers selects the draft table (early exit).
import type { Runtime } from '../../src/wasm/runtime.js';
import type { StepModel, StepRule } from '../../src/engine/speculative.js';
import type { NodeVerifier } from '../../src/verify/node-verifier.js';
import { draftLaw, levelOutcome } from '../../src/verify/methods.js';
import { draftingMethod, isSequenceMethod, type MethodName, type NodeMeta } from '../../src/verify/types.js';
import { createRng } from '../../src/rng.js';

export type Table = (prefix: readonly number[]) => Float64Array;

export class TableModel implements StepModel {
  readonly config: { vocabSize: number; nLayers: number };
  /** Zero-probability tokens get −∞ logits (ln 0) on purpose. */
  readonly maskedLogits = true;
  readonly committed: number[] = [];
  private readonly staged: number[] = [];
  private readonly logitsBase: number;
  private readonly tokensPtr: number;
  private readonly positionsPtr: number;
  private readonly maskPtr: number;
  readonly cache: StepModel['cache'];
  forwards = 0;

  constructor(
    readonly rt: Runtime,
    vocabSize: number,
    private readonly table: Table,
    capacity: number,
    readonly maxBatch: number,
    /** Law used when forward() runs fewer than nLayers (early-exit drafting). */
    private readonly exitTable: Table | null = null,
  ) {
    this.config = { vocabSize, nLayers: 2 };
    this.logitsBase = rt.arena.alloc('table.logits', maxBatch * vocabSize * 4).ptr;
    this.tokensPtr = rt.arena.alloc('table.tokens', maxBatch * 4).ptr;
    this.positionsPtr = rt.arena.alloc('table.positions', maxBatch * 4).ptr;
    this.maskPtr = rt.arena.alloc('table.mask', maxBatch * maxBatch).ptr;
    const self = this;
    this.cache = {
      get length() {
        return self.committed.length;
      },
      capacity,
      commit(n: number) {
        self.committed.push(...self.staged.slice(0, n));
      },
      commitRows(rows: Int32Array, count: number) {
        for (let j = 0; j < count; j++) self.committed.push(self.staged[rows[j]!]!);
      },
      truncate(length: number) {
        self.committed.length = length;
      },
    };
  }

  get tokens(): Int32Array {
    return this.rt.i32(this.tokensPtr, this.maxBatch);
  }
  get positions(): Int32Array {
    return this.rt.i32(this.positionsPtr, this.maxBatch);
  }
  get mask(): Uint8Array {
    return this.rt.u8(this.maskPtr, this.maxBatch * this.maxBatch);
  }

  logitsPtr(row: number): number {
    return this.logitsBase + row * this.config.vocabSize * 4;
  }

  forward(n: number, logitsFrom = 0, tree = false, stagedBefore = 0, layers = 2): void {
    this.forwards++;
    const tokens = this.tokens;
    const positions = this.positions;
    const mask = this.mask;
    const m = stagedBefore + n;
    this.staged.length = stagedBefore;
    for (let i = 0; i < n; i++) this.staged.push(tokens[i]!);
    const V = this.config.vocabSize;
    const table = layers < this.config.nLayers ? this.exitTable! : this.table;
    for (let i = 0; i < n; i++) {
      const prefix = [...this.committed];
      for (let j = 0; j < m; j++) {
        const attends = tree ? mask[i * m + j] === 1 : j <= stagedBefore + i;
        if (attends) prefix.push(this.staged[j]!);
      }
      if (positions[i] !== prefix.length - 1) throw new Error(`table model: row ${i} at position ${positions[i]} has a prefix of ${prefix.length}`);
      if (i < logitsFrom) continue;
      const p = table(prefix);
      const out = this.rt.f32(this.logitsPtr(i - logitsFrom), V);
      for (let y = 0; y < V; y++) out[y] = p[y]! > 0 ? Math.log(p[y]!) : -Infinity;
    }
  }
}

/** A deterministic "random" next-token law per prefix, with zeros, ties and near-one-hot rows. */
export function hashedTable(seed: number, V: number): Table {
  const memo = new Map<string, Float64Array>();
  return (prefix) => {
    const key = prefix.join(',');
    let p = memo.get(key);
    if (!p) {
      let h = seed >>> 0;
      for (const t of prefix) h = Math.imul(h ^ (t + 0x9e37), 0x85ebca6b) >>> 0;
      const rng = createRng(h);
      const kind = rng.nextU32() % 5;
      p = new Float64Array(V);
      for (let y = 0; y < V; y++) {
        const u = rng.next();
        p[y] = kind === 0 && u < 0.35 ? 0 : kind === 1 ? (y === 0 ? 8 : 1) : kind === 2 ? Math.pow(u, 6) : u;
      }
      if (kind === 3) p[rng.nextU32() % V] = 0;
      let s = 0;
      for (let y = 0; y < V; y++) s += p[y]!;
      if (s === 0) p[0] = s = 1;
      for (let y = 0; y < V; y++) p[y]! /= s;
      memo.set(key, p);
    }
    return p;
  };
}

/** Depth-first enumeration of every execution of `run`, each weighted by the product of its choices. */
export function enumerate(run: (choose: (probs: ArrayLike<number>) => number) => string): Map<string, number> {
  const out = new Map<string, number>();
  const stack: number[][] = [[]];
  while (stack.length > 0) {
    const forced = stack.pop()!;
    const taken: number[] = [];
    let w = 1;
    const choose = (probs: ArrayLike<number>): number => {
      const i = taken.length;
      let c: number;
      if (i < forced.length) {
        c = forced[i]!;
      } else {
        c = -1;
        for (let j = 0; j < probs.length; j++) {
          if (probs[j]! > 0) {
            if (c < 0) c = j;
            else stack.push([...taken, j]);
          }
        }
        if (c < 0) throw new Error('enumerate: a choice with no positive alternative');
      }
      taken.push(c);
      w *= probs[c]!;
      return c;
    };
    const key = run(choose);
    out.set(key, (out.get(key) ?? 0) + w);
  }
  return out;
}

/**
 * A StepRule that branches instead of sampling: drafting over the method's exact joint law,
 * verification over its exact outcome law (accept slot j, or each residual token), bonus tokens
 * over p, and — for the sequence-level methods, whose verification the real walker runs — each
 * Bernoulli test over {true, false} and each residual draw over its tokens. `choose` comes from
 * `enumerate`; the real NodeVerifier rebuilds each node's metadata.
 */
export function enumeratingRule(method: MethodName, getChoose: () => (probs: ArrayLike<number>) => number) {
  const drafting = draftingMethod(method);
  return (verifier: NodeVerifier | null): StepRule => ({
    draftInto(q, k, _rng, out, meta: NodeMeta) {
      const law = draftLaw(drafting, Float64Array.from(q), k);
      const c = getChoose()(law.map((o) => o.prob));
      const d = law[c]!.drafts;
      out.set(d);
      verifier!.inferMeta(q, out, d.length, meta);
      return d.length;
    },
    verifyNode(p, q, drafts, count, meta, _rng) {
      if (isSequenceMethod(method)) throw new Error(`${method} verifies whole trees, not nodes`);
      const hubs = method === 'spechub' ? meta.hubs.subarray(0, meta.hubCount) : undefined;
      const o = levelOutcome(method, Float64Array.from(p), Float64Array.from(q), drafts.subarray(0, count), hubs);
      const alts = new Float64Array(count + p.length);
      alts.set(o.accept);
      for (let y = 0; y < p.length; y++) alts[count + y] = o.reject * o.residual[y]!;
      const c = getChoose()(alts);
      return c < count ? { token: drafts[c]!, accepted: c } : { token: c - count, accepted: -1 };
    },
    sampleTarget(p) {
      return getChoose()(p);
    },
    bernoulli(prob) {
      return getChoose()([prob, 1 - prob]) === 0;
    },
    sampleRow(row, mass) {
      return getChoose()(Float64Array.from(row, (x) => x / mass));
    },
  });
}
