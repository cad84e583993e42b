//! zygote-bench: guard regions vs PROT_NONE padding in a forking "zygote".
//!
//! Builds N libraries from zygote/c/zlib.c (freestanding C, rust-lld,
//! 64 KiB max-page-size: four PT_LOADs, three padding gaps each) and the
//! libc-less zygote program (zygote/c/zygote.c with testbins/rt), and for
//! the glibc modes the glibc zygote (zygote/c/gzygote.c), then runs
//! `guardld --padding MODE zygote N M LIBDIR` for each mode (guard and
//! prot-none by default) and prints a comparison: VMAs per child, VMAs,
//! vm_area_struct memory and page tables across the fleet, fork latency
//! medians, and whether the children inherited the guards (a forked probe
//! touching a padding page dies with SIGSEGV; the child's pagemap shows
//! the guards).
//!
//! ```text
//! zygote-bench [--guardld PATH] [-n N] [-m M] [--rounds R] [--work-dir DIR]
//!              [--modes guard,prot-none] [--linker lld|bfd] [--sysroot DIR]
//!              [--audit PATH] [--raw] [--json]
//! ```
//! Modes: guard, prot-none, extend (the libc-less zygote under
//! `guardld --padding MODE`), glibc and glibc-audit (the glibc zygote,
//! zygote/c/gzygote.c, under glibc's own ld.so; glibc-audit with
//! LD_AUDIT=libguardld_audit.so, default next to guardld).
//! Defaults: N=100, M=50, R=3 rounds (the modes alternate within each
//! round; latency medians are over all M x R children), guardld from
//! target/release, work directory target/zygote, libraries linked by
//! rust-lld (`--linker bfd`: the libraries by GNU ld with -z separate-code:
//! page-aligned file offsets, so the planner can attach padding to the
//! segment after it; see docs/mapping.md "Guards and fork"; the zygote
//! program is always linked by rust-lld).
//! Output: a Markdown table (fleet = the zygote parent + its M children;
//! ratio columns: each mode against the first), then one
//! `summary mode=... key=value...` line per mode (for scripts and
//! tests/api.rs); with `--json` one JSON document instead (the same
//! numbers, and every child's fork() time). Exit 0 if every check held
//! (library calls right in every child, every probe SIGSEGV except under
//! extend, every child exited 0), 1 otherwise, 2 on usage or build errors.
//!
//! See docs/perf.md, "## zygote".

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

/// The workspace root (zygote/ is one of its members).
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

struct Opts {
    guardld: PathBuf,
    n: usize,
    m: usize,
    work: PathBuf,
    modes: Vec<String>,
    rounds: usize,
    raw: bool,
    json: bool,
    /// Link the libraries and the zygote with GNU ld instead of rust-lld.
    bfd: bool,
    /// Rust sysroot (for rust-lld's gcc-ld directory); default from
    /// `rustc --print sysroot`.
    sysroot: Option<String>,
    /// guardld's audit module for the glibc-audit mode; default: next to
    /// guardld (target/release/libguardld_audit.so).
    audit: Option<PathBuf>,
}

const USAGE: &str = "usage: zygote-bench [--guardld PATH] [-n LIBS] [-m CHILDREN] [--rounds R] [--work-dir DIR] [--modes guard,prot-none,extend,glibc,glibc-audit] [--linker lld|bfd] [--sysroot DIR] [--audit PATH] [--raw] [--json]";

fn parse_args() -> Result<Opts, String> {
    let ws = workspace();
    let mut o = Opts {
        guardld: ws.join("target/release/guardld"),
        n: 100,
        m: 50,
        work: ws.join("target/zygote"),
        modes: vec!["guard".into(), "prot-none".into()],
        rounds: 3,
        raw: false,
        json: false,
        bfd: false,
        sysroot: None,
        audit: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or_else(|| format!("{a} needs a value\n{USAGE}"));
        match a.as_str() {
            "--guardld" => o.guardld = PathBuf::from(val()?),
            "-n" => o.n = val()?.parse().map_err(|e| format!("-n: {e}"))?,
            "-m" => o.m = val()?.parse().map_err(|e| format!("-m: {e}"))?,
            "--work-dir" => o.work = PathBuf::from(val()?),
            "--rounds" => o.rounds = val()?.parse().map_err(|e| format!("--rounds: {e}"))?,
            "--modes" => o.modes = val()?.split(',').map(str::to_string).collect(),
            "--raw" => o.raw = true,
            "--json" => o.json = true,
            "--linker" => {
                o.bfd = match val()?.as_str() {
                    "lld" => false,
                    "bfd" => true,
                    l => return Err(format!("--linker: {l}: lld or bfd\n{USAGE}")),
                }
            }
            "--sysroot" => o.sysroot = Some(val()?),
            "--audit" => o.audit = Some(PathBuf::from(val()?)),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            _ => return Err(format!("unknown argument {a}\n{USAGE}")),
        }
    }
    if o.n == 0 || o.m == 0 || o.rounds == 0 {
        return Err("N, M and R must be at least 1".into());
    }
    o.guardld = std::path::absolute(&o.guardld).map_err(|e| e.to_string())?;
    o.work = std::path::absolute(&o.work).map_err(|e| e.to_string())?;
    if !o.guardld.is_file() {
        return Err(format!("{}: no guardld binary (cargo build --release first, or --guardld)", o.guardld.display()));
    }
    if o.modes.iter().any(|m| m == "glibc-audit") {
        let audit = match o.audit.take() {
            Some(a) => std::path::absolute(a).map_err(|e| e.to_string())?,
            None => o.guardld.with_file_name("libguardld_audit.so"),
        };
        if !audit.is_file() {
            return Err(format!("{}: no audit module (cargo build --release -p guardld-audit first, or --audit)", audit.display()));
        }
        o.audit = Some(audit);
    }
    Ok(o)
}

// ---------------------------------------------------------------- build ----

fn sysroot() -> Result<String, String> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = Command::new(rustc).args(["--print", "sysroot"]).output().map_err(|e| format!("rustc: {e}"))?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// gcc for a freestanding object linked at 64 KiB pages by rust-lld (from
/// `gcc_ld`), or with `None` by GNU ld with -z separate-code.
fn gcc(gcc_ld: Option<&str>) -> Command {
    let mut c = Command::new("gcc");
    c.args(["-nostdlib", "-ffreestanding", "-fno-stack-protector", "-fno-builtin", "-O2"]);
    c.args(["-fno-tree-loop-distribute-patterns", "-Wall", "-Wextra"]);
    match gcc_ld {
        Some(dir) => c.arg(format!("-B{dir}")).arg("-fuse-ld=lld"),
        None => c.arg("-fuse-ld=bfd").arg("-Wl,-z,separate-code"),
    };
    c.args(["-Wl,-z,max-page-size=65536", "-Wl,-z,relro", "-Wl,-z,now", "-Wl,--no-as-needed"]);
    c.stdin(Stdio::null());
    c
}

fn run_gcc(mut c: Command, what: &str) -> Result<(), String> {
    let o = c.output().map_err(|e| format!("gcc: {e}"))?;
    if !o.status.success() {
        return Err(format!("gcc for {what} failed:\n{:?}\n{}", c, String::from_utf8_lossy(&o.stderr)));
    }
    Ok(())
}

/// Build libzyg0..N-1.so and the zygote into `o.work`; returns the zygote.
fn build(o: &Opts) -> Result<PathBuf, String> {
    let ws = workspace();
    let libdir = o.work.join("libs");
    std::fs::create_dir_all(&libdir).map_err(|e| format!("{}: {e}", libdir.display()))?;
    let root = match &o.sysroot {
        Some(s) => s.clone(),
        None => sysroot()?,
    };
    let gcc_ld = format!("{root}/lib/rustlib/x86_64-unknown-linux-gnu/bin/gcc-ld");
    // The libraries by the linker asked for; the zygote program always by
    // rust-lld (GNU ld refuses the guardld executable as a link input).
    let lib_ld = if o.bfd { None } else { Some(gcc_ld.as_str()) };
    let zlib = ws.join("zygote/c/zlib.c");
    // Libraries in parallel, one thread per CPU.
    let jobs = std::thread::available_parallelism().map_or(2, |n| n.get());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let errors = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= o.n {
                        break;
                    }
                    let out = libdir.join(format!("libzyg{i}.so"));
                    let mut c = gcc(lib_ld);
                    c.args(["-fPIC", "-shared"]).arg(format!("-DZID={i}")).arg(format!("-Wl,-soname,libzyg{i}.so"));
                    c.arg("-o").arg(&out).arg(&zlib);
                    if let Err(e) = run_gcc(c, &format!("libzyg{i}.so")) {
                        errors.lock().unwrap().push(e);
                    }
                }
            });
        }
    });
    if let Some(e) = errors.into_inner().unwrap().into_iter().next() {
        return Err(e);
    }
    let exe = o.work.join("zygote");
    let mut c = gcc(Some(&gcc_ld));
    c.args(["-fPIE", "-pie"]).arg("-I").arg(ws.join("testbins")).arg("-I").arg(ws.join("include"));
    c.arg(format!("-Wl,--dynamic-linker={}", o.guardld.display()));
    c.arg("-o").arg(&exe).arg(ws.join("zygote/c/zygote.c")).arg(ws.join("testbins/rt/rt.c")).arg(&o.guardld);
    run_gcc(c, "zygote")?;
    if o.modes.iter().any(|m| m.starts_with("glibc")) {
        // The glibc zygote: hosted C, glibc's ld.so as its interpreter,
        // linked like the rest (rust-lld, 64 KiB).
        let mut c = Command::new("gcc");
        c.args(["-O2", "-Wall", "-Wextra", "-fPIE", "-pie"]).arg("-I").arg(ws.join("testbins"));
        c.arg(format!("-B{gcc_ld}")).arg("-fuse-ld=lld");
        c.args(["-Wl,-z,max-page-size=65536", "-Wl,-z,relro", "-Wl,-z,now"]);
        c.arg("-o").arg(o.work.join("gzygote")).arg(ws.join("zygote/c/gzygote.c")).stdin(Stdio::null());
        run_gcc(c, "gzygote")?;
    }
    Ok(exe)
}

// ------------------------------------------------------------------ run ----

/// One child's record.
#[derive(Debug, Default)]
struct Child {
    vmas: u64,
    calls_ok: bool,
    probe: String,
    guarded: i64,
    fork_call_ns: u64,
    start_ns: u64,
    report_ns: u64,
    /// VmPTE (kB) at the child's first report.
    pte_kb: u64,
}

/// One mode's run.
#[derive(Debug, Default)]
struct Run {
    mode: String,
    kv: std::collections::BTreeMap<String, String>,
    children: Vec<Child>,
    exit_ok: bool,
    stdout: String,
}

impl Run {
    fn num(&self, k: &str) -> Option<u64> {
        self.kv.get(k)?.parse().ok()
    }
}

/// One run of the zygote in `mode`: a guardld padding mode (guard,
/// prot-none, extend: the libc-less zygote under `guardld --padding MODE`),
/// or `glibc` / `glibc-audit` (the glibc zygote under glibc's ld.so, the
/// latter with LD_AUDIT=guardld's audit module).
fn run_mode(o: &Opts, exe: &Path, mode: &str) -> Result<Run, String> {
    let mut c = match mode {
        "glibc" | "glibc-audit" => Command::new(o.work.join("gzygote")),
        _ => {
            let mut c = Command::new(&o.guardld);
            c.args(["--padding", mode]).arg(exe);
            c
        }
    };
    c.arg(o.n.to_string()).arg(o.m.to_string()).arg(o.work.join("libs"));
    c.env_clear().stdin(Stdio::null());
    if let (Some(audit), "glibc-audit") = (&o.audit, mode) {
        c.env("LD_AUDIT", audit);
    }
    let out = c.output().map_err(|e| format!("{}: {e}", o.guardld.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut r = Run { mode: mode.to_string(), exit_ok: out.status.success(), stdout: stdout.clone(), ..Run::default() };
    if !out.status.success() {
        eprintln!(
            "zygote-bench: {mode}: zygote failed ({})\n--- stdout ---\n{stdout}--- stderr ---\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for line in stdout.lines() {
        if let Some(rest) = line.strip_prefix("child ") {
            let mut ch = Child::default();
            for f in rest.split_whitespace() {
                let Some((k, v)) = f.split_once('=') else { continue };
                match k {
                    "vmas" => ch.vmas = v.parse().unwrap_or(0),
                    "calls_ok" => ch.calls_ok = v == "1",
                    "probe" => ch.probe = v.to_string(),
                    "guarded" => ch.guarded = v.parse().unwrap_or(-1),
                    "fork_call_ns" => ch.fork_call_ns = v.parse().unwrap_or(0),
                    "start_ns" => ch.start_ns = v.parse().unwrap_or(0),
                    "report_ns" => ch.report_ns = v.parse().unwrap_or(0),
                    "pte_kb" => ch.pte_kb = v.parse().unwrap_or(0),
                    _ => {}
                }
            }
            r.children.push(ch);
        } else if let Some((k, v)) = line.split_once('=') {
            r.kv.insert(k.to_string(), v.to_string());
        }
    }
    Ok(r)
}

fn median(mut v: Vec<u64>) -> u64 {
    if v.is_empty() {
        return 0;
    }
    v.sort_unstable();
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2 }
}

/// The derived numbers of one run.
struct Stats {
    ranges: u64,
    ranges_guard: u64,
    ranges_prot_none: u64,
    parent_vmas: u64,
    vmas_child: u64,
    /// The parent's VMAs plus its M children's (per round).
    fleet_vmas: u64,
    /// VmPTE (kB): the parent's, and the parent's plus its M children's.
    parent_pte_kb: u64,
    fleet_pte_kb: u64,
    /// Padding pages of the libraries that the parent's pagemap shows
    /// guarded (each a guard marker fork copies).
    guarded_pages: u64,
    objsize: Option<u64>,
    slab_delta: Option<i64>,
    avc_delta: Option<i64>,
    fork_call: u64,
    start: u64,
    report: u64,
    segv: usize,
    inherited: usize,
    calls_ok: usize,
    probe_pages: u64,
}

/// Used when /proc/slabinfo is unreadable: sizeof(struct vm_area_struct)
/// on x86_64 Linux 6.x is 176 to 200 bytes depending on configuration.
const ESTIMATED_VMA_SIZE: u64 = 192;

fn stats(r: &Run, rounds: usize) -> Stats {
    let ch = &r.children;
    let probe_pages = r.num("probe_pages").unwrap_or(0);
    Stats {
        ranges: r.num("lib_ranges").unwrap_or(0),
        ranges_guard: r.num("lib_ranges_guard").unwrap_or(0),
        ranges_prot_none: r.num("lib_ranges_prot_none").unwrap_or(0),
        parent_vmas: r.num("parent_vmas").unwrap_or(0),
        vmas_child: median(ch.iter().map(|c| c.vmas).collect()),
        // Every round forks the same fleet: the per-round sum.
        fleet_vmas: r.num("parent_vmas").unwrap_or(0) + ch.iter().map(|c| c.vmas).sum::<u64>() / rounds as u64,
        parent_pte_kb: r.num("parent_pte_kb").unwrap_or(0),
        fleet_pte_kb: r.num("parent_pte_kb").unwrap_or(0) + ch.iter().map(|c| c.pte_kb).sum::<u64>() / rounds as u64,
        guarded_pages: r.num("lib_confirmed_pages").unwrap_or(0),
        objsize: r.num("slab_objsize"),
        slab_delta: match (r.num("slab_alive"), r.num("slab_before")) {
            (Some(a), Some(b)) => Some(a as i64 - b as i64),
            _ => None,
        },
        avc_delta: match (r.num("avc_alive"), r.num("avc_before")) {
            (Some(a), Some(b)) => Some(a as i64 - b as i64),
            _ => None,
        },
        fork_call: median(ch.iter().map(|c| c.fork_call_ns).collect()),
        start: median(ch.iter().map(|c| c.start_ns).collect()),
        report: median(ch.iter().map(|c| c.report_ns).collect()),
        segv: ch.iter().filter(|c| c.probe == "segv").count(),
        inherited: ch.iter().filter(|c| c.guarded == probe_pages as i64).count(),
        calls_ok: ch.iter().filter(|c| c.calls_ok).count(),
        probe_pages,
    }
}

fn us(ns: u64) -> String {
    format!("{:.1} µs", ns as f64 / 1000.0)
}

fn kib(bytes: u64) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

fn ratio(a: u64, b: u64) -> String {
    if a == 0 { "-".into() } else { format!("{:.2}", b as f64 / a as f64) }
}

/// Every child's calls right, the zygote exited 0, and every probe died of
/// SIGSEGV, except in extend mode (the comparison layout whose padding is
/// accessible: its probe is not expected to die of SIGSEGV).
fn mode_ok(r: &Run, s: &Stats, total: usize) -> bool {
    r.exit_ok && s.calls_ok == total && (s.segv == total || r.mode == "extend")
}

/// The Markdown table: metrics down, modes across, then for each mode
/// after the first its ratio to the first (e.g. prot-none / guard).
fn table(o: &Opts, runs: &[Run], st: &[Stats], objsize: Option<u64>) -> String {
    let total = o.m * o.rounds;
    let (vsize, vsize_note) = match objsize {
        Some(b) => (b, format!("{b} B from /proc/slabinfo")),
        None => (ESTIMATED_VMA_SIZE, format!("estimate: {ESTIMATED_VMA_SIZE} B each, slabinfo unreadable")),
    };
    let mut t = String::new();
    let linker = if o.bfd { ", GNU ld" } else { "" };
    let _ = write!(t, "| N={} libraries, M={} children, {} rounds{linker} |", o.n, o.m, o.rounds);
    for r in runs {
        let _ = write!(t, " {} |", r.mode);
    }
    for r in runs.iter().skip(1) {
        let _ = write!(t, " {} / {} |", r.mode, runs[0].mode);
    }
    t.push('\n');
    t.push_str(&"|---".repeat(2 * runs.len()));
    t.push_str("|\n");
    let row = |t: &mut String, name: &str, f: &dyn Fn(&Stats) -> String, raw: &dyn Fn(&Stats) -> u64| {
        let _ = write!(t, "| {name} |");
        for s in st {
            let _ = write!(t, " {} |", f(s));
        }
        for s in st.iter().skip(1) {
            let _ = write!(t, " {} |", ratio(raw(&st[0]), raw(s)));
        }
        t.push('\n');
    };
    row(&mut t, "padding ranges of the N libraries (guard / prot-none)", &|s| format!("{} ({} / {})", s.ranges, s.ranges_guard, s.ranges_prot_none), &|s| s.ranges);
    row(&mut t, "guarded padding pages of the libraries, parent (pagemap bit 58: markers fork copies)", &|s| s.guarded_pages.to_string(), &|s| s.guarded_pages);
    row(&mut t, "VMAs, zygote parent", &|s| s.parent_vmas.to_string(), &|s| s.parent_vmas);
    row(&mut t, "VMAs per child (median)", &|s| s.vmas_child.to_string(), &|s| s.vmas_child);
    row(&mut t, "VMAs across the fleet (parent + M children)", &|s| s.fleet_vmas.to_string(), &|s| s.fleet_vmas);
    row(&mut t, &format!("vm_area_struct memory, fleet ({vsize_note})"), &|s| kib(s.fleet_vmas * vsize), &|s| s.fleet_vmas);
    row(&mut t, "page tables, parent (VmPTE)", &|s| format!("{} KiB", s.parent_pte_kb), &|s| s.parent_pte_kb);
    row(&mut t, "page tables, fleet (VmPTE, parent + M children at their first report)", &|s| format!("{} KiB", s.fleet_pte_kb), &|s| s.fleet_pte_kb);
    if st.iter().all(|s| s.slab_delta.is_some()) {
        row(
            &mut t,
            "slab vm_area_struct objects added while the fleet is alive (measured, last round; coarse: SLUB counts per-CPU slabs as full)",
            &|s| s.slab_delta.unwrap().to_string(),
            &|s| s.slab_delta.unwrap().max(0) as u64,
        );
    }
    if st.iter().all(|s| s.avc_delta.is_some()) {
        row(
            &mut t,
            "slab anon_vma_chain objects added while the fleet is alive (measured, last round, coarse)",
            &|s| s.avc_delta.unwrap().to_string(),
            &|s| s.avc_delta.unwrap().max(0) as u64,
        );
    }
    row(&mut t, "fork() in the parent (median)", &|s| us(s.fork_call), &|s| s.fork_call);
    row(&mut t, "fork → child's first instruction (median)", &|s| us(s.start), &|s| s.start);
    row(&mut t, "fork → child's first report arrives (median: N calls + VMA count)", &|s| us(s.report), &|s| s.report);
    row(&mut t, "children whose probe of a padding page died of SIGSEGV", &|s| format!("{}/{}", s.segv, total), &|s| s.segv as u64);
    row(
        &mut t,
        "children whose pagemap shows the probed range guarded",
        &|s| format!("{}/{} ({} pages)", s.inherited, total, s.probe_pages),
        &|s| s.inherited as u64,
    );
    row(&mut t, "children whose N library calls were right", &|s| format!("{}/{}", s.calls_ok, total), &|s| s.calls_ok as u64);
    t
}

/// A JSON string literal's contents.
/// One mode's results: the record behind both `--json` and the
/// `summary` lines (one list of fields, kept once).
fn record(o: &Opts, r: &Run, s: &Stats, objsize: Option<u64>) -> serde_json::Map<String, serde_json::Value> {
    let total = o.m * o.rounds;
    let vsize = objsize.unwrap_or(ESTIMATED_VMA_SIZE);
    let v = serde_json::json!({
        "mode": r.mode,
        "libs": o.n,
        "children": o.m,
        "rounds": o.rounds,
        "linker": if o.bfd { "bfd" } else { "lld" },
        "ranges": s.ranges,
        "ranges_guard": s.ranges_guard,
        "ranges_prot_none": s.ranges_prot_none,
        "guarded_pages": s.guarded_pages,
        "parent_vmas": s.parent_vmas,
        "vmas_per_child": s.vmas_child,
        "fleet_vmas": s.fleet_vmas,
        "vma_objsize": vsize,
        "vma_size_source": if objsize.is_some() { "slabinfo" } else { "estimate" },
        "fleet_vma_bytes": s.fleet_vmas * vsize,
        "parent_pte_kb": s.parent_pte_kb,
        "fleet_pte_kb": s.fleet_pte_kb,
        "slab_delta": s.slab_delta,
        "avc_delta": s.avc_delta,
        "fork_call_ns": s.fork_call,
        "start_ns": s.start,
        "report_ns": s.report,
        "segv": s.segv,
        "inherited": s.inherited,
        "calls_ok": s.calls_ok,
        "total": total,
        "ok": mode_ok(r, s, total),
        "fork_call_ns_each": r.children.iter().map(|c| c.fork_call_ns).collect::<Vec<_>>(),
    });
    match v {
        serde_json::Value::Object(m) => m,
        _ => unreachable!("json! of an object literal"),
    }
}

/// A record as one `summary mode=M key=value ...` line: booleans as 1/0,
/// null as `-`, lists left out.
fn summary_line(rec: &serde_json::Map<String, serde_json::Value>) -> String {
    use serde_json::Value;
    let text = |v: &Value| match v {
        Value::Null => "-".to_string(),
        Value::Bool(b) => u8::from(*b).to_string(),
        Value::String(t) => t.clone(),
        other => other.to_string(),
    };
    let mut line = format!("summary mode={}", rec.get("mode").map_or_else(String::new, text));
    for (k, v) in rec.iter().filter(|(k, v)| *k != "mode" && !v.is_array()) {
        let _ = write!(line, " {k}={}", text(v));
    }
    line
}

fn main() -> ExitCode {
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("zygote-bench: {e}");
            return ExitCode::from(2);
        }
    };
    let exe = match build(&o) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("zygote-bench: {e}");
            return ExitCode::from(2);
        }
    };
    // R rounds, the modes alternating within each, so that drift of the
    // machine (other load, frequency) affects every mode alike; a mode's
    // latency medians are over all M x R children.
    let mut runs: Vec<Run> = o.modes.iter().map(|m| Run { mode: m.clone(), exit_ok: true, ..Run::default() }).collect();
    for round in 0..o.rounds {
        for r in runs.iter_mut() {
            match run_mode(&o, &exe, &r.mode) {
                Ok(one) => {
                    r.exit_ok &= one.exit_ok;
                    r.children.extend(one.children);
                    if round == 0 {
                        r.kv = one.kv;
                    } else if one.kv.get("children_exit_ok").map(String::as_str) != Some("1") {
                        r.kv.insert("children_exit_ok".into(), "0".into());
                    }
                    let _ = write!(r.stdout, "--- round {round} ---\n{}", one.stdout);
                }
                Err(e) => {
                    eprintln!("zygote-bench: {e}");
                    return ExitCode::from(2);
                }
            }
        }
    }
    let total = o.m * o.rounds;
    let st: Vec<Stats> = runs.iter().map(|r| stats(r, o.rounds)).collect();
    let ok = runs.iter().zip(&st).all(|(r, s)| mode_ok(r, s, total) && r.kv.get("children_exit_ok").map(String::as_str) == Some("1"));

    let objsize = st.iter().find_map(|s| s.objsize);
    let records: Vec<_> = runs.iter().zip(&st).map(|(r, s)| record(&o, r, s, objsize)).collect();
    if o.json {
        println!("{}", serde_json::json!({ "modes": records }));
    } else {
        print!("{}", table(&o, &runs, &st, objsize));
        println!();
        for rec in &records {
            println!("{}", summary_line(rec));
        }
    }
    if o.raw {
        for r in &runs {
            println!("\n--- zygote output, {} ---\n{}", r.mode, r.stdout);
        }
    }
    if ok { ExitCode::SUCCESS } else { ExitCode::from(1) }
}
