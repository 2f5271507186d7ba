/**
 * Packed linear-layer weights (the layout `matmul_f32` streams; see assembly/matmul.ts).
 *
 * W is [rows, cols] row-major, rows = output features. Packed f32 layout:
 *   panels of 4 rows; panel p (rows 4p..4p+3) is `panelBytesF32(cols)` = 64·ceil(cols/4) bytes at
 *   p·panelBytes; inside a panel, k-block b (cols 4b..4b+3) is 64 contiguous bytes holding
 *   W[4p, 4b..4b+3], W[4p+1, 4b..], W[4p+2, 4b..], W[4p+3, 4b..]. Padding rows/cols are zero.
 * A thread can run whole panels [p0, p1): `matmul_f32(out + 4·p0·4, outStride, w.ptr + p0·panelBytes,
 * x, n, min(rows, 4·p1) − 4·p0, cols)`. Later dtypes keep the scheme (4-row panels, 16 bytes per row
 * per k-block: 8 bf16 or 16 int8 weights), with group scales stored per panel after each group.
 *
 * Browser-safe.
 */
import { CapacityError, InvalidArgumentError, ShapeError } from '../errors.js';
import type { Region, Runtime } from '../wasm/runtime.js';
import type { Kernels } from '../wasm/kernels.js';

/** Rows per packed panel. */
export const PANEL_ROWS = 4;

/** A packed weight matrix in the runtime memory. */
export interface PackedLinear {
  /** Byte address of panel 0 (64-byte aligned). */
  readonly ptr: number;
  /** Output features (rows of W). */
  readonly rows: number;
  /** Input features (columns of W, length of x). */
  readonly cols: number;
  /** Bytes of the packed region: `packedBytesF32(rows, cols)`. */
  readonly bytes: number;
  /** Element type of the packed weights (only f32 so far). */
  readonly dtype: 'f32';
}

function checkDims(where: string, rows: number, cols: number): void {
  if (!Number.isSafeInteger(rows) || rows < 1 || !Number.isSafeInteger(cols) || cols < 1) {
    throw new InvalidArgumentError(`${where}: expected rows and cols to be integers >= 1, got ${rows}×${cols}`);
  }
}

/** Bytes of one packed f32 panel (4 rows) of `cols` columns: 64·ceil(cols/4). */
export function panelBytesF32(cols: number): number {
  checkDims('panelBytesF32', 1, cols);
  return 64 * Math.ceil(cols / 4);
}

/** Bytes of W [rows, cols] packed as f32 panels: 64·ceil(rows/4)·ceil(cols/4). */
export function packedBytesF32(rows: number, cols: number): number {
  checkDims('packedBytesF32', rows, cols);
  return 64 * Math.ceil(rows / 4) * Math.ceil(cols / 4);
}

/**
 * Allocate `name` in the runtime's arena and pack row-major `src` ([rows, cols]) into it with the
 * `pack_f32` kernel. A `src` that is a view of the runtime memory is read where it is; any other
 * array is copied through `staging` (a region of at least 16·cols bytes, 4-byte aligned, reused
 * across calls by a loader) a chunk of whole panels at a time. Load time only: this allocates.
 */
export function packLinearF32(
  rt: Runtime,
  name: string,
  src: Float32Array, // [rows, cols]
  rows: number,
  cols: number,
  staging?: Region,
): PackedLinear {
  checkDims(`packLinearF32(${name})`, rows, cols);
  if (src.length !== rows * cols) {
    throw new ShapeError(`packLinearF32(${name}): expected ${rows}×${cols} = ${rows * cols} floats, got ${src.length}`);
  }
  const inMemory = src.buffer === rt.memory.buffer;
  const panelSrcBytes = 16 * cols;
  if (!inMemory) {
    if (staging === undefined) {
      throw new InvalidArgumentError(
        `packLinearF32(${name}): expected a view of the runtime memory or a staging region, got an outside array and no staging`,
      );
    }
    if (staging.ptr % 4 !== 0) {
      throw new InvalidArgumentError(`packLinearF32(${name}): expected a 4-byte aligned staging region, got ptr ${staging.ptr}`);
    }
    if (staging.bytes < panelSrcBytes) {
      throw new CapacityError(`packLinearF32(${name}): staging needs >= ${panelSrcBytes} bytes (one 4-row panel), has ${staging.bytes}`);
    }
  }
  // read the source address before alloc: growing the memory detaches views of a non-shared buffer
  const srcPtr = src.byteOffset;
  const bytes = packedBytesF32(rows, cols);
  const region = rt.arena.alloc(name, bytes, 64);
  if (inMemory) {
    rt.k.pack_f32(region.ptr, srcPtr, rows, cols);
  } else {
    const stage = staging as Region;
    const panelsPerChunk = Math.floor(stage.bytes / panelSrcBytes);
    const pb = panelBytesF32(cols);
    const heap = rt.f32(stage.ptr, stage.bytes >>> 2);
    for (let r0 = 0; r0 < rows; r0 += 4 * panelsPerChunk) {
      const r1 = Math.min(rows, r0 + 4 * panelsPerChunk);
      heap.set(src.subarray(r0 * cols, r1 * cols));
      rt.k.pack_f32(region.ptr + (r0 / 4) * pb, stage.ptr, r1 - r0, cols);
    }
  }
  return { ptr: region.ptr, rows, cols, bytes, dtype: 'f32' };
}

/**
 * Compute the output columns of panels [p0, p1) of out = x·Wᵀ for a packed matrix of any dtype:
 * out[i, 4·p0 ..] for i < n. Threads call it on disjoint panel ranges; a single thread passes
 * [0, panelCount(lin)). x: [n, lin.cols] f32 (the input prepared for the dtype).
 */
export function runLinear(
  k: Kernels,
  lin: PackedLinear,
  outPtr: number, // [n, outStride]
  outStride: number,
  xPtr: number, // [n, cols]
  n: number,
  p0: number,
  p1: number,
): void {
  const r0 = p0 * PANEL_ROWS;
  const r1 = Math.min(lin.rows, p1 * PANEL_ROWS);
  if (r1 <= r0) return;
  k.matmul_f32(outPtr + r0 * 4, outStride, lin.ptr + p0 * panelBytesF32(lin.cols), xPtr, n, r1 - r0, lin.cols);
}

/** Number of 4-row panels of a packed matrix. */
export function panelCount(lin: PackedLinear): number {
  return Math.ceil(lin.rows / PANEL_ROWS);
}
