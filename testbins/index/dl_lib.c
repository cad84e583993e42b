/* The libraries of tests/index.rs "dlopen scopes", one per -D:
 *
 *   -DGLOB   libdlglob.so: NEEDed by the program (global scope)
 *   -DLOC    libdlloc.so: dlopen'd RTLD_LOCAL; NEEDs libdlldep.so
 *   -DLDEP   libdlldep.so: needs loc_only, which only libdlloc.so defines
 *            (linked without it: shared libraries may leave it undefined)
 *   -DOTHER  libdlother.so: dlopen'd RTLD_LOCAL too, needs loc_only
 *   -DLATE   libdllate.so: dlopen'd RTLD_GLOBAL last, defines shared_fn
 *            and loc_only too
 */
#ifdef GLOB
const char *shared_fn(void) { return "shared_fn from libdlglob"; }
#endif

#ifdef LOC
const char *both_local(void);
const char *shared_fn(void) { return "shared_fn from libdlloc"; }
const char *loc_only(void) { return "loc_only from libdlloc"; }
const char *both_local(void) { return "both_local from libdlloc"; }
const char *loc_calls_shared(void) { return shared_fn(); }
const char *loc_calls_both(void) { return both_local(); }
#endif

#ifdef LDEP
const char *shared_fn(void);
const char *loc_only(void);
const char *both_local(void) { return "both_local from libdlldep"; }
const char *ldep_only(void) { return "ldep_only from libdlldep"; }
const char *ldep_calls_shared(void) { return shared_fn(); }
const char *ldep_calls_loc_only(void) { return loc_only(); }
const char *ldep_calls_both(void) { return both_local(); }
#endif

#ifdef OTHER
const char *loc_only(void);
const char *other_calls_loc_only(void) { return loc_only(); }
#endif

#ifdef LATE
const char *shared_fn(void) { return "shared_fn from libdllate"; }
const char *loc_only(void) { return "loc_only from libdllate"; }
const char *late_calls_shared(void) { return shared_fn(); }
#endif
