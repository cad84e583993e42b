//! Helpers for running the machine's glibc programs under glibc's ld.so
//! and under guardld's glibc personality (tests/glibc_native.rs): runs
//! with bytes on stdin, copies of a program with another PT_INTERP (and a
//! path to guardld short enough to be one), g++ builds, /proc/PID/maps.

use super::{Outcome, elf, guardld, rust_sysroot, signal_name};
use std::ffi::OsStr;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

// ------------------------------------------------------------------ runs ----

/// Run `cmd` in its own process group with `input` on stdin (None:
/// /dev/null), stdout and stderr captured; kill the group after `timeout`.
/// (common's `run` always gives /dev/null.)
pub fn run_input(cmd: &mut Command, input: Option<&[u8]>, timeout: Duration) -> Outcome {
    let start = Instant::now();
    let command = format!("{cmd:?}");
    cmd.stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot spawn {command}: {e}"));
    // Fed from a thread: a program may write (and fill its stdout pipe)
    // before it has read all of its input.
    let feeder = input.map(|d| {
        let (d, mut w) = (d.to_vec(), child.stdin.take().unwrap());
        std::thread::spawn(move || {
            let _ = w.write_all(&d);
        })
    });
    let reader = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            v
        })
    };
    let t_out = reader(Box::new(child.stdout.take().unwrap()));
    let t_err = reader(Box::new(child.stderr.take().unwrap()));
    let (status, timed_out) = super::wait_group(&mut child, start, timeout);
    let elapsed = start.elapsed();
    if let Some(f) = feeder {
        let _ = f.join();
    }
    Outcome { command, status, stdout: t_out.join().unwrap(), stderr: t_err.join().unwrap(), timed_out, elapsed }
}

/// How a run ended, in a few words: "exit 0", "signal 11 (SIGSEGV)",
/// "timed out".
pub fn how(o: &Outcome) -> String {
    if o.timed_out {
        format!("timed out after {:?}", o.elapsed)
    } else if let Some(c) = o.code() {
        format!("exit {c}")
    } else {
        let s = o.signal().unwrap_or(0);
        format!("signal {s} ({})", signal_name(s))
    }
}

/// At most `max` bytes of `b` for a failure message: text as text (control
/// characters other than newline and tab escaped, with how much was cut);
/// what is mostly not text as its length and leading bytes in hex.
pub fn show_bytes(b: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(&b[..b.len().min(max)]);
    let odd = |c: char| c == char::REPLACEMENT_CHARACTER || (c.is_control() && c != '\n' && c != '\t');
    if text.chars().filter(|&c| odd(c)).count() * 20 > text.chars().count() {
        let hex: String = b.iter().take(48).map(|x| format!("{x:02x}")).collect();
        return format!("[{} bytes, binary; first {}: {hex}]", b.len(), b.len().min(48));
    }
    let mut s: String = text.chars().map(|c| if odd(c) { c.escape_default().to_string() } else { c.to_string() }).collect();
    if b.len() > max {
        s.push_str(&format!("\n[... {} more bytes]", b.len() - max));
    }
    s
}

// ------------------------------------------------------------- PT_INTERP ----

/// guardld by a path short enough to be written over glibc's PT_INTERP
/// string (`/lib64/ld-linux-x86-64.so.2`, 27 bytes and a NUL; guardld's
/// own path under target/itest is longer): `/tmp/gldn<pid>/g/guardld`
/// (at most 26 bytes), `g` a symlink to guardld's directory, so that
/// guardld, which looks for its audit module beside the path it was
/// started by (its PT_INTERP), still finds it. One per test process;
/// those of test processes that are gone are removed.
pub fn short_guardld() -> &'static Path {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| {
        let real = guardld();
        remove_stale_short_dirs();
        let dir = short_dir();
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        std::os::unix::fs::symlink(real.parent().unwrap(), dir.join("g")).unwrap();
        let p = dir.join("g").join(real.file_name().unwrap());
        assert!(p.is_file(), "{} does not reach {}", p.display(), real.display());
        p
    })
}

/// `/tmp/gldn<pid>`: this test process's short directory (also the home of
/// the per-test temporary directories of tests/glibc_native.rs).
pub fn short_dir() -> PathBuf {
    PathBuf::from(format!("/tmp/gldn{}", std::process::id()))
}

fn remove_stale_short_dirs() {
    let Ok(rd) = std::fs::read_dir("/tmp") else { return };
    for e in rd.flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix("gldn")).and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// The PT_INTERP string of an ELF file (None: it has none).
pub fn interp_of(file: &Path) -> Option<String> {
    let d = std::fs::read(file).ok()?;
    if !d.starts_with(b"\x7fELF") {
        return None;
    }
    let p = elf::phdrs(&d).into_iter().find(|p| p.p_type == object::elf::PT_INTERP)?;
    let s = d.get(p.p_offset as usize..(p.p_offset + p.p_filesz) as usize)?;
    Some(String::from_utf8_lossy(s.split(|&b| b == 0).next().unwrap()).into_owned())
}

/// Copy `src` to `dst` (mode 0755) with PT_INTERP naming `interp`. The new
/// string is written over the old one and NUL-padded, so nothing else in
/// the file moves: the kernel reads PT_INTERP by p_offset/p_filesz, and a
/// loader reads it at p_vaddr in the mapped image, so a longer string put
/// elsewhere would need a new PT_LOAD. Panics if `interp` and its NUL do
/// not fit in the original's p_filesz (hence [`short_guardld`]).
pub fn copy_with_interp(src: &Path, dst: &Path, interp: &Path) {
    let mut d = std::fs::read(src).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
    let p = elf::phdrs(&d)
        .into_iter()
        .find(|p| p.p_type == object::elf::PT_INTERP)
        .unwrap_or_else(|| panic!("{} has no PT_INTERP", src.display()));
    let new = interp.as_os_str().as_encoded_bytes();
    let (at, room) = (p.p_offset as usize, p.p_filesz as usize);
    assert!(
        new.len() < room,
        "PT_INTERP {} ({} bytes and a NUL) does not fit in the {room} bytes of {}'s",
        interp.display(),
        new.len(),
        src.display()
    );
    d[at..at + room].fill(0);
    d[at..at + new.len()].copy_from_slice(new);
    std::fs::write(dst, &d).unwrap_or_else(|e| panic!("{}: {e}", dst.display()));
    std::fs::set_permissions(dst, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(interp_of(dst).as_deref(), interp.to_str(), "{}", dst.display());
}

// ------------------------------------------------------------------- g++ ----

/// Whether g++ can be run.
pub fn have_gxx() -> bool {
    Command::new("g++").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

/// `g++ -O2 -g -I testbins ARGS -o OUT`, linked by lld with 64 KiB
/// max-page-size (objects with padding between their segments); panics
/// with g++'s output on failure.
pub fn gxx(out: &Path, args: &[&OsStr]) -> PathBuf {
    let mut c = Command::new("g++");
    c.args(["-O2", "-g", "-Wall", "-Wextra"])
        .arg("-I")
        .arg(super::testbins())
        .arg("-B")
        .arg(rust_sysroot().join("lib/rustlib/x86_64-unknown-linux-gnu/bin/gcc-ld"))
        .args(["-fuse-ld=lld", "-Wl,-z,max-page-size=65536", "-o"])
        .arg(out)
        .args(args);
    let o = c.stdin(Stdio::null()).output().expect("run g++");
    assert!(o.status.success(), "g++ failed ({}):\n{c:?}\n{}{}", o.status, String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    out.to_path_buf()
}

// ------------------------------------------------------------------ maps ----

/// One line of /proc/PID/maps.
#[derive(Clone, Debug)]
pub struct Vma {
    pub start: u64,
    pub end: u64,
    pub perms: String,
    pub offset: u64,
    /// Empty for anonymous memory.
    pub path: String,
    pub line: String,
}

pub fn parse_maps(text: &str) -> Vec<Vma> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (range, perms, offset) = (f.next()?, f.next()?, f.next()?);
            let (s, e) = range.split_once('-')?;
            // dev and inode, then the path (which may hold spaces).
            let path = f.nth(2).map(|first| l[l.find(first).unwrap()..].to_string()).unwrap_or_default();
            Some(Vma {
                start: u64::from_str_radix(s, 16).ok()?,
                end: u64::from_str_radix(e, 16).ok()?,
                perms: perms.to_string(),
                offset: u64::from_str_radix(offset, 16).ok()?,
                path,
                line: l.to_string(),
            })
        })
        .collect()
}

/// An ELF object as mapped in a process.
#[derive(Debug)]
pub struct MappedObject {
    pub path: String,
    /// [start, end): its PT_LOADs' page-rounded span, placed where its
    /// first page is mapped.
    pub start: u64,
    pub end: u64,
    /// Padding ranges between its PT_LOADs (from its program headers).
    pub gaps: usize,
    /// The `---p` VMAs inside the span (any path, anonymous too).
    pub prot_none: Vec<String>,
}

/// Every ELF file mapped in `maps` (a path with a VMA at file offset 0
/// whose file starts with an ELF header): its span, computed from its own
/// program headers and its lowest VMA, and the `---p` VMAs inside it.
/// Nothing here is taken from the loader that made the mappings.
pub fn mapped_objects(maps: &[Vma]) -> Vec<MappedObject> {
    let mut out: Vec<MappedObject> = Vec::new();
    for v in maps {
        if v.offset != 0 || !v.path.starts_with('/') || out.iter().any(|o| o.path == v.path) {
            continue;
        }
        let Ok(d) = std::fs::read(&v.path) else { continue };
        if !d.starts_with(b"\x7fELF") {
            continue;
        }
        let e = elf::Elf::parse(&d);
        let (lo, hi) = e.span();
        // The lowest offset-0 VMA of this path is its first page.
        let start = maps.iter().filter(|w| w.path == v.path && w.offset == 0).map(|w| w.start).min().unwrap();
        let end = start + (hi - lo);
        let prot_none = maps
            .iter()
            .filter(|w| w.start >= start && w.end <= end && w.perms.starts_with("---"))
            .map(|w| w.line.clone())
            .collect();
        out.push(MappedObject { path: v.path.clone(), start, end, gaps: e.padding().len(), prot_none });
    }
    out
}
