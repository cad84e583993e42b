/* Which dlclose unloads an object others bound to (glibc's relocation
 * dependencies, l_reldeps, and NODELETE from add_dependency).
 * argv[1] = directory of the libraries, argv[2] = the case:
 *   reloc    libreldep_user.so's relocation binds to libreldep_b.so (global):
 *            dlclose(b) keeps it while user is loaded; dlclose(user)
 *            unloads both.
 *   default  dlsym(RTLD_DEFAULT) from the program: b stays for good.
 *   fromlib  dlsym(RTLD_DEFAULT) from libreldep_c.so: b stays until c goes.
 *   handle   dlsym on b's handle: no dependency, dlclose(b) unloads it.
 *   twice    user loaded and closed twice over one b: b goes with the last.
 * Output goes through write(2) so that the libraries' finalizer lines
 * keep their place. Exits 0. */
#define _GNU_SOURCE
#include "dlstate.h"
#include <dlfcn.h>

static char dir[512];

static void *open_lib(const char *name, int mode) {
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    void *h = dlopen(path, mode);
    if (!h)
        say("dlopen %s: %s\n", name, dlerror());
    return h;
}

static void state(const char *when) {
    say("%s: b %s, user %s, c %s\n", when, loaded("libreldep_b.so"), loaded("libreldep_user.so"), loaded("libreldep_c.so"));
}

int main(int argc, char **argv) {
    if (argc < 3)
        return 2;
    snprintf(dir, sizeof dir, "%s", argv[1]);
    const char *what = argv[2];
    void *hb = open_lib("libreldep_b.so", RTLD_NOW | RTLD_GLOBAL);
    if (!hb)
        return 1;
    int (*f)(int) = NULL;
    void *hu = NULL, *hc = NULL;
    if (strcmp(what, "reloc") == 0 || strcmp(what, "twice") == 0) {
        hu = open_lib("libreldep_user.so", RTLD_NOW);
        if (!hu)
            return 1;
        f = (int (*)(int))dlsym(hu, "use_fb");
    } else if (strcmp(what, "default") == 0) {
        f = (int (*)(int))dlsym(RTLD_DEFAULT, "fb");
    } else if (strcmp(what, "fromlib") == 0) {
        hc = open_lib("libreldep_c.so", RTLD_NOW);
        if (!hc)
            return 1;
        void *(*lookup)(void) = (void *(*)(void))dlsym(hc, "lookup_fb");
        f = (int (*)(int))lookup();
    } else if (strcmp(what, "handle") == 0) {
        f = (int (*)(int))dlsym(hb, "fb");
    } else {
        return 2;
    }
    say("%s: found %s\n", what, f ? "yes" : "no");
    if (!f)
        return 1;
    say("dlclose(b) = %d\n", dlclose(hb));
    state("after dlclose(b)");
    if (strcmp(loaded("libreldep_b.so"), "loaded") == 0)
        say("call: %d\n", f(2));
    if (strcmp(what, "twice") == 0) {
        /* A second handle on user (same object), closed first. */
        void *hu2 = open_lib("libreldep_user.so", RTLD_NOW);
        say("dlclose(user, second handle) = %d\n", dlclose(hu2));
        state("after the second handle");
    }
    if (hu) {
        say("dlclose(user) = %d\n", dlclose(hu));
        state("after dlclose(user)");
    }
    if (hc) {
        say("dlclose(c) = %d\n", dlclose(hc));
        state("after dlclose(c)");
    }
    void *again = open_lib("libreldep_b.so", RTLD_NOW | RTLD_NOLOAD);
    say("RTLD_NOLOAD of b: %s\n", again ? "still there" : "not loaded");
    say("exit\n");
    return 0;
}
