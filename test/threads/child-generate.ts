// Child process of the shutdown test (test/threads/shutdown.test.ts): load the shipped stories260K
// with a threaded executor (every kernel split), generate text with a seeded sampler, print the ids and
// text as JSON, then end *without* process.exit: `close` awaits executor.close(); `forget` returns with
// the workers still spinning; `forget-idle` waits until they parked, then returns. The process must
// exit by itself. With threads = 1 it runs the serial executor (the test's reference).
//   node child-generate.js <close|forget|forget-idle> <threads> <maxTokens>
import { join } from 'node:path';
import { createNodeRuntime, createNodeExecutor, loadModelFromPath, WEIGHTS_DIR } from '../../src/node.js';
import { Generator } from '../../src/engine/generate.js';

const [mode = 'close', threadsArg = '2', countArg = '40'] = process.argv.slice(2);
const threads = Number(threadsArg);
const rt = createNodeRuntime({ threads });
const executor = await createNodeExecutor(rt, { threads, minLinearWork: 0, minAttentionWork: 0 });
const target = await loadModelFromPath(rt, join(WEIGHTS_DIR, 'stories260K'), { maxBatch: 16, capacity: 128, executor });
const gen = new Generator(target, { sampling: { temperature: 0.8 } });
const result = await gen.generate({ prompt: 'Once upon a time', maxTokens: Number(countArg), seed: 7, stopAtEos: false });
process.stdout.write(JSON.stringify({ build: rt.build, threads: executor.threads, ids: Array.from(result.ids), text: result.text }) + '\n');
if (mode === 'close') await executor.close();
else if (mode === 'forget-idle') await new Promise((r) => setTimeout(r, 100));
