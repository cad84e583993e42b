/* libver.so, a broken build: it defines the version VERS_2 but vfunc only
 * at VERS_1 (ver_v3.map): a program linked against the second build finds
 * the version but not vfunc@VERS_2. */
int vfunc(void) { return 1; }
int vother(void) { return 3; }
