//! gmaps on real loads: a program and a 4-PT_LOAD library (64 KiB lld
//! layout) paused under guardld and under glibc's ld.so, and a glibc
//! program with such libraries under glibc's ld.so with the audit module
//! (LD_AUDIT). The expected padding comes from the library's program
//! headers (tests/common/elf.rs, the `object` crate) and its base from
//! /proc/PID/maps; the VMA count from /proc/PID/maps read by the test
//! itself (through guard-abi).

mod common;

use common::elf::Elf;
use common::paused::run_paused;
use common::*;
use guard_abi_host as host;
use std::path::{Path, PathBuf};
use std::process::Command;

const PAGE: u64 = 4096;

struct Bins {
    dir: PathBuf,
    lib: PathBuf,
    prog: PathBuf,
    prog_glibc: PathBuf,
}

fn build() -> Bins {
    let name = "gmaps/lld64";
    let dir = out_dir(name);
    let lib = Cc::new(name, "libmap4.so")
        .source("mapping/lib4.c")
        .shared()
        .linker(Linker::Lld)
        .page_size(65536)
        .args(["-Wl,-z,relro", "-Wl,-z,now"])
        .build();
    let probe = |out: &str| {
        Cc::new(name, out)
            .source("mapping/probe.c")
            .pie()
            .linker(Linker::Lld)
            .page_size(65536)
            .arg(format!("-L{}", dir.display()))
            .arg("-lmap4")
            .arg(format!("-Wl,-rpath,{}", dir.display()))
            .args(["-Wl,-z,relro", "-Wl,-z,now"])
    };
    let prog = probe("probe").interp(guardld()).build();
    let prog_glibc = probe("probe-glibc").build();
    Bins { dir, lib, prog, prog_glibc }
}

/// Padding ranges of an ELF file, as (offset from the first segment's page, len).
fn padding_of(file: &Path) -> Vec<(u64, u64)> {
    let elf = Elf::read(file);
    let base = elf.span().0;
    elf.padding().into_iter().map(|(a, b, _)| (a - base, b - a)).collect()
}

struct Seen {
    json: serde_json::Value,
    maps_lines: usize,
    lib_base: u64,
}

/// Run `cmd` paused (after loading: GUARDLD_TEST_PAUSE), read its maps and
/// run `gmaps --json` on it: the program's outcome (killed), its maps and
/// gmaps's JSON.
fn gmaps_paused(mut cmd: Command) -> (Outcome, Vec<host::Vma>, serde_json::Value) {
    cmd.env("GUARDLD_TEST_PAUSE", "1").env("GUARDLD_TEST_SKIP_FINI", "1");
    let (o, (vmas, out)) = run_paused(&mut cmd, |pid| {
        let vmas = host::read_maps(pid).unwrap();
        (vmas, run(Command::new(gmaps()).args(["--json", &pid.to_string()])))
    });
    out.assert_code(0);
    (o, vmas, serde_json::from_slice(&out.stdout).unwrap())
}

/// Run `cmd` paused (after loading: GUARDLD_TEST_PAUSE), run gmaps on it and read its maps.
fn observe(bins: &Bins, cmd: Command) -> Seen {
    let (_, vmas, json) = gmaps_paused(cmd);
    let lib_name = bins.lib.file_name().unwrap().to_str().unwrap();
    let lib_base = vmas
        .iter()
        .find(|v| v.path.as_deref().is_some_and(|p| p.ends_with(lib_name)))
        .map(|v| v.start)
        .expect("library mapped");
    Seen { json, maps_lines: vmas.len(), lib_base }
}

fn file_summary<'a>(j: &'a serde_json::Value, path: &Path) -> &'a serde_json::Value {
    j["summary"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"].as_str() == Some(path.to_str().unwrap()))
        .unwrap_or_else(|| panic!("no summary for {}", path.display()))
}

/// Guard runs of the library, as (offset from its base, len).
fn guard_runs(j: &serde_json::Value, path: &Path, base: u64) -> Vec<(u64, u64)> {
    let mut v = Vec::new();
    for vma in j["vmas"].as_array().unwrap() {
        if vma["path"].as_str() != Some(path.to_str().unwrap()) {
            continue;
        }
        for r in vma["runs"].as_array().unwrap() {
            if r["guard"].as_bool() == Some(true) {
                let (s, e) = (r["start"].as_u64().unwrap(), r["end"].as_u64().unwrap());
                v.push((s - base, e - s));
            }
        }
    }
    v
}

#[test]
fn guardld_padding_shows_as_guard_and_glibc_as_prot_none() {
    let bins = build();
    let want = padding_of(&bins.lib);
    assert_eq!(want.len(), 3, "the library should have three padding gaps");
    let lib = bins.lib.canonicalize().unwrap();

    // Under guardld (PT_INTERP): every padding range is one guard run.
    let mut cmd = Command::new(&bins.prog);
    cmd.current_dir(&bins.dir);
    let g = observe(&bins, cmd);
    assert_eq!(g.json["vmas"].as_array().unwrap().len(), g.maps_lines, "gmaps VMA count = /proc/PID/maps lines");
    assert_eq!(guard_runs(&g.json, &lib, g.lib_base), want, "guard runs = padding from the program headers");
    let s = file_summary(&g.json, &lib);
    assert_eq!(s["prot_none_vmas"], 0);
    assert_eq!(s["guard_ranges"], 3);
    assert_eq!(s["guard_pages"].as_u64().unwrap(), want.iter().map(|w| w.1 / PAGE).sum::<u64>());

    // The same program under glibc's ld.so: PROT_NONE gap VMAs, no guards.
    let mut cmd = Command::new(GLIBC_LD);
    cmd.arg(&bins.prog_glibc).current_dir(&bins.dir);
    let c = observe(&bins, cmd);
    assert_eq!(c.json["vmas"].as_array().unwrap().len(), c.maps_lines);
    assert!(guard_runs(&c.json, &lib, c.lib_base).is_empty());
    let s = file_summary(&c.json, &lib);
    assert_eq!(s["prot_none_vmas"], 3, "glibc covers each gap with a PROT_NONE VMA");
    assert_eq!(s["guard_pages"], 0);
}

/// gmaps's VMAs (JSON) intersecting `[start, end)`.
fn json_vmas_in(j: &serde_json::Value, start: u64, end: u64) -> Vec<&serde_json::Value> {
    j["vmas"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["start"].as_u64().unwrap() < end && v["end"].as_u64().unwrap() > start)
        .collect()
}

/// A glibc program (testbins/gmaps/audit_pause.c) with three 64 KiB lld
/// libraries it links and one it dlopens (tests/common/audit.rs), paused
/// under glibc's ld.so with the audit module (LD_AUDIT): gmaps shows each
/// library's padding as guard runs, exactly the padding of its program
/// headers, and no `---p` VMA in its span (the dlopened one too, guarded
/// after start-up). Without the module, the same program shows glibc's
/// three `---p` gaps per library and no guard.
#[test]
fn audit_module_padding_shows_as_guard() {
    const LIBS: usize = 3;
    let name = "gmaps/audit";
    let dir = out_dir(name);
    let top = common::audit::build_libs(name, LIBS);
    let prog = common::audit::glibc_lld64(name, "audit_pause")
        .source("gmaps/audit_pause.c")
        .arg(format!("-DTOP=audit_fn{LIBS}"))
        .arg(&top)
        .arg(format!("-Wl,-rpath,{}", dir.display()))
        .build();
    let plugin = dir.join("libauditplugin.so").canonicalize().unwrap();
    let libs: Vec<PathBuf> =
        (1..=LIBS).map(|k| dir.join(format!("libaudit{k}.so")).canonicalize().unwrap()).chain([plugin.clone()]).collect();
    let look = |audit: bool| {
        let mut cmd = Command::new(&prog);
        cmd.arg(&plugin).env_remove("LD_AUDIT").env_remove("LD_PRELOAD").env_remove("LD_LIBRARY_PATH");
        if audit {
            cmd.env("LD_AUDIT", audit_module());
        }
        let (o, vmas, json) = gmaps_paused(cmd);
        o.assert_stdout_contains("sum=").assert_stdout_contains("plugin=");
        assert!(!o.stdout_str().contains("dlopen:"), "{}", o.describe());
        assert_eq!(json["vmas"].as_array().unwrap().len(), vmas.len(), "gmaps VMA count = /proc/PID/maps lines");
        (vmas, json)
    };

    let (vmas, j) = look(true);
    for lib in &libs {
        let want = padding_of(lib);
        assert_eq!(want.len(), 3, "{}: three padding gaps", lib.display());
        let base = host::base_of(&vmas, lib.to_str().unwrap()).unwrap_or_else(|| panic!("{} not mapped", lib.display()));
        assert_eq!(guard_runs(&j, lib, base), want, "{}: guard runs = padding from the program headers", lib.display());
        let s = file_summary(&j, lib);
        assert_eq!(s["prot_none_vmas"], 0, "{}: {s}", lib.display());
        assert_eq!(s["guard_ranges"], 3, "{}: {s}", lib.display());
        assert_eq!(s["guard_pages"].as_u64().unwrap(), want.iter().map(|w| w.1 / PAGE).sum::<u64>(), "{}", lib.display());
        // base is the first segment's first page.
        let (lo, hi) = Elf::read(lib).span();
        for v in json_vmas_in(&j, base, base + (hi - lo)) {
            assert_eq!(v["prot_none"], false, "{}: a ---p VMA in its span: {v}", lib.display());
        }
    }

    // Without the module: glibc's gaps, no guards.
    let (vmas, j) = look(false);
    for lib in &libs {
        let base = host::base_of(&vmas, lib.to_str().unwrap()).unwrap();
        assert!(guard_runs(&j, lib, base).is_empty(), "{}", lib.display());
        assert_eq!(file_summary(&j, lib)["prot_none_vmas"], 3, "{}", lib.display());
    }
}

#[test]
fn errors_exit_1_with_a_message() {
    // A pid that cannot exist (above pid_max's ceiling).
    let out = run(Command::new(gmaps()).arg("4194305"));
    out.assert_code(1);
    out.assert_stderr_contains("gmaps: pid 4194305: no such process");
    let out = run(Command::new(gmaps()).arg("not-a-pid"));
    out.assert_code(1);
}
