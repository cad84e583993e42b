//! vmabench: VMAs, padding safety and load time of guardld against glibc's
//! and musl's ld.so, on generated programs that load N shared libraries.
//! See `vmabench --help` and docs/perf.md.

mod elfinfo;
mod generate;
mod maxmap;
mod measure;
mod plot;
mod report;
mod worst;

use clap::Parser;
use elfinfo::ObjInfo;
use generate::{Builder, Config, Layout, Tree};
use indicatif::{ProgressBar, ProgressStyle};
use measure::{Loader, Objects};
use report::{ConfigReport, LoaderInfo, Machine, Report, Row, Skipped};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Instant;

const GLIBC_LDSO: &str = "/lib64/ld-linux-x86-64.so.2";
const MUSL_LDSO: &str = "/lib/ld-musl-x86_64.so.1";
/// guardld's rtld-audit module (guardld-audit), looked for beside guardld.
const AUDIT_MODULE: &str = "libguardld_audit.so";
/// Stated per-VMA cost when /proc/slabinfo is not readable.
pub const VMA_BYTES_ESTIMATE: u64 = 200;

#[derive(Parser, Debug)]
#[command(
    name = "vmabench",
    about = "Generate programs that load N shared libraries and compare glibc's and musl's ld.so with guardld \
             (--padding guard|prot-none|extend, --glibc native) and with glibc's ld.so running guardld's audit module: VMAs, \
             PROT_NONE gaps, readable padding, guard pages, vm_area_struct memory, RSS, load time and syscalls.",
    after_help = "Loaders: glibc (/lib64/ld-linux-x86-64.so.2 ./mainN), glibc+audit (/lib64/ld-linux-x86-64.so.2 \
                  --audit libguardld_audit.so ./mainN, the module found beside guardld; skipped if it is not there), \
                  musl (/lib/ld-musl-x86_64.so.1 ./mainN; skipped if not installed), guard, prot-none, extend \
                  (guardld --padding MODE ./mainN), native (guardld --glibc native ./mainN, row guardld-native).\n\
                  Configurations: lld-4k lld-16k lld-64k bfd-4k bfd-16k bfd-64k (linker layout, max-page-size), \
                  each also with the suffix -glibc (lld-64k-glibc: the main program linked with glibc's libc, the \
                  libraries freestanding; its own tree). On -glibc configurations musl is skipped, guard and \
                  prot-none are guardld handing the program to glibc's ld.so (--glibc audit: with the audit module, \
                  resp. without it) and extend is skipped. The suffix -glibc-dlopen (or --dlopen) runs a glibc \
                  program that dlopens the N libraries instead (same tree, same loaders) and also reports its own \
                  time of the dlopen loop.\n\
                  A row is ok when every run exited 0 (the program checks its own sum) and the loader kept its \
                  padding promise: guard, native and glibc+audit no PROT_NONE gap VMA and every padding page guarded, \
                  glibc and prot-none every padding page PROT_NONE."
)]
struct Cli {
    /// Library counts to generate and measure.
    #[arg(long, value_delimiter = ',', default_value = "1,10,100,1000")]
    n: Vec<usize>,
    /// Configurations (layout-pagesize[-glibc[-dlopen]]), default the six
    /// libc-less ones (lld-4k ... bfd-64k); `-glibc` links the main program
    /// with glibc, `-glibc-dlopen` makes it dlopen the libraries.
    #[arg(long, value_delimiter = ',')]
    configs: Option<Vec<String>>,
    /// Loaders to run: glibc, glibc+audit, musl, guard, prot-none, extend,
    /// native (guardld --glibc native; not in the default list).
    #[arg(long, value_delimiter = ',', default_value = "glibc,glibc+audit,musl,guard,prot-none,extend")]
    loaders: Vec<String>,
    /// Timed runs per loader and configuration (interleaved across loaders).
    #[arg(long, default_value_t = 11)]
    runs: usize,
    /// N = 1,10,100, only lld-64k and bfd-4k, 5 runs (unless given explicitly).
    #[arg(long)]
    quick: bool,
    /// Write all results as JSON: to FILE, or to stdout instead of the table
    /// when no FILE (or `-`) is given.
    #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = "-")]
    json: Option<String>,
    /// Write an SVG chart (VMAs and median load time against N, one line per
    /// loader) for the lld-64k configuration (else the first one measured).
    #[arg(long, value_name = "FILE.svg")]
    plot: Option<PathBuf>,
    /// guardld binary (default: target/release/guardld of this workspace, or
    /// next to the vmabench binary). glibc+audit uses the libguardld_audit.so
    /// beside it.
    #[arg(long)]
    guardld: Option<PathBuf>,
    /// Where generated trees are cached (default: <workspace>/target/vmabench).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Directory holding `ld.lld` for the lld layout (gcc -B DIR -fuse-ld=lld);
    /// default: $(rustc --print sysroot)/lib/rustlib/x86_64-unknown-linux-gnu/bin/gcc-ld.
    #[arg(long, value_name = "DIR")]
    gcc_ld_dir: Option<PathBuf>,
    /// Parallel gcc jobs when generating.
    #[arg(long, default_value_t = 2)]
    jobs: usize,
    /// Skip the strace syscall counts.
    #[arg(long)]
    no_strace: bool,
    /// Verify the max_map_count prediction for glibc and guardld (lld-64k):
    /// lowers vm.max_map_count for a moment (root), restores it afterwards.
    #[arg(long)]
    verify_max_map_count: bool,
    /// Library count of the program used by --verify-max-map-count.
    #[arg(long, default_value_t = 1000)]
    verify_n: usize,
    /// The glibc main program dlopens its N libraries (RTLD_NOW|RTLD_GLOBAL,
    /// in order) instead of NEEDing them, calls them through dlsym and times
    /// its dlopen loop itself: every configuration becomes its `-glibc-dlopen`
    /// variant (default lld-64k-glibc-dlopen; loaders glibc,glibc+audit,native
    /// and N = 10,100 unless given).
    #[arg(long)]
    dlopen: bool,
    /// Instead of the N-library runs: the index's worst case, one library
    /// exporting this many functions of which the program uses ten.
    #[arg(long, value_name = "EXPORTS")]
    worst_case: Option<usize>,
}

fn workspace_root() -> Option<PathBuf> {
    let r = Path::new(env!("CARGO_MANIFEST_DIR")).parent()?.to_path_buf();
    r.join("Cargo.toml").exists().then_some(r)
}

fn exe_dir() -> Option<PathBuf> {
    std::env::current_exe().ok()?.parent().map(Path::to_path_buf)
}

fn default_guardld() -> PathBuf {
    if let Some(r) = workspace_root() {
        let p = r.join("target/release/guardld");
        if p.exists() {
            return p;
        }
    }
    exe_dir().map(|d| d.join("guardld")).unwrap_or_else(|| PathBuf::from("guardld"))
}

fn default_cache() -> PathBuf {
    if let Some(r) = workspace_root() {
        return r.join("target/vmabench");
    }
    exe_dir().and_then(|d| d.parent().map(|p| p.join("vmabench"))).unwrap_or_else(|| PathBuf::from("vmabench-cache"))
}

fn die(msg: impl std::fmt::Display) -> ! {
    eprintln!("vmabench: {msg}");
    std::process::exit(2);
}

fn bar(len: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template("{prefix:>9} [{elapsed_precise}] {bar:40} {pos}/{len} {msg}")
            .unwrap()
            .progress_chars("=> "),
    );
    pb.set_prefix(what.to_string());
    pb
}

fn median(v: &[f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let m = s.len() / 2;
    Some(if s.len() % 2 == 1 { s[m] } else { (s[m - 1] + s[m]) / 2.0 })
}

/// The q-quantile of `v` (0 <= q <= 1), by linear interpolation between
/// the sorted values.
fn quantile(v: &[f64], q: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let pos = q.clamp(0.0, 1.0) * (s.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    Some(s[lo] + (s[hi] - s[lo]) * (pos - lo as f64))
}

fn machine(objsize: Option<u64>) -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, m)| m.trim().to_string()))
        .unwrap_or_else(|| "unknown".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_string();
    Machine {
        nproc: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        cpu_model,
        kernel,
        max_map_count: maxmap::read_max_map_count(),
        vma_struct_bytes_each: objsize.unwrap_or(VMA_BYTES_ESTIMATE),
        vma_struct_bytes_source: if objsize.is_some() {
            "/proc/slabinfo vm_area_struct objsize (slab overhead not included)".into()
        } else {
            format!("estimate: {VMA_BYTES_ESTIMATE} bytes per VMA (/proc/slabinfo not readable)")
        },
        is_root: unsafe { libc::geteuid() } == 0,
    }
}

fn main() {
    let t0 = Instant::now();
    let mut cli = Cli::parse();
    let argv: Vec<String> = std::env::args().collect();
    let explicit = |flag: &str| argv.iter().any(|a| a == flag || a.starts_with(&format!("{flag}=")));
    if cli.quick {
        if !explicit("--n") {
            cli.n = vec![1, 10, 100];
        }
        if !explicit("--configs") && !cli.dlopen {
            cli.configs = Some(vec!["lld-64k".into(), "bfd-4k".into()]);
        }
        if !explicit("--runs") {
            cli.runs = 5;
        }
    }
    if cli.dlopen {
        if !explicit("--n") {
            cli.n = vec![10, 100];
        }
        if !explicit("--loaders") {
            cli.loaders = vec!["glibc".into(), "glibc+audit".into(), "native".into()];
        }
        if cli.configs.is_none() {
            cli.configs = Some(vec!["lld-64k-glibc-dlopen".into()]);
        }
    }
    let mut configs: Vec<Config> = match &cli.configs {
        None => Config::all(),
        Some(v) => v
            .iter()
            .map(|s| {
                Config::parse(s)
                    .unwrap_or_else(|| die(format!("bad configuration '{s}' (e.g. lld-64k, bfd-4k, lld-64k-glibc, lld-64k-glibc-dlopen)")))
            })
            .collect(),
    };
    if cli.dlopen {
        for c in configs.iter_mut() {
            if !c.glibc {
                die(format!("--dlopen: {} is not a glibc configuration (the dlopen program is linked with glibc: use {}-glibc)", c.name(), c.name()));
            }
            c.dlopen = true;
        }
        configs.dedup();
    }
    let mut ns = cli.n.clone();
    ns.sort_unstable();
    ns.dedup();
    if ns.is_empty() {
        die("--n: no library counts");
    }
    let runs = cli.runs.max(1);

    // Loaders.
    // Absolute: programs run with their tree as the working directory.
    let abs = |p: PathBuf| std::path::absolute(&p).unwrap_or(p);
    let guardld_requested = abs(cli.guardld.clone().unwrap_or_else(default_guardld));
    let cache = abs(cli.cache_dir.clone().unwrap_or_else(default_cache));
    // Run a private copy: target/release/guardld may be rebuilt while we run.
    let wants_guardld = cli.loaders.iter().any(|l| matches!(l.as_str(), "guard" | "prot-none" | "extend" | "native"));
    if wants_guardld && !guardld_requested.exists() {
        die(format!(
            "guardld not found at {} (build it: cargo build --release -p guardld, or pass --guardld PATH)",
            guardld_requested.display()
        ));
    }
    let (guardld, guardld_id) = if wants_guardld {
        let (p, id) = snapshot_guardld(&guardld_requested, &cache);
        (p, Some(id))
    } else {
        (guardld_requested.clone(), None)
    };
    // The audit module beside that guardld (also a private copy); a missing
    // one makes glibc+audit skipped, never glibc alone under its name.
    let audit_requested = guardld_requested.with_file_name(AUDIT_MODULE);
    let wants_audit = cli.loaders.iter().any(|l| l == "glibc+audit");
    let (audit, audit_id) = if wants_audit && audit_requested.is_file() {
        let (p, id) = snapshot(&audit_requested, &cache, "libguardld_audit-", ".so");
        (p, Some(id))
    } else {
        (audit_requested.clone(), None)
    };
    let mut loaders: Vec<Loader> = Vec::new();
    let mut loader_infos: Vec<LoaderInfo> = Vec::new();
    for name in &cli.loaders {
        let (full, argv, path): (String, Vec<OsString>, PathBuf) = match name.as_str() {
            "glibc" => ("glibc".into(), vec![GLIBC_LDSO.into()], GLIBC_LDSO.into()),
            "glibc+audit" => (
                "glibc+audit".into(),
                vec![GLIBC_LDSO.into(), "--audit".into(), audit.clone().into()],
                audit.clone(),
            ),
            "musl" => ("musl".into(), vec![MUSL_LDSO.into()], MUSL_LDSO.into()),
            "guard" | "prot-none" | "extend" => (
                format!("guardld-{name}"),
                vec![guardld.clone().into(), "--padding".into(), name.into()],
                guardld.clone(),
            ),
            "native" => (
                "guardld-native".into(),
                vec![guardld.clone().into(), "--glibc".into(), "native".into()],
                guardld.clone(),
            ),
            _ => die(format!("unknown loader '{name}' (glibc, glibc+audit, musl, guard, prot-none, extend, native)")),
        };
        let available = path.exists() && Path::new(&argv[0]).exists();
        let skipped = (!available).then(|| match name.as_str() {
            "glibc+audit" if !path.exists() => format!(
                "{} not found beside guardld (build it: cargo build --release -p guardld-audit, or pass --guardld PATH with the module beside it)",
                path.display()
            ),
            _ => format!("{} not found", if path.exists() { Path::new(&argv[0]) } else { path.as_path() }.display()),
        });
        if !available && !matches!(name.as_str(), "musl" | "glibc+audit") {
            die(format!("loader {full}: {} not found", path.display()));
        }
        loader_infos.push(LoaderInfo {
            name: full.clone(),
            argv: argv.iter().map(|a| a.to_string_lossy().into_owned()).collect(),
            available,
            skipped,
        });
        if available {
            loaders.push(Loader { name: full, argv, hands_over: false });
        }
    }
    if loaders.is_empty() {
        die("no loader to run");
    }
    if let Some(exports) = cli.worst_case {
        match worst::run(&cache, exports.max(10), &loaders, runs) {
            Ok((text, json)) => {
                print!("{text}");
                if let Some(f) = cli.json.as_deref().filter(|f| *f != "-") {
                    std::fs::write(f, serde_json::to_string_pretty(&json).unwrap()).unwrap_or_else(|e| die(format!("{f}: {e}")));
                }
                return;
            }
            Err(e) => die(e),
        }
    }
    // The loaders of each configuration: glibc programs are not musl's, and
    // guardld (--glibc audit) hands them to glibc's ld.so.
    let handover = if configs.iter().any(|c| c.glibc) && loaders.iter().any(|l| matches!(l.name.as_str(), "guardld-guard" | "guardld-prot-none")) {
        Some(snapshot_handover(&guardld_requested, &audit_requested, &cache))
    } else {
        None
    };
    let requested: Vec<&str> = loader_infos.iter().map(|l| l.name.as_str()).collect();
    let plans: Vec<(Vec<Loader>, Vec<Skipped>, Vec<String>)> =
        configs.iter().map(|c| config_loaders(c, &requested, &loaders, handover.as_ref())).collect();
    let strace = !cli.no_strace && measure::strace_available();
    let objsize = measure::vma_objsize();
    let vma_bytes = objsize.unwrap_or(VMA_BYTES_ESTIMATE);
    let max_map_count = maxmap::read_max_map_count();

    // Generate.
    let lld_dir = if configs.iter().any(|c| c.layout == Layout::Lld) || (cli.verify_max_map_count && maxmap::needs_root().is_none()) {
        match &cli.gcc_ld_dir {
            Some(d) if d.join("ld.lld").exists() => abs(d.clone()),
            Some(d) => die(format!("--gcc-ld-dir: no ld.lld in {}", d.display())),
            None => generate::rustc_lld_dir().unwrap_or_else(|e| die(format!("{e} (the lld layout needs rust-lld: pass --gcc-ld-dir)"))),
        }
    } else {
        PathBuf::new()
    };
    let builder = Builder { root: cache.clone(), lld_dir, jobs: cli.jobs };
    let max_n = *ns.last().unwrap();
    let mut mains: Vec<usize> = ns.clone();
    if !mains.contains(&0) {
        mains.insert(0, 0);
    }
    let pb = bar((configs.len() * (max_n + mains.len())) as u64, "generate");
    let mut trees: Vec<Tree> = Vec::new();
    for c in &configs {
        pb.set_message(c.name());
        let t = builder.ensure(c, max_n, &mains, &|k| pb.inc(k)).unwrap_or_else(|e| {
            pb.abandon();
            die(e)
        });
        trees.push(t);
    }
    pb.finish_and_clear();

    // Measure.
    let per_n = |k: usize| (runs + 1 + strace as usize) as u64 * k as u64;
    let total: u64 = plans.iter().map(|(l, _, _)| l.len() as u64 + ns.len() as u64 * per_n(l.len())).sum();
    let pb = bar(total, "measure");
    let strace_tmp = std::env::temp_dir().join(format!("vmabench-strace-{}.txt", std::process::id()));
    let mut config_reports: Vec<ConfigReport> = Vec::new();
    for (tree, (loaders, skipped_loaders, notes)) in trees.iter().zip(plans) {
        let has_glibc = loaders.iter().any(|l| l.name == "glibc");
        let c = tree.config;
        let dir = measure::canonical(&tree.dir);
        let libs: Vec<(String, ObjInfo)> = (0..max_n)
            .map(|i| {
                let p = measure::canonical(&tree.lib(i));
                let info = ObjInfo::read(&p).unwrap_or_else(|e| die(e));
                (p.display().to_string(), info)
            })
            .collect();
        let lib_info = libs.first().map(|l| l.1.clone()).unwrap_or_else(|| ObjInfo::read(&tree.lib(0)).unwrap_or_default());
        let objects = |n: usize| -> Objects {
            let p = measure::canonical(&tree.main(n));
            let info = ObjInfo::read(&p).unwrap_or_else(|e| die(e));
            Objects { libs: libs[..n].to_vec(), main: (p.display().to_string(), info) }
        };

        // Baselines: the 0-library program under each loader.
        let mut baseline: Vec<Row> = Vec::new();
        let objs0 = objects(0);
        for l in &loaders {
            pb.set_message(format!("{} N=0 {}", c.name(), l.name));
            let mut row = Row::new(&c, 0, &l.name);
            match measure::stat_run(l, &tree.main(0), &dir, &objs0) {
                Ok(s) => row.set_stat(s),
                Err(e) => row.error = Some(e),
            }
            baseline.push(row);
            pb.inc(1);
        }

        let mut rows: Vec<Row> = Vec::new();
        for &n in &ns {
            let objs = objects(n);
            let prog = tree.main(n);
            let mut nrows: Vec<Row> = loaders.iter().map(|l| Row::new(&c, n, &l.name)).collect();
            for (l, row) in loaders.iter().zip(nrows.iter_mut()) {
                pb.set_message(format!("{} N={n} {} stat", c.name(), l.name));
                match measure::stat_run(l, &prog, &dir, &objs) {
                    Ok(s) => row.set_stat(s),
                    Err(e) => row.error = Some(e),
                }
                pb.inc(1);
                match measure::phases_run(l, &prog, &dir) {
                    Some(Ok(p)) => row.guardld_phases = Some(p),
                    Some(Err(e)) => row.guardld_phases_error = Some(e),
                    None => {}
                }
                if strace {
                    pb.set_message(format!("{} N={n} {} strace", c.name(), l.name));
                    match measure::strace_run(l, &prog, &dir, &strace_tmp) {
                        Ok(s) => row.syscalls = Some(s),
                        Err(e) => row.syscalls_error = Some(e),
                    }
                    pb.inc(1);
                }
            }
            // Timing, interleaved: A1 B1 C1 ... A2 B2 C2 ...
            pb.set_message(format!("{} N={n} timing", c.name()));
            for _ in 0..runs {
                for (l, row) in loaders.iter().zip(nrows.iter_mut()) {
                    match measure::time_run_with(l, &prog, &dir, c.dlopen || c.glibc) {
                        Ok(measure::Timed { wall, exit, inner, to_main }) => {
                            row.times_ms.push(wall.as_secs_f64() * 1e3);
                            if !exit.ok() {
                                row.exit_failures.push(format!("timed run: {}", exit.describe()));
                            } else if c.glibc && !c.dlopen {
                                match to_main {
                                    Some(t) => row.main_times_ms.push(t.as_secs_f64() * 1e3),
                                    None => row.exit_failures.push("timed run: no main_ns line on stdout".into()),
                                }
                            } else if c.dlopen {
                                match inner {
                                    Some(p) => {
                                        row.dlopen_times_ms.push(p.dlopen_ns as f64 / 1e6);
                                        row.calls_times_ms.push(p.calls_ns as f64 / 1e6);
                                    }
                                    None => row.exit_failures.push("timed run: no dlopen_ns line on stdout".into()),
                                }
                            }
                        }
                        Err(e) => row.exit_failures.push(e),
                    }
                    pb.inc(1);
                }
            }
            rows.extend(nrows);
        }

        // Derived fields.
        for row in rows.iter_mut() {
            // A load that failed has no load time.
            row.median_ms = if row.all_exits_ok() { median(&row.times_ms) } else { None };
            if row.all_exits_ok() && !row.dlopen_times_ms.is_empty() {
                row.dlopen_median_ms = median(&row.dlopen_times_ms);
                row.dlopen_q1_ms = quantile(&row.dlopen_times_ms, 0.25);
                row.dlopen_q3_ms = quantile(&row.dlopen_times_ms, 0.75);
                row.calls_median_ms = median(&row.calls_times_ms);
            }
            if row.all_exits_ok() && !row.main_times_ms.is_empty() {
                row.main_median_ms = median(&row.main_times_ms);
                row.main_q1_ms = quantile(&row.main_times_ms, 0.25);
                row.main_q3_ms = quantile(&row.main_times_ms, 0.75);
            }
            let base = baseline.iter().find(|b| b.loader == row.loader).and_then(|b| b.stat.as_ref().map(|s| s.vmas_total));
            row.derive(vma_bytes, objsize.is_none(), base, max_map_count);
            row.check();
        }
        if has_glibc {
            // glibc's medians per N: (N, whole run, dlopen loop, to main).
            type Medians = (usize, Option<f64>, Option<f64>, Option<f64>);
            let glibc: Vec<Medians> = rows.iter().filter(|r| r.loader == "glibc").map(|r| (r.n, r.median_ms, r.dlopen_median_ms, r.main_median_ms)).collect();
            let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
                (Some(a), Some(b)) if b > 0.0 => Some(a / b),
                _ => None,
            };
            for row in rows.iter_mut() {
                let g = glibc.iter().find(|g| g.0 == row.n);
                row.time_ratio_to_glibc = ratio(row.median_ms, g.and_then(|g| g.1));
                row.dlopen_ratio_to_glibc = ratio(row.dlopen_median_ms, g.and_then(|g| g.2));
                row.main_ratio_to_glibc = ratio(row.main_median_ms, g.and_then(|g| g.3));
            }
        }
        for row in baseline.iter_mut() {
            row.derive(vma_bytes, objsize.is_none(), None, max_map_count);
            row.check();
        }
        config_reports.push(ConfigReport {
            config: c.name(),
            layout: c.layout,
            max_page_size_kib: c.page_kib,
            glibc: c.glibc,
            dlopen: c.dlopen,
            skipped_loaders,
            notes,
            dir: dir.display().to_string(),
            lib_pt_loads: lib_info.loads.len(),
            lib_padding_pages: lib_info.padding_pages(),
            baseline,
            rows,
        });
    }
    pb.finish_and_clear();

    // --verify-max-map-count
    let mut verification = None;
    let mut verification_note = None;
    if cli.verify_max_map_count {
        match maxmap::needs_root() {
            Some(msg) => {
                eprintln!("{msg}");
                verification_note = Some(msg);
            }
            None => match run_verify(&builder, &loaders, cli.verify_n) {
                Ok(v) => verification = Some(v),
                Err(e) => {
                    let msg = format!("--verify-max-map-count failed: {e}");
                    eprintln!("{msg}");
                    verification_note = Some(msg);
                }
            },
        }
    }

    let report = Report {
        command: argv.clone(),
        machine: machine(objsize),
        runs,
        ns: ns.clone(),
        strace: if strace { format!("strace -f -c -e {}", measure::STRACE_SET) } else { "n/a".into() },
        loaders: loader_infos,
        guardld: guardld_id,
        audit_module: audit_id,
        configs: config_reports,
        max_map_count_verification: verification,
        max_map_count_verification_note: verification_note,
        elapsed_s: 0.0,
    };
    let mut report = report;
    report.elapsed_s = t0.elapsed().as_secs_f64();

    if let Some(p) = &cli.plot
        && let Err(e) = plot::plot(&report, p)
    {
        eprintln!("vmabench: plot: {e}");
    }
    let json = serde_json::to_string_pretty(&report).unwrap();
    match cli.json.as_deref() {
        Some("-") => println!("{json}"),
        Some(f) => {
            std::fs::write(f, format!("{json}\n")).unwrap_or_else(|e| die(format!("write {f}: {e}")));
            print!("{}", report::table(&report));
        }
        None => print!("{}", report::table(&report)),
    }
    let failed = report.configs.iter().flat_map(|c| c.rows.iter()).any(|r| !r.ok());
    if failed {
        eprintln!("vmabench: some runs did not exit 0 or a loader broke its padding promise (see the FAIL lines, exit_failures, check_failures)");
        std::process::exit(1);
    }
}

/// What runs configuration `c`'s programs: every available loader for
/// libc-less programs; for glibc programs (`-glibc`) glibc, glibc+audit and
/// guardld-native as they are, guard and prot-none as guardld's hand-over
/// to glibc's ld.so (`--glibc audit`: with the audit module beside guardld,
/// resp. without it, as docs/audit.md describes; the copy in `handover`
/// has the module beside it), musl (asked for, installed or not) and
/// extend skipped with the reason. `requested`: the loaders asked for
/// (full names, available or not).
fn config_loaders(
    c: &Config,
    requested: &[&str],
    loaders: &[Loader],
    handover: Option<&Result<PathBuf, String>>,
) -> (Vec<Loader>, Vec<Skipped>, Vec<String>) {
    if !c.glibc {
        return (loaders.to_vec(), Vec::new(), Vec::new());
    }
    let (mut run, mut skipped, mut notes) = (Vec::new(), Vec::new(), Vec::new());
    if requested.contains(&"musl") {
        let reason = "musl's ld.so cannot run glibc programs (they need glibc's ld.so and libc.so.6)".to_string();
        skipped.push(Skipped { loader: "musl".into(), reason });
    }
    let mut skip = |l: &Loader, reason: String| skipped.push(Skipped { loader: l.name.clone(), reason });
    for l in loaders {
        match l.name.as_str() {
            "musl" => {}
            "guardld-extend" => skip(
                l,
                "guardld hands glibc programs to glibc's ld.so with the audit module, which guards the padding: --padding extend is not \
                 honoured there (the row would repeat guard's)"
                    .into(),
            ),
            "guardld-guard" | "guardld-prot-none" => match handover {
                Some(Ok(g)) => {
                    let mode = l.name.trim_start_matches("guardld-");
                    let argv: Vec<OsString> = vec![g.clone().into(), "--padding".into(), mode.into(), "--glibc".into(), "audit".into()];
                    notes.push(format!(
                        "{}: guardld hands the program to glibc's ld.so (--glibc audit), {} ({})",
                        l.name,
                        if mode == "guard" { "with the audit module beside it" } else { "without the audit module" },
                        argv.iter().map(|a| a.to_string_lossy()).collect::<Vec<_>>().join(" ")
                    ));
                    run.push(Loader { name: l.name.clone(), argv, hands_over: true });
                }
                Some(Err(e)) => skip(l, format!("guardld hands glibc programs to glibc's ld.so with the audit module beside it: {e}")),
                None => skip(l, "no hand-over copy of guardld".into()),
            },
            _ => run.push(l.clone()),
        }
    }
    (run, skipped, notes)
}

/// guardld and its audit module, copied together into
/// `<cache>/handover-<hash>/` (guardld looks for the module beside itself
/// when it hands a glibc program to glibc's ld.so): the private copies that
/// run guard and prot-none on glibc programs. Forgets such directories
/// unused for a day.
fn snapshot_handover(guardld: &Path, module: &Path, cache: &Path) -> Result<PathBuf, String> {
    use std::os::unix::fs::PermissionsExt;
    if !module.is_file() {
        return Err(format!(
            "{} not found (build it: cargo build --release -p guardld-audit, or pass --guardld PATH with the module beside it)",
            module.display()
        ));
    }
    let g = std::fs::read(guardld).map_err(|e| format!("{}: {e}", guardld.display()))?;
    let m = std::fs::read(module).map_err(|e| format!("{}: {e}", module.display()))?;
    let dir = cache.join(format!("handover-{:016x}", generate::fnv(&[&g, &m])));
    if !(dir.join("guardld").is_file() && dir.join(AUDIT_MODULE).is_file()) {
        let tmp = cache.join(format!("{}.tmp{}", dir.file_name().unwrap().to_string_lossy(), std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp).map_err(|e| format!("mkdir {}: {e}", tmp.display()))?;
        std::fs::write(tmp.join("guardld"), &g).map_err(|e| format!("write {}: {e}", tmp.display()))?;
        std::fs::set_permissions(tmp.join("guardld"), std::fs::Permissions::from_mode(0o755)).map_err(|e| format!("chmod: {e}"))?;
        std::fs::write(tmp.join(AUDIT_MODULE), &m).map_err(|e| format!("write {}: {e}", tmp.display()))?;
        if std::fs::rename(&tmp, &dir).is_err() {
            // Another run made it meanwhile.
            let _ = std::fs::remove_dir_all(&tmp);
            if !dir.join("guardld").is_file() {
                return Err(format!("could not make {}", dir.display()));
            }
        }
    }
    if let Ok(rd) = std::fs::read_dir(cache) {
        for e in rd.flatten() {
            let old = unused_for_a_day(&e);
            if e.file_name().to_string_lossy().starts_with("handover-") && e.path() != dir && old {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    // Touch it, so that the clean-up of a later run sees it in use.
    let _ = std::fs::File::open(&dir).and_then(|f| f.set_modified(std::time::SystemTime::now()));
    Ok(dir.join("guardld"))
}

/// Copy guardld to `<cache>/guardld-<hash>` and describe it. Falls back to
/// the original path if the copy fails.
fn snapshot_guardld(path: &Path, cache: &Path) -> (PathBuf, report::GuardldId) {
    let (used, mut id) = snapshot(path, cache, "guardld-", "");
    id.version = std::process::Command::new(path)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    (used, id)
}

/// Copy `path` to `<cache>/<prefix><hash><suffix>` (executable) and describe
/// it; forget copies with the same prefix unused for a day. Falls back to
/// the original path if the copy fails.
fn snapshot(path: &Path, cache: &Path, prefix: &str, suffix: &str) -> (PathBuf, report::GuardldId) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| die(format!("{}: {e}", path.display())));
    let hash = format!("{:016x}", generate::fnv(&[&bytes]));
    let mtime = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs());
    let snap = cache.join(format!("{prefix}{hash}{suffix}"));
    let used = if snap.exists() {
        snap
    } else {
        use std::os::unix::fs::PermissionsExt;
        let tmp = cache.join(format!("{prefix}{hash}.tmp{}", std::process::id()));
        let ok = std::fs::create_dir_all(cache).is_ok()
            && std::fs::write(&tmp, &bytes).is_ok()
            && std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).is_ok()
            && std::fs::rename(&tmp, &snap).is_ok();
        if ok { snap } else { path.to_path_buf() }
    };
    // Forget snapshots of older builds (a day unused: no run still needs them).
    if let Ok(rd) = std::fs::read_dir(cache) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let old = unused_for_a_day(&e);
            if name.starts_with(prefix) && e.path() != used && old {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    let id = report::GuardldId {
        path: path.display().to_string(),
        run_as: used.display().to_string(),
        version: String::new(),
        fnv64: hash,
        mtime_unix: mtime,
    };
    (used, id)
}

fn run_verify(builder: &Builder, loaders: &[Loader], n_over: usize) -> Result<maxmap::Verify, String> {
    let c = Config { layout: Layout::Lld, page_kib: 64, glibc: false, dlopen: false };
    let glibc = loaders.iter().find(|l| l.name == "glibc").ok_or("needs the glibc loader")?;
    let guard = loaders.iter().find(|l| l.name == "guardld-guard").ok_or("needs the guard loader")?;
    let pb = bar((n_over + 2) as u64, "verify");
    let tree = builder.ensure(&c, n_over, &[0, n_over], &|k| pb.inc(k))?;
    pb.finish_and_clear();
    let dir = measure::canonical(&tree.dir);
    let libs: Vec<(String, ObjInfo)> = (0..n_over)
        .map(|i| {
            let p = measure::canonical(&tree.lib(i));
            ObjInfo::read(&p).map(|info| (p.display().to_string(), info))
        })
        .collect::<Result<_, _>>()?;
    let objs = |n: usize| -> Result<Objects, String> {
        let p = measure::canonical(&tree.main(n));
        Ok(Objects { libs: libs[..n].to_vec(), main: (p.display().to_string(), ObjInfo::read(&p)?) })
    };
    let (o0, on) = (objs(0)?, objs(n_over)?);
    let mut models = Vec::new();
    for l in [glibc, guard] {
        let b = measure::stat_run(l, &tree.main(0), &dir, &o0)?;
        let s = measure::stat_run(l, &tree.main(n_over), &dir, &on)?;
        let (Some(b), Some(s)) = (b.stat, s.stat) else {
            return Err(format!("{} did not run the programs at the normal limit", l.name));
        };
        models.push(maxmap::LoaderModel {
            loader: l.name.clone(),
            baseline_vmas: b.vmas_total,
            vmas_per_lib: s.vmas_in_lib_spans as f64 / n_over as f64,
            measured_n: n_over,
            predicted_limit_at_set: 0,
            predicted_limit_at_original: 0,
        });
    }
    let build_main = |n: usize| -> Result<PathBuf, String> {
        let t = builder.ensure(&c, n_over, &[n], &|_| {})?;
        Ok(t.main(n))
    };
    maxmap::verify(&c.name(), &dir, &[glibc.clone(), guard.clone()], models, n_over, &build_main)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loader(name: &str, argv: &[&str]) -> Loader {
        Loader { name: name.into(), argv: argv.iter().map(OsString::from).collect(), hands_over: false }
    }

    fn all() -> Vec<Loader> {
        vec![
            loader("glibc", &[GLIBC_LDSO]),
            loader("glibc+audit", &[GLIBC_LDSO, "--audit", "/c/libguardld_audit-1.so"]),
            loader("musl", &[MUSL_LDSO]),
            loader("guardld-guard", &["/c/guardld-1", "--padding", "guard"]),
            loader("guardld-prot-none", &["/c/guardld-1", "--padding", "prot-none"]),
            loader("guardld-extend", &["/c/guardld-1", "--padding", "extend"]),
            loader("guardld-native", &["/c/guardld-1", "--glibc", "native"]),
        ]
    }

    const NAMES: [&str; 7] = ["glibc", "glibc+audit", "musl", "guardld-guard", "guardld-prot-none", "guardld-extend", "guardld-native"];

    #[test]
    fn libc_less_configs_run_every_loader() {
        let c = Config::parse("lld-64k").unwrap();
        let ho = Ok(PathBuf::from("/c/handover-1/guardld"));
        let (run, skipped, notes) = config_loaders(&c, &NAMES, &all(), Some(&ho));
        assert_eq!(run.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(), NAMES);
        assert_eq!(run.iter().map(|l| &l.argv).collect::<Vec<_>>(), all().iter().map(|l| &l.argv).collect::<Vec<_>>());
        assert!(run.iter().all(|l| !l.hands_over));
        assert!(skipped.is_empty() && notes.is_empty());
    }

    #[test]
    fn quantiles() {
        let v = [4.0, 1.0, 3.0, 2.0, 5.0];
        assert_eq!(quantile(&v, 0.5), Some(3.0));
        assert_eq!(quantile(&v, 0.25), Some(2.0));
        assert_eq!(quantile(&v, 0.75), Some(4.0));
        assert_eq!(quantile(&[1.0, 2.0], 0.25), Some(1.25));
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn dlopen_configs_run_the_glibc_loaders() {
        // The dlopen program is a glibc program: the same loaders, skips and
        // hand-over as its -glibc configuration.
        let g = Config::parse("lld-64k-glibc").unwrap();
        let d = Config::parse("lld-64k-glibc-dlopen").unwrap();
        assert!(d.dlopen && d.glibc);
        let ho = Ok(PathBuf::from("/c/handover-1/guardld"));
        let (rg, sg, ng) = config_loaders(&g, &NAMES, &all(), Some(&ho));
        let (rd, sd, nd) = config_loaders(&d, &NAMES, &all(), Some(&ho));
        let names = |r: &[Loader]| r.iter().map(|l| (l.name.clone(), l.argv.clone())).collect::<Vec<_>>();
        assert_eq!(names(&rg), names(&rd));
        assert_eq!(sg.iter().map(|s| &s.loader).collect::<Vec<_>>(), sd.iter().map(|s| &s.loader).collect::<Vec<_>>());
        assert_eq!(ng, nd);
    }

    #[test]
    fn glibc_configs() {
        let c = Config::parse("lld-64k-glibc").unwrap();
        let ho = Ok(PathBuf::from("/c/handover-1/guardld"));
        let (run, skipped, notes) = config_loaders(&c, &NAMES, &all(), Some(&ho));
        let names: Vec<&str> = run.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["glibc", "glibc+audit", "guardld-guard", "guardld-prot-none", "guardld-native"]);
        let skipped: Vec<&str> = skipped.iter().map(|s| s.loader.as_str()).collect();
        assert_eq!(skipped, ["musl", "guardld-extend"]);
        let argv = |n: &str| run.iter().find(|l| l.name == n).unwrap().argv.iter().map(|a| a.to_string_lossy().into_owned()).collect::<Vec<_>>();
        // guard: guardld hands over, with the module beside the copy.
        assert_eq!(argv("guardld-guard"), ["/c/handover-1/guardld", "--padding", "guard", "--glibc", "audit"]);
        assert_eq!(argv("guardld-prot-none"), ["/c/handover-1/guardld", "--padding", "prot-none", "--glibc", "audit"]);
        assert_eq!(argv("guardld-native"), ["/c/guardld-1", "--glibc", "native"]);
        assert_eq!(argv("glibc"), [GLIBC_LDSO]);
        assert!(run.iter().filter(|l| l.hands_over).count() == 2);
        assert_eq!(notes.len(), 2);
        // musl asked for but not installed: still skipped for the glibc
        // configuration, with its reason.
        let no_musl: Vec<Loader> = all().into_iter().filter(|l| l.name != "musl").collect();
        let (_, skipped, _) = config_loaders(&c, &NAMES, &no_musl, Some(&ho));
        assert!(skipped[0].loader == "musl" && skipped[0].reason.contains("cannot run glibc programs"));
        // No module for the hand-over: guard and prot-none skipped, saying why.
        let err = Err("libguardld_audit.so not found".to_string());
        let (run, skipped, _) = config_loaders(&c, &NAMES, &all(), Some(&err));
        assert!(!run.iter().any(|l| l.name.starts_with("guardld-guard") || l.name == "guardld-prot-none"));
        assert!(skipped.iter().any(|s| s.loader == "guardld-guard" && s.reason.contains("not found")));
    }
}

/// Whether a cache entry was last modified more than a day ago (no run
/// still needs it).
fn unused_for_a_day(e: &std::fs::DirEntry) -> bool {
    e.metadata().and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok()).is_some_and(|age| age.as_secs() > 86400)
}
