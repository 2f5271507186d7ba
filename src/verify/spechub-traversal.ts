/**
 * SpecHub-traversal: traversal verification (traversal.ts) over SpecHub's hub drafting law, with
 * SpecHub's own transport verifier (spechub.ts) as the node tests. Ours; docs/verifiers-sequence.md §3
 * has the proof.
 *
 * Drafting is SpecHub's (spechub.ts): k = 2, hub a = argmax q, x1 ~ q and x2 = a, or x2 ~ q(.|≠a)
 * when x1 = a; k > 2, hub set G = top k−1 of q, one slot drawn from q(.|∉G). Verification walks the
 * tree leaf to root like traversal, but a node v entered with weight w runs SpecHub's verifier on the
 * augmented target p̃ = (w p_v, 1 − w) over V ∪ {⊥} (⊥ = "reject v", q(⊥) = 0, never a hub):
 *
 *   k = 2, case (i, a):  walk i with weight p̃(i)/q(i);          if rejected walk a with (p̃(a) − R2)⁺/R1
 *   k = 2, case (a, i):  walk i with weight (p̃(i) − q(i))⁺/(w_a q(i)); if rejected walk a with p̃(a)/R2
 *        R1 = Σ_{y≠a} (q − p̃)⁺,  R2 = Σ_{y≠a} (w_a q − (p̃ − q)⁺)⁺,  w_a = q(a)/Σ_{y≠a} q(y)
 *        residual res(y) = ((p̃ − q)⁺ − w_a q)⁺ (y ≠ a), res(a) = (p̃(a) − R2 − R1)⁺, res(⊥) = 1 − w
 *   k > 2:  walk X (the slot outside G) with weight p̃(X)/m(X), m = q/Σ_{y∉G} q; if rejected walk the
 *        hubs g in slot order with weight p̃(g)/T_g, T_g = the residual's mass plus p̃ of g and later hubs;
 *        residual (p̃ − m)⁺ off G, with res(⊥) = 1 − w
 *   all children rejected: draw y from the residual; y = ⊥ rejects v (back to its parent),
 *   y ∈ V accepts the path root→v with bonus y.
 *
 * Exact because SpecHub's verifier is exact for every target (it never assumes p ≪ q: tokens with
 * q = 0, like ⊥, are served by its residual) and is a sequence of tests, each accepting one slot with
 * a conditional probability; a subtree walked with weight ρ accepts with probability exactly ρ and
 * then continues with the target's law (the lemma of traversal.ts), so it can stand in for each test.
 * At the root (w = 1) the step is SpecHub's; below it, a child is entered with weight ρ ≤ 1 instead of
 * being committed to, which is where the sequence-level gain comes from.
 */
import { clampRatio, scaledFactor, type ScaledFactor } from './common.js';
import { insertSorted } from './rrs-wo.js';
import { assertDrafted } from './sd.js';
import { NodeTests, type TestScratch } from './traversal.js';
import type { DraftLaw, NodeMeta } from './types.js';

const SINGLE = 0;
const PAIR = 1;
const MULTI = 2;

/** SpecHub's tests (single draft, hub pair, hub set) on the augmented target, one state per depth. */
export class HubNodeTests extends NodeTests {
  readonly laws: readonly DraftLaw[] = ['hub'];
  private readonly mode: Int32Array;
  private readonly count: Int32Array;
  private readonly first: Int32Array;
  /** Tests done so far at each depth (pair: 0..2; multi: 0 = X, then one per hub slot). */
  private readonly phase: Int32Array;
  /** Multi-hub: the slot of the next hub test. */
  private readonly cursor: Int32Array;
  /**
   * Pair: hub token, w_a = q(a)/s carried as wHub·(q·wScale) (scaledFactor, E17), the non-hub slot,
   * case (i, a), p̃(a) before the pass, R1, R2.
   */
  private readonly hub: Int32Array;
  private readonly wHub: Float64Array;
  private readonly wScale: Float64Array;
  private readonly slotI: Int32Array;
  private readonly caseA: Uint8Array;
  private readonly pa: Float64Array;
  private readonly r1: Float64Array;
  private readonly r2: Float64Array;
  /** Multi-hub: X's slot, 1/s as invS·(q·invScale), and p̃ of the token in each slot (saved before the pass zeroes the hubs).  [depth][maxK] */
  private readonly xSlot: Int32Array;
  private readonly invS: Float64Array;
  private readonly invScale: Float64Array;
  private readonly slotP: Float64Array;
  private readonly metas: (NodeMeta | null)[];
  private tokens: Int32Array = new Int32Array(0);
  private readonly maxK: number;
  private readonly factor: ScaledFactor = { c: 0, qScale: 1 };

  constructor(scratch: TestScratch, maxDepth: number) {
    super(scratch, maxDepth);
    const n = maxDepth + 1;
    this.maxK = scratch.maxK;
    this.mode = new Int32Array(n);
    this.count = new Int32Array(n);
    this.first = new Int32Array(n);
    this.phase = new Int32Array(n);
    this.cursor = new Int32Array(n);
    this.hub = new Int32Array(n);
    this.wHub = new Float64Array(n);
    this.wScale = new Float64Array(n);
    this.slotI = new Int32Array(n);
    this.caseA = new Uint8Array(n);
    this.pa = new Float64Array(n);
    this.r1 = new Float64Array(n);
    this.r2 = new Float64Array(n);
    this.xSlot = new Int32Array(n);
    this.invS = new Float64Array(n);
    this.invScale = new Float64Array(n);
    this.slotP = new Float64Array(n * this.maxK);
    this.metas = new Array<NodeMeta | null>(n).fill(null);
  }

  begin(d: number, row: Float64Array, q: Float64Array, tokens: Int32Array, first: number, count: number, meta: NodeMeta): void {
    this.start(d, row, q);
    this.tokens = tokens;
    this.count[d] = count;
    this.first[d] = first;
    this.phase[d] = 0;
    this.metas[d] = meta;
    if (count === 1) {
      this.mode[d] = SINGLE;
    } else if (count === 2) {
      this.mode[d] = PAIR;
      const a = meta.hubs[0]!;
      this.hub[d] = a;
      const f = scaledFactor(q[a]!, meta.restMass, this.factor);
      this.wHub[d] = f.c;
      this.wScale[d] = f.qScale;
      const caseA = tokens[first] !== a;
      this.caseA[d] = caseA ? 1 : 0;
      this.slotI[d] = caseA ? 0 : 1;
    } else {
      this.mode[d] = MULTI;
      this.xSlot[d] = meta.xSlot;
      const f = scaledFactor(1, meta.restMass, this.factor);
      this.invS[d] = f.c;
      this.invScale[d] = f.qScale;
    }
  }

  next(d: number): number {
    if (this.exhausted[d]) return -1;
    const ph = this.phase[d]!;
    const row = this.rows[d]!;
    const q = this.qs[d]!;
    const first = this.first[d]!;
    switch (this.mode[d]) {
      case SINGLE: {
        if (ph > 0) return -1;
        const x = this.tokens[first]!;
        if (!(q[x]! > 0)) assertDrafted(q, x, 'spechub-traversal');
        this.ratio[d] = clampRatio(row[x]!, (this.massV[d]! + this.reject[d]!) * q[x]!);
        return 0;
      }
      case PAIR: {
        const slotI = this.slotI[d]!;
        if (ph === 0) {
          const i = this.tokens[first + slotI]!;
          const qi = q[i]!;
          if (!(qi > 0)) assertDrafted(q, i, 'spechub-traversal');
          const pi = row[i]!;
          this.ratio[d] = this.caseA[d] ? clampRatio(pi, qi) : clampRatio(Math.max(pi - qi, 0), this.wHub[d]! * (qi * this.wScale[d]!));
          return slotI;
        }
        if (ph > 1) return -1;
        const pa = this.pa[d]!;
        this.ratio[d] = this.caseA[d] ? clampRatio(Math.max(pa - this.r2[d]!, 0), this.r1[d]!) : clampRatio(pa, this.r2[d]!);
        return 1 - slotI;
      }
      default: {
        const xSlot = this.xSlot[d]!;
        if (ph === 0) {
          const x = this.tokens[first + xSlot]!;
          if (!(q[x]! > 0)) assertDrafted(q, x, 'spechub-traversal');
          this.ratio[d] = clampRatio(row[x]!, this.invS[d]! * (q[x]! * this.invScale[d]!));
          return xSlot;
        }
        const j = this.cursor[d]!;
        const count = this.count[d]!;
        if (j >= count) return -1;
        const base = d * this.maxK;
        let remaining = this.massV[d]! + this.reject[d]!;
        for (let t = j; t < count; t++) if (t !== xSlot) remaining += this.slotP[base + t]!;
        this.ratio[d] = clampRatio(this.slotP[base + j]!, remaining);
        return j;
      }
    }
  }

  fail(d: number): void {
    const ph = this.phase[d]!;
    this.phase[d] = ph + 1;
    const row = this.rows[d]!;
    const q = this.qs[d]!;
    const k = this.scratch.kernels;
    const n = row.length;
    switch (this.mode[d]) {
      case SINGLE:
        this.massV[d] = k.residual_f64(row.byteOffset, row.byteOffset, q.byteOffset, n, this.massV[d]! + this.reject[d]!, 1);
        this.checkMass(d);
        return;
      case PAIR: {
        const a = this.hub[d]!;
        if (ph === 0) {
          // one fused pass: the residual in place (res(a) = 0 for now) and the pair leftovers R1, R2
          this.pa[d] = row[a]!;
          this.massV[d] = k.hub_pass_f64(row.byteOffset, this.scratch.outPtr, row.byteOffset, q.byteOffset, n, a, this.wHub[d]!, this.wScale[d]!);
          this.r1[d] = this.scratch.out[0]!;
          this.r2[d] = this.scratch.out[1]!;
          return;
        }
        const ra = Math.max(this.pa[d]! - this.r2[d]! - this.r1[d]!, 0);
        row[a] = ra;
        this.massV[d]! += ra;
        this.checkMass(d);
        return;
      }
      default: {
        const count = this.count[d]!;
        const xSlot = this.xSlot[d]!;
        if (ph === 0) {
          // X rejected: save p̃ of the hub slots, then the residual (p̃ − m)⁺ off G in place
          const base = d * this.maxK;
          const meta = this.metas[d]!;
          const first = this.first[d]!;
          let hubs = 0;
          for (let j = 0; j < count; j++) {
            if (j === xSlot) continue;
            this.slotP[base + j] = row[this.tokens[first + j]!]!;
            hubs += this.slotP[base + j]!;
          }
          const g = meta.hubCount;
          for (let j = 0; j < g; j++) insertSorted(this.scratch.idx, j, meta.hubs[j]!);
          this.massV[d] = k.residual_except_f64(row.byteOffset, row.byteOffset, q.byteOffset, n, this.invS[d]!, this.invScale[d]!, this.scratch.idxPtr, g);
          this.cursor[d] = xSlot === 0 ? 1 : 0;
          this.checkMass(d, hubs);
          return;
        }
        let j = this.cursor[d]! + 1;
        if (j === xSlot) j++;
        this.cursor[d] = j;
        if (j >= count) this.checkMass(d);
      }
    }
  }
}
