/**
 * npm run bench:verify [-- --quick] [-- --json [path]] [-- --only acceptance|timing|api]
 *
 * (a) Acceptance of every method on a fixed synthetic suite: Dirichlet pairs (q a mixture of p
 *     and an independent draw) and temperature-scaled Zipf pairs with noisy draft logits, each at
 *     three divergences, V from 8 to 32 000, k = 2, 3, 4. Reported as the mean exact acceptance and
 *     as the mean fraction of the OTM optimum for i.i.d. drafts (SpecHub and RRS-w/o use other
 *     joints, so their fraction can exceed 1). RRS-w/o is exact where its O(V^(k-1) log V)
 *     evaluation fits the budget, else a sampled estimate (marked ~, with its standard error).
 * (b) Time per verification (and per drafting) at V = 32 000 and 128 000, each method, WASM SIMD
 *     kernels against the plain-TypeScript kernels running the same NodeVerifier code, measured in
 *     the same run on the same drafts and uniform streams (validated to decide identically first).
 * (c) The public API (`createVerifier(...).draft / verify`) against the decode path (NodeVerifier
 *     on rows already in memory, metadata kept from drafting) per node (one draft + one verify),
 *     in the same run on the same drafts and streams: with Float64Array inputs (copied in) and
 *     with the verifier's own rows (`rows(V)`, read in place); validated to decide identically.
 *
 * Quick mode (for shared machines) shrinks the suite, the pair counts and the timing budget.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { cpus } from 'node:os';
import { createNodeRuntime, createVerifier } from '../src/node.js';
import { createRng, type Rng } from '../src/rng.js';
import { createJsProbKernels } from './lib/js-prob-kernels.js';
import { mathMethod } from '../src/verify/methods.js';
import { NodeVerifier } from '../src/verify/node-verifier.js';
import { otmIid } from '../src/verify/otm.js';
import { RRS_WO_EXACT_BUDGET } from '../src/verify/rrs-wo.js';
import { createNodeMeta, VERIFIER_NAMES, type NodeMeta, type VerifierName } from '../src/verify/types.js';
import type { Runtime } from '../src/wasm/runtime.js';

const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const jsonAt = args.indexOf('--json');
const onlyAt = args.indexOf('--only');
const ONLY = onlyAt >= 0 ? args[onlyAt + 1] : undefined;
if (ONLY !== undefined && !['acceptance', 'timing', 'api'].includes(ONLY)) {
  throw new Error(`bench:verify: expected --only acceptance, timing or api, got ${ONLY}`);
}
const runs = (part: string): boolean => ONLY === undefined || ONLY === part;
const JSON_PATH = jsonAt >= 0 ? (args[jsonAt + 1] && !args[jsonAt + 1]!.startsWith('--') ? args[jsonAt + 1]! : 'bench/results/verify.json') : null;

// ---- synthetic pairs ----

function normal(rng: Rng): number {
  const u = 1 - rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

/** Gamma(a, 1) by Marsaglia–Tsang (a < 1 through the a + 1 boost). */
function gamma(a: number, rng: Rng): number {
  if (a < 1) return gamma(a + 1, rng) * Math.pow(1 - rng.next(), 1 / a);
  const d = a - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = normal(rng);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = 1 - rng.next();
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

function dirichlet(n: number, a: number, rng: Rng): Float64Array {
  const x = Float64Array.from({ length: n }, () => gamma(a, rng));
  const s = x.reduce((t, v) => t + v, 0);
  return x.map((v) => v / s);
}

function softmax(logits: ArrayLike<number>, t: number): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]!);
  const out = Float64Array.from(logits, (l) => Math.exp((l - max) / t));
  const s = out.reduce((a, b) => a + b, 0);
  return out.map((v) => v / s);
}

type Family = 'dirichlet' | 'zipf';
const DIVERGENCES = ['low', 'mid', 'high'] as const;
type Divergence = (typeof DIVERGENCES)[number];

/**
 * Dirichlet(0.1): q = (1 - λ) p + λ p', λ = .25/.5/.75. Zipf: logits -1.1 ln(rank) over a random
 * rank order, p at T = 1, q from logits + σ N(0, 1) at T_q, (σ, T_q) = (.5, 1.1)/(1, 1.3)/(2, 1.6).
 */
function makePair(family: Family, div: Divergence, n: number, rng: Rng): [Float64Array, Float64Array] {
  const level = DIVERGENCES.indexOf(div);
  if (family === 'dirichlet') {
    const p = dirichlet(n, 0.1, rng);
    const other = dirichlet(n, 0.1, rng);
    const lambda = [0.25, 0.5, 0.75][level]!;
    return [p, p.map((v, i) => (1 - lambda) * v + lambda * other[i]!)];
  }
  const rank = Float64Array.from({ length: n }, (_, i) => i + 1);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [rank[i], rank[j]] = [rank[j]!, rank[i]!];
  }
  const logits = rank.map((r) => -1.1 * Math.log(r));
  const sigma = [0.5, 1, 2][level]!;
  const tq = [1.1, 1.3, 1.6][level]!;
  return [softmax(logits, 1), softmax(logits.map((l) => l + sigma * normal(rng)), tq)];
}

// ---- (a) acceptance ----

interface AcceptRow {
  family: Family;
  divergence: Divergence;
  vocab: number;
  k: number;
  pairs: number;
  otm: number;
  alpha: Record<VerifierName, number>;
  fractionOfOtm: Record<VerifierName, number>;
  /** Methods whose value is a sampled estimate, with its standard error. */
  estimated: Partial<Record<VerifierName, number>>;
}

/** Sampled acceptance of a method through the WASM NodeVerifier (for RRS-w/o beyond its budget). */
function sampledAcceptance(rt: Runtime, name: VerifierName, p: Float64Array, q: Float64Array, k: number, n: number, seed: number): number {
  const pPtr = rt.arena.alloc(`bench.mc.p.${seed}`, 8 * p.length).ptr;
  const qPtr = rt.arena.alloc(`bench.mc.q.${seed}`, 8 * q.length).ptr;
  const v = NodeVerifier.create(rt, name, { maxVocab: p.length, maxK: k });
  const pv = rt.f64(pPtr, p.length);
  const qv = rt.f64(qPtr, q.length);
  pv.set(p);
  qv.set(q);
  const rng = createRng(seed);
  const drafts = new Int32Array(k);
  const meta = createNodeMeta(k);
  let hits = 0;
  for (let t = 0; t < n; t++) {
    const count = v.draftInto(qv, k, rng, drafts, meta);
    if (v.verifyNode(pv, qv, drafts, count, meta, rng).accepted >= 0) hits++;
  }
  return hits / n;
}

function acceptanceSuite(): AcceptRow[] {
  const vocabs = QUICK ? [8, 1024, 32000] : [8, 64, 1024, 32000];
  const pairsFor = (n: number) => (QUICK ? (n >= 32000 ? 1 : 3) : n >= 32000 ? 3 : 8);
  const mcDraws = QUICK ? 6000 : 40000;
  const rows: AcceptRow[] = [];
  for (const family of ['dirichlet', 'zipf'] as const) {
    for (const divergence of DIVERGENCES) {
      for (const vocab of vocabs) {
        const rng = createRng(1000 * vocab + 10 * DIVERGENCES.indexOf(divergence) + (family === 'zipf' ? 1 : 0));
        const pairs = Array.from({ length: pairsFor(vocab) }, () => makePair(family, divergence, vocab, rng));
        for (const k of [2, 3, 4]) {
          // each method runs once per vocabulary size in its own runtime (the MC estimator allocates)
          const rt = createNodeRuntime();
          const alpha = {} as Record<VerifierName, number>;
          const frac = {} as Record<VerifierName, number>;
          const estimated: Partial<Record<VerifierName, number>> = {};
          let otm = 0;
          for (const name of VERIFIER_NAMES) {
            alpha[name] = 0;
            frac[name] = 0;
          }
          pairs.forEach(([p, q], pi) => {
            const star = otmIid(p, q, k);
            otm += star / pairs.length;
            for (const name of VERIFIER_NAMES) {
              const kk = name === 'sd' ? 1 : k;
              let a: number;
              const support = q.reduce((c, v) => c + (v > 0 ? 1 : 0), 0);
              if (name === 'rrs-wo' && Math.pow(support, kk - 1) > RRS_WO_EXACT_BUDGET / 10) {
                a = sampledAcceptance(rt, name, p, q, kk, mcDraws, 7 + pi);
                estimated[name] = (estimated[name] ?? 0) + (a * (1 - a)) / mcDraws / (pairs.length * pairs.length);
              } else {
                a = mathMethod(name).acceptance(p, q, kk);
              }
              alpha[name] += a / pairs.length;
              frac[name] += (star > 0 ? a / star : 1) / pairs.length;
            }
          });
          for (const [m, variance] of Object.entries(estimated)) estimated[m as VerifierName] = Math.sqrt(variance);
          rows.push({ family, divergence, vocab, k, pairs: pairs.length, otm, alpha, fractionOfOtm: frac, estimated });
        }
      }
    }
  }
  return rows;
}

// ---- (b) timing ----

interface TimeRow {
  method: VerifierName;
  vocab: number;
  k: number;
  /** Median µs per verifyNode call, WASM SIMD kernels. */
  verifyWasmUs: number;
  /** Same with the plain-TypeScript kernels. */
  verifyTsUs: number;
  draftWasmUs: number;
  draftTsUs: number;
  /** Fraction of the timed verifications that accepted a draft. */
  acceptRate: number;
}

/** Median over `reps` of the mean time per call of fn(i), each rep lasting >= budgetMs. */
function timePerCall(fn: (i: number) => void, batch: number, reps: number, budgetMs: number): number {
  for (let i = 0; i < batch; i++) fn(i); // warm-up (Liftoff → TurboFan)
  const samples: number[] = [];
  for (let r = 0; r < reps; r++) {
    let calls = 0;
    const t0 = performance.now();
    let t1 = t0;
    while (t1 - t0 < budgetMs) {
      for (let i = 0; i < batch; i++) fn(i);
      calls += batch;
      t1 = performance.now();
    }
    samples.push(((t1 - t0) * 1000) / calls);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)]!;
}

/**
 * Median µs per call of each fn, measured interleaved: every repetition times each fn once in
 * turn (budgetMs each), so drift in the machine's load hits all of them alike.
 */
function timeInterleaved(fns: ((i: number) => void)[], batch: number, reps: number, budgetMs: number): number[] {
  for (const fn of fns) for (let i = 0; i < batch; i++) fn(i); // warm-up
  const samples = fns.map(() => [] as number[]);
  for (let r = 0; r < reps; r++) {
    fns.forEach((fn, f) => {
      let calls = 0;
      const t0 = performance.now();
      let t1 = t0;
      while (t1 - t0 < budgetMs) {
        for (let i = 0; i < batch; i++) fn(i);
        calls += batch;
        t1 = performance.now();
      }
      samples[f]!.push(((t1 - t0) * 1000) / calls);
    });
  }
  return samples.map((xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!);
}

function timingSuite(): TimeRow[] {
  const rows: TimeRow[] = [];
  const budget = QUICK ? 40 : 300;
  const reps = QUICK ? 3 : 5;
  const batch = 32;
  for (const vocab of [32000, 128000]) {
    const rt = createNodeRuntime({ initialBytes: 64 * vocab + (8 << 20) });
    const js = createJsProbKernels(rt.memory);
    const [p, q] = makePair('zipf', 'mid', vocab, createRng(vocab));
    const pPtr = rt.arena.alloc('bench.p', 8 * vocab).ptr;
    const qPtr = rt.arena.alloc('bench.q', 8 * vocab).ptr;
    for (const method of VERIFIER_NAMES) {
      const k = method === 'sd' ? 1 : 2;
      const wasm = NodeVerifier.create(rt, method, { maxVocab: vocab, maxK: 4 });
      const plain = NodeVerifier.create(rt, method, { maxVocab: vocab, maxK: 4, kernels: js });
      const pv = rt.f64(pPtr, vocab);
      const qv = rt.f64(qPtr, vocab);
      pv.set(p);
      qv.set(q);
      // fixed drafts (with their metadata) and uniform streams shared by both implementations
      const drafts: Int32Array[] = [];
      const metas: NodeMeta[] = [];
      const counts: number[] = [];
      const draftRng = createRng(99);
      for (let i = 0; i < batch; i++) {
        const d = new Int32Array(4);
        const m = createNodeMeta(4);
        counts.push(wasm.draftInto(qv, k, draftRng, d, m));
        drafts.push(d);
        metas.push(m);
      }
      const streams = Array.from({ length: batch }, (_, i) => createRng(1000 + i));
      // validate: identical decisions on identical streams before timing anything
      let accepted = 0;
      for (let i = 0; i < batch; i++) {
        const a = { ...wasm.verifyNode(pv, qv, drafts[i]!, counts[i]!, metas[i]!, streams[i]!.clone()) };
        const b = { ...plain.verifyNode(pv, qv, drafts[i]!, counts[i]!, metas[i]!, streams[i]!.clone()) };
        if (a.token !== b.token || a.accepted !== b.accepted) {
          throw new Error(`bench: ${method} WASM and TS verifiers disagree on set ${i}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
        }
        if (a.accepted >= 0) accepted++;
      }
      const verifyWith = (v: NodeVerifier) => (i: number) => {
        v.verifyNode(pv, qv, drafts[i]!, counts[i]!, metas[i]!, streams[i]!.clone());
      };
      const scratchDrafts = new Int32Array(4);
      const scratchMeta = createNodeMeta(4);
      const draftWith = (v: NodeVerifier) => (i: number) => {
        v.draftInto(qv, k, streams[i]!.clone(), scratchDrafts, scratchMeta);
      };
      rows.push({
        method,
        vocab,
        k,
        verifyWasmUs: timePerCall(verifyWith(wasm), batch, reps, budget),
        verifyTsUs: timePerCall(verifyWith(plain), batch, reps, budget),
        draftWasmUs: timePerCall(draftWith(wasm), batch, reps, budget),
        draftTsUs: timePerCall(draftWith(plain), batch, reps, budget),
        acceptRate: accepted / batch,
      });
    }
  }
  return rows;
}

// ---- (c) public API against the decode path ----

interface ApiRow {
  method: VerifierName;
  vocab: number;
  k: number;
  /** Median µs per draftInto / verifyNode on rows in memory (the decode path). */
  decodeDraftUs: number;
  decodeVerifyUs: number;
  /** Median µs per draft / verify through createVerifier with Float64Array inputs (copied in). */
  copyDraftUs: number;
  copyVerifyUs: number;
  /** The same with the verifier's own rows (rows(V)), read in place. */
  ownDraftUs: number;
  ownVerifyUs: number;
}

function apiSuite(): ApiRow[] {
  const rows: ApiRow[] = [];
  const budget = QUICK ? 40 : 300;
  const reps = QUICK ? 3 : 9;
  const batch = 32;
  for (const vocab of QUICK ? [32000] : [32000, 128000]) {
    const rt = createNodeRuntime({ initialBytes: 96 * vocab + (8 << 20) });
    const [p, q] = makePair('zipf', 'mid', vocab, createRng(vocab + 1));
    const pPtr = rt.arena.alloc('bench.api.p', 8 * vocab).ptr;
    const qPtr = rt.arena.alloc('bench.api.q', 8 * vocab).ptr;
    for (const method of VERIFIER_NAMES) {
      const k = method === 'sd' ? 1 : 2;
      const node = NodeVerifier.create(rt, method, { maxVocab: vocab, maxK: 4 });
      const api = createVerifier(method, { runtime: rt });
      const own = api.rows(vocab);
      own.p.set(p);
      own.q.set(q);
      const pv = rt.f64(pPtr, vocab);
      const qv = rt.f64(qPtr, vocab);
      pv.set(p);
      qv.set(q);
      const drafts: Int32Array[] = [];
      const metas: NodeMeta[] = [];
      const counts: number[] = [];
      const draftRng = createRng(77);
      for (let i = 0; i < batch; i++) {
        const d = new Int32Array(4);
        const m = createNodeMeta(4);
        counts.push(node.draftInto(qv, k, draftRng, d, m));
        drafts.push(d);
        metas.push(m);
      }
      const publicDrafts = drafts.map((d, i) => d.slice(0, counts[i]!));
      const streams = Array.from({ length: batch }, (_, i) => createRng(3000 + i));
      // validate: the three ways decide identically on identical drafts and streams
      for (let i = 0; i < batch; i++) {
        const a = { ...node.verifyNode(pv, qv, drafts[i]!, counts[i]!, metas[i]!, streams[i]!.clone()) };
        const b = api.verify(p, q, publicDrafts[i]!, streams[i]!.clone());
        const c = api.verify(own.p, own.q, publicDrafts[i]!, streams[i]!.clone());
        if (a.token !== b.token || a.accepted !== b.accepted || a.token !== c.token || a.accepted !== c.accepted) {
          throw new Error(`bench: ${method} public API and decode path disagree on set ${i}: ${JSON.stringify([a, b, c])}`);
        }
        const da = api.draft(q, k, streams[i]!.clone());
        const db = api.draft(own.q, k, streams[i]!.clone());
        const scratch = new Int32Array(4);
        const dn = scratch.subarray(0, node.draftInto(qv, k, streams[i]!.clone(), scratch, createNodeMeta(4)));
        if (da.join() !== dn.join() || db.join() !== dn.join()) throw new Error(`bench: ${method} public draft differs from the decode path on set ${i}`);
      }
      const scratchDrafts = new Int32Array(4);
      const scratchMeta = createNodeMeta(4);
      const [decodeDraftUs, decodeVerifyUs, copyDraftUs, copyVerifyUs, ownDraftUs, ownVerifyUs] = timeInterleaved(
        [
          (i) => void node.draftInto(qv, k, streams[i]!.clone(), scratchDrafts, scratchMeta),
          (i) => void node.verifyNode(pv, qv, drafts[i]!, counts[i]!, metas[i]!, streams[i]!.clone()),
          (i) => void api.draft(q, k, streams[i]!.clone()),
          (i) => void api.verify(p, q, publicDrafts[i]!, streams[i]!.clone()),
          (i) => void api.draft(own.q, k, streams[i]!.clone()),
          (i) => void api.verify(own.p, own.q, publicDrafts[i]!, streams[i]!.clone()),
        ],
        batch,
        reps,
        budget / 2,
      );
      rows.push({ method, vocab, k, decodeDraftUs: decodeDraftUs!, decodeVerifyUs: decodeVerifyUs!, copyDraftUs: copyDraftUs!, copyVerifyUs: copyVerifyUs!, ownDraftUs: ownDraftUs!, ownVerifyUs: ownVerifyUs! });
    }
  }
  return rows;
}

// ---- report ----

function pad(s: string, n: number): string {
  return s.length >= n ? s : ' '.repeat(n - s.length) + s;
}

function main(): void {
  const t0 = performance.now();
  const accept = runs('acceptance') ? acceptanceSuite() : [];
  const time = runs('timing') ? timingSuite() : [];
  const api = runs('api') ? apiSuite() : [];
  const machine = { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version, build: 'simd', quick: QUICK };
  console.log(`spechub bench:verify — ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, build simd${QUICK ? ', QUICK mode' : ''}`);
  if (accept.length > 0) {
    console.log('\n(a) acceptance: mean α (mean fraction of the OTM-i.i.d. optimum); sd is k = 1; ~ = sampled (± s.e.)');
    const head = ['family', 'div', 'V', 'k', 'pairs', 'OTM-iid', ...VERIFIER_NAMES];
    const widths = [9, 4, 6, 2, 5, 7, ...VERIFIER_NAMES.map(() => 17)];
    console.log(head.map((h, i) => pad(h, widths[i]!)).join(' '));
    for (const r of accept) {
      const cells = [r.family, r.divergence, String(r.vocab), String(r.k), String(r.pairs), r.otm.toFixed(4)];
      for (const m of VERIFIER_NAMES) {
        const se = r.estimated[m];
        cells.push(`${se !== undefined ? '~' : ''}${r.alpha[m].toFixed(4)} (${r.fractionOfOtm[m].toFixed(3)})`);
      }
      console.log(cells.map((c, i) => pad(c, widths[i]!)).join(' '));
    }
    const estimated = accept.filter((r) => r.estimated['rrs-wo'] !== undefined);
    if (estimated.length > 0) {
      const maxSe = Math.max(...estimated.map((r) => r.estimated['rrs-wo']!));
      console.log(`~ rrs-wo sampled where V^(k-1) > ${RRS_WO_EXACT_BUDGET / 10}; largest standard error ${maxSe.toFixed(4)}`);
    }
  }
  if (time.length > 0) {
    console.log('\n(b) time per call, µs (median of repetitions): WASM SIMD kernels vs the plain-TS kernels, same NodeVerifier code');
    const th = ['method', 'V', 'k', 'accept', 'verify wasm', 'verify ts', 'ts/wasm', 'draft wasm', 'draft ts', 'ts/wasm'];
    const tw = [8, 7, 2, 6, 11, 10, 7, 10, 9, 7];
    console.log(th.map((h, i) => pad(h, tw[i]!)).join(' '));
    for (const r of time) {
      const cells = [
        r.method,
        String(r.vocab),
        String(r.k),
        r.acceptRate.toFixed(2),
        r.verifyWasmUs.toFixed(1),
        r.verifyTsUs.toFixed(1),
        (r.verifyTsUs / r.verifyWasmUs).toFixed(2),
        r.draftWasmUs.toFixed(1),
        r.draftTsUs.toFixed(1),
        (r.draftTsUs / r.draftWasmUs).toFixed(2),
      ];
      console.log(cells.map((c, i) => pad(c, tw[i]!)).join(' '));
    }
  }
  if (api.length > 0) {
    console.log('\n(c) public API vs decode path, µs per node (draft + verify, medians); own = the verifier\'s rows(V), copy = Float64Array inputs');
    const ah = ['method', 'V', 'k', 'decode', 'own', 'own/dec', 'copy', 'copy/dec', 'dec d+v', 'own d+v', 'copy d+v'];
    const aw = [8, 7, 2, 7, 7, 7, 7, 8, 11, 13, 13];
    console.log(ah.map((h, i) => pad(h, aw[i]!)).join(' '));
    for (const r of api) {
      const dec = r.decodeDraftUs + r.decodeVerifyUs;
      const own = r.ownDraftUs + r.ownVerifyUs;
      const copy = r.copyDraftUs + r.copyVerifyUs;
      const cells = [
        r.method,
        String(r.vocab),
        String(r.k),
        dec.toFixed(1),
        own.toFixed(1),
        (own / dec).toFixed(2),
        copy.toFixed(1),
        (copy / dec).toFixed(2),
        `${r.decodeDraftUs.toFixed(1)}+${r.decodeVerifyUs.toFixed(1)}`,
        `${r.ownDraftUs.toFixed(1)}+${r.ownVerifyUs.toFixed(1)}`,
        `${r.copyDraftUs.toFixed(1)}+${r.copyVerifyUs.toFixed(1)}`,
      ];
      console.log(cells.map((c, i) => pad(c, aw[i]!)).join(' '));
    }
  }
  console.log(`\ntotal ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  if (JSON_PATH) {
    mkdirSync(dirname(JSON_PATH), { recursive: true });
    writeFileSync(JSON_PATH, JSON.stringify({ machine, date: new Date().toISOString(), acceptance: accept, timing: time, publicApi: api }, null, 2));
    console.log(`wrote ${JSON_PATH}`);
  }
}

main();
