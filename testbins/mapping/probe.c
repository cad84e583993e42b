/*
 * probe: maps inspection from inside a process loaded by guardld (or by
 * glibc's ld.so, the oracle). Used by tests/mapping.rs.
 *
 *   probe [KINDS [OBJS]]
 *
 * 1. Calls lib4_check(7) in libmap4.so and prints `lib4_check=N`, then
 *    increments its own initialised datum and prints `probe_data=42` (the
 *    datum gives the program a RW PT_LOAD with file bytes, not pure bss).
 * 2. Finds the load base of the library (first /proc/self/maps line whose
 *    path ends in "/libmap4.so") and of the program itself
 *    (AT_PHDR minus PT_PHDR's p_vaddr), reads each object's program headers
 *    from its own mapped first page and prints the padding between its
 *    PT_LOADs as `pad OBJ START END` (OBJ: lib or exe; absolute addresses,
 *    START inclusive, END exclusive, both page-aligned).
 * 3. For the first and the last page of each padding range of the objects
 *    in OBJS (default "le": l the library, e the program) and each probe
 *    kind in KINDS (default "rwxc"), forks a child that touches the page and
 *    prints `probe OBJ KIND ADDR RESULT`:
 *      r  read a byte           x  call the address (instruction fetch)
 *      w  write a byte          c  read with a SIGSEGV handler installed
 *    RESULT is `segv`, `bus`, `ok` (the child survived the access),
 *    `sig:N` or `exit:N`; for `c` a SIGSEGV is reported as
 *    `segv:code=N:addr=ok|bad` (si_code 1 SEGV_MAPERR: nothing mapped, e.g.
 *    a guard; 2 SEGV_ACCERR: a mapping without permission, e.g. PROT_NONE).
 *    The children are forked from the loaded program, so a guard that did
 *    not survive fork would show as `ok`.
 * 4. Forks a child that reads its own /proc/self/pagemap for every padding
 *    page and prints `child_pagemap OBJ GUARDED TOTAL` (pages with bit 58,
 *    PM_GUARD_REGION, set / all padding pages of OBJ).
 * Exits 0 (the runtime then pauses under GUARDLD_TEST_PAUSE=1).
 */
#include "rt/rt.h"

extern int lib4_check(int x);

/* .data (RW, with file contents) */
volatile int probe_data = 41;

#define PAGE 4096UL
#define PT_LOAD 1
#define PT_PHDR 6

struct ehdr {
    unsigned char e_ident[16];
    unsigned short e_type, e_machine;
    unsigned int e_version;
    unsigned long e_entry, e_phoff, e_shoff;
    unsigned int e_flags;
    unsigned short e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx;
};
struct phdr {
    unsigned int p_type, p_flags;
    unsigned long p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align;
};

#define MAXPAD 16
struct obj {
    const char *name;
    unsigned long base;
    int npad;
    unsigned long pad[MAXPAD][2];
};

static char maps[256 * 1024];

static void read_file(const char *path, char *buf, unsigned long size) {
    int fd = sys_open(path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0) rt_fail("open");
    unsigned long n = 0;
    for (;;) {
        long r = sys_read(fd, buf + n, size - 1 - n);
        if (r < 0) rt_fail("read");
        if (r == 0) break;
        n += (unsigned long)r;
        if (n == size - 1) rt_fail("file too large for buffer");
    }
    buf[n] = 0;
    sys_close(fd);
}

static unsigned long parse_hex(const char **s) {
    unsigned long v = 0;
    for (;; (*s)++) {
        char c = **s;
        if (c >= '0' && c <= '9') v = v * 16 + (unsigned long)(c - '0');
        else if (c >= 'a' && c <= 'f') v = v * 16 + (unsigned long)(c - 'a' + 10);
        else return v;
    }
}

/* Start of the first maps line whose path ends in "/name", 0 if none. */
static unsigned long find_base(const char *name) {
    unsigned long nlen = rt_strlen(name);
    for (const char *l = maps; *l;) {
        const char *e = l;
        while (*e && *e != '\n') e++;
        if ((unsigned long)(e - l) > nlen + 1 && e[-(long)nlen - 1] == '/' && rt_strncmp(e - nlen, name, nlen) == 0) {
            const char *s = l;
            return parse_hex(&s);
        }
        l = *e ? e + 1 : e;
    }
    return 0;
}

/* Padding between consecutive PT_LOADs (page-rounded), from the headers
 * mapped at `ph` (the object's own, in memory). */
static void find_padding(struct obj *o, const struct phdr *ph, int phnum) {
    const struct phdr *prev = NULL;
    o->npad = 0;
    for (int i = 0; i < phnum; i++) {
        if (ph[i].p_type != PT_LOAD || ph[i].p_memsz == 0) continue;
        if (prev) {
            unsigned long end = (prev->p_vaddr + prev->p_memsz + PAGE - 1) & ~(PAGE - 1);
            unsigned long next = ph[i].p_vaddr & ~(PAGE - 1);
            if (next > end && o->npad < MAXPAD) {
                o->pad[o->npad][0] = o->base + end;
                o->pad[o->npad][1] = o->base + next;
                o->npad++;
            }
        }
        prev = &ph[i];
    }
}

/* ---- probes ---- */

#define SIGBUS 7
#define SIGSEGV 11
#define SA_SIGINFO 4
#define SA_RESTORER 0x04000000

struct ksigaction {
    void *handler;
    unsigned long flags;
    void *restorer;
    unsigned long mask;
};
struct ksiginfo {
    int si_signo, si_errno, si_code, pad;
    void *si_addr;
};

static volatile unsigned long probe_addr;

static void on_segv(int sig, struct ksiginfo *si, void *uc) {
    (void)sig;
    (void)uc;
    /* exit 100 + si_code (+ 50 if si_addr is not the probed address) */
    sys_exit_group(100 + si->si_code + ((unsigned long)si->si_addr == probe_addr ? 0 : 50));
}

static void restorer(void) { sys_exit_group(98); }

static void touch(char kind, unsigned long addr) {
    probe_addr = addr;
    switch (kind) {
    case 'r':
        (void)*(volatile unsigned char *)addr;
        break;
    case 'w':
        *(volatile unsigned char *)addr = 0x5a;
        break;
    case 'x':
        ((void (*)(void))addr)();
        break;
    case 'c': {
        struct ksigaction sa = {(void *)on_segv, SA_SIGINFO | SA_RESTORER, (void *)restorer, 0};
        if (sys_rt_sigaction(SIGSEGV, &sa, NULL, 8) != 0) sys_exit_group(97);
        (void)*(volatile unsigned char *)addr;
        break;
    }
    }
}

static void probe(const char *obj, char kind, unsigned long addr) {
    rt_flush(); /* the child must not inherit buffered output */
    int pid = sys_fork();
    if (pid < 0) rt_fail("fork");
    if (pid == 0) {
        touch(kind, addr);
        sys_exit_group(0);
    }
    int st = 0;
    if (sys_wait4(pid, &st, 0, NULL) != pid) rt_fail("wait4");
    print_str("probe ");
    print_str(obj);
    print_char(' ');
    print_char(kind);
    print_char(' ');
    print_hex(addr);
    print_char(' ');
    int sig = st & 0x7f;
    if (sig == 0) {
        int code = (st >> 8) & 0xff;
        if (kind == 'c' && code >= 100) {
            int addr_bad = code >= 150;
            print_str("segv:code=");
            print_dec(code - 100 - (addr_bad ? 50 : 0));
            print_line(addr_bad ? ":addr=bad" : ":addr=ok");
        } else if (code == 0) {
            print_line("ok");
        } else {
            print_str("exit:");
            print_dec(code);
            print_char('\n');
        }
    } else if (sig == SIGSEGV) {
        print_line("segv");
    } else if (sig == SIGBUS) {
        print_line("bus");
    } else {
        print_str("sig:");
        print_dec(sig);
        print_char('\n');
    }
}

/* In a forked child: count padding pages with pagemap bit 58 and print the
 * counts (stdout was flushed before the fork, so nothing is printed twice). */
static void child_pagemap(struct obj *objs, int nobj) {
    rt_flush();
    int pid = sys_fork();
    if (pid < 0) rt_fail("fork");
    if (pid == 0) {
        for (int k = 0; k < nobj; k++) {
            unsigned long guarded = 0, total = 0;
            for (int i = 0; i < objs[k].npad; i++) {
                unsigned long len = objs[k].pad[i][1] - objs[k].pad[i][0];
                long g = rt_pagemap_guarded(objs[k].pad[i][0], len);
                if (g < 0) rt_exit(2);
                guarded += (unsigned long)g;
                total += len / PAGE;
            }
            print_str("child_pagemap ");
            print_str(objs[k].name);
            print_char(' ');
            print_udec(guarded);
            print_char(' ');
            print_udec(total);
            print_char('\n');
        }
        rt_exit(0);
    }
    int st = 0;
    if (sys_wait4(pid, &st, 0, NULL) != pid || st != 0) rt_fail("pagemap child failed");
}

int main(int argc, char **argv, char **envp) {
    (void)envp;
    const char *kinds = argc > 1 ? argv[1] : "rwxc";
    const char *which = argc > 2 ? argv[2] : "le";
    const char *libname = "libmap4.so";

    print_kv_dec("lib4_check", lib4_check(7));
    probe_data++;
    print_kv_dec("probe_data", probe_data);

    read_file("/proc/self/maps", maps, sizeof maps);
    struct obj objs[2] = {{"lib", 0, 0, {{0}}}, {"exe", 0, 0, {{0}}}};

    objs[0].base = find_base(libname);
    if (!objs[0].base) rt_fail("library not found in /proc/self/maps");
    const struct ehdr *eh = (const struct ehdr *)objs[0].base;
    if (eh->e_phoff + eh->e_phnum * sizeof(struct phdr) > PAGE) rt_fail("library phdrs not in the first page");
    find_padding(&objs[0], (const struct phdr *)(objs[0].base + eh->e_phoff), eh->e_phnum);

    const struct phdr *ph = (const struct phdr *)rt_getauxval(AT_PHDR);
    int phnum = (int)rt_getauxval(AT_PHNUM);
    for (int i = 0; i < phnum; i++)
        if (ph[i].p_type == PT_PHDR) objs[1].base = (unsigned long)ph - ph[i].p_vaddr;
    if (!objs[1].base) rt_fail("no PT_PHDR");
    find_padding(&objs[1], ph, phnum);

    for (int k = 0; k < 2; k++) {
        print_str(objs[k].name);
        print_str("_base=");
        print_hex(objs[k].base);
        print_char('\n');
        for (int i = 0; i < objs[k].npad; i++) {
            print_str("pad ");
            print_str(objs[k].name);
            print_char(' ');
            print_hex(objs[k].pad[i][0]);
            print_char(' ');
            print_hex(objs[k].pad[i][1]);
            print_char('\n');
        }
    }
    for (int k = 0; k < 2; k++) {
        int wanted = 0;
        for (const char *w = which; *w; w++) wanted |= *w == objs[k].name[0];
        if (!wanted) continue;
        for (int i = 0; i < objs[k].npad; i++)
            for (const char *c = kinds; *c; c++) {
                probe(objs[k].name, *c, objs[k].pad[i][0]);
                if (objs[k].pad[i][1] - PAGE != objs[k].pad[i][0]) probe(objs[k].name, *c, objs[k].pad[i][1] - PAGE);
            }
    }
    child_pagemap(objs, 2);
    print_line("done");
    return 0;
}
