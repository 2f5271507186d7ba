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
export * from './quant_legacy';
export * from './quant_k';
export { peak_dot_i16, peak_dot_i8 } from './peak';
export { quant_x, quant_x_ref, qx_row_bytes, qx_bytes, qx_offset_k } from './matmul_quant';
export * from './verify';
export * from './sampling';
export * from './scan';
