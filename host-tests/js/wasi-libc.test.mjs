// C programs built against wasi-libc, their allocator replaced by wasmheap with the drop-in
// wasm/wasmheap-libc.c, under Node's WASI, built and run exactly as the recipe of wasm/FLAVORS.md
// (section 6) says: no --initial-memory, and the host makes the memory from the program's memory
// import (memoryImport of wasm/wasmheap.js). Each program is built twice with clang (with the
// drop-in, sharing its memory with wasm/wasmheap-import-memory.wasm; and plain, on wasi-libc's
// dlmalloc), and both must print the same.
//   host-tests/clients/c-libc/wordfreq.c  what C asks of any malloc: 16-byte alignment of every
//                                         block, realloc, calloc, NULL with ENOMEM
//   host-tests/clients/c-libc/markov.c    a program bigger than hello: 1 MiB of static data (it
//                                         needs 18 pages, not hello's 2) and tens of MiB of heap
//   host-tests/clients/c-libc/cbench.c    the workloads of scripts/cbench, small
// and hello with its __heap_base placed just below a page boundary (the drop-in must still get
// its heap).
//
// Needs clang, wasm-ld and wasi-libc (Debian: clang lld wasi-libc libclang-rt-14-dev-wasm32;
// .ci/run installs them). scripts/test sets WASMHEAP_NO_WASI_LIBC when they are missing outside
// CI: then these tests are skipped, and scripts/test's final line says so.
//
//   node --test host-tests/js/          (scripts/test runs it)
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { WASI } from 'node:wasi';
import { memoryImport } from '../../wasm/wasmheap.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const CLIENTS = join(root, 'host-tests/clients/c-libc');
const SHIM = join(root, 'wasm/wasmheap-libc.c');
const HEAP_PATH = join(root, 'wasm/wasmheap-import-memory.wasm');
const HEAP = readFileSync(HEAP_PATH);
// The recipe's flags (FLAVORS.md, section 6), and warnings as errors.
const RECIPE = ['--target=wasm32-wasi', '-O2', '-I', join(root, 'wasm'), '-Wl,--import-memory'];
const STRICT = ['-Wall', '-Wextra', '-Werror'];
// Node 20 and 22 crash in WASI's fd_write once memory passes about 1000 pages (nodejs/node#46777,
// a garbage collection inside a fast API call); FLAVORS.md, section 6. The host in a process of
// its own gets the flag that avoids it; so does this process, whose programs stay below 1000
// pages: whether V8 collects garbage inside the call is a matter of timing, and one of ten runs
// of `node --test host-tests/js/` without the flag lost this whole file (the cause not caught).
const NODE_MAJOR = Number(process.versions.node.split('.')[0]);
const NODE_FLAGS = NODE_MAJOR < 24 ? ['--no-turbo-fast-api-calls'] : [];
if (NODE_FLAGS.length) v8.setFlagsFromString(NODE_FLAGS.join(' '));

/** A fresh directory for the test's runs, removed after it; null when the test is skipped
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

// The builds, made once for all tests of this file.
let buildDir = null;
after(() => buildDir && rmSync(buildDir, { recursive: true, force: true }));
const builds = new Map();

/** Builds a program as the recipe says (with the drop-in) and, unless `plainToo` is false,
 *  plainly (dlmalloc): their bytes and files. */
function build(program, extra = [], { plainToo = true } = {}) {
  const key = JSON.stringify([program, extra, plainToo]);
  if (builds.has(key)) return builds.get(key);
  buildDir ??= mkdtempSync(join(tmpdir(), 'wasmheap-wasi-build-'));
  const source = program.endsWith('.c') ? program : join(CLIENTS, `${program}.c`);
  const name = `${source.replace(/^.*\//, '').replace(/\.c$/, '')}-${builds.size}`;
  const withHeapPath = join(buildDir, `${name}-wasmheap.wasm`);
  const plainPath = join(buildDir, `${name}-dlmalloc.wasm`);
  execFileSync('clang', [...RECIPE, ...STRICT, ...extra, '-o', withHeapPath, source, SHIM], { stdio: 'inherit' });
  const built = { withHeap: readFileSync(withHeapPath), withHeapPath };
  if (plainToo) {
    execFileSync('clang', ['--target=wasm32-wasi', '-O2', ...STRICT, '-o', plainPath, source], { stdio: 'inherit' });
    Object.assign(built, { plain: readFileSync(plainPath), plainPath });
  }
  builds.set(key, built);
  return built;
}

/** Runs a WASI command; its stdout and stderr go to files, read back. */
function run(dir, name, args, instantiate) {
  const out = join(dir, `${name}.stdout`);
  const err = join(dir, `${name}.stderr`);
  const [stdout, stderr] = [openSync(out, 'w'), openSync(err, 'w')];
  let code;
  try {
    const wasi = new WASI({ version: 'preview1', args: [name, ...args], env: {}, stdout, stderr, returnOnExit: true });
    code = wasi.start(instantiate(wasi.wasiImport));
  } finally {
    closeSync(stdout);
    closeSync(stderr);
  }
  return { code, stdout: readFileSync(out, 'utf8'), stderr: readFileSync(err, 'utf8') };
}

function runOnDlmalloc(dir, bytes, args = []) {
  let memory;
  const result = run(dir, 'dlmalloc', args, (wasiImport) => {
    const { exports } = new WebAssembly.Instance(new WebAssembly.Module(bytes), { wasi_snapshot_preview1: wasiImport });
    memory = exports.memory;
    return { exports };
  });
  return { ...result, pages: memory.buffer.byteLength / 65536 };
}

/** The program on wasmheap, as the recipe's host runs it: one memory, made from the program's
 *  memory import unless `memory` is given, for both; the heap's exports are its "wasmheap". */
function runOnWasmheap(dir, bytes, { memory = new WebAssembly.Memory(memoryImport(bytes)), args = [] } = {}) {
  const heap = new WebAssembly.Instance(new WebAssembly.Module(HEAP), { env: { memory } }).exports;
  const result = run(dir, 'wasmheap', args, (wasiImport) => {
    const program = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory }, wasmheap: heap, wasi_snapshot_preview1: wasiImport });
    // Node's WASI wants the memory among the exports; the program imports it instead.
    return { exports: { memory, _start: program.exports._start } };
  });
  const pages = memory.buffer.byteLength / 65536;
  const check = heap.check() >>> 0;
  if (check !== 0) return { ...result, check, pages };
  const statsAt = heap.allocate(64) >>> 0;
  heap.stats(statsAt);
  const words = new Uint32Array(memory.buffer, statsAt, 16);
  // allocations (less the block for these figures) and reallocations of live blocks.
  return { ...result, check, pages, live: words[0] - 1, served: words[6] - 1 + words[8], failures: words[9] };
}

const linkError = (bytes, memory) => assert.throws(
  () => new WebAssembly.Instance(new WebAssembly.Module(bytes), {
    env: { memory }, wasmheap: new WebAssembly.Instance(new WebAssembly.Module(HEAP), { env: { memory } }).exports,
    wasi_snapshot_preview1: new WASI({ version: 'preview1' }).wasiImport,
  }),
  WebAssembly.LinkError,
);

test('a wasi-libc program on wasmheap prints what it prints on dlmalloc, every block 16-aligned', (t) => {
  const dir = workDir(t);
  if (!dir) return;
  const { withHeap, plain } = build('wordfreq');

  // The drop-in left dlmalloc out: the program imports its allocator, and nothing else does.
  const imports = WebAssembly.Module.imports(new WebAssembly.Module(withHeap)).map((i) => `${i.module}.${i.name}`);
  for (const name of ['env.memory', 'wasmheap.init', 'wasmheap.malloc', 'wasmheap.free', 'wasmheap.realloc', 'wasmheap.calloc']) {
    assert.ok(imports.includes(name), `imports ${name}: ${imports}`);
  }
  assert.equal(WebAssembly.Module.exports(new WebAssembly.Module(withHeap)).some((e) => e.kind === 'memory'), false);
  // Its 64 KiB stack and a little data: two pages, no maximum.
  assert.deepEqual(memoryImport(withHeap), { module: 'env', name: 'memory', initial: 2, shared: false });

  const reference = runOnDlmalloc(dir, plain);
  assert.equal(reference.code, 0, reference.stdout);
  assert.match(reference.stdout, /^misaligned: 0, failed checks: 0$/m);

  const ours = runOnWasmheap(dir, withHeap);
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
  const { withHeap } = build('wordfreq');
  // Memory may grow by one page only: the text buffer (128 KiB and doubling) cannot be had.
  const { initial } = memoryImport(withHeap);
  const ours = runOnWasmheap(dir, withHeap, { memory: new WebAssembly.Memory({ initial, maximum: initial + 1 }) });
  assert.equal(ours.code, 2, ours.stdout);
  assert.match(ours.stdout, /^out of memory$/m);
  assert.equal(ours.check, 0);
  assert.ok(ours.failures >= 1);
});

test('a program bigger than hello: 1 MiB of static data, tens of MiB of heap, as the recipe says', (t) => {
  const dir = workDir(t);
  if (!dir) return;
  const { withHeap, plain } = build('markov');

  // 1 MiB of buckets and a 64 KiB stack: the memory import asks for 18 pages. The old recipe's
  // 4 pages fail to link, at both ends.
  const wanted = memoryImport(withHeap);
  assert.deepEqual(wanted, { module: 'env', name: 'memory', initial: 18, shared: false });
  linkError(withHeap, new WebAssembly.Memory({ initial: 4 }));
  linkError(withHeap, new WebAssembly.Memory({ initial: wanted.initial - 1 }));
  const small = spawnSync('clang', [...RECIPE, '-Wl,--initial-memory=262144', '-o', join(dir, 'small.wasm'),
    join(CLIENTS, 'markov.c'), SHIM], { encoding: 'utf8' });
  assert.notEqual(small.status, 0);
  assert.match(small.stderr, /initial memory too small, \d+ bytes needed/);

  // 60 thousand sentences: under 1000 pages on both allocators, so this runs in-process.
  const reference = runOnDlmalloc(dir, plain, ['60']);
  assert.equal(reference.code, 0, reference.stdout);
  assert.match(reference.stdout, /^corpus: 661129 words, model: \d+ states, \d+ successors$/m);
  assert.match(reference.stdout, /^sentences not from the model: 0$/m);

  const ours = runOnWasmheap(dir, withHeap, { args: ['60'] });
  assert.equal(ours.code, 0, ours.stdout);
  assert.equal(ours.stdout, reference.stdout, 'the same output on both allocators');
  assert.equal(ours.check, 0, 'check() after the run');
  assert.ok(ours.pages >= 320 && ours.pages < 1000, `tens of MiB, under 1000 pages: ${ours.pages} pages`);
  assert.ok(ours.served > 500000, `wasmheap served every malloc: ${ours.served}`);
  assert.equal(ours.failures, 0);
  assert.ok(ours.live <= 4, `the program freed its blocks (libc keeps a few): ${ours.live} live`);
});

// The recipe's host (FLAVORS.md, section 6) in a process of its own: node [flags] -e HOST file [args].
const HOST = `
import { readFileSync } from "node:fs";
import { WASI } from "node:wasi";
import { memoryImport } from ${JSON.stringify(new URL('../../wasm/wasmheap.js', import.meta.url).href)};
const [file, ...args] = process.argv.slice(1);
const bytes = readFileSync(file);
const memory = new WebAssembly.Memory(memoryImport(bytes));
const heap = (await WebAssembly.instantiate(readFileSync(${JSON.stringify(HEAP_PATH)}), { env: { memory } })).instance.exports;
const wasi = new WASI({ version: "preview1", args: ["markov", ...args], returnOnExit: true });
const { instance } = await WebAssembly.instantiate(bytes, { env: { memory }, wasmheap: heap, wasi_snapshot_preview1: wasi.wasiImport });
const code = wasi.start({ exports: { memory, _start: instance.exports._start } });
console.error(JSON.stringify({ code, pages: memory.buffer.byteLength / 65536, check: heap.check() }));
`;

test(`past 1000 pages, under the recipe's host in Node ${process.versions.node}${NODE_FLAGS.length ? ` with ${NODE_FLAGS}` : ''}`, (t) => {
  const dir = workDir(t);
  if (!dir) return;
  const { withHeapPath } = build('markov');
  // 200 thousand sentences: dlmalloc ends at 1145 pages, wasmheap at least as high.
  const r = spawnSync(process.execPath, [...NODE_FLAGS, '--no-warnings', '--input-type=module', '-e', HOST, withHeapPath, '200'],
    { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `exit ${r.status ?? r.signal}\n${r.stderr.slice(-2000)}`);
  const ours = JSON.parse(r.stderr.trim().split('\n').pop());
  assert.equal(ours.code, 0, r.stdout);
  assert.ok(ours.pages > 1000, `${ours.pages} pages`);
  assert.equal(ours.check, 0);
  assert.match(r.stdout, /^corpus: 2200961 words, model: \d+ states, \d+ successors$/m);
  assert.match(r.stdout, /^generated: 40000 sentences, \d+ characters, fnv-1a [0-9a-f]{8}$/m);
  assert.match(r.stdout, /^sentences not from the model: 0$/m);
});

test('hello with __heap_base up to 4 KiB below a page boundary still gets its heap', (t) => {
  const dir = workDir(t);
  if (!dir) return;
  const hello = join(dir, 'hello.c');
  writeFileSync(hello, `#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void) {
    char *s = strdup("hello from wasi-libc on wasmheap");
    if (s == NULL) return 3;
    printf("%s\\n", s);
    free(s);
    return 0;
}
`);
  // The stack size moves __heap_base (the end of the stack) byte for byte.
  const at = (stack) => {
    const { withHeap } = build(hello, ['-Wl,--export=__heap_base', `-Wl,-z,stack-size=${stack}`], { plainToo: false });
    const base = new WebAssembly.Instance(new WebAssembly.Module(withHeap), {
      env: { memory: new WebAssembly.Memory(memoryImport(withHeap)) },
      wasmheap: new Proxy({}, { get: () => () => 0 }),
      wasi_snapshot_preview1: new WASI({ version: 'preview1' }).wasiImport,
    }).exports.__heap_base.value;
    return { withHeap, base };
  };
  const { base } = at(65536);
  const pageEnd = Math.ceil(base / 65536) * 65536;
  for (const gap of [0, 16, 4080, 4096]) {
    const { withHeap, base: got } = at(65536 + pageEnd - gap - base);
    assert.equal(got, pageEnd - gap);
    assert.equal(memoryImport(withHeap).initial * 65536, pageEnd, 'the linker ends memory at that page boundary');
    const ours = runOnWasmheap(dir, withHeap);
    assert.equal(ours.code, 0, `gap ${gap}: exit ${ours.code}, ${ours.stdout}`);
    assert.equal(ours.stdout, 'hello from wasi-libc on wasmheap\n');
    assert.equal(ours.check, 0, `gap ${gap}`);
  }
});

test("scripts/cbench's workloads, small: the same results on both allocators, a sound heap", (t) => {
  const dir = workDir(t);
  if (!dir) return;
  const { withHeap, plain } = build('cbench');
  for (const [workload, scale, peak] of [['trees16', '8', 16 * 1023], ['trees32', '8', 32 * 1023], ['trees48', '8', 48 * 1023], ['churn32', '1', 32 * 4096]]) {
    const reference = runOnDlmalloc(dir, plain, [workload, scale]);
    assert.equal(reference.code, 0, reference.stdout);
    assert.match(reference.stdout, new RegExp(`^peak live: ${peak} bytes$`, 'm'), 'the stretch tree, or the 4096 blocks');
    const ours = runOnWasmheap(dir, withHeap, { args: [workload, scale] });
    assert.equal(ours.code, 0, ours.stdout);
    assert.equal(ours.stdout, reference.stdout, workload);
    assert.equal(ours.check, 0, workload);
  }
  assert.equal(runOnDlmalloc(dir, plain, ['nothing']).code, 64);
});
