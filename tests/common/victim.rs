//! The hardening suites' victim (testbins/hardening/): `hv_prog` NEEDs libhv.so, which NEEDs
//! libhvdep.so at version HVDEP_1 and defines its symbols at HV_1; every object is linked by
//! rust-lld with a 64 KiB max-page-size (padding between segments), RUNPATH `$ORIGIN`,
//! PT_INTERP = guardld. A test copies a pristine build ([`Set`]) into its own directory
//! ([`Victim`]), patches the copy (see [`super::elf`]) and runs it both ways ([`Via`]); the
//! refusal checks are here too. Used by tests/hardening_objects.rs, hardening_faults.rs and
//! hardening_security.rs.

use super::*;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

/// Refusals are immediate; a hang is a failure well before RUN_TIMEOUT.
pub const REFUSE_TIMEOUT: Duration = Duration::from_secs(10);

/// The victim's whole output: libhv's constructor (unbuffered), then main's
/// lines (rt flushes them at exit).
pub const WANT: &str = "libhv init\nhv_fn=42\nhv_data=5\n";

/// What the safety net and the panic handler print: never the expected
/// outcome of a bounds check.
pub const NET: &[&str] = &[
    "invalid memory access while loading",
    "bus error reading the file",
    "internal error",
];

// ------------------------------------------------------------ building ----

/// gcc with this file's layout: rust-lld, 64 KiB pages, every DT_NEEDED
/// kept.
pub fn cc(dir: &str, out: &str) -> Cc {
    Cc::new(dir, out)
        .linker(Linker::Lld)
        .page_size(65536)
        .args(["-fno-tree-loop-distribute-patterns", "-Wl,--no-as-needed"])
}

/// One build of the victim: libhvdep.so, libhv.so, hv_prog (RUNPATH
/// $ORIGIN) and hv_prog_abs (RUNPATH = the set's absolute directory).
pub struct Set {
    pub dir: PathBuf,
}

impl Set {
    pub fn build(name: &str, lib_args: &[&str]) -> Set {
        Set::build_with(name, lib_args, "$ORIGIN")
    }

    /// `lib_runpath`: libhv.so's DT_RUNPATH (where it finds libhvdep.so);
    /// "" for the set's own absolute directory.
    pub fn build_with(name: &str, lib_args: &[&str], lib_runpath: &str) -> Set {
        let rel = format!("hardening/sets/{name}");
        let dir = out_dir(&rel);
        let l = format!("-L{}", dir.display());
        let tb = testbins();
        cc(&rel, "libhvdep.so")
            .shared()
            .source("hardening/hv_dep.c")
            .arg("-Wl,-soname,libhvdep.so")
            .arg(format!(
                "-Wl,--version-script={}",
                tb.join("hardening/hv_dep.map").display()
            ))
            .build();
        cc(&rel, "libhv.so")
            .shared()
            .source("hardening/hv_lib.c")
            .arg("-Wl,-soname,libhv.so")
            .arg(format!(
                "-Wl,--version-script={}",
                tb.join("hardening/hv_lib.map").display()
            ))
            .args([&l, "-lhvdep"])
            .arg(format!(
                "-Wl,-rpath,{}",
                if lib_runpath.is_empty() {
                    dir.display().to_string()
                } else {
                    lib_runpath.to_string()
                }
            ))
            .args(lib_args)
            .build();
        for (out, rpath) in [
            ("hv_prog", "$ORIGIN".to_string()),
            ("hv_prog_abs", dir.display().to_string()),
        ] {
            cc(&rel, out)
                .pie()
                .interp(guardld())
                .source("hardening/hv_prog.c")
                .args([&l, "-lhv"])
                .arg(format!("-Wl,-rpath,{rpath}"))
                .build();
        }
        let s = Set { dir };
        let d = readelf(&["-dW"], &s.lib());
        for n in ["(VERNEED)", "(VERDEF)", "[libhvdep.so]", "(RUNPATH)"] {
            assert!(d.contains(n), "libhv.so lacks {n}:\n{d}");
        }
        s
    }

    pub fn lib(&self) -> PathBuf {
        self.dir.join("libhv.so")
    }
}

/// The default build: GNU hash only.
pub fn base() -> &'static Set {
    static S: OnceLock<Set> = OnceLock::new();
    S.get_or_init(|| Set::build("base", &[]))
}

/// libhv.so with a SysV hash table only (DT_HASH, no DT_GNU_HASH).
pub fn sysv() -> &'static Set {
    static S: OnceLock<Set> = OnceLock::new();
    S.get_or_init(|| {
        let s = Set::build("sysv", &["-Wl,--hash-style=sysv"]);
        let d = readelf(&["-dW"], &s.lib());
        assert!(
            d.contains("(HASH)") && !d.contains("(GNU_HASH)"),
            "not SysV-only:\n{d}"
        );
        s
    })
}

/// SysV hash and DF_SYMBOLIC: libhv's own references are looked up in its
/// own hash table first (guardld walks its chains at relocation).
pub fn sysv_symbolic() -> &'static Set {
    static S: OnceLock<Set> = OnceLock::new();
    S.get_or_init(|| {
        let s = Set::build(
            "sysv_symbolic",
            &["-Wl,--hash-style=sysv", "-Wl,-Bsymbolic"],
        );
        let d = readelf(&["-dW"], &s.lib());
        assert!(d.contains("SYMBOLIC"), "no DF_SYMBOLIC:\n{d}");
        s
    })
}

/// Every RUNPATH absolute (libhv.so's and hv_prog_abs's): what a
/// privileged program can use.
pub fn abs() -> &'static Set {
    static S: OnceLock<Set> = OnceLock::new();
    S.get_or_init(|| Set::build_with("abs", &[], ""))
}

/// libhv.so with its relative relocations packed (DT_RELR).
pub fn relr() -> &'static Set {
    static S: OnceLock<Set> = OnceLock::new();
    S.get_or_init(|| {
        let s = Set::build("relr", &["-Wl,-z,pack-relative-relocs"]);
        let d = readelf(&["-dW"], &s.lib());
        assert!(d.contains("(RELR)"), "no DT_RELR:\n{d}");
        s
    })
}

/// A test's own copy of a set: target/itest/testbins/hardening/<test>/.
pub struct Victim {
    pub dir: PathBuf,
}

impl Victim {
    pub fn new(set: &Set, test: &str) -> Victim {
        let dir = out_dir(&format!("hardening/{test}"));
        for f in ["libhvdep.so", "libhv.so", "hv_prog", "hv_prog_abs"] {
            std::fs::copy(set.dir.join(f), dir.join(f)).unwrap();
        }
        Victim { dir }
    }
    pub fn prog(&self) -> PathBuf {
        self.dir.join("hv_prog")
    }
    pub fn lib(&self) -> PathBuf {
        self.dir.join("libhv.so")
    }
}

/// uid and gid of `nobody`/`nogroup`. The privileged runs drop to them with
/// std's `CommandExt::uid`/`gid` (setgroups([]), setgid, setuid in the
/// child, as `setpriv --reuid --regid --clear-groups` does) and then exec
/// the setuid-root program directly: no glibc program in between, which
/// would itself honour LD_PRELOAD (it is not privileged) and muddle the
/// output.
pub const NOBODY: u32 = 65534;

// ---------------------------------------------------------------- runs ----

/// Whether this test process runs as root (effective uid 0). The setuid,
/// mount-namespace, mlockall and uid-switching tests need it; without it
/// they say so and pass (CI runs as root).
pub fn is_root(test: &str) -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let root = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        == Some("0");
    if !root {
        eprintln!("{test}: skipped: needs root");
    }
    root
}

#[derive(Clone, Copy, Debug)]
pub enum Via {
    /// `guardld PROG ARGS`
    Explicit,
    /// `PROG ARGS` (the kernel starts guardld as PT_INTERP)
    Interp,
}

pub const BOTH: [Via; 2] = [Via::Explicit, Via::Interp];

pub fn start_timeout(
    via: Via,
    prog: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    t: Duration,
) -> Outcome {
    let mut c = match via {
        Via::Explicit => {
            let mut c = command(guardld(), env);
            c.arg(prog);
            c
        }
        Via::Interp => command(prog, env),
    };
    c.args(args).current_dir("/");
    run_with_timeout(&mut c, t)
}

pub fn start(via: Via, prog: &Path, args: &[&str], env: &[(&str, &str)]) -> Outcome {
    start_timeout(via, prog, args, env, REFUSE_TIMEOUT)
}

/// Exit 0 with exactly `want` on stdout.
#[track_caller]
pub fn assert_clean(o: &Outcome, want: &str) {
    o.assert_code(0).assert_stdout(want);
}

/// Not a signal, not a hang.
#[track_caller]
pub fn assert_no_crash(o: &Outcome) {
    if o.timed_out || o.signal().is_some() {
        panic!("guardld crashed or hung\n{}", o.describe());
    }
}

/// The refusal: exit 127, nothing of the program ran, a line `guardld:
/// FILE: REASON` with REASON containing one of `reasons`
/// (case-insensitive), and not the safety net's or the panic handler's
/// message unless `net_ok`.
#[track_caller]
pub fn assert_refused_net(o: &Outcome, file: &Path, reasons: &[&str], net_ok: bool) {
    assert_no_crash(o);
    o.assert_code(127);
    assert!(
        o.stdout.is_empty(),
        "the program (or an initializer) ran\n{}",
        o.describe()
    );
    let prefix = format!("guardld: {}: ", file.display());
    let err = o.stderr_str();
    let hit = err.lines().any(|l| {
        l.strip_prefix(&prefix).is_some_and(|r| {
            reasons
                .iter()
                .any(|w| r.to_lowercase().contains(&w.to_lowercase()))
        })
    });
    assert!(
        hit,
        "stderr lacks a line {prefix:?} with one of {reasons:?}\n{}",
        o.describe()
    );
    if !net_ok {
        for n in NET {
            assert!(
                !err.contains(n),
                "refused by the safety net ({n:?}), not by a check\n{}",
                o.describe()
            );
        }
    }
}

#[track_caller]
pub fn assert_refused(o: &Outcome, file: &Path, reasons: &[&str]) {
    assert_refused_net(o, file, reasons, false)
}

/// `prog` refused both ways (explicitly and as PT_INTERP) for `file`.
#[track_caller]
pub fn refused_both(prog: &Path, file: &Path, reasons: &[&str]) {
    for via in BOTH {
        let o = start(via, prog, &[], &[]);
        println!("{via:?}: {}", o.stderr_str().trim_end());
        assert_refused(&o, file, reasons);
    }
}

/// Either a clean run or a refusal naming `file`; never a crash or hang.
/// Returns which, for the report.
#[track_caller]
pub fn clean_or_refused(o: &Outcome, file: &Path) -> &'static str {
    assert_no_crash(o);
    if o.code() == Some(0) {
        assert_clean(o, WANT);
        "ran"
    } else {
        assert_refused(o, file, &[""]);
        "refused"
    }
}
