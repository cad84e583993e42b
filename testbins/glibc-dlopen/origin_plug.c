/* Built with RUNPATH $ORIGIN/deps (glibc_dlopen::origin_after_chdir):
   opens a library by name through it, after the program changed its
   current directory. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
int plug_open(const char *name) {
  void *h = dlopen(name, RTLD_NOW);
  if (!h) {
    printf("plug: dlopen(%s): %s\n", name, dlerror());
    return 1;
  }
  struct link_map *m = 0;
  dlinfo(h, RTLD_DI_LINKMAP, &m);
  printf("plug: %s opened as %s\n", name, m->l_name);
  return 0;
}
