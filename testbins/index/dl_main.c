/* tests/index.rs "dlopen scopes": which definition each reference of an
 * RTLD_LOCAL dlopen'd object and its dependency bound to, what dlsym finds
 * through the handle and through RTLD_DEFAULT, and that a second
 * RTLD_LOCAL object does not see the first one's local scope until that one
 * is promoted with RTLD_NOLOAD | RTLD_GLOBAL.
 *
 * `dl scopes` prints key=value lines; `dl global-deps` checks that an
 * RTLD_GLOBAL dlopen makes the object's dependencies global too (glibc's
 * add_to_global adds the object's whole search list). Linked with rust-lld
 * against the guardld binary (NEEDED ld-guardld.so.1) for dlopen/dlsym, and
 * against libdlglob.so. */
#include "rt/rt.h"
#include "guardld.h"

typedef const char *(*str_fn)(void);

const char *shared_fn(void);

static const char *call(void *h, const char *name) {
    str_fn f = (str_fn)dlsym(h, name);
    return f ? f() : "(not found)";
}

static int contains(const char *s, const char *needle) {
    if (!s) return 0;
    size_t n = rt_strlen(needle);
    for (; *s; s++)
        if (rt_strncmp(s, needle, n) == 0) return 1;
    return 0;
}

static int scopes(void) {
    print_kv_str("exe shared_fn", shared_fn());
    void *h = dlopen("libdlloc.so", RTLD_NOW | RTLD_LOCAL);
    print_kv_dec("dlopen loc ok", h != NULL);
    if (!h) {
        print_kv_str("dlerror", dlerror());
        return 1;
    }
    /* The global scope comes first for every reference... */
    print_kv_str("loc_calls_shared", call(h, "loc_calls_shared"));
    print_kv_str("ldep_calls_shared", call(h, "ldep_calls_shared"));
    /* ... then the dlopen'd object's local scope (libdlloc, libdlldep). */
    print_kv_str("ldep_calls_loc_only", call(h, "ldep_calls_loc_only"));
    print_kv_str("loc_calls_both", call(h, "loc_calls_both"));
    print_kv_str("ldep_calls_both", call(h, "ldep_calls_both"));
    /* dlsym(handle) searches the object and its dependencies only. */
    print_kv_str("dlsym(h) shared_fn", call(h, "shared_fn"));
    print_kv_str("dlsym(h) ldep_only", call(h, "ldep_only"));
    /* RTLD_DEFAULT: the global scope only. */
    print_kv_str("dlsym(default) shared_fn", call(RTLD_DEFAULT, "shared_fn"));
    print_kv_str("dlsym(default) loc_only", call(RTLD_DEFAULT, "loc_only"));
    print_kv_str("dlsym(default) both_local", call(RTLD_DEFAULT, "both_local"));

    /* Another RTLD_LOCAL object: libdlloc's local scope is not its own. */
    void *o = dlopen("libdlother.so", RTLD_NOW | RTLD_LOCAL);
    print_kv_dec("dlopen other while loc is local ok", o != NULL);
    char *e = dlerror();
    print_kv_dec("dlerror names loc_only", contains(e, "loc_only"));

    /* Promote libdlloc to the global scope (after libdlglob). */
    void *g = dlopen("libdlloc.so", RTLD_NOW | RTLD_NOLOAD | RTLD_GLOBAL);
    print_kv_dec("promote returns the same handle", g == h);
    print_kv_str("after promote dlsym(default) shared_fn", call(RTLD_DEFAULT, "shared_fn"));
    print_kv_str("after promote dlsym(default) loc_only", call(RTLD_DEFAULT, "loc_only"));
    o = dlopen("libdlother.so", RTLD_NOW | RTLD_LOCAL);
    print_kv_dec("dlopen other after promote ok", o != NULL);
    if (o) print_kv_str("other_calls_loc_only", call(o, "other_calls_loc_only"));

    /* A library loaded later (RTLD_GLOBAL) defining the same names changes
     * nothing already bound, and comes after the earlier definitions. */
    void *l = dlopen("libdllate.so", RTLD_NOW | RTLD_GLOBAL);
    print_kv_dec("dlopen late ok", l != NULL);
    if (l) print_kv_str("late_calls_shared", call(l, "late_calls_shared"));
    print_kv_str("after late dlsym(default) shared_fn", call(RTLD_DEFAULT, "shared_fn"));
    print_kv_str("after late dlsym(default) loc_only", call(RTLD_DEFAULT, "loc_only"));
    print_kv_str("after late dlsym(h) shared_fn", call(h, "shared_fn"));
    print_kv_str("after late exe shared_fn", shared_fn());
    return 0;
}

/* RTLD_GLOBAL on a fresh dlopen: libdlloc and its dependency libdlldep
 * both join the global scope. */
static int global_deps(void) {
    void *h = dlopen("libdlloc.so", RTLD_NOW | RTLD_GLOBAL);
    print_kv_dec("dlopen loc global ok", h != NULL);
    print_kv_str("dlsym(default) loc_only", call(RTLD_DEFAULT, "loc_only"));
    print_kv_str("dlsym(default) ldep_only", call(RTLD_DEFAULT, "ldep_only"));
    void *o = dlopen("libdlother.so", RTLD_NOW | RTLD_LOCAL);
    print_kv_dec("dlopen other ok", o != NULL);
    if (o) print_kv_str("other_calls_loc_only", call(o, "other_calls_loc_only"));
    return 0;
}

int main(int argc, char **argv, char **envp) {
    (void)envp;
    if (argc > 1 && rt_streq(argv[1], "scopes")) return scopes();
    if (argc > 1 && rt_streq(argv[1], "global-deps")) return global_deps();
    print_line("usage: dl scopes | global-deps");
    return 2;
}
