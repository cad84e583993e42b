/* A general-dynamic TLS library (glibc_dlopen::static_tls_is_kept_for_initial_exec):
   600 bytes of TLS, reached through __tls_get_addr. */
__thread char gd_buf[600];
int gd_touch(int v) { gd_buf[v % 600] = (char)v; return gd_buf[v % 600]; }
