/* libweak2.so: a strong weakdef, and weak2_fn for libweak's weak reference. */
const char *weakdef(void) { return "strong definition in libweak2"; }
int weak2_fn(void) { return 42; }
