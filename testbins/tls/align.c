/*
 * A library's 64-byte-aligned TLS block (libtal64.so) after a one-byte
 * executable block: the library's block must start on a 64-byte boundary in
 * the main thread and in a thread on a guardld_tls_alloc() area. With the
 * alignment ignored (treated as 8 or 16) the block would sit 80 bytes below
 * the thread pointer instead of 128, 16 bytes off.
 */
#include "tls/tls.h"

char *al64_x_addr(void);
long al64_y_get(void);

__thread char exe_c = 'e';

static void print_x(const char *key, const char *x) {
    print_str(key);
    print_char('=');
    print_bytes(x, 64);
    print_char('\n');
}

struct res {
    int tid;
    unsigned long x, tp;
    char copy[64];
    long y;
};

static int thread_main(void *arg) {
    struct res *r = arg;
    r->tp = fs_word(0);
    char *x = al64_x_addr();
    r->x = (unsigned long)x;
    for (int i = 0; i < 64; i++) r->copy[i] = x[i];
    r->y = al64_y_get();
    return 0;
}

static struct res res;

int main(int argc, char **argv, char **envp) {
    (void)argc, (void)argv, (void)envp;
    unsigned long tp = fs_word(0);
    char *x = al64_x_addr();
    print_kv_dec("tp_mod64", (long)(tp % 64));
    print_kv_dec("x_mod64", (long)((unsigned long)x % 64));
    print_kv_dec("x_below_tp", (unsigned long)x + 64 <= tp);
    print_x("x", x);
    print_kv_hex("y", (unsigned long)al64_y_get());
    print_str("exe_c=");
    print_char(exe_c);
    print_char('\n');

    REQUIRE_THREAD_API();
    void *t = guardld_tls_alloc();
    if (!t) rt_fail("guardld_tls_alloc returned NULL");
    if (thread_start(t, &res.tid, thread_main, &res) <= 0) rt_fail("clone failed");
    if (thread_join(&res.tid) != 0) rt_fail("thread did not exit");
    print_kv_dec("thread_tp_is_alloc", res.tp == (unsigned long)t);
    print_kv_dec("thread_x_mod64", (long)(res.x % 64));
    print_kv_dec("thread_x_offset_same", res.x - res.tp == (unsigned long)x - tp);
    print_x("thread_x", res.copy);
    print_kv_hex("thread_y", (unsigned long)res.y);
    guardld_tls_free(t);
    return 0;
}
