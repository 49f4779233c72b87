/* wasmheap for C programs compiled to wasm32 (clang --target=wasm32): the allocator is imported
 * from an instance of wasm/wasmheap-import-memory.wasm registered under the module name
 * "wasmheap". Program and heap share one memory: link the program with -Wl,--import-memory, and
 * give the heap the memory above the program's data and stack once, before the first malloc:
 *
 *     extern unsigned char __heap_base;
 *     wasmheap_init(&__heap_base, 0);     // 0: up to the end of memory, growing it as needed
 */
#ifndef WASMHEAP_H
#define WASMHEAP_H

typedef __SIZE_TYPE__ size_t;

#define WASMHEAP_IMPORT(name) __attribute__((import_module("wasmheap"), import_name(name)))

/* 1 when the region [start, end) is the heap's now (end 0: to the end of memory, growing it). */
WASMHEAP_IMPORT("init") int wasmheap_init(void *start, void *end);

WASMHEAP_IMPORT("malloc") void *malloc(size_t size);
WASMHEAP_IMPORT("free") void free(void *ptr);
WASMHEAP_IMPORT("calloc") void *calloc(size_t n, size_t size);
WASMHEAP_IMPORT("realloc") void *realloc(void *ptr, size_t size);
WASMHEAP_IMPORT("aligned_alloc") void *aligned_alloc(size_t align, size_t size);
/* 0, or EINVAL (28) / ENOMEM (48), the WASI numbers. */
WASMHEAP_IMPORT("posix_memalign") int posix_memalign(void **memptr, size_t align, size_t size);

/* The rest of the raw ABI (src/CONTRACT.md, "The raw ABI"). */
WASMHEAP_IMPORT("size") size_t wasmheap_size(void *ptr);
WASMHEAP_IMPORT("free_get_mark") unsigned wasmheap_get_mark(void);
WASMHEAP_IMPORT("free_to_mark") void wasmheap_to_mark(unsigned mark);
WASMHEAP_IMPORT("check") unsigned wasmheap_check(void);

#endif
