/* guardld.h: the runtime interface guardld exports to the programs it loads.
 *
 * A libc-less program reaches these through a NEEDED on guardld: link with
 * lld against the guardld binary itself (`gcc -fuse-ld=lld prog.c
 * /path/to/guardld`, which records NEEDED ld-guardld.so.1), or against
 * glibc's /lib64/ld-linux-x86-64.so.2 for __tls_get_addr (NEEDED
 * ld-linux-x86-64.so.2 resolves to guardld). guardld is also always last
 * in the global scope, so an undefined reference to these names binds to
 * guardld even without a NEEDED.
 */
#ifndef GUARDLD_H
#define GUARDLD_H

#include <stddef.h>
#include <stdint.h>

#define RTLD_LAZY     0x00001 /* treated as RTLD_NOW: guardld binds immediately */
#define RTLD_NOW      0x00002
#define RTLD_NOLOAD   0x00004
#define RTLD_GLOBAL   0x00100
#define RTLD_LOCAL    0
#define RTLD_NODELETE 0x01000
#define RTLD_DEFAULT  ((void *)0)
#define RTLD_NEXT     ((void *)-1l)

void *dlopen(const char *file, int mode);
void *dlsym(void *handle, const char *name);
void *dlvsym(void *handle, const char *name, const char *version);
int dlclose(void *handle);
char *dlerror(void);

typedef struct {
    const char *dli_fname; /* path of the object containing the address */
    void *dli_fbase;       /* its load base */
    const char *dli_sname; /* nearest symbol at or below the address, or NULL */
    void *dli_saddr;       /* its address */
} Dl_info;
int dladdr(const void *addr, Dl_info *info);

struct dl_phdr_info {
    uintptr_t dlpi_addr;      /* load bias */
    const char *dlpi_name;    /* path, "" for the program */
    const void *dlpi_phdr;    /* program headers */
    uint16_t dlpi_phnum;
    unsigned long long dlpi_adds, dlpi_subs;
    size_t dlpi_tls_modid;
    void *dlpi_tls_data;      /* the calling thread's TLS block, or NULL */
};
int dl_iterate_phdr(int (*callback)(struct dl_phdr_info *, size_t, void *), void *data);

/* Guard enumeration: guards do not appear in /proc/PID/maps. */
struct guardld_guard {
    const char *object;      /* path of the object whose padding this is */
    uintptr_t start;         /* first byte of the padding range */
    size_t len;              /* its length (whole pages) */
    int mode;                /* 0 guard, 1 prot-none (glibc's layout or fallback), 2 extend */
    long confirmed_pages;    /* pages the kernel reports guarded (pagemap), -1 unknown */
};
/* Calls cb for each padding range of each loaded object; returns the number
 * of ranges, or the first nonzero value cb returned. */
int guardld_guards(int (*cb)(const struct guardld_guard *, void *), void *data);

/* Threads of libc-less programs: a TLS area + TCB for a new thread. Pass the
 * result as clone(2)'s tls argument with CLONE_SETTLS; free it after the
 * thread has exited. */
void *guardld_tls_alloc(void);
void guardld_tls_free(void *tp);

/* General-dynamic TLS access (emitted by compilers). */
typedef struct { unsigned long module, offset; } tls_index;
void *__tls_get_addr(tls_index *ti);

#endif
