// scripts/cbench runs this (see there): the workloads of host-tests/clients/c-libc/cbench.c on
// dlmalloc and on wasmheap, each run a fresh Node process (this file again, with --child), and a
// table of the medians.
//
//   node scripts/cbench.mjs --dlmalloc A.wasm --wasmheap B.wasm --heap wasm/wasmheap-import-memory.wasm
//        [--runs N] [--depth D] [--rounds M] [workload ...]
//   node scripts/cbench.mjs --child FILE.wasm HEAP.wasm|- WORKLOAD SCALE   one run; a JSON line on stderr
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const WORKLOADS = ['trees16', 'trees32', 'trees48', 'churn32'];

if (process.argv[2] === '--child') {
  // One run, as the recipe's host runs a program (FLAVORS.md, section 6): the program's memory
  // made from its memory import and shared with the heap; or, for dlmalloc, its own memory.
  const { WASI } = await import('node:wasi');
  const { memoryImport } = await import(join(ROOT, 'wasm/wasmheap.js'));
  const [file, heapFile, workload, scale] = process.argv.slice(3);
  const bytes = readFileSync(file);
  const module = new WebAssembly.Module(bytes);
  const wasi = new WASI({ version: 'preview1', args: ['cbench', workload, scale], env: {}, returnOnExit: true });
  const imports = { wasi_snapshot_preview1: wasi.wasiImport };
  let memory = null;
  let heap = null;
  if (heapFile !== '-') {
    memory = new WebAssembly.Memory(memoryImport(bytes));
    heap = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(heapFile)), { env: { memory } }).exports;
    Object.assign(imports, { env: { memory }, wasmheap: heap });
  }
  const { exports } = new WebAssembly.Instance(module, imports);
  memory ??= exports.memory;
  const start = performance.now();
  const code = wasi.start({ exports: { memory, _start: exports._start } });
  const ms = performance.now() - start;
  process.stderr.write(`${JSON.stringify({ code, ms, pages: memory.buffer.byteLength / 65536, check: heap ? heap.check() >>> 0 : null })}\n`);
  process.exit(0);
}

// ---- the parent -------------------------------------------------------------------------------
const opts = { runs: 5, depth: 16, rounds: 4 };
const chosen = [];
const files = {};
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (['--dlmalloc', '--wasmheap', '--heap'].includes(a)) files[a.slice(2)] = process.argv[++i];
  else if (['--runs', '--depth', '--rounds'].includes(a)) {
    const n = Number(process.argv[++i]);
    if (!Number.isInteger(n) || n < 1) throw new Error(`cbench: ${a} takes a positive integer`);
    opts[a.slice(2)] = n;
  } else if (WORKLOADS.includes(a)) chosen.push(a);
  else throw new Error(`cbench: unknown argument ${a} (workloads: ${WORKLOADS.join(' ')})`);
}
for (const k of ['dlmalloc', 'wasmheap', 'heap']) if (!files[k]) throw new Error(`cbench: --${k} FILE is needed`);
const workloads = chosen.length ? chosen : WORKLOADS;
const major = Number(process.versions.node.split('.')[0]);
// Node 20 and 22 crash in WASI's fd_write past about 1000 pages (nodejs/node#46777).
const nodeFlags = major < 24 ? ['--no-turbo-fast-api-calls'] : [];

function runOnce(allocator, workload) {
  const scale = workload.startsWith('trees') ? opts.depth : opts.rounds;
  const heap = allocator === 'wasmheap' ? files.heap : '-';
  const r = spawnSync(process.execPath, [...nodeFlags, '--no-warnings', fileURLToPath(import.meta.url), '--child',
    files[allocator], heap, workload, String(scale)], { encoding: 'utf8', maxBuffer: 16 << 20 });
  const last = r.stderr.trim().split('\n').pop();
  let result;
  try {
    result = JSON.parse(last);
  } catch {
    throw new Error(`cbench: ${workload} on ${allocator}: exit ${r.status ?? r.signal}\n${r.stdout}${r.stderr}`);
  }
  if (r.status !== 0 || result.code !== 0) throw new Error(`cbench: ${workload} on ${allocator}: exit ${result.code}\n${r.stdout}`);
  if (result.check !== null && result.check !== 0) throw new Error(`cbench: ${workload} on wasmheap: check() ${result.check}`);
  const peak = /^peak live: (\d+) bytes$/m.exec(r.stdout);
  return { ...result, stdout: r.stdout, peak: peak ? Number(peak[1]) : null };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const git = (...args) => spawnSync('git', ['-C', ROOT, ...args], { encoding: 'utf8' }).stdout.trim();
const sha = (f) => createHash('sha256').update(readFileSync(f)).digest('hex').slice(0, 12);
const dirty = git('status', '--porcelain', '--', 'wasm/wasmheap-libc.c', 'wasm/wasmheap-import-memory.wasm',
  'host-tests/clients/c-libc/cbench.c') ? ' (changed since the commit)' : '';

console.log(`cbench: ${git('rev-parse', '--short', 'HEAD')}${dirty}; ${relative(ROOT, files.heap)} ${sha(files.heap)}, ` +
  `wasm/wasmheap-libc.c ${sha(join(ROOT, 'wasm/wasmheap-libc.c'))}`);
console.log(`Node ${process.versions.node}${nodeFlags.length ? ` ${nodeFlags.join(' ')}` : ''}; ` +
  `${spawnSync('clang', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0]}; ` +
  `${opts.runs} runs each, alternating, medians; trees of depth ${opts.depth}, churn of ${opts.rounds} million rounds`);
console.log('');

const rows = [];
for (const workload of workloads) {
  const runs = { dlmalloc: [], wasmheap: [] };
  for (let i = 0; i < opts.runs; i++) {
    for (const allocator of i % 2 ? ['wasmheap', 'dlmalloc'] : ['dlmalloc', 'wasmheap']) runs[allocator].push(runOnce(allocator, workload));
  }
  const [d, w] = [runs.dlmalloc, runs.wasmheap];
  if (d.concat(w).some((r) => r.stdout !== d[0].stdout)) {
    throw new Error(`cbench: ${workload} printed different results:\n${d[0].stdout}\n${w.find((r) => r.stdout !== d[0].stdout).stdout}`);
  }
  const row = {
    workload, peak: d[0].peak,
    pages: { dlmalloc: median(d.map((r) => r.pages)), wasmheap: median(w.map((r) => r.pages)) },
    ms: { dlmalloc: median(d.map((r) => r.ms)), wasmheap: median(w.map((r) => r.ms)) },
    range: { dlmalloc: [Math.min(...d.map((r) => r.ms)), Math.max(...d.map((r) => r.ms))], wasmheap: [Math.min(...w.map((r) => r.ms)), Math.max(...w.map((r) => r.ms))] },
  };
  rows.push(row);
  process.stderr.write(`cbench: ${workload} done\n`);
}

const table = [
  ['workload', 'peak live', 'pages dlmalloc', 'pages wasmheap', 'pages ÷', 'mem÷peak dlmalloc', 'mem÷peak wasmheap',
    'ms dlmalloc', 'ms wasmheap', 'ms ÷'],
  ...rows.map((r) => [
    r.workload, `${(r.peak / 1024).toFixed(0)} KiB`,
    String(r.pages.dlmalloc), String(r.pages.wasmheap), (r.pages.wasmheap / r.pages.dlmalloc).toFixed(2),
    (r.pages.dlmalloc * 65536 / r.peak).toFixed(2), (r.pages.wasmheap * 65536 / r.peak).toFixed(2),
    r.ms.dlmalloc.toFixed(0), r.ms.wasmheap.toFixed(0), (r.ms.wasmheap / r.ms.dlmalloc).toFixed(2),
  ]),
];
const widths = table[0].map((_, c) => Math.max(...table.map((row) => row[c].length)));
for (const [i, row] of table.entries()) {
  console.log(`| ${row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join(' | ')} |`);
  if (i === 0) console.log(`| ${widths.map((w, c) => (c === 0 ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`)).join(' | ')} |`);
}
console.log('');
console.log('pages: memory.buffer.byteLength / 65536 at the end (the 64 KiB stack and static data included); peak live: the');
console.log("largest sum of the sizes the program had requested and not freed, counted by the program; mem÷peak: memory ÷ peak live;");
console.log('ms: the workload (wasi.start), median; ÷: wasmheap ÷ dlmalloc. Time ranges (min–max ms):');
for (const r of rows) {
  console.log(`  ${r.workload}: dlmalloc ${r.range.dlmalloc.map((x) => x.toFixed(0)).join('–')}, wasmheap ${r.range.wasmheap.map((x) => x.toFixed(0)).join('–')}`);
}
