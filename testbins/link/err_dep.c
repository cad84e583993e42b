/* libdep.so: what liberr.so needs; a second build (-DBROKEN) lacks
 * dep_data, dep_fn and hook_table. */
#ifndef BROKEN
int dep_data = 1;
int dep_fn(void) { return 2; }
static int hook_value = 1;
int *hook_table = &hook_value;
#else
int dep_other = 1;
#endif
