/* wasmheap for C programs built with a libc (wasi-libc): compile wasm/wasmheap-libc.c into the
 * program and every malloc, of the program and of libc itself, is served by an instance of
 * wasm/wasmheap-import-memory.wasm that the host registers under the module name "wasmheap" and
 * that shares the program's memory (link with -Wl,--import-memory):
 *
 *     clang --target=wasm32-wasi -O2 -I wasm -Wl,--import-memory -o prog.wasm prog.c wasm/wasmheap-libc.c
 *
 * The program calls malloc, free, calloc, realloc, aligned_alloc, posix_memalign from <stdlib.h>
 * as usual; this header only adds the rest of wasmheap's raw ABI (src/CONTRACT.md). */
#ifndef WASMHEAP_LIBC_H
#define WASMHEAP_LIBC_H

#include <stddef.h>

#define WASMHEAP_LIBC_IMPORT(name) __attribute__((import_module("wasmheap"), import_name(name)))

/* 1 when the region [start, end) is the heap's now (end 0: to the end of memory, growing it).
 * wasmheap-libc.c calls it with &__heap_base before libc's constructors run. */
WASMHEAP_LIBC_IMPORT("init") int wasmheap_init(void *start, void *end);
/* The size last requested for a live block; 0 for anything else. */
WASMHEAP_LIBC_IMPORT("size") size_t wasmheap_size(void *ptr);
/* Marks: every block allocated after the mark is released by wasmheap_to_mark(mark). */
WASMHEAP_LIBC_IMPORT("free_get_mark") unsigned wasmheap_get_mark(void);
WASMHEAP_LIBC_IMPORT("free_to_mark") void wasmheap_to_mark(unsigned mark);
/* 0 when the heap is sound, else the code of the first broken invariant. */
WASMHEAP_LIBC_IMPORT("check") unsigned wasmheap_check(void);
/* The 16 statistics (live_blocks, live_bytes, ...: CONTRACT.md, "Statistics") into out[0..16]. */
WASMHEAP_LIBC_IMPORT("stats") void wasmheap_stats(unsigned out[16]);

#endif
