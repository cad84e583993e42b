/* libdl_64k.so: linked by lld with 64 KiB max-page-size (padding between
 * its segments); the test reads its span in /proc/self/maps. */
static const char text[] = "64k library";
int k64_data[1024] = { 1 };
const char *k64_text(void) { return text; }
int k64_value(int x) { return x + k64_data[0]; }
