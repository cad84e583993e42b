//! The glibc layout table (loader/src/glibc/debian12.rs) is generated from
//! debug information by glibc/gen-layout.py, never typed by hand: where the
//! same glibc build and its debug information (Debian's libc6-dbg) are
//! installed, regenerating it gives the committed file byte for byte. Its
//! sizes and a few offsets are checked against the facts recorded by hand
//! in shared/guide/glibc.md (read off this glibc with gdb), and guardld
//! tells whether it knows the machine's glibc build.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

const TABLE: &str = "loader/src/glibc/debian12.rs";
const LD_SO: &str = "/lib64/ld-linux-x86-64.so.2";

fn table() -> String {
    std::fs::read_to_string(workspace().join(TABLE)).unwrap()
}

/// A `key: "value"` of the table's BUILD.
fn build_value(text: &str, key: &str) -> String {
    let l = text.lines().find(|l| l.trim_start().starts_with(&format!("{key}: \""))).unwrap_or_else(|| panic!("no {key} in {TABLE}"));
    l.split('"').nth(1).unwrap().to_string()
}

/// The GNU build ID of an ELF file, read with the object crate.
fn build_id(path: &Path) -> Option<String> {
    use object::Object;
    let data = std::fs::read(path).ok()?;
    let f = object::File::parse(&*data).ok()?;
    f.build_id().ok()?.map(|id| id.iter().map(|b| format!("{b:02x}")).collect())
}

/// `size` of a structure, or `offset` of one of its fields, in the table.
fn table_number(text: &str, rust_struct: &str, field: Option<&str>) -> usize {
    let body = text.split(&format!("pub const {rust_struct}: Struct")).nth(1).unwrap_or_else(|| panic!("no {rust_struct}"));
    let body = body.split("};").next().unwrap();
    let line = match field {
        None => body.lines().find(|l| l.trim_start().starts_with("size:")).unwrap().to_string(),
        Some(f) => body.lines().find(|l| l.contains(&format!("name: Name::new(\"{f}\"),"))).unwrap_or_else(|| panic!("no {rust_struct}.{f}")).to_string(),
    };
    let key = if field.is_some() { "offset: " } else { "size: " };
    line.split(key).nth(1).unwrap().split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap()
}

#[test]
fn regenerated_table_is_the_committed_one() {
    let text = table();
    let committed = build_value(&text, "ld_so_build_id");
    let Some(here) = build_id(Path::new(LD_SO)) else {
        println!("skipped: no build ID in {LD_SO}");
        return;
    };
    if here != committed {
        println!("skipped: this machine's glibc ({here}) is not the committed build ({committed})");
        return;
    }
    let debug = Path::new("/usr/lib/debug/.build-id").join(&here[..2]).join(format!("{}.debug", &here[2..]));
    if !debug.is_file() || Command::new("gdb").arg("--version").output().is_err() {
        println!("skipped: no debug information for {LD_SO} ({} missing; Debian: libc6-dbg) or no gdb", debug.display());
        return;
    }
    let out = out_dir("glibc_layout").join("debian12.rs");
    // Some hundred gdb runs: about 10 s on a quiet machine, more on a busy one.
    let o = run_with_timeout(Command::new("python3").arg(workspace().join("glibc/gen-layout.py")).arg("--out").arg(&out), std::time::Duration::from_secs(180));
    o.assert_code(0);
    let fresh = std::fs::read_to_string(&out).unwrap();
    assert!(fresh == text, "regenerated table differs from {TABLE}:\n{}", line_diff(&text, &fresh));
}

/// Sizes and offsets recorded by hand in shared/guide/glibc.md (gdb
/// `ptype /o` on Debian 12's glibc 2.36): R = _rtld_global, RO =
/// _rtld_global_ro, LM = link_map, PD = struct pthread, TP = tcbhead_t.
#[test]
fn table_agrees_with_the_guide() {
    let t = table();
    let want: &[(&str, Option<&str>, usize)] = &[
        ("RTLD_GLOBAL", None, 0x10f0),
        ("RTLD_GLOBAL_RO", None, 0x380),
        ("LINK_MAP", None, 0x4a8),
        ("PTHREAD", None, 0x940),
        ("TCBHEAD", None, 0x2c0),
        ("CPU_FEATURES", None, 0x1e0),
        ("RTLD_GLOBAL", Some("_dl_load_lock"), 0xa08),
        ("RTLD_GLOBAL", Some("_dl_stack_user"), 0x10b8),
        ("RTLD_GLOBAL", Some("_dl_rtld_map"), 0xab0),
        ("RTLD_GLOBAL_RO", Some("_dl_pagesize"), 0x18),
        ("RTLD_GLOBAL_RO", Some("_dl_x86_cpu_features"), 0x70),
        ("LINK_MAP", Some("l_phdr"), 0x2c0),
        ("LINK_MAP", Some("l_tls_modid"), 0x480),
        ("PTHREAD", Some("tid"), 0x2d0),
        ("PTHREAD", Some("rseq_area"), 0x920),
        ("TCBHEAD", Some("stack_guard"), 0x28),
        ("TCBHEAD", Some("pointer_guard"), 0x30),
    ];
    for &(s, f, v) in want {
        assert_eq!(table_number(&t, s, f), v, "{s} {f:?}");
    }
}

/// GUARDLD_DEBUG=libs on a glibc program says whether guardld knows the
/// machine's glibc build (by the build IDs of its ld.so and libc.so.6).
#[test]
fn handover_names_the_glibc_build() {
    let Some(here) = build_id(Path::new(LD_SO)) else {
        println!("skipped: no build ID in {LD_SO}");
        return;
    };
    // The libc.so.6 that ld.so.cache names (where glibc's libc lives).
    let libc_path = Path::new("/lib/x86_64-linux-gnu/libc.so.6");
    let Some(libc) = build_id(libc_path) else {
        println!("skipped: no build ID in {}", libc_path.display());
        return;
    };
    // Audit mode: the hand-over names the build it hands to.
    let o = run(command(guardld(), &[("GUARDLD_DEBUG", "libs"), ("GUARDLD_GLIBC", "audit")]).arg("/bin/true"));
    o.assert_code(0);
    let t = table();
    // Known only as the exact pair the table was generated from.
    let known = here == build_value(&t, "ld_so_build_id") && libc == build_value(&t, "libc_build_id");
    let ids = format!("(ld.so build ID {here}, libc {libc})");
    let want = if known { format!("{ids}: layouts known") } else { format!("glibc build unknown {ids}") };
    o.assert_stderr_contains(&want);
}
