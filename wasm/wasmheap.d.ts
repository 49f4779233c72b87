// Types of wasmheap.js. Every pointer and size is an unsigned 32-bit integer (a byte offset into
// the heap's memory); 0 means "no block" (out of memory, or a bad request). At run time every
// method checks its arguments: a size, length or alignment that is not an integer from 0 to
// 2^32 - 1 throws a RangeError (a non-number a TypeError) and nothing is allocated; a pointer or
// mark may also be the signed i32 a raw export returned, and is taken unsigned.

/** The raw exports of a wasmheap instance (CONTRACT.md, "The raw ABI"). Every value is an i32: the
 *  results are signed, so a pointer at 2 GiB or above comes back negative (`>>> 0` it, or use the
 *  WasmHeap methods, which do). */
export interface WasmheapExports {
  /** The heap's memory; absent in the import-memory flavor, which imports `env.memory`. */
  readonly memory?: WebAssembly.Memory;
  allocate(size: number): number;
  allocate_aligned(size: number, align: number): number;
  deallocate(ptr: number): void;
  reallocate(ptr: number, size: number): number;
  size(ptr: number): number;
  free_all(): void;
  free_all_mark(): void;
  free_get_mark(): number;
  free_to_mark(mark: number): void;
  check(): number;
  /** Writes the 16 `u32` of {@link Stats} at `out`. */
  stats(out: number): void;
  /** import-memory and shared flavors: 1 when the region [start, end) is the heap's now (the
   *  shared flavor: set up, or joined), 0 when refused. */
  init?(start: number, end: number): number;
  /** Shared flavor: non-zero when this instance's thread may block (FLAVORS.md, section 11). */
  set_may_block?(on: number): void;
  /** The C names (wasmheap-c.wasm and wasmheap-import-memory.wasm). */
  malloc?(size: number): number;
  free?(ptr: number): void;
  calloc?(n: number, size: number): number;
  realloc?(ptr: number, size: number): number;
  aligned_alloc?(align: number, size: number): number;
  posix_memalign?(memptr: number, align: number, size: number): number;
  /** The debug flavor (wasmheap-debug.wasm; FLAVORS.md, section 9). */
  debug_buffer?(): number;
  debug_set_tag?(tag: number): void;
  debug_set_trap?(on: number): void;
  debug_set_check?(on: number): void;
  debug_live?(from: number, out: number, max: number): number;
  debug_blocks?(from: number, out: number, max: number): number;
  debug_report_count?(): number;
  debug_reports?(from: number, out: number, max: number): number;
}

/** A block of the heap, from {@link WasmHeap.blocks} (debug flavor). */
export interface Block {
  address: number;
  size: number;
  state: 'used' | 'free' | 'binned' | 'control' | 'top';
  /** The segment (mark level). */
  depth: number;
  /** For a used block: its pointer, requested size, id and caller tag (else 0). */
  ptr: number;
  request: number;
  id: number;
  tag: number;
}

/** A live allocation, from {@link WasmHeap.leaks} (debug flavor). */
export interface Allocation {
  ptr: number;
  size: number;
  id: number;
  tag: number;
}

/** A problem the debug flavor found, from {@link WasmHeap.reports}. */
export interface Report {
  seq: number;
  code: 1 | 2 | 3 | 4 | 5 | 6;
  name: 'bad-deallocate' | 'bad-reallocate' | 'stale-mark' | 'overrun' | 'write-after-free' | 'corrupted';
  ptr: number;
  id: number;
  detail: number;
  /** For codes 1 and 2: why the pointer was refused ('smashed-header': the block's header was
   *  overwritten; `id` then names the block before it when its overrun most likely did it). */
  reason?: 'misaligned' | 'outside' | 'already-free' | 'not-live' | 'smashed-header';
}

export declare const BLOCK_STATES: readonly Block['state'][];
export declare const REPORT_NAMES: Readonly<Record<number, Report['name']>>;
export declare const REFUSAL_REASONS: Readonly<Record<number, NonNullable<Report['reason']>>>;

/** The statistics (src/CONTRACT.md, "Statistics"). */
export interface Stats {
  live_blocks: number;
  live_bytes: number;
  /** The most bytes the heap has spanned from its start (its top's high-water mark: what a
   *  fixed pool would need); in the debug flavor, the peak of `live_bytes`. */
  peak_bytes: number;
  heap_bytes: number;
  free_bytes: number;
  largest_free: number;
  allocations: number;
  frees: number;
  reallocations: number;
  failures: number;
  rejected_frees: number;
  rejected_marks: number;
  mark_depth: number;
  memory_grows: number;
  heap_start: number;
  heap_top: number;
}

export declare const STAT_FIELDS: readonly (keyof Stats)[];

/** What `load` accepts: bytes, a compiled module, a URL to fetch, or a Response. */
export type Source =
  | ArrayBuffer
  | ArrayBufferView
  | WebAssembly.Module
  | URL
  | string
  | Response
  | PromiseLike<Response>;

export interface LoadOptions {
  /** import-memory flavor: the memory to share (default: a new memory of one page). Shared
   *  flavor: required, a shared memory (`{ initial, maximum, shared: true }`), the same in every
   *  thread; another memory throws a TypeError. */
  memory?: WebAssembly.Memory;
  /** import-memory and shared flavors: the region [start, end) the heap may use; end 0 (the
   *  default): to the end of memory, growing it. The first 4 KiB (from start rounded up to 16)
   *  are the module's (stack; in the shared flavor also the lock). Default start: 0. Shared
   *  flavor: every thread passes the same start and end; the first to load sets the heap up. */
  start?: number;
  end?: number;
  /** Shared flavor: this thread may block (a worker), see {@link WasmHeap.setMayBlock}. Default
   *  false: a waiter only spins, as the browser's main thread must. */
  mayBlock?: boolean;
  /** More imports, merged into the import object. */
  imports?: WebAssembly.Imports;
}

/** Loads a wasmheap module (any flavor); streams where the response is `application/wasm`.
 *  Without a source (or `undefined`): `wasmheap.wasm` next to wasmheap.js, found with
 *  `new URL("./wasmheap.wasm", import.meta.url)` (bundlers see it). A file: URL is read from disk
 *  in Node. */
export declare function load(source?: Source, options?: LoadOptions): Promise<WasmHeap>;

/** A module's memory import, from {@link memoryImport}: limits in 64 KiB pages. It is a
 *  `WebAssembly.MemoryDescriptor`: `new WebAssembly.Memory(memoryImport(bytes)!)` is a memory the
 *  module accepts. */
export interface MemoryImport {
  /** The import's module and field names ("env", "memory" for a C program linked with
   *  `--import-memory`). */
  module: string;
  name: string;
  /** The minimum the module was linked for: its stack and static data (`--initial-memory`). */
  initial: number;
  /** The maximum, when the module sets one (`--max-memory`); absent otherwise. */
  maximum?: number;
  shared: boolean;
}

/** The first memory a module's bytes import (read from its import section, which
 *  `WebAssembly.Module.imports` does not show), or `null` when it imports none. Throws a
 *  `WebAssembly.CompileError` for malformed bytes, a `RangeError` for a 64-bit memory or a
 *  custom page size, a `TypeError` for anything but bytes (a compiled module keeps no limits). */
export declare function memoryImport(bytes: ArrayBuffer | ArrayBufferView): MemoryImport | null;

type TypedArrayConstructor<T> = {
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): T;
  readonly BYTES_PER_ELEMENT: number;
};

/** A view of `length` elements at `ptr`, taken again whenever memory has grown. */
export declare class LiveView<T extends ArrayBufferView> {
  readonly ptr: number;
  readonly length: number;
  /** The typed array over the memory as it is now. */
  readonly array: T;
}

export declare class WasmHeap {
  constructor(instance: WebAssembly.Instance, memory?: WebAssembly.Memory);
  readonly instance: WebAssembly.Instance;
  /** The raw exports (results signed: prefer the methods). Typed by {@link WasmheapExports}, and
   *  usable as an import object for client modules: `{ wasmheap: heap.exports }`. */
  readonly exports: WasmheapExports & WebAssembly.Exports;
  readonly memory: WebAssembly.Memory;

  /** import-memory flavor: a new, empty heap in [start, end) (end 0: to the end of memory,
   *  growing). Shared flavor: joins the heap that any thread set up there (with the same end), or
   *  sets it up; before it every method throws. Throws a RangeError when the region is refused. */
  init(start: number, end?: number): void;

  allocate(size: number): number;
  allocateAligned(size: number, align: number): number;
  deallocate(ptr: number): void;
  reallocate(ptr: number, size: number): number;
  size(ptr: number): number;
  freeAll(): void;
  freeAllMark(): void;
  freeGetMark(): number;
  freeToMark(mark: number): void;
  check(): number;
  /** The statistics without the 64-byte block the wrapper keeps to read them. */
  stats(): Stats;
  /** The statistics as the module writes them (the wrapper's block included). */
  rawStats(): Stats;

  /** Whether the module is the debug flavor: the methods below throw a TypeError otherwise. */
  readonly isDebug: boolean;
  /** Whether the module is the shared flavor (wasmheap-shared.wasm): one heap for every thread. */
  readonly isShared: boolean;
  /** Shared flavor: true when this thread may block (a worker): a call that finds the heap's lock
   *  taken then sleeps in `memory.atomic.wait32` after a bounded spin. Never on a browser's main
   *  thread. This instance only; a TypeError on other flavors. */
  setMayBlock(on: boolean): void;
  setTag(tag: number): void;
  setTrap(on: boolean): void;
  setCheck(on: boolean): void;
  blocks(): Block[];
  leaks(): Allocation[];
  reports(from?: number): Report[];
  reportCount(): number;

  /** Whole-memory views, re-taken after memory grows: use them at once. */
  readonly u8: Uint8Array;
  readonly i32: Int32Array;
  readonly u32: Uint32Array;
  readonly f32: Float32Array;
  readonly f64: Float64Array;
  readonly dataView: DataView;

  view<T extends ArrayBufferView>(Type: TypedArrayConstructor<T>, ptr: number, length: number): LiveView<T>;
  /** A new block for `length` elements (aligned to the element, at least 8); throws a RangeError
   *  when out of memory or when `length` elements are 2^32 bytes or more. */
  allocArray<T extends ArrayBufferView>(Type: TypedArrayConstructor<T>, length: number): LiveView<T>;
  /** Copies a typed array, DataView or ArrayBuffer into a new block (aligned to the element, at
   *  least 8); returns its pointer. Throws a RangeError when out of memory, a TypeError for
   *  anything else (an Array, a string). */
  copyIn(data: ArrayBufferView | ArrayBufferLike): number;
  /** A copy of `length` elements at `ptr` (default: the whole block); a RangeError when they
   *  pass the end of memory. */
  copyOut<T extends ArrayBufferView>(Type: TypedArrayConstructor<T>, ptr: number, length?: number): T;
  /** UTF-8 into a new block of exactly its byte length (+1 NUL with `nul`); throws when out of
   *  memory. */
  writeString(text: string, options?: { nul?: boolean }): number;
  /** UTF-8 from `length` bytes at `ptr` (default: the block's size). */
  readString(ptr: number, length?: number): string;
  /** UTF-8 up to the first NUL. */
  readCString(ptr: number): string;
}
