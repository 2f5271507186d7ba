/**
 * Scratch for the prepared input of quantised linears, shared by every Executor implementation.
 *
 * Quantised kernels read x quantised per row (the prepared input of prepareLinearInput).
 * An executor owns one LinearInputs: it reserves the scratch at load time, and on each linear call
 * asks `inputFor` which pointer the kernels read (x itself for F32/BF16/F16). A threaded executor calls
 * `inputFor` on the calling thread before it splits panels, then every worker runs
 * `runLinear(k, lin, out, stride, thatPointer, n, p0, p1)` on its panels.
 *
 * Reuse across linears that share x (Wq/Wk/Wv, W1/W3): `prepare(xPtr, n, cols)` quantises once into
 * a second scratch region and returns a handle; passing that handle as `prepared` makes `inputFor`
 * skip the quantisation. The handle stays valid until the next `prepare` (or until x is rewritten:
 * the caller's promise, which nothing here can check). Without a handle every call re-quantises, so
 * a caller that never prepares is always correct.
 *
 * Browser-safe. Nothing here allocates after `reserve`.
 */
import { CapacityError, InvalidArgumentError } from '../errors.js';
import { Scratch, type Runtime } from '../wasm/runtime.js';
import { linearInputKind, prepareLinearInput, preparedInputBytes, preparedInputCapacity, type PackedLinear } from './linear.js';

export class LinearInputs {
  private readonly implicit: Scratch; // per-call quantisation
  private readonly explicit: Scratch; // shared by the linears of one prepare
  // what the explicit region holds (from the last prepare)
  private preparedN = 0;
  private preparedCols = 0;
  private preparedPtr = 0;

  constructor(
    readonly rt: Runtime,
    readonly name = 'exec.linear-input',
  ) {
    this.implicit = new Scratch(rt.arena, `${name}.call`);
    this.explicit = new Scratch(rt.arena, `${name}.shared`);
  }

  /** Bytes reserved per scratch region (0 before reserve). */
  get reservedBytes(): number {
    return this.capacity;
  }

  /** Bytes of each region (both are reserved together, so they agree). */
  private get capacity(): number {
    return Math.min(this.implicit.bytes, this.explicit.bytes);
  }

  private get implicitPtr(): number {
    return this.implicit.ptr;
  }

  private get explicitPtr(): number {
    return this.explicit.ptr;
  }

  /**
   * Make room for inputs of up to n rows of up to cols columns (load time; may allocate). Growing
   * allocates new regions; the old ones stay reserved, to fall back to if an arena release (a
   * failed load) gives the new ones back.
   */
  reserve(n: number, cols: number): void {
    if (!Number.isSafeInteger(n) || n < 1 || !Number.isSafeInteger(cols) || cols < 1) {
      throw new InvalidArgumentError(`${this.name}: expected n and cols to be integers >= 1, got ${n} and ${cols}`);
    }
    const bytes = preparedInputCapacity(n, cols);
    if (bytes <= this.capacity) return;
    this.implicit.reserve(bytes);
    this.explicit.reserve(bytes);
    this.preparedN = 0;
    this.preparedCols = 0;
  }

  /**
   * Quantise x [n, cols] once for several quantised linears; returns the handle to pass as `prepared`.
   * Throws CapacityError beyond the reservation.
   */
  prepare(xPtr: number, n: number, cols: number): number {
    this.checkFits(n, cols);
    const ptr = this.explicitPtr;
    prepareLinearInput(this.rt.k, 'Q8_0', xPtr, n, cols, ptr);
    this.preparedN = n;
    this.preparedCols = cols;
    this.preparedPtr = ptr;
    return ptr;
  }

  /**
   * The pointer the kernels of `lin` read for x [n, lin.cols]: xPtr for F32/BF16/F16; for quantised types the
   * `prepared` handle (checked against the n and cols of the last prepare) or, when prepared is 0,
   * a fresh quantisation of x into the per-call scratch.
   */
  inputFor(lin: PackedLinear, xPtr: number, n: number, prepared = 0): number {
    if (linearInputKind(lin.dtype) === 'f32') return xPtr;
    if (prepared !== 0) {
      if (prepared !== this.preparedPtr || prepared !== this.explicitPtr || this.preparedN !== n || this.preparedCols !== lin.cols) {
        throw new InvalidArgumentError(
          `${this.name}: the prepared input does not match this call: expected the handle of prepare(x, ${n}, ${lin.cols}), got ${prepared === this.explicitPtr ? `one for ${this.preparedN} rows of ${this.preparedCols}` : `handle ${prepared}`}`,
        );
      }
      return prepared;
    }
    this.checkFits(n, lin.cols);
    return prepareLinearInput(this.rt.k, lin.dtype, xPtr, n, lin.cols, this.implicitPtr);
  }

  private checkFits(n: number, cols: number): void {
    const bytes = preparedInputBytes(n, cols);
    if (bytes > this.capacity) {
      throw new CapacityError(`${this.name}: expected an input within the reserved ${this.capacity} bytes (reserveLinearInput), got ${n} rows × ${cols} columns = ${bytes} bytes`);
    }
  }
}
