// wasm/wasmheap.js refuses bad input loudly: a size, length or alignment that is not an integer
// in [0, 2^32) is a RangeError (a non-number a TypeError) and allocates nothing; element types
// must be typed-array constructors; copyIn takes typed arrays, DataViews and ArrayBuffers; every
// pointer is taken unsigned (also as the signed i32 the raw exports return above 2 GiB). Each
// message names the call and the value.
//
//   node --test host-tests/js/          (scripts/test runs it)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { load, LiveView, WasmHeap } from '../../wasm/wasmheap.js';

const wasmPath = (name) => fileURLToPath(new URL(`../../wasm/${name}`, import.meta.url));
const bytes = await readFile(wasmPath('wasmheap.wasm'));
const imBytes = await readFile(wasmPath('wasmheap-import-memory.wasm'));

/** `fn` throws `Type` whose message matches every pattern, and the heap's statistics do not move
 *  (nothing allocated, nothing counted). */
function refuses(heap, fn, Type, ...patterns) {
  const before = heap.rawStats();
  const pages = heap.memory.buffer.byteLength;
  assert.throws(fn, (e) => {
    assert.ok(e instanceof Type, `${Type.name} expected, got ${e}`);
    assert.match(e.message, /^wasmheap: /);
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });
  assert.deepEqual(heap.rawStats(), before, 'nothing allocated or counted');
  assert.equal(heap.memory.buffer.byteLength, pages, 'memory did not grow');
}

test('sizes of 2^32 and more are refused, not wrapped', async () => {
  const heap = await load(bytes);
  refuses(heap, () => heap.allocate(2 ** 32), RangeError, /allocate\(size\)/, /size/, /4294967296/);
  refuses(heap, () => heap.allocate(2 ** 40), RangeError, /allocate\(size\)/, /1099511627776/);
  refuses(heap, () => heap.allocateAligned(2 ** 32 + 8, 16), RangeError, /allocateAligned\(size, align\)/, /4294967304/);
  refuses(heap, () => heap.allocateAligned(8, 2 ** 32), RangeError, /align must be/, /4294967296/);
  refuses(heap, () => heap.allocArray(Uint8Array, 5e9), RangeError, /allocArray\(Type, length\)/, /5000000000/);
  refuses(heap, () => heap.allocArray(Float64Array, 2 ** 29), RangeError,
    /allocArray\(Type, length\)/, /536870912 elements of Float64Array are 4294967296 bytes/);
  refuses(heap, () => heap.allocArray(Uint32Array, 2 ** 30 + 1), RangeError, /1073741825 elements/);
  const p = heap.allocate(10);
  refuses(heap, () => heap.reallocate(p, 2 ** 32 + 100), RangeError, /reallocate\(ptr, size\)/, /4294967396/);
  assert.equal(heap.size(p), 10, 'the block is untouched');
  // The largest sizes that are integers below 2^32 go to the module, which says 0 (out of memory).
  assert.equal(heap.allocate(2 ** 32 - 1), 0);
  assert.equal(heap.stats().failures, 1);
  assert.equal(heap.check(), 0);
});

test('fractions, NaN, infinities and negative sizes are RangeErrors', async () => {
  const heap = await load(bytes);
  for (const bad of [1.5, NaN, Infinity, -Infinity, -1, -0.5, 2 ** 53]) {
    const shown = Number.isNaN(bad) ? /NaN/ : new RegExp(String(bad).replace(/[+.]/g, '\\$&'));
    refuses(heap, () => heap.allocate(bad), RangeError, /allocate\(size\): size must be an integer from 0 to 2\^32 - 1/, shown);
    refuses(heap, () => heap.allocateAligned(bad, 8), RangeError, /allocateAligned/, shown);
    refuses(heap, () => heap.allocateAligned(8, bad), RangeError, /align/, shown);
    refuses(heap, () => heap.allocArray(Float64Array, bad), RangeError, /allocArray\(Type, length\): length/, shown);
    refuses(heap, () => heap.reallocate(0, bad), RangeError, /reallocate/, shown);
  }
  // The report of the old wrapper: "out of memory (-8 bytes)". Now: the length, as given.
  refuses(heap, () => heap.allocArray(Float64Array, -1), RangeError, /length must be an integer/, /got -1$/);
  assert.doesNotMatch((() => { try { heap.allocArray(Float64Array, -1); } catch (e) { return e.message; } })(), /out of memory/);
  assert.equal(heap.check(), 0);
});

test('non-numbers are TypeErrors that name what they got', async () => {
  const heap = await load(bytes);
  refuses(heap, () => heap.allocate('abc'), TypeError, /allocate\(size\): size must be a number, got "abc"/);
  refuses(heap, () => heap.allocate('16'), TypeError, /got "16"/);
  refuses(heap, () => heap.allocate(16n), TypeError, /got 16n/);
  refuses(heap, () => heap.allocate(), TypeError, /got undefined/);
  refuses(heap, () => heap.allocate(null), TypeError, /got null/);
  refuses(heap, () => heap.allocate([8]), TypeError, /got an Array \(length 1\)/);
  refuses(heap, () => heap.allocate({}), TypeError, /got an object/);
  refuses(heap, () => heap.allocateAligned(8, '16'), TypeError, /align must be a number, got "16"/);
  refuses(heap, () => heap.deallocate('8'), TypeError, /deallocate\(ptr\): ptr must be a number, got "8"/);
  refuses(heap, () => heap.size(true), TypeError, /size\(ptr\): ptr must be a number, got true/);
  refuses(heap, () => heap.freeToMark('m'), TypeError, /freeToMark\(mark\): mark must be a number, got "m"/);
  refuses(heap, () => heap.writeString(42), TypeError, /writeString\(text, options\): text must be a string, got 42/);
  refuses(heap, () => heap.writeString('x', 'nul'), TypeError, /options must be an object, got "nul"/);
  refuses(heap, () => heap.readString('0'), TypeError, /readString\(ptr, length\): ptr/);
  refuses(heap, () => heap.readCString(undefined), TypeError, /readCString\(ptr\): ptr must be a number, got undefined/);
});

test('element types must be typed-array constructors', async () => {
  const heap = await load(bytes);
  for (const [Type, shown] of [[Array, /the function Array/], [DataView, /the function DataView/],
    [Number, /the function Number/], ['Uint8Array', /"Uint8Array"/], [new Uint8Array(1), /a Uint8Array/],
    [undefined, /undefined/], [ArrayBuffer, /the function ArrayBuffer/]]) {
    refuses(heap, () => heap.allocArray(Type, 3), TypeError,
      /allocArray\(Type, length\): Type must be a typed-array constructor/, shown);
    refuses(heap, () => heap.view(Type, 8, 3), TypeError, /view\(Type, ptr, length\): Type must be/, shown);
    refuses(heap, () => heap.copyOut(Type, 8, 3), TypeError, /copyOut\(Type, ptr, length\): Type must be/, shown);
  }
  // Every typed array works, BigInt ones and subclasses (Node's Buffer) included.
  class Bytes extends Uint8Array {}
  for (const Type of [Int8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Float32Array,
    BigInt64Array, BigUint64Array, Bytes, Buffer]) {
    const v = heap.allocArray(Type, 3);
    assert.equal(v.array.length, 3);
    assert.ok(v.array instanceof Type);
    heap.deallocate(v.ptr);
  }
  assert.equal(heap.check(), 0);
});

test('copyIn takes typed arrays, DataViews and ArrayBuffers, and nothing else', async () => {
  const heap = await load(bytes);
  refuses(heap, () => heap.copyIn([1, 2, 3]), TypeError,
    /copyIn\(data\): data must be a typed array, a DataView or an ArrayBuffer, got an Array \(length 3\)/);
  refuses(heap, () => heap.copyIn('abc'), TypeError, /copyIn\(data\).*got "abc"/);
  refuses(heap, () => heap.copyIn(42), TypeError, /got 42/);
  refuses(heap, () => heap.copyIn(null), TypeError, /got null/);
  refuses(heap, () => heap.copyIn({ length: 3, 0: 1 }), TypeError, /got an object/);
  refuses(heap, () => heap.copyIn(new Set([1])), TypeError, /got a Set/);
  const data = [1, 2, 3, 250];
  const fromBuffer = heap.copyIn(new Uint8Array(data).buffer);
  assert.deepEqual([...heap.copyOut(Uint8Array, fromBuffer)], data);
  assert.equal(fromBuffer % 8, 0);
  const dv = new DataView(new Uint8Array([9, ...data, 9]).buffer, 1, 4);
  const fromView = heap.copyIn(dv);
  assert.deepEqual([...heap.copyOut(Uint8Array, fromView)], data);
  const shared = new SharedArrayBuffer(4);
  new Uint8Array(shared).set(data);
  assert.deepEqual([...heap.copyOut(Uint8Array, heap.copyIn(shared))], data);
  assert.deepEqual([...heap.copyOut(Uint8Array, heap.copyIn(Buffer.from(data)))], data);
  // Bytes of the heap's own memory survive an allocation that grows (and so detaches) it.
  const whole = heap.u8;
  const snapshot = whole.slice();
  const p = heap.copyIn(whole); // a block as large as memory: memory grows during the call
  assert.ok(heap.memory.buffer.byteLength > snapshot.length, 'memory grew');
  assert.equal(whole.length, 0, 'the source view was detached');
  assert.equal(Buffer.compare(heap.copyOut(Uint8Array, p), snapshot), 0);
  assert.equal(heap.check(), 0);
});

test('pointers and marks: integers in [0, 2^32) or signed i32, else refused', async () => {
  const heap = await load(bytes);
  for (const bad of [2 ** 32, -(2 ** 31) - 1, 8.5, NaN, Infinity]) {
    refuses(heap, () => heap.deallocate(bad), RangeError, /deallocate\(ptr\): ptr must be an integer/);
    refuses(heap, () => heap.size(bad), RangeError, /size\(ptr\)/);
    refuses(heap, () => heap.reallocate(bad, 8), RangeError, /reallocate\(ptr, size\): ptr/);
    refuses(heap, () => heap.freeToMark(bad), RangeError, /freeToMark\(mark\): mark/);
    refuses(heap, () => heap.readString(bad), RangeError, /readString\(ptr, length\): ptr/);
    refuses(heap, () => heap.readCString(bad), RangeError, /readCString\(ptr\): ptr/);
    refuses(heap, () => heap.copyOut(Uint8Array, bad), RangeError, /copyOut\(Type, ptr, length\): ptr/);
    refuses(heap, () => heap.view(Uint8Array, bad, 1), RangeError, /view\(Type, ptr, length\): ptr/);
  }
  // A signed pointer is the same pointer: -8 is 0xFFFFFFF8, not a block (a rejected free, counted).
  heap.deallocate(-8);
  assert.equal(heap.stats().rejected_frees, 1);
  assert.equal(heap.size(-8), 0);
  // A signed mark from the raw export is accepted as it is.
  const mark = heap.exports.free_get_mark();
  heap.allocate(100);
  heap.freeToMark(mark | 0);
  assert.equal(heap.stats().live_blocks, 0);
  assert.equal(heap.stats().rejected_marks, 0);
  // Views: aligned to their element, and inside 32-bit memory.
  refuses(heap, () => heap.view(Float64Array, 12, 1), RangeError, /ptr 12 is not a multiple of Float64Array.BYTES_PER_ELEMENT \(8\)/);
  refuses(heap, () => heap.view(Uint8Array, 2 ** 32 - 4, 8), RangeError, /pass 2\^32/);
  refuses(heap, () => new LiveView({}, Uint8Array, 8, 1), TypeError, /LiveView: heap must be a WasmHeap/);
});

test('reads past the end of memory throw instead of returning fewer bytes', async () => {
  const heap = await load(bytes);
  const end = heap.memory.buffer.byteLength;
  refuses(heap, () => heap.copyOut(Uint8Array, end - 2, 4), RangeError,
    new RegExp(`copyOut\\(Type, ptr, length\\): bytes ${end - 2} to ${end + 2} pass the end of memory \\(${end} bytes\\)`));
  refuses(heap, () => heap.readString(end - 1, 2), RangeError, /readString\(ptr, length\): bytes/);
  refuses(heap, () => heap.readCString(end + 1), RangeError, /readCString\(ptr\)/);
  const v = heap.view(Uint32Array, end, 4);
  assert.throws(() => v.array, /LiveView.array: bytes .* pass the end of memory/);
  assert.deepEqual([...heap.copyOut(Uint8Array, end - 2, 2)], [0, 0]);
  assert.equal(heap.readString(end, 0), '');
  assert.equal(heap.readCString(end), '');
});

test('load and init check their arguments', async () => {
  await assert.rejects(load(null), { name: 'TypeError', message: /load\(source\): source must be .* got null/ });
  await assert.rejects(load([1, 2]), { name: 'TypeError', message: /got an Array/ });
  await assert.rejects(load(bytes, 'x'), { name: 'TypeError', message: /options must be an object, got "x"/ });
  await assert.rejects(load(bytes, { memory: new ArrayBuffer(8) }), { name: 'TypeError', message: /options.memory must be a WebAssembly.Memory, got an? ArrayBuffer/ });
  await assert.rejects(load(imBytes, { start: -(2 ** 32) }), { name: 'RangeError', message: /options.start/ });
  await assert.rejects(load(imBytes, { end: 'x' }), { name: 'TypeError', message: /options.end must be a number/ });
  assert.throws(() => new WasmHeap({}), { name: 'TypeError', message: /instance must be a WebAssembly.Instance, got an object/ });
  const heap = await load(imBytes);
  assert.throws(() => heap.init(0.5), { name: 'RangeError', message: /init\(start, end\): start/ });
  assert.throws(() => heap.init(0, '0'), { name: 'TypeError', message: /init\(start, end\): end must be a number, got "0"/ });
  const plain = await load(bytes);
  assert.throws(() => plain.init(0, 0), { name: 'TypeError', message: /this flavor has no init/ });
});

test('load() with no argument finds wasmheap.wasm next to the wrapper', async () => {
  const heap = await load();
  const p = heap.writeString('found');
  assert.equal(heap.readString(p), 'found');
  assert.ok(!WebAssembly.Module.imports(await WebAssembly.compile(bytes)).length);
  assert.equal(heap.check(), 0);
  // file: URLs, as URL or string, are read from disk in Node.
  const url = new URL('../../wasm/wasmheap-import-memory.wasm', import.meta.url);
  for (const source of [url, url.href]) assert.equal((await load(source)).check(), 0);
});

test('out of memory: 0 from the raw-style methods, a RangeError naming the call from the helpers', async () => {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 2 });
  const heap = await load(imBytes, { memory });
  assert.equal(heap.allocate(200_000), 0);
  assert.equal(heap.allocateAligned(200_000, 64), 0);
  assert.equal(heap.reallocate(0, 200_000), 0);
  assert.throws(() => heap.writeString('x'.repeat(200_000)), { name: 'RangeError', message: /writeString\(text, options\): out of memory \(200000 bytes\)/ });
  assert.throws(() => heap.copyIn(new Uint8Array(200_000)), { name: 'RangeError', message: /copyIn\(data\): out of memory \(200000 bytes\)/ });
  assert.throws(() => heap.allocArray(Float64Array, 30_000), { name: 'RangeError', message: /allocArray\(Type, length\): out of memory \(240000 bytes\)/ });
  assert.equal(heap.stats().failures, 6);
  assert.equal(heap.check(), 0);
});

test('pointers above 2 GiB: every method takes the signed i32 a raw export returns', async (t) => {
  // A heap in a region that starts past 2 GiB of a shared memory (pages are only reserved: the
  // untouched ones cost nothing).
  const base = 2 ** 31;
  let memory;
  try {
    memory = new WebAssembly.Memory({ initial: base / 65536 + 2 });
  } catch (e) {
    t.skip(`no 2 GiB memory here: ${e}`);
    return;
  }
  const heap = await load(imBytes, { memory, start: base });
  const raw = heap.exports.allocate(16);
  assert.ok(raw < 0, 'the raw export returns it signed');
  const p = raw >>> 0;
  assert.ok(p > base);
  heap.u8.set([104, 105, 0, 33], p);
  assert.deepEqual([...heap.copyOut(Uint8Array, raw, 4)], [104, 105, 0, 33], 'copyOut reads the right bytes');
  assert.equal(heap.copyOut(Uint8Array, raw).length, 16, 'and the block size of the right block');
  assert.equal(heap.size(raw), 16);
  assert.equal(heap.readCString(raw), 'hi');
  assert.equal(heap.readString(raw, 2), 'hi');
  assert.equal(heap.view(Uint8Array, raw, 2).ptr, p);
  const q = heap.reallocate(raw, 32);
  assert.equal(heap.readString(q, 2), 'hi');
  heap.deallocate(q | 0);
  assert.equal(heap.stats().live_blocks, 0);
  assert.equal(heap.stats().rejected_frees, 0);
  assert.equal(heap.check(), 0);
});
