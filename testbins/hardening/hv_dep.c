/* libhvdep.so: what libhv.so needs, at version HVDEP_1 (hv_dep.map), so
 * that libhv.so carries a version requirement (DT_VERNEED). */
int dep_fn(void) { return 30; }
