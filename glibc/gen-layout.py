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
    ("struct pthread", "libc", "PTHREAD"),
    ("tcbhead_t", "libc", "TCBHEAD"),
]

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
    """[(dotted name, byte offset, bit offset or None, size)] and the total."""
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
                fields.append((f"{prefix}.{name}" if prefix else name, off, int(bit) if bit else None, size))
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
    w("use super::{Build, Field, Struct};")
    w("")
    for expr, obj, rust in STRUCTS:
        fields, total = layout(expr, objs[obj])
        w(f"/// `{expr}` ({total} bytes).")
        w(f"pub const {rust}: Struct = Struct {{")
        w(f"    name: {expr!r},".replace("'", '"'))
        w(f"    size: {total},")
        w("    fields: &[")
        for name, off, bit, size in fields:
            b = "None" if bit is None else f"Some({bit})"
            w(f'        Field {{ name: "{name}", offset: {off}, bit: {b}, size: {size} }},')
        w("    ],")
        w("};")
        w("")
    w("/// The build these layouts are of.")
    w("pub const BUILD: Build = Build {")
    w(f'    package: "{package_version()}",')
    w(f'    ld_so_build_id: "{build_id(a.ld_so)}",')
    w(f'    libc_build_id: "{build_id(a.libc)}",')
    w("    structs: &[" + ", ".join(r for (_, _, r) in STRUCTS) + "],")
    w("};")
    text = "\n".join(out) + "\n"
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
