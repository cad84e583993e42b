/* Needed by libchain_a.so, also dlopen'd on its own
   (glibc_dlopen::requester_outlives_the_object_that_loaded_it): it opens a
   library by name after libchain_a.so, which loaded it, is gone. */
#include <dlfcn.h>
#include <stdio.h>
int open_by_name(const char *name) {
  void *h = dlopen(name, RTLD_NOW);
  printf("b: dlopen(%s): %s\n", name, h ? "ok" : dlerror());
  return h != 0;
}
