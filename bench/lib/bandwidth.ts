/** The read-bandwidth probe lives in the package (src/node/bandwidth.ts: `spechub bench` prints it too). */
export { measureBandwidth1, measureBandwidth2, readKernelBytes, validateReadKernel, type Bandwidth } from '../../src/node/bandwidth.js';
