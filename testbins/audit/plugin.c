/* libauditplugin.so: loaded by dlopen, same layout as the others. */
#include <stdio.h>
static const char *const greeting[] = {"hello", "from", "plugin"};
static char buf[8192];
int plugin_fn(int x) {
    snprintf(buf, sizeof buf, "%s %s %s %d", greeting[0], greeting[1], greeting[2], x);
    return (int)sizeof buf + x;
}
