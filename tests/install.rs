//! scripts/install.sh, and what the installed files do: a glibc program
//! whose PT_INTERP is the installed guardld runs natively (the default),
//! and in audit mode is handed to glibc's ld.so with the installed module;
//! LD_AUDIT set to the installed module works on its own. What the module did is observed by the program
//! (testbins/audit/inspect.h), the output compared with plain glibc's.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Install into a fresh PREFIX with the test builds' target directory.
fn install() -> PathBuf {
    guardld();
    let prefix = out_dir("install/prefix");
    let o = Command::new("bash")
        .arg(workspace().join("scripts/install.sh"))
        .arg(&prefix)
        .env("CARGO_TARGET_DIR", itest_dir())
        .env("GUARDLD_INSTALL_NO_RUSTDOC", "1")
        .env_remove("CARGO_MAKEFLAGS")
        .env_remove("MAKEFLAGS")
        .output()
        .expect("run install.sh");
    assert!(o.status.success(), "install.sh failed:\n{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    for f in ["bin/guardld", "lib/guardld/libguardld_audit.so", "include/guardld.h", "share/doc/guardld/README.md"] {
        assert!(prefix.join(f).is_file(), "{f} not installed");
    }
    prefix
}

/// libaudit1.so (64 KiB lld) and the `one` program, linked against glibc,
/// with PT_INTERP `interp` (None: glibc's).
fn one(dir: &str, interp: Option<&Path>) -> PathBuf {
    let d = out_dir(dir);
    let lib = Cc::new(dir, "libaudit1.so").source("audit/lib.c").libc().shared().linker(Linker::Lld).page_size(65536).args(["-DN=1", "-DM=0"]).build();
    let mut c = Cc::new(dir, "one").source("audit/one.c").libc().linker(Linker::Lld).page_size(65536).arg(&lib).arg(format!("-Wl,-rpath,{}", d.display()));
    if let Some(i) = interp {
        c = c.interp(i);
    }
    c.build()
}

/// The `obj` line of libaudit1.so shows the module's work.
#[track_caller]
fn assert_guarded(o: &Outcome) {
    o.assert_code(0);
    let out = o.stdout_str();
    let line = out.lines().find(|l| l.starts_with("obj libaudit1.so ")).unwrap_or_else(|| panic!("{}", o.describe()));
    assert!(line.contains(" none=0 "), "{line}");
    assert!(line.contains(" padding=45 guarded=45 "), "{line}");
    assert!(line.contains(" child=SIGSEGV "), "{line}");
}

#[test]
fn installed_guardld_and_module() {
    let prefix = install();
    let installed = prefix.join("bin/guardld");
    let module = prefix.join("lib/guardld/libguardld_audit.so");
    let plain_prog = one("install/plain", None);
    let interp_prog = one("install/interp", Some(&installed));
    let plain = run(&mut Command::new(&plain_prog));
    plain.assert_code(0);
    // PT_INTERP = the installed guardld, in audit mode: handed over with
    // the installed module.
    let audit = [("GUARDLD_GLIBC", "audit")];
    let o = run(command(&interp_prog, &[("GUARDLD_DEBUG", "libs"), audit[0]]).env_remove("LD_AUDIT"));
    assert_same(&plain, &o, |s| s.to_string());
    let used = o.stderr_str().split("--audit ").nth(1).and_then(|r| r.split(' ').next()).map(PathBuf::from);
    assert_eq!(used.map(|u| u.canonicalize().unwrap()), Some(module.canonicalize().unwrap()), "{}", o.describe());
    assert_guarded(&run(command(&interp_prog, &audit).arg("check").env_remove("LD_AUDIT")));
    // By default the installed guardld runs it natively: same output, and
    // guarded padding without the module.
    let o = run(command(&interp_prog, &[]).env_remove("LD_AUDIT"));
    assert_same(&plain, &o, |s| s.to_string());
    assert_guarded(&run(command(&interp_prog, &[]).arg("check").env_remove("LD_AUDIT")));
    // LD_AUDIT = the installed module, under glibc's own ld.so.
    let o = run(&mut command(&plain_prog, &[("LD_AUDIT", module.to_str().unwrap())]));
    assert_same(&plain, &o, |s| s.to_string());
    assert_guarded(&run(command(&plain_prog, &[("LD_AUDIT", module.to_str().unwrap())]).arg("check")));
}
