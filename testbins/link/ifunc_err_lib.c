/* libifunc_err.so: an IFUNC whose resolver reads hook_table, a pointer
 * defined in libdep.so. With libdep.so rebuilt without it (-DBROKEN), the
 * GOT slot stays 0 and the resolver would fault: a loader must not run it
 * once linking has failed. */
extern int *hook_table;

static int with_hook(void) { return 3; }
static int without_hook(void) { return 4; }

static int (*resolve_hooked(void))(void) {
    return *hook_table ? with_hook : without_hook;
}

int hooked(void) __attribute__((ifunc("resolve_hooked")));
