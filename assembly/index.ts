// The only export surface of the .wasm: every kernel module is re-exported here.
// Kernels hold no module state; pointers are byte offsets into the imported memory.
export * from './memory';
export * from './matmul';
export * from './norm';
export * from './rope';
export * from './attention';
export * from './activations';
export * from './matmul_bf16';
export * from './matmul_q8';
export * from './matmul_q4';
export { quant_x_q8, quant_x_q8_ref } from './matmul_quant';
export * from './verify';
export * from './sampling';
