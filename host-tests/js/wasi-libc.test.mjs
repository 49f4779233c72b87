// A C program built against wasi-libc, its allocator replaced by wasmheap with the drop-in
// wasm/wasmheap-libc.c, under Node's WASI: host-tests/clients/c-libc/wordfreq.c is built
// twice with clang (with the drop-in, sharing its memory with wasm/wasmheap-import-memory.wasm;
// and plain, on wasi-libc's dlmalloc), and both must print the same. The program checks the
// 16-byte alignment of every block, realloc, calloc, and NULL with ENOMEM for what cannot be had.
//
// Needs clang, wasm-ld and wasi-libc (Debian: clang lld wasi-libc libclang-rt-14-dev-wasm32;
// .ci/run installs them). scripts/test sets WASMHEAP_NO_WASI_LIBC when they are missing outside
// CI: then this test is skipped, and scripts/test's final line says so.
//
//   node --test host-tests/js/          (scripts/test runs it)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WASI } from 'node:wasi';

const root = fileURLToPath(new URL('../../', import.meta.url));
const PROGRAM = join(root, 'host-tests/clients/c-libc/wordfreq.c');
const SHIM = join(root, 'wasm/wasmheap-libc.c');
const HEAP = readFileSync(join(root, 'wasm/wasmheap-import-memory.wasm'));
// The program's memory: its 64 KiB stack and data fit in the 4 pages it is linked for.
const PAGES = 4;
const CFLAGS = ['--target=wasm32-wasi', '-O2', '-Wall', '-Wextra', '-Werror'];

/** A fresh directory for the test's builds, removed after it; null when the test is skipped
 *  (scripts/test found no wasi-libc). */
function workDir(t) {
  if (process.env.WASMHEAP_NO_WASI_LIBC) {
    t.skip('SKIPPED: clang, wasm-ld or wasi-libc missing (apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32)');
    return null;
  }
  const dir = mkdtempSync(join(tmpdir(), 'wasmheap-wasi-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function build(dir) {
  const withHeap = join(dir, 'wordfreq-wasmheap.wasm');
  const plain = join(dir, 'wordfreq-dlmalloc.wasm');
  execFileSync('clang', [...CFLAGS, '-I', join(root, 'wasm'), '-Wl,--import-memory',
    `-Wl,--initial-memory=${PAGES * 65536}`, '-o', withHeap, PROGRAM, SHIM], { stdio: 'inherit' });
  execFileSync('clang', [...CFLAGS, '-o', plain, PROGRAM], { stdio: 'inherit' });
  return { withHeap: new WebAssembly.Module(readFileSync(withHeap)), plain: new WebAssembly.Module(readFileSync(plain)) };
}

/** Runs a WASI command; its stdout and stderr go to files, read back. */
function run(dir, name, instantiate) {
  const out = join(dir, `${name}.stdout`);
  const err = join(dir, `${name}.stderr`);
  const [stdout, stderr] = [openSync(out, 'w'), openSync(err, 'w')];
  let code;
  try {
    const wasi = new WASI({ version: 'preview1', args: [name], env: {}, stdout, stderr, returnOnExit: true });
    code = wasi.start(instantiate(wasi.wasiImport));
  } finally {
    closeSync(stdout);
    closeSync(stderr);
  }
  return { code, stdout: readFileSync(out, 'utf8'), stderr: readFileSync(err, 'utf8') };
}

/** The program on wasmheap: one memory, given to both; the heap's exports are its "wasmheap". */
function runOnWasmheap(dir, module, memory) {
  const heap = new WebAssembly.Instance(new WebAssembly.Module(HEAP), { env: { memory } }).exports;
  const result = run(dir, 'wasmheap', (wasiImport) => {
    const program = new WebAssembly.Instance(module, { env: { memory }, wasmheap: heap, wasi_snapshot_preview1: wasiImport });
    // Node's WASI wants the memory among the exports; the program imports it instead.
    return { exports: { memory, _start: program.exports._start } };
  });
  const statsAt = heap.allocate(64) >>> 0;
  heap.stats(statsAt);
  const words = new Uint32Array(memory.buffer, statsAt, 16);
  // allocations (less the block for these figures) and reallocations of live blocks.
  return { ...result, check: heap.check(), served: words[6] - 1 + words[8], failures: words[9] };
}

test('a wasi-libc program on wasmheap prints what it prints on dlmalloc, every block 16-aligned', (t) => {
  const dir = workDir(t);
  if (!dir) return;
  const { withHeap, plain } = build(dir);

  // The drop-in left dlmalloc out: the program imports its allocator, and nothing else does.
  const imports = WebAssembly.Module.imports(withHeap).map((i) => `${i.module}.${i.name}`);
  for (const name of ['env.memory', 'wasmheap.init', 'wasmheap.malloc', 'wasmheap.free', 'wasmheap.realloc', 'wasmheap.calloc']) {
    assert.ok(imports.includes(name), `imports ${name}: ${imports}`);
  }
  assert.equal(WebAssembly.Module.exports(withHeap).some((e) => e.kind === 'memory'), false);

  const reference = run(dir, 'dlmalloc', (wasiImport) => new WebAssembly.Instance(plain, { wasi_snapshot_preview1: wasiImport }));
  assert.equal(reference.code, 0, reference.stdout);
  assert.match(reference.stdout, /^misaligned: 0, failed checks: 0$/m);

  const ours = runOnWasmheap(dir, withHeap, new WebAssembly.Memory({ initial: PAGES }));
  assert.equal(ours.code, 0, ours.stdout);
  assert.equal(ours.stdout, reference.stdout, 'the same output on both allocators');
  assert.equal(ours.check, 0, 'check() after the run');
  const counted = Number(/allocations: (\d+)/.exec(ours.stderr)[1]);
  assert.ok(counted > 5000, ours.stderr);
  assert.ok(ours.served >= counted, `wasmheap served every malloc: ${ours.served} >= ${counted}`);
  assert.equal(ours.failures, 2, 'the two requests that cannot be had (SIZE_MAX - 64, a calloc overflow)');
});

test('out of memory in a wasi-libc program on wasmheap: NULL, a clean exit, a sound heap', (t) => {
  const dir = workDir(t);
  if (!dir) return;
  const { withHeap } = build(dir);
  // Memory may grow by one page only: the text buffer (128 KiB and doubling) cannot be had.
  const ours = runOnWasmheap(dir, withHeap, new WebAssembly.Memory({ initial: PAGES, maximum: PAGES + 1 }));
  assert.equal(ours.code, 2, ours.stdout);
  assert.match(ours.stdout, /^out of memory$/m);
  assert.equal(ours.check, 0);
  assert.ok(ours.failures >= 1);
});
