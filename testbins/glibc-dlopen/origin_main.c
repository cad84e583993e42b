/* glibc_dlopen::origin_after_chdir: l_origin and $ORIGIN of a library
   opened by a relative path stay right after chdir; the program's own
   copy of _r_debug (a copy relocation) holds the object list; dladdr and
   _dl_find_object end at the last segment's end, not its page's. With
   the argument "origin": also dlinfo(RTLD_DI_ORIGIN) of the program. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static unsigned long last_end; /* of libdl_origin_plug.so, l_addr-relative */

static int find_plug(struct dl_phdr_info *i, size_t n, void *d) {
  (void)n; (void)d;
  if (!strstr(i->dlpi_name, "libdl_origin_plug.so"))
    return 0;
  for (int k = 0; k < i->dlpi_phnum; k++)
    if (i->dlpi_phdr[k].p_type == PT_LOAD && i->dlpi_phdr[k].p_vaddr + i->dlpi_phdr[k].p_memsz > last_end)
      last_end = i->dlpi_phdr[k].p_vaddr + i->dlpi_phdr[k].p_memsz;
  return 1;
}

int main(int argc, char **argv) {
  int n = 0;
  for (struct link_map *m = _r_debug.r_map; m; m = m->l_next)
    n++;
  printf("_r_debug: version %d, %s\n", _r_debug.r_version, n >= 3 ? "the object list" : "no list");
  if (argc > 1 && !strcmp(argv[1], "origin")) {
    char buf[4096];
    int r = dlinfo(dlopen(NULL, RTLD_LAZY), RTLD_DI_ORIGIN, buf);
    char cwd[4096];
    getcwd(cwd, sizeof cwd);
    printf("program origin: %d %s\n", r, strncmp(buf, cwd, strlen(cwd)) ? buf : buf + strlen(cwd));
  }
  void *h = dlopen("./libdl_origin_plug.so", RTLD_NOW);
  if (!h) {
    printf("dlopen: %s\n", dlerror());
    return 1;
  }
  char buf[4096];
  dlinfo(h, RTLD_DI_ORIGIN, buf);
  printf("plug origin is absolute: %s\n", buf[0] == '/' ? "yes" : buf);
  if (chdir("/"))
    return 2;
  int (*open_it)(const char *) = (int (*)(const char *))dlsym(h, "plug_open");
  open_it("libdl_origin_leaf.so");
  struct link_map *m = 0;
  dlinfo(h, RTLD_DI_LINKMAP, &m);
  dl_iterate_phdr(find_plug, 0);
  Dl_info info;
  struct dl_find_object fo;
  char *end = (char *)m->l_addr + last_end;
  printf("dladdr(last segment end - 1) = %d\n", dladdr(end - 1, &info));
  printf("dladdr(last segment end + 16) = %d\n", dladdr(end + 16, &info));
  printf("_dl_find_object(last segment end) = %d\n", _dl_find_object(end, &fo));
  printf("_dl_find_object(last segment end - 1) = %d, map end at segment end: %s\n", _dl_find_object(end - 1, &fo), (char *)fo.dlfo_map_end == end ? "yes" : "no");
  return 0;
}
