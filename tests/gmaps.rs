//! gmaps on real loads: a program and a 4-PT_LOAD library (64 KiB lld
//! layout) paused under guardld and under glibc's ld.so. The expected
//! padding comes from the library's program headers (read here with the
//! `object` crate) and its base from /proc/PID/maps; the VMA count from
//! /proc/PID/maps read by the test itself.

mod common;

use common::*;
use object::{Object, ObjectSegment};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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
    let data = std::fs::read(file).unwrap();
    let elf = object::File::parse(&*data).unwrap();
    let segs: Vec<(u64, u64)> = elf.segments().map(|s| (s.address(), s.address() + s.size())).collect();
    let base = segs[0].0 & !(PAGE - 1);
    segs.windows(2)
        .filter_map(|w| {
            let end = (w[0].1 + PAGE - 1) & !(PAGE - 1);
            let next = w[1].0 & !(PAGE - 1);
            (next > end).then(|| (end - base, next - end))
        })
        .collect()
}

/// Start a paused program and wait until it has loaded the library and sleeps.
fn start_paused(mut cmd: Command) -> Child {
    cmd.env("GUARDLD_TEST_PAUSE", "1").env("GUARDLD_TEST_SKIP_FINI", "1");
    let child = cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let t = Instant::now();
    loop {
        let maps = std::fs::read_to_string(format!("/proc/{}/maps", child.id())).unwrap_or_default();
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", child.id())).unwrap_or_default();
        if maps.contains("libmap4.so") && stat.contains(") S ") {
            return child;
        }
        assert!(t.elapsed() < Duration::from_secs(20), "program did not pause");
        std::thread::sleep(Duration::from_millis(20));
    }
}

struct Seen {
    json: serde_json::Value,
    maps_lines: usize,
    lib_base: u64,
}

fn observe(bins: &Bins, cmd: Command) -> Seen {
    let mut child = start_paused(cmd);
    let pid = child.id();
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    let out = run(Command::new(gmaps()).args(["--json", &pid.to_string()]));
    let _ = child.kill();
    let _ = child.wait();
    out.assert_code(0);
    let lib_name = bins.lib.file_name().unwrap().to_str().unwrap();
    let lib_base = maps
        .lines()
        .find(|l| l.ends_with(lib_name))
        .map(|l| u64::from_str_radix(l.split('-').next().unwrap(), 16).unwrap())
        .expect("library mapped");
    Seen { json: serde_json::from_slice(&out.stdout).unwrap(), maps_lines: maps.lines().count(), lib_base }
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

#[test]
fn errors_exit_1_with_a_message() {
    // A pid that cannot exist (above pid_max's ceiling).
    let out = run(Command::new(gmaps()).arg("4194305"));
    out.assert_code(1);
    out.assert_stderr_contains("gmaps: pid 4194305: no such process");
    let out = run(Command::new(gmaps()).arg("not-a-pid"));
    out.assert_code(1);
}
