// A Rust program with threads on wasmheap: host-tests/clients/threads, built by scripts/test (stage
// 4) with nightly, -Z build-std=core,alloc and +atomics (WasmHeap takes its lock), instantiated in 4
// Node workers over one shared memory. Each thread builds Strings, Vecs and BTreeMaps through the
// global allocator and hands boxed Vec<String>s to the others, which check and free them; the
// heap is then sound and empty.
//
//   node --test host-tests/js/          (scripts/test runs it; needs the build of stage 4)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { memoryImport } from '../../wasm/wasmheap.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const examples = process.env.WASMHEAP_EXAMPLES_DIR ?? join(root, 'target', 'examples');
const path = join(examples, 'wasm32-unknown-unknown', 'release', 'threads_client.wasm');
const WORKERS = 4;
const STACK = 128 * 1024;

test('a Rust +atomics program in 4 workers shares one WasmHeap: blocks freed by other threads, heap sound and empty', async (t) => {
  if (!existsSync(path)) {
    assert.notEqual(process.env.CI, 'true', `CI must build ${path} (scripts/test, stage 4)`);
    t.skip(`SKIPPED: ${path} is not built (scripts/test builds it with the pinned nightly)`);
    return;
  }
  const bytes = readFileSync(path);
  const limits = memoryImport(bytes);
  assert.equal(limits.shared, true, 'the program imports a shared memory');
  const memory = new WebAssembly.Memory(limits);
  const module = new WebAssembly.Module(bytes);
  // The main thread's instance: its start function initialises the statics, once for all.
  const { exports: main } = new WebAssembly.Instance(module, { env: { memory } });
  const stacks = Array.from({ length: WORKERS }, () => main.alloc_stack(STACK) >>> 0);
  assert.ok(stacks.every((top) => top !== 0 && top % 16 === 0));
  const results = await Promise.all(stacks.map((stackTop, tid) => new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./threads/worker.mjs', import.meta.url),
      { workerData: { module, memory, tid, rounds: 3000, stackTop } });
    worker.once('message', resolve);
    worker.once('error', reject);
  })));
  assert.ok(results.every((r) => r.sum > 0n));
  assert.ok(main.foreign() > 1000, `parcels freed by another thread: ${main.foreign()}`);
  main.drain();
  for (const top of stacks) main.free_stack(top, STACK);
  assert.equal(main.check(), 0);
  assert.equal(main.stat(0), 0, 'live blocks');
  assert.equal(main.stat(6), main.stat(7), 'allocations == frees');
  assert.equal(main.stat(9) + main.stat(10), 0, 'failures, rejected frees');
  assert.ok(main.stat(6) > 100_000, `allocations: ${main.stat(6)}`);
});
