// One-way layers (issue 12 item 3), checked on the import graph of src/ as the sources write it.
//
// The rule. Every file of src/ belongs to one layer, by its folder (the table LAYERS below), and a
// file imports only files of its own layer or of an earlier one:
//
//   base → formats → kernels/executors → model → sampling → verify → draft → engine → entry points
//
// `base` (errors, rng, util/) is what every layer may import; it imports only itself. An edge is
// any import the file writes: `import … from`, `export … from`, a dynamic `import('…')` and a type
// position `import('…').T`. Type-only imports count like the others: a lower layer that names a
// higher layer's type changes whenever that layer does, and the type belongs to the layer that
// both use (declare it there and let the higher layer import it).
//
// Beside the order:
//   - no cycles between units: a unit is a top-level folder of src/ together with the file of the
//     same name (`tokenizer/` with `tokenizer.ts`), or a top-level file. Units of one layer may
//     import each other one way only, so each folder can be read (and moved) without the others;
//   - the browser-safe entries (src/index.ts, src/formats.ts, src/advanced.ts, src/lp.ts), through
//     every edge they reach (types and dynamic imports included), reach no `node:` module, no Node
//     built-in and no Node-only file (src/node.ts, src/node/, src/cli.ts), and only those files
//     import Node built-ins at all; spechub/formats (src/formats.ts) reaches formats and base only.
//     test/core-portability.test.ts checks the compiled output and the packages; this test names
//     the source file and line.
//
// Where the folders the issue does not name sit: chat/ (templates render text for the tokenizer)
// and convert/ (converters between file formats) are formats; draft/ (tree shapes and dynamic
// trees, drafted with the verifiers' drafting laws) comes after verify and before the engine.
//
// ALLOWED would list edges that break a rule with a reason (none do). It is exact: an allowed edge
// that no longer exists, or no longer breaks the rule it is listed under, fails the test, so the
// list cannot go stale.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { builtinModules } from 'node:module';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Layers in order, each with its units (`name/` a folder, `name.ts` a file, `name*` a prefix). */
const LAYERS: readonly (readonly [layer: string, units: readonly string[]])[] = [
  ['base', ['errors.ts', 'rng.ts', 'util/']],
  ['formats', ['io/', 'config.ts', 'tokenizer.ts', 'tokenizer/', 'chat/', 'weights/', 'convert/']],
  ['kernels/executors', ['wasm/', 'kernels/', 'exec/']],
  ['model', ['model/']],
  ['sampling', ['sampling.ts', 'sampling/']],
  ['verify', ['verify/']],
  ['draft', ['draft/']],
  ['engine', ['engine/']],
  ['entry points', ['index.ts', 'formats.ts', 'advanced.ts', 'node.ts', 'node/', 'cli.ts', 'lp.ts', 'browser*']],
];

/** Files only Node can run: the core must not reach them. */
const NODE_ONLY = ['node.ts', 'node/', 'cli.ts'];

/** The browser-safe entries (package.json's non-Node conditions): spechub/core, /formats, /advanced, /lp. */
const BROWSER_ENTRIES = ['src/index.ts', 'src/formats.ts', 'src/advanced.ts', 'src/lp.ts'];

type Rule = 'layer' | 'cycle';

interface Allowed {
  readonly from: string;
  readonly to: string;
  readonly rules: readonly Rule[];
  readonly why: string;
}

// Edges allowed to break a rule, each with its reason. None today: the executors live in src/exec/
// (serial, threaded, the browser factory and worker), over wasm/ (the runtime) and kernels/.
const ALLOWED: readonly Allowed[] = [];

// ---- the graph ----

type EdgeKind = 'value' | 'type' | 'dynamic';

/** One import: `from` (a src/ path) imports `to` (a src/ path, or a package or node: specifier). */
interface Edge {
  readonly from: string;
  readonly line: number;
  readonly to: string;
  readonly kind: EdgeKind;
  /** Whether `to` is a file of src/ (else a package or a Node module). */
  readonly local: boolean;
}

function sourceFiles(dir = 'src'): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(posix.join(dir, e.name)) : e.name.endsWith('.ts') ? [posix.join(dir, e.name)] : [],
  ).sort();
}

/** The imports of one file, with their lines, from TypeScript's own parse of it. */
function importsOf(file: string): { edges: Edge[]; problems: string[] } {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS);
  const edges: Edge[] = [];
  const problems: string[] = [];
  const add = (node: ts.Node, spec: string, kind: EdgeKind): void => {
    const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
    if (!spec.startsWith('.')) {
      edges.push({ from: file, line, to: spec, kind, local: false });
      return;
    }
    // NodeNext specifiers name the compiled .js; the source is the .ts beside it
    const to = posix.normalize(posix.join(posix.dirname(file), spec)).replace(/\.js$/, '.ts');
    if (!existsSync(join(ROOT, to))) problems.push(`${file}:${line}: ${spec} names no source file (${to})`);
    else edges.push({ from: file, line, to, kind, local: true });
  };
  const visit = (n: ts.Node): void => {
    if (ts.isImportDeclaration(n) && ts.isStringLiteral(n.moduleSpecifier)) {
      const c = n.importClause;
      const typeOnly = c !== undefined && (c.isTypeOnly || (c.name === undefined && c.namedBindings !== undefined &&
        ts.isNamedImports(c.namedBindings) && c.namedBindings.elements.length > 0 && c.namedBindings.elements.every((e) => e.isTypeOnly)));
      add(n, n.moduleSpecifier.text, typeOnly ? 'type' : 'value');
    } else if (ts.isExportDeclaration(n) && n.moduleSpecifier !== undefined && ts.isStringLiteral(n.moduleSpecifier)) {
      add(n, n.moduleSpecifier.text, n.isTypeOnly ? 'type' : 'value');
    } else if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const a = n.arguments[0];
      if (a !== undefined && ts.isStringLiteralLike(a)) add(n, a.text, 'dynamic');
      else problems.push(`${file}:${sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1}: a dynamic import of a computed specifier (the graph must be known)`);
    } else if (ts.isImportTypeNode(n) && ts.isLiteralTypeNode(n.argument) && ts.isStringLiteral(n.argument.literal)) {
      add(n, n.argument.literal.text, 'type');
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return { edges, problems };
}

/** `src/tokenizer/spec.ts` → `tokenizer/` (the LAYERS entry it matches), or null. */
function entryOf(file: string): { layer: number; entry: string } | null {
  const rel = file.slice('src/'.length);
  for (let i = 0; i < LAYERS.length; i++) {
    for (const u of LAYERS[i]![1]) {
      if (u.endsWith('/') ? rel.startsWith(u) : u.endsWith('*') ? rel.startsWith(u.slice(0, -1)) : rel === u) return { layer: i, entry: u };
    }
  }
  return null;
}

/** The unit of a file: its top-level folder or file under src/, `.ts` dropped (`tokenizer`). */
function unitOf(file: string): string {
  return file.slice('src/'.length).split('/')[0]!.replace(/\.ts$/, '');
}

function isNodeOnly(file: string): boolean {
  const rel = file.slice('src/'.length);
  return NODE_ONLY.some((u) => (u.endsWith('/') ? rel.startsWith(u) : rel === u));
}

function isNodeModule(spec: string): boolean {
  return spec.startsWith('node:') || builtinModules.includes(spec.split('/')[0]!);
}

const key = (from: string, to: string): string => `${from} -> ${to}`;
const at = (e: Edge): string => `${e.from}:${e.line} imports ${e.to}${e.kind === 'value' ? '' : ` (${e.kind})`}`;

// ---- the rules, as functions of the graph (so that they can be shown to fail) ----

/** Edges to a later layer, except the allowed ones. */
function layerViolations(edges: readonly Edge[], allowed: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const e of edges) {
    if (!e.local || allowed.has(key(e.from, e.to))) continue;
    const a = entryOf(e.from);
    const b = entryOf(e.to);
    if (a !== null && b !== null && b.layer > a.layer) out.push(`${at(e)}: ${LAYERS[a.layer]![0]} must not import ${LAYERS[b.layer]![0]}`);
  }
  return out;
}

/** The unit graph: unit → unit → the edges that make the arrow. */
function unitGraph(edges: readonly Edge[], skip: ReadonlySet<string>): Map<string, Map<string, Edge[]>> {
  const g = new Map<string, Map<string, Edge[]>>();
  for (const e of edges) {
    if (!e.local || skip.has(key(e.from, e.to))) continue;
    const a = unitOf(e.from);
    const b = unitOf(e.to);
    if (a === b) continue;
    if (!g.has(a)) g.set(a, new Map());
    const row = g.get(a)!;
    row.set(b, [...(row.get(b) ?? []), e]);
  }
  return g;
}

function reaches(g: Map<string, Map<string, Edge[]>>, from: string, to: string): boolean {
  const seen = new Set<string>([from]);
  const todo = [from];
  while (todo.length > 0) {
    for (const next of g.get(todo.pop()!)?.keys() ?? []) {
      if (next === to) return true;
      if (!seen.has(next)) {
        seen.add(next);
        todo.push(next);
      }
    }
  }
  return false;
}

/** Every unit arrow that lies on a cycle, with the file edges that make it. */
function cycleViolations(edges: readonly Edge[], skip: ReadonlySet<string>): string[] {
  const g = unitGraph(edges, skip);
  const out: string[] = [];
  for (const [a, row] of g) {
    for (const [b, es] of row) {
      if (reaches(g, b, a)) out.push(`${a} → ${b} closes a cycle (${b} reaches ${a}): ${es.map(at).join('; ')}`);
    }
  }
  return out.sort();
}

/** What the core entry reaches that only Node has: each with the chain of imports that reaches it. */
function nodeReach(edges: readonly Edge[], entry: string): string[] {
  const out = new Map<string, Edge>();
  const by = new Map<string, Edge[]>();
  for (const e of edges) by.set(e.from, [...(by.get(e.from) ?? []), e]);
  const via = new Map<string, Edge | null>([[entry, null]]);
  const todo = [entry];
  while (todo.length > 0) {
    const file = todo.shift()!;
    for (const e of by.get(file) ?? []) {
      if (!e.local) {
        if (isNodeModule(e.to)) out.set(`${e.from} ${e.to}`, e);
        continue;
      }
      if (isNodeOnly(e.to)) out.set(`${e.from} ${e.to}`, e);
      if (!via.has(e.to)) {
        via.set(e.to, e);
        todo.push(e.to);
      }
    }
  }
  const chain = (file: string): string => {
    const steps: string[] = [];
    for (let e = via.get(file); e; e = via.get(e.from)) steps.unshift(`${e.from}:${e.line}`);
    return steps.join(' → ');
  };
  return [...out.values()].map((e) => `${at(e)} (reached by ${chain(e.from) || entry})`);
}

/** Every source file `entry` reaches (itself included), through every kind of edge. */
function reachable(edges: readonly Edge[], entry: string): Set<string> {
  const reached = new Set([entry]);
  for (let size = 0; size !== reached.size;) {
    size = reached.size;
    for (const e of edges) if (e.local && reached.has(e.from)) reached.add(e.to);
  }
  return reached;
}

// ---- the repository ----

const FORMATS_LAYER = LAYERS.findIndex(([layer]) => layer === 'formats');

const FILES = sourceFiles();
const parsed = FILES.map(importsOf);
const EDGES = parsed.flatMap((p) => p.edges);
const ALLOWED_KEYS = new Set(ALLOWED.map((a) => key(a.from, a.to)));

describe('layers: the import graph of src/ runs one way', () => {
  it('every import names a source file by a literal specifier, and every file has a layer', () => {
    assert.deepEqual(parsed.flatMap((p) => p.problems), []);
    assert.deepEqual(FILES.filter((f) => entryOf(f) === null), [], 'files no LAYERS entry matches: give their folder a layer');
    // the graph is the real one: every layer has files, and the files import each other
    for (const [layer, units] of LAYERS) {
      if (layer !== 'base') assert.ok(FILES.some((f) => units.includes(entryOf(f)!.entry)), `layer ${layer} has no file`);
    }
    assert.ok(FILES.length > 60 && EDGES.filter((e) => e.local).length > 250, `${FILES.length} files, ${EDGES.length} edges`);
  });

  it('no file imports a file of a later layer (types included)', () => {
    assert.deepEqual(layerViolations(EDGES, ALLOWED_KEYS), []);
  });

  it('no cycles between units (folders, and top-level files)', () => {
    assert.deepEqual(cycleViolations(EDGES, ALLOWED_KEYS), []);
  });

  it('the browser-safe entries reach no node: module and no Node-only file', () => {
    for (const entry of BROWSER_ENTRIES) {
      assert.ok(FILES.includes(entry), `${entry} exists`);
      assert.deepEqual(nodeReach(EDGES, entry), [], entry);
    }
    // and the walk follows the real graph: the core reaches most of the library
    assert.ok(reachable(EDGES, 'src/index.ts').size > 50, `src/index.ts reaches ${reachable(EDGES, 'src/index.ts').size} files`);
  });

  it('spechub/formats (src/formats.ts) reaches the formats and base layers only: no engine, model or kernels', () => {
    const beyond = [...reachable(EDGES, 'src/formats.ts')].filter((f) => f !== 'src/formats.ts' && entryOf(f)!.layer > FORMATS_LAYER);
    assert.deepEqual(beyond, []);
  });

  it('Node built-ins are imported by the Node-only files alone (src/node.ts, src/node/, src/cli.ts)', () => {
    const nodeImports = EDGES.filter((e) => !e.local && isNodeModule(e.to));
    assert.ok(nodeImports.length > 10, `${nodeImports.length} imports of Node modules`);
    assert.deepEqual(nodeImports.filter((e) => !isNodeOnly(e.from)).map(at), []);
  });

  it('the allow-list is exact: each allowed edge exists and still breaks the rule it is listed under', () => {
    assert.equal(ALLOWED_KEYS.size, ALLOWED.length, 'an edge is listed twice');
    const full = unitGraph(EDGES, new Set());
    for (const a of ALLOWED) {
      const es = EDGES.filter((e) => e.local && e.from === a.from && e.to === a.to);
      assert.ok(es.length > 0, `allowed edge ${key(a.from, a.to)} no longer exists: delete it from ALLOWED`);
      assert.ok(a.rules.length > 0 && a.why.length > 20, `allowed edge ${key(a.from, a.to)} needs its rule and reason`);
      for (const rule of a.rules) {
        const breaks = rule === 'layer'
          ? entryOf(a.to)!.layer > entryOf(a.from)!.layer
          : unitOf(a.from) !== unitOf(a.to) && reaches(full, unitOf(a.to), unitOf(a.from));
        assert.ok(breaks, `allowed edge ${key(a.from, a.to)} no longer breaks the ${rule} rule: delete it from ALLOWED`);
      }
    }
  });
});

describe('layers: the checks catch what they are for', () => {
  const edge = (from: string, to: string, kind: EdgeKind = 'value'): Edge =>
    ({ from, line: 1, to, kind, local: to.startsWith('src/') });

  it('an import of a later layer is reported, types included; an earlier one is not', () => {
    const bad = [edge('src/sampling.ts', 'src/verify/common.ts'), edge('src/weights/gguf.ts', 'src/model/llama.ts', 'type')];
    assert.equal(layerViolations(bad, new Set()).length, 2);
    assert.match(layerViolations(bad, new Set())[0]!, /^src\/sampling\.ts:1 imports src\/verify\/common\.ts: sampling must not import verify$/);
    assert.deepEqual(layerViolations([edge('src/verify/common.ts', 'src/sampling.ts'), edge('src/errors.ts', 'src/errors.ts')], new Set()), []);
    assert.deepEqual(layerViolations(bad, new Set(bad.map((e) => key(e.from, e.to)))), []);
  });

  it('a cycle between folders of one layer is reported; a file importing its own folder is not', () => {
    const es = [edge('src/io/source.ts', 'src/config.ts'), edge('src/config.ts', 'src/io/json.ts'), edge('src/io/a.ts', 'src/io/b.ts')];
    assert.equal(cycleViolations(es, new Set()).length, 2);
    assert.deepEqual(cycleViolations(es.slice(1), new Set()), []);
    assert.deepEqual(cycleViolations(es, new Set([key('src/io/source.ts', 'src/config.ts')])), []);
  });

  it('a node: module or a Node-only file reached from the core entry is reported with its chain', () => {
    const es = [edge('src/index.ts', 'src/engine/load.ts'), edge('src/engine/load.ts', 'node:fs', 'dynamic'), edge('src/engine/load.ts', 'src/node/load.ts', 'type')];
    const r = nodeReach(es, 'src/index.ts');
    assert.equal(r.length, 2);
    assert.match(r[0]!, /node:fs \(dynamic\) \(reached by src\/index\.ts:1\)$/);
    assert.deepEqual(nodeReach([edge('src/node.ts', 'node:fs')], 'src/index.ts'), []);
  });
});
