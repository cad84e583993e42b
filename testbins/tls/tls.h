/*
 * Shared declarations of the TLS test programs (tests/tls.rs).
 *
 * mod.c is one source built three times into three libraries, each with a
 * different TLS access model:
 *   libtie.so    -DMOD=ie   -ftls-model=initial-exec   (R_X86_64_TPOFF64)
 *   libtgd.so    -DMOD=gd   default -fPIC model        (DTPMOD64/DTPOFF64,
 *                                                        __tls_get_addr)
 *   libtdesc.so  -DMOD=desc -mtls-dialect=gnu2         (R_X86_64_TLSDESC)
 * Each defines, with INIT a per-library constant:
 *   MOD_data  = INIT+1, MOD_data2[3] = {INIT+2, INIT+3, INIT+4}   (.tdata)
 *   static MOD_local = INIT+5 (local symbol: relocations without a symbol)
 *   MOD_bss, MOD_bss2[5], static MOD_local_bss                     (.tbss)
 *   MOD_ptr = &MOD_target, static MOD_local_ptr (.tdata, relocated)
 *   tls_interposed = INIT+0xf0, also defined by the executable (0xe0f),
 *   whose definition wins.
 */
#ifndef GUARDLD_TEST_TLS_H
#define GUARDLD_TEST_TLS_H

#include "rt/rt.h"

/* Number of longs MOD_dump writes: data, data2[3], local, bss, bss2[5],
 * local_bss. */
#define DUMP_LEN 12

#define DECLARE_MOD(m)                                                      \
    extern __thread long m##_data;                                          \
    extern __thread long m##_data2[3];                                      \
    extern __thread long m##_bss;                                           \
    /* Every variable, read through the library's own access model. */     \
    void m##_dump(long out[DUMP_LEN]);                                      \
    /* Set every variable from v: data=v, data2[i]=v+1+i, local=v+4,       \
     * bss=v+5, bss2[i]=v+6+i, local_bss=v+11 (i.e. dump[k] = v+k). */     \
    void m##_set(long v);                                                   \
    /* 1 if every variable holds what m##_set(v) stored. */                 \
    int m##_check(long v);                                                  \
    /* 1 if every variable holds its initial value (.tdata image, .tbss 0). \
     */                                                                     \
    int m##_check_init(void);                                               \
    /* &m##_data, as the library computes it. */                            \
    long *m##_data_addr(void);                                              \
    /* Lowest address and one past the highest byte of the variables. */   \
    void m##_range(unsigned long r[2]);                                     \
    /* 1 if the .tdata pointers m##_ptr, local_ptr are relocated. */        \
    int m##_ptrs_ok(void);                                                  \
    /* tls_interposed as the library sees it: value, address. */           \
    long m##_interposed_get(void);                                          \
    long *m##_interposed_addr(void);

DECLARE_MOD(ie)
DECLARE_MOD(gd)
DECLARE_MOD(desc)

/* guardld's thread API (tls.rs, include/guardld.h). Weak references by
 * default, so that a program links without any library defining them and
 * guardld binds them at run time from the global scope (link with
 * -z dynamic-undefined-weak); -DTHREAD_API_STRONG for programs linked
 * against the guardld binary (NEEDED ld-guardld.so.1). */
#ifdef THREAD_API_STRONG
#define THREAD_API
#else
#define THREAD_API __attribute__((weak))
#endif
THREAD_API void *guardld_tls_alloc(void);
THREAD_API void guardld_tls_free(void *tp);
/* Fail unless both are bound (a weak reference left unbound is NULL). */
#ifdef THREAD_API_STRONG
#define REQUIRE_THREAD_API() ((void)0)
#else
#define REQUIRE_THREAD_API()                                                \
    do {                                                                    \
        if (!guardld_tls_alloc || !guardld_tls_free)                        \
            rt_fail("guardld_tls_alloc/free not bound");                    \
    } while (0)
#endif

/* Raw threads: testbins/rt/thread.h (built with rt/thread.c); clone.c
 * adds the %fs helpers. */
#include "rt/thread.h"

/* arch_prctl(ARCH_GET_FS): the %fs base as the kernel has it. */
unsigned long fs_base(void);
/* mov %fs:0 / %fs:8 / %fs:0x28. */
unsigned long fs_word(unsigned long off);

#endif
