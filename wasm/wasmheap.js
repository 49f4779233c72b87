// wasmheap.js: load a wasmheap module in JavaScript and use it with unsigned pointers, strings,
// typed arrays and views that survive memory growth. An ES module with no dependencies, for
// browsers, bundlers and Node >= 18. Types: wasmheap.d.ts. npm package: `wasmheap`.
//
//   import { load } from 'wasmheap';          // or './wasmheap.js'
//   const heap = await load();                // ./wasmheap.wasm next to this file
//   const p = heap.writeString('hello, heap');
//   heap.readString(p);                       // 'hello, heap'
//   heap.deallocate(p);
//
// Works with every flavor in this directory. For wasmheap-import-memory.wasm pass the memory to
// share and the region the heap may use: load(url, { memory, start, end }); without a memory, a
// fresh one of one page is made and the heap gets all of it (start 0, end 0: growing).
//
// wasmheap-shared.wasm is one heap for every thread: each worker (and the main thread, if it
// uses the heap) loads it with the same shared memory and region, load(module, { memory, start,
// end, mayBlock }); the first call sets the heap up, the others join it (FLAVORS.md, section 11).
//
// memoryImport(bytes) reads the limits of the memory a module imports, for the host of a C program
// that shares its memory with wasmheap-import-memory.wasm (FLAVORS.md, sections 5 and 6):
// new WebAssembly.Memory(memoryImport(bytes)).
//
// Every method checks its arguments before it calls the module: a size, length or alignment
// that is not an integer from 0 to 2^32 - 1 throws a RangeError (a value that is not a number at
// all, a TypeError), and nothing is allocated. Pointers and marks are taken unsigned: an integer
// from 0 to 2^32 - 1, or the signed i32 that the raw exports return for one above 2 GiB. The
// messages name the call and the value.

/** The 16 fields written by `stats(out_ptr)`, in order (src/CONTRACT.md, "Statistics"). */
export const STAT_FIELDS = Object.freeze([
  'live_blocks', 'live_bytes', 'peak_bytes', 'heap_bytes', 'free_bytes', 'largest_free',
  'allocations', 'frees', 'reallocations', 'failures', 'rejected_frees', 'rejected_marks',
  'mark_depth', 'memory_grows', 'heap_start', 'heap_top',
]);

/** Bytes that `stats(out_ptr)` writes: one u32 per field. */
const STATS_BYTES = 4 * STAT_FIELDS.length;
/** Bytes of the debug flavor's buffer for walks (`debug_buffer`; BUFFER_BYTES in src/flavors/debug/ring.rs). */
const DEBUG_BUFFER_BYTES = 4096;

/** `blocks()` states, by the number `debug_blocks` writes (debug flavor). */
export const BLOCK_STATES = Object.freeze(['used', 'free', 'binned', 'control', 'top']);

/** `reports()` names, by report code (debug flavor; FLAVORS.md, section 9). */
export const REPORT_NAMES = Object.freeze({
  1: 'bad-deallocate', 2: 'bad-reallocate', 3: 'stale-mark', 4: 'overrun', 5: 'write-after-free', 6: 'corrupted',
});

/** Why a pointer was refused: the `detail` of reports 1 and 2. */
export const REFUSAL_REASONS = Object.freeze({
  1: 'misaligned', 2: 'outside', 3: 'already-free', 4: 'not-live', 5: 'smashed-header',
});

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** UTF-8 of `u8[from, to)`; from a copy when the memory is shared (TextDecoder refuses shared views). */
const decode = (u8, from, to) =>
  decoder.decode(u8.buffer instanceof ArrayBuffer ? u8.subarray(from, to) : u8.slice(from, to));

// ---- argument checks ------------------------------------------------------------------------

const MAX_U32 = 0xFFFF_FFFF;
const TypedArray = Object.getPrototypeOf(Uint8Array);
const tag = (x) => Object.prototype.toString.call(x);

/** How a value appears in an error message. */
function describe(v) {
  switch (typeof v) {
    case 'string': return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
    case 'number': return Object.is(v, -0) ? '-0' : String(v);
    case 'bigint': return `${v}n`;
    case 'symbol': return v.toString();
    case 'function': return v.name ? `the function ${v.name}` : 'a function';
    case 'undefined': return 'undefined';
    case 'boolean': return String(v);
  }
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an Array (length ${v.length})`;
  const name = Object.getPrototypeOf(v)?.constructor?.name;
  return name && name !== 'Object' ? `a ${name}` : `an object (${tag(v)})`;
}

function number(value, call, what) {
  if (typeof value !== 'number') {
    throw new TypeError(`wasmheap: ${call}: ${what} must be a number, got ${describe(value)}`);
  }
}

/** A size, length or alignment: an integer in [0, 2^32). */
function u32(value, call, what) {
  number(value, call, what);
  if (!Number.isInteger(value) || value < 0 || value > MAX_U32) {
    throw new RangeError(`wasmheap: ${call}: ${what} must be an integer from 0 to 2^32 - 1, got ${describe(value)}`);
  }
  return value;
}

/** A pointer or mark, taken unsigned: an integer in [0, 2^32), or a negative i32 as the raw
 *  exports return values of 2^31 and above. */
function ptr32(value, call, what) {
  number(value, call, what);
  if (!Number.isInteger(value) || value < -0x8000_0000 || value > MAX_U32) {
    throw new RangeError(`wasmheap: ${call}: ${what} must be an integer from 0 to 2^32 - 1 ` +
      `(or the signed i32 a raw export returned), got ${describe(value)}`);
  }
  return value >>> 0;
}

/** A typed-array constructor (Uint8Array, Float64Array, BigInt64Array, ...). */
function elementType(Type, call) {
  if (typeof Type !== 'function' || !(Type.prototype instanceof TypedArray)) {
    throw new TypeError(`wasmheap: ${call}: Type must be a typed-array constructor ` +
      `(Uint8Array, Float64Array, ...), got ${describe(Type)}`);
  }
  return Type;
}

/** `length` elements of `Type` in bytes; a RangeError when that is 2^32 or more. */
function byteLength(Type, length, call) {
  const bytes = length * Type.BYTES_PER_ELEMENT;
  if (bytes > MAX_U32) {
    throw new RangeError(`wasmheap: ${call}: ${length} elements of ${Type.name} are ${bytes} bytes, ` +
      'more than a 32-bit memory holds');
  }
  return bytes;
}

/** [ptr, ptr + bytes) must lie inside `buffer`. */
function inside(buffer, ptr, bytes, call) {
  if (ptr + bytes > buffer.byteLength) {
    throw new RangeError(`wasmheap: ${call}: bytes ${ptr} to ${ptr + bytes} pass the end of memory ` +
      `(${buffer.byteLength} bytes)`);
  }
}

const isResponse = (x) => typeof Response !== 'undefined' && x instanceof Response;

/** Reads a file: URL in Node (whose fetch does not take them); `null` elsewhere. */
async function readFileUrl(url) {
  if (url.protocol !== 'file:' || typeof process !== 'object' || !process.versions?.node) return null;
  const fs = 'node:fs/promises'; // a variable: bundlers for the browser leave it alone
  const { readFile } = await import(/* webpackIgnore: true */ /* @vite-ignore */ fs);
  return readFile(url);
}

/** Compiles `source`, streaming where the platform and the response allow it. */
async function compile(source) {
  source = await source;
  if (source instanceof WebAssembly.Module) return source;
  if (typeof source === 'string' && /^file:/i.test(source)) source = new URL(source);
  if (source instanceof URL) source = (await readFileUrl(source)) ?? source;
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
  if (ArrayBuffer.isView(source) || tag(source) === '[object ArrayBuffer]') return WebAssembly.compile(source);
  throw new TypeError('wasmheap: load(source): source must be bytes, a WebAssembly.Module, a URL or a ' +
    `Response, got ${describe(source)}`);
}

/**
 * Loads a wasmheap module from bytes (ArrayBuffer or a view), a WebAssembly.Module, a URL (string
 * or URL, fetched; a file: URL is read from disk in Node), or a Response (or a promise of one).
 * Without a source: `wasmheap.wasm` next to this file. Resolves to a {@link WasmHeap}.
 */
export async function load(source = new URL('./wasmheap.wasm', import.meta.url), options = {}) {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`wasmheap: load(source, options): options must be an object, got ${describe(options)}`);
  }
  if (options.memory !== undefined && !(options.memory instanceof WebAssembly.Memory)) {
    throw new TypeError('wasmheap: load(source, options): options.memory must be a WebAssembly.Memory, ' +
      `got ${describe(options.memory)}`);
  }
  const start = ptr32(options.start ?? 0, 'load(source, options)', 'options.start');
  const end = ptr32(options.end ?? 0, 'load(source, options)', 'options.end');
  const module = await compile(source);
  const imports = { ...(options.imports ?? {}) };
  const needsMemory = WebAssembly.Module.imports(module)
    .some((i) => i.module === 'env' && i.name === 'memory' && i.kind === 'memory');
  let memory = options.memory;
  if (WebAssembly.Module.exports(module).some((e) => e.name === 'set_may_block')) {
    // The shared flavor: no memory of its own making (each thread must pass the same one).
    requireShared(memory, 'load(source, options)', 'options.memory');
  }
  if (needsMemory) {
    memory ??= new WebAssembly.Memory({ initial: 1 });
    imports.env = { ...(imports.env ?? {}), memory };
  }
  const instance = await WebAssembly.instantiate(module, imports);
  const heap = new WasmHeap(instance, memory);
  if (options.mayBlock) heap.setMayBlock(true);
  if (needsMemory) heap.init(start, end);
  return heap;
}

/** Throws unless `memory` is a shared WebAssembly.Memory (what the shared flavor imports). */
function requireShared(memory, call, what) {
  const shared = typeof SharedArrayBuffer === 'function' && memory instanceof WebAssembly.Memory &&
    memory.buffer instanceof SharedArrayBuffer;
  if (!shared) {
    throw new TypeError(`wasmheap: ${call}: wasmheap-shared.wasm needs ${what} to be a shared WebAssembly.Memory ` +
      `(new WebAssembly.Memory({ initial, maximum, shared: true }), the same in every thread), got ${describe(memory)}` +
      (memory instanceof WebAssembly.Memory ? ' that is not shared' : '') +
      (typeof SharedArrayBuffer === 'function' ? '' : '; SharedArrayBuffer is not available here (a page needs cross-origin isolation: COOP and COEP headers)'));
  }
}

/** What the shared flavor's raw ABI is before `init`: every call throws (the module would trap). */
function beforeInit(exports) {
  const guard = {};
  for (const name of Object.keys(exports)) {
    guard[name] = typeof exports[name] !== 'function' || name === 'init' || name === 'set_may_block' ? exports[name] : () => {
      throw new Error(`wasmheap: ${name}: the shared flavor has no heap before init(start, end) ` +
        '(load(source, { memory, start, end }) calls it)');
    };
  }
  return guard;
}

// ---- the memory a module imports ----------------------------------------------------------

/** Reads the import section of a module's bytes for its first memory import (memory 0):
 *  `{ module, name, initial, maximum, shared }` in 64 KiB pages (no `maximum` key when the module
 *  sets none), or `null` when the module imports no memory. `WebAssembly.Module.imports` gives no
 *  limits, and the memory a host passes must have at least `initial` pages (and, when the module
 *  sets a maximum, a maximum no larger): the result is a descriptor for exactly such a memory,
 *  `new WebAssembly.Memory(memoryImport(bytes))`. Only the header and the sections up to the
 *  import section are read; the module is not validated. Malformed bytes throw a
 *  `WebAssembly.CompileError`; a 64-bit memory or one with a custom page size a `RangeError`. */
export function memoryImport(bytes) {
  const call = 'memoryImport(bytes)';
  let u8;
  if (ArrayBuffer.isView(bytes)) u8 = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  else if (tag(bytes) === '[object ArrayBuffer]' || tag(bytes) === '[object SharedArrayBuffer]') u8 = new Uint8Array(bytes);
  else if (bytes instanceof WebAssembly.Module) {
    throw new TypeError(`wasmheap: ${call}: a compiled WebAssembly.Module keeps no memory limits; pass the bytes it was compiled from`);
  } else {
    throw new TypeError(`wasmheap: ${call}: bytes must be an ArrayBuffer or a view of one, got ${describe(bytes)}`);
  }
  let at = 0;
  const fail = (what) => { throw new WebAssembly.CompileError(`wasmheap: ${call}: ${what} at byte ${at}`); };
  const byte = () => (at < u8.length ? u8[at++] : fail('unexpected end of the module'));
  // An unsigned LEB128 of at most `bits` bits, as a Number (exact below 2^53).
  const leb = (bits = 32) => {
    let value = 0;
    for (let shift = 0; shift < bits; shift += 7) {
      const b = byte();
      value += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return value;
    }
    return fail(`a LEB128 number longer than ${bits} bits`);
  };
  const skip = (n) => { at += n; if (at > u8.length) fail('unexpected end of the module'); };
  const name = () => {
    const n = leb();
    const start = at;
    skip(n);
    return decoder.decode(u8.subarray(start, at));
  };
  // A value type: a one-byte type, or a (nullable) reference to a heap type (an s33).
  const valueType = () => { const t = byte(); if (t === 0x63 || t === 0x64) leb(33); };
  const limits = () => {
    const flags = byte();
    if (flags > 0x0f) fail(`limits with the unknown flags 0x${flags.toString(16)}`);
    const wide = (flags & 0x04) !== 0;
    const result = { initial: leb(wide ? 64 : 32) };
    if (flags & 0x01) result.maximum = leb(wide ? 64 : 32);
    if (flags & 0x08) leb(); // the log2 of a custom page size
    return { flags, ...result };
  };

  if (u8.length < 8 || u8[0] !== 0 || u8[1] !== 0x61 || u8[2] !== 0x73 || u8[3] !== 0x6d) fail('no wasm magic number (\\0asm)');
  if (u8[4] !== 1 || u8[5] !== 0 || u8[6] !== 0 || u8[7] !== 0) {
    at = 4;
    fail('not a core module of version 1 (a component?)');
  }
  at = 8;
  while (at < u8.length) {
    const id = byte();
    const size = leb();
    const end = at + size;
    if (end > u8.length) fail(`section ${id} runs past the end of the module`);
    if (id !== 2) { // anything but the import section
      at = end;
      continue;
    }
    for (let count = leb(); count > 0; count--) {
      const module = name();
      const field = name();
      const kind = byte();
      switch (kind) {
        case 0x00: leb(); break; // function: its type
        case 0x01: valueType(); limits(); break; // table
        case 0x02: { // memory
          const { flags, ...pages } = limits();
          if (flags & 0x04) throw new RangeError(`wasmheap: ${call}: ${module}.${field} is a 64-bit memory; wasmheap is for 32-bit memories`);
          if (flags & 0x08) throw new RangeError(`wasmheap: ${call}: ${module}.${field} has a custom page size; WebAssembly.Memory has 64 KiB pages`);
          return { module, name: field, ...pages, shared: (flags & 0x02) !== 0 };
        }
        case 0x03: valueType(); byte(); break; // global: its type and mutability
        case 0x04: byte(); leb(); break; // tag: its attribute and type
        default: fail(`an import of the unknown kind 0x${kind.toString(16)}`);
      }
    }
    if (at !== end) fail('the import section does not end where its size says');
    return null;
  }
  return null;
}

/** WasmHeap's buffer reaching at least `end` (module-private). */
const FRESH = Symbol('wasmheap: a buffer that reaches end');

/** A view of `length` elements at `ptr` that is taken again whenever memory has grown. */
export class LiveView {
  #heap; #type; #buffer = null; #array = null;

  constructor(heap, Type, ptr, length) {
    const call = 'view(Type, ptr, length)';
    if (!(heap instanceof WasmHeap)) throw new TypeError(`wasmheap: LiveView: heap must be a WasmHeap, got ${describe(heap)}`);
    elementType(Type, call);
    ptr = ptr32(ptr, call, 'ptr');
    length = u32(length, call, 'length');
    const bytes = byteLength(Type, length, call);
    if (ptr % Type.BYTES_PER_ELEMENT !== 0) {
      throw new RangeError(`wasmheap: ${call}: ptr ${ptr} is not a multiple of ${Type.name}.BYTES_PER_ELEMENT (${Type.BYTES_PER_ELEMENT})`);
    }
    if (ptr + bytes > 2 ** 32) throw new RangeError(`wasmheap: ${call}: bytes ${ptr} to ${ptr + bytes} pass 2^32`);
    this.#heap = heap;
    this.#type = Type;
    /** Byte offset of the first element. */
    this.ptr = ptr;
    /** Number of elements. */
    this.length = length;
  }

  /** The typed array over the memory as it is now. */
  get array() {
    const buffer = this.#heap[FRESH](this.ptr + this.length * this.#type.BYTES_PER_ELEMENT);
    if (buffer !== this.#buffer) {
      inside(buffer, this.ptr, this.length * this.#type.BYTES_PER_ELEMENT, 'LiveView.array');
      this.#array = new this.#type(buffer, this.ptr, this.length);
      this.#buffer = buffer;
    }
    return this.#array;
  }
}

export class WasmHeap {
  #exports; #memory; #views = new Map(); #buffer = null; #scratch = 0; #scratchAllocations = 0; #debugBuffer = 0;
  #shared = false;

  constructor(instance, memory) {
    if (!(instance instanceof WebAssembly.Instance)) {
      throw new TypeError(`wasmheap: new WasmHeap(instance, memory): instance must be a WebAssembly.Instance, got ${describe(instance)}`);
    }
    /** The instance, for the raw exports. */
    this.instance = instance;
    this.#exports = instance.exports;
    this.#memory = memory ?? instance.exports.memory;
    if (!(this.#memory instanceof WebAssembly.Memory)) {
      throw new TypeError('wasmheap: new WasmHeap(instance, memory): the instance exports no memory and ' +
        `memory is ${describe(memory)}, not a WebAssembly.Memory`);
    }
    // The shared flavor traps on every call before init: the methods throw instead.
    if (typeof this.#exports.set_may_block === 'function') {
      requireShared(this.#memory, 'new WasmHeap(instance, memory)', 'memory');
      this.#shared = true;
      this.#exports = beforeInit(instance.exports);
    }
    // The debug flavor lends a buffer outside the heap for statistics and walks: no block of
    // the wrapper's own shows up among the caller's allocations.
    if (typeof this.#exports.debug_buffer === 'function') this.#debugBuffer = this.#exports.debug_buffer() >>> 0;
    else if (typeof this.#exports.init !== 'function') this.#allocScratch();
  }

  /** The raw exports of the instance (results are signed: prefer the methods). */
  get exports() { return this.instance.exports; }

  /** Whether the module is the shared flavor (wasmheap-shared.wasm): one heap for every thread. */
  get isShared() { return this.#shared; }

  /** Shared flavor: true when this thread may block (a worker): a call that finds the heap's
   *  lock taken then sleeps in `memory.atomic.wait32` after a bounded spin instead of spinning
   *  on. Never on a browser's main thread, where waiting traps. This instance only. */
  setMayBlock(on) {
    if (!this.#shared) throw new TypeError('wasmheap: setMayBlock(on): only the shared flavor (wasmheap-shared.wasm) has a lock');
    this.instance.exports.set_may_block(on ? 1 : 0);
  }

  /** The linear memory the heap lives in. */
  get memory() { return this.#memory; }

  // ---- the raw ABI, unsigned --------------------------------------------------------------

  /** import-memory flavor: gives the heap the region [start, end) of the shared memory (end 0:
   *  to the end of memory, growing it). Throws when the module refuses the region. Shared
   *  flavor: joins the heap set up in that region by any thread (the same end), or sets it up. */
  init(start, end = 0) {
    const call = 'init(start, end)';
    start = ptr32(start, call, 'start');
    end = ptr32(end, call, 'end');
    const x = this.instance.exports;
    if (typeof x.init !== 'function') throw new TypeError('wasmheap: init(start, end): this flavor has no init');
    if (x.init(start, end) !== 1) {
      throw new RangeError(`wasmheap: init(${start}, ${end}) refused the region` +
        (this.#shared ? ' (bad, or set up by another thread with another end)' : ''));
    }
    this.#exports = x;
    this.#scratchAllocations = 0;
    this.#allocScratch();
  }

  allocate(size) {
    return this.#exports.allocate(u32(size, 'allocate(size)', 'size')) >>> 0;
  }

  allocateAligned(size, align) {
    const call = 'allocateAligned(size, align)';
    return this.#exports.allocate_aligned(u32(size, call, 'size'), u32(align, call, 'align')) >>> 0;
  }

  deallocate(ptr) { this.#exports.deallocate(ptr32(ptr, 'deallocate(ptr)', 'ptr')); }

  reallocate(ptr, size) {
    const call = 'reallocate(ptr, size)';
    return this.#exports.reallocate(ptr32(ptr, call, 'ptr'), u32(size, call, 'size')) >>> 0;
  }

  size(ptr) { return this.#exports.size(ptr32(ptr, 'size(ptr)', 'ptr')) >>> 0; }
  freeGetMark() { return this.#exports.free_get_mark() >>> 0; }
  freeToMark(mark) { this.#exports.free_to_mark(ptr32(mark, 'freeToMark(mark)', 'mark')); }
  freeAllMark() { this.#exports.free_all_mark(); }
  check() { return this.#exports.check() >>> 0; }

  /** free_all(); the block that `stats()` writes into is allocated again if it went too. */
  freeAll() {
    this.#exports.free_all();
    if (this.#debugBuffer === 0 && this.size(this.#scratch) !== STATS_BYTES) this.#allocScratch();
  }

  /** The statistics as an object (STAT_FIELDS), without the block (STATS_BYTES) this wrapper keeps
   *  for them: `rawStats()` has the figures as the module writes them. */
  stats() {
    const s = this.rawStats();
    if (this.#debugBuffer !== 0) return s;
    s.live_blocks -= 1;
    s.live_bytes -= STATS_BYTES;
    s.allocations -= this.#scratchAllocations;
    return s;
  }

  rawStats() {
    if (this.#debugBuffer !== 0) {
      this.#exports.stats(this.#debugBuffer);
      return Object.fromEntries(STAT_FIELDS.map((name, i) => [name, this.#word(this.#debugBuffer, i)]));
    }
    if (this.size(this.#scratch) !== STATS_BYTES) throw new Error('wasmheap: the stats block was freed (free_all from the raw exports?)');
    this.#exports.stats(this.#scratch);
    const words = new Uint32Array(this[FRESH](this.#scratch + STATS_BYTES), this.#scratch, STAT_FIELDS.length);
    return Object.fromEntries(STAT_FIELDS.map((name, i) => [name, words[i]]));
  }

  // ---- the debug flavor (wasmheap-debug.wasm) ----------------------------------------------

  /** Whether the module is the debug flavor (the methods below need it). */
  get isDebug() { return this.#debugBuffer !== 0; }

  /** The caller tag stored in every allocation made from now on (a call-site number, say). */
  setTag(tag) { this.#debug('setTag(tag)').debug_set_tag(u32(tag, 'setTag(tag)', 'tag')); }

  /** true: the module traps at the first problem, once its report is recorded. */
  setTrap(on) { this.#debug('setTrap(on)').debug_set_trap(on ? 1 : 0); }

  /** true: the module runs check() after every call. */
  setCheck(on) { this.#debug('setCheck(on)').debug_set_check(on ? 1 : 0); }

  /** Every block of the heap in address order, then the top: {address, size, state ('used',
   *  'free', 'binned', 'control', 'top'), depth, ptr, request, id, tag}. */
  blocks() {
    return this.#walk('blocks()', 'debug_blocks', 8).map((w) => ({
      address: w[0], size: w[1], state: BLOCK_STATES[w[2]], depth: w[3], ptr: w[4], request: w[5], id: w[6], tag: w[7],
    }));
  }

  /** The live allocations in address order: {ptr, size, id, tag}. At the end of a program,
   *  its leaks. */
  leaks() {
    return this.#walk('leaks()', 'debug_live', 4).map((w) => ({ ptr: w[0], size: w[1], id: w[2], tag: w[3] }));
  }

  /** The problems reported from number `from` on that the module still holds (the last 64):
   *  {seq, code, name, ptr, id, detail}, and `reason` for a refused pointer. */
  reports(from = 0) {
    from = u32(from, 'reports(from)', 'from');
    return this.#walk('reports(from)', 'debug_reports', 5, from).map(([seq, code, ptr, id, detail]) => {
      const report = { seq, code, name: REPORT_NAMES[code] ?? `code ${code}`, ptr, id, detail };
      if (code === 1 || code === 2) report.reason = REFUSAL_REASONS[detail];
      return report;
    });
  }

  /** How many problems were reported so far. */
  reportCount() { return this.#debug('reportCount()').debug_report_count() >>> 0; }

  #debug(call) {
    if (this.#debugBuffer === 0) throw new TypeError(`wasmheap: ${call} needs the debug flavor (wasmheap-debug.wasm)`);
    return this.#exports;
  }

  /** All records of a resumable walk from `from` on, `words` u32 each, the first word its key
   *  (resumed from the last key + 1 while a call fills the buffer). */
  #walk(call, name, words, from = 0) {
    const x = this.#debug(call);
    const max = Math.floor(DEBUG_BUFFER_BYTES / (4 * words)); // whole records in the module's buffer
    const out = [];
    for (;;) {
      const n = x[name](from, this.#debugBuffer, max) >>> 0;
      for (let i = 0; i < n; i++) {
        out.push(Array.from({ length: words }, (_, k) => this.#word(this.#debugBuffer, words * i + k)));
      }
      if (n < max) return out;
      from = out[out.length - 1][0] + 1;
    }
  }

  #word(base, index) { return this.dataView.getUint32(base + 4 * index, true); }

  #allocScratch() {
    this.#scratch = this.allocateAligned(STATS_BYTES, 8);
    if (this.#scratch === 0) throw new RangeError(`wasmheap: out of memory (the ${STATS_BYTES}-byte block for stats)`);
    this.#scratchAllocations += 1;
  }

  // ---- views ------------------------------------------------------------------------------

  /** The memory's buffer, reaching `end` if memory does: in the shared flavor another thread's
   *  `memory.grow` may not show in this thread's `memory.buffer` yet (V8 updates it a little
   *  later); `memory.grow(0)` brings it up to date (the JS API's "refresh the memory buffer"). */
  [FRESH](end) {
    let buffer = this.#memory.buffer;
    if (this.#shared && buffer.byteLength < end) {
      this.#memory.grow(0);
      buffer = this.#memory.buffer;
    }
    return buffer;
  }

  #view(Type, end = 0) {
    const buffer = this[FRESH](end);
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
   *  allocation may grow memory and detach the array you hold). In the shared flavor they are
   *  as long as this thread's `memory.buffer`, which may lag another thread's growth a little:
   *  for a block, the helpers and `view()` refresh it. */
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
    const call = 'allocArray(Type, length)';
    elementType(Type, call);
    u32(length, call, 'length');
    const bytes = byteLength(Type, length, call);
    const ptr = this.#alloc(bytes, Math.max(8, Type.BYTES_PER_ELEMENT), call);
    return new LiveView(this, Type, ptr, length);
  }

  // ---- copies -----------------------------------------------------------------------------

  /** Copies a typed array, DataView or ArrayBuffer into a new block (aligned to the element, at
   *  least 8); returns its pointer. */
  copyIn(data) {
    const call = 'copyIn(data)';
    let bytes;
    let align = 8;
    if (ArrayBuffer.isView(data)) {
      bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      align = Math.max(8, data.BYTES_PER_ELEMENT ?? 1);
    } else if (tag(data) === '[object ArrayBuffer]' || tag(data) === '[object SharedArrayBuffer]') {
      bytes = new Uint8Array(data);
    } else {
      throw new TypeError(`wasmheap: ${call}: data must be a typed array, a DataView or an ArrayBuffer, got ${describe(data)}`);
    }
    // Bytes of this heap's own memory would be detached if the allocation grows it: copy first.
    if (bytes.buffer === this.#memory.buffer) bytes = bytes.slice();
    const ptr = this.#alloc(bytes.length, align, call);
    this.#view(Uint8Array, ptr + bytes.length).set(bytes, ptr);
    return ptr;
  }

  /** A copy of `length` elements of `Type` at `ptr` (default: as many as the block holds),
   *  independent of the memory. */
  copyOut(Type, ptr, length) {
    const call = 'copyOut(Type, ptr, length)';
    elementType(Type, call);
    ptr = ptr32(ptr, call, 'ptr');
    length = length === undefined
      ? Math.floor(this.size(ptr) / Type.BYTES_PER_ELEMENT) : u32(length, call, 'length');
    const bytes = byteLength(Type, length, call);
    const buffer = this[FRESH](ptr + bytes);
    inside(buffer, ptr, bytes, call);
    // An ArrayBuffer of its own, also when the memory is shared (slice would give a SharedArrayBuffer).
    const copy = new Uint8Array(bytes);
    copy.set(new Uint8Array(buffer, ptr, bytes));
    return new Type(copy.buffer);
  }

  /** Writes `text` as UTF-8 into a new block of exactly its byte length (plus a NUL when
   *  `nul` is set); returns its pointer. `size(ptr)` is then the byte length. */
  writeString(text, options = {}) {
    const call = 'writeString(text, options)';
    if (typeof text !== 'string') throw new TypeError(`wasmheap: ${call}: text must be a string, got ${describe(text)}`);
    if (options === null || typeof options !== 'object') {
      throw new TypeError(`wasmheap: ${call}: options must be an object, got ${describe(options)}`);
    }
    const nul = Boolean(options.nul);
    const bytes = encoder.encode(text);
    const ptr = this.#alloc(bytes.length + (nul ? 1 : 0), 8, call);
    const u8 = this.#view(Uint8Array, ptr + bytes.length + (nul ? 1 : 0));
    u8.set(bytes, ptr);
    if (nul) u8[ptr + bytes.length] = 0;
    return ptr;
  }

  /** Decodes `length` bytes at `ptr` as UTF-8 (default: the block's size). */
  readString(ptr, length) {
    const call = 'readString(ptr, length)';
    ptr = ptr32(ptr, call, 'ptr');
    length = length === undefined ? this.size(ptr) : u32(length, call, 'length');
    const u8 = this.#view(Uint8Array, ptr + length);
    inside(u8, ptr, length, call);
    return decode(u8, ptr, ptr + length);
  }

  /** Decodes the NUL-terminated UTF-8 string at `ptr` (to the end of memory if there is no NUL). */
  readCString(ptr) {
    const call = 'readCString(ptr)';
    ptr = ptr32(ptr, call, 'ptr');
    const u8 = this.#view(Uint8Array, ptr + 1);
    inside(u8, ptr, 0, call);
    const end = u8.indexOf(0, ptr);
    return decode(u8, ptr, end < 0 ? u8.length : end);
  }

  /** A block of `size` bytes aligned to `align` for a helper; a RangeError when out of memory. */
  #alloc(size, align, call) {
    const ptr = align > 8 ? this.#exports.allocate_aligned(size, align) >>> 0 : this.#exports.allocate(size) >>> 0;
    if (ptr === 0) throw new RangeError(`wasmheap: ${call}: out of memory (${size} bytes)`);
    return ptr;
  }
}
