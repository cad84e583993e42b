/* pthreads and TLS of a glibc program, for tests/glibc_threads.rs: run
   under glibc's ld.so and under guardld --glibc native, it must print the
   same and exit the same. Nothing printed depends on addresses, thread
   ids or scheduling: threads store their results, main prints them after
   joining. argv[1] picks the part:
     basic     8 threads on initialised and zero TLS of the program and of
               libglibcthr.so (general-dynamic), each with its own copy
     rounds    create/join rounds with more threads than the stack cache
               holds and several stack sizes: reused stacks get their TLS
               initialised again
     detached  detached threads, then joined ones on their cached stacks
     keys      pthread_key_create destructors (TLS still readable in them)
     exit      pthread_exit from nested calls, with key destructors
     cancel    pthread_cancel of blocked threads: cleanup handlers and key
               destructors run as their stacks unwind
     fork      fork from the main thread and from a thread while threads
               run; each child creates threads itself
     private   ld.so's private interface called directly: a DTV and TLS
               from _dl_allocate_tls(NULL), freed again;
               __nptl_change_stack_perm on a running thread's stack
     dlopen    dlopen of TLS libraries (argv[2] small, argv[3] big) while
               threads run; then threads on reused stacks
     freeres   basic, then __libc_freeres (as valgrind calls it)
     maps      how many mappings of ld-linux-x86-64.so.2 a thread sees */
#define _GNU_SOURCE
#include "glibc-threads/tls_lib.h"
#include "glibc-threads/perms.h"
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

__thread int exe_init = 42;
__thread long exe_zero[100];
__thread struct {
    char tag[8];
    double x;
} exe_struct = {"exe", 2.5};
__thread _Alignas(64) char exe_aligned[64] = "aligned";
static __thread unsigned exe_static_zero;

static int exe_tls_fresh(void) {
    if (exe_init != 42 || exe_static_zero != 0 || strcmp(exe_struct.tag, "exe") != 0 || exe_struct.x != 2.5)
        return 0;
    if (strcmp(exe_aligned, "aligned") != 0 || (uintptr_t)exe_aligned % 64 != 0)
        return 0;
    for (int i = 0; i < 100; i++)
        if (exe_zero[i] != 0)
            return 0;
    return 1;
}

static unsigned long exe_tls_work(unsigned seed) {
    unsigned long s = 0;
    for (int i = 0; i < 100; i++) {
        exe_zero[i] = (long)seed * i;
        s += (unsigned long)(exe_zero[i] ^ i);
    }
    exe_init += (int)seed;
    exe_static_zero = seed * 3;
    exe_struct.x *= seed;
    exe_aligned[0] = (char)('a' + seed % 26);
    return s + (unsigned long)exe_init + exe_static_zero + (unsigned long)exe_struct.x + (unsigned char)exe_aligned[0];
}

/* Both TLS blocks fresh, then worked on in steps that yield to the other
   threads: a shared block would change the result. */
struct job {
    unsigned seed;
    int fresh;
    unsigned long sum;
    void *exe_addr, *lib_addr;
};

static void *worker(void *p) {
    struct job *j = p;
    j->fresh = exe_tls_fresh() + 2 * lib_tls_fresh();
    j->exe_addr = &exe_init;
    j->lib_addr = lib_tls_addr();
    unsigned long s = 0;
    for (unsigned k = 0; k < 5; k++) {
        s = s * 7 + exe_tls_work(j->seed + k) + lib_tls_work(j->seed * 3 + k);
        sched_yield();
    }
    j->sum = s;
    return (void *)(uintptr_t)(j->seed * 100);
}

static void must(int err, const char *what) {
    if (err) {
        printf("%s failed: %s\n", what, strerror(err));
        exit(2);
    }
}

static int basic(void) {
    enum { N = 8 };
    pthread_t t[N];
    struct job j[N];
    for (int i = 0; i < N; i++) {
        j[i] = (struct job){.seed = (unsigned)i + 1};
        must(pthread_create(&t[i], NULL, worker, &j[i]), "pthread_create");
    }
    for (int i = 0; i < N; i++) {
        void *ret;
        must(pthread_join(t[i], &ret), "pthread_join");
        printf("thread %d: fresh %d sum %lu ret %lu\n", i, j[i].fresh, j[i].sum, (unsigned long)(uintptr_t)ret);
    }
    /* Every thread had its own blocks, the main thread's included. */
    int distinct = 1;
    for (int i = 0; i < N; i++) {
        distinct &= j[i].exe_addr != (void *)&exe_init && j[i].lib_addr != lib_tls_addr();
        for (int k = 0; k < i; k++)
            distinct &= j[i].exe_addr != j[k].exe_addr && j[i].lib_addr != j[k].lib_addr;
    }
    printf("distinct blocks %d, main fresh %d %d\n", distinct, exe_tls_fresh(), lib_tls_fresh());
    return 0;
}

/* Rounds of K threads at once (K default stacks are more than glibc's
   40 MiB stack cache keeps), stack sizes varying by round. */
static int rounds(void) {
    enum { R = 24, K = 12 };
    const size_t sizes[] = {0, 256 << 10, 1 << 20, 96 << 10};
    unsigned long total = 0;
    int stale = 0;
    for (int r = 0; r < R; r++) {
        pthread_attr_t a;
        pthread_attr_init(&a);
        size_t sz = sizes[r % 4];
        if (sz)
            must(pthread_attr_setstacksize(&a, sz), "pthread_attr_setstacksize");
        pthread_t t[K];
        struct job j[K];
        for (int i = 0; i < K; i++) {
            j[i] = (struct job){.seed = (unsigned)(r * K + i)};
            must(pthread_create(&t[i], &a, worker, &j[i]), "pthread_create");
        }
        unsigned long round = 0;
        for (int i = 0; i < K; i++) {
            must(pthread_join(t[i], NULL), "pthread_join");
            stale += j[i].fresh != 3;
            round = round * 31 + j[i].sum;
        }
        pthread_attr_destroy(&a);
        printf("round %d: %lu\n", r, round);
        total ^= round;
    }
    printf("rounds %d threads %d stale %d total %lu\n", R, R * K, stale, total);
    return stale != 0;
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int finished;
static unsigned long detached_sum;
static int detached_stale;

static void *detached_worker(void *p) {
    struct job j = {.seed = (unsigned)(uintptr_t)p};
    worker(&j);
    pthread_mutex_lock(&mu);
    detached_sum += j.sum;
    detached_stale += j.fresh != 3;
    finished++;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
    return NULL;
}

static int detached(void) {
    enum { N = 20 };
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    for (int i = 0; i < N; i++) {
        pthread_t t;
        must(pthread_create(&t, &a, detached_worker, (void *)(uintptr_t)(i + 7)), "pthread_create");
    }
    pthread_mutex_lock(&mu);
    while (finished < N)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    printf("detached %d: sum %lu stale %d\n", finished, detached_sum, detached_stale);
    /* Joined threads next, on the stacks the detached ones leave (a
       detached thread may still be exiting: the count, not the reuse, is
       what is printed). */
    usleep(20000);
    pthread_t t[6];
    struct job j[6];
    int stale = 0;
    for (int i = 0; i < 6; i++) {
        j[i] = (struct job){.seed = (unsigned)i + 50};
        must(pthread_create(&t[i], NULL, worker, &j[i]), "pthread_create");
    }
    for (int i = 0; i < 6; i++) {
        must(pthread_join(t[i], NULL), "pthread_join");
        stale += j[i].fresh != 3;
        printf("after detached %d: %lu\n", i, j[i].sum);
    }
    printf("stale %d\n", stale);
    return 0;
}

/* Thread-specific data with destructors; records are kept per thread. */
static pthread_key_t key;
static char dtor_log[16][96];

struct tsd {
    int id;
    int round;
};

static void tsd_dtor(void *p) {
    struct tsd *d = p;
    /* TLS is still this thread's while its destructors run. */
    snprintf(dtor_log[d->id], sizeof dtor_log[d->id], "dtor %d round %d exe_init %d lib %d", d->id, d->round, exe_init,
             lib_tls_fresh());
    if (d->round < 2) {
        d->round++;
        pthread_setspecific(key, d); /* glibc calls destructors again */
    } else {
        free(d);
    }
}

static void *key_worker(void *p) {
    int id = (int)(uintptr_t)p;
    struct tsd *d = malloc(sizeof *d);
    *d = (struct tsd){id, 0};
    pthread_setspecific(key, d);
    exe_init = 1000 + id;
    return (void *)(uintptr_t)(id * 3);
}

static int keys(void) {
    must(pthread_key_create(&key, tsd_dtor), "pthread_key_create");
    pthread_t t[6];
    for (int i = 0; i < 6; i++)
        must(pthread_create(&t[i], NULL, key_worker, (void *)(uintptr_t)i), "pthread_create");
    for (int i = 0; i < 6; i++) {
        void *ret;
        must(pthread_join(t[i], &ret), "pthread_join");
        printf("thread %d returned %lu; %s\n", i, (unsigned long)(uintptr_t)ret, dtor_log[i]);
    }
    return 0;
}

static void __attribute__((noinline)) leave(int id, int depth) {
    if (depth <= 0)
        pthread_exit((void *)(uintptr_t)(id * 11));
    leave(id, depth - 1);
    printf("not reached\n");
}

static void *exit_worker(void *p) {
    int id = (int)(uintptr_t)p;
    struct tsd *d = malloc(sizeof *d);
    *d = (struct tsd){id, 0};
    pthread_setspecific(key, d);
    exe_init = 2000 + id;
    leave(id, id);
    return NULL;
}

static int exits(void) {
    must(pthread_key_create(&key, tsd_dtor), "pthread_key_create");
    pthread_t t[5];
    for (int i = 0; i < 5; i++)
        must(pthread_create(&t[i], NULL, exit_worker, (void *)(uintptr_t)i), "pthread_create");
    for (int i = 0; i < 5; i++) {
        void *ret;
        must(pthread_join(t[i], &ret), "pthread_join");
        printf("thread %d exited with %lu; %s\n", i, (unsigned long)(uintptr_t)ret, dtor_log[i]);
    }
    return 0;
}

/* pthread_cancel of threads blocked in a cancellation point: cleanup
   handlers and key destructors run while the stack unwinds. */
static pthread_barrier_t ready;
static char cleanup_log[8][64];

static void cleanup(void *p) {
    int id = (int)(uintptr_t)p;
    snprintf(cleanup_log[id], sizeof cleanup_log[id], "cleanup %d exe_init %d", id, exe_init);
}

static void *cancel_worker(void *p) {
    int id = (int)(uintptr_t)p;
    struct tsd *d = malloc(sizeof *d);
    *d = (struct tsd){id, 0};
    pthread_setspecific(key, d);
    exe_init = 3000 + id;
    pthread_cleanup_push(cleanup, p);
    pthread_barrier_wait(&ready);
    for (;;)
        sleep(100);
    pthread_cleanup_pop(0);
    return NULL;
}

static int cancels(void) {
    enum { N = 4 };
    must(pthread_key_create(&key, tsd_dtor), "pthread_key_create");
    pthread_barrier_init(&ready, NULL, N + 1);
    pthread_t t[N];
    for (int i = 0; i < N; i++)
        must(pthread_create(&t[i], NULL, cancel_worker, (void *)(uintptr_t)i), "pthread_create");
    pthread_barrier_wait(&ready);
    for (int i = 0; i < N; i++)
        must(pthread_cancel(t[i]), "pthread_cancel");
    for (int i = 0; i < N; i++) {
        void *ret;
        must(pthread_join(t[i], &ret), "pthread_join");
        printf("thread %d canceled %d; %s; %s\n", i, ret == PTHREAD_CANCELED, cleanup_log[i], dtor_log[i]);
    }
    return 0;
}

/* fork while threads run; the child makes threads of its own. */
static pthread_barrier_t gate;

static void *blocked(void *p) {
    struct job *j = p;
    worker(j);
    pthread_barrier_wait(&gate);
    return NULL;
}

static int child(const char *who) {
    /* The forking thread's TLS came along. */
    printf("%s: own exe_init %d\n", who, exe_init);
    pthread_t t[3];
    struct job j[3];
    for (int i = 0; i < 3; i++) {
        j[i] = (struct job){.seed = (unsigned)i + 90};
        must(pthread_create(&t[i], NULL, worker, &j[i]), "child pthread_create");
    }
    for (int i = 0; i < 3; i++) {
        must(pthread_join(t[i], NULL), "child pthread_join");
        printf("%s: thread %d fresh %d sum %lu\n", who, i, j[i].fresh, j[i].sum);
    }
    fflush(stdout);
    _exit(10);
}

static void fork_and_wait(const char *who) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(2);
    }
    if (pid == 0)
        child(who);
    int st;
    waitpid(pid, &st, 0);
    printf("%s exited %d\n", who, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

static void *forking(void *p) {
    exe_init = 4242;
    (void)p;
    fork_and_wait("child of a thread");
    return NULL;
}

static int forks(void) {
    enum { N = 4 };
    pthread_barrier_init(&gate, NULL, N + 1);
    pthread_t t[N];
    struct job j[N];
    for (int i = 0; i < N; i++) {
        j[i] = (struct job){.seed = (unsigned)i + 70};
        must(pthread_create(&t[i], NULL, blocked, &j[i]), "pthread_create");
    }
    exe_init = 77;
    fork_and_wait("child of main");
    pthread_t f;
    must(pthread_create(&f, NULL, forking, NULL), "pthread_create");
    must(pthread_join(f, NULL), "pthread_join");
    pthread_barrier_wait(&gate);
    for (int i = 0; i < N; i++) {
        must(pthread_join(t[i], NULL), "pthread_join");
        printf("parent thread %d: fresh %d sum %lu\n", i, j[i].fresh, j[i].sum);
    }
    return 0;
}

/* ld.so's private interface, as libc calls it. */
extern void *_dl_allocate_tls(void *mem);
extern void _dl_deallocate_tls(void *tcb, bool dealloc_tcb);
extern int __nptl_change_stack_perm(void *pd);

struct dtv_entry {
    uintptr_t val, to_free;
};

static struct dtv_entry *dtv_of(void *tcb) {
    return ((struct dtv_entry **)tcb)[1];
}


static void *stack_perm_worker(void *p) {
    int *err = p;
    volatile char local = 1;
    char before[5], after[5];
    perms_of((const void *)&local, before);
    *err = __nptl_change_stack_perm((void *)pthread_self());
    perms_of((const void *)&local, after);
    printf("thread stack %s -> %s (err %d)\n", before, after, *err);
    return NULL;
}

static int private_interface(void) {
    char *tp = __builtin_thread_pointer();
    struct dtv_entry *mine = dtv_of(tp);
    uintptr_t max = mine[-1].val;
    void *tcb = _dl_allocate_tls(NULL);
    if (!tcb) {
        printf("_dl_allocate_tls(NULL) failed\n");
        return 1;
    }
    struct dtv_entry *dtv = dtv_of(tcb);
    /* Each module's entry where the calling thread's offset says, static
       (to_free NULL), and the blocks hold the initial images. */
    int modules = 0, placed = 0, to_free = 0;
    for (uintptr_t k = 1; k <= max && mine[k].val; k++) {
        modules++;
        placed += dtv[k].val == (uintptr_t)tcb - ((uintptr_t)tp - mine[k].val);
        to_free += dtv[k].to_free != 0;
    }
    int *exe = (int *)((char *)tcb + ((char *)&exe_init - tp));
    unsigned long *lib = (unsigned long *)((char *)tcb + ((char *)lib_tls_addr() - tp));
    long *zero = (long *)((char *)tcb + ((char *)exe_zero - tp));
    int zeros = 1;
    for (int i = 0; i < 100; i++)
        zeros &= zero[i] == 0;
    printf("dtv: %d modules, %d placed, %d to_free, room %d, generation %s\n", modules, placed, to_free,
           dtv[-1].val >= max, dtv[0].val == mine[0].val ? "same" : "differs");
    printf("blocks: exe_init %d lib_counter %lu exe_zero zero %d\n", *exe, *lib, zeros);
    _dl_deallocate_tls(tcb, true);
    printf("deallocated\n");

    pthread_t t;
    int err = -1;
    must(pthread_create(&t, NULL, stack_perm_worker, &err), "pthread_create");
    must(pthread_join(t, NULL), "pthread_join");
    return err != 0;
}

/* dlopen of TLS libraries while threads run: threads that existed
   before see the new modules' initial images (the small module's blocks
   are filled into every thread's static TLS, the big one's made on first
   use); later threads, on reused stacks too, start fresh. argv[2],
   argv[3]: the small and the big library. */
struct dl_lib {
    void *handle;
    int (*fresh)(void);
    int (*dirty)(int);
};
static struct dl_lib small_lib, big_lib;
static pthread_barrier_t opened, done_gate;

static int dl_check(int seed) {
    int r = small_lib.fresh() + 2 * big_lib.fresh();
    small_lib.dirty(seed);
    big_lib.dirty(seed);
    return r;
}

static void *dl_old_worker(void *p) {
    int *out = p;
    exe_init = 5;
    pthread_barrier_wait(&opened); /* main dlopens meanwhile */
    *out = dl_check(*out);
    pthread_barrier_wait(&done_gate);
    return NULL;
}

static void *dl_new_worker(void *p) {
    int *out = p;
    *out = dl_check(*out);
    return NULL;
}

static int dl_open(struct dl_lib *l, const char *path) {
    l->handle = dlopen(path, RTLD_NOW);
    if (!l->handle) {
        printf("dlopen: %s\n", dlerror());
        return 1;
    }
    l->fresh = (int (*)(void))dlsym(l->handle, "dl_fresh");
    l->dirty = (int (*)(int))dlsym(l->handle, "dl_dirty");
    return !l->fresh || !l->dirty;
}

static int dlopen_tls(int argc, char **argv) {
    if (argc < 4)
        return 2;
    enum { N = 3 };
    pthread_barrier_init(&opened, NULL, N + 1);
    pthread_barrier_init(&done_gate, NULL, N + 1);
    pthread_t t[N];
    int res[N];
    for (int i = 0; i < N; i++) {
        res[i] = i + 1;
        must(pthread_create(&t[i], NULL, dl_old_worker, &res[i]), "pthread_create");
    }
    if (dl_open(&small_lib, argv[2]) || dl_open(&big_lib, argv[3]))
        return 1;
    pthread_barrier_wait(&opened);
    pthread_barrier_wait(&done_gate);
    for (int i = 0; i < N; i++) {
        must(pthread_join(t[i], NULL), "pthread_join");
        printf("thread from before dlopen %d: fresh %d\n", i, res[i]);
    }
    int stale = 0;
    for (int r = 0; r < 6; r++) {
        pthread_t u[4];
        int out[4];
        for (int i = 0; i < 4; i++) {
            out[i] = r * 4 + i;
            must(pthread_create(&u[i], NULL, dl_new_worker, &out[i]), "pthread_create");
        }
        for (int i = 0; i < 4; i++) {
            must(pthread_join(u[i], NULL), "pthread_join");
            stale += out[i] != 3;
        }
    }
    printf("threads after dlopen: 24, stale %d\n", stale);
    printf("main: fresh %d\n", dl_check(1));
    printf("dlclose %d %d\n", dlclose(small_lib.handle), dlclose(big_lib.handle));
    return stale != 0;
}

/* The result of f(arg) run on a new thread, or NULL (*ok = 0) if the
   thread could not be made. */
static void *in_new_thread(void *(*f)(void *), void *arg, int *ok) {
    pthread_t t;
    void *r = NULL;
    *ok = !pthread_create(&t, NULL, f, arg) && !pthread_join(t, &r);
    return r;
}

/* Whose memory `p` is, as a preloaded libmymalloc.so answers
   (mymalloc_owns, found in the global scope). */
static const char *owner(const void *p) {
    int (*owns)(const void *) = (int (*)(const void *))dlsym(RTLD_DEFAULT, "mymalloc_owns");
    return !owns ? "no malloc replacement" : owns(p) ? "from the preloaded malloc" : "not from the preloaded malloc";
}

/* Whose memory a thread's block of dynamic TLS is (argv[2]: a library
   past the static surplus, exporting dl_big_addr). glibc's __tls_get_addr
   mallocs it: with libmymalloc.so preloaded, from the replacement. */
static void *dtls_of_thread(void *f) { return ((void *(*)(void))f)(); }

static int dtls_owner(int argc, char **argv) {
    if (argc < 3)
        return 2;
    void *h = dlopen(argv[2], RTLD_NOW);
    void *f = h ? dlsym(h, "dl_big_addr") : NULL;
    if (!f) {
        printf("dlopen: %s\n", dlerror());
        return 1;
    }
    int ok;
    void *block = in_new_thread(dtls_of_thread, f, &ok);
    if (!ok)
        return 1;
    printf("a thread's dynamic TLS block: %s\n", owner(block));
    return dlclose(h) != 0;
}

/* valgrind's and mtrace's end of a run: libc frees what it can, the
   loader's TLS bookkeeping included (_dl_tls_dtv_slotinfo_list). */
extern void __libc_freeres(void);

static int freeres(void) {
    basic();
    __libc_freeres();
    printf("freed\n");
    return 0;
}

static void *maps_worker(void *p) {
    int *n = p;
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f))
        *n += strstr(line, "/ld-linux-x86-64.so.2") != NULL;
    if (f)
        fclose(f);
    return NULL;
}

/* A new thread's first malloc, with none before it in the process. glibc's
   pthread_create callocs the thread's DTV on the creating thread, which
   initialises malloc there (main_arena becomes that thread's), so the new
   thread gets an arena of its own. Had the thread's malloc initialised
   malloc, it would have taken main_arena (from the program break), and two
   threads doing so at once can abort at exit in glibc's arena accounting. */
static void *first_malloc(void *brk0) {
    char *p = malloc(64);
    char *end = sbrk(0);
    intptr_t from_break = p >= (char *)brk0 && p < end;
    free(p);
    return (void *)from_break;
}

static int arena(void) {
    int ok;
    void *r = in_new_thread(first_malloc, sbrk(0), &ok);
    if (!ok)
        return 1;
    printf("a new thread's first malloc: %s\n", r ? "main_arena (the program break)" : "an arena of its own");
    return 0;
}

/* Whose memory a new thread's DTV is. glibc's ld.so callocs it with the
   calloc the program's scope resolves: with libmymalloc.so preloaded, the
   replacement's (it exports mymalloc_owns). tcbhead_t.dtv is the word
   after the TCB's self pointer. */
static void *dtv_of_thread(void *unused) {
    (void)unused;
    void **tcb;
    __asm__("mov %%fs:0, %0" : "=r"(tcb));
    return tcb[1];
}

static int dtv_owner(void) {
    int ok;
    void *dtv = in_new_thread(dtv_of_thread, NULL, &ok);
    if (!ok)
        return 1;
    printf("a new thread's DTV: %s\n", owner(dtv));
    return 0;
}

static int maps(void) {
    int n = 0;
    pthread_t t;
    must(pthread_create(&t, NULL, maps_worker, &n), "pthread_create");
    must(pthread_join(t, NULL), "pthread_join");
    printf("ld-linux-x86-64.so.2 mappings: %d\n", n);
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *what = argc > 1 ? argv[1] : "basic";
    if (strcmp(what, "dlopen") == 0)
        return dlopen_tls(argc, argv);
    if (strcmp(what, "dtls") == 0)
        return dtls_owner(argc, argv);
    struct {
        const char *name;
        int (*run)(void);
    } parts[] = {{"basic", basic},   {"rounds", rounds}, {"detached", detached},
                 {"keys", keys},     {"exit", exits},    {"cancel", cancels}, {"fork", forks},
                 {"private", private_interface}, {"freeres", freeres}, {"maps", maps},
                 {"arena", arena}, {"dtv", dtv_owner}};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        if (strcmp(what, parts[i].name) == 0)
            return parts[i].run() ? 1 : 0;
    printf("unknown part %s\n", what);
    return 2;
}
