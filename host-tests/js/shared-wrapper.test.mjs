// wasm/wasmheap.js with wasm/wasmheap-shared.wasm: one load per worker over one shared memory
// (strings, LiveViews and copies on a SharedArrayBuffer, blocks handed to the main thread and
// freed there), and the refusals: a memory that is not shared, no memory, a call before init, a
// region set up with another end. The random program on the raw exports is shared.test.mjs.
//
//   node --test host-tests/js/          (scripts/test runs it)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { load, WasmHeap } from '../../wasm/wasmheap.js';

const bytes = readFileSync(new URL('../../wasm/wasmheap-shared.wasm', import.meta.url));
const module = new WebAssembly.Module(bytes);
const sharedMemory = (initial = 2) => new WebAssembly.Memory({ initial, maximum: 4096, shared: true });

test('one load per worker: strings and views in one shared heap, freed by another thread', async () => {
  const memory = sharedMemory();
  const results = await Promise.all([0, 1, 2, 3].map((tid) => new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./shared/wrapper-worker.mjs', import.meta.url),
      { workerData: { module, memory, tid, count: 3000 } });
    worker.once('message', resolve);
    worker.once('error', reject);
  })));
  // The main thread joins the same heap (it may not block: the default), reads and frees.
  const heap = await load(module, { memory, start: 65536 });
  assert.equal(heap.isShared, true);
  assert.ok(heap.memory.buffer instanceof SharedArrayBuffer);
  let kept = 0;
  for (const r of results) {
    assert.equal(r.check, 0);
    assert.equal(r.shared, true);
    for (const [p, text] of r.kept) {
      assert.equal(heap.readString(p), text);
      heap.deallocate(p);
      kept++;
    }
  }
  assert.equal(kept, 4 * 300);
  assert.equal(heap.check(), 0);
  // Left: the 64-byte block each of the five wrappers keeps for stats(); stats() takes out its own.
  const raw = heap.rawStats();
  assert.equal(raw.live_blocks, 5);
  assert.equal(heap.stats().live_blocks, 4);
  assert.equal(raw.frees, 4 * 3000 * 2);
});

test('the shared flavor refuses a memory that is not shared, and no memory, with a clear error', async () => {
  await assert.rejects(load(module, { memory: new WebAssembly.Memory({ initial: 2 }) }),
    { name: 'TypeError', message: /wasmheap-shared\.wasm needs options\.memory to be a shared WebAssembly\.Memory.*that is not shared/ });
  await assert.rejects(load(bytes), { name: 'TypeError', message: /needs options\.memory to be a shared WebAssembly\.Memory .*got undefined/ });
  const memory = sharedMemory();
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  assert.throws(() => new WasmHeap(instance, new WebAssembly.Memory({ initial: 2 })), { name: 'TypeError', message: /needs memory to be a shared/ });
});

test('a call before init is refused with a clear error; init then works', () => {
  const memory = sharedMemory();
  const heap = new WasmHeap(new WebAssembly.Instance(module, { env: { memory } }), memory);
  for (const call of [() => heap.allocate(8), () => heap.deallocate(8), () => heap.check(), () => heap.freeGetMark(), () => heap.writeString('x')]) {
    assert.throws(call, { message: /the shared flavor has no heap before init\(start, end\)/ });
  }
  // The raw module traps (out of bounds) before init, touching nothing.
  assert.throws(() => heap.exports.allocate(8), WebAssembly.RuntimeError);
  assert.ok(new Uint8Array(memory.buffer).every((b) => b === 0));
  heap.setMayBlock(false);
  heap.init(1024, 0);
  const p = heap.allocate(8);
  assert.ok(p > 1024 + 4096);
  assert.equal(heap.check(), 0);
  // Another thread's region with another end is not this heap: refused.
  const other = new WasmHeap(new WebAssembly.Instance(module, { env: { memory } }), memory);
  assert.throws(() => other.init(1024, 65536), { name: 'RangeError', message: /set up by another thread with another end/ });
  other.init(1024, 0);
  assert.equal(other.size(p), 8);
});

test('setMayBlock is for the shared flavor only', async () => {
  const heap = await load(readFileSync(new URL('../../wasm/wasmheap.wasm', import.meta.url)));
  assert.equal(heap.isShared, false);
  assert.throws(() => heap.setMayBlock(true), { name: 'TypeError', message: /only the shared flavor/ });
});
