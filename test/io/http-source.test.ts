// Loading over HTTP (src/io/http-source.ts) against an in-process server that speaks Range requests
// the way real ones do (clamped ends, Content-Range, 404 for absent files): few requests (ask once,
// no HEAD, coalesced blocks), parallel blocks, a manifest that removes every probe, a cache that
// makes the second load request nothing, progress that ends at the total, and typed errors for
// servers that ignore Range, lie about ranges, cut bodies short or fail.
import { describe, test } from 'node:test';
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { WEIGHTS_DIR, createNodeRuntime, loadModelFromPath } from '../../src/node.js';
import { httpByteSource, httpModelSource, type FetchLike } from '../../src/io/http-source.js';
import { memoryModelCache, type ModelCache } from '../../src/io/model-cache.js';
import { blobByteSource, blobModelSource } from '../../src/io/blob-source.js';
import { loadGgufModel, loadHfModel } from '../../src/engine/load.js';
import { Generator } from '../../src/engine/generate.js';
import { TokenizerError, WeightsFormatError } from '../../src/errors.js';
import { fixturePath, rejectsWith } from '../weights/helpers.js';

interface Server {
  fetch: FetchLike;
  log: string[];
  /** Most requests in flight at once. */
  maxInFlight: number;
}

/** A static server over `files` (URL → bytes); `mode` breaks it in the ways real servers break. */
function server(files: Record<string, Uint8Array>, mode: 'ok' | 'no-range' | 'wrong-range' | 'short' | 'error-500' = 'ok'): Server {
  const s: Server = { log: [], maxInFlight: 0, fetch: null as unknown as FetchLike };
  let inFlight = 0;
  s.fetch = async (url, init) => {
    inFlight++;
    s.maxInFlight = Math.max(s.maxInFlight, inFlight);
    try {
      await new Promise((r) => setTimeout(r, 1)); // let concurrent requests overlap
      const range = init?.headers?.Range;
      s.log.push(`${init?.method ?? 'GET'} ${url.replace('https://h/', '')}${range ? ` ${range}` : ''}`);
      const body = files[url];
      const headers = new Map<string, string>();
      const reply = (status: number, bytes: Uint8Array) => ({
        ok: status >= 200 && status < 300,
        status,
        headers: { get: (h: string) => headers.get(h.toLowerCase()) ?? null },
        arrayBuffer: async () => bytes.slice().buffer,
      });
      if (mode === 'error-500') return reply(500, new Uint8Array(0));
      if (body === undefined) return reply(404, new TextEncoder().encode('not found'));
      const m = range ? /^bytes=(\d+)-(\d+)$/.exec(range) : null;
      if (m === null || mode === 'no-range') {
        headers.set('content-length', String(body.length));
        return reply(200, body);
      }
      const a = Number(m[1]);
      const b = Math.min(Number(m[2]), body.length - 1);
      let part = body.subarray(a, b + 1);
      headers.set('content-range', `bytes ${a}-${mode === 'wrong-range' ? b + 1 : b}/${body.length}`);
      if (mode === 'short') part = part.subarray(0, part.length - 1);
      return reply(206, part);
    } finally {
      inFlight--;
    }
  };
  return s;
}

/** Every file of a shipped model folder, served under https://h/<name>/. */
function folder(name: string): { files: Record<string, Uint8Array>; manifest: Record<string, number> } {
  const files: Record<string, Uint8Array> = {};
  const manifest: Record<string, number> = {};
  const dir = join(WEIGHTS_DIR, name);
  for (const f of readdirSync(dir)) {
    if (!statSync(join(dir, f)).isFile()) continue;
    files[`https://h/${name}/${f}`] = new Uint8Array(readFileSync(join(dir, f)));
    manifest[f] = statSync(join(dir, f)).size;
  }
  return { files, manifest };
}

const rt = createNodeRuntime();
const reference = await loadModelFromPath(rt, join(WEIGHTS_DIR, 'stories260K'), { maxBatch: 8 });
const expected = (await new Generator(reference, { sampling: { temperature: 0 } }).generate({ maxTokens: 40 })).text;
const { files, manifest } = folder('stories260K');
const weightBytes = manifest['model.safetensors']!;

async function greedy(source: Parameters<typeof loadHfModel>[1]): Promise<string> {
  const m = await loadHfModel(rt, source, { maxBatch: 8 });
  return (await new Generator(m, { sampling: { temperature: 0 } }).generate({ maxTokens: 40 })).text;
}

describe('io/http-source', () => {
  test('without a manifest: one GET per file (ask once, no HEAD), the weights in one request; same text as from disk', async () => {
    const s = server(files);
    const src = httpModelSource('https://h/stories260K/', { fetch: s.fetch, cache: null });
    assert.equal(await greedy(src), expected);
    assert.ok(s.log.every((l) => l.startsWith('GET ')), s.log.join('\n'));
    const B = 8 * 1024 * 1024 - 1;
    assert.deepEqual([...s.log].sort(), [
      `GET stories260K/chat_template.jinja bytes=0-${B}`, // optional, asked once
      `GET stories260K/config.json bytes=0-${B}`,
      `GET stories260K/generation_config.json bytes=0-${B}`, // optional, asked once
      `GET stories260K/model.safetensors bytes=0-${B}`,
      `GET stories260K/tokenizer.json bytes=0-${B}`,
      `GET stories260K/tokenizer_config.json bytes=0-${B}`,
    ]);
    assert.equal(src.stats.requests, 6);
  });

  test('with a manifest: no request for absent files, 4 requests in all; a second load through the cache requests nothing', async () => {
    const s = server(files);
    const cache = memoryModelCache();
    const first = httpModelSource('https://h/stories260K', { fetch: s.fetch, cache, files: manifest });
    assert.equal(await greedy(first), expected);
    assert.equal(s.log.length, 4, s.log.join('\n'));
    assert.ok(!s.log.some((l) => l.includes('generation_config')));
    assert.equal(first.stats.cacheHits, 0);
    s.log.length = 0;
    const second = httpModelSource('https://h/stories260K', { fetch: s.fetch, cache, files: manifest });
    assert.equal(await greedy(second), expected);
    assert.deepEqual(s.log, [], 'the second visit downloads nothing');
    assert.equal(second.stats.requests, 0);
    assert.ok(second.stats.cacheBytes >= weightBytes);
    // without a manifest too: what was learnt (sizes, the absent optional file) is cached with the blocks
    const cache2 = memoryModelCache();
    s.log.length = 0;
    assert.equal(await greedy(httpModelSource('https://h/stories260K', { fetch: s.fetch, cache: cache2 })), expected);
    assert.equal(s.log.length, 6);
    s.log.length = 0;
    assert.equal(await greedy(httpModelSource('https://h/stories260K', { fetch: s.fetch, cache: cache2 })), expected);
    assert.deepEqual(s.log, [], 'no request, not even for the absent optional files');
  });

  test('small blocks: parallel Range requests, each block once, progress monotone up to the total', async () => {
    const s = server(files);
    const progress: [number, number][] = [];
    const B = 64 * 1024;
    const src = httpModelSource('https://h/stories260K', { fetch: s.fetch, cache: null, files: manifest, blockBytes: B, parallel: 3, onProgress: (l, t) => progress.push([l, t]) });
    assert.equal(await greedy(src), expected);
    const weightRequests = s.log.filter((l) => l.includes('model.safetensors'));
    assert.equal(weightRequests.length, Math.ceil(weightBytes / B), 'every block exactly once');
    assert.equal(new Set(weightRequests).size, weightRequests.length);
    assert.ok(s.maxInFlight > 1 && s.maxInFlight <= 3, `in flight at once: ${s.maxInFlight}`);
    for (let i = 1; i < progress.length; i++) assert.ok(progress[i]![0] >= progress[i - 1]![0] && progress[i]![1] >= progress[i - 1]![1]);
    const [loaded, total] = progress[progress.length - 1]!;
    const read = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'].reduce((a, f) => a + manifest[f]!, 0);
    assert.equal(total, read);
    assert.equal(loaded, total);
  });

  test('a single file by URL (GGUF): the first request learns the size; each block downloaded once, re-reads from the cache', async () => {
    const gguf = new Uint8Array(readFileSync(fixturePath('stories260K.gguf')));
    const s = server({ 'https://h/m.gguf': gguf });
    const B = 100_000;
    const src = await httpByteSource('https://h/m.gguf', { fetch: s.fetch, cache: memoryModelCache(), blockBytes: B });
    assert.equal(src.size, gguf.length);
    assert.deepEqual(await src.read(B - 10, 20), gguf.subarray(B - 10, B + 10));
    const m = await loadGgufModel(rt, src, { maxBatch: 8 });
    assert.equal((await new Generator(m, { sampling: { temperature: 0 } }).generate({ maxTokens: 40 })).text, expected);
    // the header parser reads a 1 MiB prefix, the tensors are read again later: blocks read whole are
    // freed from memory, and a second read finds them in the cache
    const blocks = Math.ceil(gguf.length / B);
    assert.equal(s.log.length, blocks, s.log.join('\n'));
    assert.equal(new Set(s.log).size, blocks);
    assert.ok(src.stats.cacheHits > 0);
    await src.close();
    await rejectsWith(() => src.read(0, 1), [/m.gguf: read after close/]);
  });

  test('property: any sequence of reads returns the file\'s bytes; with a cache each block is downloaded once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3000 }),
        fc.integer({ min: 1, max: 700 }),
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true })), { minLength: 1, maxLength: 30 }),
        async (size, B, parallel, reads) => {
          const data = new Uint8Array(size).map((_, i) => (i * 31 + 7) & 0xff);
          const s = server({ 'https://h/f': data });
          const src = await httpByteSource('https://h/f', { fetch: s.fetch, cache: memoryModelCache(), blockBytes: B, parallel });
          await Promise.all(
            reads.map(async ([x, y]) => {
              const offset = Math.floor(x * size);
              const length = Math.floor(y * (size - offset));
              assert.deepEqual(await src.read(offset, length), data.subarray(offset, offset + length));
            }),
          );
          assert.equal(new Set(s.log).size, s.log.length, `a block downloaded twice: ${s.log.join(', ')}`);
          assert.ok(s.maxInFlight <= parallel);
        },
      ),
      { numRuns: 60, seed: 0x5eed },
    );
  });

  test('servers that break the protocol, failing networks and caches are typed errors or harmless', async () => {
    const big = new Uint8Array(300).map((_, i) => i);
    const one = { 'https://h/f.bin': big };
    await rejectsWith(() => httpByteSource('https://h/f.bin', { fetch: server(one, 'no-range').fetch, cache: null, blockBytes: 100 }), [
      'https://h/f.bin: the server ignores Range requests (HTTP 200 for bytes 0-99 of a 300-byte file); files over one block need them',
    ]);
    // a file of one block from such a server is fine
    const small = await httpByteSource('https://h/f.bin', { fetch: server(one, 'no-range').fetch, cache: null, blockBytes: 1000 });
    assert.deepEqual(await small.read(5, 3), big.subarray(5, 8));
    await rejectsWith(() => httpByteSource('https://h/f.bin', { fetch: server(one, 'wrong-range').fetch, cache: null, blockBytes: 100 }), [
      'https://h/f.bin: expected a Content-Range of "bytes 0-99/<size>" for the first block, got "bytes 0-100/300"',
    ]);
    await rejectsWith(() => httpByteSource('https://h/f.bin', { fetch: server(one, 'short').fetch, cache: null, blockBytes: 100 }), [
      'https://h/f.bin: Range request for bytes 0-99 of a 300-byte file returned 99 bytes',
    ]);
    await rejectsWith(() => httpByteSource('https://h/f.bin', { fetch: server(one, 'error-500').fetch, cache: null }), [
      'https://h/f.bin: expected HTTP 206 (or 200, 404) for a Range request, got 500',
    ]);
    await rejectsWith(() => httpByteSource('https://h/nope', { fetch: server(one).fetch, cache: null }), [/https:\/\/h\/nope: expected HTTP 206 or 200, got 404/]);
    const down: FetchLike = async () => {
      throw new Error('network down');
    };
    await rejectsWith(() => httpByteSource('https://x/y', { fetch: down, cache: null }), ['https://x/y: request failed (network down)']);
    // a later block whose Content-Range does not match what was asked (the file changed on the server)
    let calls = 0;
    const changing: FetchLike = async (url, init) => {
      calls++;
      const r = await server(one).fetch(url, init);
      return calls === 1 ? r : { ...r, headers: { get: (h: string) => (h === 'content-range' ? 'bytes 100-199/301' : null) } };
    };
    const src = await httpByteSource('https://h/f.bin', { fetch: changing, cache: null, blockBytes: 100, parallel: 1 });
    await rejectsWith(() => src.read(150, 10), [/asked for bytes 100-199\/300, got Content-Range bytes 100-199\/301 \(did the file change\?\)/]);

    // manifest: a file it does not list is absent, without a request; names stay plain
    const s = server(files);
    const m = httpModelSource('https://h/stories260K', { fetch: s.fetch, cache: null, files: { 'config.json': manifest['config.json']! } });
    assert.equal(await m.exists('tokenizer.json'), false);
    // the error's class comes from the file (README error table): a missing tokenizer.json is a TokenizerError
    await rejectsWith(() => m.readText('tokenizer.json'), ['https://h/stories260K/tokenizer.json: expected the file, got HTTP 404 (not in the manifest)'], TokenizerError);
    await rejectsWith(() => m.open('../secret'), [/expected a plain file name/]);
    assert.equal(await m.exists('../secret'), false);
    assert.deepEqual(s.log, []);
    assert.throws(() => httpModelSource('https://h/x', { files: { 'a/b': 1 } }), /expected plain file names with byte sizes/);
    assert.throws(() => httpModelSource('https://h/x', { blockBytes: 0 }), /expected blockBytes to be an integer >= 1, got 0/);

    // a cache that fails to store, and one that holds a corrupt (short) block: the load goes on
    const failing: ModelCache = { get: async () => null, put: async () => Promise.reject(new Error('QuotaExceededError')) };
    const f1 = httpModelSource('https://h/stories260K', { fetch: server(files).fetch, cache: failing, files: manifest });
    assert.equal(await greedy(f1), expected);
    assert.ok(f1.stats.cacheWriteErrors >= 4);
    const corrupt = memoryModelCache();
    await greedy(httpModelSource('https://h/stories260K', { fetch: server(files).fetch, cache: corrupt, files: manifest }));
    for (const [k, v] of corrupt.entries) corrupt.entries.set(k, v.subarray(1));
    const s2 = server(files);
    assert.equal(await greedy(httpModelSource('https://h/stories260K', { fetch: s2.fetch, cache: corrupt, files: manifest })), expected);
    assert.equal(s2.log.length, 4, 'corrupt blocks are downloaded again');
  });

  test('blob sources: a model folder and a GGUF picked from disk, read by slices', async () => {
    const blobs: Record<string, Blob> = {};
    for (const [url, bytes] of Object.entries(files)) blobs[url.split('/').pop()!] = new Blob([bytes as Uint8Array<ArrayBuffer>]);
    assert.equal(await greedy(blobModelSource('picked', blobs)), expected);
    const gguf = new Blob([readFileSync(fixturePath('stories260K.gguf'))]);
    const m = await loadGgufModel(rt, blobByteSource('stories260K.gguf', gguf), { maxBatch: 8 });
    assert.equal((await new Generator(m, { sampling: { temperature: 0 } }).generate({ maxTokens: 40 })).text, expected);
    const src = blobByteSource('x.bin', new Blob([new Uint8Array(10)]));
    await rejectsWith(() => src.read(5, 6), [/x.bin: read of 6 bytes at offset 5 ends at 11, past the end of the file \(10 bytes\)/]);
    assert.throws(() => blobModelSource('picked', { '../x': new Blob([]) }), WeightsFormatError);
    await rejectsWith(() => blobModelSource('picked', blobs).readText('nope.json'), ['picked: file nope.json not found']);
  });
});
