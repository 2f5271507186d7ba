/**
 * The demo page: model picker, prompt or chat (./modes.ts), settings, streamed text, the live step
 * view, the plot and the plain-vs-speculative comparison. All model work happens in ./worker.ts (a
 * module Web Worker); this file only builds the UI and draws what the worker reports.
 */
import type {
  DraftSpec, ErrorInfo, GenerateInput, GenerateRequest, GenerateSettings, GenerationSummary, LoadRequest, ModelInfo, ModelSpec, PageMessage, StepRecord, TextPiece, WorkerMessage,
} from './protocol.js';
import { MODES, type Mode } from './modes.js';
import { PlotSeries, renderPlot } from './views/plot.js';
import { escapeXml, pieceLabel, renderTree } from './views/tree.js';

interface CatalogModel {
  name: string;
  url: string;
  files: Record<string, number>;
  vocabSize: number | null;
  layers: number | null;
  dim: number | null;
  weightBytes: number;
}

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`demo: #${id} is missing from index.html`);
  return el as T;
};
const ui = {
  threadsStatus: $('threads-status'),
  target: $<HTMLSelectElement>('target-select'),
  urlRow: $('url-row'),
  url: $<HTMLInputElement>('model-url'),
  diskRow: $('disk-row'),
  pickFolder: $<HTMLButtonElement>('pick-folder'),
  pickGguf: $<HTMLButtonElement>('pick-gguf'),
  folderInput: $<HTMLInputElement>('folder-input'),
  ggufInput: $<HTMLInputElement>('gguf-input'),
  drop: $('drop-zone'),
  diskChoice: $('disk-choice'),
  draft: $<HTMLSelectElement>('draft-select'),
  threads: $<HTMLSelectElement>('threads'),
  context: $<HTMLInputElement>('context'),
  load: $<HTMLButtonElement>('load-btn'),
  clearCache: $<HTMLButtonElement>('clear-cache-btn'),
  loadBar: $('load-bar'),
  loadStatus: $('load-status'),
  modeTabs: $('mode-tabs'),
  modePanel: $('mode-panel'),
  method: $<HTMLSelectElement>('method'),
  tree: $<HTMLInputElement>('tree'),
  temperature: $<HTMLInputElement>('temperature'),
  topK: $<HTMLInputElement>('top-k'),
  topP: $<HTMLInputElement>('top-p'),
  seed: $<HTMLInputElement>('seed'),
  maxTokens: $<HTMLInputElement>('max-tokens'),
  speculative: $<HTMLInputElement>('speculative'),
  generate: $<HTMLButtonElement>('generate-btn'),
  stop: $<HTMLButtonElement>('stop-btn'),
  compare: $<HTMLButtonElement>('compare-btn'),
  genStatus: $('gen-status'),
  outputTitle: $('output-title'),
  output: $('output'),
  stats: $('stats'),
  stepPrev: $<HTMLButtonElement>('step-prev'),
  stepNext: $<HTMLButtonElement>('step-next'),
  stepSlider: $<HTMLInputElement>('step-slider'),
  stepLabel: $('step-label'),
  stepLive: $<HTMLInputElement>('step-live'),
  treeView: $('tree-view'),
  stepDetail: $('step-detail'),
  levelBars: $('level-bars'),
  plot: $('plot'),
  compareCard: $('compare-card'),
  compareBox: $('compare'),
};

// ---- state ----

let catalog: CatalogModel[] = [];
let diskModel: ModelSpec | null = null;
let pieces: string[] = [];
let loadedTarget: ModelInfo | null = null;
let loadedDrafter = 'none';
let busy = false;
let mode: Mode = MODES[0]!;
let nextId = 1;

/** The generation being shown (the running one, or the last one). */
interface Run {
  id: number;
  steps: StepRecord[];
  series: PlotSeries;
  resolve: (s: GenerationSummary | null) => void;
  started: number;
  /** Set when the worker reported the end. */
  summary: GenerationSummary | null;
}
let run: Run | null = null;
/** Where the running generation's text goes (the output card, or a chat reply's bubble). */
let textTarget: HTMLElement | null = null;
let shownStep = -1;
let drawPending = false;

const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'spechub-generate' });
const send = (m: PageMessage) => worker.postMessage(m);

// ---- helpers ----

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

function setStatus(el: HTMLElement, state: string, text: string): void {
  el.dataset.state = state;
  el.textContent = text;
}

function errorText(e: ErrorInfo): string {
  return `${e.name}: ${e.message}`;
}

function option(value: string, text: string): HTMLOptionElement {
  const o = document.createElement('option');
  o.value = value;
  o.textContent = text;
  return o;
}

function setBusy(b: boolean): void {
  busy = b;
  ui.modeTabs.querySelectorAll('button').forEach((t) => (t.disabled = b));
  ui.load.disabled = b;
  ui.generate.disabled = b || loadedTarget === null;
  ui.generate.textContent = mode.action;
  ui.compare.disabled = b || loadedTarget === null || loadedDrafter === 'none';
  ui.stop.disabled = !b;
}

// ---- model picker ----

function catalogModel(name: string): CatalogModel | undefined {
  return catalog.find((m) => m.name === name);
}

function fillTargets(): void {
  ui.target.replaceChildren(
    ...catalog.map((m) => option(`shipped:${m.name}`, `${m.name} (${bytes(m.weightBytes)}, shipped)`)),
    option('disk', 'From disk: a folder or a .gguf…'),
    option('url', 'From a URL…'),
  );
  const preferred = catalog.find((m) => m.name === 'stories260K') ?? catalog[0];
  if (preferred) ui.target.value = `shipped:${preferred.name}`;
}

/** The draft choices for the selected target (`layers`: the target's layer count, when known from a load). */
function fillDrafts(layers?: number): void {
  const v = ui.target.value;
  const target = v.startsWith('shipped:') ? catalogModel(v.slice(8)) : undefined;
  const keep = layers !== undefined ? ui.draft.value : null;
  const opts: HTMLOptionElement[] = [option('none', 'none (plain decoding)')];
  let preferred = 'none';
  for (const m of catalog) {
    if (target && m.name !== target.name && m.vocabSize === target.vocabSize) {
      opts.push(option(`model:${m.name}`, `${m.name} (shipped)`));
      if (preferred === 'none') preferred = `model:${m.name}`;
    }
  }
  opts.push(option('int8', 'int8 copy of the target'), option('int4', 'int4 copy of the target'));
  const nLayers = layers ?? target?.layers ?? 4;
  for (let k = 1; k < nLayers; k++) opts.push(option(`exit:${k}`, `early exit: first ${k} layer${k > 1 ? 's' : ''}`));
  ui.draft.replaceChildren(...opts);
  ui.draft.value = keep !== null && opts.some((o) => o.value === keep) ? keep : preferred;
  ui.urlRow.hidden = v !== 'url';
  ui.diskRow.hidden = v !== 'disk';
  ui.diskChoice.hidden = v !== 'disk' || diskModel === null;
}

function targetSpec(): ModelSpec {
  const v = ui.target.value;
  if (v.startsWith('shipped:')) {
    const m = catalogModel(v.slice(8))!;
    return { kind: 'url', url: new URL(m.url, location.href).href, files: m.files };
  }
  if (v === 'url') {
    const url = ui.url.value.trim();
    if (!/^https?:\/\//.test(url)) throw new Error('enter the URL of a model folder (ending in /) or of a .gguf file');
    return url.toLowerCase().endsWith('.gguf') ? { kind: 'gguf-url', url } : { kind: 'url', url };
  }
  if (diskModel === null) throw new Error('choose or drop a model folder or a .gguf file first');
  return diskModel;
}

function draftSpec(): DraftSpec {
  const v = ui.draft.value;
  if (v === 'none') return { kind: 'none' };
  if (v === 'int8' || v === 'int4') return { kind: 'quant', dtype: v };
  if (v.startsWith('exit:')) return { kind: 'exit', layers: Number(v.slice(5)) };
  const m = catalogModel(v.slice(6))!;
  return { kind: 'model', model: { kind: 'url', url: new URL(m.url, location.href).href, files: m.files } };
}

function chooseDisk(spec: ModelSpec, what: string): void {
  diskModel = spec;
  ui.target.value = 'disk';
  fillDrafts();
  ui.draft.value = 'none';
  ui.diskChoice.hidden = false;
  ui.diskChoice.textContent = `Chosen: ${what}`;
}

/** Files of a picked folder: the top level only, by name. */
function folderFrom(files: FileList | File[]): void {
  const list = Array.from(files);
  const map: Record<string, File> = {};
  let folder = 'folder';
  for (const f of list) {
    const rel = (f as File & { webkitRelativePath?: string }).webkitRelativePath ?? '';
    const parts = rel.split('/').filter(Boolean);
    if (parts.length === 2) folder = parts[0]!;
    if (parts.length <= 2) map[f.name] = f;
  }
  if (!('config.json' in map)) {
    setStatus(ui.loadStatus, 'error', `${folder}: expected a Hugging Face model folder (config.json, model.safetensors, tokenizer.json), found ${Object.keys(map).join(', ') || 'no files'}`);
    return;
  }
  chooseDisk({ kind: 'folder', name: folder, files: map }, `${folder}/ (${Object.keys(map).length} files, ${bytes(list.reduce((a, f) => a + f.size, 0))})`);
}

async function readDirectory(entry: FileSystemDirectoryEntry): Promise<File[]> {
  const reader = entry.createReader();
  const files: File[] = [];
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) break;
    for (const e of batch) {
      if (e.isFile) files.push(await new Promise<File>((resolve, reject) => (e as FileSystemFileEntry).file(resolve, reject)));
    }
  }
  return files;
}

function wireDisk(): void {
  ui.pickFolder.onclick = () => ui.folderInput.click();
  ui.pickGguf.onclick = () => ui.ggufInput.click();
  ui.folderInput.onchange = () => ui.folderInput.files && folderFrom(ui.folderInput.files);
  ui.ggufInput.onchange = () => {
    const f = ui.ggufInput.files?.[0];
    if (f) chooseDisk({ kind: 'gguf-file', file: f }, `${f.name} (${bytes(f.size)})`);
  };
  ui.drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    ui.drop.classList.add('over');
  });
  ui.drop.addEventListener('dragleave', () => ui.drop.classList.remove('over'));
  ui.drop.addEventListener('drop', (e) => {
    e.preventDefault();
    ui.drop.classList.remove('over');
    const item = e.dataTransfer?.items[0];
    const entry = item?.webkitGetAsEntry?.() ?? null;
    if (entry?.isDirectory) {
      void readDirectory(entry as FileSystemDirectoryEntry).then((files) => {
        const map: Record<string, File> = {};
        for (const f of files) map[f.name] = f;
        if (!('config.json' in map)) {
          setStatus(ui.loadStatus, 'error', `${entry.name}: expected a Hugging Face model folder with a config.json`);
          return;
        }
        chooseDisk({ kind: 'folder', name: entry.name, files: map }, `${entry.name}/ (${files.length} files)`);
      });
      return;
    }
    const f = e.dataTransfer?.files[0];
    if (f && f.name.toLowerCase().endsWith('.gguf')) chooseDisk({ kind: 'gguf-file', file: f }, `${f.name} (${bytes(f.size)})`);
    else setStatus(ui.loadStatus, 'error', 'drop a model folder or a .gguf file');
  });
}

// ---- loading ----

let progress = { target: [0, 0], draft: [0, 0] };

function startLoad(): void {
  let target: ModelSpec;
  try {
    target = targetSpec();
  } catch (e) {
    setStatus(ui.loadStatus, 'error', (e as Error).message);
    return;
  }
  const req: LoadRequest = { type: 'load', target, draft: draftSpec(), threads: Number(ui.threads.value), context: Math.max(16, Number(ui.context.value) || 2048) };
  loadedTarget = null;
  progress = { target: [0, 0], draft: [0, 0] };
  ui.loadBar.style.width = '0';
  setStatus(ui.loadStatus, 'loading', 'Loading…');
  setBusy(true);
  ui.stop.disabled = true;
  send(req);
}

function describeLoad(m: ModelInfo): string {
  const where = m.localBytes > 0
    ? `${bytes(m.localBytes)} from disk`
    : m.requests === 0
      ? `${bytes(m.cacheBytes)} from the cache, no request`
      : `${bytes(m.networkBytes)} in ${m.requests} request${m.requests === 1 ? '' : 's'}${m.cacheBytes > 0 ? ` + ${bytes(m.cacheBytes)} cached` : ''}`;
  return `${m.name.split('/').filter(Boolean).pop()} (${m.layers} layers, dim ${m.dim}, vocab ${m.vocabSize}, context ${m.context}): ${where}, ${Math.round(m.loadMs)} ms`;
}

function onLoaded(m: Extract<WorkerMessage, { type: 'loaded' }>): void {
  loadedTarget = m.target;
  loadedDrafter = m.drafter;
  if (!ui.target.value.startsWith('shipped:')) fillDrafts(m.target.layers); // early exit up to the real layer count
  pieces = m.pieces;
  ui.loadBar.style.width = '100%';
  const lines = [describeLoad(m.target)];
  if (m.draft) lines.push(`draft ${describeLoad(m.draft)}`);
  else if (m.drafter !== 'none') lines.push(`draft: ${m.drafter} (the target's own layers)`);
  lines.push(`build ${m.build}, ${m.threads} thread${m.threads === 1 ? '' : 's'}`);
  setStatus(ui.loadStatus, 'ready', lines.join(' · '));
  const t = m.target;
  const d = m.draft;
  Object.assign(ui.loadStatus.dataset, {
    requests: String(t.requests + (d?.requests ?? 0)),
    networkBytes: String(t.networkBytes + (d?.networkBytes ?? 0)),
    cacheBytes: String(t.cacheBytes + (d?.cacheBytes ?? 0)),
    threads: String(m.threads),
    build: m.build,
  });
  if (m.threadsFallback) {
    setStatus(ui.threadsStatus, 'single', `${errorText(m.threadsFallback)} — running on one thread.`);
  } else if (m.threads > 1) {
    setStatus(ui.threadsStatus, 'threads', `Cross-origin isolated: ${m.threads} kernel threads (${m.build}).`);
  }
  ui.speculative.checked = m.drafter !== 'none';
  for (const md of MODES) md.onLoaded?.({ chat: m.chat, context: m.target.context });
  setBusy(false);
}

// ---- generation ----

function settings(speculative: boolean): GenerateSettings {
  return {
    method: ui.method.value,
    tree: ui.tree.value.trim() || '2,2,2',
    temperature: Number(ui.temperature.value),
    topK: Math.max(0, Math.floor(Number(ui.topK.value) || 0)),
    topP: Number(ui.topP.value) || 1,
    seed: Math.floor(Number(ui.seed.value) || 0),
    maxTokens: Math.max(1, Math.floor(Number(ui.maxTokens.value) || 1)),
    speculative,
  };
}

function resetView(): void {
  ui.stats.replaceChildren();
  ui.treeView.replaceChildren();
  ui.stepDetail.textContent = '';
  ui.levelBars.replaceChildren();
  ui.stepSlider.max = '0';
  ui.stepSlider.value = '0';
  ui.stepSlider.disabled = true;
  ui.stepLabel.textContent = 'no steps yet';
  ui.stepLive.checked = true; // a new generation is followed live again
  shownStep = -1;
}

/** Run one generation of `input`; resolves with its summary (null when it failed). */
function generateOnce(input: GenerateInput, speculative: boolean): Promise<GenerationSummary | null> {
  resetView();
  const id = nextId++;
  const req: GenerateRequest = { type: 'generate', id, input, settings: settings(speculative) };
  textTarget = mode.begin(ui.output, input);
  return new Promise((resolve) => {
    run = { id, steps: [], series: new PlotSeries(), resolve, started: performance.now(), summary: null };
    renderPlot(ui.plot, run.series);
    send(req);
  });
}

/** The current mode's input, or null (the reason shown) when its inputs are not ready. */
function modeInput(): GenerateInput | null {
  try {
    return mode.input();
  } catch (e) {
    setStatus(ui.genStatus, 'error', (e as Error).message);
    return null;
  }
}

async function startGenerate(): Promise<void> {
  if (busy || loadedTarget === null) return;
  const input = modeInput();
  if (input === null) return;
  setBusy(true);
  ui.compareCard.hidden = true;
  setStatus(ui.genStatus, 'running', 'Generating…');
  const summary = await generateOnce(input, ui.speculative.checked);
  setBusy(false);
  if (summary) mode.onDone?.(summary);
  else mode.onFailed?.();
}

/** The same input twice, plain then speculative; a chat keeps the speculative reply. */
async function startCompare(): Promise<void> {
  if (busy || loadedTarget === null) return;
  const input = modeInput();
  if (input === null) return;
  setBusy(true);
  setStatus(ui.genStatus, 'running', 'Comparing: plain decoding…');
  const plain = await generateOnce(input, false);
  let spec: GenerationSummary | null = null;
  if (plain && plain.stopReason !== 'aborted') {
    setStatus(ui.genStatus, 'running', 'Comparing: speculative decoding…');
    spec = await generateOnce(input, true);
  }
  setBusy(false);
  const kept = spec ?? (plain?.stopReason === 'aborted' ? plain : null);
  if (kept) mode.onDone?.(kept);
  else mode.onFailed?.();
  if (plain && spec) showComparison(plain, spec);
}

function showComparison(plain: GenerationSummary, spec: GenerationSummary): void {
  const row = (name: string, s: GenerationSummary) =>
    `<tr><td>${name}</td><td>${s.tokens}</td><td>${s.steps}</td><td>${s.tokensPerStep.toFixed(2)}</td><td>${s.tokensPerSecond.toFixed(0)}</td><td>${s.decodeMs.toFixed(1)}</td></tr>`;
  const speedup = spec.tokensPerSecond / plain.tokensPerSecond;
  const greedy = Number(ui.temperature.value) === 0;
  const same = plain.text === spec.text;
  const verdict = greedy
    ? same
      ? 'Same text, token for token: at temperature 0 speculative decoding reproduces plain decoding exactly.'
      : 'The texts differ at temperature 0 — this should not happen; please report it.'
    : same
      ? 'Same text.'
      : 'Different samples: both are exact draws from the target distribution, but the seed drives different random choices in the two procedures.';
  ui.compareBox.innerHTML =
    `<table data-speedup="${speedup.toFixed(3)}" data-same-text="${same}"><tr><th></th><th>tokens</th><th>target forwards</th><th>tokens/step</th><th>tokens/s</th><th>decode ms</th></tr>` +
    row('plain', plain) +
    row(`speculative (${escapeXml(spec.method)}, tree ${escapeXml(spec.tree)}, draft ${escapeXml(spec.drafter)})`, spec) +
    `</table><p class="hint"><b>${speedup.toFixed(2)}×</b> tokens/s; ${(plain.steps / Math.max(1, spec.steps)).toFixed(2)}× fewer target forwards. ${verdict} On these tiny models a forward is compute-bound and the draft costs about as much as the target, so trees rarely win on time; they win on models whose forward pass is memory-bound.</p>` +
    `<div class="grid2"><div><h3>plain</h3><div class="compare-text">${escapeXml(plain.text)}</div></div><div><h3>speculative</h3><div class="compare-text">${escapeXml(spec.text)}</div></div></div>`;
  ui.compareCard.hidden = false;
}

function appendPieces(list: TextPiece[]): void {
  const frag = document.createDocumentFragment();
  for (const p of list) {
    const span = document.createElement('span');
    span.className = `k-${p.kind}`;
    span.textContent = p.text;
    if (p.step >= 0) span.dataset.step = String(p.step);
    frag.append(span);
  }
  (textTarget ?? ui.output).append(frag);
  ui.output.scrollTop = ui.output.scrollHeight;
}

function stat(value: string, label: string, key: string): string {
  return `<div class="stat" data-stat="${key}"><b>${value}</b><span>${label}</span></div>`;
}

function showStats(r: Run, summary: GenerationSummary | null): void {
  const last = r.steps[r.steps.length - 1];
  const tokens = summary?.tokens ?? last?.generated ?? 0;
  const steps = summary?.steps ?? r.steps.length;
  const tps = summary ? summary.tokensPerSecond : last && last.elapsedMs > 0 ? (last.generated * 1000) / last.elapsedMs : 0;
  const acc = r.series.acceptance[r.series.acceptance.length - 1];
  ui.stats.innerHTML = [
    stat(String(tokens), 'tokens', 'tokens'),
    stat(String(steps), 'steps (target forwards)', 'steps'),
    stat(steps > 0 ? (tokens / steps).toFixed(2) : '–', 'tokens / step', 'tokens-per-step'),
    stat(tps > 0 ? tps.toFixed(0) : '–', 'tokens / s', 'tokens-per-second'),
    stat(acc !== undefined && Number.isFinite(acc) ? `${(acc * 100).toFixed(0)}%` : '–', 'drafts accepted', 'acceptance'),
    summary ? stat(summary.stopReason, 'stopped by', 'stop') : '',
    summary?.chat ? stat(`${summary.chat.reusedTokens} / ${summary.chat.prefilledTokens}`, 'reused from the KV cache / prefilled', 'cache') : '',
    summary && summary.tree === 'auto' ? stat(summary.treeChoices.slice(0, 3).map((c) => `${c.tree || 'plain'}×${c.steps}`).join(' '), 'shapes chosen', 'shapes') : '',
  ].join('');
}

function showStep(index: number): void {
  if (!run || index < 0 || index >= run.steps.length) return;
  shownStep = index;
  const s = run.steps[index]!;
  renderTree(ui.treeView, s, pieces);
  ui.stepSlider.value = String(index);
  ui.stepLabel.textContent = `step ${index + 1} of ${run.steps.length}`;
  const acceptedDrafts = s.path.length - 1;
  const kept = s.emitted.map((t) => `<code>${escapeXml(pieceLabel(pieces[t] ?? `#${t}`, 20))}</code>`);
  const drafted = s.tokens.length - 1;
  ui.stepDetail.innerHTML = drafted === 0
    ? `A plain step: the target's token ${kept.join(' ')}.`
    : `${drafted} drafts (tree ${s.shape.join(',')}); accepted ${acceptedDrafts}: ${kept.slice(0, -1).join(' ') || '—'}; then a <b class="t-${s.final}">${s.final}</b> token ${kept[kept.length - 1]}. This step emitted ${s.emitted.length} token${s.emitted.length === 1 ? '' : 's'} for one target forward.`;
  ui.levelBars.innerHTML = s.acceptance
    .map((a, l) => {
      const ok = Number.isFinite(a);
      return `<div class="level-bar" data-level="${l + 1}" data-acceptance="${ok ? a.toFixed(4) : ''}"><span>${ok ? `${Math.round(a * 100)}%` : '–'}</span><div class="bar" style="height:${ok ? Math.round(a * 60) : 0}px"></div><span>level ${l + 1}</span></div>`;
    })
    .join('');
}

/** Redraw the live parts at most once per frame. */
function scheduleDraw(): void {
  if (drawPending) return;
  drawPending = true;
  requestAnimationFrame(() => {
    drawPending = false;
    if (!run) return;
    const n = run.steps.length;
    ui.stepSlider.max = String(Math.max(0, n - 1));
    ui.stepSlider.disabled = n === 0;
    // once the run is done, its 'done' handler has chosen the step to show (the last one with drafts)
    if (ui.stepLive.checked && n > 0 && run.summary === null) showStep(n - 1);
    else ui.stepLabel.textContent = `step ${shownStep + 1} of ${n}`;
    renderPlot(ui.plot, run.series);
    showStats(run, run.summary);
  });
}

// ---- worker messages ----

worker.onmessage = (ev: MessageEvent<WorkerMessage>) => {
  const m = ev.data;
  switch (m.type) {
    case 'hello': {
      ui.method.replaceChildren(...m.verifiers.map((v) => option(v, v)));
      ui.method.value = m.verifiers.includes('spechub') ? 'spechub' : m.verifiers[0]!;
      const cores = navigator.hardwareConcurrency || 1;
      ui.threads.replaceChildren(...Array.from({ length: Math.max(cores, 2) }, (_, i) => option(String(i + 1), String(i + 1))));
      ui.threads.value = String(m.isolated ? Math.max(1, m.threadsAvailable) : 1);
      if (m.threadsReason === null) setStatus(ui.threadsStatus, 'threads', `Cross-origin isolated: up to ${m.threadsAvailable} kernel threads.`);
      else setStatus(ui.threadsStatus, 'single', `One thread: ${m.threadsReason}.`);
      ui.threadsStatus.dataset.isolated = String(m.isolated);
      void init();
      break;
    }
    case 'progress': {
      progress[m.which] = [m.loaded, m.total];
      const loaded = progress.target[0]! + progress.draft[0]!;
      const total = progress.target[1]! + progress.draft[1]!;
      if (total > 0) ui.loadBar.style.width = `${Math.min(100, (100 * loaded) / total).toFixed(1)}%`;
      setStatus(ui.loadStatus, 'loading', `Loading ${m.which}: ${bytes(m.loaded)} of ${bytes(m.total)}${m.tensor ? ` (${m.tensor})` : ''}…`);
      break;
    }
    case 'loaded':
      onLoaded(m);
      break;
    case 'cache-cleared':
      setStatus(ui.loadStatus, ui.loadStatus.dataset.state ?? 'idle', m.existed ? 'Model cache cleared: the next load downloads the models again.' : 'The model cache was already empty.');
      break;
    case 'pieces':
      if (run?.id === m.id) appendPieces(m.pieces);
      break;
    case 'steps':
      if (run?.id === m.id) {
        for (const s of m.steps) {
          run.steps.push(s);
          run.series.add(s);
        }
        scheduleDraw();
      }
      break;
    case 'done':
      if (run?.id === m.id) {
        const r = run;
        const n = r.steps.length;
        ui.stepSlider.max = String(Math.max(0, n - 1));
        ui.stepSlider.disabled = n === 0;
        if (ui.stepLive.checked || shownStep < 0) {
          // the last step with drafts (a generation's last step is often cut to a plain one)
          let k = n - 1;
          while (k > 0 && r.steps[k]!.tokens.length === 1) k--;
          showStep(r.steps[k]?.tokens.length === 1 ? n - 1 : k);
        }
        renderPlot(ui.plot, r.series);
        r.summary = m.summary;
        showStats(r, m.summary);
        const s = m.summary;
        const cache = s.chat ? ` Prompt: ${s.chat.promptTokens} tokens, ${s.chat.reusedTokens} reused from the KV cache, ${s.chat.prefilledTokens} prefilled in ${s.prefillMs.toFixed(1)} ms.` : '';
        setStatus(ui.genStatus, s.stopReason === 'aborted' ? 'stopped' : 'done',
          `${s.stopReason === 'aborted' ? 'Stopped' : 'Done'}: ${s.tokens} tokens in ${s.steps} steps, ${s.tokensPerStep.toFixed(2)} tokens/step, ${s.tokensPerSecond.toFixed(0)} tokens/s (${s.drafter === 'none' ? 'plain decoding' : `${s.method}, tree ${s.tree}, draft ${s.drafter}`}).${cache}`);
        ui.genStatus.dataset.steps = String(s.steps);
        ui.genStatus.dataset.tokens = String(s.tokens);
        r.resolve(s); // the run stays shown: its steps can still be browsed
      }
      break;
    case 'failed':
      if (m.id === null) {
        setStatus(ui.loadStatus, 'error', errorText(m.error));
        setBusy(false);
      } else if (run?.id === m.id) {
        setStatus(ui.genStatus, 'error', errorText(m.error));
        run.resolve(null);
      }
      break;
  }
};
worker.onerror = (e) => {
  setStatus(ui.genStatus, 'error', `The generation worker failed: ${e.message}`);
  setBusy(false);
};

// ---- wiring ----

function mountModes(): void {
  ui.modeTabs.replaceChildren(
    ...MODES.map((m) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = m.label;
      b.setAttribute('role', 'tab');
      b.setAttribute('aria-selected', String(m === mode));
      b.dataset.mode = m.id;
      b.disabled = busy; // the running generation belongs to the mode that started it
      b.onclick = () => {
        if (busy || m === mode) return;
        mode = m;
        mountModes();
        resetView();
        ui.compareCard.hidden = true;
        setStatus(ui.genStatus, 'idle', '');
        mode.show(ui.output);
      };
      return b;
    }),
  );
  ui.outputTitle.textContent = mode.outputTitle;
  ui.generate.textContent = mode.action;
  mode.mount(ui.modePanel, () => void startGenerate());
}

async function init(): Promise<void> {
  try {
    const res = await fetch('models/index.json');
    catalog = ((await res.json()) as { models: CatalogModel[] }).models;
  } catch {
    catalog = [];
  }
  fillTargets();
  fillDrafts();
  mountModes();
  ui.target.onchange = () => fillDrafts();
  ui.load.onclick = startLoad;
  ui.clearCache.onclick = () => send({ type: 'clear-cache' });
  ui.generate.onclick = () => void startGenerate();
  ui.compare.onclick = () => void startCompare();
  ui.stop.onclick = () => send({ type: 'stop' });
  ui.stepSlider.oninput = () => {
    ui.stepLive.checked = false;
    showStep(Number(ui.stepSlider.value));
  };
  ui.stepPrev.onclick = () => {
    ui.stepLive.checked = false;
    showStep(shownStep - 1);
  };
  ui.stepNext.onclick = () => {
    ui.stepLive.checked = false;
    showStep(shownStep + 1);
  };
  wireDisk();
  renderPlot(ui.plot, new PlotSeries());
  // a page that works at once: the default model and its draft load on arrival (from the cache
  // after the first visit); ?load=0 waits for the Load button
  if (new URLSearchParams(location.search).get('load') !== '0' && catalog.length > 0) startLoad();
}
