/* libver.so, first build: vfunc@@VERS_1 (version script ver_v1.map). */
int vfunc(void) { return 1; }
