// Node smoke test of the shipped module: what a JavaScript user does with wasm/wasmheap.wasm.
//
//   node --test host-tests/js/          (scripts/test runs it as its last stage)
//
// WASMHEAP_WASM=path/to/module.wasm tests another build of the module.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const WASM_PATH =
  process.env.WASMHEAP_WASM ?? fileURLToPath(new URL('../../wasm/wasmheap.wasm', import.meta.url));
const bytes = await readFile(WASM_PATH);

// The raw ABI, the table of src/CONTRACT.md.
const FUNCTIONS = [
  'allocate', 'allocate_aligned', 'deallocate', 'reallocate', 'size',
  'free_all', 'free_all_mark', 'free_get_mark', 'free_to_mark', 'check', 'stats',
];

// stats(out_ptr): 16 u32 in this order (src/CONTRACT.md, "Statistics").
const STAT_FIELDS = [
  'live_blocks', 'live_bytes', 'peak_bytes', 'heap_bytes', 'free_bytes', 'largest_free',
  'allocations', 'frees', 'reallocations', 'failures', 'rejected_frees', 'rejected_marks',
  'mark_depth', 'memory_grows', 'heap_start', 'heap_top',
];
assert.equal(STAT_FIELDS[10], 'rejected_frees');

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

// A fresh instance per test, plus helpers that treat every pointer and size as unsigned.
async function heap() {
  const { instance, module } = await WebAssembly.instantiate(bytes); // no import object at all
  const x = instance.exports;
  const u = (v) => v >>> 0;
  // One block for the statistics, allocated first: every later figure is relative to it.
  const statsPtr = u(x.allocate(64));
  assert.notEqual(statsPtr, 0);
  assert.equal(statsPtr % 4, 0);
  const h = {
    module, x,
    allocate: (n) => u(x.allocate(n)),
    allocateAligned: (n, a) => u(x.allocate_aligned(n, a)),
    reallocate: (p, n) => u(x.reallocate(p, n)),
    deallocate: (p) => x.deallocate(p),
    size: (p) => u(x.size(p)),
    check: () => x.check(),
    // memory.buffer is replaced when memory grows: take a fresh view every time.
    view: () => new Uint8Array(x.memory.buffer),
    stats() {
      x.stats(statsPtr);
      const words = new Uint32Array(x.memory.buffer, statsPtr, 16);
      return Object.fromEntries(STAT_FIELDS.map((name, i) => [name, words[i]]));
    },
    write(p, text) {
      const data = encoder.encode(text);
      h.view().set(data, p);
      return data.length;
    },
    read: (p, n) => decoder.decode(h.view().subarray(p, p + n)),
  };
  h.base = h.stats();
  assert.equal(h.base.live_blocks, 1);
  return h;
}

test('instantiates with no imports and exports the whole raw ABI', async () => {
  const { module, instance } = await WebAssembly.instantiate(bytes);
  assert.deepEqual(WebAssembly.Module.imports(module), []);
  const exports = new Map(WebAssembly.Module.exports(module).map((e) => [e.name, e.kind]));
  assert.equal(exports.get('memory'), 'memory');
  assert.ok(instance.exports.memory instanceof WebAssembly.Memory);
  for (const name of FUNCTIONS) {
    assert.equal(exports.get(name), 'function', `export ${name}`);
    assert.equal(typeof instance.exports[name], 'function', `export ${name}`);
  }
  assert.equal(instance.exports.check(), 0);
});

test('allocate, write and read a UTF-8 string, size, deallocate, stats', async () => {
  const h = await heap();
  const text = 'wasmheap: héllo, wörld ✓ 🦀';
  const length = encoder.encode(text).length;
  assert.ok(length > text.length, 'the string has multi-byte characters');

  const p = h.allocate(length);
  assert.notEqual(p, 0);
  assert.equal(p % 8, 0, '8-byte aligned');
  assert.equal(h.write(p, text), length);
  assert.equal(h.read(p, length), text);
  assert.equal(h.size(p), length, 'size() is the requested size, not the capacity');
  assert.equal(h.check(), 0);

  let s = h.stats();
  assert.equal(s.live_blocks, h.base.live_blocks + 1);
  assert.equal(s.live_bytes, h.base.live_bytes + length);
  assert.equal(s.allocations, h.base.allocations + 1);
  assert.equal(s.frees, h.base.frees);
  assert.ok(s.heap_top > s.heap_start);
  assert.ok(s.heap_bytes >= s.heap_top - s.heap_start);

  h.deallocate(p);
  assert.equal(h.check(), 0);
  assert.equal(h.size(p), 0, 'size() of a freed block is 0');
  s = h.stats();
  assert.equal(s.live_blocks, h.base.live_blocks);
  assert.equal(s.live_bytes, h.base.live_bytes);
  assert.equal(s.frees, h.base.frees + 1);
  assert.ok(s.peak_bytes >= h.base.live_bytes + length && s.peak_bytes >= s.heap_top - s.heap_start, 'the most the heap spanned');
  assert.equal(s.rejected_frees, 0);

  h.deallocate(0); // a no-op
  assert.equal(h.stats().rejected_frees, 0);
  assert.equal(h.check(), 0);
});

test('many blocks: distinct, non-overlapping, contents intact', async () => {
  const h = await heap();
  const blocks = [];
  for (let i = 0; i < 200; i++) {
    const text = `block ${i} ` + 'x'.repeat(i % 37);
    const p = h.allocate(encoder.encode(text).length);
    assert.notEqual(p, 0);
    blocks.push([p, h.write(p, text), text]);
  }
  const sorted = [...blocks].sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < sorted.length; i++) {
    assert.ok(sorted[i - 1][0] + sorted[i - 1][1] <= sorted[i][0], 'blocks overlap');
  }
  for (const [i, [p, n, text]] of blocks.entries()) {
    assert.equal(h.read(p, n), text);
    if (i % 2) h.deallocate(p);
  }
  assert.equal(h.check(), 0);
  assert.equal(h.stats().live_blocks, h.base.live_blocks + 100);
  for (const [i, [p, n, text]] of blocks.entries()) {
    if (i % 2 === 0) {
      assert.equal(h.read(p, n), text);
      h.deallocate(p);
    }
  }
  const s = h.stats();
  assert.equal(s.live_blocks, h.base.live_blocks);
  assert.equal(s.frees, h.base.frees + 200);
  assert.equal(h.check(), 0);
});

test('reallocate keeps the content', async () => {
  const h = await heap();
  const text = 'keep me: ünïcödé ✓';
  const n = encoder.encode(text).length;
  const p = h.allocate(n);
  h.write(p, text);
  const q = h.allocate(8); // so that p cannot simply grow at the top

  const big = h.reallocate(p, 100_000); // grows the memory too
  assert.notEqual(big, 0);
  assert.equal(h.read(big, n), text);
  assert.equal(h.size(big), 100_000);
  assert.equal(h.check(), 0);

  const small = h.reallocate(big, 9); // 'keep me: '
  assert.notEqual(small, 0);
  assert.equal(h.read(small, 9), 'keep me: ');
  assert.equal(h.size(small), 9);

  const s = h.stats();
  assert.equal(s.reallocations, h.base.reallocations + 2);
  assert.equal(s.live_blocks, h.base.live_blocks + 2);
  assert.equal(s.live_bytes, h.base.live_bytes + 9 + 8);

  const fresh = h.reallocate(0, 24); // reallocate(0, n) allocates
  assert.notEqual(fresh, 0);
  assert.equal(h.size(fresh), 24);
  for (const r of [small, q, fresh]) h.deallocate(r);
  assert.equal(h.stats().live_blocks, h.base.live_blocks);
  assert.equal(h.check(), 0);
});

test('a double free is rejected and counted', async () => {
  const h = await heap();
  const p = h.allocate(40);
  const keep = h.allocate(40);
  h.deallocate(p);
  let s = h.stats();
  assert.equal(s.frees, h.base.frees + 1);
  assert.equal(s.rejected_frees, 0);

  h.deallocate(p); // again
  s = h.stats();
  assert.equal(s.frees, h.base.frees + 1, 'the second free is not a free');
  assert.equal(s.rejected_frees, 1);
  assert.equal(s.live_blocks, h.base.live_blocks + 1);
  assert.equal(h.check(), 0);

  h.deallocate(keep + 4); // interior pointer
  assert.equal(h.stats().rejected_frees, 2);
  assert.equal(h.reallocate(p, 16), 0, 'reallocate of a freed block fails');
  assert.equal(h.stats().rejected_frees, 3);
  assert.equal(h.size(keep), 40);
  assert.equal(h.check(), 0);
  h.deallocate(keep);
  assert.equal(h.stats().live_blocks, h.base.live_blocks);
});

test('allocate_aligned and marks', async () => {
  const h = await heap();
  const a = h.allocateAligned(100, 4096);
  assert.notEqual(a, 0);
  assert.equal(a % 4096, 0);
  assert.equal(h.size(a), 100);
  assert.equal(h.allocateAligned(8, 3), 0, 'align must be a power of two');
  assert.equal(h.stats().failures, h.base.failures + 1);

  const mark = h.x.free_get_mark();
  assert.notEqual(mark, 0);
  assert.equal(h.stats().mark_depth, h.base.mark_depth + 1);
  for (let i = 0; i < 10; i++) assert.notEqual(h.allocate(64), 0);
  assert.equal(h.stats().live_blocks, h.base.live_blocks + 11);
  h.x.free_to_mark(mark);
  let s = h.stats();
  assert.equal(s.live_blocks, h.base.live_blocks + 1);
  assert.equal(s.mark_depth, h.base.mark_depth);
  assert.equal(h.size(a), 100, 'a block from before the mark survives');
  assert.equal(h.check(), 0);

  h.x.free_to_mark(mark); // used up
  assert.equal(h.stats().rejected_marks, 1);

  h.x.free_all_mark(); // the stats block and `a` are below the floor now
  h.allocate(10);
  h.allocate(20);
  h.x.free_all();
  s = h.stats();
  assert.equal(s.live_blocks, h.base.live_blocks + 1);
  assert.equal(h.size(a), 100);
  assert.equal(h.check(), 0);
});

test('pointers above 2 GiB are unsigned (>>> 0)', async () => {
  const h = await heap();
  const TWO_GIB = 2 ** 31;
  const big = h.allocate(TWO_GIB); // passed as the i32 -2^31: the module reads a u32
  assert.notEqual(big, 0, 'a 2 GiB block (node allows 4 GiB memories)');
  assert.equal(h.size(big), TWO_GIB);
  const raw = h.x.allocate(32);
  assert.ok(raw < 0, 'JavaScript sees a pointer past 2^31 as a negative i32');
  const p = raw >>> 0;
  assert.ok(p > TWO_GIB, `pointer ${p} above 2^31`);
  assert.equal(p % 8, 0);
  assert.ok(p + 32 <= h.x.memory.buffer.byteLength);

  const text = 'high up: ✓ über 2 GiB';
  const n = h.write(p, text);
  assert.equal(h.read(p, n), text);
  assert.equal(h.size(p), 32); // an unsigned number works as the argument
  assert.equal(h.size(raw), 32); // and so does the signed one
  const s = h.stats();
  assert.ok(s.heap_bytes > TWO_GIB);
  assert.ok(s.heap_top > TWO_GIB);
  assert.ok(s.memory_grows >= 1);
  assert.equal(s.live_bytes, h.base.live_bytes + TWO_GIB + 32);
  assert.equal(h.check(), 0);

  const moved = h.reallocate(p, 64);
  assert.notEqual(moved, 0);
  assert.equal(h.read(moved, n), text);
  h.deallocate(moved);
  h.deallocate(big);
  assert.equal(h.stats().live_blocks, h.base.live_blocks);
  assert.equal(h.stats().rejected_frees, 0);
  assert.equal(h.check(), 0);
});

test('too large requests return 0 and do not wrap', async () => {
  const h = await heap();
  for (const n of [0xffff_ffff, 0xffff_fff8, 0xffff_fff0]) {
    assert.equal(h.allocate(n), 0, `allocate(${n})`);
  }
  assert.equal(h.allocateAligned(0xffff_fff0, 65536), 0);
  const p = h.allocate(16);
  assert.equal(h.reallocate(p, 0xffff_fff9), 0, 'reallocate fails');
  assert.equal(h.size(p), 16, 'and the old block is untouched');
  assert.equal(h.stats().failures, h.base.failures + 5);
  assert.equal(h.check(), 0);
  const z1 = h.allocate(0);
  const z2 = h.allocate(0);
  assert.ok(z1 !== 0 && z2 !== 0 && z1 !== z2, 'allocate(0) gives unique non-zero pointers');
  assert.equal(h.check(), 0);
});
