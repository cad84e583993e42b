/* The sibling of preload_a.c. */
const char *who(void) { return "pb"; }
const char *pb(void) { return "pb-only"; }
