/* Needs V1 (pf) and V2 (pf2) of libvp.so; with -DWEAK_V2 its only
   reference to pf2 is weak, so V2 is a weak requirement. main calls into
   the library only when given an argument, so that glibc's lazy binding
   looks nothing up otherwise. Built as a program, and with -DLIB as a
   library for dlopen. */
#include <stdio.h>
int pf(void);
#ifdef WEAK_V2
int pf2(void) __attribute__((weak));
#else
int pf2(void);
#endif
int call_both(void) { return pf() + (pf2 ? pf2() : 0); }
#ifndef LIB
int main(int argc, char **argv) {
  (void)argv;
  if (argc > 1)
    printf("sum %d\n", call_both());
  puts("main ran");
  return 0;
}
#endif
