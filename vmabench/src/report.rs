//! Results: the JSON model and the text table.

use crate::generate::{Config, Layout};
use crate::maxmap::{self, Verify};
use crate::measure::{Stat, StatRun, Syscalls};
use serde::Serialize;
use std::fmt::Write as _;

#[derive(Serialize)]
pub struct Machine {
    pub nproc: usize,
    pub cpu_model: String,
    pub kernel: String,
    pub max_map_count: Option<u64>,
    /// Bytes per vm_area_struct used for the *_vma_struct_bytes fields.
    pub vma_struct_bytes_each: u64,
    pub vma_struct_bytes_source: String,
    pub is_root: bool,
}

#[derive(Serialize)]
pub struct LoaderInfo {
    pub name: String,
    pub argv: Vec<String>,
    pub available: bool,
    /// Why the loader was skipped (musl not installed, or no audit module
    /// beside guardld for glibc+audit).
    pub skipped: Option<String>,
}

/// Which guardld binary (or audit module) ran (a private copy, so a rebuild
/// during the run cannot change it).
#[derive(Serialize)]
pub struct GuardldId {
    pub path: String,
    pub run_as: String,
    pub version: String,
    /// FNV-1a 64 of the binary.
    pub fnv64: String,
    pub mtime_unix: Option<u64>,
}

/// A loader not run for one configuration, and why (musl on a glibc
/// program, say).
#[derive(Serialize, Clone, Debug)]
pub struct Skipped {
    pub loader: String,
    pub reason: String,
}

#[derive(Serialize)]
pub struct ConfigReport {
    pub config: String,
    pub layout: Layout,
    pub max_page_size_kib: u32,
    /// The main program is linked with glibc's libc (`-glibc` configs).
    pub glibc: bool,
    /// The main program dlopens the libraries (`-glibc-dlopen` configs):
    /// rows then have the in-program dlopen times.
    pub dlopen: bool,
    /// Loaders asked for but not run on this configuration.
    pub skipped_loaders: Vec<Skipped>,
    /// How some loaders run this configuration's programs (the hand-over).
    pub notes: Vec<String>,
    pub dir: String,
    /// PT_LOADs of one generated library.
    pub lib_pt_loads: usize,
    /// Padding pages (4 KiB) of one generated library, from its headers.
    pub lib_padding_pages: u64,
    /// The 0-library program under each loader (for the baseline fields).
    pub baseline: Vec<Row>,
    pub rows: Vec<Row>,
}

#[derive(Serialize)]
pub struct Report {
    pub command: Vec<String>,
    pub machine: Machine,
    pub runs: usize,
    pub ns: Vec<usize>,
    pub strace: String,
    pub loaders: Vec<LoaderInfo>,
    pub guardld: Option<GuardldId>,
    /// The audit module glibc+audit ran (version empty).
    pub audit_module: Option<GuardldId>,
    pub configs: Vec<ConfigReport>,
    pub max_map_count_verification: Option<Verify>,
    pub max_map_count_verification_note: Option<String>,
    pub elapsed_s: f64,
}

#[derive(Serialize, Clone)]
pub struct Row {
    pub config: String,
    pub n: usize,
    pub loader: String,
    /// The stat run's exit status (0 expected: it exits when stdin closes).
    pub stat_exit: Option<String>,
    /// Non-zero exits of any run (stat or timed); empty when all exited 0.
    pub exit_failures: Vec<String>,
    /// What the program or loader printed when it did not get to "ready".
    pub output: Option<String>,
    #[serde(flatten)]
    pub stat: Option<Stat>,
    /// vmas_in_lib_spans / n.
    pub vmas_per_lib: Option<f64>,
    /// file_vmas_in_lib_spans / n (without anonymous bss VMAs).
    pub file_vmas_per_lib: Option<f64>,
    /// vmas_total minus the 0-library program's vmas_total (same loader).
    pub vmas_minus_baseline: Option<i64>,
    /// vm_area_struct bytes of all VMAs (see machine.vma_struct_bytes_source).
    pub vma_struct_bytes: Option<u64>,
    /// ... of the VMAs in library spans.
    pub vma_struct_bytes_libs: Option<u64>,
    /// true when the bytes use the 200-byte estimate, not slabinfo.
    pub vma_struct_bytes_estimated: bool,
    /// floor((max_map_count - baseline vmas_total) / vmas_per_lib).
    pub max_libs_before_max_map_count: Option<u64>,
    /// Wall clock of spawn..wait of each timed run (BENCH_MODE=time), ms.
    pub times_ms: Vec<f64>,
    pub median_ms: Option<f64>,
    pub time_ratio_to_glibc: Option<f64>,
    /// dlopen configurations: CLOCK_MONOTONIC around the program's dlopen
    /// loop, per timed run (the same runs as times_ms), ms.
    pub dlopen_times_ms: Vec<f64>,
    /// ... around its dlsym + call loop, ms.
    pub calls_times_ms: Vec<f64>,
    pub dlopen_median_ms: Option<f64>,
    /// Quartiles of dlopen_times_ms (linear interpolation).
    pub dlopen_q1_ms: Option<f64>,
    pub dlopen_q3_ms: Option<f64>,
    pub calls_median_ms: Option<f64>,
    /// dlopen_median_ms / glibc's.
    pub dlopen_ratio_to_glibc: Option<f64>,
    /// glibc main programs: spawn to the CLOCK_MONOTONIC the program read
    /// as main began, per timed run (the same runs as times_ms), ms: start-up
    /// without the process's exit.
    pub main_times_ms: Vec<f64>,
    pub main_median_ms: Option<f64>,
    pub main_q1_ms: Option<f64>,
    pub main_q3_ms: Option<f64>,
    /// main_median_ms / glibc's.
    pub main_ratio_to_glibc: Option<f64>,
    /// guardld's phase split from one GUARDLD_DEBUG=statistics run.
    pub guardld_phases: Option<crate::measure::Phases>,
    pub guardld_phases_error: Option<String>,
    /// One `strace -f -c` run (None: strace missing or failed).
    pub syscalls: Option<Syscalls>,
    pub syscalls_error: Option<String>,
    pub error: Option<String>,
    /// The loader's padding promise (see [`Promise`]) not met by the stat
    /// run's measurement, or objects not found; empty when all held.
    pub check_failures: Vec<String>,
}

/// What a loader promises for the padding between segments, checked on
/// every row against vmabench's own reading of maps and pagemap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Promise {
    /// Padding readable (musl, guardld --padding extend): nothing to check.
    None,
    /// Every padding page inside a PROT_NONE VMA (glibc, prot-none).
    ProtNone,
    /// No PROT_NONE gap VMA in the spans, every padding page guarded
    /// (guardld --padding guard, guardld --glibc native, glibc's ld.so with
    /// the audit module).
    Guarded,
}

impl Promise {
    pub fn of(loader: &str) -> Promise {
        match loader {
            "glibc" | "guardld-prot-none" => Promise::ProtNone,
            "guardld-guard" | "guardld-native" | "glibc+audit" => Promise::Guarded,
            _ => Promise::None,
        }
    }
}

impl Row {
    pub fn new(c: &Config, n: usize, loader: &str) -> Row {
        Row {
            config: c.name(),
            n,
            loader: loader.to_string(),
            stat_exit: None,
            exit_failures: Vec::new(),
            output: None,
            stat: None,
            vmas_per_lib: None,
            file_vmas_per_lib: None,
            vmas_minus_baseline: None,
            vma_struct_bytes: None,
            vma_struct_bytes_libs: None,
            vma_struct_bytes_estimated: false,
            max_libs_before_max_map_count: None,
            times_ms: Vec::new(),
            median_ms: None,
            time_ratio_to_glibc: None,
            dlopen_times_ms: Vec::new(),
            calls_times_ms: Vec::new(),
            dlopen_median_ms: None,
            dlopen_q1_ms: None,
            dlopen_q3_ms: None,
            calls_median_ms: None,
            dlopen_ratio_to_glibc: None,
            main_times_ms: Vec::new(),
            main_median_ms: None,
            main_q1_ms: None,
            main_q3_ms: None,
            main_ratio_to_glibc: None,
            guardld_phases: None,
            guardld_phases_error: None,
            syscalls: None,
            syscalls_error: None,
            error: None,
            check_failures: Vec::new(),
        }
    }

    pub fn set_stat(&mut self, s: StatRun) {
        self.stat_exit = Some(s.exit.describe());
        if !s.exit.ok() {
            self.exit_failures.push(format!("stat run: {}", s.exit.describe()));
        }
        if s.stat.is_none() || !s.output.trim().is_empty() {
            self.output = Some(s.output.trim().to_string()).filter(|o| !o.is_empty());
        }
        if s.stat.is_none() {
            self.error = Some(format!("program did not get to 'ready' ({})", s.exit.describe()));
        }
        self.stat = s.stat;
    }

    pub fn all_exits_ok(&self) -> bool {
        self.exit_failures.is_empty() && self.error.is_none()
    }

    /// Every run exited 0 and the loader kept its padding promise.
    pub fn ok(&self) -> bool {
        self.all_exits_ok() && self.check_failures.is_empty()
    }

    /// Check the stat run's measurement against the loader's [`Promise`].
    pub fn check(&mut self) {
        let Some(s) = &self.stat else { return };
        let mut f = Vec::new();
        if s.objects_not_found > 0 {
            f.push(format!("{} objects not found in maps (their padding is not counted)", s.objects_not_found));
        }
        match Promise::of(&self.loader) {
            Promise::None => {}
            Promise::ProtNone => {
                if s.padding_prot_none != s.padding_pages {
                    f.push(format!(
                        "{} of {} padding pages PROT_NONE (readable {}, guarded {}, unmapped {}), promised all",
                        s.padding_prot_none,
                        s.padding_pages,
                        opt(s.readable_padding_pages),
                        opt(s.padding_guard),
                        s.padding_unmapped
                    ));
                }
            }
            Promise::Guarded => {
                if s.gap_vmas != 0 {
                    f.push(format!("{} PROT_NONE gap VMAs in the spans, promised 0", s.gap_vmas));
                }
                match (s.padding_guard, s.readable_padding_pages) {
                    (Some(g), Some(r)) => {
                        if g != s.padding_pages {
                            f.push(format!(
                                "{g} of {} padding pages guarded (readable {r}, PROT_NONE {}, unmapped {}), promised all",
                                s.padding_pages, s.padding_prot_none, s.padding_unmapped
                            ));
                        }
                    }
                    _ => f.push("pagemap not readable: guarded padding cannot be verified".into()),
                }
            }
        }
        self.check_failures = f;
    }

    pub fn derive(&mut self, vma_bytes: u64, estimated: bool, baseline: Option<u64>, max_map_count: Option<u64>) {
        let Some(s) = &self.stat else { return };
        self.vma_struct_bytes = Some(s.vmas_total * vma_bytes);
        self.vma_struct_bytes_libs = Some(s.vmas_in_lib_spans * vma_bytes);
        self.vma_struct_bytes_estimated = estimated;
        if self.n > 0 {
            let per = s.vmas_in_lib_spans as f64 / self.n as f64;
            self.vmas_per_lib = Some(per);
            self.file_vmas_per_lib = Some(s.file_vmas_in_lib_spans as f64 / self.n as f64);
            if let Some(b) = baseline {
                self.vmas_minus_baseline = Some(s.vmas_total as i64 - b as i64);
                if let Some(m) = max_map_count {
                    self.max_libs_before_max_map_count = Some(maxmap::predicted(m, b, per));
                }
            }
        }
    }
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_else(|| "n/a".into())
}

pub fn table(r: &Report) -> String {
    let mut o = String::new();
    let m = &r.machine;
    let _ = writeln!(
        o,
        "# {} x {}, kernel {}, vm.max_map_count {}, {} timed runs per cell (interleaved), vm_area_struct: {} bytes ({})",
        m.nproc,
        m.cpu_model,
        m.kernel,
        opt(m.max_map_count),
        r.runs,
        m.vma_struct_bytes_each,
        m.vma_struct_bytes_source
    );
    if let Some(g) = &r.guardld {
        let _ = writeln!(o, "# guardld: {} ({}, fnv64 {}, run from a private copy)", g.path, g.version, g.fnv64);
    }
    if let Some(a) = &r.audit_module {
        let _ = writeln!(o, "# audit module (glibc+audit): {} (fnv64 {}, run from a private copy)", a.path, a.fnv64);
    }
    for l in &r.loaders {
        if let Some(s) = &l.skipped {
            let _ = writeln!(o, "# {}: skipped ({s})", l.name);
        }
    }
    let _ = writeln!(
        o,
        "# VMAs: whole process; lib: VMAs inside library spans; /lib = lib / N; f/lib: file-backed ones (no bss) / N; gaps: ---p VMAs in library+main spans;\n\
         # pad r/none/guard: padding pages readable / PROT_NONE / guarded; guards: pagemap bit-58 pages in spans;\n\
         # vmaKiB: VMAs x vm_area_struct size; ms: median wall time of spawn..exit; x: ratio to glibc;\n\
         # mmap/mprot/madv/open/unmap/mremap/ioctl: syscalls per load (strace -f -c; madv = madvise+process_madvise, open = openat+open); maxlibs: libraries before vm.max_map_count;\n\
         # exit: ok = every run exited 0 and the loader's padding promise held (guard, native, glibc+audit: 0 gaps, all padding guarded; glibc, prot-none: all PROT_NONE)"
    );
    for c in &r.configs {
        let _ = writeln!(
            o,
            "\n## {} (max-page-size {} KiB, {} PT_LOADs and {} padding pages per library{})",
            c.config,
            c.max_page_size_kib,
            c.lib_pt_loads,
            c.lib_padding_pages,
            if c.dlopen {
                "; main program linked with glibc, dlopens the N libraries in order with RTLD_NOW|RTLD_GLOBAL (no DT_NEEDED on them) and calls them through dlsym"
            } else if c.glibc {
                "; main program linked with glibc"
            } else {
                ""
            }
        );
        for s in &c.skipped_loaders {
            let _ = writeln!(o, "# {}: skipped for {} ({})", s.loader, c.config, s.reason);
        }
        for n in &c.notes {
            let _ = writeln!(o, "# {n}");
        }
        let _ = writeln!(
            o,
            "{:>5} {:<18} {:>4} {:>6} {:>6} {:>5} {:>5} {:>5} {:>6} {:>6} {:>6} {:>6} {:>7} {:>7} {:>8} {:>5} {:>5} {:>6} {:>5} {:>5} {:>5} {:>6} {:>5} {:>7}",
            "N", "loader", "exit", "VMAs", "lib", "/lib", "f/lib", "gaps", "pad-r", "pad-0", "pad-g", "guards", "vmaKiB", "RSS", "ms", "x", "mmap", "mprot", "madv", "open", "unmap", "mremap", "ioctl", "maxlibs"
        );
        for row in &c.rows {
            let s = row.stat.as_ref();
            let sc = row.syscalls.as_ref();
            let _ = writeln!(
                o,
                "{:>5} {:<18} {:>4} {:>6} {:>6} {:>5} {:>5} {:>5} {:>6} {:>6} {:>6} {:>6} {:>7} {:>7} {:>8} {:>5} {:>5} {:>6} {:>5} {:>5} {:>5} {:>6} {:>5} {:>7}",
                row.n,
                row.loader,
                if row.ok() { "ok" } else { "FAIL" },
                opt(s.map(|s| s.vmas_total)),
                opt(s.map(|s| s.vmas_in_lib_spans)),
                opt(row.vmas_per_lib.map(|v| format!("{v:.2}"))),
                opt(row.file_vmas_per_lib.map(|v| format!("{v:.2}"))),
                opt(s.map(|s| s.gap_vmas)),
                opt(s.and_then(|s| s.readable_padding_pages)),
                opt(s.map(|s| s.padding_prot_none)),
                opt(s.and_then(|s| s.padding_guard)),
                opt(s.and_then(|s| s.guard_pages)),
                opt(row.vma_struct_bytes.map(|b| format!("{:.1}{}", b as f64 / 1024.0, if row.vma_struct_bytes_estimated { "~" } else { "" }))),
                opt(s.and_then(|s| s.rss_kb)),
                opt(row.median_ms.map(|v| format!("{v:.3}"))),
                opt(row.time_ratio_to_glibc.map(|v| format!("{v:.2}"))),
                opt(sc.map(|s| s.mmap)),
                opt(sc.map(|s| s.mprotect)),
                opt(sc.map(|s| s.advise())),
                opt(sc.map(|s| s.opens())),
                opt(sc.map(|s| s.munmap)),
                opt(sc.map(|s| s.mremap)),
                opt(sc.map(|s| s.ioctl)),
                opt(row.max_libs_before_max_map_count),
            );
        }
        for row in c.rows.iter().filter(|r| !r.ok()) {
            let why: Vec<String> = row
                .exit_failures
                .iter()
                .cloned()
                .chain(row.error.clone())
                .chain(row.check_failures.iter().cloned())
                .collect();
            let _ = writeln!(o, "# FAIL N={} {}: {}", row.n, row.loader, why.join("; "));
        }
        if c.rows.iter().any(|r| r.main_median_ms.is_some()) {
            let _ = writeln!(
                o,
                "# to main ({}): spawn to the program's CLOCK_MONOTONIC as main began (to-main ms, quartiles q1 q3, x = ratio of medians to glibc), beside the whole run (spawn to wait, with the exit), same timed runs",
                c.config
            );
            let _ = writeln!(o, "{:>5} {:<18} {:>11} {:>8} {:>8} {:>6} {:>10} {:>6}", "N", "loader", "to-main ms", "q1", "q3", "x", "whole ms", "x");
            for row in &c.rows {
                let f3 = |v: Option<f64>| opt(v.map(|v| format!("{v:.3}")));
                let _ = writeln!(
                    o,
                    "{:>5} {:<18} {:>11} {:>8} {:>8} {:>6} {:>10} {:>6}",
                    row.n,
                    row.loader,
                    f3(row.main_median_ms),
                    f3(row.main_q1_ms),
                    f3(row.main_q3_ms),
                    opt(row.main_ratio_to_glibc.map(|v| format!("{v:.2}"))),
                    f3(row.median_ms),
                    opt(row.time_ratio_to_glibc.map(|v| format!("{v:.2}"))),
                );
            }
        }
        if c.dlopen {
            let _ = writeln!(
                o,
                "# dlopen phase ({}): the program's own CLOCK_MONOTONIC around its dlopen loop (dlopen ms, quartiles q1 q3, x = ratio of medians to glibc) and around its dlsym + call loop (calls ms), same timed runs as ms",
                c.config
            );
            let _ = writeln!(o, "{:>5} {:<18} {:>10} {:>8} {:>8} {:>6} {:>9} {:>10} {:>6}", "N", "loader", "dlopen ms", "q1", "q3", "x", "calls ms", "whole ms", "x");
            for row in &c.rows {
                let f3 = |v: Option<f64>| opt(v.map(|v| format!("{v:.3}")));
                let _ = writeln!(
                    o,
                    "{:>5} {:<18} {:>10} {:>8} {:>8} {:>6} {:>9} {:>10} {:>6}",
                    row.n,
                    row.loader,
                    f3(row.dlopen_median_ms),
                    f3(row.dlopen_q1_ms),
                    f3(row.dlopen_q3_ms),
                    opt(row.dlopen_ratio_to_glibc.map(|v| format!("{v:.2}"))),
                    f3(row.calls_median_ms),
                    f3(row.median_ms),
                    opt(row.time_ratio_to_glibc.map(|v| format!("{v:.2}"))),
                );
            }
        }
    }
    // guardld's own phase split (GUARDLD_DEBUG=statistics, one run each).
    let phased: Vec<(&ConfigReport, &Row, &crate::measure::Phases)> = r
        .configs
        .iter()
        .flat_map(|c| c.rows.iter().filter_map(move |row| row.guardld_phases.as_ref().map(|p| (c, row, p))))
        .collect();
    if !phased.is_empty() {
        let _ = writeln!(o, "\n## guardld phases (GUARDLD_DEBUG=statistics, one run, microseconds)");
        if phased.iter().any(|(c, _, _)| c.dlopen) {
            let _ = writeln!(o, "# (start-up only: the libraries a -dlopen program dlopens are not in guardld's start-up statistics)");
        }
        // As wide as the longest configuration name (lld-64k-glibc).
        let w = phased.iter().map(|(c, _, _)| c.config.len()).max().unwrap_or(0).max(8);
        let _ = writeln!(
            o,
            "{:<w$} {:>5} {:<18} {:>8} {:>8} {:>7} {:>8} {:>6} {:>8}",
            "config", "N", "loader", "total", "map", "index", "reloc", "init", "relocs"
        );
        for (c, row, p) in phased {
            let _ = writeln!(
                o,
                "{:<w$} {:>5} {:<18} {:>8} {:>8} {:>7} {:>8} {:>6} {:>8}",
                c.config, row.n, row.loader, p.total_us, p.map_us, p.index_us, p.reloc_us, p.init_us, p.relocations
            );
        }
    }
    if let Some(v) = &r.max_map_count_verification {
        let _ = writeln!(o, "\n## --verify-max-map-count ({})\n{}", v.config, v.summary);
        for m in &v.models {
            let _ = writeln!(
                o,
                "  {}: baseline {} VMAs, {:.2} VMAs/lib -> predicted {} libs at {} and {} libs at {}",
                m.loader, m.baseline_vmas, m.vmas_per_lib, m.predicted_limit_at_set, v.max_map_count_set, m.predicted_limit_at_original, v.max_map_count_original
            );
        }
    }
    if let Some(n) = &r.max_map_count_verification_note {
        let _ = writeln!(o, "\n{n}");
    }
    let _ = writeln!(o, "\n# elapsed {:.1} s", r.elapsed_s);
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{Config, Layout};

    fn row(loader: &str, s: Stat) -> Row {
        let mut r = Row::new(&Config { layout: Layout::Lld, page_kib: 64, glibc: false, dlopen: false }, 10, loader);
        r.stat = Some(s);
        r.check();
        r
    }

    fn guarded() -> Stat {
        Stat { padding_pages: 45, padding_guard: Some(45), readable_padding_pages: Some(0), guard_pages: Some(45), ..Default::default() }
    }

    fn prot_none() -> Stat {
        Stat { gap_vmas: 3, padding_pages: 45, padding_prot_none: 45, padding_guard: Some(0), readable_padding_pages: Some(0), ..Default::default() }
    }

    #[test]
    fn promises_held() {
        for l in ["glibc+audit", "guardld-guard", "guardld-native"] {
            assert!(row(l, guarded()).ok(), "{l}");
        }
        for l in ["glibc", "guardld-prot-none"] {
            assert!(row(l, prot_none()).ok(), "{l}");
        }
        let readable = Stat { padding_pages: 45, padding_guard: Some(0), readable_padding_pages: Some(45), ..Default::default() };
        assert!(row("musl", readable.clone()).ok());
        assert!(row("guardld-extend", readable).ok());
    }

    #[test]
    fn promises_broken() {
        // The module left glibc's gaps (a kernel without guards, say).
        let r = row("glibc+audit", prot_none());
        assert!(!r.ok());
        assert_eq!(r.check_failures.len(), 2, "{:?}", r.check_failures);
        assert!(r.check_failures[0].contains("3 PROT_NONE gap VMAs"), "{:?}", r.check_failures);
        assert!(r.check_failures[1].contains("0 of 45 padding pages guarded"), "{:?}", r.check_failures);
        // Readable padding, no gap VMA.
        let s = Stat { padding_pages: 45, padding_guard: Some(40), readable_padding_pages: Some(5), ..Default::default() };
        assert!(!row("glibc+audit", s.clone()).ok());
        assert!(!row("glibc", s).ok());
        // Guards cannot be seen: not taken as kept.
        let s = Stat { padding_pages: 45, ..Default::default() };
        assert!(row("guardld-guard", s).check_failures[0].contains("pagemap not readable"));
        // Objects missing from maps.
        let s = Stat { objects_not_found: 1, ..guarded() };
        assert!(!row("glibc+audit", s).ok());
    }

    #[test]
    fn native_promises_guard_padding() {
        // guardld --glibc native promises what guard mode does: no gap VMA,
        // all padding guarded; glibc's layout or readable padding fails.
        assert_eq!(Promise::of("guardld-native"), Promise::Guarded);
        assert_eq!(Promise::of("guardld-native"), Promise::of("guardld-guard"));
        let r = row("guardld-native", prot_none());
        assert!(!r.ok());
        assert!(r.check_failures[0].contains("3 PROT_NONE gap VMAs"), "{:?}", r.check_failures);
        let readable = Stat { padding_pages: 45, padding_guard: Some(0), readable_padding_pages: Some(45), ..Default::default() };
        assert!(!row("guardld-native", readable).ok());
        assert_eq!(Promise::of("musl"), Promise::None);
        assert_eq!(Promise::of("guardld-extend"), Promise::None);
    }
}
