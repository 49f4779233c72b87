// A worker of shared-wrapper.test.mjs: loads wasmheap-shared.wasm through wasm/wasmheap.js (one
// call), writes strings and arrays into the shared heap, and hands the main thread the pointers
// of some, which it reads and frees there.
import { parentPort, workerData } from 'node:worker_threads';
import { load } from '../../../wasm/wasmheap.js';

const { module, memory, tid, count } = workerData;
const heap = await load(module, { memory, start: 65536, mayBlock: true });
const kept = [];
for (let i = 0; i < count; i++) {
  const text = `worker ${tid}, string ${i}: grüße`;
  const p = heap.writeString(text);
  if (heap.readString(p) !== text) throw new Error(`worker ${tid}: readString(${p})`);
  const v = heap.allocArray(Float64Array, 1 + (i % 300));
  v.array.fill(tid + i / 1000);
  if (v.array[v.length - 1] !== tid + i / 1000) throw new Error(`worker ${tid}: LiveView`);
  const copy = heap.copyOut(Float64Array, v.ptr);
  if (!(copy.buffer instanceof ArrayBuffer) || copy[0] !== tid + i / 1000) throw new Error(`worker ${tid}: copyOut`);
  heap.deallocate(v.ptr);
  if (i % 10 === 0) kept.push([p, text]);
  else heap.deallocate(p);
}
parentPort.postMessage({ kept, check: heap.check(), shared: heap.isShared });
