/* cbench.c: the C workloads that scripts/cbench times on wasi-libc's own malloc (dlmalloc) and on
 * wasmheap through the drop-in wasm/wasmheap-libc.c (wasm/FLAVORS.md, section 6). They are the
 * small 16-aligned requests of issue 21's bug 2, where C's alignment costs the most:
 *
 *   trees16, trees32, trees48  binary-trees (the benchmarks game's) with nodes of 16, 32 and 48
 *                              bytes: a long-lived tree, a stretch tree one level deeper, and
 *                              many short-lived trees of every even depth from 4 up
 *   churn32                    malloc/free churn of 32-byte blocks: 4096 live, one freed and one
 *                              allocated at random, 4 million times
 *
 *     clang --target=wasm32-wasi -O2 -o cbench-dlmalloc.wasm host-tests/clients/c-libc/cbench.c
 *     clang --target=wasm32-wasi -O2 -I wasm -Wl,--import-memory \
 *         -o cbench-wasmheap.wasm host-tests/clients/c-libc/cbench.c wasm/wasmheap-libc.c
 *
 * Usage: cbench WORKLOAD [SCALE]  (SCALE: the trees' depth, default 16; the churn's millions of
 * rounds, default 4). It prints its result (checksums, so that nothing is optimised away and both
 * builds can be compared) and the peak of the bytes it had requested and not freed: the same on
 * every allocator. Deterministic: no clock, a fixed seed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t live, peak;

static void *get(size_t size) {
    void *p = malloc(size);
    if (p == NULL) {
        printf("out of memory\n");
        exit(2);
    }
    live += size;
    if (live > peak) peak = live;
    return p;
}

static void put(void *p, size_t size) {
    live -= size;
    free(p);
}

/* ---- binary-trees ---------------------------------------------------------------------- */

struct node {
    struct node *left, *right;
    uint32_t item; /* 16 bytes and up: room for it (8 bytes of pointers on wasm32 + the item) */
};

static size_t node_size;

static struct node *tree(int depth, uint32_t item) {
    struct node *n = get(node_size);
    n->item = item;
    if (depth > 0) {
        n->left = tree(depth - 1, 2 * item);
        n->right = tree(depth - 1, 2 * item + 1);
    } else {
        n->left = n->right = NULL;
    }
    return n;
}

/* Nodes counted, items summed (the benchmarks game's check, with an item to read). */
static uint32_t check(const struct node *n) {
    uint32_t c = 1 + (n->item & 1);
    if (n->left != NULL) c += check(n->left) + check(n->right);
    return c;
}

static void drop(struct node *n) {
    if (n->left != NULL) {
        drop(n->left);
        drop(n->right);
    }
    put(n, node_size);
}

static void trees(size_t size, int max_depth) {
    node_size = size;
    if (max_depth < 6) max_depth = 6;
    struct node *stretch = tree(max_depth + 1, 1);
    printf("stretch tree of depth %d\t check: %u\n", max_depth + 1, check(stretch));
    drop(stretch);
    struct node *long_lived = tree(max_depth, 1);
    for (int depth = 4; depth <= max_depth; depth += 2) {
        uint32_t iterations = 1u << (max_depth - depth + 4), sum = 0;
        for (uint32_t i = 0; i < iterations; i++) {
            struct node *t = tree(depth, i);
            sum += check(t);
            drop(t);
        }
        printf("%u\t trees of depth %d\t check: %u\n", iterations, depth, sum);
    }
    printf("long lived tree of depth %d\t check: %u\n", max_depth, check(long_lived));
    drop(long_lived);
}

/* ---- churn ----------------------------------------------------------------------------- */

static uint32_t rng = 2463534242u;

static uint32_t next(void) {
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static void churn(size_t size, uint32_t millions) {
    enum { SLOTS = 4096 };
    static unsigned char *slot[SLOTS];
    uint32_t sum = 0;
    for (uint32_t i = 0; i < SLOTS; i++) {
        slot[i] = get(size);
        memset(slot[i], (int)i, size);
    }
    for (uint32_t round = 0; round < millions * 1000000u; round++) {
        uint32_t i = next() % SLOTS;
        sum += slot[i][size - 1];
        put(slot[i], size);
        slot[i] = get(size);
        slot[i][0] = slot[i][size - 1] = (unsigned char)round;
    }
    for (uint32_t i = 0; i < SLOTS; i++) put(slot[i], size);
    printf("churn of %zu-byte blocks: %u million rounds, %d live, sum %u\n", size, millions, SLOTS, sum);
}

int main(int argc, char **argv) {
    const char *workload = argc > 1 ? argv[1] : "";
    long scale = argc > 2 ? strtol(argv[2], NULL, 10) : 0;
    if (strncmp(workload, "trees", 5) == 0 && (atoi(workload + 5) == 16 || atoi(workload + 5) == 32 || atoi(workload + 5) == 48)) {
        trees((size_t)atoi(workload + 5), scale > 0 ? (int)scale : 16);
    } else if (strcmp(workload, "churn32") == 0) {
        churn(32, scale > 0 ? (uint32_t)scale : 4);
    } else {
        fprintf(stderr, "usage: cbench trees16|trees32|trees48|churn32 [SCALE]\n");
        return 64;
    }
    if (live != 0) {
        printf("%zu bytes still live\n", live);
        return 1;
    }
    printf("peak live: %zu bytes\n", peak);
    return 0;
}
