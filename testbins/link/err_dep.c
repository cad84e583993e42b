/* libdep.so: what liberr.so needs; a second build (-DBROKEN) lacks
 * dep_data and dep_fn. */
#ifndef BROKEN
int dep_data = 1;
int dep_fn(void) { return 2; }
#else
int dep_other = 1;
#endif
