/* glibc_dlopen::requester_outlives_the_object_that_loaded_it: libchain_a.so
   loads libchain_b.so; b is also opened on its own; a is closed; then b
   dlopens a library by name (its RPATH chain once started at a). */
#include <dlfcn.h>
#include <stdio.h>
int main(void) {
  void *a = dlopen("libchain_a.so", RTLD_NOW);
  void *b = dlopen("libchain_b.so", RTLD_NOW);
  if (!a || !b) {
    printf("dlopen: %s\n", dlerror());
    return 1;
  }
  printf("dlclose(a) = %d\n", dlclose(a));
  int (*open_by_name)(const char *) = (int (*)(const char *))dlsym(b, "open_by_name");
  open_by_name("libchain_leaf.so");
  open_by_name("libchain_missing.so");
  return 0;
}
