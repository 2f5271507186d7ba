/**
 * The fuzz runner: runs cases [0, cases) of one target in a pool of worker threads, one case per
 * worker at a time, with a per-case timeout. A case past the timeout is a hang (its worker is
 * terminated and replaced); a worker that dies (out of memory, a V8 abort, an uncaught error) is a
 * crash of the case it was running. Everything else is what the target reported. Workers have a
 * heap limit, so an allocation bomb kills a worker, not the run.
 */
import { Worker } from 'node:worker_threads';
import { CASE_CLASSES, FAILURE_CLASSES, type CaseClass, type CaseReport } from './types.js';
import type { WorkerInit, WorkerMessage } from './worker.js';

const WORKER_URL = new URL('./worker.js', import.meta.url);

export interface RunOptions {
  readonly target: string;
  /** Cases [first, first + cases) are run. */
  readonly cases: number;
  readonly first?: number;
  readonly seed: number;
  /** Worker threads (default 2). */
  readonly workers?: number;
  /** Per-case timeout in ms (default 20,000). */
  readonly timeoutMs?: number;
  /** Heap limit of each worker in MB (default 1536). */
  readonly workerHeapMb?: number;
  /** Called after every case (progress display). */
  readonly onCase?: (done: number, total: number) => void;
}

/** One failing (or otherwise notable) case. */
export interface CaseRecord {
  readonly index: number;
  readonly ms: number;
  readonly report: CaseReport;
}

/** Everything one target's run found. */
export interface TargetSummary {
  readonly target: string;
  readonly seed: number;
  readonly first: number;
  readonly cases: number;
  readonly counts: Record<CaseClass, number>;
  /** Every failure (up to 200), in index order. */
  readonly failures: CaseRecord[];
  /** The five slowest cases. */
  readonly slowest: CaseRecord[];
  /** A few examples of each non-failure class (the first three), for reading. */
  readonly examples: Partial<Record<CaseClass, CaseRecord[]>>;
  /** Error class name → count, over typed and typed-late cases. */
  readonly errorNames: Record<string, number>;
  /** The first case of each error class name, for reading. */
  readonly errorExamples: Record<string, CaseRecord>;
  /** The sum of the cases' tallies (CaseReport.tally), in the order first met. */
  readonly tally: Record<string, number>;
  readonly wallMs: number;
  readonly workerRestarts: number;
}

/** Whether a summary has any failure (crash, hang, leak, nonfinite, bad-error, unwarned). */
export function failed(s: TargetSummary): boolean {
  return [...FAILURE_CLASSES].some((c) => s.counts[c] > 0);
}

interface Slot {
  worker: Worker;
  ready: boolean;
  index: number; // -1 when idle
  timer: ReturnType<typeof setTimeout> | null;
  started: number;
}

/** Run one target's cases; resolves with the summary (never rejects for a failing case). */
export function runTarget(o: RunOptions): Promise<TargetSummary> {
  const first = o.first ?? 0;
  const total = o.cases;
  const workers = Math.max(1, Math.min(o.workers ?? 2, total));
  const timeoutMs = o.timeoutMs ?? 20_000;
  const heapMb = o.workerHeapMb ?? 1536;
  const counts = Object.fromEntries(CASE_CLASSES.map((c) => [c, 0])) as Record<CaseClass, number>;
  const failures: CaseRecord[] = [];
  const examples: Partial<Record<CaseClass, CaseRecord[]>> = {};
  const errorNames: Record<string, number> = {};
  const errorExamples: Record<string, CaseRecord> = {};
  const tally: Record<string, number> = {};
  let slowest: CaseRecord[] = [];
  let next = first;
  let done = 0;
  let restarts = 0;
  const t0 = performance.now();

  return new Promise<TargetSummary>((resolve, reject) => {
    const slots: Slot[] = [];
    let finished = false;

    const record = (index: number, ms: number, report: CaseReport) => {
      const rec: CaseRecord = { index, ms, report };
      counts[report.class]++;
      for (const [k, n] of Object.entries(report.tally ?? {})) tally[k] = (tally[k] ?? 0) + n;
      if (FAILURE_CLASSES.has(report.class)) {
        if (failures.length < 200) failures.push(rec);
      } else {
        const list = (examples[report.class] ??= []);
        if (list.length < 3) list.push(rec);
      }
      if (report.error && (report.class === 'typed' || report.class === 'typed-late')) {
        errorNames[report.error.name] = (errorNames[report.error.name] ?? 0) + 1;
        errorExamples[report.error.name] ??= rec;
      }
      slowest = [...slowest, rec].sort((a, b) => b.ms - a.ms).slice(0, 5);
      done++;
      o.onCase?.(done, total);
    };

    const finish = async () => {
      if (finished) return;
      finished = true;
      await Promise.all(slots.map((s) => s.worker.terminate()));
      failures.sort((a, b) => a.index - b.index);
      resolve({ target: o.target, seed: o.seed, first, cases: total, counts, failures, slowest, examples, errorNames, errorExamples, tally, wallMs: performance.now() - t0, workerRestarts: restarts });
    };

    const dispatch = (slot: Slot) => {
      if (finished) return;
      if (next >= first + total) {
        if (slots.every((s) => s.index < 0)) void finish();
        return;
      }
      const index = next++;
      slot.index = index;
      slot.started = performance.now();
      slot.timer = setTimeout(() => {
        // a hang: replace the worker; the case is recorded once its worker is gone
        const ms = performance.now() - slot.started;
        slot.index = -1;
        const old = slot.worker;
        old.removeAllListeners();
        void old.terminate();
        record(index, ms, { class: 'hang', mutation: '(replay the case to see it)', detail: `no answer within ${timeoutMs} ms` });
        restart(slot);
      }, timeoutMs);
      slot.worker.postMessage({ index });
    };

    const spawn = (slot: Slot | null): Slot => {
      const init: WorkerInit = { target: o.target, seed: o.seed };
      const worker = new Worker(WORKER_URL, { workerData: init, resourceLimits: { maxOldGenerationSizeMb: heapMb }, stderr: true, stdout: true });
      const s: Slot = slot ?? { worker, ready: false, index: -1, timer: null, started: 0 };
      s.worker = worker;
      s.ready = false;
      s.index = -1;
      worker.on('message', (m: WorkerMessage) => {
        if (m.type === 'ready') {
          s.ready = true;
          dispatch(s);
        } else if (m.type === 'setup-failed') {
          finished = true;
          void Promise.all(slots.map((x) => x.worker.terminate()));
          reject(new Error(`fuzz target ${o.target}: setup failed: ${m.error}`));
        } else if (m.type === 'done' && m.index === s.index) {
          if (s.timer) clearTimeout(s.timer);
          s.timer = null;
          s.index = -1;
          record(m.index, m.ms, m.report);
          dispatch(s);
        }
      });
      const died = (why: string) => {
        if (finished) return;
        if (s.timer) clearTimeout(s.timer);
        s.timer = null;
        const index = s.index;
        worker.removeAllListeners();
        if (index >= 0) {
          s.index = -1;
          record(index, performance.now() - s.started, { class: 'crash', mutation: '(replay the case to see it)', detail: `the worker died: ${why}` });
          restart(s);
        } else if (!s.ready) {
          finished = true;
          reject(new Error(`fuzz target ${o.target}: a worker died while starting: ${why}`));
        } else {
          restart(s);
        }
      };
      worker.on('error', (e) => died(`${e.name}: ${e.message}`));
      worker.on('exit', (code) => died(`exit code ${code}`));
      // worker output is noise (a target's own logging); keep the report readable
      worker.stdout.resume();
      worker.stderr.resume();
      return s;
    };

    const restart = (slot: Slot) => {
      restarts++;
      spawn(slot);
    };

    for (let i = 0; i < workers; i++) slots.push(spawn(null));
  });
}

/** Counts as a markdown table: one row per target, one column per class. */
export function countsTable(summaries: readonly TargetSummary[]): string {
  const head = `| target | cases | ${CASE_CLASSES.join(' | ')} | wall s |`;
  const rule = `|---|--:|${CASE_CLASSES.map(() => '--:').join('|')}|--:|`;
  const rows = summaries.map((s) => `| ${s.target} | ${s.cases} | ${CASE_CLASSES.map((c) => s.counts[c]).join(' | ')} | ${(s.wallMs / 1000).toFixed(1)} |`);
  return [head, rule, ...rows].join('\n');
}
