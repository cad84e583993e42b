/* Three builds of one library (soname libvp.so): with versions V1 (pf)
   and V2 (pf2), with V1 only, and with no versions at all. */
int pf(void) { return 1; }
#ifdef WITH_V2
int pf2(void) { return 2; }
#endif
