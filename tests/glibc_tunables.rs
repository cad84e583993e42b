//! `guardld --list-tunables` prints what glibc's own `ld.so --list-tunables`
//! prints for the same environment: the tunables of the machine's glibc
//! build (generated from its debug information), GLIBC_TUNABLES parsed as
//! glibc 2.36 parses it (elf/dl-tunables.c), values, bounds and format.
//! glibc's ld.so is the oracle: every test runs both and compares stdout
//! byte for byte.
//!
//! The glibc.cpu.x86_* lines carry what CPU initialisation (glibc/cpu.rs)
//! computed; a mismatch confined to them is reported as such.

mod common;

use common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The loader table guardld's glibc personality uses.
const TABLE: &str = "loader/src/glibc/debian12.rs";

/// The GNU build ID of an ELF file, read with the object crate.
fn build_id(path: &Path) -> Option<String> {
    use object::Object;
    let data = std::fs::read(path).ok()?;
    let f = object::File::parse(&*data).ok()?;
    f.build_id().ok()?.map(|id| id.iter().map(|b| format!("{b:02x}")).collect())
}

/// Whether the machine's ld.so is the build guardld has the tunables of
/// (otherwise the two lists legitimately differ).
fn same_build() -> bool {
    let table = std::fs::read_to_string(workspace().join(TABLE)).unwrap();
    let here = build_id(Path::new(GLIBC_LD));
    let known = here.as_ref().is_some_and(|id| table.contains(&format!("ld_so_build_id: \"{id}\"")));
    if !known {
        println!("skipped: this machine's ld.so ({here:?}) is not the build of {TABLE}");
    }
    known
}

/// `PROGRAM --list-tunables` with exactly these environment variables.
fn list(program: &Path, vars: &[(&str, &str)]) -> String {
    let o = run(command(program, vars).arg("--list-tunables"));
    o.assert_code(0);
    o.stdout_str()
}

/// The difference between glibc's list and guardld's, or None if equal.
fn mismatch(glibc: &str, ours: &str) -> Option<String> {
    if glibc == ours {
        return None;
    }
    let differ: Vec<&str> = glibc.lines().zip(ours.lines()).filter(|(a, b)| a != b).map(|(a, _)| a).collect();
    let cpu_only = glibc.lines().count() == ours.lines().count() && differ.iter().all(|l| l.starts_with("glibc.cpu.x86_"));
    let note = if cpu_only { " (only glibc.cpu.x86_* lines: CPU initialisation, glibc/cpu.rs)" } else { "" };
    Some(format!("differs{note}:\n{}", line_diff(glibc, ours)))
}

/// Compare for each GLIBC_TUNABLES value (None: unset); report all
/// mismatches at once.
fn compare(cases: &[Option<&str>]) {
    if !same_build() {
        return;
    }
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|&case| {
            let vars: Vec<(&str, &str)> = case.map(|v| ("GLIBC_TUNABLES", v)).into_iter().collect();
            let d = mismatch(&list(Path::new(GLIBC_LD), &vars), &list(guardld(), &vars))?;
            Some(format!("GLIBC_TUNABLES={case:?}: {d}"))
        })
        .collect();
    assert!(failures.is_empty(), "{} of {} cases:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

#[test]
fn unset_and_empty() {
    compare(&[None, Some("")]);
}

#[test]
fn valid_settings() {
    compare(&[
        Some("glibc.malloc.check=2"),
        Some("glibc.rtld.nns=8:glibc.pthread.rseq=0:glibc.rtld.dynamic_sort=1"),
        Some("glibc.elision.enable=1:glibc.elision.tries=7:glibc.pthread.mutex_spin_count=32767"),
        Some("glibc.gmon.minarcs=50:glibc.gmon.maxarcs=0x7fffffff:glibc.rtld.optional_static_tls=0x1000"),
        Some("glibc.pthread.stack_cache_size=0:glibc.mem.tagging=3:glibc.cpu.hwcap_mask=0xffffffffffffffff"),
        // Octal, hex, signs and blanks as ld.so's _dl_strtoul reads them.
        Some("glibc.rtld.nns=010:glibc.malloc.mmap_max=0X7fffffff:glibc.pthread.mutex_spin_count= \t12"),
        Some("glibc.malloc.tcache_max=-1:glibc.cpu.hwcap_mask=-1:glibc.rtld.nns=+3"),
        // Not a number: 0, which may be in range.
        Some("glibc.malloc.check=yes:glibc.rtld.dynamic_sort=x"),
        // Strings are printed as given (x86_ibt/x86_shstk: not read by CPU init here).
        Some("glibc.cpu.x86_ibt=on:glibc.cpu.x86_shstk=permissive"),
        Some("glibc.cpu.x86_ibt=:glibc.cpu.x86_shstk=a=b"),
    ]);
}

#[test]
fn malloc_settings() {
    compare(&[
        Some("glibc.malloc.arena_max=4:glibc.malloc.arena_test=2:glibc.malloc.mmap_threshold=0x20000"),
        Some("glibc.malloc.tcache_count=0:glibc.malloc.tcache_max=1024:glibc.malloc.tcache_unsorted_limit=10"),
        Some("glibc.malloc.perturb=165:glibc.malloc.trim_threshold=131072:glibc.malloc.top_pad=0"),
        Some("glibc.malloc.mxfast=0:glibc.malloc.hugetlb=1:glibc.malloc.mmap_max=100:glibc.malloc.check=3"),
    ]);
}

#[test]
fn out_of_range_values() {
    compare(&[
        Some("glibc.rtld.nns=17:glibc.rtld.nns=0:glibc.malloc.check=4:glibc.malloc.perturb=256"),
        Some("glibc.malloc.arena_max=0:glibc.malloc.arena_test=0:glibc.malloc.check=-1"),
        Some("glibc.gmon.minarcs=49:glibc.gmon.maxarcs=0x80000000:glibc.pthread.mutex_spin_count=32768"),
        Some("glibc.mem.tagging=99999999999999999999999:glibc.elision.tries=-2147483648"),
        Some("glibc.rtld.optional_static_tls=18446744073709551615:glibc.malloc.mxfast=18446744073709551614"),
        Some("glibc.rtld.dynamic_sort=08:glibc.rtld.nns=0x"),
    ]);
}

#[test]
fn unknown_names() {
    compare(&[
        Some("glibc.malloc.nonesuch=1:foo=bar"),
        Some("glibc.malloc=1:GLIBC.MALLOC.CHECK=1:glibc.malloc.chec=1:glibc.malloc.checkk=1"),
        Some("MALLOC_CHECK_=3:glibc.malloc.check =1: glibc.malloc.check=1"),
    ]);
}

#[test]
fn malformed_strings() {
    compare(&[
        Some("a"),
        Some("glibc.malloc.check"),
        Some(":::"),
        Some("=1"),
        Some("="),
        Some("glibc.malloc.check="),
        Some(":glibc.malloc.check=3:"),
        Some("glibc.malloc.check:=1"),
        Some("glibc.malloc.check=1=2"),
        Some("x:glibc.malloc.check=2:y"),
        Some("glibc.malloc.check=2:glibc.rtld.nns"),
        Some("::glibc.rtld.nns=3::=::glibc.malloc.check=1"),
    ]);
}

#[test]
fn duplicate_settings() {
    compare(&[
        Some("glibc.malloc.check=1:glibc.malloc.check=3"),
        Some("glibc.malloc.check=3:glibc.malloc.check=7"),
        Some("glibc.rtld.nns=2:glibc.rtld.nns=9:glibc.rtld.nns=0"),
        Some("glibc.cpu.x86_ibt=a:glibc.cpu.x86_ibt=b"),
    ]);
}

/// The x86 tunables CPU initialisation reads and bounds (TUNABLE_SET_WITH_BOUNDS).
#[test]
fn cpu_settings() {
    compare(&[
        Some("glibc.cpu.x86_rep_movsb_threshold=4096:glibc.cpu.x86_rep_stosb_threshold=4096"),
        Some("glibc.cpu.x86_data_cache_size=0x8000:glibc.cpu.x86_shared_cache_size=0x100000"),
        Some("glibc.cpu.x86_non_temporal_threshold=0x100000:glibc.cpu.x86_rep_movsb_threshold=1"),
        Some("glibc.cpu.x86_non_temporal_threshold=1:glibc.cpu.x86_rep_stosb_threshold=0"),
    ]);
}

/// Random strings of tunables' pieces (a fixed seed: reproducible).
#[test]
fn random_strings() {
    const PIECES: &[&str] = &[
        "glibc.malloc.check", "glibc.rtld.nns", "glibc.malloc.arena_max", "glibc.gmon.minarcs", "glibc.cpu.x86_ibt",
        "glibc.malloc.mxfast", "glibc.pthread.rseq", "glibc.cpu.hwcap_mask", "glibc.malloc", "=", "=", ":", ":", "::",
        "0", "1", "2", "3", "16", "17", "50", "-1", "0x", "0x10", "08", "010", " ", "a", "99999999999999999999",
    ];
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let strings: Vec<String> = (0..300)
        .map(|_| {
            let n = next() % 10;
            (0..n).map(|_| PIECES[(next() % PIECES.len() as u64) as usize]).collect()
        })
        .collect();
    let cases: Vec<Option<&str>> = strings.iter().map(|s| Some(s.as_str())).collect();
    compare(&cases);
}

/// The tunables' environment aliases (MALLOC_ARENA_MAX, ...), alone and
/// against GLIBC_TUNABLES in either order (`__tunables_init` walks the
/// environment in order; a set tunable ignores its alias).
#[test]
fn environment_aliases() {
    if !same_build() {
        return;
    }
    let cases: &[&[(&str, &str)]] = &[
        &[("MALLOC_ARENA_MAX", "3"), ("MALLOC_CHECK_", "2"), ("MALLOC_TOP_PAD_", "0x1000"), ("LD_HWCAP_MASK", "0")],
        &[("MALLOC_ARENA_MAX", "0"), ("MALLOC_PERTURB_", "300"), ("MALLOC_MMAP_MAX_", "x")],
        &[("MALLOC_ARENA_MAX", "3"), ("GLIBC_TUNABLES", "glibc.malloc.arena_max=5:glibc.malloc.check=1")],
        &[("GLIBC_TUNABLES", "glibc.malloc.arena_max=5"), ("MALLOC_ARENA_MAX", "3"), ("MALLOC_CHECK_", "3")],
    ];
    for vars in cases {
        if let Some(d) = mismatch(&list(Path::new(GLIBC_LD), vars), &list(guardld(), vars)) {
            panic!("{vars:?}: {d}");
        }
    }
}

/// AT_SECURE (set-user-ID, run by another user): GLIBC_TUNABLES sets only
/// SXID_NONE tunables (none, without /etc/suid-debug), aliases are ignored.
#[test]
fn secure_settings() {
    if !same_build() {
        return;
    }
    let root = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout == b"0\n");
    if !root || !Path::new("/usr/bin/setpriv").exists() {
        println!("skipped: needs root and setpriv (to run set-user-ID copies as another user)");
        return;
    }
    // /tmp: the workspace may not be reachable by the other user.
    let dir = PathBuf::from(format!("/tmp/guardld-tunables-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let copy = |from: &Path, name: &str| {
        let to = dir.join(name);
        std::fs::copy(from, &to).unwrap();
        std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o4755)).unwrap();
        to
    };
    let (ld, ours) = (copy(Path::new(GLIBC_LD), "ld.so"), copy(guardld(), "guardld"));
    let secure_list = |program: &Path, tunables: &str| {
        let mut c = command("/usr/bin/setpriv", &[("GLIBC_TUNABLES", tunables), ("MALLOC_ARENA_MAX", "3")]);
        let o = run(c.args(["--reuid=65534", "--regid=65534", "--clear-groups"]).arg(program).arg("--list-tunables"));
        o.assert_code(0);
        o.stdout_str()
    };
    let cases = ["glibc.malloc.check=2:glibc.malloc.mmap_max=5:glibc.rtld.nns=3", "glibc.malloc.arena_max=2:x=1", "a"];
    let failures: Vec<String> = cases.iter().filter_map(|t| Some(format!("{t:?}: {}", mismatch(&secure_list(&ld, t), &secure_list(&ours, t))?))).collect();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A glibc program run natively gets the tunables of its environment, the
/// aliases included: malloc's perturb byte (MALLOC_PERTURB_ and
/// glibc.malloc.perturb) shows in freshly allocated memory, as under
/// glibc's ld.so (the oracle; the unset case shows the value changes).
#[test]
fn native_program_sees_aliases() {
    if !same_build() {
        return;
    }
    let prog = Cc::new("glibc-tunables", "perturb").source("glibc-tunables/perturb.c").libc().build();
    let cases: &[&[(&str, &str)]] = &[
        &[],
        &[("MALLOC_PERTURB_", "165")],
        &[("GLIBC_TUNABLES", "glibc.malloc.perturb=77")],
        &[("MALLOC_PERTURB_", "165"), ("GLIBC_TUNABLES", "glibc.malloc.perturb=77")],
    ];
    let mut seen = std::collections::BTreeSet::new();
    for vars in cases {
        let glibc = run(command(Path::new(GLIBC_LD), vars).arg(&prog));
        let ours = run(command(guardld(), vars).args(["--glibc", "native"]).arg(&prog));
        glibc.assert_code(0);
        ours.assert_code(0);
        assert_eq!(ours.stdout_str(), glibc.stdout_str(), "{vars:?}");
        seen.insert(glibc.stdout_str());
    }
    assert_eq!(seen.len(), 3, "the tunables changed nothing under glibc: {seen:?}");
}
