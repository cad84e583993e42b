/* auxv: what a program sees at its entry point, printed as key=value lines
 * that must be the same under glibc's ld.so and guardld (explicitly or as
 * PT_INTERP) when run with the same argv, envp and working directory.
 * Addresses are printed relative to the program's own base, so the output
 * does not depend on ASLR. Exits 42 so the exit status is compared too.
 *
 * Loader-specific (the harness drops it before comparing):
 *   at_base_is_elf  AT_BASE points at an ELF header (the loader's own);
 *                   glibc's ld.so run explicitly leaves AT_BASE 0.
 */
#include "rt/rt.h"

extern const char __ehdr_start[] __attribute__((visibility("hidden")));

typedef struct {
    u32 p_type, p_flags;
    u64 p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align;
} Phdr;

static int is_elf(unsigned long p) {
    const volatile u8 *b = (const volatile u8 *)p;
    return p && b[0] == 0x7f && b[1] == 'E' && b[2] == 'L' && b[3] == 'F';
}

int main(int argc, char **argv, char **envp) {
    unsigned long base = (unsigned long)__ehdr_start;

    print_kv_dec("argc", argc);
    for (int i = 0; i < argc; i++) {
        print_str("argv[");
        print_dec(i);
        print_str("]=");
        print_line(argv[i]);
    }
    if (argv[argc] != NULL) rt_fail("argv not NULL-terminated");
    int n = 0;
    for (char **e = envp; *e; e++, n++) {
        print_str("envp[");
        print_dec(n);
        print_str("]=");
        print_line(*e);
    }
    print_kv_dec("envc", n);
    print_kv_dec("entry_sp_mod16", (long)(rt_entry_sp % 16));

    unsigned long v;
    if (!rt_getauxval2(AT_ENTRY, &v)) rt_fail("no AT_ENTRY");
    print_kv_hex("at_entry_minus_base", v - base);
    if (!rt_getauxval2(AT_PHDR, &v)) rt_fail("no AT_PHDR");
    print_kv_hex("at_phdr_minus_base", v - base);
    const Phdr *ph = (const Phdr *)v;
    unsigned long phnum = rt_getauxval(AT_PHNUM);
    print_kv_dec("at_phnum", (long)phnum);
    print_kv_dec("at_phent", (long)rt_getauxval(AT_PHENT));
    /* The headers AT_PHDR points at are this program's: read them. */
    for (unsigned long i = 0; i < phnum; i++) {
        print_str("phdr[");
        print_udec(i);
        print_str("]=");
        print_hex(ph[i].p_type);
        print_char(' ');
        print_hex(ph[i].p_vaddr);
        print_char(' ');
        print_hex(ph[i].p_flags);
        print_char('\n');
    }
    print_kv_dec("at_pagesz", (long)rt_getauxval(AT_PAGESZ));
    print_kv_dec("at_secure", (long)rt_getauxval(AT_SECURE));

    unsigned long rnd = rt_getauxval(AT_RANDOM);
    print_kv_dec("at_random_nonzero", rnd != 0);
    if (rnd) {
        /* Touch all 16 bytes: a bad pointer faults here. */
        const volatile u8 *r = (const volatile u8 *)rnd;
        unsigned acc = 0;
        for (int i = 0; i < 16; i++) acc += r[i];
        (void)acc;
        print_kv_dec("at_random_readable", 1);
    }
    print_kv_dec("at_sysinfo_ehdr_is_elf", is_elf(rt_getauxval(AT_SYSINFO_EHDR)));
    print_kv_str("at_execfn", (const char *)rt_getauxval(AT_EXECFN));
    print_kv_dec("at_base_is_elf", is_elf(rt_getauxval(AT_BASE)));
    return 42;
}
