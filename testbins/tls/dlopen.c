/*
 * TLS of libraries loaded by dlopen (guardld puts them in the static
 * surplus, docs/threads.md): libtie.so, libtgd.so, libtdesc.so from mod.c
 * (IE, GD, TLSDESC; INIT 0x1100, 0x2200, 0x3300), none of them linked in.
 *
 * Thread A is created (guardld_tls_alloc) before the dlopen calls and waits;
 * guardld must then initialise the new blocks in A's area as well as in the
 * main thread's, and A's GD accesses find modules past its DTV. Thread B is
 * created after. Each thread checks the initial values (check_init), the
 * relocated .tdata pointers (ptrs_ok), then writes and reads back its own
 * values; the main thread's survive.
 */
#include "tls/tls.h"

#define RTLD_NOW 2
THREAD_API void *dlopen(const char *file, int mode);
THREAD_API void *dlsym(void *handle, const char *name);
THREAD_API char *dlerror(void);

struct lib {
    const char *file, *prefix;
    int (*check_init)(void);
    int (*ptrs_ok)(void);
    void (*set)(long);
    int (*check)(long);
};

static struct lib libs[3] = {
    {"./libtie.so", "ie", 0, 0, 0, 0},
    {"./libtgd.so", "gd", 0, 0, 0, 0},
    {"./libtdesc.so", "desc", 0, 0, 0, 0},
};

static void *sym(void *h, const char *prefix, const char *name) {
    char buf[64];
    size_t n = rt_strlen(prefix);
    memcpy(buf, prefix, n);
    buf[n] = '_';
    memcpy(buf + n + 1, name, rt_strlen(name) + 1);
    void *p = dlsym(h, buf);
    if (!p) rt_fail(buf);
    return p;
}

struct res {
    int tid;
    int init[3], ptrs[3], own;
};

static int go;

static void run_checks(struct res *r, long base) {
    for (int i = 0; i < 3; i++) {
        r->init[i] = libs[i].check_init();
        r->ptrs[i] = libs[i].ptrs_ok();
    }
    for (int i = 0; i < 3; i++) libs[i].set(base + i * 0x1000);
    r->own = 1;
    for (int i = 0; i < 3; i++)
        if (!libs[i].check(base + i * 0x1000)) r->own = 0;
}

static int thread_a(void *arg) {
    for (int n = 0; n < 10000 && !__atomic_load_n(&go, __ATOMIC_SEQ_CST); n++) sys_nanosleep(0, 1000 * 1000);
    run_checks(arg, 0xa0000);
    return 0;
}

static int thread_b(void *arg) {
    run_checks(arg, 0xb0000);
    return 0;
}

static void print3(const char *key, const int v[3]) {
    print_str(key);
    print_char('=');
    for (int i = 0; i < 3; i++) {
        if (i) print_char(' ');
        print_dec(v[i]);
    }
    print_char('\n');
}

static void print_res(const char *name, const struct res *r) {
    char key[32];
    size_t n = rt_strlen(name);
    memcpy(key, name, n);
    memcpy(key + n, "_init", 6);
    print3(key, r->init);
    memcpy(key + n, "_ptrs", 6);
    print3(key, r->ptrs);
    memcpy(key + n, "_own", 5);
    print_kv_dec(key, r->own);
}

static struct res ra, rb, rmain;

int main(int argc, char **argv, char **envp) {
    (void)argc, (void)argv, (void)envp;
    REQUIRE_THREAD_API();
    if (!dlopen || !dlsym) rt_fail("dlopen/dlsym not bound");
    void *ta = guardld_tls_alloc();
    if (!ta || thread_start(ta, &ra.tid, thread_a, &ra) <= 0) rt_fail("thread A");

    int opened[3];
    for (int i = 0; i < 3; i++) {
        void *h = dlopen(libs[i].file, RTLD_NOW);
        opened[i] = h != 0;
        if (!h) {
            eprint_str(dlerror());
            eprint_str("\n");
            rt_fail("dlopen");
        }
        libs[i].check_init = sym(h, libs[i].prefix, "check_init");
        libs[i].ptrs_ok = sym(h, libs[i].prefix, "ptrs_ok");
        libs[i].set = sym(h, libs[i].prefix, "set");
        libs[i].check = sym(h, libs[i].prefix, "check");
    }
    print3("dlopen", opened);
    run_checks(&rmain, 0x50000);
    print_res("main", &rmain);

    __atomic_store_n(&go, 1, __ATOMIC_SEQ_CST);
    if (thread_join(&ra.tid) != 0) rt_fail("thread A did not exit");
    print_res("thread_a", &ra);
    guardld_tls_free(ta);

    void *tb = guardld_tls_alloc();
    if (!tb || thread_start(tb, &rb.tid, thread_b, &rb) <= 0) rt_fail("thread B");
    if (thread_join(&rb.tid) != 0) rt_fail("thread B did not exit");
    print_res("thread_b", &rb);
    guardld_tls_free(tb);

    int same = 1;
    for (int i = 0; i < 3; i++)
        if (!libs[i].check(0x50000 + i * 0x1000)) same = 0;
    print_kv_dec("main_unchanged", same);
    return 0;
}
