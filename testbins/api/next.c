/*
 * libapinext.so: NEEDed by the api executable, which interposes api_hook
 * (tests/api.rs, "sym"). lib_calls_hook's call binds to the executable's
 * definition (first in the global scope); that one reaches this one with
 * dlsym(RTLD_NEXT, "api_hook").
 */
int api_hook(int x) { return x * 10; }
int lib_calls_hook(int x) { return api_hook(x); }
/* Only here: RTLD_DEFAULT finds it in this library. */
int next_only(void) { return 77; }
