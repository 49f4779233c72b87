/* markov.c: a word-trigram Markov text model, the kind of program the wasi-libc recipe
 * (wasm/FLAVORS.md, section 6) must carry beyond hello. It learns which word follows each pair of
 * words in a generated corpus of a million words, then writes new text from the model. What it
 * asks of the recipe: 1 MiB of static data (the model's bucket array, so the program does not
 * fit the 4 pages hello was linked for, and its memory import asks for 17 pages), and tens of MiB
 * of heap: a few hundred thousand 24-byte states, their successor arrays grown with realloc, the
 * corpus in an array doubled with realloc, interned words, and the sentences it writes (strdup).
 * Everything is freed at the end.
 *
 * The output depends on nothing but the seed: host-tests/js/wasi-libc.test.mjs builds it once as
 * the recipe says (with wasm/wasmheap-libc.c) and once plainly (wasi-libc's dlmalloc), runs both
 * under Node's WASI and compares their output; afterwards the heap's check() must be 0.
 *
 *     clang --target=wasm32-wasi -O2 -I wasm -Wl,--import-memory \
 *         -o markov.wasm host-tests/clients/c-libc/markov.c wasm/wasmheap-libc.c
 *
 * Argument: the corpus in thousands of sentences (default 100: about a million words).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUCKETS (1u << 18) /* the model's hash table: 1 MiB of pointers, static */
#define VOCABULARY 6000

struct successor {
    uint32_t word, count;
};

/* The words that followed the pair (w1, w2), with their counts. */
struct state {
    uint32_t w1, w2;
    struct state *next;
    uint32_t n, cap;
    struct successor *succ;
};

static struct state *table[BUCKETS];
static char *words[VOCABULARY];
static uint32_t states, successors, failed;
static uint32_t rng = 88172645u;

static uint32_t next(void) {
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static void *need(void *p) {
    if (p == NULL) {
        printf("out of memory\n");
        exit(2);
    }
    return p;
}

/* A word from syllables, different for every index below VOCABULARY. */
static char *make_word(uint32_t i) {
    static const char *const SYL[] = {"ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "an", "el",
                                      "or", "un", "be", "do", "fi", "gu", "ha", "je", "po", "qui"};
    char buf[32];
    size_t len = 0;
    do {
        const char *s = SYL[i % 20];
        memcpy(buf + len, s, strlen(s));
        len += strlen(s);
        i /= 20;
    } while (i > 0);
    buf[len] = '\0';
    return need(strdup(buf));
}

/* Word frequencies roughly as in text (Zipf): index i about as likely as 1/(i + 1). */
static uint32_t zipf(void) {
    double u = (double)(next() >> 8) / 16777216.0;
    uint32_t w = (uint32_t)exp(u * log(VOCABULARY + 1.0)) - 1;
    return w < VOCABULARY ? w : VOCABULARY - 1;
}

static uint32_t bucket(uint32_t w1, uint32_t w2) {
    return ((w1 * 2654435761u) ^ (w2 * 40503u + 0x9e3779b9u)) & (BUCKETS - 1);
}

static struct state *find(uint32_t w1, uint32_t w2, int create) {
    struct state **slot = &table[bucket(w1, w2)];
    for (struct state *s = *slot; s != NULL; s = s->next)
        if (s->w1 == w1 && s->w2 == w2) return s;
    if (!create) return NULL;
    struct state *s = need(malloc(sizeof *s));
    *s = (struct state){w1, w2, *slot, 0, 0, NULL};
    *slot = s;
    states++;
    return s;
}

static void learn(uint32_t w1, uint32_t w2, uint32_t w3) {
    struct state *s = find(w1, w2, 1);
    for (uint32_t i = 0; i < s->n; i++) {
        if (s->succ[i].word == w3) {
            s->succ[i].count++;
            return;
        }
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 2;
        s->succ = need(realloc(s->succ, s->cap * sizeof *s->succ));
    }
    s->succ[s->n++] = (struct successor){w3, 1};
    successors++;
}

/* The word after (w1, w2), drawn by the counts; VOCABULARY (the end) when the pair is unknown. */
static uint32_t follow(uint32_t w1, uint32_t w2) {
    struct state *s = find(w1, w2, 0);
    if (s == NULL) return VOCABULARY;
    uint32_t total = 0;
    for (uint32_t i = 0; i < s->n; i++) total += s->succ[i].count;
    uint32_t pick = next() % total;
    for (uint32_t i = 0;; i++) {
        if (pick < s->succ[i].count) return s->succ[i].word;
        pick -= s->succ[i].count;
    }
}

static uint32_t fnv(uint32_t h, const char *s) {
    while (*s) h = (h ^ (unsigned char)*s++) * 16777619u;
    return h;
}

int main(int argc, char **argv) {
    uint32_t thousands = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 100;
    for (uint32_t i = 0; i < VOCABULARY; i++) words[i] = make_word(i);

    /* The corpus: sentences of 4 to 16 words; VOCABULARY marks a sentence's end. */
    size_t len = 0, cap = 1024;
    uint32_t *corpus = need(malloc(cap * sizeof *corpus));
    for (uint32_t s = 0; s < thousands * 1000; s++) {
        uint32_t n = 4 + next() % 13;
        for (uint32_t i = 0; i <= n; i++) {
            if (len == cap) {
                cap *= 2;
                corpus = need(realloc(corpus, cap * sizeof *corpus));
            }
            corpus[len++] = i == n ? VOCABULARY : zipf();
        }
    }

    /* The model: every sentence starts from the pair (end, end). */
    uint32_t w1 = VOCABULARY, w2 = VOCABULARY;
    for (size_t i = 0; i < len; i++) {
        learn(w1, w2, corpus[i]);
        w1 = corpus[i] == VOCABULARY ? VOCABULARY : w2;
        w2 = corpus[i];
    }
    printf("corpus: %zu words, model: %u states, %u successors\n", len, states, successors);
    free(corpus);

    /* The pair seen most often (in bucket order on ties). */
    struct state *best = NULL;
    uint32_t best_total = 0;
    for (uint32_t b = 0; b < BUCKETS; b++) {
        for (struct state *s = table[b]; s != NULL; s = s->next) {
            if (s->w1 == VOCABULARY) continue;
            uint32_t total = 0;
            for (uint32_t i = 0; i < s->n; i++) total += s->succ[i].count;
            if (total > best_total) best = s, best_total = total;
        }
    }
    if (best != NULL)
        printf("most frequent pair: \"%s %s\", %u times, %u different words after it\n", words[best->w1],
               words[best->w2], best_total, best->n);

    /* New text from the model: sentences built in a buffer, kept with strdup, a list grown
     * with realloc. */
    uint32_t count = thousands * 200, kept_cap = 16, hash = 2166136261u;
    char **kept = need(malloc(kept_cap * sizeof *kept));
    size_t chars = 0;
    for (uint32_t s = 0; s < count; s++) {
        char line[512];
        size_t at = 0;
        uint32_t a = VOCABULARY, b = VOCABULARY;
        for (;;) {
            uint32_t w = follow(a, b);
            if (w == VOCABULARY) break;
            size_t wl = strlen(words[w]);
            if (at + wl + 2 >= sizeof line) break;
            if (at > 0) line[at++] = ' ';
            memcpy(line + at, words[w], wl);
            at += wl;
            a = b, b = w;
        }
        line[at] = '\0';
        if (s == kept_cap) {
            kept_cap *= 2;
            kept = need(realloc(kept, kept_cap * sizeof *kept));
        }
        kept[s] = need(strdup(line));
        chars += at;
        hash = fnv(hash, line);
    }
    printf("generated: %u sentences, %zu characters, fnv-1a %08x\n", count, chars, hash);
    for (uint32_t s = 0; s < 3 && s < count; s++) printf("  %s.\n", kept[s]);

    /* Every sentence the model writes must be one it could have learned: check a few. */
    for (uint32_t s = 0; s < count; s += 97) {
        char *copy = need(strdup(kept[s])), *save = NULL;
        uint32_t a = VOCABULARY, b = VOCABULARY;
        for (char *t = strtok_r(copy, " ", &save); t != NULL; t = strtok_r(NULL, " ", &save)) {
            struct state *st = find(a, b, 0);
            uint32_t w = VOCABULARY;
            for (uint32_t i = 0; st != NULL && i < st->n; i++)
                if (strcmp(words[st->succ[i].word], t) == 0) w = st->succ[i].word;
            if (w == VOCABULARY) failed++;
            a = b, b = w;
        }
        free(copy);
    }

    for (uint32_t s = 0; s < count; s++) free(kept[s]);
    free(kept);
    for (uint32_t b = 0; b < BUCKETS; b++) {
        for (struct state *s = table[b], *n; s != NULL; s = n) {
            n = s->next;
            free(s->succ);
            free(s);
        }
        table[b] = NULL;
    }
    for (uint32_t i = 0; i < VOCABULARY; i++) free(words[i]);
    printf("sentences not from the model: %u\n", failed);
    return failed ? 1 : 0;
}
