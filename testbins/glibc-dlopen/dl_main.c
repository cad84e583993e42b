/* The glibc dlopen test program (tests/glibc_dlopen.rs): libc's dl*
 * functions on the libraries of this directory, built into DIR (argv[1]).
 * Prints what it finds; run under glibc's ld.so and guardld, the output
 * must be the same. Addresses are never printed, only relations.
 * `dl_main DIR maps`: dlopen libdl_64k.so, print its /proc/self/maps
 * lines, dlclose it, print them again (the test reads the span). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char dir[4096];

static const char *path(const char *name) {
    static char buf[8][4200];
    static int k;
    char *p = buf[k++ % 8];
    snprintf(p, 4200, "%s/%s", dir, name);
    return p;
}

/* A message without DIR (the test's directory differs between runs). */
static const char *strip(const char *s) {
    static char buf[8][8192];
    static int k;
    char *out = buf[k++ % 8];
    if (!s) return "(null)";
    size_t n = strlen(dir);
    char *o = out;
    while (*s && o < out + sizeof buf[0] - 8) {
        if (n && strncmp(s, dir, n) == 0) {
            o += sprintf(o, "DIR");
            s += n;
        } else {
            *o++ = *s++;
        }
    }
    *o = 0;
    return out;
}

static void err(const char *what) { printf("%s: dlerror=%s\n", what, strip(dlerror())); }

static const char *base(const char *p) {
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

struct iter { int count, ours; unsigned long long adds; void *tls_data; int tls_found; };

static int phdr_cb(struct dl_phdr_info *info, size_t size, void *data) {
    struct iter *it = data;
    it->count++;
    it->adds = info->dlpi_adds;
    if (strstr(info->dlpi_name, "libdl_")) {
        it->ours++;
        int loads = 0;
        for (int i = 0; i < info->dlpi_phnum; i++) loads += info->dlpi_phdr[i].p_type == PT_LOAD;
        printf("  phdr: %s loads=%d tls=%s size_ok=%d\n", base(info->dlpi_name), loads, info->dlpi_tls_modid ? "yes" : "no",
               size >= sizeof *info);
        if (info->dlpi_tls_modid) {
            it->tls_data = info->dlpi_tls_data;
            it->tls_found = 1;
        }
    }
    return 0;
}

static struct iter iterate(void) {
    struct iter it = {0};
    dl_iterate_phdr(phdr_cb, &it);
    return it;
}

static int maps_mode(void) {
    void *h = dlopen(path("libdl_64k.so"), RTLD_NOW);
    if (!h) { err("dlopen libdl_64k"); return 1; }
    const char *(*t)(void) = (const char *(*)(void))dlsym(h, "k64_text");
    printf("k64_text=%s\n", t ? t() : "?");
    fflush(stdout);
    for (int round = 0; round < 2; round++) {
        printf("--- maps %s ---\n", round ? "after dlclose" : "after dlopen");
        fflush(stdout);
        FILE *f = fopen("/proc/self/maps", "r");
        char buf[4096];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, n, stdout);
        fclose(f);
        fflush(stdout);
        if (round == 0 && dlclose(h) != 0) err("dlclose libdl_64k");
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    snprintf(dir, sizeof dir, "%s", argv[1]);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 2 && strcmp(argv[2], "maps") == 0) return maps_mode();

    /* dlopen(NULL), RTLD_DEFAULT, RTLD_NEXT from the program. */
    void *self = dlopen(NULL, RTLD_LAZY);
    printf("dlopen(NULL): %s\n", self ? "ok" : "NULL");
    void *p1 = dlsym(self, "puts"), *p2 = dlsym(RTLD_DEFAULT, "puts"), *p3 = dlsym(RTLD_NEXT, "puts");
    printf("puts: self=%d default=%d next=%d\n", p1 == (void *)puts, p2 == (void *)puts, p3 == (void *)puts);
    void *m = dlvsym(RTLD_DEFAULT, "memcpy", "GLIBC_2.14"), *m2 = dlvsym(RTLD_DEFAULT, "memcpy", "GLIBC_2.2.5");
    printf("dlvsym memcpy: 2.14=%s 2.2.5=%s same=%d\n", m ? "found" : "NULL", m2 ? "found" : "NULL", m == m2);

    /* Errors, with glibc's texts. */
    if (!dlopen(path("libnope.so"), RTLD_NOW)) err("dlopen missing path");
    if (!dlopen("libguardld-nope.so.1", RTLD_NOW)) err("dlopen missing name");
    if (!dlopen(path("libdl_a.so"), 0)) err("dlopen bad mode");
    if (!dlsym(RTLD_DEFAULT, "guardld_no_such_symbol")) err("dlsym default missing");
    printf("dlerror again: %s\n", dlerror() ? "text" : "NULL");
    if (!dlopen(path("libdl_undef.so"), RTLD_NOW)) err("dlopen undefined NOW");
    printf("NOLOAD before: %s\n", dlopen(path("libdl_a.so"), RTLD_NOW | RTLD_NOLOAD) ? "loaded" : "NULL");
    printf("dlerror after NOLOAD: %s\n", dlerror() ? "text" : "NULL");

    /* A library and its dependency, RTLD_LOCAL. */
    struct iter before = iterate();
    void *a = dlopen(path("libdl_a.so"), RTLD_LAZY | RTLD_LOCAL);
    if (!a) { err("dlopen libdl_a"); return 1; }
    struct iter after = iterate();
    printf("iterate: ours %d -> %d, count +%d, adds grew=%d\n", before.ours, after.ours, after.count - before.count, after.adds > before.adds);
    int (*av)(int) = (int (*)(int))dlsym(a, "a_value");
    int (*an)(int) = (int (*)(int))dlsym(a, "a_next");
    int (*bv)(int) = (int (*)(int))dlsym(a, "b_value");
    int *ac = (int *)dlsym(a, "a_counter");
    printf("a_value(4)=%d a_next(4)=%d b_value via a=%d a_counter=%d\n", av ? av(4) : -1, an ? an(4) : -1, bv ? bv(4) : -1, ac ? *ac : -1);
    if (!dlsym(a, "guardld_missing")) err("dlsym handle missing");
    if (!dlsym(RTLD_DEFAULT, "b_value")) err("dlsym default local");
    int (*v1)(void) = (int (*)(void))dlvsym(a, "vsym", "DLA_1");
    int (*v2)(void) = (int (*)(void))dlvsym(a, "vsym", "DLA_2");
    int (*v0)(void) = (int (*)(void))dlsym(a, "vsym");
    printf("vsym: DLA_1=%d DLA_2=%d default=%d\n", v1 ? v1() : -1, v2 ? v2() : -1, v0 ? v0() : -1);
    if (!dlvsym(a, "vsym", "DLA_9")) err("dlvsym missing version");

    /* dladdr, dladdr1. */
    Dl_info info;
    if (dladdr((void *)av, &info)) {
        printf("dladdr a_value: file=%s sym=%s exact=%d fbase_below=%d\n", strip(info.dli_fname), info.dli_sname,
               info.dli_saddr == (void *)av, (char *)info.dli_fbase <= (char *)av);
    } else {
        printf("dladdr a_value: 0\n");
    }
    if (dladdr((char *)ac + 1, &info)) printf("dladdr inside a_counter: sym=%s\n", info.dli_sname ? info.dli_sname : "(null)");
    struct link_map *lm = NULL;
    const ElfW(Sym) *sym = NULL;
    if (dladdr1((void *)bv, &info, (void **)&lm, RTLD_DL_LINKMAP) && lm)
        printf("dladdr1 b_value: map=%s l_addr_is_fbase=%d\n", strip(lm->l_name), (void *)lm->l_addr == info.dli_fbase);
    if (dladdr1((void *)bv, &info, (void **)&sym, RTLD_DL_SYMENT) && sym)
        printf("dladdr1 b_value: st_size>0=%d bind=%d type=%d\n", sym->st_size > 0, ELF64_ST_BIND(sym->st_info), ELF64_ST_TYPE(sym->st_info));

    /* dlinfo. */
    struct link_map *al = NULL;
    if (dlinfo(a, RTLD_DI_LINKMAP, &al) == 0) {
        printf("dlinfo linkmap: %s next=%s\n", strip(al->l_name), al->l_next ? strip(al->l_next->l_name) : "(none)");
    }
    char origin[4200] = "";
    if (dlinfo(a, RTLD_DI_ORIGIN, origin) == 0) printf("dlinfo origin: %s\n", strip(origin));
    Dl_serinfo sz;
    if (dlinfo(a, RTLD_DI_SERINFOSIZE, &sz) == 0) {
        Dl_serinfo *si = malloc(sz.dls_size);
        si->dls_size = sz.dls_size;
        si->dls_cnt = sz.dls_cnt;
        if (dlinfo(a, RTLD_DI_SERINFO, si) == 0) {
            printf("dlinfo serinfo: %u paths\n", si->dls_cnt);
            for (unsigned i = 0; i < si->dls_cnt; i++) printf("  %s flags=%u\n", strip(si->dls_serpath[i].dls_name), si->dls_serpath[i].dls_flags);
        }
        free(si);
    }
    if (dlinfo(a, 12345, NULL) != 0) err("dlinfo bad request");

    /* A handle that was never opened: libdl_b's link map. */
    struct link_map *bl = al ? al->l_next : NULL;
    while (bl && !strstr(bl->l_name, "libdl_b")) bl = bl->l_next;
    if (bl && dlclose(bl) != 0) err("dlclose never-opened map");

    /* RTLD_GLOBAL. */
    if (!dlsym(RTLD_DEFAULT, "g_value")) err("g_value before");
    void *g = dlopen(path("libdl_g.so"), RTLD_NOW | RTLD_GLOBAL);
    int (*gv)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "g_value");
    printf("RTLD_GLOBAL: handle=%s g_value=%d\n", g ? "ok" : "NULL", gv ? gv() : -1);

    /* Reference counts: a second open, NOLOAD, closes, then again. */
    void *a2 = dlopen(path("libdl_a.so"), RTLD_NOW | RTLD_NOLOAD);
    printf("NOLOAD while open: %s same=%d\n", a2 ? "handle" : "NULL", a2 == a);
    printf("dlclose a2=%d\n", dlclose(a2));
    printf("still open: %s\n", dlopen(path("libdl_a.so"), RTLD_NOW | RTLD_NOLOAD) ? "yes" : "no");
    dlclose(a); /* the NOLOAD above took one more */
    printf("dlclose a=%d\n", dlclose(a));
    printf("after close: a=%s b=%s\n", dlopen(path("libdl_a.so"), RTLD_NOW | RTLD_NOLOAD) ? "loaded" : "gone",
           dlopen(path("libdl_b.so"), RTLD_NOW | RTLD_NOLOAD) ? "loaded" : "gone");
    struct iter closed = iterate();
    printf("iterate after close: ours %d\n", closed.ours);
    a = dlopen(path("libdl_a.so"), RTLD_NOW);
    /* A dynamic string token in the name: $ORIGIN is the directory of the
     * caller, libdl_g.so (the PT_INTERP copy of this program lives
     * elsewhere), where libdl_a.so is too. */
    /* RTLD_DEEPBIND: libdl_deep2.so's own deep_which before libdl_g.so's
     * global one; libdl_deep.so, opened plainly, takes the global one. */
    void *dp = dlopen(path("libdl_deep.so"), RTLD_NOW);
    void *dd = dlopen(path("libdl_deep2.so"), RTLD_NOW | RTLD_DEEPBIND);
    const char *(*pc)(void) = dp ? (const char *(*)(void))dlsym(dp, "deep_call") : NULL;
    const char *(*dc)(void) = dd ? (const char *(*)(void))dlsym(dd, "deep_call") : NULL;
    printf("deepbind: plain=%s deep=%s\n", pc ? pc() : dlerror(), dc ? dc() : dlerror());
    void *(*gopen)(const char *) = g ? (void *(*)(const char *))dlsym(g, "g_open") : NULL;
    void *o = gopen ? gopen("$ORIGIN/libdl_a.so") : NULL;
    printf("$ORIGIN name: %s\n", o == a ? "same handle" : o ? "another handle" : dlerror());
    if (o) dlclose(o);
    av = a ? (int (*)(int))dlsym(a, "a_value") : NULL;
    printf("reopened: a_value(1)=%d\n", av ? av(1) : -1);

    /* RTLD_NODELETE. */
    void *nd = dlopen(path("libdl_nd.so"), RTLD_NOW | RTLD_NODELETE);
    printf("nodelete: open=%s close=%d still=%s\n", nd ? "ok" : "NULL", nd ? dlclose(nd) : -1,
           dlopen(path("libdl_nd.so"), RTLD_NOW | RTLD_NOLOAD) ? "loaded" : "gone");

    /* Dynamic TLS of a dlopen'd library. */
    void *t = dlopen(path("libdl_tls.so"), RTLD_NOW);
    if (!t) { err("dlopen libdl_tls"); return 1; }
    int *tc = (int *)dlsym(t, "tls_counter");
    int (*bump)(void) = (int (*)(void))dlsym(t, "tls_bump");
    char *(*name_addr)(void) = (char *(*)(void))dlsym(t, "tls_name_addr");
    char *tn = (char *)dlsym(t, "tls_name");
    printf("tls: counter=%d bump=%d counter=%d name=%s same_name=%d\n", tc ? *tc : -1, bump ? bump() : -1, tc ? *tc : -1, tn ? tn : "?",
           name_addr && tn == name_addr());
    size_t modid = 0;
    void *tlsdata = NULL;
    dlinfo(t, RTLD_DI_TLS_MODID, &modid);
    dlinfo(t, RTLD_DI_TLS_DATA, &tlsdata);
    struct iter ti = iterate();
    printf("tls: modid>0=%d di_tls_data=%d phdr_tls_data=%d\n", modid > 0, tlsdata != NULL && (char *)tc >= (char *)tlsdata && (char *)tc < (char *)tlsdata + 64,
           ti.tls_found && ti.tls_data == tlsdata);
    void *tb = dlopen(path("libdl_tlsbig.so"), RTLD_NOW);
    if (!tb) {
        err("dlopen libdl_tlsbig");
    } else {
        int (*sum)(void) = (int (*)(void))dlsym(tb, "tls_big_sum");
        char *big = (char *)dlsym(tb, "tls_big");
        printf("tls big: sum=%d sum=%d big[100]=%d\n", sum ? sum() : -1, sum ? sum() : -1, big ? big[100] : -1);
        dlclose(tb);
    }
    dlclose(t);
    printf("done\n");
    return 3;
}
