/* libprivate.so: libc-less, but imports glibc's private loader interface
 * (_dl_argv@GLIBC_PRIVATE of ld-linux-x86-64.so.2): only glibc's ld.so
 * can link it, so guardld hands its program over. */
extern char **_dl_argv;
const char *private_argv0(void) { return _dl_argv[0]; }
