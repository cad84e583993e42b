/* A 64 KiB-aligned TLS block in the program, checked in the main
   thread and eight others, and an 8 KiB-aligned one in a dlopen'd
   library (glibc_personality::tls_aligned_past_a_page). */
#include <stdio.h>
#include <stdint.h>
#include <pthread.h>
#include <dlfcn.h>
__thread char big[3] __attribute__((aligned(65536))) = "mb";
static void *th(void *a) { (void)a; return (void *)(long)(((uintptr_t)big & 65535) == 0 && big[1] == 'b'); }
int main(void) {
  void *h = dlopen("./libx.so", RTLD_NOW);
  int (*chk)(void) = (int (*)(void))dlsym(h, "chk");
  int ok = 1;
  for (int i = 0; i < 8; i++) { pthread_t t; void *r; pthread_create(&t, 0, th, 0); pthread_join(t, &r); ok &= (int)(long)r; }
  printf("threads %d main %d lib %d\n", ok, ((uintptr_t)big & 65535) == 0, chk());
  return 0;
}
