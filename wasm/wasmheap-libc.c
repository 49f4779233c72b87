/* wasmheap-libc.c: wasmheap as the allocator of a C program built with wasi-libc, as a drop-in.
 *
 *     clang --target=wasm32-wasi -O2 -I wasm -Wl,--import-memory -o prog.wasm prog.c wasm/wasmheap-libc.c
 *
 * The host instantiates wasm/wasmheap-import-memory.wasm with the program's memory as env.memory
 * and passes its exports to the program as the module "wasmheap" (FLAVORS.md, section 6). This
 * file defines every name that wasi-libc's own allocator (dlmalloc.o) defines:
 * malloc, free, calloc, realloc, aligned_alloc, posix_memalign, malloc_usable_size and the
 * __libc_malloc, __libc_free, __libc_calloc that libc calls internally. So nothing references
 * dlmalloc.o, the linker leaves it out (otherwise: "duplicate symbol: malloc"), and every
 * allocation, the program's and libc's, is wasmheap's.
 *
 * The heap gets the memory above the program's data and stack (&__heap_base) to the end of
 * memory, growing it, from a constructor of priority 1, which runs before libc's constructors
 * (they allocate); the calls below also set it up if they come first. Failures set errno to
 * ENOMEM, as POSIX asks. malloc, calloc and realloc are 16-aligned (alignof(max_align_t)). */
#include <errno.h>
#include <stddef.h>

#include "wasmheap-libc.h"

WASMHEAP_LIBC_IMPORT("malloc") void *wasmheap_malloc(size_t size);
WASMHEAP_LIBC_IMPORT("free") void wasmheap_free(void *ptr);
WASMHEAP_LIBC_IMPORT("calloc") void *wasmheap_calloc(size_t n, size_t size);
WASMHEAP_LIBC_IMPORT("realloc") void *wasmheap_realloc(void *ptr, size_t size);
WASMHEAP_LIBC_IMPORT("aligned_alloc") void *wasmheap_aligned_alloc(size_t align, size_t size);
WASMHEAP_LIBC_IMPORT("posix_memalign") int wasmheap_posix_memalign(void **memptr, size_t align, size_t size);

extern unsigned char __heap_base;

static int wasmheap_ready;

static void wasmheap_setup(void) {
    if (__builtin_expect(!wasmheap_ready, 0)) wasmheap_ready = wasmheap_init(&__heap_base, 0);
}

#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wunknown-warning-option"
#pragma clang diagnostic ignored "-Wprio-ctor-dtor" /* priorities below 101 are "reserved": wanted */
__attribute__((constructor(1))) static void wasmheap_libc_constructor(void) { wasmheap_setup(); }
#pragma clang diagnostic pop

static void *wasmheap_result(void *p) {
    if (p == NULL) errno = ENOMEM;
    return p;
}

void *malloc(size_t size) {
    wasmheap_setup();
    return wasmheap_result(wasmheap_malloc(size));
}

void free(void *ptr) {
    wasmheap_free(ptr);
}

void *calloc(size_t n, size_t size) {
    wasmheap_setup();
    return wasmheap_result(wasmheap_calloc(n, size));
}

void *realloc(void *ptr, size_t size) {
    wasmheap_setup();
    return wasmheap_result(wasmheap_realloc(ptr, size));
}

void *aligned_alloc(size_t align, size_t size) {
    wasmheap_setup();
    return wasmheap_result(wasmheap_aligned_alloc(align, size));
}

int posix_memalign(void **memptr, size_t align, size_t size) {
    wasmheap_setup();
    return wasmheap_posix_memalign(memptr, align, size);
}

size_t malloc_usable_size(void *ptr) {
    return wasmheap_size(ptr);
}

void *__libc_malloc(size_t size) { return malloc(size); }
void __libc_free(void *ptr) { free(ptr); }
void *__libc_calloc(size_t n, size_t size) { return calloc(n, size); }
