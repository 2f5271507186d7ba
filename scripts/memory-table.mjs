// What each real model needs in spechub's memory, by weight type: the memory plan (src/model/memory-plan.ts,
// the numbers a load checks before it allocates) of the real config.json files in test/fixtures/real-configs/,
// at the default context (min(max_position_embeddings, 4096) positions) and 64-row batches, one thread;
// the last two columns with an f16 KV cache (--kv-type f16).
// Prints the README's "Run your own model" memory table (markdown). Usage: npm run build && node scripts/memory-table.mjs
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatBytes, planLoad } from '../dist/src/advanced.js';
import { parseHfConfig } from '../dist/src/config.js';

const DIR = fileURLToPath(new URL('../test/fixtures/real-configs/', import.meta.url));
const LIMIT = 4 * 2 ** 30; // wasm32 memory
const TYPES = [
  ['f32', 'f32'],
  ['bf16', 'bf16'],
  ['q8_0', 'int8 / q8_0'],
  ['q4_k', 'q4_k'],
  ['q4_0', 'int4 / q4_0'],
];

const rows = [];
for (const name of readdirSync(DIR).sort()) {
  if (!existsSync(join(DIR, name, 'config.json'))) continue;
  let config;
  try {
    config = parseHfConfig(JSON.parse(readFileSync(join(DIR, name, 'config.json'), 'utf8')), `${name}/config.json`);
  } catch (e) {
    console.error(`${name}: not a model spechub runs (${e.message})`);
    continue;
  }
  const cells = TYPES.map(([dtype]) => {
    const p = planLoad(config, { dtype, maxBatch: 64 });
    return p.total <= LIMIT ? formatBytes(p.total) : `${formatBytes(p.total)} ✗`;
  });
  const plan = planLoad(config, { dtype: 'bf16', maxBatch: 64 });
  const half = planLoad(config, { dtype: 'q4_k', maxBatch: 64, kvType: 'f16' });
  const halfCell = half.total <= LIMIT ? formatBytes(half.total) : `${formatBytes(half.total)} ✗`;
  rows.push(`| ${name} | ${plan.capacity} | ${formatBytes(plan.kvCache)} | ${cells.join(' | ')} | ${formatBytes(half.kvCache)} | ${halfCell} |`);
}
console.log(`| model (config.json) | context | KV cache | ${TYPES.map(([, label]) => `\`--dtype ${label}\``).join(' | ')} | KV cache f16 | \`q4_k\`, \`--kv-type f16\` |`);
console.log(`|---|--:|--:|${TYPES.map(() => '--:').join('|')}|--:|--:|`);
for (const r of rows) console.log(r);
console.log('\n✗: more than the 4 GiB of wasm32 memory (the load is refused before it allocates, with what would fit).');
