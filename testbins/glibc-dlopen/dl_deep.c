/* libdl_deep.so / libdl_deep2.so: define deep_which() and call it. Opened
 * after libdl_g.so (RTLD_GLOBAL, which defines deep_which too): plain, the
 * call binds to the global definition; with RTLD_DEEPBIND, to its own. */
const char *deep_which(void) { return "own"; }
const char *deep_call(void) { return deep_which(); }
