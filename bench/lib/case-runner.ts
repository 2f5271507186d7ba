/**
 * Child-process entry of the decode bench: runs one case given as a JSON argument and prints
 * `RESULT <json>` (see bench/lib/child.ts). Cases: a decode measurement (spechub or llama.cpp, or both
 * with their timed runs interleaved), a speculative draft/target pair (either engine), a kernel table
 * column (spechub or onnxruntime-web at one thread count), or the read bandwidth.
 *
 *   node dist/bench/lib/case-runner.js '<spec json>'     (started by dist/bench/decode.bench.js)
 */
import { childMain, progress } from './child.js';
import { runLlamaDecode, runPairedDecode, runSpechubDecode, type DecodeSpec, type PairedDecodeSpec } from './decode-cases.js';
import { runLlamaPair, runSpechubPair, type PairSpec } from './pair-cases.js';
import { runOrtKernels, runSpechubKernels, type KernelSpec } from './kernel-cases.js';
import { measureBandwidth1, measureBandwidth2, measureDotPeak, validateReadKernel } from './bandwidth.js';
import { createNodeRuntime } from '../../src/node.js';

export interface BandwidthSpec {
  readonly kind: 'bandwidth';
  readonly mib: number;
  readonly passes: number;
  /** The bench's WASM build: a relaxed one also measures the byte-dot peak. */
  readonly build: string;
}

export type CaseSpec = DecodeSpec | PairedDecodeSpec | PairSpec | KernelSpec | BandwidthSpec;

childMain(async (spec: CaseSpec) => {
  switch (spec.kind) {
    case 'decode':
      return spec.engine === 'spechub' ? runSpechubDecode(spec) : runLlamaDecode(spec);
    case 'decode-paired':
      return runPairedDecode(spec);
    case 'pair':
      return spec.engine === 'spechub' ? runSpechubPair(spec) : runLlamaPair(spec);
    case 'kernels':
      return spec.engine === 'spechub' ? runSpechubKernels(spec) : runOrtKernels(spec);
    case 'bandwidth': {
      validateReadKernel();
      progress(`bandwidth: 1 thread over ${spec.mib} MiB`);
      const one = measureBandwidth1(spec.mib, spec.passes);
      progress(`bandwidth: 1 thread ${one.gbps.toFixed(1)} GB/s; 2 threads`);
      const two = await measureBandwidth2(spec.mib, spec.passes);
      progress(`bandwidth: 2 threads ${two.gbps.toFixed(1)} GB/s; integer-dot peaks`);
      const dot = measureDotPeak(createNodeRuntime());
      const dot8 = spec.build.startsWith('relaxed') ? measureDotPeak(createNodeRuntime({ build: 'relaxed' }), 15, 'i8') : null;
      progress(`integer-dot peak: ${dot.gops.toFixed(1)} GOP/s per thread${dot8 ? `; byte-dot peak ${dot8.gops.toFixed(1)}` : ''}`);
      return { one, two, dot, dot8 };
    }
  }
});
