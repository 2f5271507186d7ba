/**
 * The peers the decode bench measures spechub against, installed on demand into their own
 * directory (bench/.peers, gitignored, with its own package.json) and never a dependency of spechub:
 *
 *   node-llama-cpp 3.21.1 (llama.cpp, prebuilt CPU binaries; loaded with getLlama({gpu: false, build: 'never'}))
 *   onnxruntime-web 1.30.0 (WASM SIMD MatMul, the kernel-table peer)
 *
 * npm ≥ 11 does not run install scripts unless approved, and node-llama-cpp's postinstall would try
 * to download or build binaries: installs use --ignore-scripts (the prebuilt binaries ship as the
 * platform's optional package, named explicitly so CUDA/Vulkan variants are not downloaded).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { arch, platform } from 'node:os';
import { pathToFileURL } from 'node:url';

export const LLAMA_CPP_VERSION = '3.21.1';
export const ORT_WEB_VERSION = '1.30.0';

export type PeerName = 'node-llama-cpp' | 'onnxruntime-web';

/** Outcome of making a peer available. */
export type PeerStatus =
  | { readonly ok: true; readonly name: PeerName; readonly version: string; readonly dir: string; readonly installed: boolean }
  | { readonly ok: false; readonly name: PeerName; readonly version: string; readonly reason: string };

function pinned(name: PeerName): string {
  return name === 'node-llama-cpp' ? LLAMA_CPP_VERSION : ORT_WEB_VERSION;
}

/** The packages npm must install for a peer (node-llama-cpp: plus this platform's prebuilt binaries). */
function packagesOf(name: PeerName): string[] {
  const v = pinned(name);
  if (name === 'onnxruntime-web') return [`onnxruntime-web@${v}`];
  const os = platform() === 'darwin' ? 'mac' : platform() === 'win32' ? 'win' : platform();
  const cpu = os === 'mac' && arch() === 'arm64' ? 'arm64-metal' : arch();
  return [`node-llama-cpp@${v}`, `@node-llama-cpp/${os}-${cpu}@${v}`];
}

function installedVersion(dir: string, pkg: string): string | null {
  const p = join(dir, 'node_modules', pkg, 'package.json');
  if (!existsSync(p)) return null;
  try {
    return (JSON.parse(readFileSync(p, 'utf8')) as { version?: string }).version ?? null;
  } catch {
    return null;
  }
}

/**
 * Make `name` importable from `dir` (installing the pinned version when absent or different).
 * Never throws: a failed install (offline, registry error) comes back as `{ ok: false, reason }`.
 */
export function ensurePeer(dir: string, name: PeerName, log: (s: string) => void, allowInstall = true): PeerStatus {
  const version = pinned(name);
  const pkgs = packagesOf(name);
  const have = pkgs.every((spec) => {
    const at = spec.lastIndexOf('@');
    return installedVersion(dir, spec.slice(0, at)) === spec.slice(at + 1);
  });
  if (have) return { ok: true, name, version, dir, installed: false };
  if (!allowInstall) return { ok: false, name, version, reason: `not installed in ${dir} and --no-install was given` };
  mkdirSync(dir, { recursive: true });
  const pj = join(dir, 'package.json');
  if (!existsSync(pj)) {
    writeFileSync(
      pj,
      JSON.stringify({ name: 'spechub-bench-peers', private: true, description: 'Peers of npm run bench:decode, installed on demand; not a dependency of spechub.' }, null, 2) + '\n',
    );
  }
  log(`peers: installing ${pkgs.join(' ')} into ${dir} (npm install --ignore-scripts) ...`);
  const t0 = performance.now();
  try {
    const npm = platform() === 'win32' ? 'npm.cmd' : 'npm';
    const flags = ['--ignore-scripts', '--no-audit', '--no-fund', '--save-exact', '--omit=optional', '--loglevel=error', '--fetch-retries=1', '--fetch-retry-maxtimeout=15000'];
    execFileSync(npm, ['install', ...flags, ...pkgs], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 10 * 60_000,
      encoding: 'utf8',
    });
  } catch (e) {
    const err = e as { stderr?: string; message?: string };
    return { ok: false, name, version, reason: `npm install failed: ${npmReason(err.stderr ?? '', err.message ?? String(e))}` };
  }
  const got = installedVersion(dir, name);
  if (got !== version) return { ok: false, name, version, reason: `npm install finished but ${name} is ${got ?? 'missing'}, expected ${version}` };
  log(`peers: ${name}@${version} installed (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  return { ok: true, name, version, dir, installed: true };
}

/** The informative part of npm's error output (code, the failed request, the first message line). */
function npmReason(stderr: string, fallback: string): string {
  const lines = stderr.split('\n').map((l) => l.replace(/^npm (error|ERR!)\s*/, '').trim()).filter(Boolean);
  const code = lines.find((l) => /^code\s/.test(l));
  const msg =
    lines.find((l) => /request to|network|ENOTFOUND|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN|404|403/.test(l) && !/^code\s/.test(l)) ??
    lines.find((l) => !/^(code|errno|syscall)\s|^A complete log/.test(l));
  const text = [code, msg].filter(Boolean).join(': ') || (fallback.split('\n')[0] ?? fallback);
  return text.length > 240 ? `${text.slice(0, 237)}...` : text;
}

/**
 * Import a peer from its install directory. A one-line ESM shim in `dir` re-exports the package, so
 * Node resolves it from there with the "import"/"node" conditions, exactly as a user's import would.
 */
export async function importPeer<T>(dir: string, name: PeerName): Promise<T> {
  if (!existsSync(join(dir, 'node_modules', name, 'package.json'))) throw new Error(`${name} is not installed in ${dir}`);
  const shim = join(dir, `import-${name}.mjs`);
  const text = `export * from '${name}';\n`;
  if (!existsSync(shim) || readFileSync(shim, 'utf8') !== text) writeFileSync(shim, text);
  return (await import(pathToFileURL(shim).href)) as T;
}
