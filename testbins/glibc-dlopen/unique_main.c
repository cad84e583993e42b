/* glibc_dlopen::unique_symbols_are_shared_across_local_scopes: two
   RTLD_LOCAL copies of one C++ library share its unique objects; and
   dlvsym asks for one version only (an unversioned definition in an
   object with a version table does not answer it). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
int main(void) {
  void *a = dlopen("libuniq_a.so", RTLD_NOW | RTLD_LOCAL);
  void *b = dlopen("libuniq_b.so", RTLD_NOW | RTLD_LOCAL);
  if (!a || !b) {
    printf("dlopen: %s\n", dlerror());
    return 1;
  }
  int (*ba)(void) = (int (*)(void))dlsym(a, "bump");
  int (*bb)(void) = (int (*)(void))dlsym(b, "bump");
  int x = ba(), y = bb(), z = ba();
  printf("counter: %d %d %d\n", x, y, z);
  int (*ra)(void) = (int (*)(void))dlsym(a, "register_one");
  int (*rb)(void) = (int (*)(void))dlsym(b, "register_one");
  x = ra();
  y = rb();
  printf("registry: %d %d\n", x, y);
  void *v = dlvsym(a, "bump", "NO_SUCH_VERSION");
  printf("dlvsym(bump, NO_SUCH_VERSION): %s\n", v ? "found" : dlerror());
  v = dlvsym(RTLD_DEFAULT, "printf", "GLIBC_2.2.5");
  printf("dlvsym(printf, GLIBC_2.2.5): %s\n", v ? "found" : dlerror());
  return 0;
}
