/**
 * The fuzz suite's contract: a target (one module per format or API under test) builds case
 * `index` of a run seeded `seed` and runs it; the runner (runner.ts) runs cases in worker threads
 * with a per-case timeout and classifies what happened.
 *
 * Outcome classes (CaseClass): what a case did, as the runner reports it.
 *   typed      a SpechubError, one line, naming the file (the expected answer to a broken file)
 *   ok         the input loaded (or the call succeeded) and the output was finite
 *   typed-late the input loaded, then generation stopped with a SpechubError (NumericError from
 *              weights far out of range: acceptable, and loading must have warned)
 * and the failures, any of which makes `npm run fuzz` exit non-zero:
 *   crash      any other exception, or the worker died (out of memory, a V8 abort)
 *   hang       the case ran past the per-case timeout
 *   leak       a failed load left arena memory reserved
 *   nonfinite  a run produced NaN or ±Infinity output without an error
 *   bad-error  a SpechubError whose message spans lines, is empty, or (for file targets) does not
 *              name the file
 *   unwarned   generation stopped with a NumericError but loading gave no warning
 *   wrong      an API returned a wrong answer (verifier target: a token outside the support, an
 *              impossible value, a valid input refused, an output law that is not p)
 */

/** What happened in one case. */
export type CaseClass = 'typed' | 'ok' | 'typed-late' | 'crash' | 'hang' | 'leak' | 'nonfinite' | 'bad-error' | 'unwarned' | 'wrong';

/** Classes that are failures. */
export const FAILURE_CLASSES: ReadonlySet<CaseClass> = new Set(['crash', 'hang', 'leak', 'nonfinite', 'bad-error', 'unwarned', 'wrong']);

/** Every class, in report order. */
export const CASE_CLASSES: readonly CaseClass[] = ['typed', 'typed-late', 'ok', 'crash', 'hang', 'leak', 'nonfinite', 'bad-error', 'unwarned', 'wrong'];

/** A case's result as a target reports it (the runner adds crash and hang itself). */
export interface CaseReport {
  readonly class: CaseClass;
  /** What the mutator did (e.g. "flip 2 bit(s) at 40,41; dtype int8"). */
  readonly mutation: string;
  /** The error's class name and message, when there was one. */
  readonly error?: { readonly name: string; readonly message: string };
  /** Why a failure class was given (leak size, the bad message, …). */
  readonly detail?: string;
  /**
   * Counts this case adds to its target's tally (summed by the runner and printed per target): the
   * verify target counts its API calls by outcome and its exact-law checks here.
   */
  readonly tally?: Readonly<Record<string, number>>;
}

/** One fuzz target. Modules in targets/ export one as `target`. */
export interface FuzzTarget {
  /** Short name used on the command line ("safetensors", "gguf", …). */
  readonly name: string;
  /** One line for the report. */
  readonly description: string;
  /** Prepare once per worker (read the seed files, build variants). */
  setup(): Promise<void>;
  /**
   * Build case `index` of the run seeded `seed` (deterministically) and run it. Throwing anything is
   * a crash; a typed error is reported as the class `typed` (see classifyError).
   */
  runCase(seed: number, index: number): Promise<CaseReport>;
}

/** A crash report: any exception that is not a SpechubError, with the top of its stack. */
export function crash(mutation: string, e: unknown): CaseReport {
  const err = e instanceof Error ? e : new Error(String(e));
  return { class: 'crash', mutation, error: { name: err.name, message: err.message.slice(0, 400) }, detail: (err.stack ?? '').split('\n').slice(1, 8).join(' | ') };
}
