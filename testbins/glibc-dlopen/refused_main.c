/* dlopen of what glibc refuses to load as a library: a PIE, an ET_EXEC
 * program, a directory, an empty file, a DF_1_NOOPEN library. Prints each
 * dlerror; exits 0.
 * argv[1..] = the paths. */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        void *h = dlopen(argv[i], RTLD_NOW);
        printf("%s\n", h ? "loaded" : dlerror());
    }
    return 0;
}
