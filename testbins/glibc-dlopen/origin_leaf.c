/* Found through origin_plug.c's $ORIGIN/deps. */
int origin_leaf(void) { return 3; }
