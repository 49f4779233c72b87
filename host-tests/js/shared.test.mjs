// wasm/wasmheap-shared.wasm in Node's worker_threads: 4 workers, each with an instance of its own
// over one shared WebAssembly.Memory, run 2·10^5 random operations each on one heap (allocate,
// allocate_aligned, reallocate, free, size; a pattern in every block, checked before it is freed
// or moved; blocks freed by other workers than the ones that allocated them, through a shared
// table), then check() is 0 and the statistics agree with what the workers counted. Then marks
// and free_all by one worker while the others work. The worker is shared/worker.mjs.
//
//   node --test host-tests/js/          (scripts/test runs it)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

const module = new WebAssembly.Module(readFileSync(new URL('../../wasm/wasmheap-shared.wasm', import.meta.url)));
const REGION = 1024; // the heap's region starts here; stats are written below it
const WORKERS = 4;
const STATS = ['live_blocks', 'live_bytes', 'peak_bytes', 'heap_bytes', 'free_bytes', 'largest_free', 'allocations',
  'frees', 'reallocations', 'failures', 'rejected_frees', 'rejected_marks', 'mark_depth', 'memory_grows', 'heap_start', 'heap_top'];

/** Runs the workers on `memory` and the table; resolves to what each posted. */
function run(memory, table, { ops, mode, seed }) {
  return Promise.all(Array.from({ length: WORKERS }, (_, tid) => new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./shared/worker.mjs', import.meta.url), {
      workerData: { module, memory, table, tid, ops, seed, region: REGION, mode },
    });
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => code !== 0 && reject(new Error(`worker ${tid} exited with ${code}`)));
  })));
}

/** The main thread's own instance, joined to the heap (it only spins: no set_may_block). */
function join(memory) {
  const { exports: x } = new WebAssembly.Instance(module, { env: { memory } });
  assert.equal(x.init(REGION, 0), 1);
  x.stats(0);
  const words = new Uint32Array(memory.buffer, 0, 16);
  return { x, stats: Object.fromEntries(STATS.map((name, i) => [name, words[i]])) };
}

test('4 workers x 2e5 random operations on one shared heap: patterns hold, check() == 0, stats agree', async () => {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 16384, shared: true });
  assert.ok(memory.buffer instanceof SharedArrayBuffer);
  const table = new SharedArrayBuffer(4 * 4 * 4096);
  const results = await run(memory, table, { ops: 200_000, mode: 'random', seed: 23 });
  for (const r of results) assert.equal(r.check, 0);
  console.log(`refreshes of a stale memory.buffer: ${results.map((r) => r.refreshes).join(', ')}`);
  const { x, stats } = join(memory);
  assert.equal(x.check(), 0);
  const slots = new Int32Array(table);
  let live = 0, liveBytes = 0;
  for (let s = 0; s < slots.length; s += 4) if (slots[s + 1] !== 0) (live++, liveBytes += slots[s + 2]);
  const sum = (k) => results.reduce((a, r) => a + r.counts[k], 0);
  assert.equal(stats.live_blocks, live);
  assert.equal(stats.live_bytes, liveBytes);
  assert.equal(stats.allocations, sum('allocations'));
  assert.equal(stats.frees, sum('frees'));
  assert.equal(stats.reallocations, sum('reallocations'));
  assert.equal(stats.failures + stats.rejected_frees, 0);
  assert.equal(stats.heap_start, REGION + 4096);
  assert.ok(sum('allocations') > 200_000, `allocations: ${sum('allocations')}`);
});

test('marks and free_all by one worker while the others allocate and free: the heap stays sound', async () => {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 4096, shared: true });
  const results = await run(memory, new SharedArrayBuffer(16), { ops: 20_000, mode: 'marks', seed: 5 });
  assert.deepEqual(results.map((r) => r.check), [0, 0, 0, 0]);
  assert.equal(results[0].counts.marks, 20_000);
  const { x } = join(memory);
  x.free_all();
  assert.equal(x.check(), 0);
  const after = join(memory).stats;
  assert.equal(after.live_blocks, 0);
  assert.equal(after.mark_depth, 0);
});
