/* libcopy.so: data objects a non-PIE executable copies (R_X86_64_COPY);
 * the library must then use the executable's copies. */
int table[4] = {1, 2, 3, 4};
const char banner[] = "banner from libcopy";
int lib_sum(void) {
    int s = 0;
    for (int i = 0; i < 4; i++) s += table[i];
    return s;
}
const char *lib_banner_addr(void) { return banner; }
int *lib_table_addr(void) { return table; }
int (*lib_sum_addr(void))(void) { return lib_sum; }
