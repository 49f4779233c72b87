/* A C program that uses wasmheap's C names (host-tests/tests/c_program.rs runs it).
 *
 *   clang --target=wasm32 -O2 -mbulk-memory -fno-builtin -nostdlib -Wl,--no-entry \
 *         -Wl,--import-memory -Wl,--export=setup -Wl,--export=run -Wl,--export=greeting \
 *         -I wasm -o c_program.wasm host-tests/clients/c-program/main.c
 *
 * -fno-builtin: without a libc, clang must not treat malloc & co. as the builtins it knows (it
 * folded away checks of their results); __builtin_memcpy/memset still become memory.copy/fill.
 *
 * Its data (GREETING, PRIMES) and its 64 KiB stack sit at low addresses, the heap above
 * __heap_base. run() returns 0, or the number of the first check that failed. */
#include "wasmheap.h"

typedef unsigned int u32;

static const char GREETING[] = "hello from a C program that shares its memory with wasmheap";
static const u32 PRIMES[16] = {2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53};
static u32 rng = 12345;

extern unsigned char __heap_base;

static u32 next(void) {
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static u32 checksum(const void *p, size_t n) {
    const unsigned char *b = p;
    u32 h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 16777619u;
    return h;
}

static size_t length(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

static char *duplicate(const char *s) {
    size_t n = length(s) + 1;
    char *d = malloc(n);
    if (d) __builtin_memcpy(d, s, n);
    return d;
}

struct node {
    struct node *next;
    u32 index, value;
    char *name;
};

static int same(const char *a, const char *b) {
    while (*a && *a == *b) a++, b++;
    return *a == *b;
}

/* Recursion with a 1 KiB frame each: the program's own stack goes deep while the heap works. */
static int deep(int depth) {
    volatile unsigned char frame[1024];
    for (int i = 0; i < 1024; i++) frame[i] = (unsigned char)(depth + i);
    void *p = malloc(100 + depth * 10);
    if (!p) return 1;
    __builtin_memset(p, depth, 100 + depth * 10);
    int bad = depth > 0 ? deep(depth - 1) : 0;
    for (int i = 0; i < 100 + depth * 10; i++) bad |= ((unsigned char *)p)[i] != (unsigned char)depth;
    free(p);
    for (int i = 0; i < 1024; i++) bad |= frame[i] != (unsigned char)(depth + i);
    return bad;
}

const char *greeting(void) { return GREETING; }

/* Gives the heap everything above the program's data and stack. */
int setup(void) { return wasmheap_init(&__heap_base, 0); }

int run(u32 rounds) {
    u32 data_before = checksum(GREETING, sizeof GREETING) ^ checksum(PRIMES, sizeof PRIMES);

    /* 1. a linked list of named nodes, freed in a different order than built */
    struct node *list = 0;
    for (u32 i = 0; i < rounds; i++) {
        struct node *n = malloc(sizeof *n);
        if (!n) return 1;
        n->index = i;
        n->value = i * PRIMES[i % 16];
        n->name = duplicate(GREETING + i % 20);
        if (!n->name) return 1;
        n->next = list;
        list = n;
    }
    u32 sum = 0, expected = 0;
    for (u32 i = 0; i < rounds; i++) expected += i * PRIMES[i % 16];
    for (struct node *n = list; n; n = n->next) {
        sum += n->value;
        if (!same(n->name, GREETING + n->index % 20)) return 2;
    }
    if (sum != expected) return 2;
    while (list) {
        struct node *n = list;
        list = n->next;
        if (wasmheap_size(n->name) != length(n->name) + 1) return 3;
        free(n->name);
        free(n);
    }

    /* 2. a growing array: realloc keeps the contents */
    u32 *array = 0;
    size_t cap = 0;
    for (u32 i = 0; i < rounds * 4; i++) {
        if (i == cap) {
            cap = cap ? cap * 2 : 4;
            u32 *grown = realloc(array, cap * sizeof *grown);
            if (!grown) return 4;
            array = grown;
        }
        array[i] = i ^ 0x5A5A;
    }
    for (u32 i = 0; i < rounds * 4; i++)
        if (array[i] != (i ^ 0x5A5A)) return 5;
    free(array);

    /* 3. calloc is zero, also where malloc'd memory was dirtied and freed */
    for (int round = 0; round < 3; round++) {
        u32 *m = calloc(300 * 100, sizeof(u32));
        if (!m) return 6;
        for (u32 i = 0; i < 300 * 100; i++)
            if (m[i]) return 7;
        __builtin_memset(m, 0xEE, 300 * 100 * sizeof(u32));
        free(m);
    }
    if (calloc((size_t)1 << 16, (size_t)1 << 16)) return 8; /* overflow */

    /* 4. alignment */
    void *a = aligned_alloc(64, 1000);
    void *b = 0;
    if (!a || (unsigned long)a % 64) return 9;
    if (posix_memalign(&b, 4096, 100) || !b || (unsigned long)b % 4096) return 10;
    if (posix_memalign(&b, 3, 100) != 28) return 11;
    free(a);
    free(b);

    /* 5. churn with random sizes, and a mark that releases a whole batch */
    void *slots[64] = {0};
    for (u32 i = 0; i < rounds * 8; i++) {
        u32 r = next(), s = r % 64;
        if (slots[s]) {
            free(slots[s]);
            slots[s] = 0;
        } else {
            slots[s] = malloc(r >> 20);
            if (!slots[s]) return 12;
        }
    }
    unsigned mark = wasmheap_get_mark();
    if (!mark) return 13;
    for (u32 i = 0; i < rounds; i++)
        if (!malloc(i % 500)) return 14;
    wasmheap_to_mark(mark);
    for (u32 s = 0; s < 64; s++) free(slots[s]);

    /* 6. the program's own stack, 32 KiB deep, beside the heap */
    if (deep(32)) return 15;

    if (wasmheap_check()) return 16;
    if (checksum(GREETING, sizeof GREETING) ^ checksum(PRIMES, sizeof PRIMES) ^ data_before) return 17;
    return 0;
}
