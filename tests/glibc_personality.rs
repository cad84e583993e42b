//! The glibc personality (`--glibc native`): a glibc program run by
//! guardld itself must print what it prints under glibc's own ld.so, run
//! the same explicit way (`LOADER PROG`), with the same exit status; and
//! glibc's ld.so must not be in the process.

mod common;

use common::*;
use std::path::PathBuf;
use std::sync::OnceLock;

/// The probe, built once per test process: out_dir clears its directory,
/// and the tests run in parallel (a second build removed the first test's
/// program while it ran).
fn probe() -> PathBuf {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| {
        let out = out_dir("glibc-personality").join("probe");
        let src = testbins().join("glibc-personality/probe.c");
        let st = std::process::Command::new("gcc")
            .args(["-O2", "-fstack-protector-all", "-o"])
            .arg(&out)
            .arg(&src)
            .status()
            .unwrap();
        assert!(st.success(), "gcc {}", src.display());
        out
    })
    .clone()
}

fn under(loader: &[&str], prog: &PathBuf, args: &[&str]) -> Outcome {
    let mut cmd = command(loader[0], &[("GUARDLD_PROBE", "set"), ("LC_ALL", "C")]);
    cmd.args(&loader[1..]).arg(prog).args(args);
    run(&mut cmd)
}

#[test]
fn probe_prints_what_it_prints_under_glibc() {
    let p = probe();
    let g = guardld().to_str().unwrap();
    let glibc = under(&[GLIBC_LD], &p, &[]);
    let native = under(&[g, "--glibc", "native"], &p, &[]);
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    assert_eq!(glibc.code(), Some(3), "glibc's ld.so: {}", text(&glibc.stderr));
    assert_eq!(text(&native.stdout), text(&glibc.stdout), "stdout differs; guardld's stderr: {}", text(&native.stderr));
    assert_eq!(native.code(), glibc.code(), "exit status; stderr: {}", text(&native.stderr));
}

#[test]
fn native_process_has_no_glibc_loader() {
    let p = probe();
    let g = guardld().to_str().unwrap();
    // The check can see glibc's ld.so where it is mapped.
    let text = |b: &[u8]| {
        let s = String::from_utf8_lossy(b);
        s.lines().find_map(|l| l.strip_prefix("glibc ld.so mappings: ")).unwrap_or("(no count)").to_string()
    };
    let glibc = under(&[GLIBC_LD], &p, &["maps"]);
    assert_ne!(text(&glibc.stdout), "0");
    let native = under(&[g, "--glibc", "native"], &p, &["maps"]);
    assert_eq!(text(&native.stdout), "0", "glibc's ld.so mapped under the personality; stderr: {}", String::from_utf8_lossy(&native.stderr));
}

#[test]
fn unknown_glibc_mode_is_refused() {
    let g = guardld().to_str().unwrap();
    let o = run(command(g, &[]).args(["--glibc", "both", "/bin/true"]));
    assert_eq!(o.code(), Some(127));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("unknown glibc mode 'both'"), "{err}");
}
