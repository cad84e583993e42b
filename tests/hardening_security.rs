//! Issue "guardld never crashes inside itself", part 3 of 3: the security
//! rules. AT_SECURE (setuid programs ignore LD_LIBRARY_PATH, LD_PRELOAD,
//! GUARDLD_PADDING, GUARDLD_DEBUG and relative or $ORIGIN RUNPATHs), RELRO
//! (a write to a RELRO variable faults) and W^X (no mapping is writable and
//! executable). Part 1 is hardening_objects.rs, part 2 hardening_faults.rs.
//!
//! Every refusal must be exit status 127 (never a signal, never a hang: the
//! harness kills after a timeout), nothing on stdout (no initializer, no
//! main), and `guardld: <file>: <reason>` on stderr naming the broken file.
//! docs/hardening.md maps each threat to its test here or in the other
//! suites.
//!
//! The victim (testbins/hardening/, built by tests/common/victim.rs):
//! `hv_prog` NEEDs libhv.so, which NEEDs libhvdep.so at version HVDEP_1 and
//! defines its symbols at HV_1; every object is linked by rust-lld with a
//! 64 KiB max-page-size (padding between segments), RUNPATH `$ORIGIN`,
//! PT_INTERP = guardld. Each test copies a pristine build into its own
//! directory and patches the copy (tests/common/elf.rs, sections located
//! with the `object` crate); the unpatched copy is run first where it
//! matters, so the refusal comes from the patch.
//!
//! The setuid and uid-switching tests need root (they say "skipped" and
//! pass otherwise).
//!
//! Run: `cargo test --release --test hardening_security` from the workspace
//! root.

mod common;

use common::elf::*;
use common::paused::*;
use common::victim::*;
use common::*;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

// ===================================================== 3. security rules ===

/// The setuid bit on a root-owned test program, removed again when the
/// test ends (also when it fails): no setuid-root file is left behind in
/// target/.
struct Setuid(PathBuf);

impl Setuid {
    fn on(p: &Path) -> Setuid {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o4755)).unwrap();
        Setuid(p.to_path_buf())
    }
}

impl Drop for Setuid {
    fn drop(&mut self) {
        let _ = std::fs::set_permissions(&self.0, std::fs::Permissions::from_mode(0o755));
    }
}

/// A setuid-root copy of hv_prog_abs (RUNPATH = the pristine set's absolute
/// directory, as is libhv.so's) run as nobody: AT_SECURE. LD_LIBRARY_PATH
/// names a directory with an impostor libhv.so (-DEVIL), LD_PRELOAD a
/// library whose constructor prints, GUARDLD_PADDING=extend would make
/// padding readable, GUARDLD_DEBUG=all would print guardld's debug output.
/// Under AT_SECURE all four are ignored: the library comes from RUNPATH,
/// nothing is preloaded, libhv's padding stays guarded (pagemap guard bit,
/// a read faults), stderr stays empty. The same environment without
/// AT_SECURE (the copy run by root, not setuid) shows each variable works.
#[test]
fn at_secure_ignores_the_environment() {
    if !is_root("at_secure_ignores_the_environment") {
        return;
    }
    let c = Victim::new(abs(), "at_secure_ignores_the_environment");
    let rel = "hardening/at_secure_ignores_the_environment";
    let evil_dir = c.dir.join("evil");
    std::fs::create_dir_all(&evil_dir).unwrap();
    cc(rel, "evil/libhv.so")
        .shared()
        .source("hardening/hv_lib.c")
        .arg("-DEVIL")
        .arg("-Wl,-soname,libhv.so")
        .build();
    let pre = cc(rel, "libhvpre.so")
        .shared()
        .source("hardening/preload.c")
        .build();
    // The setuid copy: hv_prog_abs finds the pristine set's libhv.so, which
    // finds libhvdep.so by its own absolute RUNPATH.
    let prog = c.dir.join("hv_prog_abs");
    let (uid, gid) = (NOBODY, NOBODY);
    let env: Vec<(&str, String)> = vec![
        ("LD_LIBRARY_PATH", evil_dir.display().to_string()),
        ("LD_PRELOAD", pre.display().to_string()),
        ("GUARDLD_PADDING", "extend".into()),
        ("GUARDLD_DEBUG", "all".into()),
    ];
    let env_ref: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    // The padding after libhv's text segment, relative to hv_fn.
    let lib_bytes = std::fs::read(abs().lib()).unwrap();
    let (_, hv_fn) = dynsym(&lib_bytes, "hv_fn");
    let off = (padding_addr(&lib_bytes, 1) as i64 - hv_fn as i64).to_string();

    // Without AT_SECURE (root runs the copy, not yet setuid): each
    // variable alone takes effect.
    let plain = |var: usize, args: &[&str]| {
        run(command(&prog, &env_ref[var..var + 1])
            .args(args)
            .current_dir("/"))
    };
    let o = plain(0, &[]);
    o.assert_code(0);
    assert!(
        o.stdout_str().contains("EVIL copy"),
        "LD_LIBRARY_PATH ignored without AT_SECURE\n{}",
        o.describe()
    );
    let o = plain(1, &[]);
    o.assert_code(0);
    assert!(
        o.stdout_str().contains("PRELOADED"),
        "LD_PRELOAD ignored without AT_SECURE\n{}",
        o.describe()
    );
    let o = plain(2, &["probe", &off]);
    o.assert_code(0);
    assert!(
        o.stdout_str().contains("guard=0\nread=ok\n"),
        "GUARDLD_PADDING=extend ignored without AT_SECURE\n{}",
        o.describe()
    );
    let o = plain(3, &[]);
    o.assert_code(0);
    assert!(
        o.stderr_str().contains("guardld: "),
        "GUARDLD_DEBUG=all printed nothing without AT_SECURE\n{}",
        o.describe()
    );
    // And the probe tells a guarded page from a readable one.
    let o = run(command(&prog, &[]).args(["probe", &off]).current_dir("/"));
    assert!(
        o.stdout_str().contains("guard=1\nread=SIGSEGV\n"),
        "default padding not guarded\n{}",
        o.describe()
    );

    // setuid root, run as nobody.
    let _setuid = Setuid::on(&prog);
    let secure = |args: &[&str]| {
        run(command(&prog, &env_ref)
            .args(args)
            .current_dir("/")
            .uid(uid)
            .gid(gid))
    };
    let o = secure(&["ids"]);
    o.assert_code(0)
        .assert_stdout("libhv init\nuid=65534\neuid=0\nat_secure=1\nhv_fn=42\nhv_data=5\n");
    assert!(
        o.stderr.is_empty(),
        "debug output (or an error) under AT_SECURE\n{}",
        o.describe()
    );
    let o = secure(&["probe", &off]);
    o.assert_code(0);
    let out = o.stdout_str();
    assert!(
        !out.contains("PRELOADED") && !out.contains("EVIL"),
        "{}",
        o.describe()
    );
    assert!(
        out.contains("guard=1\n") && out.contains("read=SIGSEGV\n"),
        "padding not guarded under AT_SECURE\n{}",
        o.describe()
    );
    assert!(o.stderr.is_empty(), "{}", o.describe());
    // And the program's environment has lost them, as glibc's ld.so
    // unsets UNSECURE_ENVVARS for any program (a helper it runs as root
    // must not inherit LD_PRELOAD): written by hand from that list
    // (LD_LIBRARY_PATH, LD_PRELOAD and TMPDIR are in it, KEEP_ME not).
    let o = run(command(&prog, &[("LD_LIBRARY_PATH", "/x"), ("KEEP_ME", "1"), ("LD_PRELOAD", "/x.so"), ("TMPDIR", "/x")])
        .arg("env")
        .current_dir("/")
        .uid(uid)
        .gid(gid));
    o.assert_code(0).assert_stdout("libhv init\nenv KEEP_ME=1\n");
}

/// Under AT_SECURE a relative RUNPATH and a $ORIGIN RUNPATH are not
/// searched: libhv.so is not found (127), where the same programs run
/// without AT_SECURE.
#[test]
fn at_secure_ignores_relative_and_origin_runpath() {
    if !is_root("at_secure_ignores_relative_and_origin_runpath") {
        return;
    }
    let c = Victim::new(base(), "at_secure_ignores_relative_and_origin_runpath");
    let rel = "hardening/at_secure_ignores_relative_and_origin_runpath";
    let l = format!("-L{}", base().dir.display());
    // RUNPATH "lib": relative to the working directory, which holds lib/.
    let relprog = cc(rel, "hv_prog_rel")
        .pie()
        .interp(guardld())
        .source("hardening/hv_prog.c")
        .args([&l, "-lhv", "-Wl,-rpath,lib"])
        .build();
    let libdir = c.dir.join("lib");
    std::fs::create_dir_all(&libdir).unwrap();
    for f in ["libhv.so", "libhvdep.so"] {
        std::fs::copy(base().dir.join(f), libdir.join(f)).unwrap();
    }
    for prog in [relprog, c.prog()] {
        let o = run(command(&prog, &[]).current_dir(&c.dir));
        assert_clean(&o, WANT);
        let _setuid = Setuid::on(&prog);
        let o = run(command(&prog, &[])
            .current_dir(&c.dir)
            .uid(NOBODY)
            .gid(NOBODY));
        println!("{}: {}", prog.display(), o.stderr_str().trim_end());
        assert_no_crash(&o);
        o.assert_code(127)
            .assert_stderr_contains("cannot find shared object libhv.so");
        assert!(o.stdout.is_empty(), "{}", o.describe());
    }
}

/// RELRO: a write to a RELRO variable of libhv.so (hv_relro_ptr, in
/// .data.rel.ro) after start-up faults: SIGSEGV in the program, after
/// main has started. In every padding mode, both ways.
#[test]
fn relro_write_faults() {
    let c = Victim::new(base(), "relro_write_faults");
    for padding in ["guard", "prot-none", "extend"] {
        for via in BOTH {
            let o = start_timeout(
                via,
                &c.prog(),
                &["relro"],
                &[("GUARDLD_PADDING", padding)],
                RUN_TIMEOUT,
            );
            assert_eq!(
                o.signal(),
                Some(11),
                "{padding} {via:?}: no SIGSEGV\n{}",
                o.describe()
            );
            assert_eq!(
                o.stdout_str(),
                "libhv init\nbefore write\n",
                "{padding} {via:?}\n{}",
                o.describe()
            );
        }
    }
}

/// W^X: no mapping of the paused program (its libraries, guardld's own
/// memory, stacks, heaps) is writable and executable at once, in every
/// padding mode, both ways.
#[test]
fn no_writable_executable_mapping() {
    let c = Victim::new(base(), "no_writable_executable_mapping");
    for padding in ["guard", "prot-none", "extend"] {
        for via in BOTH {
            let env = [("GUARDLD_TEST_PAUSE", "1"), ("GUARDLD_PADDING", padding)];
            let mut cmd = match via {
                Via::Explicit => {
                    let mut x = command(guardld(), &env);
                    x.arg(c.prog());
                    x
                }
                Via::Interp => command(c.prog(), &env),
            };
            cmd.current_dir("/");
            let (o, snap) = run_paused(&mut cmd, Snapshot::maps);
            let maps = &snap.maps_text;
            assert_eq!(o.stdout_str(), WANT, "{}", o.describe());
            let g = guardld().display().to_string();
            assert!(
                maps.contains(&g),
                "guardld's own mappings not in maps:\n{maps}"
            );
            for v in &snap.maps {
                assert!(
                    !(v.perms.write && v.perms.exec),
                    "{padding} {via:?}: W+X mapping {v}\n{maps}"
                );
            }
        }
    }
}
