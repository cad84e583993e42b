/* glibc_dlopen::noload_finds_files_by_identity: RTLD_NOLOAD of names no
   object was opened by but whose file is loaded (an absolute path, a
   symbolic link, a path through "..", libc by another directory), of a
   file not loaded, of broken files (dlerror), and dlopen of the
   program's PT_INTERP path (the loader itself). argv[1]: the test
   directory; argv[2]: the PT_INTERP path. */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

static void noload(const char *what, const char *path) {
  void *h = dlopen(path, RTLD_LAZY | RTLD_NOLOAD);
  const char *e = h ? 0 : dlerror();
  printf("%s: %s%s%s\n", what, h ? "loaded" : "not loaded", e ? ", " : "", e ? e : "");
  if (h)
    dlclose(h);
}

int main(int argc, char **argv) {
  if (argc < 3)
    return 2;
  char p[4096];
  void *lib = dlopen("./libnl.so", RTLD_LAZY);
  printf("open ./libnl.so: %s\n", lib ? "ok" : dlerror());
  snprintf(p, sizeof p, "%s/libnl.so", argv[1]);
  noload("absolute path", p);
  noload("symbolic link", "./libnl-link.so");
  noload("through ..", "./sub/../libnl.so");
  noload("libc elsewhere", "/usr/lib/x86_64-linux-gnu/libc.so.6");
  noload("not loaded", "./libnl2.so");
  noload("missing", "./missing.so");
  noload("text file", "./text.so");
  /* The program's own file: not a library glibc would find loaded. */
  noload("the program's own file", argv[0]);
  /* Searched through the RUNPATH, whose first directory holds a copy for
     another ELF class: passed over, as a search does. */
  noload("by search, past another class", "libnl.so");
  void *fake = dlopen("/nonexistent/ld-linux-x86-64.so.2", RTLD_LAZY);
  printf("a loader's name in a missing directory: %s\n", fake ? "opened" : dlerror());
  void *ld = dlopen(argv[2], RTLD_LAZY | RTLD_NOLOAD);
  void *ld_name = dlopen("ld-linux-x86-64.so.2", RTLD_LAZY | RTLD_NOLOAD);
  printf("PT_INTERP path: %s, the loader's own: %s\n", ld ? "loaded" : "not loaded", ld && ld == ld_name ? "yes" : "no");
  return 0;
}
