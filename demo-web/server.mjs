// The demo's web server: serves the repository root on 127.0.0.1 with the right content types
// (module scripts and application/wasm need HTTP: browsers refuse both from file://).
//
//   node demo-web/server.mjs [PORT]      (scripts/serve runs it; default port 8080, 0: any free one)
//
// Two kinds of path are made rather than read:
//   /demo-web/peers/NAME.wasm      the peer allocators of scripts/bench (talc, rlsf, dlmalloc,
//                                  lol_alloc), built by cargo in host-tests/bench/peers (once;
//                                  cargo skips the build when they are up to date)
//   /demo-web/examples/NAME.wasm   host-tests/clients/NAME.wat compiled with binaryen.js (from
//                                  scripts/node_modules: npm ci --prefix scripts), as the node
//                                  tests compile them
import { createServer } from 'node:http';
import { spawnSync } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
export const PEERS = ['talc', 'rlsf', 'dlmalloc', 'lol_alloc'];
const PEERS_WORKSPACE = join(ROOT, 'host-tests/bench/peers');
const PEER_DIR = join(PEERS_WORKSPACE, 'target/wasm32-unknown-unknown/release');

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.wat': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ts': 'text/plain; charset=utf-8',
  '.h': 'text/plain; charset=utf-8',
  '.c': 'text/plain; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

/** Builds the peer modules with the command and flags of scripts/bench (a no-op when they are
 *  up to date). Throws when cargo fails. */
export function buildPeers({ quiet = false } = {}) {
  const args = ['build', '--quiet', '--release', '--target', 'wasm32-unknown-unknown', '--workspace',
    '--target-dir', join(PEERS_WORKSPACE, 'target')];
  if (process.env.CI === 'true') args.push('--locked');
  const env = { ...process.env, RUSTFLAGS: '-C link-arg=-zstack-size=8192' };
  for (const v of ['CARGO_ENCODED_RUSTFLAGS', 'CARGO_BUILD_RUSTFLAGS', 'CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS']) delete env[v];
  if (!quiet) console.error('serve: building the peer allocators (cargo build in host-tests/bench/peers)');
  const r = spawnSync('cargo', args, { cwd: PEERS_WORKSPACE, env, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error(`cargo build of the peers in host-tests/bench/peers failed (${r.error ?? `exit ${r.status}`})`);
}

let binaryen = null;
const examples = new Map();
/** host-tests/clients/NAME.wat as wasm bytes (binaryen.js, the features the node tests enable). */
async function compileExample(name) {
  if (examples.has(name)) return examples.get(name);
  binaryen ??= (await import(pathToFileURL(join(ROOT, 'scripts/node_modules/binaryen/index.js')).href)).default;
  const text = await readFile(join(ROOT, 'host-tests/clients', `${name}.wat`), 'utf8');
  const module = binaryen.parseText(text);
  module.setFeatures(binaryen.Features.MutableGlobals | binaryen.Features.BulkMemory
    | binaryen.Features.BulkMemoryOpt | binaryen.Features.SignExt | binaryen.Features.Multivalue);
  if (!module.validate()) throw new Error(`host-tests/clients/${name}.wat does not validate`);
  const bytes = Buffer.from(module.emitBinary());
  module.dispose();
  examples.set(name, bytes);
  return bytes;
}

async function resolve(pathname) {
  let m = /^\/demo-web\/peers\/([a-z_]+)\.wasm$/.exec(pathname);
  if (m) return PEERS.includes(m[1]) ? { file: join(PEER_DIR, `peer_${m[1]}.wasm`) } : null;
  m = /^\/demo-web\/examples\/([a-z_]+)\.wasm$/.exec(pathname);
  if (m) {
    try { await stat(join(ROOT, 'host-tests/clients', `${m[1]}.wat`)); } catch { return null; }
    return { bytes: await compileExample(m[1]), type: 'application/wasm' };
  }
  if (pathname.endsWith('/')) pathname += 'index.html';
  const file = normalize(join(ROOT, pathname));
  if (file !== ROOT && !file.startsWith(ROOT + sep)) return null;
  if (/(^|\/)\.(git|ci)\b/.test(pathname) || pathname.includes('/node_modules/')) return null;
  return { file };
}

/** Starts the server; resolves to { server, port, url } once it listens. */
export function startServer(port = 8080, host = '127.0.0.1') {
  const server = createServer(async (req, res) => {
    try {
      const { pathname } = new URL(req.url, 'http://x');
      const decoded = decodeURIComponent(pathname);
      if (decoded === '/') {
        res.writeHead(302, { location: '/demo-web/' }).end();
        return;
      }
      const found = await resolve(decoded);
      let bytes = found?.bytes;
      let type = found?.type;
      if (found?.file) {
        const s = await stat(found.file).catch(() => null);
        if (s?.isDirectory()) {
          res.writeHead(302, { location: `${pathname}/` }).end();
          return;
        }
        bytes = s?.isFile() ? await readFile(found.file) : undefined;
        type = TYPES[extname(found.file)] ?? 'application/octet-stream';
      }
      if (bytes === undefined) {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end(`not found: ${decoded}\n`);
        return;
      }
      // Cross-origin isolation (COOP + COEP), which a shared WebAssembly.Memory needs (threads.html).
      res.writeHead(200, { 'content-type': type, 'content-length': bytes.length, 'cache-control': 'no-store',
        'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' });
      res.end(req.method === 'HEAD' ? undefined : bytes);
    } catch (e) {
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`${e.stack ?? e}\n`);
    }
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => {
      const actual = server.address().port;
      ok({ server, port: actual, url: `http://${host}:${actual}/demo-web/` });
    });
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const port = Number(process.argv[2] ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`serve: the port must be an integer from 0 to 65535, got ${process.argv[2]}`);
    process.exit(2);
  }
  if (!process.env.WASMHEAP_SERVE_NO_BUILD) buildPeers();
  const { url } = await startServer(port);
  console.log(`serve: the wasmheap demo is at ${url} (Ctrl-C stops)`);
}
