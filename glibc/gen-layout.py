#!/usr/bin/env python3
"""Generate the glibc layout table guardld's glibc personality will use,
from the debug information of the machine's glibc build (Debian's libc6-dbg:
`gdb ptype /o` of each structure libc reads). Never typed by hand: a test
(tests/glibc_layout.rs) regenerates it where the same build and libc6-dbg
are installed and compares.

Usage: glibc/gen-layout.py [--ld-so PATH] [--libc PATH] [--out FILE]
Writes Rust source to FILE (default stdout).
"""
import argparse
import re
import struct
import subprocess
import sys

# (structure, the object whose debug information has it, Rust name)
STRUCTS = [
    ("struct rtld_global", "ld", "RTLD_GLOBAL"),
    ("struct rtld_global_ro", "ld", "RTLD_GLOBAL_RO"),
    ("struct link_map", "ld", "LINK_MAP"),
    ("struct cpu_features", "ld", "CPU_FEATURES"),
    ("struct cpuid_feature_internal", "ld", "CPUID_FEATURE_INTERNAL"),
    ("struct pthread", "libc", "PTHREAD"),
    ("tcbhead_t", "libc", "TCBHEAD"),
    ("struct libname_list", "ld", "LIBNAME_LIST"),
    ("struct r_scope_elem", "ld", "R_SCOPE_ELEM"),
    ("struct r_debug_extended", "ld", "R_DEBUG_EXTENDED"),
    ("struct dl_find_object", "ld", "DL_FIND_OBJECT"),
    ("struct dtv_slotinfo_list", "ld", "DTV_SLOTINFO_LIST"),
    ("struct dtv_slotinfo", "ld", "DTV_SLOTINFO"),
    ("dtv_t", "ld", "DTV"),
    ("struct list_head", "ld", "LIST_HEAD"),
    ("pthread_mutex_t", "ld", "PTHREAD_MUTEX"),
    ("struct link_namespaces", "ld", "LINK_NAMESPACES"),
    # Run-time loading (loader/src/glibc/dlfcn.rs): dlvsym's version
    # request, dlinfo's search-path report.
    ("struct r_found_version", "ld", "R_FOUND_VERSION"),
    ("struct dl_exception", "ld", "DL_EXCEPTION"),
    ("Dl_serinfo", "ld", "DL_SERINFO"),
    ("Dl_serpath", "ld", "DL_SERPATH"),
]

# Enumerators and expressions evaluated by gdb in the build's debug
# information: (expression, object, Rust name).
CONSTS = [
    ("(int)PTHREAD_MUTEX_RECURSIVE_NP", "ld", "PTHREAD_MUTEX_RECURSIVE_NP"),
    ("(int)lt_executable", "ld", "LT_EXECUTABLE"),
    ("(int)lt_library", "ld", "LT_LIBRARY"),
    ("(int)lt_loaded", "ld", "LT_LOADED"),
    ("(int)RT_CONSISTENT", "ld", "RT_CONSISTENT"),
    ("(int)RT_ADD", "ld", "RT_ADD"),
    ("(int)RT_DELETE", "ld", "RT_DELETE"),
    ("(int)DL_LOOKUP_ADD_DEPENDENCY", "ld", "DL_LOOKUP_ADD_DEPENDENCY"),
    # The first EI_ABIVERSION (of ELFOSABI_GNU) the loader refuses.
    ("(int)LIBC_ABI_MAX", "ld", "LIBC_ABI_MAX"),
    ("(int)DL_LOOKUP_RETURN_NEWEST", "ld", "DL_LOOKUP_RETURN_NEWEST"),
    ("(int)DL_LOOKUP_GSCOPE_LOCK", "ld", "DL_LOOKUP_GSCOPE_LOCK"),
    # x86 CPU features (loader/src/glibc/cpu.rs): cpuid slots, register
    # order, vendor kinds, preferred bits, hwcaps, sysconf cache names.
    ("(int)CPUID_INDEX_1", "ld", "CPUID_INDEX_1"),
    ("(int)CPUID_INDEX_7", "ld", "CPUID_INDEX_7"),
    ("(int)CPUID_INDEX_80000001", "ld", "CPUID_INDEX_80000001"),
    ("(int)CPUID_INDEX_D_ECX_1", "ld", "CPUID_INDEX_D_ECX_1"),
    ("(int)CPUID_INDEX_80000007", "ld", "CPUID_INDEX_80000007"),
    ("(int)CPUID_INDEX_80000008", "ld", "CPUID_INDEX_80000008"),
    ("(int)CPUID_INDEX_7_ECX_1", "ld", "CPUID_INDEX_7_ECX_1"),
    ("(int)CPUID_INDEX_19", "ld", "CPUID_INDEX_19"),
    ("(int)CPUID_INDEX_14_ECX_0", "ld", "CPUID_INDEX_14_ECX_0"),
    ("(int)CPUID_INDEX_MAX", "ld", "CPUID_INDEX_MAX"),
    ("(int)cpuid_register_index_eax", "ld", "CPUID_REGISTER_INDEX_EAX"),
    ("(int)cpuid_register_index_ebx", "ld", "CPUID_REGISTER_INDEX_EBX"),
    ("(int)cpuid_register_index_ecx", "ld", "CPUID_REGISTER_INDEX_ECX"),
    ("(int)cpuid_register_index_edx", "ld", "CPUID_REGISTER_INDEX_EDX"),
    ("(int)arch_kind_unknown", "ld", "ARCH_KIND_UNKNOWN"),
    ("(int)arch_kind_intel", "ld", "ARCH_KIND_INTEL"),
    ("(int)arch_kind_amd", "ld", "ARCH_KIND_AMD"),
    ("(int)arch_kind_zhaoxin", "ld", "ARCH_KIND_ZHAOXIN"),
    ("(int)arch_kind_other", "ld", "ARCH_KIND_OTHER"),
    ("(int)PREFERRED_FEATURE_INDEX_MAX", "ld", "PREFERRED_FEATURE_INDEX_MAX"),
    ("(int)index_arch_Fast_Rep_String", "ld", "INDEX_ARCH_FAST_REP_STRING"),
    ("(long)bit_arch_Fast_Rep_String", "ld", "BIT_ARCH_FAST_REP_STRING"),
    ("(int)index_arch_Fast_Copy_Backward", "ld", "INDEX_ARCH_FAST_COPY_BACKWARD"),
    ("(long)bit_arch_Fast_Copy_Backward", "ld", "BIT_ARCH_FAST_COPY_BACKWARD"),
    ("(int)index_arch_Slow_BSF", "ld", "INDEX_ARCH_SLOW_BSF"),
    ("(long)bit_arch_Slow_BSF", "ld", "BIT_ARCH_SLOW_BSF"),
    ("(int)index_arch_Fast_Unaligned_Load", "ld", "INDEX_ARCH_FAST_UNALIGNED_LOAD"),
    ("(long)bit_arch_Fast_Unaligned_Load", "ld", "BIT_ARCH_FAST_UNALIGNED_LOAD"),
    ("(int)index_arch_Prefer_PMINUB_for_stringop", "ld", "INDEX_ARCH_PREFER_PMINUB_FOR_STRINGOP"),
    ("(long)bit_arch_Prefer_PMINUB_for_stringop", "ld", "BIT_ARCH_PREFER_PMINUB_FOR_STRINGOP"),
    ("(int)index_arch_Fast_Unaligned_Copy", "ld", "INDEX_ARCH_FAST_UNALIGNED_COPY"),
    ("(long)bit_arch_Fast_Unaligned_Copy", "ld", "BIT_ARCH_FAST_UNALIGNED_COPY"),
    ("(int)index_arch_I586", "ld", "INDEX_ARCH_I586"),
    ("(long)bit_arch_I586", "ld", "BIT_ARCH_I586"),
    ("(int)index_arch_I686", "ld", "INDEX_ARCH_I686"),
    ("(long)bit_arch_I686", "ld", "BIT_ARCH_I686"),
    ("(int)index_arch_Slow_SSE4_2", "ld", "INDEX_ARCH_SLOW_SSE4_2"),
    ("(long)bit_arch_Slow_SSE4_2", "ld", "BIT_ARCH_SLOW_SSE4_2"),
    ("(int)index_arch_AVX_Fast_Unaligned_Load", "ld", "INDEX_ARCH_AVX_FAST_UNALIGNED_LOAD"),
    ("(long)bit_arch_AVX_Fast_Unaligned_Load", "ld", "BIT_ARCH_AVX_FAST_UNALIGNED_LOAD"),
    ("(int)index_arch_Prefer_No_VZEROUPPER", "ld", "INDEX_ARCH_PREFER_NO_VZEROUPPER"),
    ("(long)bit_arch_Prefer_No_VZEROUPPER", "ld", "BIT_ARCH_PREFER_NO_VZEROUPPER"),
    ("(int)index_arch_Prefer_ERMS", "ld", "INDEX_ARCH_PREFER_ERMS"),
    ("(long)bit_arch_Prefer_ERMS", "ld", "BIT_ARCH_PREFER_ERMS"),
    ("(int)index_arch_Prefer_No_AVX512", "ld", "INDEX_ARCH_PREFER_NO_AVX512"),
    ("(long)bit_arch_Prefer_No_AVX512", "ld", "BIT_ARCH_PREFER_NO_AVX512"),
    ("(int)index_arch_MathVec_Prefer_No_AVX512", "ld", "INDEX_ARCH_MATHVEC_PREFER_NO_AVX512"),
    ("(long)bit_arch_MathVec_Prefer_No_AVX512", "ld", "BIT_ARCH_MATHVEC_PREFER_NO_AVX512"),
    ("(int)index_arch_Prefer_FSRM", "ld", "INDEX_ARCH_PREFER_FSRM"),
    ("(long)bit_arch_Prefer_FSRM", "ld", "BIT_ARCH_PREFER_FSRM"),
    ("(int)index_arch_Avoid_Short_Distance_REP_MOVSB", "ld", "INDEX_ARCH_AVOID_SHORT_DISTANCE_REP_MOVSB"),
    ("(long)bit_arch_Avoid_Short_Distance_REP_MOVSB", "ld", "BIT_ARCH_AVOID_SHORT_DISTANCE_REP_MOVSB"),
    ("(int)HWCAP_X86_64", "ld", "HWCAP_X86_64"),
    ("(int)HWCAP_X86_AVX512_1", "ld", "HWCAP_X86_AVX512_1"),
    ("(int)_SC_LEVEL1_ICACHE_SIZE", "ld", "SC_LEVEL1_ICACHE_SIZE"),
    ("(int)_SC_LEVEL1_ICACHE_LINESIZE", "ld", "SC_LEVEL1_ICACHE_LINESIZE"),
    ("(int)_SC_LEVEL1_DCACHE_SIZE", "ld", "SC_LEVEL1_DCACHE_SIZE"),
    ("(int)_SC_LEVEL1_DCACHE_ASSOC", "ld", "SC_LEVEL1_DCACHE_ASSOC"),
    ("(int)_SC_LEVEL1_DCACHE_LINESIZE", "ld", "SC_LEVEL1_DCACHE_LINESIZE"),
    ("(int)_SC_LEVEL2_CACHE_SIZE", "ld", "SC_LEVEL2_CACHE_SIZE"),
    ("(int)_SC_LEVEL2_CACHE_ASSOC", "ld", "SC_LEVEL2_CACHE_ASSOC"),
    ("(int)_SC_LEVEL2_CACHE_LINESIZE", "ld", "SC_LEVEL2_CACHE_LINESIZE"),
    ("(int)_SC_LEVEL3_CACHE_SIZE", "ld", "SC_LEVEL3_CACHE_SIZE"),
    ("(int)_SC_LEVEL3_CACHE_ASSOC", "ld", "SC_LEVEL3_CACHE_ASSOC"),
    ("(int)_SC_LEVEL3_CACHE_LINESIZE", "ld", "SC_LEVEL3_CACHE_LINESIZE"),
    ("(int)_SC_LEVEL4_CACHE_SIZE", "ld", "SC_LEVEL4_CACHE_SIZE"),
    ("sizeof(intel_02_known) / sizeof(intel_02_known[0])", "ld", "INTEL_02_KNOWN_LEN"),
    ("_Alignof(struct pthread)", "libc", "PTHREAD_ALIGN"),
    ("sizeof(((struct link_map *)0)->l_info) / sizeof(((struct link_map *)0)->l_info[0])", "ld", "L_INFO_LEN"),
]

# The enumerators of ld.so's tunable types and security levels
# (elf/dl-tunable-types.h), emitted into CONSTS after the list above: the
# loader reads `TUNABLES`' type_code and security_level through them.
TUNABLE_ENUMS = ["TUNABLE_TYPE_INT_32", "TUNABLE_TYPE_UINT_64", "TUNABLE_TYPE_SIZE_T", "TUNABLE_TYPE_STRING",
                 "TUNABLE_SECLEVEL_SXID_ERASE", "TUNABLE_SECLEVEL_SXID_IGNORE", "TUNABLE_SECLEVEL_NONE"]

# Dynamic tags whose l_info index glibc's elf_get_dynamic_info uses, by
# <elf.h>'s numbering and glibc's index rule (ldsodefs.h: tags below DT_NUM
# index themselves; version, extra, value and address tags follow).
L_INFO_TAGS = ["DT_PLTRELSZ", "DT_PLTGOT", "DT_HASH", "DT_STRTAB", "DT_SYMTAB", "DT_RELA", "DT_RELASZ",
               "DT_RELAENT", "DT_STRSZ", "DT_SYMENT", "DT_INIT", "DT_FINI", "DT_SONAME", "DT_RPATH",
               "DT_SYMBOLIC", "DT_DEBUG", "DT_JMPREL", "DT_BIND_NOW", "DT_INIT_ARRAY", "DT_FINI_ARRAY",
               "DT_INIT_ARRAYSZ", "DT_FINI_ARRAYSZ", "DT_RUNPATH", "DT_FLAGS", "DT_PREINIT_ARRAY",
               "DT_PREINIT_ARRAYSZ", "DT_RELRSZ", "DT_RELR", "DT_RELRENT", "DT_NEEDED", "DT_PLTREL", "DT_TEXTREL",
               "DT_VERSYM", "DT_VERDEF", "DT_VERDEFNUM", "DT_VERNEED", "DT_VERNEEDNUM", "DT_RELACOUNT",
               "DT_FLAGS_1", "DT_GNU_HASH"]

LINE = re.compile(r"^/\*\s+(\d+)(?::\s*(\d+))?\s+\|\s+(\d+)\s+\*/\s+(.*)$")
# A union member: gdb prints its size only (its offset is the union's).
UNION_MEMBER = re.compile(r"^/\*\s+(\d+)\s+\*/\s+(.*)$")
TOTAL = re.compile(r"/\* total size \(bytes\):\s+(\d+) \*/")


def build_id(path):
    """The NT_GNU_BUILD_ID of an ELF64 file, as hex."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 2:
        sys.exit(f"{path}: not an ELF64 file")
    phoff, = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    for i in range(phnum):
        p_type, _, p_offset, _, _, p_filesz = struct.unpack_from("<IIQQQQ", data, phoff + i * phentsize)
        if p_type != 4:  # PT_NOTE
            continue
        at, end = p_offset, p_offset + p_filesz
        while at + 12 <= end:
            namesz, descsz, ntype = struct.unpack_from("<III", data, at)
            name = data[at + 12:at + 12 + namesz]
            desc_at = at + 12 + ((namesz + 3) & ~3)
            if ntype == 3 and name == b"GNU\0":
                return data[desc_at:desc_at + descsz].hex()
            at = desc_at + ((descsz + 3) & ~3)
    sys.exit(f"{path}: no GNU build ID")


def field_name(decl):
    """The member name of one `ptype` declaration line."""
    decl = decl.rstrip(";").strip()
    decl = re.sub(r"\s*:\s*\d+$", "", decl)  # bitfield width
    m = re.search(r"\(\s*\*\s*(\w+)\s*\)\s*\(", decl)  # function pointer
    if m:
        return m.group(1)
    decl = re.sub(r"(\[\d*\])+$", "", decl)  # arrays
    m = re.search(r"(\w+)$", decl)
    return m.group(1) if m else None


def layout(expr, obj):
    """[(dotted name, byte offset, (bit offset, width) or None, size)] and the total."""
    out = subprocess.run(["gdb", "-nx", "-batch", "-ex", f"ptype /o {expr}", obj],
                         capture_output=True, text=True, check=True).stdout
    lines = out.splitlines()
    fields, stack, total = [], [], None
    for line in lines[1:]:
        s = line.strip()
        m = LINE.match(s)
        u = None if m else UNION_MEMBER.match(s)
        if m or u:
            if m:
                off, bit, size, decl = int(m.group(1)), m.group(2), int(m.group(3)), m.group(4)
            else:
                off, bit, size, decl = (stack[-1][0] if stack else 0), None, int(u.group(1)), u.group(2)
            if decl.endswith("{"):
                stack.append((off, size, None))  # nested type: name at its closing brace
                fields.append(None)
                continue
            name = field_name(decl)
            if name:
                prefix = ".".join(n for (_, _, n) in stack if n)
                width = re.search(r":\s*(\d+);?$", decl)
                bits = (int(bit), int(width.group(1))) if bit is not None and width else None
                fields.append((f"{prefix}.{name}" if prefix else name, off, bits, size))
            continue
        t = TOTAL.search(s)
        if t and not stack:
            total = int(t.group(1))
        if s.startswith("}") and stack:
            off, size, _ = stack.pop()
            name = field_name(s[1:].strip()) if s[1:].strip().rstrip(";") else None
            # The placeholder of the nested aggregate becomes its member.
            idx = max(i for i, f in enumerate(fields) if f is None)
            prefix = ".".join(n for (_, _, n) in stack if n)
            if name:
                full = f"{prefix}.{name}" if prefix else name
                fields[idx] = (full, off, None, size)
                # Members recorded inside get the aggregate's name.
                for i in range(idx + 1, len(fields)):
                    if fields[i] and fields[i][0] and not fields[i][0].startswith(full + "."):
                        n = fields[i][0][len(prefix) + 1:] if prefix else fields[i][0]
                        fields[i] = (f"{full}.{n}", *fields[i][1:])
            else:
                fields[idx] = ("", off, None, 0)  # anonymous: members keep their names
    if total is None:
        sys.exit(f"{expr}: no total size in gdb's output")
    return [f for f in fields if f and f[0] and not f[0].endswith(".")], total


def system_dirs(obj):
    """ld.so's default search directories (`system_dirs`, checked against
    `system_dirs_len`), without their trailing slashes."""
    out = subprocess.run(["gdb", "-nx", "-batch", "-ex", "p system_dirs", "-ex", "p system_dirs_len", obj],
                         capture_output=True, text=True, check=True).stdout.strip().splitlines()
    vals = [l.split(" = ", 1)[1] for l in out if re.match(r"^\$\d+ = ", l)]
    if len(vals) != 2 or not (vals[0].startswith('"') and vals[0].endswith('"')):
        sys.exit(f"system_dirs: gdb printed {out!r}")
    dirs = vals[0][1:-1].split("\\000")
    lens = [int(x) for x in re.findall(r"\d+", vals[1])]
    if [len(d) for d in dirs] != lens or not all(d.startswith("/") and d.endswith("/") for d in dirs):
        sys.exit(f"system_dirs {dirs!r} disagree with system_dirs_len {lens!r}")
    return [d.rstrip("/") or "/" for d in dirs]


def unsecure_envvars(path):
    """ld.so's UNSECURE_ENVVARS: the variables it unsets in an AT_SECURE
    process (rtld.c, process_envvars). The list is a function-local array
    with no debug symbol, so it is read from ld.so's .rodata: the one run of
    NUL-separated upper-case names, ended by an empty one, that starts with
    GCONV_PATH (unsecvars.h's first entry) and holds the loader's own
    variables."""
    data = open(path, "rb").read()
    _, off, size, _ = elf_sections(data)[".rodata"]
    ro = data[off:off + size]
    found = []
    at = ro.find(b"\0GCONV_PATH\0")
    while at >= 0:
        names, k = [], at + 1
        while ro[k] != 0:
            end = ro.index(b"\0", k)
            names.append(ro[k:end].decode("ascii", "replace"))
            k = end + 1
        if all(re.fullmatch(r"[A-Z_][A-Z0-9_]*", n) for n in names) and {"LD_PRELOAD", "LD_LIBRARY_PATH"} <= set(names):
            found.append(names)
        at = ro.find(b"\0GCONV_PATH\0", at + 1)
    if len(found) != 1:
        sys.exit(f"UNSECURE_ENVVARS: {len(found)} candidate lists in {path}'s .rodata: {found!r}")
    return found[0]


def gdb_strings(exprs, obj):
    """The C strings `exprs` evaluate to in `obj`'s debug information."""
    cmds = []
    for e in exprs:
        cmds += ["-ex", f'printf "%s\\n", {e}']
    out = subprocess.run(["gdb", "-nx", "-batch"] + cmds + [obj], capture_output=True, text=True, check=True).stdout
    vals = out.split("\n")[:len(exprs)]
    if len(vals) != len(exprs) or not all(re.fullmatch(r"[A-Za-z0-9_:.-]+", v) for v in vals):
        sys.exit(f"{exprs}: gdb printed {out!r}")
    return vals


def string_array(array, obj):
    """The strings of a `char [N][M]` array of `obj`."""
    n = gdb_value(f"sizeof({array}) / sizeof({array}[0])", obj)
    return gdb_strings([f"{array}[{i}]" for i in range(n)], obj)


def gdb_value(expr, obj):
    out = subprocess.run(["gdb", "-nx", "-batch", "-ex", f"p/d {expr}", obj],
                         capture_output=True, text=True, check=True).stdout.strip().splitlines()
    m = re.match(r"^\$\d+ = (-?\d+)$", out[-1] if out else "")
    if not m:
        sys.exit(f"{expr}: gdb printed {out!r}")
    return int(m.group(1))


def tunables(obj):
    """ld.so's `tunable_list`, in id order: [(name, type_code, min, max,
    default numval, default string or None, security_level, env_alias)]."""
    n = gdb_value("sizeof(tunable_list) / sizeof(tunable_list[0])", obj)
    fmt = "%s\\t%d\\t%ld\\t%ld\\t%ld\\t%d\\t%d\\t%s\\n"
    cmds = []
    for i in range(n):
        t = f"tunable_list[{i}]"
        args = ", ".join(f"{t}.{m}" for m in ("name", "type.type_code", "type.min", "type.max", "val.numval",
                                               "initialized", "security_level", "env_alias"))
        cmds += ["-ex", f'printf "{fmt}", {args}']
    out = subprocess.run(["gdb", "-nx", "-batch", *cmds, obj], capture_output=True, text=True, check=True).stdout
    rows = [line.split("\t") for line in out.splitlines()]
    if len(rows) != n or any(len(r) != 8 for r in rows):
        sys.exit(f"tunable_list: gdb printed {out!r}")
    string = gdb_value("(int)TUNABLE_TYPE_STRING", obj)
    result = []
    for i, (name, code, lo, hi, num, init, sec, alias) in enumerate(rows):
        if not re.fullmatch(r"[\w.]+", name) or not re.fullmatch(r"\w*", alias) or init != "0":
            sys.exit(f"tunable_list[{i}]: unexpected {rows[i]!r}")
        default_str = None
        if int(code) == string and int(num) != 0:  # a string default: strval is not NULL
            default_str = subprocess.run(["gdb", "-nx", "-batch", "-ex", f'printf "%s", tunable_list[{i}].val.strval', obj],
                                         capture_output=True, text=True, check=True).stdout
        result.append((name, int(code), int(lo), int(hi), int(num), default_str, int(sec), alias))
    return result


def rust_str(s):
    """A Rust string literal of `s`."""
    return '"' + "".join(c if c.isprintable() and c not in '"\\' else f"\\u{{{ord(c):x}}}" for c in s) + '"'


def elf_h_tags(path="/usr/include/elf.h"):
    """DT_* numbers of the build's <elf.h>."""
    tags = {}
    for line in open(path):
        m = re.match(r"#define\s+(DT_\w+)\s+(0x[0-9a-fA-F]+|\d+)\b", line)
        if m:
            tags[m.group(1)] = int(m.group(2), 0)
    return tags


# The loader's `Name` holds at most this many bytes inline (glibc/mod.rs).
NAME_MAX = 55


def name_key(s):
    """The key the loader's tables are sorted and searched by
    (glibc::name_key): two 64-bit hashes of the name's bytes, FNV-1a high,
    a multiply-rotate hash seeded with the length low. The loader bisects
    a compact array of these keys and compares whole keys, never the
    (wide) entries; the generator checks that a table's keys are distinct."""
    b = s.encode()
    m = 0xFFFFFFFFFFFFFFFF
    h = 0xcbf29ce484222325
    for c in b:
        h = ((h ^ c) * 0x100000001b3) & m
    g = len(b)
    for c in b:
        g = ((((g << 5) | (g >> 59)) & m) ^ c) * 0x9E3779B97F4A7C15 & m
    return (h << 64) | g


def distinct_keys(what, names):
    """Different names must have different keys (the loader compares keys)."""
    seen = {}
    for n in names:
        k = name_key(n)
        if seen.setdefault(k, n) != n:
            sys.exit(f"{what}: {n!r} and {seen[k]!r} have the same key")


def name_lit(s):
    """A name for the loader's tables: held inline (no pointer to relocate)."""
    if len(s.encode()) > NAME_MAX or '"' in s or "\\" in s:
        sys.exit(f"name {s!r} does not fit the loader's Name (at most {NAME_MAX} bytes, no quotes)")
    return f'Name::new("{s}")'


def l_info_index(t, tag):
    """glibc's l_info slot of a dynamic tag (DT_THISPROCNUM is 0 on x86_64)."""
    procnum = 0
    if tag < t["DT_NUM"]:
        return tag
    base = t["DT_NUM"] + procnum
    if t["DT_VERSYM"] <= tag <= t["DT_VERNEEDNUM"]:
        return base + (t["DT_VERNEEDNUM"] - tag)
    base += t["DT_VERSIONTAGNUM"]
    if tag in (t["DT_FLAGS_1"], t["DT_AUXILIARY"], t["DT_FILTER"]):
        shifted = (tag << 1) & 0xffffffff  # DT_EXTRATAGIDX: a signed 32-bit shift pair
        if shifted >= 1 << 31:
            shifted -= 1 << 32
        return base + (-(shifted >> 1)) - 1
    base += t["DT_EXTRANUM"]
    if t["DT_VALRNGLO"] <= tag <= t["DT_VALRNGHI"]:
        return base + (t["DT_VALRNGHI"] - tag)
    base += t["DT_VALNUM"]
    if t["DT_ADDRRNGLO"] <= tag <= t["DT_ADDRRNGHI"]:
        return base + (t["DT_ADDRRNGHI"] - tag)
    sys.exit(f"tag {tag:#x} has no l_info slot")


def elf_sections(data):
    """{name: (addr, offset, size, type)} of an ELF64 file."""
    shoff, = struct.unpack_from("<Q", data, 40)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 58)
    raw = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    strtab_off = raw[shstrndx][4]
    name = lambda o: data[strtab_off + o:data.index(b"\0", strtab_off + o)].decode()
    return {name(r[0]): (r[3], r[4], r[5], r[1]) for r in raw}


def dynsym(data, secs, wanted):
    """(value, size) of a .dynsym symbol."""
    _, sym_off, sym_size, _ = secs[".dynsym"]
    _, str_off, _, _ = secs[".dynstr"]
    for i in range(sym_size // 24):
        st_name, _, _, _, value, size = struct.unpack_from("<IBBHQQ", data, sym_off + 24 * i)
        if data[str_off + st_name:data.index(b"\0", str_off + st_name)].decode() == wanted:
            return value, size
    sys.exit(f"no dynamic symbol {wanted}")


def relocated_words(data, secs):
    """Addresses ld.so relocates in itself (RELA and RELR): their link-time
    contents are not values."""
    out = set()
    for name, (addr, off, size, typ) in secs.items():
        if typ == 4:  # SHT_RELA
            for i in range(size // 24):
                out.add(struct.unpack_from("<Q", data, off + 24 * i)[0])
        elif typ == 19:  # SHT_RELR
            where = 0
            for i in range(size // 8):
                e, = struct.unpack_from("<Q", data, off + 8 * i)
                if e & 1 == 0:
                    out.add(e)
                    where = e + 8
                else:
                    for bit in range(63):
                        if e >> (bit + 1) & 1:
                            out.add(where + 8 * bit)
                    where += 8 * 63
    return out


def initial_image(path, symbol):
    """The nonzero 8-byte words of a global's static initializer in the
    build's ld.so file, by offset, and the offsets of the words ld.so
    relocates (pointers: the personality stores its own)."""
    data = open(path, "rb").read()
    secs = elf_sections(data)
    value, size = dynsym(data, secs, symbol)
    sec = next((s for s in secs.values() if s[0] <= value < s[0] + s[2] and s[3] == 1), None)
    if sec is None:
        return [], []  # all-zero (.bss)
    relocated = relocated_words(data, secs)
    words, pointers = [], []
    for at in range(0, size - size % 8, 8):
        if value + at in relocated:
            pointers.append(at)
            continue
        w, = struct.unpack_from("<Q", data, sec[1] + (value - sec[0]) + at)
        if w:
            words.append((at, w))
    return words, pointers


def package_version():
    try:
        return subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "libc6"],
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ld-so", default="/lib64/ld-linux-x86-64.so.2")
    ap.add_argument("--libc", default="/lib/x86_64-linux-gnu/libc.so.6")
    ap.add_argument("--out")
    a = ap.parse_args()
    objs = {"ld": a.ld_so, "libc": a.libc}
    out = []
    w = out.append
    w("//! glibc layouts for one build, generated by glibc/gen-layout.py from its")
    w("//! debug information (gdb `ptype /o`). Do not edit: regenerate.")
    w(f"//! libc6 {package_version()}")
    w("")
    w("use super::{Build, Field, Name, Struct};")
    w("use super::tunables::TunableDef;")
    w("")
    for expr, obj, rust in STRUCTS:
        fields, total = layout(expr, objs[obj])
        w(f"/// `{expr}` ({total} bytes).")
        w(f"pub const {rust}: Struct = Struct {{")
        w(f"    name: {expr!r},".replace("'", '"'))
        w(f"    size: {total},")
        # Sorted by key (stable: the first of a name stays first), the
        # keys alongside: the loader bisects them.
        distinct_keys(rust, [f[0] for f in fields])
        order = sorted(fields, key=lambda f: name_key(f[0]))
        w("    keys: &[" + ", ".join(f"{name_key(f[0]):#x}" for f in order) + "],")
        w("    fields: &[")
        for name, off, bit, size in order:
            b = "None" if bit is None else f"Some(({bit[0]}, {bit[1]}))"
            w(f'        Field {{ name: {name_lit(name)}, offset: {off}, bits: {b}, size: {size} }},')
        w("    ],")
        w("};")
        w("")
    w("/// Enumerators and sizes, evaluated by gdb in the debug information.")
    consts = {}
    for expr, obj, rust in CONSTS:
        consts[rust] = gdb_value(expr, objs[obj])
    for name in TUNABLE_ENUMS:
        consts[name] = gdb_value(f"(int){name}", objs["ld"])
    # Sorted as the fields are (`name_key`), the keys alongside.
    distinct_keys("CONSTS", consts)
    order = sorted(consts, key=name_key)
    w("pub const CONST_KEYS: &[u128] = &[" + ", ".join(f"{name_key(n):#x}" for n in order) + "];")
    w("pub const CONSTS: &[(Name, i64)] = &[")
    for name in order:
        w(f'    ({name_lit(name)}, {consts[name]}),')
    w("];")
    w("")
    w("/// ld.so's `tunable_list` (elf/dl-tunables.c), indexed by tunable id;")
    w("/// type_code and security_level are the CONSTS' TUNABLE_* enumerators.")
    w("pub const TUNABLES: &[TunableDef] = &[")
    for name, code, lo, hi, num, dstr, sec, alias in tunables(objs["ld"]):
        d = "None" if dstr is None else f"Some({rust_str(dstr)})"
        w(f'    TunableDef {{ name: {name_lit(name)}, type_code: {code}, min: {lo}, max: {hi}, default: {num}, '
          f'default_str: {d}, security_level: {sec}, env_alias: {name_lit(alias)} }},')
    w("];")
    w("")
    t = elf_h_tags()
    total = t["DT_NUM"] + t["DT_VERSIONTAGNUM"] + t["DT_EXTRANUM"] + t["DT_VALNUM"] + t["DT_ADDRNUM"]
    if total != consts["L_INFO_LEN"]:
        sys.exit(f"<elf.h> gives {total} l_info slots, the debug information {consts['L_INFO_LEN']}")
    w("/// (dynamic tag, its index in `link_map.l_info`), by <elf.h> and glibc's")
    w("/// index rule; the slot count agrees with the debug information. Sorted")
    w("/// by tag (the loader searches it by bisection).")
    w("pub const L_INFO: &[(u64, usize)] = &[")
    for name in sorted(L_INFO_TAGS, key=lambda n: t[n]):
        w(f"    ({t[name]:#x}, {l_info_index(t, t[name])}), // {name}")
    w("];")
    w("")
    for symbol, rust in (("_rtld_global", "RTLD_GLOBAL_INIT"), ("_rtld_global_ro", "RTLD_GLOBAL_RO_INIT")):
        words, pointers = initial_image(a.ld_so, symbol)
        w(f"/// `{symbol}`'s static initializer in the build's ld.so: its nonzero")
        w("/// words (offset, value); the words ld.so relocates are left out.")
        w(f"pub const {rust}: &[(usize, u64)] = &[")
        for at, v in words:
            w(f"    ({at}, {v:#x}),")
        w("];")
        w("")
    w("/// The capability names of library subdirectories (glibc's hwcaps):")
    w("/// `_dl_hwcaps_subdirs` (glibc-hwcaps/ names, best first), the legacy")
    w("/// hwcap bits' names (`_dl_x86_hwcap_flags`, by bit) and platform names")
    w("/// (`_dl_x86_platforms`).")
    w(f'pub const HWCAPS_SUBDIRS: &str = "{gdb_strings(["_dl_hwcaps_subdirs"], a.ld_so)[0]}";')
    w("pub const HWCAP_FLAGS: &[&str] = &[" + ", ".join(f'"{x}"' for x in string_array("_rtld_global_ro._dl_x86_hwcap_flags", a.ld_so)) + "];")
    w("pub const PLATFORMS: &[&str] = &[" + ", ".join(f'"{x}"' for x in string_array("_rtld_global_ro._dl_x86_platforms", a.ld_so)) + "];")
    w("")
    w("/// ld.so's default search directories (`system_dirs`), in order.")
    w("pub const SYSTEM_DIRS: &[&str] = &[" + ", ".join(f'"{d}"' for d in system_dirs(a.ld_so)) + "];")
    w("")
    w("/// ld.so's UNSECURE_ENVVARS: unset in an AT_SECURE process (read from")
    w("/// its .rodata: a function-local array without a debug symbol).")
    w("pub const UNSECURE_ENVVARS: &[&str] = &[" + ", ".join(f'"{v}"' for v in unsecure_envvars(a.ld_so)) + "];")
    w("")
    w("/// The build these layouts are of.")
    w("pub const BUILD: Build = Build {")
    w(f'    package: "{package_version()}",')
    w(f'    ld_so_build_id: "{build_id(a.ld_so)}",')
    w(f'    libc_build_id: "{build_id(a.libc)}",')
    w("    structs: &[" + ", ".join(r for (_, _, r) in STRUCTS) + "],")
    w("    const_keys: CONST_KEYS,")
    w("    consts: CONSTS,")
    w("    r_init: RTLD_GLOBAL_INIT,")
    w("    ro_init: RTLD_GLOBAL_RO_INIT,")
    w("    l_info: L_INFO,")
    w("    tunables: TUNABLES,")
    w("    system_dirs: SYSTEM_DIRS,")
    w("    unsecure_envvars: UNSECURE_ENVVARS,")
    w("    hwcaps_subdirs: HWCAPS_SUBDIRS,")
    w("    hwcap_flags: HWCAP_FLAGS,")
    w("    platforms: PLATFORMS,")
    w("};")
    text = "\n".join(out) + "\n"
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
