//! The glibc personality's `struct cpu_features` (loader/src/glibc/cpu.rs)
//! against glibc's own: `guardld --list-diagnostics` must print exactly the
//! `x86.cpu_features.*` lines of `ld.so --list-diagnostics` (every cpuid
//! and active word, the preferred bits, isa_1, the xsave sizes, the cache
//! sizes and string thresholds), in the default environment and under
//! glibc.cpu.* tunables; and the thresholds' values and bounds it records
//! must be the ones `ld.so --list-tunables` shows.
//!
//! Only where the machine's glibc is the build guardld knows (the layout
//! table's ld.so build ID); elsewhere the tests say so and pass.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

/// Whether this machine's ld.so is the build of loader/src/glibc/debian12.rs.
fn known_build() -> bool {
    use object::Object;
    let table = std::fs::read_to_string(workspace().join("loader/src/glibc/debian12.rs")).unwrap();
    let want = table.lines().find_map(|l| l.trim().strip_prefix("ld_so_build_id: \"")).map(|l| l.trim_end_matches("\",").to_string());
    let data = std::fs::read(Path::new(GLIBC_LD)).unwrap_or_default();
    let here = object::File::parse(&*data).ok().and_then(|f| f.build_id().ok().flatten()).map(|id| id.iter().map(|b| format!("{b:02x}")).collect::<String>());
    if here.is_none() || here != want {
        println!("skipped: {GLIBC_LD} is not the glibc build guardld knows");
        return false;
    }
    true
}

/// The first CPU this process may run on: both loaders run there, as
/// CPUID leaf 1 EBX holds the APIC ID of the CPU that executes it.
fn first_cpu() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let list = status.lines().find_map(|l| l.strip_prefix("Cpus_allowed_list:")).expect("Cpus_allowed_list");
    list.trim().split(|c: char| !c.is_ascii_digit()).next().unwrap().to_string()
}

/// The lines of `program --option` starting with `prefix`, run on
/// `first_cpu` with only GLIBC_TUNABLES (if given) in the environment:
/// glibc's hwcaps parser reads on past its value into the following
/// environment strings.
fn lines(program: &Path, option: &str, tunables: Option<&str>, prefix: &str) -> Vec<String> {
    let mut cmd = Command::new("taskset");
    cmd.arg("-c").arg(first_cpu()).arg(program).arg(option).env_clear();
    if let Some(t) = tunables {
        cmd.env("GLIBC_TUNABLES", t);
    }
    let out = run(&mut cmd);
    out.assert_code(0);
    out.stdout_str().lines().filter(|l| l.starts_with(prefix)).map(str::to_string).collect()
}

/// guardld's and glibc's `x86.cpu_features.` lines agree under `tunables`.
#[track_caller]
fn same_cpu_features(tunables: Option<&str>) {
    let want = lines(Path::new(GLIBC_LD), "--list-diagnostics", tunables, "x86.cpu_features.");
    assert!(want.len() > 100, "glibc printed only {} cpu_features lines", want.len());
    let got = lines(guardld(), "--list-diagnostics", tunables, "x86.cpu_features.");
    if got != want {
        let mut diff = String::new();
        for i in 0..want.len().max(got.len()) {
            let (w, g) = (want.get(i).map_or("<none>", |s| s), got.get(i).map_or("<none>", |s| s));
            if w != g {
                diff += &format!("  glibc:   {w}\n  guardld: {g}\n");
            }
        }
        panic!("GLIBC_TUNABLES={tunables:?}: cpu_features differ\n{diff}");
    }
}

#[test]
fn default_environment() {
    if known_build() {
        same_cpu_features(None);
    }
}

#[test]
fn hwcaps_turn_features_off() {
    if !known_build() {
        return;
    }
    for t in [
        "glibc.cpu.hwcaps=-AVX2,-ERMS",
        "glibc.cpu.hwcaps=-AVX,-FMA,-BMI1,-BMI2,-LZCNT,-MOVBE,-POPCNT,-SSE4_2,-SSSE3",
        "glibc.cpu.hwcaps=-AVX512F,-AVX512VL,-AVX512BW,-AVX512DQ,-AVX512CD,-AVX512ER,-AVX512PF,-FMA4,-RTM,-HTT",
        "glibc.cpu.hwcaps=-CMOV,-CX8,-SSE2,-I586,-I686,-IBT,-SHSTK",
        // XSAVEC off: back to the XSAVE state size.
        "glibc.cpu.hwcaps=-XSAVEC",
        // XSAVE and XSAVEC off: no xsave state, no AVX.
        "glibc.cpu.hwcaps=-XSAVE,-XSAVEC",
        "glibc.cpu.hwcaps=-OSXSAVE",
        // Unknown, empty, enabling-only and malformed items change nothing.
        "glibc.cpu.hwcaps=AVX2,-NOSUCH,,-,--AVX2,-avx2,XSAVEC,I586,",
    ] {
        same_cpu_features(Some(t));
    }
}

#[test]
fn hwcaps_set_preferences() {
    if !known_build() {
        return;
    }
    for t in [
        "glibc.cpu.hwcaps=Prefer_No_VZEROUPPER,Prefer_ERMS,Prefer_FSRM,Slow_BSF",
        "glibc.cpu.hwcaps=-AVX_Fast_Unaligned_Load,Fast_Unaligned_Load,Fast_Unaligned_Copy,Fast_Copy_Backward,Fast_Rep_String",
        "glibc.cpu.hwcaps=Prefer_No_AVX512,MathVec_Prefer_No_AVX512,Slow_SSE4_2,Prefer_PMINUB_for_stringop",
        "glibc.cpu.hwcaps=-AVX,AVX_Fast_Unaligned_Load,Prefer_No_VZEROUPPER",
        "glibc.cpu.hwcaps=-Prefer_No_VZEROUPPER,-Prefer_ERMS,-Fast_Rep_String,-Slow_SSE4_2",
    ] {
        same_cpu_features(Some(t));
    }
}

#[test]
fn threshold_tunables() {
    if !known_build() {
        return;
    }
    for t in [
        "glibc.cpu.x86_non_temporal_threshold=0x100000",
        // At or below the minimum (0x4040), or above SIZE_MAX >> 4: ignored.
        "glibc.cpu.x86_non_temporal_threshold=0x4040",
        "glibc.cpu.x86_non_temporal_threshold=0x100",
        "glibc.cpu.x86_non_temporal_threshold=0x1000000000000000",
        "glibc.cpu.x86_rep_movsb_threshold=4096",
        // At or below VEC_SIZE * 8: ignored.
        "glibc.cpu.x86_rep_movsb_threshold=256",
        "glibc.cpu.x86_rep_movsb_threshold=0x100000001",
        "glibc.cpu.x86_rep_stosb_threshold=0x1000",
        "glibc.cpu.x86_rep_stosb_threshold=0",
        "glibc.cpu.x86_data_cache_size=0x8000:glibc.cpu.x86_shared_cache_size=0x400000",
        "glibc.cpu.x86_data_cache_size=0",
        // Several at once, and hwcaps among them.
        "glibc.cpu.x86_rep_movsb_threshold=0x2000:glibc.cpu.hwcaps=-AVX2,-ERMS:glibc.cpu.x86_non_temporal_threshold=0x200000",
        "glibc.cpu.hwcaps=-ERMS,-FSRM:glibc.cpu.x86_rep_stosb_threshold=0x10000",
    ] {
        same_cpu_features(Some(t));
    }
}

/// The thresholds' values and bounds recorded with TUNABLE_SET_WITH_BOUNDS,
/// as `--list-tunables` prints them.
#[test]
fn thresholds_recorded_with_bounds() {
    if !known_build() {
        return;
    }
    let numeric = |l: &String| l.contains("(min:");
    for t in [None, Some("glibc.cpu.x86_rep_movsb_threshold=4096:glibc.cpu.x86_data_cache_size=0x8000"), Some("glibc.cpu.hwcaps=-AVX2")] {
        let mut want: Vec<String> = lines(Path::new(GLIBC_LD), "--list-tunables", t, "glibc.cpu.x86_").into_iter().filter(numeric).collect();
        let mut got: Vec<String> = lines(guardld(), "--list-tunables", t, "glibc.cpu.x86_").into_iter().filter(numeric).collect();
        assert_eq!(want.len(), 5, "glibc's x86 thresholds: {want:?}");
        want.sort();
        got.sort();
        assert_eq!(got, want, "GLIBC_TUNABLES={t:?}");
    }
}
