/*
 * One TLS library, built as libtie.so / libtgd.so / libtdesc.so with
 * -DMOD=ie|gd|desc -DINIT=<base> and the access model of that library (see
 * tls.h). Every access below goes through the library's own model: the
 * globals may be preempted, so the compiler cannot relax them; the statics
 * get local-symbol relocations (no symbol, offset in the addend or code).
 *
 * noinline + the asm barrier keep each function's accesses its own, so that
 * reading after a write really reads thread-local memory.
 */
#include "tls/tls.h"

#define CAT2(a, b) a##_##b
#define CAT(a, b) CAT2(a, b)
#define N(x) CAT(MOD, x)

__thread long N(data) = INIT + 1;
__thread long N(data2)[3] = {INIT + 2, INIT + 3, INIT + 4};
static __thread long N(local) = INIT + 5;
__thread long N(bss);
__thread long N(bss2)[5];
static __thread long N(local_bss);

/* .tdata holding a pointer: the image needs a relocation (R_X86_64_RELATIVE
 * or R_X86_64_64) before it is copied into any thread's block. */
long N(target) = INIT + 0x40;
static long N(local_target) = INIT + 0x41;
__thread long *N(ptr) = &N(target);
static __thread long *N(local_ptr) = &N(local_target);

/* Defined by every TLS library and by the executable: all references bind
 * to the first definition in the global scope, the executable's. */
__thread long tls_interposed = INIT + 0xf0;

#define BARRIER() __asm__ volatile("" ::: "memory")

__attribute__((noinline)) void N(dump)(long out[DUMP_LEN]) {
    BARRIER();
    out[0] = N(data);
    for (int i = 0; i < 3; i++) out[1 + i] = N(data2)[i];
    out[4] = N(local);
    out[5] = N(bss);
    for (int i = 0; i < 5; i++) out[6 + i] = N(bss2)[i];
    out[11] = N(local_bss);
    BARRIER();
}

__attribute__((noinline)) void N(set)(long v) {
    BARRIER();
    N(data) = v;
    for (int i = 0; i < 3; i++) N(data2)[i] = v + 1 + i;
    N(local) = v + 4;
    N(bss) = v + 5;
    for (int i = 0; i < 5; i++) N(bss2)[i] = v + 6 + i;
    N(local_bss) = v + 11;
    BARRIER();
}

__attribute__((noinline)) int N(check)(long v) {
    long d[DUMP_LEN];
    N(dump)(d);
    for (int k = 0; k < DUMP_LEN; k++)
        if (d[k] != v + k) return 0;
    return 1;
}

__attribute__((noinline)) int N(check_init)(void) {
    long d[DUMP_LEN];
    N(dump)(d);
    for (int k = 0; k < 5; k++)
        if (d[k] != INIT + 1 + k) return 0;
    for (int k = 5; k < DUMP_LEN; k++)
        if (d[k] != 0) return 0;
    return 1;
}

__attribute__((noinline)) long *N(data_addr)(void) { return &N(data); }

static void widen(unsigned long r[2], const void *p, unsigned long size) {
    unsigned long a = (unsigned long)p;
    if (a < r[0]) r[0] = a;
    if (a + size > r[1]) r[1] = a + size;
}

__attribute__((noinline)) void N(range)(unsigned long r[2]) {
    r[0] = ~0UL;
    r[1] = 0;
    widen(r, &N(data), sizeof N(data));
    widen(r, N(data2), sizeof N(data2));
    widen(r, &N(local), sizeof N(local));
    widen(r, &N(bss), sizeof N(bss));
    widen(r, N(bss2), sizeof N(bss2));
    widen(r, &N(local_bss), sizeof N(local_bss));
    widen(r, &N(ptr), sizeof N(ptr));
    widen(r, &N(local_ptr), sizeof N(local_ptr));
}

/* 1 if both .tdata pointers point where they should in this thread. */
__attribute__((noinline)) int N(ptrs_ok)(void) {
    BARRIER();
    return N(ptr) == &N(target) && N(local_ptr) == &N(local_target) && *N(ptr) == INIT + 0x40 &&
           *N(local_ptr) == INIT + 0x41;
}

__attribute__((noinline)) long N(interposed_get)(void) { return tls_interposed; }
__attribute__((noinline)) long *N(interposed_addr)(void) { return &tls_interposed; }
