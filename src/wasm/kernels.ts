/**
 * The typed surface of the spechub .wasm (assembly/index.ts). Every pointer is a byte offset into
 * the runtime's memory; every count is an element count. Kernels never allocate and never check
 * their inputs: callers (TS) validate at the boundary and plan memory so the preconditions hold.
 *
 * Naming: `<op>_<dtype>[_<variant>]`; the plain scalar twin of a SIMD kernel ends in `_ref`.
 */
export interface Kernels {
  /** First byte the host may use (end of the module's static data, 64 KiB aligned). */
  heap_base(): number;
  /** 1 if this build uses relaxed SIMD. */
  build_relaxed(): number;
  /** 1 if this build imports a shared memory. */
  build_threads(): number;

  // ---- model kernels (assembly/matmul.ts, norm.ts, rope.ts, attention.ts, activations.ts) ----
  // Linear layers store W ([rows, cols] row-major, rows = out features) in a packed panel layout
  // (src/kernels/linear.ts: packedBytesF32 / panelBytesF32 / packLinearF32): panels of 4 rows, each
  // 64·ceil(cols/4) bytes; inside a panel, k-block b = 64 bytes = W[4p..4p+3, 4b..4b+3] row by row
  // (16 bytes per row); padding rows/cols are zero. outStride lets a thread compute a block of whole
  // panels (wPtr + p·panelBytes, outPtr + 4p·4, rows − 4p) into the columns of a wider output.

  /**
   * out[i, r] = Σ_c x[i, c]·W[r, c] for i < n, r < rows. out: [n, outStride], x: [n, cols], W packed.
   * Reads x only below cols and writes out only at columns < rows. n = 1 is the streaming matvec;
   * n ≥ 2 reuses each loaded weight for two rows of x.
   */
  matmul_f32(outPtr: number, outStride: number, wPtr: number, xPtr: number, n: number, rows: number, cols: number): void;
  matmul_f32_ref(outPtr: number, outStride: number, wPtr: number, xPtr: number, n: number, rows: number, cols: number): void;
  /** Pack row-major W [rows, cols] (f32 at srcPtr) into the panel layout at dstPtr (packedBytesF32(rows, cols) bytes). */
  pack_f32(dstPtr: number, srcPtr: number, rows: number, cols: number): void;
  /** First index i < n with !(|x[i]| <= limit) (NaN included) in the f32 values at ptr, or -1 (the loaders' weight check). */
  scan_f32(ptr: number, n: number, limit: number): number;
  /** Scalar twin of scan_f32. */
  scan_f32_ref(ptr: number, n: number, limit: number): number;
  /** First index i < n whose bf16 bits at ptr have magnitude bits (& 0x7fff) above limitBits, or -1. */
  scan_bf16(ptr: number, n: number, limitBits: number): number;
  /** Scalar twin of scan_bf16. */
  scan_bf16_ref(ptr: number, n: number, limitBits: number): number;
  /** Scalar twin of pack_f32: one weight at a time; the same bytes. */
  pack_f32_ref(dstPtr: number, srcPtr: number, rows: number, cols: number): void;
  /** Copy rows [r0, r0 + count) of f32 panels into dst (f32 [count, cols]): the embedding lookup of a packed F32 table. */
  dequant_f32(dstPtr: number, wPtr: number, rows: number, cols: number, r0: number, count: number): void;

  // ---- weight types beyond f32 (assembly/matmul_bf16.ts, matmul_q8.ts, quant_legacy.ts, quant_k.ts, matmul_quant.ts) ----
  // Same 4-row panel scheme; exact layouts in src/kernels/linear.ts and the assembly files. BF16/F16 read
  // x [n, cols] f32; the quantised types read the prepared input of quant_x (qx_row_bytes(cols) bytes per
  // x row: int8 activations per 32 columns, and per 256 when cols % 256 == 0; then sections T and
  // T16, the 32-column part again in blocks of 4 rows: qx_bytes(n, cols) in all). Per type T:
  //   matmul_T / matmul_T_ref (out, outStride, w, x, n, rows, cols): out[i, r] = Σ_c x[i, c]·W[r, c] for
  //     i < n, r < rows; out: [n, outStride], only columns < rows written; the SIMD kernel equals its
  //     scalar twin bit for bit (quantised types: in every build). The quantised SIMD kernels take one
  //     more argument, scratchPtr: quant_scratch_bytes(n) bytes of this thread's own, or 0; with it,
  //     batches unpack each weight block once for all rows and run pairs of x rows through a 4×2 register
  //     tile (from 2 rows up; the relaxed build keeps byte paths for some types' smaller batches), same
  //     results; Q8_0 tiles pairs of x rows without the scratch too;
  //   pack_T (dst, src, rows, cols) → −1 or the first bad unit: GGUF's row-major bytes of a T tensor →
  //     panels, every value kept (bad: an Inf/NaN scale, or F16 weight);
  //   dequant_T (dst, w, rows, cols, r0, count): rows [r0, r0 + count) as f32 [count, cols], the exact
  //     weight values (quantised types: ggml's dequantize_row_T, bit for bit).

  matmul_bf16(outPtr: number, outStride: number, wPtr: number, xPtr: number, n: number, rows: number, cols: number): void;
  matmul_bf16_ref(outPtr: number, outStride: number, wPtr: number, xPtr: number, n: number, rows: number, cols: number): void;
  /** Pack row-major f32 W [rows, cols] at srcPtr into bf16 panels, rounding to nearest even (NaN kept). */
  pack_bf16(dstPtr: number, srcPtr: number, rows: number, cols: number): void;
  /** Pack row-major bf16 bit patterns (u16 [rows, cols] at srcPtr) into bf16 panels, bits unchanged. */
  pack_bf16_bits(dstPtr: number, srcPtr: number, rows: number, cols: number): void;
  /** Scalar twin of pack_bf16_bits: one weight at a time; the same bytes. */
  pack_bf16_bits_ref(dstPtr: number, srcPtr: number, rows: number, cols: number): void;
  dequant_bf16(dstPtr: number, wPtr: number, rows: number, cols: number, r0: number, count: number): void;
  matmul_f16(outPtr: number, outStride: number, wPtr: number, xPtr: number, n: number, rows: number, cols: number): void;
  matmul_f16_ref(outPtr: number, outStride: number, wPtr: number, xPtr: number, n: number, rows: number, cols: number): void;
  /** Pack row-major f16 bit patterns into f16 panels (the bf16 layout), bits unchanged; −1 or the first Inf/NaN index r·cols + c. */
  pack_f16_bits(dstPtr: number, srcPtr: number, rows: number, cols: number): number;
  /** Scalar twin of pack_f16_bits: one weight at a time; the same bytes and status. */
  pack_f16_bits_ref(dstPtr: number, srcPtr: number, rows: number, cols: number): number;
  dequant_f16(dstPtr: number, wPtr: number, rows: number, cols: number, r0: number, count: number): void;

  matmul_q8_0(outPtr: number, outStride: number, wPtr: number, xPtr: number, n: number, rows: number, cols: number, scratchPtr: number): void;
  matmul_q8_0_ref(outPtr: number, outStride: number, wPtr: number, xPtr: number, n: number, rows: number, cols: number): void;
  pack_q8_0(dstPtr: number, srcPtr: number, rows: number, cols: number): number;
  /** Scalar twin of pack_q8_0 (the layout's reference placement, one quant at a time): the same bytes and status. */
  pack_q8_0_ref(dstPtr: number, srcPtr: number, rows: number, cols: number): number;
  /** Quantise row-major f32 W into Q8_0 panels as ggml's quantize_row_q8_0_ref; −1 or the first bad group r·G + g. */
  quant_q8_0(dstPtr: number, srcPtr: number, rows: number, cols: number): number;
  /** Scalar twin of quant_q8_0: one weight at a time; the same bytes and status. */
  quant_q8_0_ref(dstPtr: number, srcPtr: number, rows: number, cols: number): number;
  dequant_q8_0(dstPtr: number, wPtr: number, rows: number, cols: number, r0: number, count: number): void;
  /** Scalar twin of dequant_q8_0 (whole groups as vectors there): one weight at a time; the same values. */
  dequant_q8_0_ref(dstPtr: number, wPtr: number, rows: number, cols: number, r0: number, count: number): void;
  matmul_q4_0(outPtr: number, outStride: number, wPtr: number, xPtr: number, n: number, rows: number, cols: number, scratchPtr: number): void;
  matmul_q4_0_ref(outPtr: number, outStride: number, wPtr: number, xPtr: number, n: number, rows: number, cols: number): void;
  pack_q4_0(dstPtr: number, srcPtr: number, rows: number, cols: number): number;
  /** Scalar twin of pack_q4_0 (the layout's reference placement, one quant at a time): the same bytes and status. */
  pack_q4_0_ref(dstPtr: number, srcPtr: number, rows: number, cols: number): number;
  /** Quantise row-major f32 W into Q4_0 panels as ggml's quantize_row_q4_0_ref; −1 or the first bad group r·G + g. */
  quant_q4_0(dstPtr: number, srcPtr: number, rows: number, cols: number): number;
  /** Scalar twin of quant_q4_0: one weight at a time; the same bytes and status. */
  quant_q4_0_ref(dstPtr: number, srcPtr: number, rows: number, cols: number): number;
  dequant_q4_0(dstPtr: number, wPtr: number, rows: number, cols: number, r0: number, count: number): void;
  /** Scalar twin of dequant_q4_0 (whole groups as vectors there): one weight at a time; the same values. */
  dequant_q4_0_ref(dstPtr: number, wPtr: number, rows: number, cols: number, r0: number, count: number): void;
  matmul_q4_1(outPtr: number, outStride: number, wPtr: number, xPtr: number, n: number, rows: number, cols: number, scratchPtr: number): void;
  matmul_q4_1_ref(outPtr: number, outStride: number, wPtr: number, xPtr: number, n: number, rows: number, cols: number): void;
  pack_q4_1(dstPtr: number, srcPtr: number, rows: number, cols: number): number;
  /** Scalar twin of pack_q4_1 (the layout's reference placement, one quant at a time): the same bytes and status. */
  pack_q4_1_ref(dstPtr: number, srcPtr: number, rows: number, cols: number): number;
  dequant_q4_1(dstPtr: number, wPtr: number, rows: number, cols: number, r0: number, count: number): void;
  /** Scalar twin of dequant_q4_1 (whole groups as vectors there): one weight at a time; the same values. */
  dequant_q4_1_ref(dstPtr: number, wPtr: number, rows: number, cols: number, r0: number, count: number): void;
  matmul_q5_0(outPtr: number, outStride: number, wPtr: number, xPtr: number, n: number, rows: number, cols: number, scratchPtr: number): void;
  matmul_q5_0_ref(outPtr: number, outStride: number, wPtr: number, xPtr: number, n: number, rows: number, cols: number): void;
  pack_q5_0(dstPtr: number, srcPtr: number, rows: number, cols: number): number;
  /** Scalar twin of pack_q5_0 (the layout's reference placement, one quant at a time): the same bytes and status. */
  pack_q5_0_ref(dstPtr: number, srcPtr: number, rows: number, cols: number): number;
  dequant_q5_0(dstPtr: number, wPtr: number, rows: number, cols: number, r0: number, count: number): void;
  /** Scalar twin of dequant_q5_0 (whole groups as vectors there): one weight at a time; the same values. */
  dequant_q5_0_ref(dstPtr: number, wPtr: number, rows: number, cols: number, r0: number, count: number): void;
  matmul_q5_1(outPtr: number, outStride: number, wPtr: number, xPtr: number, n: number, rows: number, cols: number, scratchPtr: number): void;
  matmul_q5_1_ref(outPtr: number, outStride: number, wPtr: number, xPtr: number, n: number, rows: number, cols: number): void;
  pack_q5_1(dstPtr: number, srcPtr: number, rows: number, cols: number): number;
  /** Scalar twin of pack_q5_1 (the layout's reference placement, one quant at a time): the same bytes and status. */
  pack_q5_1_ref(dstPtr: number, srcPtr: number, rows: number, cols: number): number;
  dequant_q5_1(dstPtr: number, wPtr: number, rows: number, cols: number, r0: number, count: number): void;
  /** Scalar twin of dequant_q5_1 (whole groups as vectors there): one weight at a time; the same values. */
  dequant_q5_1_ref(dstPtr: number, wPtr: number, rows: number, cols: number, r0: number, count: number): void;
  matmul_iq4_nl(outPtr: number, outStride: number, wPtr: number, xPtr: number, n: number, rows: number, cols: number, scratchPtr: number): void;
  matmul_iq4_nl_ref(outPtr: number, outStride: number, wPtr: number, xPtr: number, n: number, rows: number, cols: number): void;
  pack_iq4_nl(dstPtr: number, srcPtr: number, rows: number, cols: number): number;
  /** Scalar twin of pack_iq4_nl (the layout's reference placement, one quant at a time): the same bytes and status. */
  pack_iq4_nl_ref(dstPtr: number, srcPtr: number, rows: number, cols: number): number;
  dequant_iq4_nl(dstPtr: number, wPtr: number, rows: number, cols: number, r0: number, count: number): void;
  /** Scalar twin of dequant_iq4_nl (whole groups as vectors there): one weight at a time; the same values. */
  dequant_iq4_nl_ref(dstPtr: number, wPtr: number, rows: number, cols: number, r0: number, count: number): void;
  matmul_q2_k(outPtr: number, outStride: number, wPtr: number, xPtr: number, n: number, rows: number, cols: number, scratchPtr: number): void;
  matmul_q2_k_ref(outPtr: number, outStride: number, wPtr: number, xPtr: number, n: number, rows: number, cols: number): void;
  pack_q2_k(dstPtr: number, srcPtr: number, rows: number, cols: number): number;
  /** Scalar twin of pack_q2_k (the layout's reference placement, one quant at a time): the same bytes and status. */
  pack_q2_k_ref(dstPtr: number, srcPtr: number, rows: number, cols: number): number;
  dequant_q2_k(dstPtr: number, wPtr: number, rows: number, cols: number, r0: number, count: number): void;
  /** Scalar twin of dequant_q2_k (whole groups as vectors there): one weight at a time; the same values. */
  dequant_q2_k_ref(dstPtr: number, wPtr: number, rows: number, cols: number, r0: number, count: number): void;
  matmul_q3_k(outPtr: number, outStride: number, wPtr: number, xPtr: number, n: number, rows: number, cols: number, scratchPtr: number): void;
  matmul_q3_k_ref(outPtr: number, outStride: number, wPtr: number, xPtr: number, n: number, rows: number, cols: number): void;
  pack_q3_k(dstPtr: number, srcPtr: number, rows: number, cols: number): number;
  /** Scalar twin of pack_q3_k (the layout's reference placement, one quant at a time): the same bytes and status. */
  pack_q3_k_ref(dstPtr: number, srcPtr: number, rows: number, cols: number): number;
  dequant_q3_k(dstPtr: number, wPtr: number, rows: number, cols: number, r0: number, count: number): void;
  /** Scalar twin of dequant_q3_k (whole groups as vectors there): one weight at a time; the same values. */
  dequant_q3_k_ref(dstPtr: number, wPtr: number, rows: number, cols: number, r0: number, count: number): void;
  matmul_q4_k(outPtr: number, outStride: number, wPtr: number, xPtr: number, n: number, rows: number, cols: number, scratchPtr: number): void;
  matmul_q4_k_ref(outPtr: number, outStride: number, wPtr: number, xPtr: number, n: number, rows: number, cols: number): void;
  pack_q4_k(dstPtr: number, srcPtr: number, rows: number, cols: number): number;
  /** Scalar twin of pack_q4_k (the layout's reference placement, one quant at a time): the same bytes and status. */
  pack_q4_k_ref(dstPtr: number, srcPtr: number, rows: number, cols: number): number;
  dequant_q4_k(dstPtr: number, wPtr: number, rows: number, cols: number, r0: number, count: number): void;
  /** Scalar twin of dequant_q4_k (whole groups as vectors there): one weight at a time; the same values. */
  dequant_q4_k_ref(dstPtr: number, wPtr: number, rows: number, cols: number, r0: number, count: number): void;
  matmul_q5_k(outPtr: number, outStride: number, wPtr: number, xPtr: number, n: number, rows: number, cols: number, scratchPtr: number): void;
  matmul_q5_k_ref(outPtr: number, outStride: number, wPtr: number, xPtr: number, n: number, rows: number, cols: number): void;
  pack_q5_k(dstPtr: number, srcPtr: number, rows: number, cols: number): number;
  /** Scalar twin of pack_q5_k (the layout's reference placement, one quant at a time): the same bytes and status. */
  pack_q5_k_ref(dstPtr: number, srcPtr: number, rows: number, cols: number): number;
  dequant_q5_k(dstPtr: number, wPtr: number, rows: number, cols: number, r0: number, count: number): void;
  /** Scalar twin of dequant_q5_k (whole groups as vectors there): one weight at a time; the same values. */
  dequant_q5_k_ref(dstPtr: number, wPtr: number, rows: number, cols: number, r0: number, count: number): void;
  matmul_q6_k(outPtr: number, outStride: number, wPtr: number, xPtr: number, n: number, rows: number, cols: number, scratchPtr: number): void;
  matmul_q6_k_ref(outPtr: number, outStride: number, wPtr: number, xPtr: number, n: number, rows: number, cols: number): void;
  pack_q6_k(dstPtr: number, srcPtr: number, rows: number, cols: number): number;
  /** Scalar twin of pack_q6_k (the layout's reference placement, one quant at a time): the same bytes and status. */
  pack_q6_k_ref(dstPtr: number, srcPtr: number, rows: number, cols: number): number;
  dequant_q6_k(dstPtr: number, wPtr: number, rows: number, cols: number, r0: number, count: number): void;
  /** Scalar twin of dequant_q6_k (whole groups as vectors there): one weight at a time; the same values. */
  dequant_q6_k_ref(dstPtr: number, wPtr: number, rows: number, cols: number, r0: number, count: number): void;
  matmul_iq4_xs(outPtr: number, outStride: number, wPtr: number, xPtr: number, n: number, rows: number, cols: number, scratchPtr: number): void;
  matmul_iq4_xs_ref(outPtr: number, outStride: number, wPtr: number, xPtr: number, n: number, rows: number, cols: number): void;
  pack_iq4_xs(dstPtr: number, srcPtr: number, rows: number, cols: number): number;
  /** Scalar twin of pack_iq4_xs (the layout's reference placement, one quant at a time): the same bytes and status. */
  pack_iq4_xs_ref(dstPtr: number, srcPtr: number, rows: number, cols: number): number;
  dequant_iq4_xs(dstPtr: number, wPtr: number, rows: number, cols: number, r0: number, count: number): void;
  /** Scalar twin of dequant_iq4_xs (whole groups as vectors there): one weight at a time; the same values. */
  dequant_iq4_xs_ref(dstPtr: number, wPtr: number, rows: number, cols: number, r0: number, count: number): void;
  /** Prepare x [n, cols] f32 for the quantised kernels (assembly/matmul_quant.ts): qx_bytes(n, cols) bytes at dst. */
  quant_x(dstPtr: number, xPtr: number, n: number, cols: number): void;
  quant_x_ref(dstPtr: number, xPtr: number, n: number, cols: number): void;
  /**
   * Benchmark probe (assembly/peak.ts), no model path calls it: `iters` rounds of 12 independent chains
   * acc ← acc + i32x4.dot_i16x8_s(acc, k), i.e. 96 multiply-adds per round at the issue rate of the
   * W8A8 kernels' inner step; returns the wrapped sum of every lane (keeps the chains alive).
   */
  peak_dot_i16(iters: number): number;
  /**
   * Benchmark probe (assembly/peak.ts): `iters` rounds of 12 independent chains acc ← acc + byte dot(acc, k)
   * (i16x8.relaxed_dot_i8x16_i7x16_s in the relaxed build, the same arithmetic with i16 multiplies in the
   * plain one), 192 multiply-adds per round; returns the wrapped sum of every lane.
   */
  peak_dot_i8(iters: number): number;
  /** Bytes of the per-thread scratch the quantised SIMD kernels use for batches of n x rows. */
  quant_scratch_bytes(n: number): number;
  /** Bytes of the prepared input of one x row of cols columns. */
  qx_row_bytes(cols: number): number;
  /** Bytes of the whole prepared input of n rows of cols: n records of qx_row_bytes(cols), then sections T and T16. */
  qx_bytes(n: number, cols: number): number;
  /** Offset of the 256-column section inside a prepared row (cols % 256 == 0). */
  qx_offset_k(cols: number): number;
  /**
   * out[i, :] = x[i, :] / sqrt(mean(x[i, :]²) + eps) · w. out, x: [n, dim], w: [dim]. out may equal x.
   * Also the per-head norm of Qwen3/Gemma-3 (q_norm, k_norm): rows of [n·heads, headDim] with w [headDim].
   */
  rmsnorm_f32(outPtr: number, xPtr: number, wPtr: number, n: number, dim: number, eps: number): void;
  rmsnorm_f32_ref(outPtr: number, xPtr: number, wPtr: number, n: number, dim: number, eps: number): void;
  /**
   * Rotary embedding, Hugging Face rotate-half layout, in place: for each row i < n and head h < nHeads,
   * (x[j], x[j + headDim/2]) is rotated by angle pos[i]·θ_j, with cos/sin from tables [maxPos, headDim/2].
   * x: [n, rowStride] (heads at x[i, h·headDim ..]), pos: i32 [n] with pos[i] < maxPos; headDim even.
   * Tables: src/kernels/rope.ts (createRopeTables).
   */
  rope_f32(xPtr: number, rowStride: number, n: number, nHeads: number, headDim: number, posPtr: number, cosPtr: number, sinPtr: number): void;
  rope_f32_ref(xPtr: number, rowStride: number, n: number, nHeads: number, headDim: number, posPtr: number, cosPtr: number, sinPtr: number): void;
  /**
   * Causal / tree attention for n query rows over one layer's KV cache, heads [h0, h1).
   * q, out: [n, nHeads·headDim]; k, v: [capacity, nKvHeads·headDim] (headRows = 0), or head-major
   * [nKvHeads][headRows][headDim] (headRows > 0: each head's rows one contiguous stream), with rows [0, cacheLen) committed and
   * rows [cacheLen, cacheLen + m) staged (m ≥ n): the n query rows are the last n staged rows (query i's own
   * key/value at cacheLen + m − n + i); the first m − n are earlier staged rows (upper levels of a draft tree).
   * Row i attends to every committed row and to staged rows j < m with mask[i·m + j] = 1
   * (maskPtr = 0: causal, j ≤ m − n + i). Query head h uses KV head h / (nHeads / nKvHeads).
   * Scores: scale·(q·k) (1/sqrt(headDim) for most models), then softcap·tanh(s/softcap) when softcap > 0
   * (Gemma-2's attention logit soft-capping). Sliding window (window > 0): committed row t has position t,
   * staged row j position pos[j] (pos: i32 [m], read only when window > 0; query i is staged row m − n + i);
   * a query at position P attends only keys at positions p with P − p < window, on top of the mask.
   * scores: f32 scratch [4·(cacheLen + m + headDim)] per call (per thread). Softmax with max subtraction;
   * the SIMD kernel drops weights exp(s − max) below e^−64 ≈ 1.6e-28 (the scalar twin keeps them). Staged
   * rows no query row attends, committed rows before every query's window, and rows ≥ cacheLen + m are never
   * read; no output depends on a staged row its query row does not attend. A row attending to nothing gets zeros.
   * The result does not depend on how [0, nHeads) is split into calls (bit for bit). SIMD blocking: 4 query
   * vectors (row, head) of one KV head per block, one per lane; leftovers one at a time (assembly/attention.ts).
   */
  attention_f32(outPtr: number, qPtr: number, kPtr: number, vPtr: number, scoresPtr: number, maskPtr: number, posPtr: number,
    n: number, m: number, nHeads: number, nKvHeads: number, headDim: number, cacheLen: number, h0: number, h1: number,
    scale: number, softcap: number, window: number, headRows: number): void;
  attention_f32_ref(outPtr: number, qPtr: number, kPtr: number, vPtr: number, scoresPtr: number, maskPtr: number, posPtr: number,
    n: number, m: number, nHeads: number, nKvHeads: number, headDim: number, cacheLen: number, h0: number, h1: number,
    scale: number, softcap: number, window: number, headRows: number): void;
  /**
   * attention_f32 over an f16 KV cache: k, v hold f16 bit patterns (finite, as kv_store_f16 writes them),
   * widened exactly as they are read: the same bits as attention_f32 on the widened cache. scores: f32
   * scratch [4·(cacheLen + m + headDim) + 2·(cacheLen + m)·headDim] (a KV head whose queries fill several
   * lane blocks (3 or more) is widened once into the second part).
   */
  attention_f16(outPtr: number, qPtr: number, kPtr: number, vPtr: number, scoresPtr: number, maskPtr: number, posPtr: number,
    n: number, m: number, nHeads: number, nKvHeads: number, headDim: number, cacheLen: number, h0: number, h1: number,
    scale: number, softcap: number, window: number, headRows: number): void;
  attention_f16_ref(outPtr: number, qPtr: number, kPtr: number, vPtr: number, scoresPtr: number, maskPtr: number, posPtr: number,
    n: number, m: number, nHeads: number, nKvHeads: number, headDim: number, cacheLen: number, h0: number, h1: number,
    scale: number, softcap: number, window: number, headRows: number): void;
  /**
   * n rows of keys or values src (f32 [n, nKvHeads·headDim], row-major) into a head-major cache: head g's
   * row i at dst + (g·planeRows + i)·headDim elements (f32).
   */
  kv_store_f32(dstPtr: number, srcPtr: number, n: number, nKvHeads: number, headDim: number, planeRows: number): void;
  /**
   * kv_store_f32 into an f16 cache: each value's f16 bit pattern, rounded to nearest even as ggml's
   * f32 → f16; returns how many are not finite (|x| ≥ 65520 or NaN), which attention_f16 cannot read.
   */
  kv_store_f16(dstPtr: number, srcPtr: number, n: number, nKvHeads: number, headDim: number, planeRows: number): number;
  /** out[j] = silu(gate[j])·up[j] for j < count (SwiGLU). out may equal gate or up. */
  swiglu_f32(outPtr: number, gatePtr: number, upPtr: number, count: number): void;
  swiglu_f32_ref(outPtr: number, gatePtr: number, upPtr: number, count: number): void;
  /** out[j] = gelu_tanh(gate[j])·up[j] for j < count (GeGLU with PyTorch's tanh GELU: Gemma). out may equal gate or up. */
  geglu_tanh_f32(outPtr: number, gatePtr: number, upPtr: number, count: number): void;
  geglu_tanh_f32_ref(outPtr: number, gatePtr: number, upPtr: number, count: number): void;
  /** x[j] = cap·tanh(x[j]/cap) in place for j < count (final logit soft-capping); cap > 0. */
  softcap_f32(xPtr: number, count: number, cap: number): void;
  softcap_f32_ref(xPtr: number, count: number, cap: number): void;
  /** out[j] = x[j]·s for j < count (Gemma's √dim embedding scale). out may equal x. */
  scale_f32(outPtr: number, xPtr: number, count: number, s: number): void;
  scale_f32_ref(outPtr: number, xPtr: number, count: number, s: number): void;
  /** x[i, c] += b[c] for i < n, c < cols (linear-layer bias). x: [n, cols], b: [cols]. */
  add_bias_f32(xPtr: number, bPtr: number, n: number, cols: number): void;
  add_bias_f32_ref(xPtr: number, bPtr: number, n: number, cols: number): void;
  /** out[j] = a[j] + b[j] (residual add). out may equal a or b. */
  add_f32(outPtr: number, aPtr: number, bPtr: number, count: number): void;
  add_f32_ref(outPtr: number, aPtr: number, bPtr: number, count: number): void;
  /** In-place softmax of each of n rows of length count (max-subtracted). x: [n, count]. A row of all −∞ becomes zeros. */
  softmax_f32(xPtr: number, n: number, count: number): void;
  softmax_f32_ref(xPtr: number, n: number, count: number): void;
  /** out[j] = exp(x[j]) for j < count; out may equal x. The SIMD exp used by softmax/attention/swiglu (a few ulp), exposed to test it. */
  exp_f32(outPtr: number, xPtr: number, count: number): void;
  exp_f32_ref(outPtr: number, xPtr: number, count: number): void;

  // ---- verifier passes (assembly/verify.ts) ----
  // Probability rows are f64. idx arguments are i32 index lists that are sorted ascending, distinct
  // and < n. Every kernel has a scalar twin `<name>_ref` with the same signature. A multiplier c
  // of q comes with qScale: the pass uses c·(q·qScale), where qScale is 1 or a power of two that
  // keeps c finite when it is a ratio with a subnormal denominator (verify/common.ts scaledFactor).

  /** Σ x.  x: f64 [n] */
  sum_f64(xPtr: number, n: number): number;
  sum_f64_ref(xPtr: number, n: number): number;
  /** Σ x[i] over i not in idx (summed directly, so 1 - x(G) never cancels).  x: f64 [n], idx: i32 [m] */
  sum_except_f64(xPtr: number, n: number, idxPtr: number, m: number): number;
  sum_except_f64_ref(xPtr: number, n: number, idxPtr: number, m: number): number;
  /** Σ x when every entry is finite and >= 0 and the sum is finite, else -1 (the public verifier API's row check).  x: f64 [n] */
  checked_sum_f64(xPtr: number, n: number): number;
  checked_sum_f64_ref(xPtr: number, n: number): number;
  /**
   * residual_f64(out, p, q, n, 1, 1) (bit for bit) fused with checked_sum_f64 of p into sums[0] and of
   * q into sums[1]: the public SD verify's one pass.  out, p, q: f64 [n], sums: f64 [2]
   */
  checked_residual_f64(outPtr: number, pPtr: number, qPtr: number, n: number, sumsPtr: number): number;
  checked_residual_f64_ref(outPtr: number, pPtr: number, qPtr: number, n: number, sumsPtr: number): number;
  /** checked_sum_f64 of p into sums[0] and of q into sums[1], one pass over both (the public SD verify of an accepted draft).  p, q: f64 [n], sums: f64 [2] */
  checked_sums2_f64(pPtr: number, qPtr: number, n: number, sumsPtr: number): void;
  checked_sums2_f64_ref(pPtr: number, qPtr: number, n: number, sumsPtr: number): void;
  /** sample_f64(x, n, target) (the same index) fused with checked_sum_f64 of x into sum[0]: the public SD draft's one pass.  x: f64 [n], sum: f64 [1] */
  checked_sample_f64(xPtr: number, n: number, target: number, sumPtr: number): number;
  checked_sample_f64_ref(xPtr: number, n: number, target: number, sumPtr: number): number;
  /** out = max(r - c·(q·qScale), 0); returns Σ out. out may equal r.  out, r, q: f64 [n] */
  residual_f64(outPtr: number, rPtr: number, qPtr: number, n: number, c: number, qScale: number): number;
  residual_f64_ref(outPtr: number, rPtr: number, qPtr: number, n: number, c: number, qScale: number): number;
  /** As residual_f64, with out[i] = 0 for i in idx.  out, p, q: f64 [n], idx: i32 [m] */
  residual_except_f64(outPtr: number, pPtr: number, qPtr: number, n: number, c: number, qScale: number, idxPtr: number, m: number): number;
  residual_except_f64_ref(outPtr: number, pPtr: number, qPtr: number, n: number, c: number, qScale: number, idxPtr: number, m: number): number;
  /** Σ min(q, c·p): the overlap Σ min(p, q) at c = 1, K-SEQ's β(ρ) at c = 1/ρ.  p, q: f64 [n] */
  overlap_f64(pPtr: number, qPtr: number, n: number, c: number): number;
  overlap_f64_ref(pPtr: number, qPtr: number, n: number, c: number): number;
  /** K-SEQ residual: out = max(p - c·min(q, p·invRho), 0); returns Σ out.  out, p, q: f64 [n] */
  kseq_residual_f64(outPtr: number, pPtr: number, qPtr: number, n: number, invRho: number, c: number): number;
  kseq_residual_f64_ref(outPtr: number, pPtr: number, qPtr: number, n: number, invRho: number, c: number): number;
  /**
   * SpecHub's fused O(V) pass for the hub, with wq = w·(q·qScale) = q(hub)·q/Σ_{i≠hub} q(i): writes
   * the residual res(i) = max(max(p - q, 0) - wq, 0) for i != hub, res(hub) = 0, and the pair
   * leftovers out[0] = R1 = Σ_{i≠hub} max(q - p, 0), out[1] = R2 = Σ_{i≠hub} max(wq - max(p - q, 0), 0);
   * returns Σ res.  res, p, q: f64 [n], out: f64 [2]
   */
  hub_pass_f64(resPtr: number, outPtr: number, pPtr: number, qPtr: number, n: number, hub: number, w: number, qScale: number): number;
  hub_pass_f64_ref(resPtr: number, outPtr: number, pPtr: number, qPtr: number, n: number, hub: number, w: number, qScale: number): number;
  /** Index of the largest entry, the lowest index on ties; -1 if an entry is NaN.  x: f64 [n], n >= 1 */
  argmax_f64(xPtr: number, n: number): number;
  argmax_f64_ref(xPtr: number, n: number): number;
  /**
   * The m largest positive entries, largest first, ties by the lower index, written to out;
   * returns how many (fewer than m when x has fewer positive entries). Writes the sum of every
   * entry not selected to rest, summed directly (never Σx - x(G)).  out: i32 [m], rest: f64 [1], x: f64 [n]
   */
  topk_f64(outPtr: number, restPtr: number, xPtr: number, n: number, m: number): number;
  topk_f64_ref(outPtr: number, restPtr: number, xPtr: number, n: number, m: number): number;

  // ---- sampling passes (assembly/sampling.ts) ----
  // Probability rows are f64; logits rows are f32. Sampling kernels return the first index whose
  // running sum exceeds `target` (never an index whose entry is 0); when rounding leaves `target`
  // at or above the total, the last positive index; -1 only when every entry is 0.

  /** Inverse-CDF draw from x (see above).  x: f64 [n] */
  sample_f64(xPtr: number, n: number, target: number): number;
  sample_f64_ref(xPtr: number, n: number, target: number): number;
  /** Inverse-CDF draw from x with the indices in idx removed.  x: f64 [n], idx: i32 [m] */
  sample_except_f64(xPtr: number, n: number, target: number, idxPtr: number, m: number): number;
  sample_except_f64_ref(xPtr: number, n: number, target: number, idxPtr: number, m: number): number;
  /** Index of the largest logit, the lowest index on ties (greedy decoding); -1 if a logit is NaN.  x: f32 [n], n >= 1 */
  argmax_f32(xPtr: number, n: number): number;
  argmax_f32_ref(xPtr: number, n: number): number;
  /** Index of the first NaN or ±Infinity entry, -1 when every entry is finite.  x: f32 [n] */
  first_nonfinite_f32(xPtr: number, n: number): number;
  first_nonfinite_f32_ref(xPtr: number, n: number): number;
  /**
   * out[i] = exp((x[i] - maxLogit)·invT) if x[i] >= minLogit else 0, in f64; returns Σ out.
   * out: f64 [n], x: f32 [n]
   */
  exp_probs_f32(outPtr: number, xPtr: number, n: number, invT: number, maxLogit: number, minLogit: number): number;
  exp_probs_f32_ref(outPtr: number, xPtr: number, n: number, invT: number, maxLogit: number, minLogit: number): number;
  /** x *= s.  x: f64 [n] */
  scale_f64(xPtr: number, n: number, s: number): void;
  scale_f64_ref(xPtr: number, n: number, s: number): void;
  /** x = v.  x: f64 [n] */
  fill_f64(xPtr: number, n: number, v: number): void;
  fill_f64_ref(xPtr: number, n: number, v: number): void;
  /** The k-th largest value of x (1 <= k <= n), counting repeats.  x: f32 [n], hist: u32 [256] scratch */
  kth_largest_f32(xPtr: number, n: number, k: number, histPtr: number): number;
  kth_largest_f32_ref(xPtr: number, n: number, k: number, histPtr: number): number;
  /**
   * Top-p (nucleus) mask in place: order tokens by logit descending, ties by lower index; keep a
   * token iff the mass strictly before it is < target; zero the rest; returns the kept mass.
   * probs: f64 [n] (unnormalised), logits: f32 [n] (same order as probs), hist: f64 [256] scratch
   */
  topp_mask_f64(probsPtr: number, logitsPtr: number, n: number, target: number, histPtr: number): number;
  topp_mask_f64_ref(probsPtr: number, logitsPtr: number, n: number, target: number, histPtr: number): number;
}

/** The kernels the verifiers use (so a plain TypeScript implementation can stand in for benches). */
export type ProbKernels = Pick<
  Kernels,
  | 'sum_f64'
  | 'sum_except_f64'
  | 'residual_f64'
  | 'residual_except_f64'
  | 'overlap_f64'
  | 'kseq_residual_f64'
  | 'hub_pass_f64'
  | 'sample_f64'
  | 'sample_except_f64'
  | 'argmax_f64'
  | 'topk_f64'
>;

/** Names of the ProbKernels members (the SIMD kernels; each has a `_ref` twin). */
export const PROB_KERNEL_NAMES = [
  'sum_f64',
  'sum_except_f64',
  'residual_f64',
  'residual_except_f64',
  'overlap_f64',
  'kseq_residual_f64',
  'hub_pass_f64',
  'sample_f64',
  'sample_except_f64',
  'argmax_f64',
  'topk_f64',
] as const satisfies readonly (keyof ProbKernels)[];

/** Names of the WASM builds produced by scripts/build-wasm.mjs (asconfig.json targets). */
export type WasmBuild = 'simd' | 'relaxed' | 'simd-mt' | 'relaxed-mt';

/** File name of a build inside the package's build/ folder. */
export function wasmFileName(build: WasmBuild): string {
  return `spechub.${build}.wasm`;
}
