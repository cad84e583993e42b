/* dlopens libnested_close.so; with an argument it dlcloses it (the
   finalizer then runs inside dlclose), without one exit runs it. */
#include <dlfcn.h>
#include <stdio.h>
int main(int argc, char **argv) {
  (void)argv;
  void *h = dlopen("libnested_close.so", RTLD_NOW);
  if (!h) {
    printf("dlopen: %s\n", dlerror());
    return 1;
  }
  if (argc > 1) {
    printf("main: dlclose = %d\n", dlclose(h));
    void *again = dlopen("libnested_leaf.so", RTLD_NOW | RTLD_NOLOAD);
    printf("main: leaf still loaded: %s\n", again ? "yes" : "no");
  }
  printf("main: end\n");
  fflush(stdout);
  return 0;
}
