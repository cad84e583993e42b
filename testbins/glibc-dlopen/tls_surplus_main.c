/* glibc_dlopen::static_tls_is_kept_for_initial_exec: dlopen four
   general-dynamic TLS libraries (600 bytes each), then an initial-exec
   one, which needs the static surplus (1664 bytes in glibc 2.36).
   Before first use a general-dynamic module's block does not exist. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
int main(void) {
  char name[64];
  for (int i = 1; i <= 4; i++) {
    snprintf(name, sizeof name, "libtls_gd%d.so", i);
    void *h = dlopen(name, RTLD_NOW);
    if (!h) {
      printf("%s: %s\n", name, dlerror());
      return 1;
    }
    void *data = (void *)1;
    dlinfo(h, RTLD_DI_TLS_DATA, &data);
    int (*touch)(int) = (int (*)(int))dlsym(h, "gd_touch");
    printf("%s: block before use %s, touch %d\n", name, data ? "exists" : "NULL", touch(i));
  }
  void *ie = dlopen("libtls_ie.so", RTLD_NOW);
  if (!ie) {
    printf("libtls_ie.so: %s\n", dlerror());
    return 0;
  }
  int (*touch)(int) = (int (*)(int))dlsym(ie, "ie_touch");
  printf("libtls_ie.so: touch %d\n", touch(9));
  return 0;
}
