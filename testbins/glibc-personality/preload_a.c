/* Preloaded by glibc_personality::etc_ld_so_preload_is_read_as_glibc_reads_it:
   defines who() as its sibling does, so the first in scope order wins. */
const char *who(void) { return "pa"; }
const char *pa(void) { return "pa-only"; }
