// wasmheap.js: load a wasmheap module in JavaScript and use it with unsigned pointers, strings,
// typed arrays and views that survive memory growth. An ES module with no dependencies, for
// browsers and Node >= 18. Types: wasmheap.d.ts.
//
//   import { load } from './wasmheap.js';
//   const heap = await load(new URL('./wasmheap.wasm', import.meta.url));
//   const p = heap.writeString('hello, heap');
//   heap.readString(p);              // 'hello, heap'
//   heap.deallocate(p);
//
// Works with every flavor in this directory. For wasmheap-import-memory.wasm pass the memory to
// share and the region the heap may use: load(url, { memory, start, end }); without a memory, a
// fresh one of one page is made and the heap gets all of it (start 0, end 0: growing).

/** The 16 fields written by `stats(out_ptr)`, in order (README, "Statistics"). */
export const STAT_FIELDS = Object.freeze([
  'live_blocks', 'live_bytes', 'peak_live_bytes', 'heap_bytes', 'free_bytes', 'largest_free',
  'allocations', 'frees', 'reallocations', 'failures', 'rejected_frees', 'rejected_marks',
  'mark_depth', 'memory_grows', 'heap_start', 'heap_top',
]);

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const isResponse = (x) => typeof Response !== 'undefined' && x instanceof Response;

/** Compiles `source`, streaming where the platform and the response allow it. */
async function compile(source) {
  source = await source;
  if (source instanceof WebAssembly.Module) return source;
  if (source instanceof URL || typeof source === 'string') source = await fetch(source);
  if (isResponse(source)) {
    if (!source.ok) throw new Error(`wasmheap: fetching ${source.url} failed: ${source.status}`);
    // instantiateStreaming/compileStreaming insist on this MIME type; otherwise read the bytes.
    const type = source.headers.get('content-type') ?? '';
    if (typeof WebAssembly.compileStreaming === 'function' && type.split(';')[0].trim() === 'application/wasm') {
      return WebAssembly.compileStreaming(source);
    }
    source = await source.arrayBuffer();
  }
  if (ArrayBuffer.isView(source) || source instanceof ArrayBuffer) return WebAssembly.compile(source);
  throw new TypeError('wasmheap: load() takes bytes, a WebAssembly.Module, a URL or a Response');
}

/**
 * Loads a wasmheap module from bytes (ArrayBuffer or a view), a WebAssembly.Module, a URL (string
 * or URL, fetched), or a Response (or a promise of one). Resolves to a {@link WasmHeap}.
 */
export async function load(source, options = {}) {
  const module = await compile(source);
  const imports = { ...(options.imports ?? {}) };
  const needsMemory = WebAssembly.Module.imports(module)
    .some((i) => i.module === 'env' && i.name === 'memory' && i.kind === 'memory');
  let memory = options.memory;
  if (needsMemory) {
    memory ??= new WebAssembly.Memory({ initial: 1 });
    imports.env = { ...(imports.env ?? {}), memory };
  }
  const instance = await WebAssembly.instantiate(module, imports);
  const heap = new WasmHeap(instance, memory);
  if (needsMemory) heap.init(options.start ?? 0, options.end ?? 0);
  return heap;
}

/** A view of `length` elements at `ptr` that is taken again whenever memory has grown. */
export class LiveView {
  #heap; #type; #buffer = null; #array = null;

  constructor(heap, Type, ptr, length) {
    this.#heap = heap;
    this.#type = Type;
    /** Byte offset of the first element. */
    this.ptr = ptr >>> 0;
    /** Number of elements. */
    this.length = length >>> 0;
  }

  /** The typed array over the memory as it is now. */
  get array() {
    const buffer = this.#heap.memory.buffer;
    if (buffer !== this.#buffer) {
      this.#array = new this.#type(buffer, this.ptr, this.length);
      this.#buffer = buffer;
    }
    return this.#array;
  }
}

export class WasmHeap {
  #x; #memory; #views = new Map(); #buffer = null; #scratch = 0; #scratchAllocations = 0;

  constructor(instance, memory) {
    /** The instance, for the raw exports. */
    this.instance = instance;
    this.#x = instance.exports;
    this.#memory = memory ?? instance.exports.memory;
    if (!(this.#memory instanceof WebAssembly.Memory)) throw new Error('wasmheap: no memory');
    if (typeof this.#x.init !== 'function') this.#allocScratch();
  }

  /** The raw exports of the instance (results are signed: prefer the methods). */
  get exports() { return this.#x; }

  /** The linear memory the heap lives in. */
  get memory() { return this.#memory; }

  // ---- the raw ABI, unsigned --------------------------------------------------------------

  /** import-memory flavor: gives the heap the region [start, end) of the shared memory (end 0:
   *  to the end of memory, growing it). Throws when the module refuses the region. */
  init(start, end = 0) {
    if (typeof this.#x.init !== 'function') throw new Error('wasmheap: this flavor has no init');
    if (this.#x.init(start, end) !== 1) {
      throw new RangeError(`wasmheap: init(${start >>> 0}, ${end >>> 0}) refused the region`);
    }
    this.#scratchAllocations = 0;
    this.#allocScratch();
  }

  allocate(size) { return this.#x.allocate(size) >>> 0; }
  allocateAligned(size, align) { return this.#x.allocate_aligned(size, align) >>> 0; }
  deallocate(ptr) { this.#x.deallocate(ptr); }
  reallocate(ptr, size) { return this.#x.reallocate(ptr, size) >>> 0; }
  size(ptr) { return this.#x.size(ptr) >>> 0; }
  freeGetMark() { return this.#x.free_get_mark() >>> 0; }
  freeToMark(mark) { this.#x.free_to_mark(mark); }
  freeAllMark() { this.#x.free_all_mark(); }
  check() { return this.#x.check() >>> 0; }

  /** free_all(); the block that `stats()` writes into is allocated again if it went too. */
  freeAll() {
    this.#x.free_all();
    if (this.size(this.#scratch) !== 64) this.#allocScratch();
  }

  /** The statistics as an object (STAT_FIELDS), without the 64-byte block this wrapper keeps
   *  for them: `rawStats()` has the figures as the module writes them. */
  stats() {
    const s = this.rawStats();
    s.live_blocks -= 1;
    s.live_bytes -= 64;
    s.peak_live_bytes -= 64;
    s.allocations -= this.#scratchAllocations;
    return s;
  }

  rawStats() {
    if (this.size(this.#scratch) !== 64) throw new Error('wasmheap: the stats block was freed (free_all from the raw exports?)');
    this.#x.stats(this.#scratch);
    const words = new Uint32Array(this.#memory.buffer, this.#scratch, 16);
    return Object.fromEntries(STAT_FIELDS.map((name, i) => [name, words[i]]));
  }

  #allocScratch() {
    this.#scratch = this.allocateAligned(64, 8);
    if (this.#scratch === 0) throw new RangeError('wasmheap: out of memory');
    this.#scratchAllocations += 1;
  }

  // ---- views ------------------------------------------------------------------------------

  #view(Type) {
    const buffer = this.#memory.buffer;
    if (buffer !== this.#buffer) {
      this.#views.clear();
      this.#buffer = buffer;
    }
    let v = this.#views.get(Type);
    if (v === undefined) {
      v = Type === DataView ? new DataView(buffer) : new Type(buffer);
      this.#views.set(Type, v);
    }
    return v;
  }

  /** Views of the whole memory, taken again after memory has grown (use them at once: a later
   *  allocation may grow memory and detach the array you hold). */
  get u8() { return this.#view(Uint8Array); }
  get i32() { return this.#view(Int32Array); }
  get u32() { return this.#view(Uint32Array); }
  get f32() { return this.#view(Float32Array); }
  get f64() { return this.#view(Float64Array); }
  get dataView() { return this.#view(DataView); }

  /** A view of `length` elements of `Type` at `ptr` that survives memory growth. */
  view(Type, ptr, length) { return new LiveView(this, Type, ptr, length); }

  /** Allocates room for `length` elements of `Type`, aligned to the element (at least 8). */
  allocArray(Type, length) {
    const ptr = this.#alloc(length * Type.BYTES_PER_ELEMENT, Math.max(8, Type.BYTES_PER_ELEMENT));
    return new LiveView(this, Type, ptr, length);
  }

  // ---- copies -----------------------------------------------------------------------------

  /** Copies a typed array (or any ArrayBufferView) into a new block; returns its pointer. */
  copyIn(array) {
    const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
    const ptr = this.#alloc(bytes.length, Math.max(8, array.BYTES_PER_ELEMENT ?? 1));
    this.u8.set(bytes, ptr);
    return ptr;
  }

  /** A copy of `length` elements of `Type` at `ptr` (default: the whole block), independent of
   *  the memory. */
  copyOut(Type, ptr, length = Math.floor(this.size(ptr) / Type.BYTES_PER_ELEMENT)) {
    return new Type(this.#memory.buffer.slice(ptr, ptr + length * Type.BYTES_PER_ELEMENT));
  }

  /** Writes `text` as UTF-8 into a new block of exactly its byte length (plus a NUL when
   *  `nul` is set); returns its pointer. `size(ptr)` is then the byte length. */
  writeString(text, { nul = false } = {}) {
    const bytes = encoder.encode(text);
    const ptr = this.#alloc(bytes.length + (nul ? 1 : 0), 8);
    const u8 = this.u8;
    u8.set(bytes, ptr);
    if (nul) u8[ptr + bytes.length] = 0;
    return ptr;
  }

  /** Decodes `length` bytes at `ptr` as UTF-8 (default: the block's size). */
  readString(ptr, length = this.size(ptr)) {
    ptr >>>= 0;
    return decoder.decode(this.u8.subarray(ptr, ptr + length));
  }

  /** Decodes the NUL-terminated UTF-8 string at `ptr`. */
  readCString(ptr) {
    ptr >>>= 0;
    const u8 = this.u8;
    const end = u8.indexOf(0, ptr);
    return decoder.decode(u8.subarray(ptr, end < 0 ? u8.length : end));
  }

  #alloc(size, align) {
    const ptr = align > 8 ? this.allocateAligned(size, align) : this.allocate(size);
    if (ptr === 0) throw new RangeError(`wasmheap: out of memory (${size} bytes)`);
    return ptr;
  }
}
