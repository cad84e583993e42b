/* Which preloaded definitions a program sees and the objects in load
   order (dl_iterate_phdr, libraries only): run under
   /etc/ld.so.preload and LD_PRELOAD by glibc_personality. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <string.h>
static int each(struct dl_phdr_info *i, size_t n, void *d) {
  const char *s = strrchr(i->dlpi_name, '/');
  s = s ? s + 1 : i->dlpi_name;
  /* Libraries only: the loaders' own entries have different names. */
  if (!strncmp(s, "lib", 3)) printf(" %s", s);
  return 0;
}
int main(void) {
  const char *(*f)(void);
  for (const char **n = (const char *[]){"who", "pa", "pb", 0}; *n; n++) {
    f = (const char *(*)(void))dlsym(RTLD_DEFAULT, *n);
    printf("%s: %s\n", *n, f ? f() : "absent");
  }
  printf("objects:"); dl_iterate_phdr(each, 0); printf("\n");
  return 0;
}
