/* a/libpick.so or b/libpick.so: same soname, built with -DWHICH='"a"' or
 * '"b"'. */
const char *which_pick(void) { return "libpick from " WHICH; }
