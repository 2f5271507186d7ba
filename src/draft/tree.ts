/**
 * Draft trees as a struct of arrays. Node 0 is the root: the last emitted token, not yet in the
 * target's cache. Nodes are in BFS order (level by level, siblings contiguous, parents[i] < i), so
 * the target can verify the whole tree in one forward with rows = node ids, and the drafter can
 * feed one level at a time.
 *
 * A shape is the branching per level: [2, 2, 2, 2] is the full binary tree of depth 4 (30 drafts);
 * [1, 1, 1, 1] a chain (single-draft speculative decoding); [3, 1, 1] three chains of length 3.
 */
import { CapacityError, InvalidArgumentError } from '../errors.js';
import { checkDynamicSpec, isDynamicSpec, parseDynamicSpec, type DynamicTreeSpec } from './dynamic.js';

/** A tree option: a fixed branching per level ([] = plain decoding) or a dynamic tree under a node budget. */
export type TreeSpec = readonly number[] | DynamicTreeSpec;

/**
 * Parses a tree option: "2,2,2" / [2, 2, 2] (fixed branching per level), "dynamic:16" /
 * { dynamic: 16 } (the drafter shapes up to 16 nodes per step, src/draft/dynamic.ts).
 */
export function parseTreeSpec(spec: string | TreeSpec): number[] | DynamicTreeSpec {
  if (typeof spec === 'string') return parseDynamicSpec(spec) ?? parseTreeShape(spec);
  if (isDynamicSpec(spec)) return checkDynamicSpec(spec);
  return parseTreeShape(spec);
}

/** "2,2,2", "dynamic:16", or "" for plain decoding. */
export function treeSpecLabel(spec: TreeSpec): string {
  return isDynamicSpec(spec) ? `dynamic:${spec.dynamic}` : spec.join(',');
}

/** Parse "2,2,2,2" (or an array) into a validated branching list. */
export function parseTreeShape(spec: string | readonly number[]): number[] {
  const parts = typeof spec === 'string' ? spec.split(',').map((s) => s.trim()) : spec.map(String);
  if (parts.length === 0 || (parts.length === 1 && parts[0] === '')) {
    throw new InvalidArgumentError(`tree shape: expected branching factors like "2,2,2", got "${String(spec)}"`);
  }
  const shape = parts.map((p) => {
    const k = Number(p);
    if (!/^\d+$/.test(p) || !Number.isSafeInteger(k) || k < 1 || k > 64) {
      throw new InvalidArgumentError(`tree shape: expected integers in 1..64 separated by commas, got "${String(spec)}"`);
    }
    return k;
  });
  if (shape.length > 32) throw new InvalidArgumentError(`tree shape: at most 32 levels, got ${shape.length}`);
  const nodes = treeNodeCount(shape);
  if (nodes > 1024) throw new InvalidArgumentError(`tree shape: ${nodes} nodes is more than the 1024 supported`);
  return shape;
}

/** Number of nodes including the root: 1 + k1 + k1·k2 + … */
export function treeNodeCount(shape: readonly number[]): number {
  let total = 1;
  let level = 1;
  for (const k of shape) {
    level *= k;
    total += level;
    if (total > 1 << 20) return total;
  }
  return total;
}

/**
 * A draft tree in level order, root first: node i has `tokens[i]`, `parents[i]` (< i; −1 for the
 * root), `depths[i]` (root 0), `firstChild[i]` (−1 for a leaf) and `childCount[i]`, and `qRow[i]`, the
 * row of its draft distribution among the expanded nodes (−1 if none); all Int32Array [capacity],
 * of which the first `size` nodes are in use. Built by the drafter each step, verified by the
 * target in one batched forward.
 */
export class DraftTree {
  readonly tokens: Int32Array; // [capacity]
  readonly parents: Int32Array; // [capacity]  parents[0] = -1, parents[i] < i
  readonly depths: Int32Array; // [capacity]  depths[0] = 0
  readonly firstChild: Int32Array; // [capacity]  -1 for a leaf
  readonly childCount: Int32Array; // [capacity]
  /** Index (in the level-ordered list of expanded nodes) of this node's draft distribution row, -1 if none. */
  readonly qRow: Int32Array; // [capacity]
  size = 1;

  constructor(readonly capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new InvalidArgumentError(`draft tree: expected capacity >= 1, got ${capacity}`);
    }
    this.tokens = new Int32Array(capacity);
    this.parents = new Int32Array(capacity);
    this.depths = new Int32Array(capacity);
    this.firstChild = new Int32Array(capacity);
    this.childCount = new Int32Array(capacity);
    this.qRow = new Int32Array(capacity);
    this.reset(0);
  }

  /** Start a new tree whose root is `rootToken`. */
  reset(rootToken: number): void {
    this.size = 1;
    this.tokens[0] = rootToken;
    this.parents[0] = -1;
    this.depths[0] = 0;
    this.firstChild[0] = -1;
    this.childCount[0] = 0;
    this.qRow[0] = -1;
  }

  /** Append `count` children of `parent` with tokens drafted[0..count). Children must be added in BFS order. */
  addChildren(parent: number, drafted: Int32Array, count: number): void {
    if (this.size + count > this.capacity) {
      throw new CapacityError(`draft tree: ${this.size + count} nodes exceed the capacity of ${this.capacity}`);
    }
    this.firstChild[parent] = count > 0 ? this.size : -1;
    this.childCount[parent] = count;
    for (let j = 0; j < count; j++) {
      const i = this.size++;
      this.tokens[i] = drafted[j]!;
      this.parents[i] = parent;
      this.depths[i] = this.depths[parent]! + 1;
      this.firstChild[i] = -1;
      this.childCount[i] = 0;
      this.qRow[i] = -1;
    }
  }

  /**
   * Tree-attention mask for query nodes [from, to) over key nodes [keyFrom, to):
   * out[(i − from)·(to − keyFrom) + (j − keyFrom)] = 1 iff node j is node i or one of its ancestors.
   */
  fillMask(out: Uint8Array, from: number, to: number, keyFrom: number): void {
    const width = to - keyFrom;
    out.fill(0, 0, (to - from) * width);
    for (let i = from; i < to; i++) {
      const row = (i - from) * width;
      for (let j = i; j >= keyFrom; j = this.parents[j]!) out[row + j - keyFrom] = 1;
    }
  }

  /** Index of the first child of `node` whose token is `token`, or -1. */
  childWithToken(node: number, token: number): number {
    const first = this.firstChild[node]!;
    if (first < 0) return -1;
    const end = first + this.childCount[node]!;
    for (let c = first; c < end; c++) if (this.tokens[c] === token) return c;
    return -1;
  }
}
