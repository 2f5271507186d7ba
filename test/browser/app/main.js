// A page that uses spechub from a module Web Worker, as an app bundled by esbuild or Vite would.
const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
worker.onmessage = (ev) => {
  document.getElementById('out').textContent = JSON.stringify(ev.data);
  document.body.dataset.done = 'true';
};
worker.onerror = (ev) => {
  document.getElementById('out').textContent = JSON.stringify({ ok: false, error: ev.message ?? 'worker error' });
  document.body.dataset.done = 'true';
};
