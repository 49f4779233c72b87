// The wrapper's helpers for the debug flavor (wasm/wasmheap-debug.wasm): blocks(), leaks(),
// reports() and the switches, each on a planted bug; and that they refuse other flavors.
//
//   node --test host-tests/js/          (scripts/test runs it)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { load, BLOCK_STATES } from '../../wasm/wasmheap.js';

const debugUrl = new URL('../../wasm/wasmheap-debug.wasm', import.meta.url);

test('leaks(): the live allocations with size, id and caller tag; none of the wrapper', async () => {
  const heap = await load(debugUrl);
  assert.equal(heap.isDebug, true);
  assert.deepEqual(heap.leaks(), [], 'stats() needs no block of the heap in this flavor');
  heap.setTag(7);
  const a = heap.writeString('kept');
  heap.setTag(8);
  const b = heap.allocate(100);
  const c = heap.allocate(3);
  heap.deallocate(c);
  const leaks = heap.leaks();
  assert.deepEqual(leaks.map(({ ptr, size, tag }) => ({ ptr, size, tag })), [
    { ptr: a, size: 4, tag: 7 },
    { ptr: b, size: 100, tag: 8 },
  ]);
  assert.ok(leaks[0].id > 0 && leaks[1].id > leaks[0].id);
  const s = heap.stats();
  assert.equal(s.live_blocks, 2);
  assert.equal(s.live_bytes, 104);
  // Many allocations: the walk resumes past one buffer of records.
  for (let i = 0; i < 600; i++) heap.allocate(i % 50);
  assert.equal(heap.leaks().length, 602);
});

test('blocks(): every block in address order, tiling the heap, with the top last', async () => {
  const heap = await load(debugUrl);
  const keep = [];
  for (let i = 0; i < 300; i++) keep.push(heap.allocate(8 + (i % 40)));
  for (let i = 0; i < 300; i += 3) heap.deallocate(keep[i]);
  heap.freeGetMark();
  heap.allocate(1000);
  const blocks = heap.blocks();
  for (let i = 1; i < blocks.length; i++) {
    assert.equal(blocks[i - 1].address + blocks[i - 1].size, blocks[i].address);
  }
  const s = heap.stats();
  const top = blocks.at(-1);
  assert.deepEqual([top.state, top.address, top.address + top.size], ['top', s.heap_top, s.heap_start + s.heap_bytes]);
  const count = (state) => blocks.filter((b) => b.state === state).length;
  assert.equal(count('used'), s.live_blocks);
  assert.equal(count('control'), 2, 'segment 0 and the mark');
  assert.ok(count('binned') + count('free') > 0);
  for (const b of blocks) assert.ok(BLOCK_STATES.includes(b.state));
  assert.equal(blocks.filter((b) => b.state !== 'used' && b.state !== 'control').reduce((n, b) => n + b.size, 0), s.free_bytes);
});

test('reports(): overrun, write after free, double free, stale mark', async () => {
  const heap = await load(debugUrl);
  const p = heap.allocate(10);
  const id = heap.leaks().find((l) => l.ptr === p).id;
  heap.u8[p + 10] = 0; // one byte past the end
  heap.deallocate(p);
  let [r] = heap.reports();
  assert.deepEqual({ ...r }, { seq: 0, code: 4, name: 'overrun', ptr: p, id, detail: p + 10 });

  const q = heap.allocate(64);
  heap.allocate(8); // a neighbour: q goes to a bin when freed
  const qid = heap.leaks().find((l) => l.ptr === q).id;
  heap.deallocate(q);
  heap.u8[q + 9] = 1; // write after free
  assert.equal(heap.allocate(64), q);
  [r] = heap.reports(1);
  assert.deepEqual([r.name, r.ptr, r.id, r.detail], ['write-after-free', q, qid, q + 9]);

  heap.deallocate(q);
  heap.deallocate(q);
  [r] = heap.reports(2);
  assert.deepEqual([r.name, r.ptr, r.reason], ['bad-deallocate', q, 'already-free']);

  const m = heap.freeGetMark();
  heap.freeToMark(m);
  heap.freeToMark(m);
  [r] = heap.reports(3);
  assert.deepEqual([r.name, r.ptr], ['stale-mark', m]);
  assert.equal(heap.reportCount(), 4);
  assert.equal(heap.check(), 0, 'the calls went on as in the default module');
});

test('reports(): an underrun into a header and an overrun across the next one are smashed headers', async () => {
  const heap = await load(debugUrl);
  const old = heap.allocate(24);
  heap.allocate(8);
  heap.deallocate(old);
  const p = heap.allocate(24); // the same address: the ring of frees remembers old's id
  assert.equal(p, old);
  heap.u8[p - 1] = 0x41; // one byte before the block
  heap.deallocate(p);
  let [r] = heap.reports();
  assert.deepEqual([r.name, r.ptr, r.id, r.reason], ['bad-deallocate', p, 0, 'smashed-header']);
  assert.equal(heap.check(), 7);

  const heap2 = await load(debugUrl);
  const a = heap2.allocate(10);
  const b = heap2.allocate(10);
  heap2.u8.fill(0x55, a, b); // a's bytes, its canary, id and tag, and b's header
  heap2.deallocate(b);
  const [overrun, smashed] = heap2.reports();
  assert.deepEqual([overrun.name, overrun.ptr, overrun.id], ['overrun', a, 0], 'a named by its pointer, no id read from its smashed stamp');
  assert.deepEqual([smashed.name, smashed.ptr, smashed.id, smashed.reason], ['bad-deallocate', b, 0, 'smashed-header']);
  heap2.deallocate(a);
  assert.deepEqual([heap2.reports(2)[0].name, heap2.reports(2)[0].id], ['overrun', 0]);
  assert.equal(heap2.size(a), 10, 'kept: freeing it would merge through the smashed header');
  assert.equal(heap2.check(), 3);
});

test('setTrap(true) traps at the first problem; setCheck(true) finds it at the next call', async () => {
  const heap = await load(debugUrl);
  heap.setCheck(true);
  const p = heap.allocate(32);
  heap.u8[p + 32] = 0;
  heap.allocate(1);
  assert.equal(heap.reports().at(-1).name, 'overrun');
  heap.u8[p + 32] = 0xFD;
  heap.setCheck(false);
  heap.setTrap(true);
  heap.deallocate(p);
  assert.throws(() => heap.deallocate(p), WebAssembly.RuntimeError);
  assert.equal(heap.reports().at(-1).reason, 'already-free');
});

test('the debug helpers refuse the other flavors', async () => {
  const heap = await load(new URL('../../wasm/wasmheap.wasm', import.meta.url));
  assert.equal(heap.isDebug, false);
  for (const call of [() => heap.blocks(), () => heap.leaks(), () => heap.reports(), () => heap.setTag(1)]) {
    assert.throws(call, /needs the debug flavor/);
  }
});
