/* liberr.so: the victim of the error tests. It NEEDs libdep.so, references
 * dep_data and dep_fn (GLOB_DAT and JUMP_SLOT), has a pointer in data
 * (R_X86_64_RELATIVE) and a constructor that must never run when loading
 * fails. */
#include "say.h"
extern int dep_data;
int dep_fn(void);
static int local_value = 9;
int *local_ptr = &local_value;
__attribute__((constructor)) static void ctor(void) { say("init liberr (must not run)"); }
int err_fn(void) { return dep_fn() + dep_data + *local_ptr; }
