// The only export surface of the .wasm: every kernel module is re-exported here.
// Kernels hold no module state; pointers are byte offsets into the imported memory.
export * from './memory';
export * from './probs';
