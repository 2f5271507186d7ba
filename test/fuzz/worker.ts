/**
 * A fuzz worker thread: imports one target, sets it up, then runs the case indices the runner
 * posts, one at a time, answering each with its report. An exception escaping a case is reported
 * as a crash (with its stack); the runner handles hangs and deaths.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { targetModuleUrl } from './targets/index.js';
import { crash, type CaseReport, type FuzzTarget } from './types.js';

/** What the runner sends a new worker. */
export interface WorkerInit {
  readonly target: string;
  readonly seed: number;
}

/** Messages from the runner: run this case. */
export interface RunMessage {
  readonly index: number;
}

/** Messages to the runner. */
export type WorkerMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'done'; readonly index: number; readonly report: CaseReport; readonly ms: number }
  | { readonly type: 'setup-failed'; readonly error: string };

const init = workerData as WorkerInit;
const port = parentPort!;

let target: FuzzTarget;
try {
  target = ((await import(targetModuleUrl(init.target).href)) as { target: FuzzTarget }).target;
  await target.setup();
  port.postMessage({ type: 'ready' } satisfies WorkerMessage);
} catch (e) {
  port.postMessage({ type: 'setup-failed', error: e instanceof Error ? (e.stack ?? e.message) : String(e) } satisfies WorkerMessage);
  process.exit(1);
}

port.on('message', async (m: RunMessage) => {
  const t0 = performance.now();
  let report: CaseReport;
  try {
    report = await target.runCase(init.seed, m.index);
  } catch (e) {
    report = crash('(while building the case; see the stack)', e);
  }
  port.postMessage({ type: 'done', index: m.index, report, ms: performance.now() - t0 } satisfies WorkerMessage);
});
