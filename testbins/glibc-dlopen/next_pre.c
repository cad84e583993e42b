/* libnext_pre.so: interposes puts (the program NEEDs it before libc) and
 * forwards to the next definition through dlsym(RTLD_NEXT), which walks
 * this start-up library's l_loader chain up to the program. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>

int puts(const char *s) {
    int (*next)(const char *) = (int (*)(const char *))dlsym(RTLD_NEXT, "puts");
    if (!next) {
        fprintf(stdout, "RTLD_NEXT puts: %s\n", dlerror());
        return -1;
    }
    next("[interposed]");
    return next(s);
}
