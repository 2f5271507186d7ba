/**
 * Each measured case of the decode bench runs in its own Node process: engines do not share a heap
 * or threads (llama.cpp's thread pool, ORT's workers, spechub's workers), memory is returned to the
 * OS between cases, ORT-web's thread count (fixed at first use) can differ per case, and a case that
 * hangs or crashes is killed after its time limit and reported, without taking the bench down.
 *
 * Protocol: the child gets one JSON argument (its spec), writes progress to stderr and, last, one
 * line `RESULT <json>` to stdout, then exits.
 */
import { spawn } from 'node:child_process';

export type ChildOutcome<R> =
  | { readonly ok: true; readonly result: R; readonly ms: number }
  | { readonly ok: false; readonly reason: string; readonly ms: number };

export interface ChildOptions {
  /** Kill the child (SIGKILL, its own pid only) after this long. */
  readonly timeoutMs: number;
  /** Prefix for the child's stderr lines, forwarded to ours. */
  readonly label: string;
  /** Extra node flags (before the script). */
  readonly nodeArgs?: readonly string[];
}

/** Run `script` (a compiled .js path) with `spec`; resolve with its RESULT or why there is none. Never rejects. */
export function runChild<R>(script: string, spec: unknown, opts: ChildOptions): Promise<ChildOutcome<R>> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), script, JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let errTail: string[] = [];
    let partial = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      const lines = (partial + d).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) {
        process.stderr.write(`  [${opts.label}] ${l}\n`);
        errTail.push(l);
      }
      if (errTail.length > 20) errTail = errTail.slice(-20);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ ok: false, reason: `could not start: ${e.message}`, ms: performance.now() - t0 });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (partial) errTail.push(partial);
      const ms = performance.now() - t0;
      const line = out.split('\n').reverse().find((l) => l.startsWith('RESULT '));
      if (line !== undefined) {
        try {
          resolve({ ok: true, result: JSON.parse(line.slice(7)) as R, ms });
          return;
        } catch (e) {
          resolve({ ok: false, reason: `unparsable result: ${(e as Error).message}`, ms });
          return;
        }
      }
      const why = timedOut ? `timed out after ${Math.round(opts.timeoutMs / 1000)} s (killed)` : signal ? `killed by ${signal}` : `exited with code ${code}`;
      // the error line of a stack trace says most; else the last line that is not Node's banner
      const lines = errTail.map((l) => l.trim()).filter((l) => l && !/^Node\.js v/.test(l) && !/^at /.test(l));
      const last = [...lines].reverse().find((l) => /^(\w*Error|\w+Exception)\b/.test(l)) ?? lines[lines.length - 1];
      resolve({ ok: false, reason: last ? `${why}: ${last.length > 300 ? `${last.slice(0, 297)}...` : last}` : why, ms });
    });
  });
}

/**
 * Child side: parse the spec argument, run `body`, print `RESULT <json>`, exit (0; 1 with the error
 * on stderr). Exiting explicitly ends any worker a peer left running.
 */
export function childMain<S, R>(body: (spec: S) => Promise<R>): void {
  const arg = process.argv[2];
  if (arg === undefined) {
    process.stderr.write('expected one JSON spec argument (this file is run by the decode bench)\n');
    process.exit(2);
  }
  body(JSON.parse(arg) as S).then(
    (r) => {
      process.stdout.write(`RESULT ${JSON.stringify(r)}\n`, () => process.exit(0));
    },
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    },
  );
}

/** Progress line on stderr with the time since the child started. */
export function progress(text: string): void {
  process.stderr.write(`${(performance.now() / 1000).toFixed(1).padStart(6)} s  ${text}\n`);
}
