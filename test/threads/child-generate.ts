// Child process of the shutdown test (test/threads/shutdown.test.ts): load stories260K on a threaded
// executor (every kernel split), greedy-generate, print the tokens as JSON, then end *without*
// process.exit: `close` awaits executor.close(); `forget` returns with the workers still spinning;
// `forget-idle` waits until they parked, then returns. The process must exit by itself.
//   node child-generate.js <close|forget|forget-idle> <threads> <tokens>
import { createNodeRuntime } from '../../src/node.js';
import { createNodeExecutor } from '../../src/node/threads.js';
import { stories260KRef, argmax } from '../model/helpers.js';
import { modelOn } from './helpers.js';

const [mode = 'close', threadsArg = '2', countArg = '24'] = process.argv.slice(2);
const threads = Number(threadsArg);
const w = stories260KRef();
const rt = createNodeRuntime({ threads });
const exec = await createNodeExecutor(rt, { threads, minLinearWork: 0, minAttentionWork: 0 });
const m = await modelOn(rt, w, exec, { maxBatch: 4, capacity: 64 });
const tokens: number[] = [];
let tok = 1;
for (let pos = 0; pos < Number(countArg); pos++) {
  m.tokens[0] = tok;
  m.positions[0] = pos;
  m.forward(1);
  m.cache.commit(1);
  tok = argmax(m.logits, 0, w.config.vocabSize);
  tokens.push(tok);
}
process.stdout.write(JSON.stringify({ build: rt.build, threads: exec.threads, tokens }) + '\n');
if (mode === 'close') await exec.close();
else if (mode === 'forget-idle') await new Promise((r) => setTimeout(r, 100));
