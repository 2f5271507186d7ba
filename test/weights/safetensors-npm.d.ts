// Types for the npm `safetensors` package (0.0.1, a 76-line parser without validation), used only
// as an independent cross-check on valid files in safetensors.test.ts.
declare module 'safetensors' {
  interface TensorMeta {
    dtype: string;
    shape: number[];
    data_offsets: [number, number];
  }
  class SafeTensor {
    constructor(buffer: Uint8Array);
    readonly metadata: Map<string, TensorMeta>;
    getTensor(name: string): Uint8Array;
  }
  const pkg: { SafeTensor: typeof SafeTensor };
  export default pkg;
}
