//! Runs vmabench on a small configuration (N=10, lld layout at 64 KiB
//! max-page-size, 3 runs) with --json and checks what guardld and its audit
//! module under glibc's ld.so (glibc+audit) promise, from vmabench's own
//! reading of /proc/PID/maps and pagemap.
//!
//! guardld and the module are built with a nested `cargo build --release
//! -p guardld -p guardld-audit` into target/itest (the outer `cargo test`
//! holds the lock on target/; the root package's tests use the same
//! directory), unless VMABENCH_TEST_GUARDLD names a binary to use (the
//! module is then looked for beside it).

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// vmabench with `args`, this guardld and the tests' cache; its JSON report
/// (the run must succeed).
fn vmabench(guardld: &Path, args: &[&str]) -> Value {
    vmabench_in(guardld, "vmabench-cache", args)
}

/// `vmabench` with the cache in target/itest/`cache`.
fn vmabench_in(guardld: &Path, cache: &str, args: &[&str]) -> Value {
    let cache = workspace().join("target/itest").join(cache);
    let out = Command::new(env!("CARGO_BIN_EXE_vmabench"))
        .args(args)
        .arg("--guardld")
        .arg(guardld)
        .arg("--cache-dir")
        .arg(&cache)
        .stdin(Stdio::null())
        .output()
        .expect("run vmabench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "vmabench failed ({}):\n{stderr}\n{stdout}", out.status);
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("bad JSON ({e}):\n{stdout}"))
}

fn guardld() -> PathBuf {
    if let Some(p) = std::env::var_os("VMABENCH_TEST_GUARDLD") {
        return PathBuf::from(p);
    }
    let target = workspace().join("target/itest");
    let mut c = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    for v in [
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET_DIR",
        "CARGO_MAKEFLAGS",
        "MAKEFLAGS",
        "MFLAGS",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
        "CARGO_CRATE_NAME",
        "CARGO_BIN_NAME",
        "CARGO_PKG_NAME",
        "CARGO_TARGET_TMPDIR",
        "RUSTC_WORKSPACE_WRAPPER",
    ] {
        c.env_remove(v);
    }
    let out = c
        .args(["build", "--release", "-p", "guardld", "-p", "guardld-audit"])
        .env("CARGO_TARGET_DIR", &target)
        .current_dir(workspace())
        .stdin(Stdio::null())
        .output()
        .expect("run cargo");
    assert!(out.status.success(), "building guardld and guardld-audit failed:\n{}", String::from_utf8_lossy(&out.stderr));
    target.join("release/guardld")
}

fn u(row: &Value, k: &str) -> u64 {
    row[k].as_u64().unwrap_or_else(|| panic!("{} {}: field {k} missing: {row}", row["config"], row["loader"]))
}

#[test]
fn small_lld_64k() {
    let guardld = guardld();
    let report = vmabench(&guardld, &["--n", "10", "--configs", "lld-64k", "--runs", "3", "--json"]);

    let configs = report["configs"].as_array().unwrap();
    assert_eq!(configs.len(), 1);
    let c = &configs[0];
    assert_eq!(c["config"], "lld-64k");
    assert_eq!(c["lib_pt_loads"], 4, "lld should give 4 PT_LOADs");
    let rows = c["rows"].as_array().unwrap();
    let row = |loader: &str| -> &Value {
        rows.iter()
            .find(|r| r["loader"] == loader && r["n"] == 10)
            .unwrap_or_else(|| panic!("no row for {loader}: {rows:?}"))
    };

    // Every loader's program ran and exited 0 (stat run and timed runs),
    // and kept its padding promise (vmabench's `ok`).
    let musl_installed = Path::new("/lib/ld-musl-x86_64.so.1").exists();
    let expected = if musl_installed { 6 } else { 5 };
    assert_eq!(rows.len(), expected, "one row per available loader");
    for r in rows {
        assert_eq!(r["stat_exit"], "exit 0", "{r}");
        assert!(r["exit_failures"].as_array().unwrap().is_empty(), "{r}");
        assert!(r["error"].is_null(), "{r}");
        assert!(r["check_failures"].as_array().unwrap().is_empty(), "{r}");
        assert_eq!(r["times_ms"].as_array().unwrap().len(), 3, "{r}");
        assert_eq!(u(r, "objects_not_found"), 0, "{r}");
    }
    if !musl_installed {
        let l = report["loaders"].as_array().unwrap().iter().find(|l| l["name"] == "musl").unwrap();
        assert!(l["skipped"].is_string(), "musl must be reported as skipped: {l}");
    }

    let glibc = row("glibc");
    let audit = row("glibc+audit");
    let guard = row("guardld-guard");
    let prot_none = row("guardld-prot-none");

    // Guard mode: no gap VMA, no readable padding, guards in place.
    assert_eq!(u(guard, "gap_vmas"), 0, "{guard}");
    assert_eq!(u(guard, "readable_padding_pages"), 0, "{guard}");
    assert!(u(guard, "guard_pages") > 0, "{guard}");
    assert_eq!(u(guard, "padding_guard"), u(guard, "padding_pages"), "{guard}");

    // Fewer VMAs than glibc at 64 KiB, in the whole process and per library.
    assert!(u(guard, "vmas_total") < u(glibc, "vmas_total"), "guard {guard}\nglibc {glibc}");
    assert!(u(guard, "vmas_in_lib_spans") < u(glibc, "vmas_in_lib_spans"));

    // prot-none reproduces glibc's layout: the same VMAs in the spans of the
    // libraries and of the main program (the loaders' own mappings differ).
    assert_eq!(u(prot_none, "vmas_in_lib_spans"), u(glibc, "vmas_in_lib_spans"), "prot-none {prot_none}\nglibc {glibc}");
    assert_eq!(u(prot_none, "vmas_in_main_span"), u(glibc, "vmas_in_main_span"));
    assert_eq!(u(prot_none, "gap_vmas"), u(glibc, "gap_vmas"));
    assert_eq!(u(glibc, "readable_padding_pages"), 0);

    // glibc's ld.so with the audit module: the module found beside guardld
    // and run; glibc's gaps gone, every padding page guarded (the libraries'
    // and the main program's, which ld.so maps itself here), as in guard
    // mode: the same VMAs in the libraries' spans.
    let l = report["loaders"].as_array().unwrap().iter().find(|l| l["name"] == "glibc+audit").unwrap();
    assert_eq!(l["available"], true, "{l}");
    assert_eq!(l["argv"][1], "--audit", "{l}");
    assert!(l["argv"][2].as_str().unwrap().ends_with(".so"), "{l}");
    assert!(u(glibc, "gap_vmas") >= 30, "glibc: 3 gaps per library {glibc}");
    assert_eq!(u(audit, "gap_vmas"), 0, "{audit}");
    assert_eq!(u(audit, "readable_padding_pages"), 0, "{audit}");
    assert_eq!(u(audit, "padding_prot_none"), 0, "{audit}");
    assert_eq!(u(audit, "padding_unmapped"), 0, "{audit}");
    assert_eq!(u(audit, "padding_pages"), u(glibc, "padding_pages"), "{audit}");
    assert!(u(audit, "padding_pages") >= 10 * u(c, "lib_padding_pages"), "{audit}");
    assert_eq!(u(audit, "padding_guard"), u(audit, "padding_pages"), "{audit}");
    assert!(u(audit, "guard_pages") >= u(audit, "padding_pages"), "{audit}");
    assert_eq!(u(audit, "vmas_in_lib_spans"), u(guard, "vmas_in_lib_spans"), "audit {audit}\nguard {guard}");
    assert!(u(audit, "vmas_in_lib_spans") < u(glibc, "vmas_in_lib_spans"));
    if let Some(sc) = audit["syscalls"].as_object() {
        // Start-up objects' guards go in together at the end of start-up:
        // one process_madvise, or madvise per range (3 per library) where
        // batching is refused.
        let (madvise, batched) = (sc["madvise"].as_u64().unwrap(), sc["process_madvise"].as_u64().unwrap());
        assert!((batched == 1 && madvise == 0) || madvise >= 30, "{audit}");
    }
}

/// Without the module beside guardld, glibc+audit is reported as skipped
/// (and glibc still runs): never glibc alone under the module's name.
#[test]
fn audit_module_missing_is_skipped() {
    let guardld = guardld();
    let dir = workspace().join("target/itest/vmabench-nomodule");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let lone = dir.join("guardld");
    std::fs::copy(&guardld, &lone).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_vmabench"))
        .args(["--n", "1", "--configs", "lld-4k", "--runs", "1", "--no-strace", "--loaders", "glibc,glibc+audit", "--json", "--guardld"])
        .arg(&lone)
        .arg("--cache-dir")
        .arg(dir.join("cache"))
        .stdin(Stdio::null())
        .output()
        .expect("run vmabench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "vmabench failed ({}):\n{}\n{stdout}", out.status, String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("bad JSON ({e}):\n{stdout}"));
    let l = report["loaders"].as_array().unwrap().iter().find(|l| l["name"] == "glibc+audit").unwrap();
    assert_eq!(l["available"], false, "{l}");
    assert!(l["skipped"].as_str().unwrap().contains("libguardld_audit.so not found beside guardld"), "{l}");
    let rows = report["configs"][0]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["loader"], "glibc");
}

/// A glibc-linked program (`lld-64k-glibc`: the main program linked with
/// glibc's libc, the libraries freestanding): glibc's ld.so, with the
/// module, guardld's hand-over (guard) and guardld itself as glibc's ld.so
/// (`--glibc native`) all run it to the right sum; native and glibc+audit
/// keep guard mode's promise with 4 file VMAs per library; musl and extend
/// are skipped, saying why.
#[test]
fn small_lld_64k_glibc() {
    let guardld = guardld();
    let report = vmabench(
        &guardld,
        &["--n", "10", "--configs", "lld-64k-glibc", "--runs", "3", "--no-strace", "--json", "--loaders", "glibc,glibc+audit,musl,guard,extend,native"],
    );
    let c = &report["configs"][0];
    assert_eq!(c["config"], "lld-64k-glibc");
    assert_eq!(c["glibc"], true);
    assert!(c["dir"].as_str().unwrap().ends_with("/lld-64k-glibc"), "{}", c["dir"]);
    let skipped: Vec<&str> = c["skipped_loaders"].as_array().unwrap().iter().map(|s| s["loader"].as_str().unwrap()).collect();
    assert_eq!(skipped, ["musl", "guardld-extend"], "{}", c["skipped_loaders"]);
    let rows = c["rows"].as_array().unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r["loader"].as_str().unwrap()).collect();
    assert_eq!(names, ["glibc", "glibc+audit", "guardld-guard", "guardld-native"]);
    for r in rows {
        assert_eq!(r["stat_exit"], "exit 0", "{r}");
        assert!(r["exit_failures"].as_array().unwrap().is_empty(), "{r}");
        assert!(r["error"].is_null(), "{r}");
        assert!(r["check_failures"].as_array().unwrap().is_empty(), "{r}");
        assert_eq!(u(r, "objects_not_found"), 0, "{r}");
        // Every timed run reported when main began: after the spawn,
        // before the run ended.
        let m = r["main_times_ms"].as_array().unwrap();
        assert_eq!(m.len(), 3, "{r}");
        assert!(m.iter().all(|t| t.as_f64().unwrap() > 0.0), "{r}");
        let (mm, wm) = (r["main_median_ms"].as_f64().unwrap(), r["median_ms"].as_f64().unwrap());
        assert!(mm < wm, "main begins before the run ends: {r}");
        assert!(r["main_q1_ms"].as_f64().unwrap() <= mm && mm <= r["main_q3_ms"].as_f64().unwrap(), "{r}");
    }
    let row = |l: &str| rows.iter().find(|r| r["loader"] == l).unwrap();
    let (glibc, native) = (row("glibc"), row("guardld-native"));
    assert_eq!(glibc["main_ratio_to_glibc"].as_f64(), Some(1.0));
    assert!(native["main_ratio_to_glibc"].as_f64().unwrap() > 0.0, "{native}");
    assert!(u(glibc, "gap_vmas") >= 30, "{glibc}");
    for r in [native, row("glibc+audit"), row("guardld-guard")] {
        assert_eq!(u(r, "gap_vmas"), 0, "{r}");
        assert_eq!(u(r, "padding_guard"), u(r, "padding_pages"), "{r}");
        assert_eq!(u(r, "padding_pages"), u(glibc, "padding_pages"), "{r}");
        assert_eq!(r["file_vmas_per_lib"].as_f64(), Some(4.0), "{r}");
    }
    assert_eq!(glibc["file_vmas_per_lib"].as_f64(), Some(7.0), "{glibc}");
}

/// `--dlopen` (`lld-64k-glibc-dlopen`): the glibc program dlopens its 10
/// libraries (RTLD_NOW|RTLD_GLOBAL, in order) and calls them through
/// dlsym. glibc's ld.so, with the module, and guardld as glibc's ld.so all
/// run it to the right sum; native and glibc+audit have no `---p` VMA and
/// every padding page guarded, 4 file VMAs per dlopen'd library (glibc 7);
/// every timed run reports its dlopen loop's time. Its own cache: the
/// glibc test above builds the same tree at the same time.
#[test]
fn small_dlopen() {
    let guardld = guardld();
    let report = vmabench_in(&guardld, "vmabench-dlopen-cache", &["--dlopen", "--n", "10", "--runs", "3", "--no-strace", "--json"]);
    let c = &report["configs"][0];
    assert_eq!(report["configs"].as_array().unwrap().len(), 1);
    assert_eq!(c["config"], "lld-64k-glibc-dlopen");
    assert_eq!((c["glibc"].as_bool(), c["dlopen"].as_bool()), (Some(true), Some(true)));
    // The dlopen programs live in the glibc configuration's tree.
    assert!(c["dir"].as_str().unwrap().ends_with("/lld-64k-glibc"), "{}", c["dir"]);
    assert!(Path::new(c["dir"].as_str().unwrap()).join("dlmain10").is_file());
    let rows = c["rows"].as_array().unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r["loader"].as_str().unwrap()).collect();
    assert_eq!(names, ["glibc", "glibc+audit", "guardld-native"], "--dlopen's default loaders");
    for r in rows {
        assert_eq!(r["n"], 10, "{r}");
        assert_eq!(r["stat_exit"], "exit 0", "{r}");
        assert!(r["exit_failures"].as_array().unwrap().is_empty(), "{r}");
        assert!(r["error"].is_null(), "{r}");
        assert!(r["check_failures"].as_array().unwrap().is_empty(), "{r}");
        assert_eq!(u(r, "objects_not_found"), 0, "{r}");
        // Every timed run reported its dlopen and call loops.
        let d = r["dlopen_times_ms"].as_array().unwrap();
        assert_eq!(d.len(), 3, "{r}");
        assert!(d.iter().all(|t| t.as_f64().unwrap() > 0.0), "{r}");
        assert_eq!(r["calls_times_ms"].as_array().unwrap().len(), 3, "{r}");
        let (dm, wm) = (r["dlopen_median_ms"].as_f64().unwrap(), r["median_ms"].as_f64().unwrap());
        assert!(dm < wm, "the dlopen loop is part of the whole run: {r}");
        assert!(r["dlopen_q1_ms"].as_f64().unwrap() <= dm && dm <= r["dlopen_q3_ms"].as_f64().unwrap(), "{r}");
    }
    let row = |l: &str| rows.iter().find(|r| r["loader"] == l).unwrap();
    let glibc = row("glibc");
    assert_eq!(glibc["dlopen_ratio_to_glibc"].as_f64(), Some(1.0));
    assert!(u(glibc, "gap_vmas") >= 30, "glibc: 3 gaps per dlopen'd library {glibc}");
    assert_eq!(u(glibc, "padding_prot_none"), u(glibc, "padding_pages"), "{glibc}");
    assert_eq!(glibc["file_vmas_per_lib"].as_f64(), Some(7.0), "{glibc}");
    for r in [row("guardld-native"), row("glibc+audit")] {
        assert_eq!(u(r, "gap_vmas"), 0, "{r}");
        assert_eq!(u(r, "readable_padding_pages"), 0, "{r}");
        assert_eq!(u(r, "padding_pages"), u(glibc, "padding_pages"), "{r}");
        assert!(u(r, "padding_pages") >= 10 * u(c, "lib_padding_pages"), "{r}");
        assert_eq!(u(r, "padding_guard"), u(r, "padding_pages"), "{r}");
        assert_eq!(r["file_vmas_per_lib"].as_f64(), Some(4.0), "{r}");
        assert!(r["dlopen_ratio_to_glibc"].as_f64().unwrap() > 0.0, "{r}");
    }
}
