// Compiled (not run) by host-tests/js/types.test.mjs with `tsc --strict --noEmit`: what a
// TypeScript user writes against wasm/wasmheap.d.ts must type-check without casts, and misuse
// must not (each @ts-expect-error line is an error the types catch; tsc fails if one is not).
import { load, LiveView, memoryImport, STAT_FIELDS, WasmHeap, type MemoryImport, type Stats, type WasmheapExports } from '../../../wasm/wasmheap.js';

export async function usage(bytes: Uint8Array<ArrayBuffer>): Promise<number> {
  const heap: WasmHeap = await load(bytes);
  const fromDefault: WasmHeap = await load();
  await load(new URL('./wasmheap.wasm', import.meta.url), { memory: new WebAssembly.Memory({ initial: 1 }), start: 0 });
  // The shared flavor: one call per worker, the same shared memory and region in each.
  const shared: WasmHeap = await load(new URL('./wasmheap-shared.wasm', import.meta.url),
    { memory: new WebAssembly.Memory({ initial: 1, maximum: 1024, shared: true }), start: 1024, mayBlock: true });
  const isShared: boolean = shared.isShared;
  shared.setMayBlock(false);
  // @ts-expect-error: mayBlock is a boolean
  await load(bytes, { mayBlock: 1 });
  void isShared;

  // The raw exports are typed: no cast.
  const x: WasmheapExports = heap.exports;
  const mark: number = heap.exports.free_get_mark();
  heap.exports.free_to_mark(mark);
  const p: number = x.allocate(16) >>> 0;
  x.deallocate(p);
  const calloc = x.calloc;
  if (calloc) calloc(4, 4);
  const memory: WebAssembly.Memory | undefined = x.memory;
  // The exports serve as an import object for client modules.
  const client = await WebAssembly.instantiate(new WebAssembly.Module(bytes), { wasmheap: heap.exports });
  void client;

  const v: LiveView<Float64Array> = heap.allocArray(Float64Array, 10);
  const first: number = v.array[0];
  const big: LiveView<BigInt64Array> = heap.view(BigInt64Array, v.ptr, 1);
  const q = heap.copyIn(new Uint32Array([1, 2, 3]));
  heap.copyIn(new ArrayBuffer(8));
  heap.copyIn(new DataView(new ArrayBuffer(8)));
  const back: Uint32Array = heap.copyOut(Uint32Array, q);
  const s: Stats = heap.stats();
  const field: keyof Stats = STAT_FIELDS[0];
  const text: string = heap.readString(heap.writeString('hi', { nul: true }));

  // A program's memory import is a descriptor for the memory to give it.
  const wanted: MemoryImport | null = memoryImport(bytes);
  if (wanted) {
    const shared: WebAssembly.Memory = new WebAssembly.Memory(wanted);
    const pages: number = wanted.initial + (wanted.maximum ?? 0);
    void shared; void pages; void (wanted.module + wanted.name);
  }
  memoryImport(new ArrayBuffer(8));
  // @ts-expect-error: a compiled module keeps no limits: bytes only
  memoryImport(new WebAssembly.Module(bytes));

  // @ts-expect-error: an Array is not a typed array
  heap.allocArray(Array, 3);
  // @ts-expect-error: copyIn takes bytes, not an Array
  heap.copyIn([1, 2, 3]);
  // @ts-expect-error: copyIn takes bytes, not a string
  heap.copyIn('abc');
  // @ts-expect-error: sizes are numbers
  heap.allocate('abc');
  // @ts-expect-error: no such export
  heap.exports.free_get_mark(1);

  void fromDefault; void memory; void first; void big; void back; void field; void text;
  return s.live_blocks;
}
