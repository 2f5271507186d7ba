/**
 * Node: a load-progress line on a terminal (the CLI's `spechub generate|chat` while a model loads).
 * Drawn on stderr only when it is a TTY and the model is larger than a few MB, at most every 100 ms,
 * overwritten in place (\r) and erased when the load ends, so that nothing of it remains in the
 * terminal's scrollback, in pipes or in logs.
 */
import { formatBytes } from '../model/memory-plan.js';
import type { LoadProgress } from '../model/llama.js';

/** Models smaller than this load too fast to need a progress line. */
export const PROGRESS_MIN_BYTES = 8 << 20;

/** What the line needs of a stream (process.stderr, or a test's stand-in). */
export interface ProgressStream {
  readonly isTTY?: boolean;
  /** Terminal width (the line is cut to it). */
  readonly columns?: number;
  write(text: string): unknown;
}

export interface TerminalProgressOptions {
  /** Least total bytes to draw anything (default PROGRESS_MIN_BYTES). */
  minBytes?: number;
  /** Least milliseconds between two draws (default 100). */
  intervalMs?: number;
  /** Clock (default performance.now). */
  now?: () => number;
}

/** `onProgress` for a load, and `done()` to erase the line (call it whether the load succeeded or not). */
export interface TerminalProgress {
  readonly onProgress: (p: LoadProgress) => void;
  done(): void;
}

/**
 * A progress line for loading `label` on `stream`: "loading LABEL  42% (1.10 GiB of 2.60 GiB)
 * model.layers.12.mlp.up_proj.weight". Inert (draws nothing) when the stream is not a TTY.
 */
export function terminalProgress(stream: ProgressStream, label: string, options: TerminalProgressOptions = {}): TerminalProgress {
  const minBytes = options.minBytes ?? PROGRESS_MIN_BYTES;
  const interval = options.intervalMs ?? 100;
  const now = options.now ?? (() => performance.now());
  const tty = stream.isTTY === true;
  let drawn = false;
  let last = -Infinity;
  return {
    onProgress(p) {
      if (!tty || p.total < minBytes) return;
      const t = now();
      if (t - last < interval && p.bytes < p.total) return;
      last = t;
      const pct = p.total > 0 ? Math.floor((100 * p.bytes) / p.total) : 0;
      let line = `loading ${label} ${String(pct).padStart(3)}% (${formatBytes(p.bytes)} of ${formatBytes(p.total)})${p.tensor ? ` ${p.tensor}` : ''}`;
      const width = (stream.columns !== undefined && stream.columns >= 20 ? stream.columns : 80) - 1; // a pty may report 0 columns
      if (line.length > width) line = line.slice(0, Math.max(0, width - 1)) + '…';
      stream.write(`\r\x1b[2K${line}`);
      drawn = true;
    },
    done() {
      if (drawn) stream.write('\r\x1b[2K');
      drawn = false;
    },
  };
}
