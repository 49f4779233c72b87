// Types of wasmheap.js. Every pointer and size is an unsigned 32-bit integer (a byte offset into
// the heap's memory); 0 means "no block" (out of memory, or a bad request).

/** The statistics (README, "Statistics"). */
export interface Stats {
  live_blocks: number;
  live_bytes: number;
  peak_live_bytes: number;
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
  /** import-memory flavor: the memory to share (default: a new memory of one page). */
  memory?: WebAssembly.Memory;
  /** import-memory flavor: the region [start, end) the heap may use; end 0 (the default): to
   *  the end of memory, growing it. The first 4 KiB (from start rounded up to 16) are the
   *  module's stack. Default start: 0. */
  start?: number;
  end?: number;
  /** More imports, merged into the import object. */
  imports?: WebAssembly.Imports;
}

/** Loads a wasmheap module (any flavor); streams where the response is `application/wasm`. */
export declare function load(source: Source, options?: LoadOptions): Promise<WasmHeap>;

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
  /** The raw exports (results signed: prefer the methods). */
  readonly exports: WebAssembly.Exports;
  readonly memory: WebAssembly.Memory;

  /** import-memory flavor: a new, empty heap in [start, end) (end 0: to the end of memory,
   *  growing). Throws a RangeError when the region is refused. */
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

  /** Whole-memory views, re-taken after memory grows: use them at once. */
  readonly u8: Uint8Array;
  readonly i32: Int32Array;
  readonly u32: Uint32Array;
  readonly f32: Float32Array;
  readonly f64: Float64Array;
  readonly dataView: DataView;

  view<T extends ArrayBufferView>(Type: TypedArrayConstructor<T>, ptr: number, length: number): LiveView<T>;
  /** A new block for `length` elements (aligned to the element, at least 8); throws when out of
   *  memory. */
  allocArray<T extends ArrayBufferView>(Type: TypedArrayConstructor<T>, length: number): LiveView<T>;
  /** Copies the array into a new block; returns its pointer. Throws when out of memory. */
  copyIn(array: ArrayBufferView): number;
  /** A copy of `length` elements at `ptr` (default: the whole block). */
  copyOut<T extends ArrayBufferView>(Type: TypedArrayConstructor<T>, ptr: number, length?: number): T;
  /** UTF-8 into a new block of exactly its byte length (+1 NUL with `nul`); throws when out of
   *  memory. */
  writeString(text: string, options?: { nul?: boolean }): number;
  /** UTF-8 from `length` bytes at `ptr` (default: the block's size). */
  readString(ptr: number, length?: number): string;
  /** UTF-8 up to the first NUL. */
  readCString(ptr: number): string;
}
