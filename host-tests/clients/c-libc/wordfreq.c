/* A C program built against wasi-libc that allocates the way C programs do: stdio, strings
 * (strdup, strtok, snprintf), a hash table, arrays grown with realloc, qsort, calloc, over-aligned
 * blocks. host-tests/js/wasi-libc.test.mjs builds it twice, with wasm/wasmheap-libc.c (every
 * malloc is wasmheap's) and without (wasi-libc's dlmalloc), runs both under Node's WASI, and
 * compares their output: it must not depend on the allocator. It also checks what C promises of
 * any malloc: 16-byte alignment (alignof(max_align_t)), realloc keeping the contents, calloc
 * clearing, NULL and ENOMEM for requests that cannot be served.
 *
 *     clang --target=wasm32-wasi -O2 -I wasm -Wl,--import-memory \
 *         -o wordfreq.wasm host-tests/clients/c-libc/wordfreq.c wasm/wasmheap-libc.c
 */
#include <errno.h>
#include <malloc.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *WORDS[] = {
    "heap", "block", "free", "list", "mark", "segment", "page", "grow", "wasm", "memory",
    "pointer", "size", "align", "tag", "split", "merge", "top", "root", "class", "bitmap",
};
#define NWORDS (sizeof WORDS / sizeof WORDS[0])

static unsigned misaligned, checks_failed, allocations;
/* Results that must reach the allocator: without this, the compiler may drop a malloc whose
 * result is only compared (and take a huge request for a success). */
static void *volatile sink;
/* clang 14 takes malloc for a function that leaves errno alone: read errno after this barrier. */
#define BARRIER() __asm__ volatile("" ::: "memory")
static uint32_t rng = 2463534242u;

static uint32_t next(void) {
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

/* Every block from malloc, calloc and realloc must be aligned for any type. */
static void *seen(void *p) {
    if (p == NULL) {
        printf("out of memory\n");
        exit(2);
    }
    if ((uintptr_t)p % alignof(max_align_t) != 0) misaligned++;
    allocations++;
    return p;
}

static void check(int ok, const char *what) {
    if (!ok) {
        checks_failed++;
        printf("check failed: %s\n", what);
    }
}

struct entry {
    char *word;
    unsigned count;
    struct entry *next;
};

static unsigned hash(const char *s) {
    unsigned h = 2166136261u;
    while (*s) h = (h ^ (unsigned char)*s++) * 16777619u;
    return h;
}

static int by_count(const void *a, const void *b) {
    const struct entry *x = *(struct entry *const *)a, *y = *(struct entry *const *)b;
    if (x->count != y->count) return x->count < y->count ? 1 : -1;
    return strcmp(x->word, y->word);
}

int main(void) {
    /* A text of random words with suffixes, built in a buffer that grows with realloc. */
    size_t cap = 16, len = 0;
    char *text = seen(malloc(cap));
    for (int i = 0; i < 20000; i++) {
        char word[32];
        const char *suffix = next() % 3 ? "" : next() % 2 ? "s" : "ed";
        char number[12] = "";
        if (next() % 4 == 0) snprintf(number, sizeof number, "%u", (unsigned)(next() % 50));
        int n = snprintf(word, sizeof word, "%s%s%s ", WORDS[next() % NWORDS], suffix, number);
        if (len + (size_t)n + 1 > cap) {
            char *before = strndup(text, len < 64 ? len : 64);
            cap *= 2;
            text = seen(realloc(text, cap));
            check(strncmp(before, text, strlen(before)) == 0, "realloc keeps the contents");
            free(before);
        }
        memcpy(text + len, word, (size_t)n + 1);
        len += (size_t)n;
    }

    /* Count the words: a hash table of 257 buckets (calloc: all NULL), nodes and keys on the heap. */
    struct entry **table = seen(calloc(257, sizeof *table));
    for (int i = 0; i < 257; i++) check(table[i] == NULL, "calloc clears");
    char *copy = seen(strdup(text));
    unsigned distinct = 0, total = 0;
    for (char *w = strtok(copy, " "); w != NULL; w = strtok(NULL, " ")) {
        struct entry **slot = &table[hash(w) % 257];
        while (*slot != NULL && strcmp((*slot)->word, w) != 0) slot = &(*slot)->next;
        if (*slot == NULL) {
            *slot = seen(malloc(sizeof **slot));
            (*slot)->word = seen(strdup(w));
            (*slot)->count = 0;
            (*slot)->next = NULL;
            distinct++;
        }
        (*slot)->count++;
        total++;
    }
    free(copy);

    /* Sort them (an array grown one by one with realloc) and report the first ten. */
    struct entry **sorted = NULL;
    unsigned n = 0;
    for (int i = 0; i < 257; i++) {
        for (struct entry *e = table[i]; e != NULL; e = e->next) {
            sorted = seen(realloc(sorted, (n + 1) * sizeof *sorted));
            sorted[n++] = e;
        }
    }
    qsort(sorted, n, sizeof *sorted, by_count);
    printf("%u words, %u distinct, %zu bytes of text\n", total, distinct, len);
    char **lines = seen(calloc(10, sizeof *lines));
    for (unsigned i = 0; i < 10 && i < n; i++) {
        char line[80];
        snprintf(line, sizeof line, "%2u. %-12s %5u  %5.2f%%", i + 1, sorted[i]->word, sorted[i]->count,
                 100.0 * sorted[i]->count / total);
        lines[i] = seen(strdup(line));
    }
    for (unsigned i = 0; i < 10 && i < n; i++) puts(lines[i]);

    /* Over-aligned blocks, and what cannot be had. */
    void *a = sink = aligned_alloc(256, 1000);
    void *b = NULL;
    check(a != NULL && (uintptr_t)a % 256 == 0, "aligned_alloc(256, 1000)");
    check(posix_memalign(&b, 4096, 100) == 0 && (uintptr_t)b % 4096 == 0, "posix_memalign(4096)");
    check(posix_memalign(&b, 3, 100) == EINVAL, "posix_memalign(3) is EINVAL");
    errno = 0;
    sink = malloc(SIZE_MAX - 64);
    BARRIER();
    check(sink == NULL && errno == ENOMEM, "malloc(SIZE_MAX - 64) is NULL, ENOMEM");
    errno = 0;
    sink = calloc(SIZE_MAX / 2, 4);
    BARRIER();
    check(sink == NULL && errno == ENOMEM, "calloc overflow is NULL, ENOMEM");
    void *small = seen(malloc(24));
    check(malloc_usable_size(small) >= 24, "malloc_usable_size");
    free(small);
    free(a);
    free(b);

    /* Shrink and grow the report lines in place or not; free everything. */
    for (unsigned i = 0; i < 10 && i < n; i++) {
        lines[i] = seen(realloc(lines[i], 4));
        lines[i][3] = '\0';
        lines[i] = seen(realloc(lines[i], 4000));
        check(strlen(lines[i]) == 3, "realloc shrinks and grows, keeping the contents");
        free(lines[i]);
    }
    free(lines);
    for (unsigned i = 0; i < n; i++) {
        free(sorted[i]->word);
        free(sorted[i]);
    }
    free(sorted);
    free(table);
    free(text);
    printf("misaligned: %u, failed checks: %u\n", misaligned, checks_failed);
    fprintf(stderr, "allocations: %u\n", allocations);
    return misaligned || checks_failed ? 1 : 0;
}
