/* A glibc program that prints what depends on the loader's part of
 * glibc's start-up: auxv-derived values, rseq, TLS and the TCB, libc's
 * IFUNC'd string functions at many sizes (they read the loader's CPU
 * features and cache thresholds), constructor/destructor order. Its
 * output under guardld's glibc personality must equal its output under
 * glibc's own ld.so. With the argument "maps" it prints how many of its
 * mappings are glibc's ld.so instead. */
#define _GNU_SOURCE
#include <ctype.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <gnu/libc-version.h>
#include <link.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

extern const unsigned int __rseq_size, __rseq_flags;
extern const ptrdiff_t __rseq_offset;
extern char __libc_single_threaded;

__attribute__((constructor)) static void ctor(void) { puts("constructor"); }
__attribute__((destructor)) static void dtor(void) { puts("destructor"); }
static void at_exit(void) { puts("atexit handler"); }
static __thread int tls_counter = 41;

static int first_object(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    printf("first object: name '%s', %d program headers\n", info->dlpi_name, info->dlpi_phnum);
    *(int *)data = 1;
    return 1;
}

/* A checksum of libc's string functions over sizes and alignments,
 * across the thresholds where glibc switches strategies. */
static uint64_t strings(void) {
    static const size_t sizes[] = {0, 1, 7, 15, 16, 31, 32, 63, 64, 127, 128, 255, 256, 511, 1024, 2047, 2048, 2112, 4096,
                                   8191, 65536, 262144, 524288, 1 << 20, 3 << 20, 9 << 20};
    size_t max = 9 << 20;
    unsigned char *a = malloc(max + 64), *b = malloc(max + 64);
    uint64_t sum = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
        for (size_t align = 0; align < 3; align++) {
            size_t n = sizes[i];
            for (size_t k = 0; k < n + 64; k++) a[k] = (unsigned char)(k * 131 + n + align);
            memset(b, 0x5a, n + 64);
            memcpy(b + align, a + 2 * align, n);
            memmove(b + align + 1, b + align, n);
            sum = sum * 31 + (uint64_t)memcmp(b + align + 1, a + 2 * align, n) + b[align + n];
            memset(a + align, 'q', n);
            a[align + n] = 0;
            sum = sum * 31 + strlen((char *)a + align);
            sum = sum * 31 + (uint64_t)(strchr((char *)a + align, 0) - (char *)a);
            sum = sum * 31 + (memchr(a + align, 'q', n) != NULL);
            sum = sum * 31 + (uint64_t)(strcmp((char *)a + align, (char *)a + align) == 0);
            for (size_t k = 0; k < n; k++) sum += b[align + 1 + k] ^ k;
        }
    free(a);
    free(b);
    return sum;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "maps") == 0) {
        FILE *f = fopen("/proc/self/maps", "r");
        char line[4096];
        int n = 0;
        while (f && fgets(line, sizeof line, f))
            n += strstr(line, "ld-linux-x86-64") != NULL;
        printf("glibc ld.so mappings: %d\n", n);
        return 0;
    }
    atexit(at_exit);
    printf("libc %s, single-threaded %d\n", gnu_get_libc_version(), __libc_single_threaded);
    printf("rseq size %u offset %td flags %u\n", __rseq_size, __rseq_offset, __rseq_flags);
    printf("hwcap %#lx hwcap2 %#lx pagesz %lu platform %s\n", getauxval(AT_HWCAP), getauxval(AT_HWCAP2), getauxval(AT_PAGESZ),
           (const char *)getauxval(AT_PLATFORM));
    printf("sysconf pagesize %ld clk_tck %ld\n", sysconf(_SC_PAGESIZE), sysconf(_SC_CLK_TCK));
    printf("tid is pid %d, pthread_self is the thread pointer %d\n", gettid() == getpid(),
           (void *)pthread_self() == __builtin_thread_pointer());
    errno = 0;
    open("/nonexistent/file", O_RDONLY);
    printf("errno %d, tls %d\n", errno, ++tls_counter);
    printf("isalpha %d toupper %c\n", isalpha('a') != 0, toupper('x'));
    int seen = 0;
    dl_iterate_phdr(first_object, &seen);
    printf("strings %llu\n", (unsigned long long)strings());
    char *env = getenv("GUARDLD_PROBE");
    printf("env %s\n", env ? env : "(unset)");
    fflush(stdout);
    return 3;
}
