/* libdl_tls.so: __thread data reached through __tls_get_addr (the
 * general-dynamic model of a dlopen'd library), small enough for glibc's
 * static TLS surplus. */
__thread int tls_counter = 42;
__thread char tls_name[16] = "tls-initial";
int tls_bump(void) { return ++tls_counter; }
char *tls_name_addr(void) { return tls_name; }
