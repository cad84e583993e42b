/* libmymalloc.so: a malloc replacement for LD_PRELOAD (issue 16: a glibc
 * library interposing libc). A thread-safe bump allocator on 64 MiB mmap'd
 * chunks; free keeps the memory. `mymalloc_owns(p)` says whether `p` lies
 * in its chunks (threads_main's `dtv` part asks it about a thread's DTV),
 * and a destructor says on stderr whether it served the program. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define CHUNK ((size_t)64 << 20)
#define MAX_CHUNKS 64
static atomic_flag lock = ATOMIC_FLAG_INIT;
static char *cur, *end;
static char *chunks[MAX_CHUNKS];
static int nchunks;
static atomic_long allocs;

/* A block of `size` bytes aligned to `align` (a power of two), its size in
 * the word before it. */
static void *bump(size_t size, size_t align) {
    if (size > CHUNK / 2 || align > 4096) {
        errno = ENOMEM;
        return NULL;
    }
    while (atomic_flag_test_and_set_explicit(&lock, memory_order_acquire)) {}
    for (;;) {
        uintptr_t p = ((uintptr_t)cur + 16 + align - 1) & ~(uintptr_t)(align - 1);
        if (cur && p + size <= (uintptr_t)end) {
            cur = (char *)(p + size);
            ((size_t *)p)[-1] = size;
            atomic_flag_clear_explicit(&lock, memory_order_release);
            atomic_fetch_add(&allocs, 1);
            return (void *)p;
        }
        void *c = nchunks < MAX_CHUNKS ? mmap(NULL, CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) : MAP_FAILED;
        if (c == MAP_FAILED) {
            atomic_flag_clear_explicit(&lock, memory_order_release);
            errno = ENOMEM;
            return NULL;
        }
        chunks[nchunks++] = c;
        cur = c;
        end = (char *)c + CHUNK;
    }
}

void *malloc(size_t n) { return bump(n ? n : 1, 16); }
void free(void *p) { (void)p; }
void *calloc(size_t a, size_t b) {
    size_t n;
    if (__builtin_mul_overflow(a, b, &n)) {
        errno = ENOMEM;
        return NULL;
    }
    return malloc(n); /* fresh mmap'd memory, never reused: zero */
}
size_t malloc_usable_size(void *p) { return p ? ((size_t *)p)[-1] : 0; }
void *realloc(void *p, size_t n) {
    if (!p)
        return malloc(n);
    void *q = malloc(n);
    if (q) {
        size_t o = malloc_usable_size(p);
        memcpy(q, p, o < n ? o : n);
    }
    return q;
}
void *memalign(size_t al, size_t n) { return bump(n ? n : 1, al < 16 ? 16 : al); }
void *aligned_alloc(size_t al, size_t n) { return memalign(al, n); }
int posix_memalign(void **out, size_t al, size_t n) {
    void *p = memalign(al, n);
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}
void *valloc(size_t n) { return memalign(4096, n); }
void *pvalloc(size_t n) { return memalign(4096, (n + 4095) & ~(size_t)4095); }

int mymalloc_owns(const void *p) {
    int yes = 0;
    while (atomic_flag_test_and_set_explicit(&lock, memory_order_acquire)) {}
    for (int i = 0; i < nchunks; i++)
        yes |= (const char *)p >= chunks[i] && (const char *)p < chunks[i] + CHUNK;
    atomic_flag_clear_explicit(&lock, memory_order_release);
    return yes;
}

__attribute__((destructor)) static void report(void) {
    static const char yes[] = "[mymalloc served the program]\n", no[] = "[mymalloc unused]\n";
    if (atomic_load(&allocs) > 0) {
        if (write(2, yes, sizeof yes - 1) < 0) {}
    } else if (write(2, no, sizeof no - 1) < 0) {}
}
