/*
 * api: exercises guardld's runtime API (include/guardld.h) from a libc-less
 * program. Used by tests/api.rs; one subtest per run:
 *
 *   api tls | sym | close | nodelete | reldep | addr | phdr | fail | noload | noload-ref |
 *       guards | tls-cycle | caller-runpath
 *
 * Each prints `key=value` lines the test compares with values written by
 * hand (see tests/api.rs for where each comes from). The program NEEDs
 * libapinext.so and ld-guardld.so.1 (linked with lld against the guardld
 * binary), finds its libraries through RUNPATH $ORIGIN, and exports its own
 * api_hook (--export-dynamic) to interpose libapinext's.
 *
 * Libraries write straight to fd 1 (libsys.h) while this program buffers
 * its stdout: it calls rt_flush() before every call that may run library
 * constructors or destructors, so the output is in call order.
 */
#include "rt/rt.h"
#include "guardld.h"
#include "api/thread.h"

#define SYS_stat 4
#define SYS_readlink 89

/* ------------------------------------------------------------ helpers --- */

static int fails;

static void check(int ok, const char *what) {
    if (!ok) {
        fails++;
        print_str("FAIL ");
        print_line(what);
    }
}

/* s contains needle? */
static int contains(const char *s, const char *needle) {
    if (!s) return 0;
    size_t n = rt_strlen(needle);
    for (; *s; s++)
        if (rt_strncmp(s, needle, n) == 0) return 1;
    return 0;
}

static const char *base_name(const char *p) {
    const char *b = p;
    for (; *p; p++)
        if (*p == '/') b = p + 1;
    return b;
}

static char maps_buf[256 * 1024];

/* /proc/self/maps into maps_buf (NUL-terminated). */
static const char *read_maps(void) {
    int fd = sys_open("/proc/self/maps", O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0) rt_fail("open /proc/self/maps");
    size_t n = 0;
    for (;;) {
        long r = sys_read(fd, maps_buf + n, sizeof maps_buf - 1 - n);
        if (r < 0) rt_fail("read maps");
        if (r == 0) break;
        n += (size_t)r;
        if (n == sizeof maps_buf - 1) rt_fail("maps too large");
    }
    maps_buf[n] = 0;
    sys_close(fd);
    return maps_buf;
}

/* One parsed line of /proc/self/maps. */
struct vma {
    unsigned long start, end, inode;
    char perms[5];
    const char *path; /* into the line; "" if none */
    size_t path_len;
};

static unsigned long parse_hex(const char **p) {
    unsigned long v = 0;
    for (;;) {
        char c = **p;
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0) return v;
        v = v * 16 + (unsigned long)d;
        (*p)++;
    }
}

static unsigned long parse_dec(const char **p) {
    unsigned long v = 0;
    while (**p >= '0' && **p <= '9') v = v * 10 + (unsigned long)(*(*p)++ - '0');
    return v;
}

/* Parse the line at *p into v; advance *p to the next line. 0 at the end. */
static int next_vma(const char **p, struct vma *v) {
    const char *s = *p;
    if (!*s) return 0;
    v->start = parse_hex(&s);
    s++; /* - */
    v->end = parse_hex(&s);
    s++;
    for (int i = 0; i < 4; i++) v->perms[i] = *s++;
    v->perms[4] = 0;
    s++;
    parse_hex(&s); /* offset */
    s++;
    while (*s != ' ') s++; /* dev */
    s++;
    v->inode = parse_dec(&s);
    while (*s == ' ') s++;
    v->path = s;
    while (*s && *s != '\n') s++;
    v->path_len = (size_t)(s - v->path);
    if (*s) s++;
    *p = s;
    return 1;
}

/* Mappings whose path ends with `suffix` (e.g. "/libapitls.so"). */
static int maps_count_suffix(const char *suffix) {
    const char *p = read_maps();
    struct vma v;
    int n = 0;
    size_t k = rt_strlen(suffix);
    while (next_vma(&p, &v))
        if (v.path_len >= k && rt_strncmp(v.path + v.path_len - k, suffix, k) == 0) n++;
    return n;
}

/* Lowest mapping start of the file with this inode, 0 if none. */
static unsigned long maps_base_of_inode(unsigned long ino) {
    const char *p = read_maps();
    struct vma v;
    unsigned long best = 0;
    while (next_vma(&p, &v))
        if (v.inode == ino && v.path_len && (best == 0 || v.start < best)) best = v.start;
    return best;
}

struct kstat {
    unsigned long st_dev, st_ino, st_nlink;
    unsigned int st_mode, st_uid, st_gid, pad0;
    unsigned long st_rdev;
    long st_size, st_blksize, st_blocks;
    unsigned long times[6];
    long unused[3];
};

static unsigned long inode_of(const char *path) {
    struct kstat st;
    long r = rt_syscall2(SYS_stat, (long)path, (long)&st);
    return r == 0 ? st.st_ino : 0;
}

/* A summary of the maps for "nothing stays mapped": a hash of the lines of
 * file mappings (path starting with '/') and the number of anonymous
 * PROT_NONE mappings (a leftover reservation would be one). guardld's own
 * allocator may add or grow anonymous read-write mappings meanwhile, and
 * the first search that reaches the cache maps /etc/ld.so.cache, which
 * stays mapped (as in glibc): not counted. */
struct maps_sum {
    unsigned long file_hash;
    int file_lines, anon_none;
};

static struct maps_sum maps_summary(void) {
    struct maps_sum m = {0, 0, 0};
    const char *p = read_maps();
    const char *line = p;
    struct vma v;
    while (next_vma(&p, &v)) {
        if (v.path_len && v.path[0] == '/' && rt_strncmp(v.path, "/etc/ld.so.cache", 16) != 0) {
            unsigned long h = 1469598103934665603UL;
            for (const char *c = line; c < p; c++) h = (h ^ (u8)*c) * 1099511628211UL;
            m.file_hash += h;
            m.file_lines++;
        } else if (!v.path_len && rt_streq(v.perms, "---p")) {
            m.anon_none++;
        }
        line = p;
    }
    return m;
}

static void print_kv_bool(const char *k, int v) { print_kv_dec(k, v ? 1 : 0); }

/* dlerror() once; "(none)" when there is no error. */
static const char *err_text(void) {
    const char *e = dlerror();
    return e ? e : "(none)";
}

/* ---------------------------------------------------------------- tls --- */

typedef long (*get_fn)(void);
typedef void (*set_fn)(long);
typedef long *(*addr_fn)(void);
typedef int (*int_fn)(void);
typedef int (*int_arg_fn)(int);

static get_fn p_get, p_get_zero;
static set_fn p_set, p_set_zero;
static addr_fn p_addr;
static int_fn p_ptr_ok;

static int phase, started, written;

struct thr {
    int idx, tid;
    void *tp;
    long init, zero, after, after_zero;
    int ptr_ok;
    long *addr;
};

static int wait_for(int *v, int at_least) {
    for (long n = 0; n < 200000000L; n++) {
        if (__atomic_load_n(v, __ATOMIC_ACQUIRE) >= at_least) return 1;
        thread_yield();
    }
    return 0;
}

static int tls_thread(void *arg) {
    struct thr *t = arg;
    __atomic_fetch_add(&started, 1, __ATOMIC_ACQ_REL);
    /* The library is not loaded yet: wait for main's dlopen. */
    if (!wait_for(&phase, 1)) return 1;
    t->init = p_get();
    t->zero = p_get_zero();
    t->ptr_ok = p_ptr_ok();
    t->addr = p_addr();
    p_set(0x1000 + 0x111 * t->idx);
    p_set_zero(0x2000 + t->idx);
    __atomic_fetch_add(&written, 1, __ATOMIC_ACQ_REL);
    /* Read back only after every thread (and main) wrote its own value. */
    if (!wait_for(&phase, 2)) return 2;
    t->after = p_get();
    t->after_zero = p_get_zero();
    return 0;
}

static int t_tls(void) {
    static struct thr th[2];
    for (int i = 0; i < 2; i++) {
        th[i].idx = i;
        th[i].tp = guardld_tls_alloc();
        check(th[i].tp != NULL, "guardld_tls_alloc");
        long r = thread_start(th[i].tp, &th[i].tid, tls_thread, &th[i]);
        check(r > 0, "thread_start");
    }
    check(wait_for(&started, 2), "threads started");
    print_kv_dec("threads_running_before_dlopen", __atomic_load_n(&started, __ATOMIC_ACQUIRE));
    rt_flush();
    void *h = dlopen("libapitls.so", RTLD_NOW);
    print_kv_bool("dlopen_ok", h != NULL);
    if (!h) {
        print_kv_str("dlerror", err_text());
        return 1;
    }
    p_get = (get_fn)dlsym(h, "tls_get");
    p_get_zero = (get_fn)dlsym(h, "tls_get_zero");
    p_set = (set_fn)dlsym(h, "tls_set");
    p_set_zero = (set_fn)dlsym(h, "tls_set_zero");
    p_addr = (addr_fn)dlsym(h, "tls_addr");
    p_ptr_ok = (int_fn)dlsym(h, "tls_ptr_ok");
    int_fn dep = (int_fn)dlsym(h, "tls_dep");
    check(p_get && p_get_zero && p_set && p_set_zero && p_addr && p_ptr_ok && dep, "dlsym tls functions");
    if (!(p_get && p_get_zero && p_set && p_set_zero && p_addr && p_ptr_ok && dep)) return 1;
    print_kv_dec("tls_dep", dep());
    /* dlsym of a TLS symbol: the calling thread's copy. */
    print_kv_bool("dlsym_tls_var_is_main_copy", dlsym(h, "tls_var") == p_addr());

    long main_init = p_get(), main_zero = p_get_zero();
    int main_ptr_ok = p_ptr_ok();
    long *main_addr = p_addr();
    p_set(0x7777);
    __atomic_store_n(&phase, 1, __ATOMIC_RELEASE);
    check(wait_for(&written, 2), "threads wrote");
    __atomic_store_n(&phase, 2, __ATOMIC_RELEASE);
    for (int i = 0; i < 2; i++) check(thread_join(&th[i].tid) == 0, "thread_join");
    /* A third thread, started after the dlopen: its area is made with the
     * module already known. */
    static struct thr late = {.idx = 2};
    late.tp = guardld_tls_alloc();
    check(late.tp != NULL, "guardld_tls_alloc (late)");
    check(thread_start(late.tp, &late.tid, tls_thread, &late) > 0, "thread_start (late)");
    check(thread_join(&late.tid) == 0, "thread_join (late)");
    for (int i = 0; i < 3; i++) {
        struct thr *t = i < 2 ? &th[i] : &late;
        const char *k = i == 0 ? "thread0" : i == 1 ? "thread1" : "late_thread";
        print_str(k);
        print_str(" init=");
        print_hex((unsigned long)t->init);
        print_str(" zero=");
        print_hex((unsigned long)t->zero);
        print_str(" after=");
        print_hex((unsigned long)t->after);
        print_str(" after_zero=");
        print_hex((unsigned long)t->after_zero);
        print_char('\n');
    }
    print_str("main init=");
    print_hex((unsigned long)main_init);
    print_str(" zero=");
    print_hex((unsigned long)main_zero);
    print_str(" after=");
    print_hex((unsigned long)p_get());
    print_char('\n');
    /* tls_ptr's initial value is an address (a relocated TLS image). */
    print_kv_dec("thread0_ptr_ok", th[0].ptr_ok);
    print_kv_dec("thread1_ptr_ok", th[1].ptr_ok);
    print_kv_dec("late_thread_ptr_ok", late.ptr_ok);
    print_kv_dec("main_ptr_ok", main_ptr_ok);
    /* Three threads, three distinct copies, each inside its thread's area:
     * the threads' within 1 MiB below their thread pointers. */
    print_kv_bool("addrs_distinct", th[0].addr != th[1].addr && th[0].addr != main_addr && th[1].addr != main_addr);
    int below = 1;
    for (int i = 0; i < 2; i++) {
        unsigned long a = (unsigned long)th[i].addr, tp = (unsigned long)th[i].tp;
        below &= a < tp && tp - a < (1UL << 20);
    }
    print_kv_bool("thread_copies_below_tp", below);
    for (int i = 0; i < 2; i++) guardld_tls_free(th[i].tp);
    guardld_tls_free(late.tp);
    return 0;
}

/* ---------------------------------------------------------------- sym --- */

typedef int (*hook_fn)(int);
extern int lib_calls_hook(int x);

/* Interposes libapinext's api_hook (first in the global scope), and calls
 * it through RTLD_NEXT: the result is the library's x*10, plus 1. */
int api_hook(int x) {
    hook_fn next = (hook_fn)dlsym(RTLD_NEXT, "api_hook");
    return next && next != api_hook ? next(x) + 1 : -1;
}

static int t_sym(void) {
    print_kv_dec("exe_hook", api_hook(5));
    print_kv_dec("lib_calls_hook", lib_calls_hook(5));
    print_kv_bool("default_hook_is_exe", dlsym(RTLD_DEFAULT, "api_hook") == (void *)api_hook);
    void *hn = dlopen("libapinext.so", RTLD_NOW | RTLD_NOLOAD);
    print_kv_bool("noload_next", hn != NULL);
    void *lib_hook = dlsym(hn, "api_hook");
    print_kv_bool("next_is_lib_hook", lib_hook && dlsym(RTLD_NEXT, "api_hook") == lib_hook);
    print_kv_dec("lib_hook", lib_hook ? ((hook_fn)lib_hook)(5) : -1);
    int_fn only = (int_fn)dlsym(RTLD_DEFAULT, "next_only");
    print_kv_dec("default_next_only", only ? only() : -1);
    /* guardld's exports are in the global scope (last). */
    print_kv_bool("default_dlopen_is_guardld", dlsym(RTLD_DEFAULT, "dlopen") == (void *)dlopen);
    /* RTLD_NEXT from the executable reaches guardld too. */
    print_kv_bool("next_dlopen_is_guardld", dlsym(RTLD_NEXT, "dlopen") == (void *)dlopen);
    print_kv_bool("default_missing_null", dlsym(RTLD_DEFAULT, "api_no_such_function") == NULL);
    print_kv_str("default_missing_err", err_text());
    print_kv_str("err_cleared", err_text());
    /* A symbol only the executable has is not "next" after itself. */
    print_kv_bool("next_of_exe_only_null", dlsym(RTLD_NEXT, "t_sym_exported") == NULL);
    (void)dlerror();
    return 0;
}

/* Exported (--export-dynamic), defined only here. */
int t_sym_exported(void) { return 1; }

/* -------------------------------------------------------------- close --- */

static int t_close(void) {
    print_kv_dec("before_close_maps", maps_count_suffix("/libapiclose.so"));
    rt_flush();
    void *h = dlopen("libapiclose.so", RTLD_NOW);
    print_kv_bool("open_ok", h != NULL);
    if (!h) {
        print_kv_str("dlerror", err_text());
        return 1;
    }
    int_fn v = (int_fn)dlsym(h, "close_value");
    print_kv_dec("close_value", v ? v() : -1);
    print_kv_bool("mapped_close", maps_count_suffix("/libapiclose.so") > 0);
    print_kv_bool("mapped_closedep", maps_count_suffix("/libapiclosedep.so") > 0);
    /* A second reference: the first dlclose keeps everything. */
    rt_flush();
    void *h2 = dlopen("libapiclose.so", RTLD_NOW);
    print_kv_bool("second_same_handle", h2 == h);
    rt_flush();
    print_kv_dec("dlclose_1", dlclose(h2));
    print_kv_bool("still_mapped_close", maps_count_suffix("/libapiclose.so") > 0);
    print_kv_dec("close_value_again", v());
    rt_flush();
    print_kv_dec("dlclose_2", dlclose(h));
    rt_flush();
    print_kv_dec("after_close_maps", maps_count_suffix("/libapiclose.so"));
    print_kv_dec("after_closedep_maps", maps_count_suffix("/libapiclosedep.so"));
    print_kv_bool("dlsym_closed_null", dlsym(h, "close_value") == NULL);
    print_kv_str("dlsym_closed_err", err_text());
    /* Opened again: mapped afresh, initialisers run again. */
    rt_flush();
    void *h3 = dlopen("libapiclose.so", RTLD_NOW);
    v = h3 ? (int_fn)dlsym(h3, "close_value") : NULL;
    print_kv_dec("reopen_value", v ? v() : -1);
    rt_flush();
    print_kv_dec("dlclose_3", h3 ? dlclose(h3) : -1);
    rt_flush();
    print_kv_dec("after_reclose_maps", maps_count_suffix("/libapiclose.so"));
    return 0;
}

/* RTLD_NODELETE: dlclose drops the reference but the object stays (and
 * its finalizers run at exit instead). */
static int t_nodelete(void) {
    rt_flush();
    void *h = dlopen("libapiclose.so", RTLD_NOW | RTLD_NODELETE);
    print_kv_bool("open_ok", h != NULL);
    int_fn v = h ? (int_fn)dlsym(h, "close_value") : NULL;
    rt_flush();
    print_kv_dec("dlclose", h ? dlclose(h) : -1);
    print_kv_bool("still_mapped", maps_count_suffix("/libapiclose.so") > 0);
    print_kv_bool("dep_still_mapped", maps_count_suffix("/libapiclosedep.so") > 0);
    print_kv_dec("close_value_after_dlclose", v ? v() : -1);
    print_kv_bool("noload_finds_it", dlopen("libapiclose.so", RTLD_NOW | RTLD_NOLOAD) != NULL);
    return 0;
}

/* ------------------------------------------------------------- reldep --- */

/* An object other objects bound to outlives its own dlclose, as in
 * glibc: while a library whose relocation bound to it is loaded, and for
 * good once the program found it with dlsym(RTLD_DEFAULT). */
static int t_reldep(void) {
    rt_flush();
    void *hb = dlopen("libapireldep_b.so", RTLD_NOW | RTLD_GLOBAL);
    void *hu = hb ? dlopen("libapireldep_user.so", RTLD_NOW) : NULL;
    if (!hu) {
        print_kv_str("dlerror", err_text());
        return 1;
    }
    int_arg_fn use = (int_arg_fn)dlsym(hu, "rd_use");
    rt_flush();
    print_kv_dec("dlclose_b", dlclose(hb));
    print_kv_bool("b_mapped_while_user_is", maps_count_suffix("/libapireldep_b.so") > 0);
    print_kv_dec("use", use ? use(2) : -1);
    rt_flush();
    print_kv_dec("dlclose_user", dlclose(hu));
    rt_flush();
    print_kv_bool("b_mapped_after_user", maps_count_suffix("/libapireldep_b.so") > 0);
    rt_flush();
    void *hb2 = dlopen("libapireldep_b.so", RTLD_NOW | RTLD_GLOBAL);
    rt_flush();
    print_kv_bool("default_found", hb2 && dlsym(RTLD_DEFAULT, "rd_fb") != NULL);
    rt_flush();
    print_kv_dec("dlclose_b_again", hb2 ? dlclose(hb2) : -1);
    rt_flush();
    print_kv_bool("b_mapped_after_default", maps_count_suffix("/libapireldep_b.so") > 0);
    return 0;
}

/* --------------------------------------------------------------- addr --- */

static int t_addr(void) {
    rt_flush();
    void *h = dlopen("libapitls.so", RTLD_NOW);
    if (!h) {
        print_kv_str("dlerror", err_text());
        return 1;
    }
    /* dep_add is in libapidep.so, found through the handle's dependencies. */
    char *f = dlsym(h, "dep_add");
    Dl_info info;
    memset(&info, 0, sizeof info);
    int r = dladdr(f, &info);
    print_kv_dec("dladdr_ret", r);
    print_kv_str("fname_base", info.dli_fname ? base_name(info.dli_fname) : "(null)");
    print_kv_bool("fname_is_path", info.dli_fname && info.dli_fname[0] == '/');
    print_kv_str("sname", info.dli_sname);
    print_kv_bool("saddr_is_func", info.dli_saddr == f);
    /* dli_fbase: the lowest mapping of the file (inode from stat). */
    unsigned long maps_base = info.dli_fname ? maps_base_of_inode(inode_of(info.dli_fname)) : 0;
    print_kv_bool("fbase_is_maps_base", maps_base && (unsigned long)info.dli_fbase == maps_base);
    /* An address inside the function: the same symbol. */
    memset(&info, 0, sizeof info);
    r = dladdr(f + 3, &info);
    print_kv_str("inside_sname", r ? info.dli_sname : "(ret 0)");
    print_kv_bool("inside_saddr_is_func", info.dli_saddr == f);
    /* guardld's own export. */
    memset(&info, 0, sizeof info);
    r = dladdr((void *)dlopen, &info);
    print_kv_str("guardld_sname", r ? info.dli_sname : "(ret 0)");
    print_kv_bool("guardld_fname_is_path", r && info.dli_fname && info.dli_fname[0] == '/');
    /* Nothing is loaded at page 1. */
    print_kv_dec("unmapped_ret", dladdr((void *)0x1000, &info));
    return 0;
}

/* --------------------------------------------------------------- phdr --- */

#define PT_LOAD 1
#define PT_DYNAMIC 2
struct phdr {
    unsigned int p_type, p_flags;
    unsigned long p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align;
};

static int phdr_count;

static int phdr_cb(struct dl_phdr_info *i, size_t size, void *data) {
    (void)data;
    phdr_count++;
    const char *name = i->dlpi_name;
    int is_main = name && name[0] == 0;
    /* The program's own path: AT_EXECFN (guardld rewrites it when started
     * explicitly, where /proc/self/exe would be guardld). */
    const char *path = is_main ? (const char *)rt_getauxval(AT_EXECFN) : name;
    const struct phdr *ph = i->dlpi_phdr;
    unsigned long lo = ~0UL;
    int loads = 0;
    for (int k = 0; k < i->dlpi_phnum; k++)
        if (ph[k].p_type == PT_LOAD) {
            loads++;
            if (ph[k].p_vaddr < lo) lo = ph[k].p_vaddr;
        }
    unsigned long want = i->dlpi_addr + (lo & ~4095UL);
    unsigned long have = maps_base_of_inode(inode_of(path));
    print_str("object ");
    print_str(is_main ? "(program)" : base_name(name));
    print_str(" loads=");
    print_dec(loads);
    print_str(" base_matches_maps=");
    print_dec(have != 0 && have == want);
    print_str(" tls=");
    print_dec(i->dlpi_tls_modid != 0);
    print_str(" tls_data=");
    print_dec(i->dlpi_tls_data != NULL);
    print_str(" size_ok=");
    print_dec(size >= sizeof *i);
    if (is_main) {
        print_str(" phdr_is_at_phdr=");
        print_dec((unsigned long)i->dlpi_phdr == rt_getauxval(AT_PHDR));
    }
    print_char('\n');
    if (have != want) {
        print_str("  mismatch: dlpi_addr=");
        print_hex(i->dlpi_addr);
        print_str(" first PT_LOAD page=");
        print_hex(want);
        print_str(" maps=");
        print_hex(have);
        print_char('\n');
    }
    return 0;
}

static int t_phdr(void) {
    rt_flush();
    void *h = dlopen("libapitls.so", RTLD_NOW);
    if (!h) {
        print_kv_str("dlerror", err_text());
        return 1;
    }
    int r = dl_iterate_phdr(phdr_cb, NULL);
    print_kv_dec("iterate_ret", r);
    print_kv_dec("objects", phdr_count);
    return 0;
}

/* --------------------------------------------------------------- fail --- */

static char maps_before[256 * 1024];

/* Compare with the summary taken before; on a difference, print the maps
 * before and now (indented) for the failure message. */
static void print_same(const char *key, struct maps_sum a, struct maps_sum b) {
    int same = a.file_hash == b.file_hash && a.file_lines == b.file_lines && a.anon_none == b.anon_none;
    print_kv_bool(key, same);
    if (!same) {
        print_line("  maps before:");
        print_str(maps_before);
        print_line("  maps now:");
        print_str(read_maps());
    }
}

static int t_fail(void) {
    struct maps_sum before = maps_summary();
    memcpy(maps_before, maps_buf, sizeof maps_before);
    rt_flush();
    void *h = dlopen("libapibad.so", RTLD_NOW);
    print_kv_bool("missing_dep_null", h == NULL);
    const char *e = dlerror();
    print_kv_str("missing_dep_err", e ? e : "(none)");
    print_kv_bool("missing_dep_err_names_dep", contains(e, "libapimissing.so"));
    print_kv_str("err_after", err_text());
    print_kv_dec("missing_dep_maps", maps_count_suffix("/libapibad.so"));
    print_same("missing_dep_maps_same", before, maps_summary());

    rt_flush();
    h = dlopen("libapiundef.so", RTLD_NOW);
    print_kv_bool("undef_null", h == NULL);
    e = dlerror();
    print_kv_str("undef_err", e ? e : "(none)");
    print_kv_bool("undef_err_names_symbol", contains(e, "api_no_such_symbol"));
    print_kv_dec("undef_maps", maps_count_suffix("/libapiundef.so"));
    print_kv_dec("undefdep_maps", maps_count_suffix("/libapiundefdep.so"));
    print_same("undef_maps_same", before, maps_summary());

    rt_flush();
    h = dlopen("libapi_not_there.so", RTLD_NOW);
    print_kv_bool("absent_null", h == NULL);
    e = dlerror();
    print_kv_bool("absent_err_names_file", contains(e, "libapi_not_there.so"));
    print_same("absent_maps_same", before, maps_summary());

    /* The loader is still usable: the dependency alone loads (and its
     * constructor runs now, once). */
    rt_flush();
    h = dlopen("libapiundefdep.so", RTLD_NOW);
    print_kv_bool("undefdep_alone_ok", h != NULL);
    int_fn v = h ? (int_fn)dlsym(h, "undefdep_value") : NULL;
    print_kv_dec("undefdep_value", v ? v() : -1);
    return 0;
}

/* ------------------------------------------------------------- noload --- */

static int t_noload(void) {
    void *h0 = dlopen("libapitls.so", RTLD_NOW | RTLD_NOLOAD);
    print_kv_bool("noload_absent_null", h0 == NULL);
    print_kv_str("noload_absent_err", err_text());
    print_kv_dec("noload_absent_maps", maps_count_suffix("/libapitls.so"));

    rt_flush();
    void *h = dlopen("libapitls.so", RTLD_NOW | RTLD_LOCAL);
    print_kv_bool("open_ok", h != NULL);
    void *h1 = dlopen("libapitls.so", RTLD_NOW | RTLD_NOLOAD);
    print_kv_bool("noload_same_handle", h1 == h);
    print_kv_bool("noload_dep_found", dlopen("libapidep.so", RTLD_NOLOAD) != NULL);
    print_kv_bool("noload_startup_lib_found", dlopen("libapinext.so", RTLD_NOLOAD) != NULL);
    /* RTLD_LOCAL: not in the global scope... */
    print_kv_bool("local_not_default", dlsym(RTLD_DEFAULT, "tls_get") == NULL);
    (void)dlerror();
    /* ...until RTLD_NOLOAD | RTLD_GLOBAL promotes it. */
    void *h2 = dlopen("libapitls.so", RTLD_NOW | RTLD_NOLOAD | RTLD_GLOBAL);
    print_kv_bool("promote_same_handle", h2 == h);
    print_kv_bool("global_default", dlsym(RTLD_DEFAULT, "tls_get") == dlsym(h, "tls_get"));
    return 0;
}

/* Every successful dlopen, RTLD_NOLOAD included, takes a reference that a
 * dlclose releases (POSIX; glibc). */
static int t_noload_ref(void) {
    rt_flush();
    void *h = dlopen("libapitls.so", RTLD_NOW);
    void *h1 = dlopen("libapitls.so", RTLD_NOW | RTLD_NOLOAD);
    print_kv_bool("noload_same_handle", h && h1 == h);
    rt_flush();
    print_kv_dec("dlclose_noload", dlclose(h1));
    print_kv_bool("mapped_after_noload_close", maps_count_suffix("/libapitls.so") > 0);
    rt_flush();
    print_kv_dec("dlclose_open", dlclose(h));
    rt_flush();
    print_kv_bool("mapped_after_last_close", maps_count_suffix("/libapitls.so") > 0);
    return 0;
}

/* ------------------------------------------------------------- guards --- */

static int guard_cb_count;

static int guard_cb(const struct guardld_guard *g, void *data) {
    (void)data;
    guard_cb_count++;
    print_str("guard ");
    print_str(base_name(g->object));
    print_str(" mode=");
    print_dec(g->mode);
    print_str(" pages=");
    print_udec(g->len / 4096);
    print_str(" confirmed=");
    print_dec(g->confirmed_pages);
    print_str(" pagemap=");
    print_dec(rt_pagemap_guarded(g->start, g->len));
    print_str(" aligned=");
    print_dec(g->start % 4096 == 0 && g->len % 4096 == 0 && g->len > 0);
    print_char('\n');
    return 0;
}

static int stop_cb(const struct guardld_guard *g, void *data) {
    (void)g;
    (*(int *)data)++;
    return 42;
}

static int t_guards(void) {
    rt_flush();
    void *h = dlopen("libapitls.so", RTLD_NOW);
    print_kv_bool("dlopen_ok", h != NULL);
    int n = guardld_guards(guard_cb, NULL);
    print_kv_bool("ret_is_count", n == guard_cb_count);
    int calls = 0;
    print_kv_dec("stop_ret", guardld_guards(stop_cb, &calls));
    print_kv_dec("stop_calls", calls);
    return 0;
}

/* ---------------------------------------------------------- tls-cycle --- */

/* dlopen and dlclose a library with TLS again and again (glibc gives a
 * general-dynamic module dynamic TLS and frees it at dlclose): every cycle
 * must work. Prints the first failing cycle, if any. */
static int t_tls_cycle(void) {
    int cycles = 500, failed_at = -1;
    for (int i = 0; i < cycles; i++) {
        rt_flush();
        void *h = dlopen("libapitls.so", RTLD_NOW);
        if (!h) {
            failed_at = i;
            print_kv_str("cycle_err", err_text());
            break;
        }
        get_fn g = (get_fn)dlsym(h, "tls_get");
        if (!g || g() != 0x1234) {
            failed_at = i;
            print_kv_str("cycle_err", "tls_get wrong");
            break;
        }
        if (dlclose(h) != 0) {
            failed_at = i;
            print_kv_str("cycle_err", err_text());
            break;
        }
    }
    print_kv_dec("cycles", cycles);
    print_kv_dec("failed_at", failed_at);
    return 0;
}

/* ------------------------------------------------------ caller-runpath --- */

/* dlopen from a library uses that library's DT_RUNPATH: sub/libapiopener.so
 * (RUNPATH $ORIGIN) opens "libapisub.so", which only sub/ has. */
static int t_caller_runpath(void) {
    const char *exe = (const char *)rt_getauxval(AT_EXECFN);
    static char path[4096];
    size_t n = rt_strlen(exe);
    while (n && exe[n - 1] != '/') n--;
    memcpy(path, exe, n);
    memcpy(path + n, "sub/libapiopener.so", 20);
    void *h = dlopen(path, RTLD_NOW);
    print_kv_bool("opener_ok", h != NULL);
    if (!h) {
        print_kv_str("dlerror", err_text());
        return 1;
    }
    void *(*open_fn)(const char *) = (void *(*)(const char *))dlsym(h, "opener_open");
    void *s = open_fn ? open_fn("libapisub.so") : NULL;
    print_kv_bool("sub_found_via_caller_runpath", s != NULL);
    if (!s) print_kv_str("sub_err", err_text());
    int_fn v = s ? (int_fn)dlsym(s, "sub_value") : NULL;
    print_kv_dec("sub_value", v ? v() : -1);
    return 0;
}

/* --------------------------------------------------------------- main --- */

int main(int argc, char **argv, char **envp) {
    (void)envp;
    if (argc < 2) rt_fail("usage: api tls|sym|close|nodelete|reldep|addr|phdr|fail|noload|noload-ref|guards|tls-cycle|caller-runpath");
    const char *t = argv[1];
    int r;
    if (rt_streq(t, "tls")) r = t_tls();
    else if (rt_streq(t, "sym")) r = t_sym();
    else if (rt_streq(t, "close")) r = t_close();
    else if (rt_streq(t, "nodelete")) r = t_nodelete();
    else if (rt_streq(t, "reldep")) r = t_reldep();
    else if (rt_streq(t, "addr")) r = t_addr();
    else if (rt_streq(t, "phdr")) r = t_phdr();
    else if (rt_streq(t, "fail")) r = t_fail();
    else if (rt_streq(t, "noload")) r = t_noload();
    else if (rt_streq(t, "noload-ref")) r = t_noload_ref();
    else if (rt_streq(t, "guards")) r = t_guards();
    else if (rt_streq(t, "tls-cycle")) r = t_tls_cycle();
    else if (rt_streq(t, "caller-runpath")) r = t_caller_runpath();
    else rt_fail("unknown subtest");
    print_kv_dec("fails", fails);
    rt_flush();
    return r || fails;
}
