//! Running a generated program under one loader and looking at the process:
//! /proc/PID/maps, /proc/PID/pagemap (bit 58 = guard region), VmRSS; wall
//! clock load time; syscall counts from `strace -c`.

use crate::elfinfo::{ObjInfo, PAGE};
use guard_abi_host::{self as host, Vma};
use serde::Serialize;
use std::collections::HashMap;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct Loader {
    /// glibc, glibc+audit, musl, guardld-guard, guardld-prot-none,
    /// guardld-extend, guardld-native
    pub name: String,
    /// argv before the program.
    pub argv: Vec<OsString>,
    /// guardld that hands the program to glibc's ld.so (a glibc program
    /// under --glibc audit): no GUARDLD_DEBUG=statistics of its own.
    pub hands_over: bool,
}

impl Loader {
    pub fn command(&self, program: &Path, dir: &Path) -> Command {
        let mut c = Command::new(&self.argv[0]);
        c.args(&self.argv[1..]);
        // As in the brief: `LOADER ./mainN` from the tree's directory.
        c.arg(Path::new(".").join(program.file_name().unwrap()));
        c.current_dir(dir);
        clean_env(&mut c);
        c
    }
}

pub fn clean_env(c: &mut Command) {
    for v in ["GUARDLD_PADDING", "GUARDLD_GLIBC", "GUARDLD_INDEX", "GUARDLD_DEBUG", "LD_LIBRARY_PATH", "LD_PRELOAD", "LD_AUDIT", "LD_BIND_NOW", "LD_DEBUG"] {
        c.env_remove(v);
    }
}

/// What one look at a stopped-in-`stat`-mode process found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Stat {
    /// Every VMA of the process (lines of /proc/PID/maps).
    pub vmas_total: u64,
    /// VMAs intersecting the span of some library (file mappings, gaps, bss).
    pub vmas_in_lib_spans: u64,
    /// ... of which file-backed (the library's own segments and gaps; not
    /// the anonymous bss that spills past a segment's file pages).
    pub file_vmas_in_lib_spans: u64,
    /// VMAs intersecting the main program's span.
    pub vmas_in_main_span: u64,
    /// `---p` VMAs intersecting the span of a library or the main program
    /// (file-backed gaps as glibc makes them, or anonymous reservations).
    pub gap_vmas: u64,
    /// Padding pages (between PT_LOADs, from the program headers) of the
    /// libraries and the main program, by what covers them.
    pub padding_pages: u64,
    /// ... covered by a guard region (pagemap bit 58). None (and so
    /// readable_padding_pages) when /proc/PID/pagemap is not readable: a
    /// guarded page then cannot be told from a readable one.
    pub padding_guard: Option<u64>,
    /// ... inside a `---p` VMA.
    pub padding_prot_none: u64,
    /// ... mapped with some access (r, w or x): the unsafe case.
    pub readable_padding_pages: Option<u64>,
    /// ... not mapped at all (another mapping could land there).
    pub padding_unmapped: u64,
    /// Guarded pages (pagemap bit 58) over every VMA in the spans; None if
    /// /proc/PID/pagemap could not be read.
    pub guard_pages: Option<u64>,
    /// VmRSS from /proc/PID/status, KiB.
    pub rss_kb: Option<u64>,
    /// Objects whose load base was not found in maps (should be 0).
    pub objects_not_found: u64,
}

/// How a run of the program ended.
#[derive(Clone, Debug, Serialize)]
pub struct Exit {
    pub code: Option<i32>,
    pub signal: Option<i32>,
}

impl Exit {
    pub fn from(s: ExitStatus) -> Exit {
        Exit { code: s.code(), signal: s.signal() }
    }
    pub fn ok(&self) -> bool {
        self.code == Some(0)
    }
    pub fn describe(&self) -> String {
        match (self.code, self.signal) {
            (Some(c), _) => format!("exit {c}"),
            (_, Some(s)) => format!("signal {s}"),
            _ => "?".into(),
        }
    }
}

pub struct Objects {
    /// Canonical path -> program headers, for the libraries and main.
    pub libs: Vec<(String, ObjInfo)>,
    pub main: (String, ObjInfo),
}

/// A watchdog that SIGKILLs `pid` after `limit` unless disarmed. Safe from
/// pid reuse: it is disarmed before the child is reaped.
struct Watchdog {
    done: Arc<AtomicBool>,
}

impl Watchdog {
    fn new(pid: u32, limit: Duration) -> Watchdog {
        let done = Arc::new(AtomicBool::new(false));
        let d = done.clone();
        std::thread::spawn(move || {
            let t = Instant::now();
            while t.elapsed() < limit {
                std::thread::sleep(Duration::from_millis(50));
                if d.load(Ordering::SeqCst) {
                    return;
                }
            }
            if !d.load(Ordering::SeqCst) {
                unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            }
        });
        Watchdog { done }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.done.store(true, Ordering::SeqCst);
    }
}

pub struct StatRun {
    pub exit: Exit,
    /// None if the program never said "ready".
    pub stat: Option<Stat>,
    /// What the program printed instead of "ready", and its stderr.
    pub output: String,
}

/// Run in BENCH_MODE=stat, inspect /proc/PID while it waits on stdin, then
/// close its stdin so it exits by itself (exit status 0 when all went well).
pub fn stat_run(loader: &Loader, program: &Path, dir: &Path, objs: &Objects) -> Result<StatRun, String> {
    let mut c = loader.command(program, dir);
    c.env("BENCH_MODE", "stat").stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().map_err(|e| format!("spawn {:?}: {e}", loader.argv[0]))?;
    let pid = child.id();
    let dog = Watchdog::new(pid, Duration::from_secs(120));
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    let _ = out.read_line(&mut line);
    let stat = if line.trim() == "ready sum=ok" { Some(inspect(pid, objs)) } else { None };
    drop(child.stdin.take());
    let mut rest = String::new();
    let _ = out.read_to_string(&mut rest);
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    drop(dog);
    let status = child.wait().map_err(|e| format!("wait: {e}"))?;
    let output = if stat.is_some() { format!("{rest}{stderr}") } else { format!("{line}{rest}{stderr}") };
    Ok(StatRun { exit: Exit::from(status), stat, output })
}

fn read_status_kb(pid: u32, key: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    for l in s.lines() {
        if let Some(v) = l.strip_prefix(key) {
            return v.trim().trim_end_matches("kB").trim().parse().ok();
        }
    }
    None
}

/// Guard bits (pagemap bit 58) of [start, end) from an open pagemap: None on read error.
fn guard_bits(pm: &std::fs::File, start: u64, end: u64) -> Option<Vec<bool>> {
    host::guard_bits(pm, start, end, PAGE).ok()
}

pub fn inspect(pid: u32, objs: &Objects) -> Stat {
    let mut vmas = host::read_maps(pid).unwrap_or_default();
    let rss_kb = read_status_kb(pid, "VmRSS:");
    let pagemap = host::open_pagemap(pid).ok();
    vmas.sort_by_key(|v| v.start);
    let mut st = Stat { vmas_total: vmas.len() as u64, rss_kb, ..Default::default() };

    // Load base of each object: its lowest VMA, matched to the PT_LOAD
    // mapped from that file offset.
    let mut first: HashMap<&str, &Vma> = HashMap::new();
    for v in &vmas {
        if let Some(path) = v.path.as_deref().filter(|p| p.starts_with('/')) {
            let e = first.entry(path).or_insert(v);
            if v.start < e.start {
                *e = v;
            }
        }
    }
    struct Span<'a> {
        start: u64,
        end: u64,
        is_main: bool,
        info: &'a ObjInfo,
        base: u64,
    }
    let mut spans: Vec<Span> = Vec::new();
    let all = objs.libs.iter().map(|(p, i)| (p, i, false)).chain(std::iter::once((&objs.main.0, &objs.main.1, true)));
    for (path, info, is_main) in all {
        let Some(v) = first.get(path.as_str()) else {
            st.objects_not_found += 1;
            continue;
        };
        let Some(base) = info.base_from(v.start, v.offset) else {
            st.objects_not_found += 1;
            continue;
        };
        let (lo, hi) = info.span();
        spans.push(Span { start: base + lo, end: base + hi, is_main, info, base });
    }
    spans.sort_by_key(|s| s.start);

    let find_span = |a: u64, b: u64| -> Option<&Span> {
        // spans are disjoint: the first one ending after a
        let i = spans.partition_point(|s| s.end <= a);
        spans.get(i).filter(|s| s.start < b)
    };
    for v in &vmas {
        // A VMA could straddle spans (merged anonymous memory): count it
        // once, in the first span it touches.
        let Some(s) = find_span(v.start, v.end) else { continue };
        if s.is_main {
            st.vmas_in_main_span += 1;
        } else {
            st.vmas_in_lib_spans += 1;
            if v.path.is_some() {
                st.file_vmas_in_lib_spans += 1;
            }
        }
        if v.perms.is_prot_none() {
            st.gap_vmas += 1;
        }
    }
    // Guards over the spans (every VMA of the objects' files lies in them).
    if let Some(pm) = &pagemap {
        let mut total = Some(0u64);
        for s in &spans {
            match guard_bits(pm, s.start, s.end) {
                Some(bits) => *total.as_mut().unwrap() += bits.iter().filter(|&&g| g).count() as u64,
                None => {
                    total = None;
                    break;
                }
            }
        }
        st.guard_pages = total;
    }

    // Padding pages from the program headers.
    let (mut guarded_n, mut readable_n, mut known) = (0u64, 0u64, pagemap.is_some());
    for s in &spans {
        for (lo, hi) in s.info.padding() {
            let (a, b) = (s.base + lo, s.base + hi);
            let bits = pagemap.as_ref().and_then(|pm| guard_bits(pm, a, b));
            known &= bits.is_some();
            let mut addr = a;
            let mut k = 0;
            while addr < b {
                st.padding_pages += 1;
                let guarded = bits.as_ref().map(|b| b[k]).unwrap_or(false);
                let i = vmas.partition_point(|v| v.end <= addr);
                let vma = vmas.get(i).filter(|v| v.start <= addr);
                if guarded {
                    guarded_n += 1;
                } else {
                    match vma {
                        None => st.padding_unmapped += 1,
                        Some(v) if v.perms.is_prot_none() => st.padding_prot_none += 1,
                        Some(_) => readable_n += 1,
                    }
                }
                addr += PAGE;
                k += 1;
            }
        }
    }
    if known {
        st.padding_guard = Some(guarded_n);
        st.readable_padding_pages = Some(readable_n);
    }
    st
}

/// One timed load: spawn, wait, wall clock.
pub fn time_run(loader: &Loader, program: &Path, dir: &Path) -> Result<(Duration, Exit), String> {
    let t = time_run_with(loader, program, dir, false)?;
    Ok((t.wall, t.exit))
}

/// One timed run's results.
pub struct Timed {
    /// Spawn to wait.
    pub wall: Duration,
    pub exit: Exit,
    /// What a dlopen program measured itself.
    pub inner: Option<InProgram>,
    /// Spawn to the program's `main_ns=` (a glibc main program's
    /// CLOCK_MONOTONIC as main began).
    pub to_main: Option<Duration>,
}

/// What a dlopen program (`dlmainN`) measured itself in `BENCH_MODE=time`:
/// CLOCK_MONOTONIC around its dlopen loop and around its dlsym + call loop.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct InProgram {
    pub dlopen_ns: u64,
    pub calls_ns: u64,
}

/// Parse the dlopen program's `dlopen_ns=D calls_ns=C` line.
pub fn parse_in_program(text: &str) -> Option<InProgram> {
    let line = text.lines().find(|l| l.starts_with("dlopen_ns="))?;
    let mut p = InProgram::default();
    let (mut a, mut b) = (false, false);
    for kv in line.split_whitespace() {
        match kv.split_once('=') {
            Some(("dlopen_ns", v)) => {
                p.dlopen_ns = v.parse().ok()?;
                a = true;
            }
            Some(("calls_ns", v)) => {
                p.calls_ns = v.parse().ok()?;
                b = true;
            }
            _ => {}
        }
    }
    (a && b).then_some(p)
}

/// CLOCK_MONOTONIC in nanoseconds (the clock the programs print).
fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Parse a glibc main program's `main_ns=T` line.
pub fn parse_main_ns(text: &str) -> Option<u64> {
    text.lines().find_map(|l| l.strip_prefix("main_ns=")?.trim().parse().ok())
}

/// One timed load: spawn, wait, wall clock; with `capture` the program's
/// stdout goes to a pipe (read after the wait, so not timed; the lines are
/// far below the pipe's capacity) and its `dlopen_ns=` and `main_ns=`
/// lines are parsed.
pub fn time_run_with(loader: &Loader, program: &Path, dir: &Path, capture: bool) -> Result<Timed, String> {
    let mut c = loader.command(program, dir);
    c.env("BENCH_MODE", "time").stdin(Stdio::null()).stderr(Stdio::null());
    c.stdout(if capture { Stdio::piped() } else { Stdio::null() });
    let spawned_ns = monotonic_ns();
    let t = Instant::now();
    let mut child = c.spawn().map_err(|e| format!("spawn {:?}: {e}", loader.argv[0]))?;
    let dog = Watchdog::new(child.id(), Duration::from_secs(120));
    let st = child.wait();
    let wall = t.elapsed();
    drop(dog);
    let st = st.map_err(|e| format!("wait: {e}"))?;
    let (mut inner, mut to_main) = (None, None);
    if let Some(mut o) = child.stdout.take() {
        let mut text = String::new();
        let _ = o.read_to_string(&mut text);
        inner = parse_in_program(&text);
        to_main = parse_main_ns(&text).and_then(|m| m.checked_sub(spawned_ns)).map(Duration::from_nanos);
    }
    Ok(Timed { wall, exit: Exit::from(st), inner, to_main })
}

/// guardld's own account of where its start-up time went
/// (GUARDLD_DEBUG=statistics), in microseconds.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Phases {
    pub total_us: u64,
    pub map_us: u64,
    pub index_us: u64,
    pub reloc_us: u64,
    pub init_us: u64,
    pub relocations: u64,
    pub lookups: u64,
}

/// One run of a guardld loader with GUARDLD_DEBUG=statistics; None for
/// other loaders.
pub fn phases_run(loader: &Loader, program: &Path, dir: &Path) -> Option<Result<Phases, String>> {
    if !loader.name.starts_with("guardld") || loader.hands_over {
        return None;
    }
    let mut c = loader.command(program, dir);
    c.env("BENCH_MODE", "time").env("GUARDLD_DEBUG", "statistics").stdin(Stdio::null()).stdout(Stdio::null());
    let out = match c.output() {
        Ok(o) => o,
        Err(e) => return Some(Err(format!("spawn: {e}"))),
    };
    Some(parse_phases(&String::from_utf8_lossy(&out.stderr)))
}

/// Parse guardld's statistics lines (loader/src/stats.rs).
pub fn parse_phases(text: &str) -> Result<Phases, String> {
    let num_after = |line: &str, key: &str| -> Option<u64> {
        let rest = &line[line.find(key)? + key.len()..];
        rest.trim_start().split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
    };
    let mut p = Phases::default();
    let mut seen = 0;
    for line in text.lines() {
        if line.contains("total start-up time") {
            p.total_us = num_after(line, "time in guardld:").unwrap_or(0);
            seen += 1;
        } else if line.contains("map and load") {
            p.map_us = num_after(line, "objects:").unwrap_or(0);
            seen += 1;
        } else if line.contains("build symbol index") {
            p.index_us = num_after(line, "index:").unwrap_or(0);
        } else if line.contains("relocation (") {
            p.relocations = num_after(line, "relocation (").unwrap_or(0);
            p.reloc_us = num_after(line, "relocations):").unwrap_or(0);
        } else if line.contains("symbol lookups:") {
            p.lookups = num_after(line, "symbol lookups:").unwrap_or(0);
        } else if line.contains("initializers:") {
            p.init_us = num_after(line, "initializers:").unwrap_or(0);
        }
    }
    if seen < 2 {
        return Err(format!("no statistics in guardld's output: {}", text.trim()));
    }
    Ok(p)
}

#[cfg(test)]
mod phase_tests {
    #[test]
    fn parses_guardld_statistics() {
        let text = "guardld: statistics: total start-up time in guardld: 10614 us\n\
                    guardld:   map and load 202 objects: 7620 us (71%)\n\
                    guardld:   build symbol index: 1089 us (3%)\n\
                    guardld:   relocation (8599 relocations): 1985 us (18%)\n\
                    guardld:     symbol lookups: 8599 (through the index)\n\
                    guardld:   initializers: 30 us (0%)\n";
        let p = super::parse_phases(text).unwrap();
        assert_eq!((p.total_us, p.map_us, p.index_us, p.reloc_us, p.init_us), (10614, 7620, 1089, 1985, 30));
        assert_eq!((p.relocations, p.lookups), (8599, 8599));
        assert!(super::parse_phases("nothing").is_err());
    }
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Syscalls {
    pub mmap: u64,
    pub mprotect: u64,
    pub madvise: u64,
    /// guardld installs guards with one process_madvise per object.
    pub process_madvise: u64,
    pub openat: u64,
    /// musl and guardld open files with open(2), not openat(2).
    pub open: u64,
    pub munmap: u64,
    /// The audit module grows segment mappings over gaps with mremap.
    pub mremap: u64,
    /// The audit module checks each gap with ioctl(PROCMAP_QUERY).
    pub ioctl: u64,
}

impl Syscalls {
    /// madvise + process_madvise
    pub fn advise(&self) -> u64 {
        self.madvise + self.process_madvise
    }
    /// openat + open
    pub fn opens(&self) -> u64 {
        self.openat + self.open
    }
}

pub const STRACE_SET: &str = "trace=mmap,mprotect,madvise,process_madvise,openat,open,munmap,mremap,ioctl";

pub fn strace_available() -> bool {
    Command::new("strace").arg("-V").stdout(Stdio::null()).stderr(Stdio::null()).status().map(|s| s.success()).unwrap_or(false)
}

/// `strace -f -c -e trace=...` over one load (the brief's mmap, mprotect,
/// madvise, openat, plus the calls musl and guardld use instead: open,
/// process_madvise; and munmap, and the audit module's mremap and ioctl).
pub fn strace_run(loader: &Loader, program: &Path, dir: &Path, tmp: &Path) -> Result<Syscalls, String> {
    let inner = loader.command(program, dir);
    let mut c = Command::new("strace");
    c.args(["-f", "-c", "-e", STRACE_SET, "-o"]).arg(tmp).arg("--");
    c.arg(inner.get_program()).args(inner.get_args());
    c.current_dir(dir);
    clean_env(&mut c);
    c.env("BENCH_MODE", "time").stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
    let o = c.output().map_err(|e| format!("strace: {e}"))?;
    if !o.status.success() {
        return Err(format!("strace run failed ({}): {}", o.status, String::from_utf8_lossy(&o.stderr).trim()));
    }
    let text = std::fs::read_to_string(tmp).map_err(|e| format!("read {}: {e}", tmp.display()))?;
    let _ = std::fs::remove_file(tmp);
    Ok(parse_strace(&text))
}

pub fn parse_strace(text: &str) -> Syscalls {
    let mut s = Syscalls::default();
    for l in text.lines() {
        let t: Vec<&str> = l.split_whitespace().collect();
        if t.len() < 5 {
            continue;
        }
        // % time, seconds, usecs/call, calls, [errors,] syscall
        let Ok(calls) = t[3].parse::<u64>() else { continue };
        match *t.last().unwrap() {
            "mmap" => s.mmap = calls,
            "mprotect" => s.mprotect = calls,
            "madvise" => s.madvise = calls,
            "openat" => s.openat = calls,
            "open" => s.open = calls,
            "process_madvise" => s.process_madvise = calls,
            "munmap" => s.munmap = calls,
            "mremap" => s.mremap = calls,
            "ioctl" => s.ioctl = calls,
            _ => {}
        }
    }
    s
}

/// vm_area_struct object size from /proc/slabinfo (None if unreadable or
/// the cache is merged into another one and not listed by name).
pub fn vma_objsize() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/slabinfo").ok()?;
    for l in s.lines() {
        let t: Vec<&str> = l.split_whitespace().collect();
        if t.first() == Some(&"vm_area_struct") && t.len() > 3 {
            return t[3].parse().ok();
        }
    }
    None
}

pub fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strace_table() {
        let t = "% time     seconds  usecs/call     calls    errors syscall\n\
------ ----------- ----------- --------- --------- ----------------\n\
 60.00    0.000060           1        40           mmap\n\
 30.00    0.000030           1        30         2 openat\n\
 10.00    0.000010           1        10           mprotect\n\
------ ----------- ----------- --------- --------- ----------------\n\
100.00    0.000100           1        80         2 total\n";
        let s = parse_strace(t);
        assert_eq!((s.mmap, s.openat, s.mprotect, s.madvise), (40, 30, 10, 0));
    }

    #[test]
    fn in_program_times() {
        let p = parse_in_program("dlopen_ns=1234567 calls_ns=89\n").unwrap();
        assert_eq!(p, InProgram { dlopen_ns: 1234567, calls_ns: 89 });
        assert_eq!(parse_in_program("x\ndlopen_ns=5 calls_ns=6"), Some(InProgram { dlopen_ns: 5, calls_ns: 6 }));
        assert_eq!(parse_in_program("dlopen_ns=5"), None);
        assert_eq!(parse_in_program("dlopen_ns=x calls_ns=6"), None);
        assert_eq!(parse_in_program(""), None);
        assert_eq!(parse_main_ns("ready\nmain_ns=123456789\n"), Some(123456789));
        assert_eq!(parse_main_ns("main_ns=x"), None);
    }
}
