/*
 * TLS under guardld: the executable's own __thread variables (local-exec,
 * no relocation: the loader must put module 1 where the linker said), three
 * libraries with the IE, GD and TLSDESC models (tls.h), the TCB (%fs:0,
 * canary at %fs:0x28), and four raw clone(2) threads on guardld_tls_alloc()
 * thread pointers. Prints key=value lines; tests/tls.rs holds the expected
 * values (written by hand: glibc's ld.so cannot run this program).
 *
 * Exits 0; rt_fail (exit 99) on a failure that makes the rest meaningless.
 */
#include "tls/tls.h"

#define NTHREADS 4
#define EXE_LEN 9

__thread long exe_data = 0xe01;
__thread long exe_arr[3] = {0xe02, 0xe03, 0xe04};
__thread long exe_bss;
__thread long exe_bss_arr[4];
/* .tdata pointer: a relocated image (R_X86_64_RELATIVE in a PIE). */
long exe_target = 0xe40;
__thread long *exe_ptr = &exe_target;
/* Also defined by the three libraries: this definition wins for them all. */
__thread long tls_interposed = 0xe0f;

#define BARRIER() __asm__ volatile("" ::: "memory")

__attribute__((noinline)) static void exe_dump(long out[EXE_LEN]) {
    BARRIER();
    out[0] = exe_data;
    for (int i = 0; i < 3; i++) out[1 + i] = exe_arr[i];
    out[4] = exe_bss;
    for (int i = 0; i < 4; i++) out[5 + i] = exe_bss_arr[i];
    BARRIER();
}

/* exe_dump()[k] = v + k afterwards. */
__attribute__((noinline)) static void exe_set(long v) {
    BARRIER();
    exe_data = v;
    for (int i = 0; i < 3; i++) exe_arr[i] = v + 1 + i;
    exe_bss = v + 4;
    for (int i = 0; i < 4; i++) exe_bss_arr[i] = v + 5 + i;
    BARRIER();
}

static int exe_check(long v) {
    long d[EXE_LEN];
    exe_dump(d);
    for (int k = 0; k < EXE_LEN; k++)
        if (d[k] != v + k) return 0;
    return 1;
}

static int exe_check_init(void) {
    long d[EXE_LEN];
    exe_dump(d);
    for (int k = 0; k < 4; k++)
        if (d[k] != 0xe01 + k) return 0;
    for (int k = 4; k < EXE_LEN; k++)
        if (d[k] != 0) return 0;
    return 1;
}

static void exe_range(unsigned long r[2]) {
    r[0] = (unsigned long)&exe_data;
    r[1] = r[0] + sizeof exe_data;
    unsigned long a[5][2] = {
        {(unsigned long)exe_arr, sizeof exe_arr},
        {(unsigned long)&exe_bss, sizeof exe_bss},
        {(unsigned long)exe_bss_arr, sizeof exe_bss_arr},
        {(unsigned long)&exe_ptr, sizeof exe_ptr},
        {(unsigned long)&tls_interposed, sizeof tls_interposed},
    };
    for (int i = 0; i < 5; i++) {
        if (a[i][0] < r[0]) r[0] = a[i][0];
        if (a[i][0] + a[i][1] > r[1]) r[1] = a[i][0] + a[i][1];
    }
}

/* Module ranges of the calling thread: 0 exe, 1 ie, 2 gd, 3 desc. */
static void all_ranges(unsigned long r[4][2]) {
    exe_range(r[0]);
    ie_range(r[1]);
    gd_range(r[2]);
    desc_range(r[3]);
}

static int overlap(const unsigned long a[2], const unsigned long b[2]) {
    return a[0] < b[1] && b[0] < a[1];
}

static int disjoint4(unsigned long r[4][2]) {
    for (int i = 0; i < 4; i++)
        for (int j = i + 1; j < 4; j++)
            if (overlap(r[i], r[j])) return 0;
    return 1;
}

/* The executable's own view of the libraries' variables: -fPIE makes these
 * initial-exec accesses (R_X86_64_TPOFF64 against the libraries' symbols). */
__attribute__((noinline)) static int direct_addrs_same(int out[3]) {
    BARRIER();
    out[0] = &ie_data == ie_data_addr();
    out[1] = &gd_data == gd_data_addr();
    out[2] = &desc_data == desc_data_addr();
    return out[0] && out[1] && out[2];
}

__attribute__((noinline)) static int exe_ptrs_ok(void) {
    BARRIER();
    return exe_ptr == &exe_target && *exe_ptr == 0xe40;
}

/* Each library's tls_interposed is the executable's, in the calling thread. */
__attribute__((noinline)) static int interposed_same(int out[3]) {
    BARRIER();
    out[0] = ie_interposed_addr() == &tls_interposed;
    out[1] = gd_interposed_addr() == &tls_interposed;
    out[2] = desc_interposed_addr() == &tls_interposed;
    return out[0] && out[1] && out[2];
}

static void print_longs(const char *key, const long *v, int n) {
    print_str(key);
    print_char('=');
    for (int i = 0; i < n; i++) {
        if (i) print_char(' ');
        print_hex((unsigned long)v[i]);
    }
    print_char('\n');
}

static void print_flag(const char *key, int v) { print_kv_dec(key, v != 0); }

/* ---------------- threads ---------------- */

struct thr {
    int id;
    int tid;
    void *tp;
    unsigned long main_ranges[4][2];
    unsigned long main_canary;
    /* results */
    long vals[4]; /* exe, ie, gd, desc: the first variable, read back */
    int init, own, direct, fs0, fsbase, canary, below, separate, barrier, ptrs, interposed;
};

static int arrived;

static long thread_value(int id, int m) { return id * 0x100000L + (m == 0 ? 0xe000 : m * 0x1000); }

static int thread_main(void *arg) {
    struct thr *t = arg;
    unsigned long tp = (unsigned long)t->tp;
    t->fs0 = fs_word(0) == tp && (unsigned long)__builtin_thread_pointer() == tp;
    t->fsbase = fs_base() == tp;
    t->canary = fs_word(0x28) == t->main_canary;
    /* A new thread's blocks hold the initial images, not the creating
     * thread's current values (main has overwritten all of its own). */
    t->init = exe_check_init() && ie_check_init() && gd_check_init() && desc_check_init();
    unsigned long r[4][2];
    all_ranges(r);
    t->below = 1;
    t->separate = disjoint4(r);
    for (int i = 0; i < 4; i++) {
        if (r[i][1] > tp) t->below = 0;
        for (int j = 0; j < 4; j++)
            if (overlap(r[i], t->main_ranges[j])) t->separate = 0;
    }
    int d[3];
    t->direct = direct_addrs_same(d);
    t->ptrs = exe_ptrs_ok() && ie_ptrs_ok() && gd_ptrs_ok() && desc_ptrs_ok();
    t->interposed = interposed_same(d) && ie_interposed_get() == 0xe0f && gd_interposed_get() == 0xe0f &&
                    desc_interposed_get() == 0xe0f;

    exe_set(thread_value(t->id, 0));
    ie_set(thread_value(t->id, 1));
    gd_set(thread_value(t->id, 2));
    desc_set(thread_value(t->id, 3));
    /* Everyone writes before anyone reads back. */
    __atomic_add_fetch(&arrived, 1, __ATOMIC_SEQ_CST);
    t->barrier = 0;
    for (int n = 0; n < 10000; n++) {
        if (__atomic_load_n(&arrived, __ATOMIC_SEQ_CST) == NTHREADS) {
            t->barrier = 1;
            break;
        }
        sys_nanosleep(0, 1000 * 1000);
    }
    t->own = exe_check(thread_value(t->id, 0)) && ie_check(thread_value(t->id, 1)) &&
             gd_check(thread_value(t->id, 2)) && desc_check(thread_value(t->id, 3));
    t->vals[0] = exe_data;
    long dump[DUMP_LEN];
    ie_dump(dump);
    t->vals[1] = dump[0];
    gd_dump(dump);
    t->vals[2] = dump[0];
    desc_dump(dump);
    t->vals[3] = dump[0];
    return 0;
}

static struct thr threads[NTHREADS];

int main(int argc, char **argv, char **envp) {
    (void)argc, (void)argv, (void)envp;
    long d[DUMP_LEN];

    /* 1. Initial values, each read through its own model. */
    exe_dump(d);
    print_longs("exe_init", d, EXE_LEN);
    ie_dump(d);
    print_longs("ie_init", d, DUMP_LEN);
    gd_dump(d);
    print_longs("gd_init", d, DUMP_LEN);
    desc_dump(d);
    print_longs("desc_init", d, DUMP_LEN);
    long direct[3] = {ie_data, gd_data, desc_data};
    print_longs("direct_init", direct, 3);
    int same[3];
    direct_addrs_same(same);
    print_str("direct_addr_same=");
    print_dec(same[0]), print_char(' '), print_dec(same[1]), print_char(' '), print_dec(same[2]);
    print_char('\n');
    int ptrs[4] = {exe_ptrs_ok(), ie_ptrs_ok(), gd_ptrs_ok(), desc_ptrs_ok()};
    print_str("tdata_pointers=");
    for (int i = 0; i < 4; i++) {
        if (i) print_char(' ');
        print_dec(ptrs[i]);
    }
    print_char('\n');
    long ip[3] = {ie_interposed_get(), gd_interposed_get(), desc_interposed_get()};
    print_longs("interposed", ip, 3);
    interposed_same(same);
    print_str("interposed_addr_same=");
    print_dec(same[0]), print_char(' '), print_dec(same[1]), print_char(' '), print_dec(same[2]);
    print_char('\n');

    /* 2. The TCB. */
    unsigned long tp = fs_word(0);
    print_flag("fs0_is_fs_base", tp != 0 && tp == fs_base());
    print_flag("builtin_is_fs_base", (unsigned long)__builtin_thread_pointer() == fs_base());
    unsigned long canary = fs_word(0x28);
    print_flag("canary_nonzero", canary != 0);
    print_kv_hex("canary", canary);

    /* 3. Blocks: below tp, the executable's nearest, pairwise disjoint. */
    unsigned long r[4][2];
    all_ranges(r);
    print_str("below_tp=");
    for (int i = 0; i < 4; i++) {
        if (i) print_char(' ');
        print_dec(r[i][1] <= tp && tp - r[i][0] < (1UL << 20));
    }
    print_char('\n');
    int nearest = 1;
    for (int i = 1; i < 4; i++)
        if (r[i][1] > r[0][0]) nearest = 0;
    print_flag("exe_nearest_tp", nearest);
    print_flag("blocks_disjoint", disjoint4(r));

    /* 4. Writes, read back through each model and directly. */
    exe_set(0x5e00);
    ie_set(0x7100);
    gd_set(0x7200);
    desc_set(0x7300);
    exe_dump(d);
    print_longs("exe_written", d, EXE_LEN);
    ie_dump(d);
    print_longs("ie_written", d, DUMP_LEN);
    gd_dump(d);
    print_longs("gd_written", d, DUMP_LEN);
    desc_dump(d);
    print_longs("desc_written", d, DUMP_LEN);
    long direct2[3] = {ie_data, gd_data, desc_data};
    print_longs("direct_written", direct2, 3);

    /* 5. Threads (the thread API: weak references or NEEDED ld-guardld.so.1,
     * see tls.h; either way guardld binds them). */
    REQUIRE_THREAD_API();
    for (int i = 0; i < NTHREADS; i++) {
        struct thr *t = &threads[i];
        t->id = i + 1;
        t->main_canary = canary;
        all_ranges(t->main_ranges);
        t->tp = guardld_tls_alloc();
        if (!t->tp) rt_fail("guardld_tls_alloc returned NULL");
        long tid = thread_start(t->tp, &t->tid, thread_main, t);
        if (tid <= 0) rt_fail("clone failed");
    }
    for (int i = 0; i < NTHREADS; i++)
        if (thread_join(&threads[i].tid) != 0) rt_fail("thread did not exit within 10 s");
    for (int i = 0; i < NTHREADS; i++) {
        struct thr *t = &threads[i];
        print_str("thread");
        print_dec(t->id);
        print_char('=');
        for (int m = 0; m < 4; m++) {
            print_hex((unsigned long)t->vals[m]);
            print_char(' ');
        }
        print_str("init=");
        print_dec(t->init);
        print_str(" own=");
        print_dec(t->own);
        print_str(" barrier=");
        print_dec(t->barrier);
        print_str(" direct=");
        print_dec(t->direct);
        print_str(" fs0=");
        print_dec(t->fs0);
        print_str(" fs_base=");
        print_dec(t->fsbase);
        print_str(" canary=");
        print_dec(t->canary);
        print_str(" below_tp=");
        print_dec(t->below);
        print_str(" separate=");
        print_dec(t->separate);
        print_str(" ptrs=");
        print_dec(t->ptrs);
        print_str(" interposed=");
        print_dec(t->interposed);
        print_char('\n');
    }
    /* The main thread's values survived four threads writing theirs. */
    print_flag("main_unchanged", exe_check(0x5e00) && ie_check(0x7100) && gd_check(0x7200) && desc_check(0x7300));
    for (int i = 0; i < NTHREADS; i++) guardld_tls_free(threads[i].tp);
    print_kv_dec("freed", NTHREADS);

    /* 6. A fresh area after the frees: TCB self pointer, canary, images
     * copied in (its blocks sit at the same offsets from its tp). */
    unsigned long tp2 = (unsigned long)guardld_tls_alloc();
    if (!tp2) rt_fail("guardld_tls_alloc after free returned NULL");
    print_flag("alloc_self", *(unsigned long *)tp2 == tp2);
    print_flag("alloc_canary", *(unsigned long *)(tp2 + 0x28) == canary);
    long *exe2 = (long *)(tp2 + ((unsigned long)&exe_data - tp));
    long *ie2 = (long *)(tp2 + ((unsigned long)ie_data_addr() - tp));
    long *gd2 = (long *)(tp2 + ((unsigned long)gd_data_addr() - tp));
    long *desc2 = (long *)(tp2 + ((unsigned long)desc_data_addr() - tp));
    long fresh[4] = {*exe2, *ie2, *gd2, *desc2};
    print_longs("alloc_init", fresh, 4);
    guardld_tls_free((void *)tp2);
    print_flag("main_unchanged_end", exe_check(0x5e00) && ie_check(0x7100) && gd_check(0x7200) && desc_check(0x7300));
    return 0;
}
