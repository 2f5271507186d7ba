#!/usr/bin/env node
// The public API listing: what each package entry exports, read from the sources with TypeScript's
// checker, written to docs/api.md. test/api-listing.test.ts regenerates it and fails when the file
// differs (so it cannot go stale), and when an export has no doc comment.
//
//   node scripts/api-listing.mjs           write docs/api.md
//   node scripts/api-listing.mjs --check   exit 1 when docs/api.md differs from the entries
//   node scripts/api-listing.mjs --counts  value exports per entry, one line each
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * The entries, in the order the listing shows them. `extends` names an entry whose exports this one
 * re-exports whole; the listing shows only what it adds.
 */
export const ENTRIES = [
  {
    id: 'core',
    file: 'src/index.ts',
    title: '`spechub/core` (also `spechub` outside Node, and `spechub/browser` bundled)',
    about: 'Runtimes and executors, loading and model sources, generation and chat, drafters, verifiers, tokenizers and chat templates, errors, randomness. Runs in browsers: nothing here touches Node.',
  },
  {
    id: 'node',
    file: 'src/node.ts',
    extends: 'core',
    title: '`spechub` in Node',
    about: 'Everything in `spechub/core`, plus the Node-only ways to make a runtime and an executor and to load from the file system.',
  },
  {
    id: 'formats',
    file: 'src/formats.ts',
    title: '`spechub/formats`',
    about: 'Readers, writers and converters: safetensors and GGUF files, config.json and GGUF metadata, the tensor role table, float and quantisation codecs, llama2.c and SentencePiece conversion. Runs in browsers.',
  },
  {
    id: 'advanced',
    file: 'src/advanced.ts',
    title: '`spechub/advanced`',
    about: 'The engine\'s parts: the model and its contexts, KV cache, the speculative stepper, the verifiers\' decode-path and math layers, tree traversal, draft trees, executors and kernels, weight packing, the memory plan, the auto-tuner. Runs in browsers.',
  },
  {
    id: 'node-advanced',
    file: 'src/node/advanced.ts',
    extends: 'advanced',
    title: '`spechub/advanced` in Node',
    about: 'Everything in `spechub/advanced`, plus the Node-only parts: the build files, worker threads, drafters by name.',
  },
  {
    id: 'lp',
    file: 'src/lp.ts',
    title: '`spechub/lp`',
    about: 'The OTM optimum for any draft joint as a linear program (HiGHS), kept out of the core.',
  },
];

/** Kind of a resolved symbol, as the listing names it. */
function kindOf(sym) {
  const f = sym.flags;
  if (f & ts.SymbolFlags.Class) return 'class';
  if (f & ts.SymbolFlags.Function) return 'function';
  if (f & ts.SymbolFlags.Enum) return 'enum';
  if (f & ts.SymbolFlags.Variable) return 'const';
  if (f & ts.SymbolFlags.Interface) return 'interface';
  if (f & ts.SymbolFlags.TypeAlias) return 'type';
  return 'other';
}

/** Whether an export is type-only (`export type X`, `export { type X }`, an interface or a type alias). */
function typeOnly(exported, resolved) {
  const d = exported.declarations?.[0];
  if (d && ts.isExportSpecifier(d) && (d.isTypeOnly || d.parent.parent.isTypeOnly)) return true;
  return (resolved.flags & ts.SymbolFlags.Value) === 0;
}

/** The doc comment's first sentence, on one line (table cells take no line breaks or pipes). */
function summary(text) {
  const flat = text.replace(/\s+/g, ' ').trim();
  // a sentence ends at . ! ? before a capital, a quote or the end; not in e.g., i.e., i.i.d., etc.
  const end = /(?<!\b(?:e\.g|i\.e|i\.i\.d|etc|vs))[.!?](?=\s+[A-Z`'"(]|$)/.exec(flat);
  const first = end ? flat.slice(0, end.index + 1) : flat;
  return first.replace(/\|/g, '\\|');
}

/** Every entry's exports: name, kind, whether a value, and its doc comment. */
export function readEntries(root = ROOT) {
  const cfg = ts.readConfigFile(join(root, 'tsconfig.json'), ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(cfg.config, ts.sys, root);
  const files = ENTRIES.map((e) => join(root, e.file));
  const program = ts.createProgram(files, { ...parsed.options, noEmit: true, incremental: false });
  const checker = program.getTypeChecker();
  const out = new Map();
  for (const e of ENTRIES) {
    const sf = program.getSourceFile(join(root, e.file));
    if (!sf) throw new Error(`api-listing: ${e.file} not found`);
    const mod = checker.getSymbolAtLocation(sf);
    const exports = mod ? checker.getExportsOfModule(mod) : [];
    const rows = exports.map((sym) => {
      const resolved = sym.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym;
      const doc = ts.displayPartsToString(resolved.getDocumentationComment(checker)).trim();
      return { name: sym.name, kind: kindOf(resolved), value: !typeOnly(sym, resolved), doc };
    });
    rows.sort((a, b) => (a.value === b.value ? a.name.localeCompare(b.name, 'en') : a.value ? -1 : 1));
    out.set(e.id, rows);
  }
  return out;
}

/** docs/api.md, from the entries' exports (readEntries()). */
export function apiListing(all = readEntries()) {
  const lines = [
    '# Public API',
    '',
    'Generated by `node scripts/api-listing.mjs` from the package entries (package.json "exports");',
    '`test/api-listing.test.ts` fails when this file differs from what they export. Each name\'s',
    'doc comment, in full, is in its source and in the `.d.ts` files your editor shows.',
    '',
    '| entry | value exports | type exports |',
    '|---|--:|--:|',
  ];
  const own = (e) => {
    const rows = all.get(e.id);
    if (!e.extends) return rows;
    const base = new Set(all.get(e.extends).map((r) => r.name));
    return rows.filter((r) => !base.has(r.name));
  };
  for (const e of ENTRIES) {
    const rows = own(e);
    const plus = e.extends ? ' (added)' : '';
    lines.push(`| ${e.title.replace(/ \(.*/, '')}${plus} | ${rows.filter((r) => r.value).length} | ${rows.filter((r) => !r.value).length} |`);
  }
  for (const e of ENTRIES) {
    lines.push('', `## ${e.title}`, '', e.about, '', '| name | kind | summary |', '|---|---|---|');
    for (const r of own(e)) lines.push(`| \`${r.name}\` | ${r.value || r.kind === 'interface' || r.kind === 'type' ? r.kind : `${r.kind} (type only)`} | ${summary(r.doc)} |`);
  }
  return lines.join('\n') + '\n';
}

/** Exports without a doc comment, as "entry: name". */
export function undocumented(all = readEntries()) {
  return ENTRIES.flatMap((e) => all.get(e.id).filter((r) => r.doc === '').map((r) => `${e.file}: ${r.name}`));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const arg = process.argv[2];
  const path = join(ROOT, 'docs/api.md');
  if (arg === '--counts') {
    for (const [id, rows] of readEntries()) console.log(`${id}: ${rows.filter((r) => r.value).length} values, ${rows.filter((r) => !r.value).length} types`);
  } else if (arg === '--undocumented') {
    for (const u of undocumented()) console.log(u);
  } else if (arg === '--check') {
    const now = apiListing();
    let old = '';
    try {
      old = readFileSync(path, 'utf8');
    } catch {
      // missing: differs
    }
    if (old !== now) {
      console.error('api-listing: docs/api.md differs from the entries; run node scripts/api-listing.mjs');
      process.exit(1);
    }
  } else {
    writeFileSync(path, apiListing());
    console.log(`api-listing: wrote ${path}`);
  }
}
