/* Test helper for gmaps: builds an address space whose guard pages are known facts.
 *
 * usage: guarded FILE   (FILE must be at least 5 pages long)
 *
 * - maps FILE privately (5 pages, read-only) and installs guards on its pages 1 and 3;
 * - maps 4 anonymous pages read-write and installs a guard on page 2;
 * - maps 2 anonymous pages and mprotects them PROT_NONE (a real `---p` VMA, no guard);
 * - checks in forked children that touching a guarded page dies of SIGSEGV and touching an
 *   unguarded neighbour does not (so the guards are real, not just asked for);
 * - prints what it did, one fact a line ("guard START END", hex), then "ready", and pauses.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define MADV_GUARD_INSTALL_ 102

static void die(const char *what) { perror(what); exit(2); }

/* 1 if reading *p in a child dies of SIGSEGV, 0 if the read succeeds. */
static int faults(volatile char *p) {
    pid_t c = fork();
    if (c < 0) die("fork");
    if (c == 0) { (void)*p; _exit(0); }
    int st;
    if (waitpid(c, &st, 0) < 0) die("waitpid");
    if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV) return 1;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return 0;
    fprintf(stderr, "unexpected child status %d\n", st);
    exit(2);
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: guarded FILE\n"); return 2; }
    long ps = sysconf(_SC_PAGESIZE);
    int fd = open(argv[1], O_RDONLY);
    if (fd < 0) die("open");
    char *f = mmap(NULL, 5 * ps, PROT_READ, MAP_PRIVATE, fd, 0);
    if (f == MAP_FAILED) die("mmap file");
    if (madvise(f + 1 * ps, ps, MADV_GUARD_INSTALL_)) die("madvise file page 1");
    if (madvise(f + 3 * ps, ps, MADV_GUARD_INSTALL_)) die("madvise file page 3");

    char *a = mmap(NULL, 4 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (a == MAP_FAILED) die("mmap anon");
    if (madvise(a + 2 * ps, ps, MADV_GUARD_INSTALL_)) die("madvise anon page 2");
    memset(a, 0x5a, 2 * ps); /* populate the unguarded pages before the guard */
    a[3 * ps] = 1;

    char *n = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (n == MAP_FAILED) die("mmap protnone");
    if (mprotect(n, 2 * ps, PROT_NONE)) die("mprotect");

    if (!faults(f + 1 * ps) || !faults(f + 3 * ps) || !faults(a + 2 * ps)) {
        fprintf(stderr, "a guarded page did not fault\n"); return 3;
    }
    if (faults(f) || faults(f + 2 * ps) || faults(f + 4 * ps) || faults(a + 1 * ps) || faults(a + 3 * ps)) {
        fprintf(stderr, "an unguarded page faulted\n"); return 3;
    }

    printf("page_size %lx\n", ps);
    printf("file %lx %lx %s\n", (unsigned long)f, (unsigned long)(f + 5 * ps), argv[1]);
    printf("anon %lx %lx\n", (unsigned long)a, (unsigned long)(a + 4 * ps));
    printf("guard %lx %lx\n", (unsigned long)(f + 1 * ps), (unsigned long)(f + 2 * ps));
    printf("guard %lx %lx\n", (unsigned long)(f + 3 * ps), (unsigned long)(f + 4 * ps));
    printf("guard %lx %lx\n", (unsigned long)(a + 2 * ps), (unsigned long)(a + 3 * ps));
    printf("protnone %lx %lx\n", (unsigned long)n, (unsigned long)(n + 2 * ps));
    printf("ready\n");
    fflush(stdout);
    for (;;) pause();
}
