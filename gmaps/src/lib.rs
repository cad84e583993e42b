//! gmaps: `/proc/PID/maps` and `pmap`, aware of guard regions.
//!
//! Guard regions (`madvise(MADV_GUARD_INSTALL)`, Linux 6.13+, file mappings 6.15+) are page-table
//! markers: any access faults, but no VMA is created, so `/proc/PID/maps` cannot show them. This
//! library finds them and splits every VMA into runs of guarded and unguarded pages:
//!
//! * `PAGEMAP_SCAN` ioctl on `/proc/PID/pagemap` with category `PAGE_IS_GUARD` (6.16+), which
//!   returns ranges;
//! * else one 64-bit `/proc/PID/pagemap` entry per page, bit 58 `PM_GUARD_REGION` (6.15+);
//! * plus, per VMA, the `gu` flag of `VmFlags` in `/proc/PID/smaps` where the kernel prints it
//!   (6.19, 6.18.37+). It only says that the VMA has (or had: it is sticky) guards, not where.
//!
//! The method is chosen by [`probe`], which installs a guard on a page of this very process and
//! checks that the method reports exactly that page.
//!
//! The kernel interfaces themselves (numbers, ioctl layouts, the maps/smaps/pagemap readers) are
//! the `guard-abi` and `guard-abi-host` crates'; this crate adds the method probe, ELF segment
//! names and the report.

use guard_abi_host as host;
use serde::Serialize;
use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// Addresses at or above this are kernel space (`[vsyscall]`); nothing there can be guarded and
/// neither pagemap interface covers it.
const USER_ADDR_LIMIT: u64 = 1 << 63;

// ---------------------------------------------------------------------------------------------
// Errors

#[derive(Debug)]
pub enum Error {
    /// `/proc/PID` does not exist.
    NoSuchProcess(i32),
    /// Reading the process's maps, smaps or pagemap was refused.
    PermissionDenied { pid: i32, path: String },
    /// The process exists but has no address space (kernel thread, zombie).
    NoAddressSpace(i32),
    /// The kernel cannot report guard regions with the requested method(s).
    NoGuardReporting(String),
    /// Anything else, with context.
    Other(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoSuchProcess(pid) => write!(f, "pid {pid}: no such process"),
            Error::PermissionDenied { pid, path } => write!(
                f,
                "pid {pid}: permission denied reading {path} (needs ptrace read access to the \
                 process: same uid and dumpable, or CAP_SYS_PTRACE)"
            ),
            Error::NoAddressSpace(pid) => write!(
                f,
                "pid {pid}: no memory mappings (a kernel thread, or a process that has exited)"
            ),
            Error::NoGuardReporting(why) => {
                write!(f, "this kernel cannot report guard regions: {why}")
            }
            Error::Other(s) => f.write_str(s),
        }
    }
}

impl std::error::Error for Error {}

fn map_io(pid: i32, path: &Path, e: io::Error) -> Error {
    match e.raw_os_error() {
        Some(libc::ENOENT) | Some(libc::ESRCH) => Error::NoSuchProcess(pid),
        Some(libc::EACCES) | Some(libc::EPERM) => Error::PermissionDenied {
            pid,
            path: path.display().to_string(),
        },
        _ => Error::Other(format!("pid {pid}: {}: {e}", path.display())),
    }
}

pub fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let ps = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if ps > 0 { ps as u64 } else { 4096 }
}

// ---------------------------------------------------------------------------------------------
// /proc/PID/maps

/// One line of `/proc/PID/maps`, as the report prints it (`--json` flattens it into each VMA).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MapEntry {
    pub start: u64,
    pub end: u64,
    /// Exactly as the kernel prints it, e.g. `r-xp`.
    pub perms: String,
    pub offset: u64,
    /// `major:minor` in hex, as printed.
    pub dev: String,
    pub inode: u64,
    /// File path or pseudo name (`[heap]`, `[stack]`, ...); `None` for anonymous mappings.
    pub path: Option<String>,
}

impl MapEntry {
    /// PROT_NONE: no read, write or execute permission (`---p` or `---s`).
    pub fn is_prot_none(&self) -> bool {
        self.perms.as_bytes().get(..3) == Some(b"---")
    }
    /// Backed by a file (inode != 0 and a path that is not a `[pseudo]` name).
    pub fn is_file(&self) -> bool {
        self.inode != 0 && self.path.as_deref().is_some_and(|p| !p.starts_with('['))
    }
}

impl From<host::Vma> for MapEntry {
    fn from(v: host::Vma) -> MapEntry {
        MapEntry {
            start: v.start,
            end: v.end,
            perms: v.perms.to_string(),
            offset: v.offset,
            dev: v.dev.to_string(),
            inode: v.inode,
            path: v.path,
        }
    }
}

fn proc_path(pid: i32, name: &str) -> PathBuf {
    PathBuf::from(format!("/proc/{pid}/{name}"))
}

/// Reads and parses `/proc/PID/maps`.
pub fn read_maps(pid: i32) -> Result<Vec<MapEntry>, Error> {
    if pid <= 0 {
        return Err(Error::NoSuchProcess(pid));
    }
    match host::read_maps(pid as u32) {
        Ok(v) => Ok(v.into_iter().map(MapEntry::from).collect()),
        Err(e) if e.kind() == io::ErrorKind::InvalidData => Err(Error::Other(format!("pid {pid}: {e}"))),
        Err(e) => Err(map_io(pid, &proc_path(pid, "maps"), e)),
    }
}

// ---------------------------------------------------------------------------------------------
// Guard detection

/// How guard pages are found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// `PAGEMAP_SCAN` ioctl, category `PAGE_IS_GUARD`.
    PagemapScan,
    /// `/proc/PID/pagemap` entries, bit 58.
    PagemapBit58,
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Method::PagemapScan => "PAGEMAP_SCAN ioctl (PAGE_IS_GUARD)",
            Method::PagemapBit58 => "/proc/PID/pagemap bit 58 (PM_GUARD_REGION)",
        })
    }
}

/// What the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodChoice {
    Auto,
    Scan,
    Pagemap,
}

/// Result of [`probe`].
#[derive(Debug, Clone, Serialize)]
pub struct ProbeResult {
    pub method: Method,
    /// Why `PAGEMAP_SCAN` was not chosen, if it was not.
    pub scan_unavailable: Option<String>,
}

/// Probes this kernel: maps three anonymous pages in this process, guards the middle one and
/// checks that the chosen method reports exactly that page and nothing else.
pub fn probe(choice: MethodChoice) -> Result<ProbeResult, Error> {
    let ps = page_size();
    let len = (3 * ps) as usize;
    // SAFETY: fresh anonymous mapping; only touched through the kernel below, unmapped at the end.
    let base = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if base == libc::MAP_FAILED {
        return Err(Error::Other(format!(
            "probe: mmap: {}",
            io::Error::last_os_error()
        )));
    }
    struct Unmap(*mut libc::c_void, usize);
    impl Drop for Unmap {
        fn drop(&mut self) {
            // SAFETY: unmapping the probe mapping we created.
            unsafe { libc::munmap(self.0, self.1) };
        }
    }
    let _guard = Unmap(base, len);
    let b = base as u64;
    // Populate the pages around so a pagemap-based method has present neighbours to tell apart.
    // SAFETY: writes within the mapping, before the guard is installed.
    unsafe { std::ptr::write_bytes(base as *mut u8, 1, len) };
    // SAFETY: madvise on our own mapping.
    let r = unsafe {
        libc::madvise(
            (b + ps) as *mut libc::c_void,
            ps as usize,
            guard_abi::MADV_GUARD_INSTALL as libc::c_int,
        )
    };
    if r != 0 {
        let e = io::Error::last_os_error();
        return Err(Error::NoGuardReporting(format!(
            "madvise(MADV_GUARD_INSTALL=102) on an anonymous page failed: {e} (guard regions need \
             Linux 6.13+, so no process here can have any)"
        )));
    }
    let want = vec![(b + ps, b + 2 * ps)];
    let pm = host::open_pagemap(std::process::id())
        .map_err(|e| Error::Other(format!("probe: /proc/self/pagemap: {e}")))?;

    let mut scan_why = None;
    if choice != MethodChoice::Pagemap {
        match host::guard_ranges_scan(&pm, b, b + len as u64) {
            Ok(got) if got == want => {
                return Ok(ProbeResult {
                    method: Method::PagemapScan,
                    scan_unavailable: None,
                });
            }
            Ok(got) => {
                scan_why = Some(format!(
                    "PAGEMAP_SCAN did not report the probe guard (expected {want:x?}, got {got:x?}; \
                     PAGE_IS_GUARD needs Linux 6.16+)"
                ))
            }
            Err(e) if host::is_unsupported(&e) => {
                scan_why = Some(format!(
                    "PAGEMAP_SCAN with PAGE_IS_GUARD: {e} (needs Linux 6.16+)"
                ))
            }
            Err(e) => scan_why = Some(format!("PAGEMAP_SCAN failed: {e}")),
        }
        if choice == MethodChoice::Scan {
            return Err(Error::NoGuardReporting(scan_why.unwrap()));
        }
    }
    match host::guard_ranges_pagemap(&pm, b, b + len as u64, ps) {
        Ok(got) if got == want => Ok(ProbeResult {
            method: Method::PagemapBit58,
            scan_unavailable: scan_why,
        }),
        Ok(got) => Err(Error::NoGuardReporting(format!(
            "{}pagemap bit 58 (PM_GUARD_REGION, Linux 6.15+) did not mark the probe guard page \
             (expected {want:x?}, got {got:x?})",
            scan_why.map(|w| w + "; ").unwrap_or_default()
        ))),
        Err(e) => Err(Error::NoGuardReporting(format!(
            "{}reading /proc/self/pagemap failed: {e}",
            scan_why.map(|w| w + "; ").unwrap_or_default()
        ))),
    }
}

// ---------------------------------------------------------------------------------------------
// ELF segments

/// PT_LOAD segments of one file, page-rounded virtual ranges (unbiased) and file offset of the
/// first one.
#[derive(Debug, Clone)]
struct ElfLoads {
    /// (vaddr_start_page_aligned, vaddr_end_page_rounded) per PT_LOAD, in program-header order.
    loads: Vec<(u64, u64)>,
    /// Page-aligned file offset of the first PT_LOAD (the VMA that starts an image maps it).
    first_offset: u64,
}

fn read_elf_loads(path: &Path, ps: u64) -> Option<ElfLoads> {
    use object::{Object, ObjectSegment};
    let f = File::open(path).ok()?;
    let cache = object::ReadCache::new(f);
    let obj = object::File::parse(&cache).ok()?;
    if !matches!(obj.format(), object::BinaryFormat::Elf) {
        return None;
    }
    let mut loads = Vec::new();
    let mut first_offset = None;
    for seg in obj.segments() {
        let a = seg.address();
        let s = a & !(ps - 1);
        let e = (a + seg.size()).div_ceil(ps) * ps;
        if first_offset.is_none() {
            first_offset = Some(seg.file_range().0 & !(ps - 1));
        }
        loads.push((s, e));
    }
    Some(ElfLoads {
        loads,
        first_offset: first_offset?,
    })
}

/// Names the parts of the (unbiased) virtual range `[s, e)` that PT_LOADs and the gaps between
/// them cover: `PT_LOAD#i` or `gap#i-#j` (between PT_LOAD i and j), `outside` past the image.
fn label_range(l: &ElfLoads, s: u64, e: u64) -> Vec<String> {
    let mut out = Vec::new();
    let mut push = |x: String| {
        if out.last() != Some(&x) {
            out.push(x)
        }
    };
    let mut sorted: Vec<(usize, (u64, u64))> = l.loads.iter().copied().enumerate().collect();
    sorted.sort_by_key(|(_, r)| r.0);
    let mut cur = s;
    let mut prev: Option<usize> = None;
    for &(i, (ls, le)) in &sorted {
        if cur >= e {
            break;
        }
        if le <= cur {
            prev = Some(i);
            continue;
        }
        if ls > cur {
            push(match prev {
                Some(p) => format!("gap#{p}-#{i}"),
                None => "outside".to_string(),
            });
            cur = ls.min(e);
            if cur >= e {
                break;
            }
        }
        push(format!("PT_LOAD#{i}"));
        cur = le.min(e);
        prev = Some(i);
    }
    if cur < e {
        push("outside".to_string());
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The report

/// A run of pages in one VMA that are all guarded or all not.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Run {
    pub start: u64,
    pub end: u64,
    pub pages: u64,
    pub guard: bool,
    /// The VMA's perms, or `----` for a guard run.
    pub perms: String,
    /// File offset of `start` (the VMA's offset plus the distance into it).
    pub offset: u64,
    /// For file mappings of ELF files: the PT_LOAD segments (`PT_LOAD#i`) or gaps between them
    /// (`gap#i-#j`) this run covers; empty when unknown.
    pub segments: Vec<String>,
}

/// One VMA (one line of `/proc/PID/maps`) and its runs.
#[derive(Debug, Clone, Serialize)]
pub struct Vma {
    #[serde(flatten)]
    pub map: MapEntry,
    pub size: u64,
    pub prot_none: bool,
    /// Total guarded pages in this VMA.
    pub guard_pages: u64,
    /// `gu` in this VMA's smaps VmFlags: `Some(true/false)` when the kernel prints the flag
    /// (some VMA in the process shows it, or this kernel is known to), `None` when unknown.
    pub smaps_gu: Option<bool>,
    /// How this VMA's guards were looked for: the report's method, or `none` for kernel-space
    /// pseudo mappings (`[vsyscall]`) that cannot hold guards.
    pub guard_source: String,
    pub runs: Vec<Run>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct FileSummary {
    /// File path, pseudo name (`[heap]`...), or `[anon]`.
    pub path: String,
    pub vmas: u64,
    pub prot_none_vmas: u64,
    pub guard_ranges: u64,
    pub guard_pages: u64,
    /// Bytes mapped by these VMAs (guarded pages included).
    pub bytes: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub files: Vec<FileSummary>,
    /// Totals over all VMAs; `path` is `total`.
    pub total: FileSummary,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub pid: i32,
    pub page_size: u64,
    pub method: Method,
    /// Why PAGEMAP_SCAN was not used, if it was not.
    pub scan_unavailable: Option<String>,
    /// Whether this kernel's smaps prints the `gu` VmFlag (detected from the probe, not assumed).
    pub smaps_gu_supported: bool,
    pub vmas: Vec<Vma>,
    pub summary: Summary,
}

/// Splits `[start, end)` into runs given sorted, merged guard ranges (may extend past it).
pub fn split_runs(start: u64, end: u64, guards: &[(u64, u64)]) -> Vec<(u64, u64, bool)> {
    let mut out = Vec::new();
    let mut cur = start;
    for &(gs, ge) in guards {
        let gs = gs.max(start);
        let ge = ge.min(end);
        if gs >= ge || ge <= cur {
            continue;
        }
        if gs > cur {
            out.push((cur, gs, false));
        }
        out.push((gs.max(cur), ge, true));
        cur = ge;
    }
    if cur < end {
        out.push((cur, end, false));
    }
    out
}

/// Builds the summary from VMAs.
pub fn summarize(vmas: &[Vma]) -> Summary {
    let mut files: Vec<FileSummary> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut total = FileSummary {
        path: "total".into(),
        ..Default::default()
    };
    for v in vmas {
        let key = v.map.path.clone().unwrap_or_else(|| "[anon]".into());
        let i = *index.entry(key.clone()).or_insert_with(|| {
            files.push(FileSummary {
                path: key,
                ..Default::default()
            });
            files.len() - 1
        });
        let ranges = v.runs.iter().filter(|r| r.guard).count() as u64;
        for s in [&mut files[i], &mut total] {
            s.vmas += 1;
            s.prot_none_vmas += v.prot_none as u64;
            s.guard_ranges += ranges;
            s.guard_pages += v.guard_pages;
            s.bytes += v.size;
        }
    }
    Summary { files, total }
}

/// Does this kernel print `gu` in smaps? Checked on a guarded page of our own process.
fn smaps_gu_supported() -> bool {
    let ps = page_size();
    // SAFETY: fresh anonymous mapping, unmapped below.
    let base = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            ps as usize * 2,
            libc::PROT_READ,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if base == libc::MAP_FAILED {
        return false;
    }
    // SAFETY: our mapping.
    let ok = unsafe { libc::madvise(base, ps as usize, guard_abi::MADV_GUARD_INSTALL as libc::c_int) } == 0;
    let res = ok
        && host::read_vm_flags(std::process::id()).is_ok_and(|f| {
            f.get(&(base as u64))
                .is_some_and(|f| f.iter().any(|x| x == guard_abi::VM_FLAG_GUARD))
        });
    // SAFETY: our mapping.
    unsafe { libc::munmap(base, ps as usize * 2) };
    res
}

/// Options for [`snapshot`].
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub method: MethodChoice,
    /// Name the PT_LOAD segments that file VMAs and guard runs correspond to.
    pub segments: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            method: MethodChoice::Auto,
            segments: true,
        }
    }
}

/// Takes a guard-aware snapshot of process `pid`'s address space.
pub fn snapshot(pid: i32, opts: Options) -> Result<Report, Error> {
    let maps = read_maps(pid)?;
    let pm_path = proc_path(pid, "pagemap");
    let pagemap = host::open_pagemap(pid as u32).map_err(|e| map_io(pid, &pm_path, e))?;
    if maps.is_empty() {
        return Err(Error::NoAddressSpace(pid));
    }
    let probe = probe(opts.method)?;
    let ps = page_size();
    let gu_supported = smaps_gu_supported();
    let smaps = host::read_vm_flags(pid as u32).ok();

    let mut elf_cache: HashMap<String, Option<ElfLoads>> = HashMap::new();
    // Current ELF image per path: bias of the image the following VMAs of that file belong to.
    let mut image_bias: HashMap<String, u64> = HashMap::new();

    // The image the previous VMA belonged to: an anonymous VMA right after it is its bss.
    let mut prev_image: Option<(u64, String, u64)> = None; // (prev vma end, path, bias)

    let mut vmas = Vec::with_capacity(maps.len());
    for m in maps {
        let (guards, source) =
            if m.start >= USER_ADDR_LIMIT || m.path.as_deref() == Some("[vsyscall]") {
                (Vec::new(), "none".to_string())
            } else {
                match probe.method {
                    Method::PagemapScan => match host::guard_ranges_scan(&pagemap, m.start, m.end) {
                        Ok(g) => (g, "pagemap_scan".to_string()),
                        Err(e) if host::is_unsupported(&e) => (
                            host::guard_ranges_pagemap(&pagemap, m.start, m.end, ps)
                                .map_err(|e| map_io(pid, &pm_path, e))?,
                            "pagemap_bit58".to_string(),
                        ),
                        Err(e) => return Err(map_io(pid, &pm_path, e)),
                    },
                    Method::PagemapBit58 => (
                        host::guard_ranges_pagemap(&pagemap, m.start, m.end, ps)
                            .map_err(|e| map_io(pid, &pm_path, e))?,
                        "pagemap_bit58".to_string(),
                    ),
                }
            };

        // ELF segment naming for file mappings.
        let mut loads: Option<&ElfLoads> = None;
        let mut bias = 0u64;
        if opts.segments && m.is_file() {
            let path = m.path.clone().unwrap();
            let entry = elf_cache.entry(path.clone()).or_insert_with(|| {
                let p = path.strip_suffix(" (deleted)").unwrap_or(&path);
                let in_root = PathBuf::from(format!("/proc/{pid}/root{p}"));
                read_elf_loads(&in_root, ps).or_else(|| read_elf_loads(Path::new(p), ps))
            });
            if let Some(l) = entry.as_ref() {
                // A VMA mapping the first PT_LOAD's page starts a new image of
                // this file, unless it lies inside the current image's span
                // (lld packs all segments into file page 0, so later
                // segments map offset 0 too).
                let inside_current = image_bias.get(&path).is_some_and(|&b| {
                    let off = m.start.wrapping_sub(b);
                    l.loads.iter().any(|&(s, _)| s == off) || off < l.loads.last().map_or(0, |&(_, e)| e)
                });
                if m.offset == l.first_offset
                    && !inside_current
                    && let Some(&(v0, _)) = l.loads.first()
                {
                    image_bias.insert(path.clone(), m.start.wrapping_sub(v0));
                }
                if let Some(&b) = image_bias.get(&path) {
                    bias = b;
                    loads = Some(l);
                }
            }
        } else if opts.segments
            && m.path.is_none()
            && m.inode == 0
            && let Some((prev_end, path, b)) = &prev_image
            && *prev_end == m.start
            && let Some(Some(l)) = elf_cache.get(path)
        {
            bias = *b;
            loads = Some(l);
        }
        prev_image = match (&m.path, loads.is_some()) {
            (Some(p), true) => Some((m.end, p.clone(), bias)),
            _ => None,
        };

        let is_file = m.is_file();
        let mut guard_pages = 0;
        let runs = split_runs(m.start, m.end, &guards)
            .into_iter()
            .map(|(s, e, g)| {
                let pages = (e - s) / ps;
                if g {
                    guard_pages += pages;
                }
                Run {
                    start: s,
                    end: e,
                    pages,
                    guard: g,
                    perms: if g { "----".into() } else { m.perms.clone() },
                    // The kernel prints a file offset for file-backed VMAs only.
                    offset: if m.inode != 0 {
                        m.offset + (s - m.start)
                    } else {
                        m.offset
                    },
                    segments: loads
                        .map(|l| {
                            let mut v = label_range(l, s.wrapping_sub(bias), e.wrapping_sub(bias));
                            if !is_file {
                                // An anonymous VMA after an image: only its bss part is named.
                                v.retain(|x| x != "outside");
                            }
                            v
                        })
                        .unwrap_or_default(),
                }
            })
            .collect();
        let smaps_gu = match &smaps {
            Some(map) if gu_supported => map
                .get(&m.start)
                .map(|f| f.iter().any(|x| x == guard_abi::VM_FLAG_GUARD)),
            _ => None,
        };
        vmas.push(Vma {
            size: m.end - m.start,
            prot_none: m.is_prot_none(),
            guard_pages,
            smaps_gu,
            guard_source: source,
            runs,
            map: m,
        });
    }
    let summary = summarize(&vmas);
    Ok(Report {
        pid,
        page_size: ps,
        method: probe.method,
        scan_unavailable: probe.scan_unavailable,
        smaps_gu_supported: gu_supported,
        vmas,
        summary,
    })
}

// ---------------------------------------------------------------------------------------------
// Text output

/// Formats one run as a `/proc/PID/maps` line: guard runs get perms `----` and a trailing
/// `[guard]` tag; with `segments`, the PT_LOAD names follow the path in parentheses.
pub fn format_run(v: &Vma, r: &Run, segments: bool) -> String {
    // Same layout as the kernel's show_map_vma(): an unguarded run that is a whole VMA prints
    // byte-for-byte as its /proc/PID/maps line (including the trailing space of nameless lines).
    let mut line = format!(
        "{:08x}-{:08x} {} {:08x} {} {} ",
        r.start, r.end, r.perms, r.offset, v.map.dev, v.map.inode
    );
    if let Some(p) = &v.map.path {
        // The kernel pads to column 73 before the name.
        while line.len() < 73 {
            line.push(' ');
        }
        line.push_str(p);
    }
    let sep = |line: &mut String| {
        if !line.ends_with(' ') {
            line.push(' ');
        }
    };
    if segments && !r.segments.is_empty() {
        sep(&mut line);
        line.push_str(&format!("({})", r.segments.join(",")));
    }
    if r.guard {
        sep(&mut line);
        line.push_str("[guard]");
    }
    line
}

/// The default output: maps-style lines, one per run.
pub fn format_maps(rep: &Report, segments: bool) -> String {
    let mut s = String::new();
    for v in &rep.vmas {
        for r in &v.runs {
            s.push_str(&format_run(v, r, segments));
            s.push('\n');
        }
    }
    s
}

/// The `--summary` table.
pub fn format_summary(rep: &Report) -> String {
    let w = rep
        .summary
        .files
        .iter()
        .map(|f| f.path.len())
        .max()
        .unwrap_or(0)
        .clamp(5, 60);
    let mut s = format!(
        "{:<w$} {:>6} {:>6} {:>7} {:>11} {:>14}\n",
        "FILE", "VMAS", "---p", "GUARDS", "GUARD_PAGES", "BYTES"
    );
    let row = |f: &FileSummary| {
        format!(
            "{:<w$} {:>6} {:>6} {:>7} {:>11} {:>14}\n",
            f.path, f.vmas, f.prot_none_vmas, f.guard_ranges, f.guard_pages, f.bytes
        )
    };
    for f in &rep.summary.files {
        s.push_str(&row(f));
    }
    s.push_str(&row(&rep.summary.total));
    s.push_str(&format!(
        "pid {}: {} VMAs, {} PROT_NONE VMAs, {} guard ranges, {} guard pages ({} bytes); guards found with {}\n",
        rep.pid,
        rep.summary.total.vmas,
        rep.summary.total.prot_none_vmas,
        rep.summary.total.guard_ranges,
        rep.summary.total.guard_pages,
        rep.summary.total.guard_pages * rep.page_size,
        rep.method
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_runs() {
        let g = [(0x0, 0x2000), (0x3000, 0x4000), (0x6000, 0x9000)];
        assert_eq!(
            split_runs(0x1000, 0x7000, &g),
            vec![
                (0x1000, 0x2000, true),
                (0x2000, 0x3000, false),
                (0x3000, 0x4000, true),
                (0x4000, 0x6000, false),
                (0x6000, 0x7000, true)
            ]
        );
        assert_eq!(
            split_runs(0x1000, 0x2000, &[]),
            vec![(0x1000, 0x2000, false)]
        );
    }

    #[test]
    fn labels_segments() {
        let l = ElfLoads {
            loads: vec![(0, 0x1000), (0x10000, 0x12000), (0x20000, 0x21000)],
            first_offset: 0,
        };
        assert_eq!(label_range(&l, 0, 0x1000), vec!["PT_LOAD#0"]);
        assert_eq!(label_range(&l, 0x1000, 0x10000), vec!["gap#0-#1"]);
        assert_eq!(
            label_range(&l, 0x11000, 0x14000),
            vec!["PT_LOAD#1", "gap#1-#2"]
        );
        assert_eq!(label_range(&l, 0x21000, 0x22000), vec!["outside"]);
    }

    #[test]
    fn probe_sees_own_guard() {
        let p = probe(MethodChoice::Auto).expect("this kernel reports guards");
        assert_eq!(
            p.method,
            Method::PagemapScan,
            "6.16+ kernel: {:?}",
            p.scan_unavailable
        );
        let p = probe(MethodChoice::Pagemap).expect("bit 58 works");
        assert_eq!(p.method, Method::PagemapBit58);
    }
}
