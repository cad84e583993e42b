/* The static TLS offsets (below the thread pointer) of the program's own
   block, a page-aligned library block and libc's (errno):
   glibc_personality::static_tls_offsets_are_glibcs. */
#include <errno.h>
#include <stdio.h>
char *page_aligned_block(void);
__thread int mine = 1;
int main(void) {
  char *tp = __builtin_thread_pointer();
  printf("program %ld, library %ld, errno %ld\n", (long)((char *)&mine - tp), (long)(page_aligned_block() - tp), (long)((char *)&errno - tp));
  return mine - 1;
}
