/*
 * dlclose of a library with TLS, then a new thread area: the closed
 * library's TLS image is gone with it, so guardld_tls_alloc() must not copy
 * it any more (glibc drops the module from its TLS slot list on unload).
 * Then a thread runs on the new area. Prints dlclose=0, alloc_ok=1,
 * thread_ok=1.
 */
#include "tls/tls.h"

#define RTLD_NOW 2
THREAD_API void *dlopen(const char *file, int mode);
THREAD_API int dlclose(void *handle);

static int tid;
static int ran;

static int thread_main(void *arg) {
    (void)arg;
    ran = fs_word(0) == fs_base();
    return 0;
}

int main(int argc, char **argv, char **envp) {
    (void)argc, (void)argv, (void)envp;
    REQUIRE_THREAD_API();
    if (!dlopen || !dlclose) rt_fail("dlopen/dlclose not bound");
    void *h = dlopen("./libtgd.so", RTLD_NOW);
    if (!h) rt_fail("dlopen");
    print_kv_dec("dlclose", dlclose(h));
    rt_flush(); /* a crash below keeps the output so far */
    void *tp = guardld_tls_alloc();
    print_kv_dec("alloc_ok", tp != 0);
    rt_flush();
    if (!tp || thread_start(tp, &tid, thread_main, 0) <= 0) rt_fail("thread");
    if (thread_join(&tid) != 0) rt_fail("thread did not exit");
    guardld_tls_free(tp);
    print_kv_dec("thread_ok", ran);
    return 0;
}
