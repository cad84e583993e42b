/* A library whose finalizer calls dlclose (glibc_dlopen::
   dlclose_from_a_finalizer): on the handle its constructor opened, and
   on a library it opens and closes in the finalizer itself. */
#include <dlfcn.h>
#include <stdio.h>

static void *leaf;

__attribute__((constructor)) static void opened(void) {
  leaf = dlopen("libnested_leaf.so", RTLD_NOW);
  printf("ctor: leaf %s\n", leaf ? "open" : dlerror());
}

__attribute__((destructor)) static void closing(void) {
  printf("dtor: start\n");
  fflush(stdout);
  printf("dtor: dlclose(leaf) = %d\n", dlclose(leaf));
  void *other = dlopen("libnested_other.so", RTLD_NOW);
  printf("dtor: other %s\n", other ? "open" : dlerror());
  if (other)
    printf("dtor: dlclose(other) = %d\n", dlclose(other));
  void *again = dlopen("libnested_leaf.so", RTLD_NOW | RTLD_NOLOAD);
  printf("dtor: leaf still loaded: %s\n", again ? "yes" : "no");
  if (again)
    dlclose(again);
  /* A second dlclose of the handle opened once: at exit glibc's _dl_fini
     holds one more reference on every object, so it succeeds there (and
     unloads leaf); inside dlclose it is not open any more. */
  int r = dlclose(leaf);
  printf("dtor: dlclose(leaf) again = %d%s%s\n", r, r ? ": " : "", r ? dlerror() : "");
  fflush(stdout);
}
