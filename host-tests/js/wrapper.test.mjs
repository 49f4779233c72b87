// wasm/wasmheap.js, the JavaScript wrapper: loading from bytes, a Module, a Response and a URL
// (served over HTTP: the streaming path), unsigned pointers, strings, typed arrays, views that
// survive memory.grow, statistics, and the import-memory flavor.
//
//   node --test host-tests/js/          (scripts/test runs it)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { load, WasmHeap, LiveView, STAT_FIELDS } from '../../wasm/wasmheap.js';

const wasmUrl = (name) => new URL(`../../wasm/${name}`, import.meta.url);
const bytes = await readFile(fileURLToPath(wasmUrl('wasmheap.wasm')));
const imBytes = await readFile(fileURLToPath(wasmUrl('wasmheap-import-memory.wasm')));

// An HTTP server for the URL and streaming paths: /wasmheap.wasm as application/wasm,
// /octet.wasm as application/octet-stream (no streaming: the wrapper reads the bytes instead).
async function serve(fn) {
  let streamed = 0;
  const server = createServer((req, res) => {
    const type = req.url === '/octet.wasm' ? 'application/octet-stream' : 'application/wasm';
    if (req.url === '/missing.wasm') {
      res.writeHead(404).end();
      return;
    }
    if (type === 'application/wasm') streamed += 1;
    res.writeHead(200, { 'content-type': type }).end(bytes);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  try {
    await fn(base, () => streamed);
  } finally {
    server.close();
  }
}

async function works(heap) {
  assert.ok(heap instanceof WasmHeap);
  const p = heap.writeString('works');
  assert.equal(heap.readString(p), 'works');
  heap.deallocate(p);
  assert.equal(heap.check(), 0);
  assert.equal(heap.stats().live_blocks, 0);
}

test('loads from bytes, a typed array, a Module and a Response', async () => {
  await works(await load(bytes));
  await works(await load(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)));
  await works(await load(await WebAssembly.compile(bytes)));
  await works(await load(new Response(bytes, { headers: { 'content-type': 'application/wasm' } })));
  await works(await load(new Response(bytes))); // no MIME type: read as bytes
  await works(await load(Promise.resolve(new Response(bytes))));
  await assert.rejects(load(42), TypeError);
});

test('loads from a URL, streaming when the server says application/wasm', async () => {
  await serve(async (base, streamed) => {
    await works(await load(`${base}/wasmheap.wasm`));
    await works(await load(new URL(`${base}/wasmheap.wasm`)));
    await works(await load(fetch(`${base}/wasmheap.wasm`)));
    assert.equal(streamed(), 3);
    await works(await load(`${base}/octet.wasm`));
    await assert.rejects(load(`${base}/missing.wasm`), /404/);
  });
});

test('pointers and sizes are unsigned; the raw ABI is all there', async () => {
  const heap = await load(bytes);
  const p = heap.allocate(100);
  assert.ok(p > 0 && p % 8 === 0);
  assert.equal(heap.size(p), 100);
  assert.equal(heap.allocate(0xFFFF_FFF0), 0, 'too large: 0, not a negative number');
  assert.equal(heap.size(0xFFFF_FFF8), 0);
  const q = heap.allocateAligned(10, 4096);
  assert.equal(q % 4096, 0);
  const r = heap.reallocate(p, 5000);
  assert.ok(r > 0);
  assert.equal(heap.size(r), 5000);
  const mark = heap.freeGetMark();
  assert.ok(mark > 0);
  heap.allocate(10);
  heap.freeToMark(mark);
  heap.freeAllMark();
  heap.allocate(20);
  heap.freeAll();
  const s = heap.stats();
  assert.deepEqual(Object.keys(s), STAT_FIELDS);
  assert.equal(s.live_blocks, 2, 'r and q survive free_all: they are below the floor');
  assert.equal(s.live_bytes, 5010);
  assert.equal(s.allocations, 4);
  assert.equal(s.failures, 1);
  assert.equal(heap.rawStats().live_blocks, 3, 'the raw figures count the stats block');
  heap.deallocate(r);
  heap.deallocate(q);
  heap.deallocate(r); // double free: rejected, counted
  assert.equal(heap.stats().rejected_frees, 1);
  assert.equal(heap.check(), 0);
});

test('strings: UTF-8 in and out, exact sizes, NUL-terminated on request', async () => {
  const heap = await load(bytes);
  for (const text of ['', 'a', 'hello, heap', 'grüße, 世界 🌍', 'x'.repeat(100_000)]) {
    const p = heap.writeString(text);
    assert.equal(heap.size(p), new TextEncoder().encode(text).length);
    assert.equal(heap.readString(p), text);
    heap.deallocate(p);
  }
  const c = heap.writeString('for C', { nul: true });
  assert.equal(heap.size(c), 6);
  assert.equal(heap.u8[c + 5], 0);
  assert.equal(heap.readCString(c), 'for C');
  assert.equal(heap.readString(c, 3), 'for');
  assert.equal(heap.stats().live_blocks, 1);
});

test('typed arrays: copied in aligned to their element, copied out independent of memory', async () => {
  const heap = await load(bytes);
  const arrays = [
    new Uint8Array([1, 2, 3]),
    new Int16Array([-1, 2, -3, 4]),
    new Uint32Array([0xFFFF_FFFF, 7]),
    new Float32Array([1.5, -2.25]),
    new Float64Array([Math.PI, -Math.E, 1e300]),
    new BigInt64Array([-(2n ** 63n), 42n]),
  ];
  for (const a of arrays) {
    const p = heap.copyIn(a);
    assert.equal(p % Math.max(8, a.BYTES_PER_ELEMENT), 0);
    assert.equal(heap.size(p), a.byteLength);
    const back = heap.copyOut(a.constructor, p);
    assert.deepEqual(back, a);
    heap.allocate(1 << 20); // grow memory: the copy does not care
    assert.deepEqual(back, a);
    heap.deallocate(p);
  }
  // A view into the middle of a buffer copies only its own bytes.
  const big = new Uint8Array([9, 9, 1, 2, 3, 9]);
  const p = heap.copyIn(big.subarray(2, 5));
  assert.deepEqual([...heap.copyOut(Uint8Array, p)], [1, 2, 3]);
  assert.equal(heap.check(), 0);
});

test('views survive memory.grow: they are taken again from the new buffer', async () => {
  const heap = await load(bytes);
  const v = heap.allocArray(Float64Array, 1000);
  assert.ok(v instanceof LiveView);
  v.array.fill(0.5);
  v.array[999] = 42;
  const held = v.array;
  const whole = heap.u8;
  const pagesBefore = heap.memory.buffer.byteLength / 65536;
  const big = heap.allocate(8 << 20); // grows memory: the old ArrayBuffer is detached
  assert.ok(big > 0);
  assert.ok(heap.memory.buffer.byteLength / 65536 > pagesBefore);
  assert.equal(held.length, 0, 'a plain typed array is detached by the growth');
  assert.equal(whole.length, 0);
  assert.equal(v.array.length, 1000);
  assert.equal(v.array[999], 42);
  assert.equal(v.array[0], 0.5);
  assert.equal(heap.u8.length, heap.memory.buffer.byteLength, 'heap.u8 is taken again');
  assert.equal(heap.f64[v.ptr / 8 + 999], 42);
  const u32 = heap.view(Uint32Array, big, 4);
  u32.array.set([1, 2, 3, 4]);
  assert.equal(heap.dataView.getUint32(big + 12, true), 4);
  assert.equal(heap.check(), 0);
});

test('out of memory: the helpers throw, the raw ABI returns 0', async () => {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 2 });
  // The import-memory flavor on a memory that may grow to 2 pages only.
  const heap = await load(imBytes, { memory });
  assert.equal(heap.allocate(200_000), 0);
  assert.throws(() => heap.writeString('x'.repeat(200_000)), RangeError);
  assert.throws(() => heap.copyIn(new Uint8Array(200_000)), RangeError);
  assert.throws(() => heap.allocArray(Float64Array, 30_000), RangeError);
  assert.equal(heap.stats().failures, 4);
  assert.equal(heap.check(), 0);
});

test('the import-memory flavor: a region of a memory the caller owns', async () => {
  const memory = new WebAssembly.Memory({ initial: 4 });
  new Uint8Array(memory.buffer).fill(0x5C);
  const heap = await load(imBytes, { memory, start: 0x10000, end: 0x30000 });
  assert.equal(heap.memory, memory);
  assert.deepEqual(WebAssembly.Module.imports(await WebAssembly.compile(imBytes)),
    [{ module: 'env', name: 'memory', kind: 'memory' }]);
  const s = heap.stats();
  assert.equal(s.heap_start, 0x10000 + 4096);
  assert.equal(s.heap_bytes, 0x30000 - 0x11000);
  const ptrs = [];
  for (let i = 0; i < 100; i++) ptrs.push(heap.writeString(`block ${i} `.repeat(20)));
  ptrs.forEach((p, i) => assert.equal(heap.readString(p), `block ${i} `.repeat(20)));
  const u8 = new Uint8Array(memory.buffer);
  assert.ok(u8.subarray(0, 0x10000).every((b) => b === 0x5C), 'below the region');
  assert.ok(u8.subarray(0x30000).every((b) => b === 0x5C), 'above the region');
  assert.equal(heap.check(), 0);
  assert.throws(() => heap.init(0x30000, 0x30010), RangeError, 'a region too small is refused');
  heap.init(0x10000, 0); // a new, empty heap, to the end of memory
  assert.equal(heap.stats().live_blocks, 0);
  // Without a memory, the wrapper makes one and the heap takes all of it.
  const own = await load(imBytes);
  await works(own);
  assert.equal(own.stats().heap_start, 4096);
});
