/* A page-aligned TLS block (glibc_personality::static_tls_offsets_are_glibcs):
   the alignment leaves a gap below the program's block, where glibc
   puts a later module that fits (libc's). */
__thread char page_aligned[3000] __attribute__((aligned(4096)));
char *page_aligned_block(void) { return page_aligned; }
