/* sub/libo1.so: found through the executable's RUNPATH $ORIGIN/sub; finds
 * libo2.so through its own RUNPATH $ORIGIN (RUNPATH is not inherited). */
const char *o2(void);
const char *o1(void) { return o2(); }
