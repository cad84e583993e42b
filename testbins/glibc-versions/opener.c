/* dlopens ./libneeds.so and prints dlerror's text. */
#include <dlfcn.h>
#include <stdio.h>
int main(void) {
  void *h = dlopen("libneeds.so", RTLD_NOW);
  if (!h) {
    printf("dlerror: %s\n", dlerror());
    return 2;
  }
  puts("dlopen ok");
  return 0;
}
