/* An 8 KiB-aligned TLS block, dlopen'd by tls_align_main.c
   (glibc_personality::tls_aligned_past_a_page). */
#include <stdint.h>
__thread char pc[3] __attribute__((aligned(8192))) = "pc";
int chk(void){ return ((uintptr_t)pc & 8191)==0 && pc[1]=='c'; }
