/**
 * Child process of test/tokenizer/real.test.ts: runs checkRealTokenizer for the tokenizers named on
 * the command line, one after another, and prints one JSON report per line.
 */
import { REAL_TOKENIZERS } from './corpus.js';
import { checkRealTokenizer } from './real-check.js';

for (const name of process.argv.slice(2)) {
  const real = REAL_TOKENIZERS.find((r) => r.name === name);
  if (real === undefined) throw new Error(`real-check-worker: no real tokenizer named ${name}`);
  process.stdout.write(JSON.stringify(await checkRealTokenizer(real)) + '\n');
}
