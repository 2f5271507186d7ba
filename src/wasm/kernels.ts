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
}

/** Names of the WASM builds produced by scripts/build-wasm.mjs (asconfig.json targets). */
export type WasmBuild = 'simd' | 'relaxed' | 'simd-mt' | 'relaxed-mt';

/** File name of a build inside the package's build/ folder. */
export function wasmFileName(build: WasmBuild): string {
  return `spechub.${build}.wasm`;
}
