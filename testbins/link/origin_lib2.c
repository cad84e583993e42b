/* sub/libo2.so */
const char *o2(void) { return "hello from sub/libo2"; }
