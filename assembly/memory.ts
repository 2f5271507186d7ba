// Memory facts the host needs: where static data ends, so the TS arena never overlaps it.

/** First byte the host may use: the end of this module's static data, rounded up to 64 KiB. */
export function heap_base(): usize {
  return (__heap_base + 0xffff) & ~(<usize>0xffff);
}

/** 1 when this build uses relaxed SIMD (fused multiply-add), else 0. */
export function build_relaxed(): i32 {
  return ASC_FEATURE_RELAXED_SIMD ? 1 : 0;
}

/** 1 when this build imports a shared memory (threads), else 0. */
export function build_threads(): i32 {
  return ASC_FEATURE_THREADS ? 1 : 0;
}
