/**
 * `spechub/advanced` in Node: everything in src/advanced.ts, plus the Node-only parts: the
 * package's build/ folder and the build choice, worker threads for executors, a file as a
 * ByteSource, and drafters resolved by name (`--draft` of the CLI).
 */
export * from '../advanced.js';
export { BUILD_DIR, enableRelaxedSimd, readWasm, selectNodeBuild } from './runtime.js';
export { nodeWorkerHost } from './threads.js';
export { FileByteSource } from './fs-source.js';
export { resolveDrafter, DEFAULT_DRAFTS } from './drafters.js';
