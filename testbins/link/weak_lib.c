/* libweak.so: weak references to symbols nobody defines are 0; a weak
 * reference to a defined symbol binds. weakdef is a WEAK definition here and
 * a strong one in libweak2.so, later in the scope: the first definition in
 * scope order wins, weak or not (glibc without LD_DYNAMIC_WEAK). */
extern int missing_fn(void) __attribute__((weak));
extern int missing_data __attribute__((weak));
extern int weak2_fn(void) __attribute__((weak));

int weak_report(void) {
    return (missing_fn ? 1 : 0) + (&missing_data ? 2 : 0) + (weak2_fn ? 4 : 0);
}
int weak2_value(void) { return weak2_fn ? weak2_fn() : -1; }
__attribute__((weak)) const char *weakdef(void) { return "weak definition in libweak"; }
const char *lib_weakdef(void) { return weakdef(); }
int lib_present(void) { return 77; }
