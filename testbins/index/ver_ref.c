/* libref*.so: an unversioned reference to foo (linked against an
 * unversioned stub of the library that really defines foo). */
const char *foo(void);
const char *ref_foo(void) { return foo(); }
const char *ref_foo_ptr(void) {
    const char *(*volatile p)(void) = foo;
    return p();
}
