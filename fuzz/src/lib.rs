//! Fuzz entry points over guardld's host-testable layers (the `guardld` lib
//! built as it is for the loader: no_std + alloc). Each function takes
//! arbitrary bytes, drives the loader's own code the way the loader does,
//! and panics (a libFuzzer crash) when an invariant the loader relies on
//! does not hold. Memory escapes are caught by the memory layout itself:
//! `dynamic` lays the object out in a PROT_NONE arena exactly as guardld's
//! planner would (prot-none mode), so any read outside the object's
//! segments, into padding or past the span, is a SIGSEGV.
//!
//! * [`headers`]: `elf::header::check_ehdr` + `parse_phdrs` on the first
//!   1024 bytes (as `map::load::read_headers`), then `map::load::plan_for` in every
//!   padding mode at 4, 16 and 64 KiB pages, each plan replayed on a page
//!   table and checked (ops inside the span, no overlap, map/guard/zero
//!   order, every segment byte mapped and unguarded, file pages inside the
//!   file, padding guarded/unmapped/extended per mode, no permission no
//!   segment asked for, RELRO on mapped pages).
//! * [`dynamic`]: the object mapped in the arena, then `link::dso::Dso::new`
//!   (`elf::dynamic::parse` + `elf::symbols::Symbols::new`), every symbol
//!   looked up by its own name through the object's hash table (with its
//!   required version, without, PLT class or not), `required_version` of
//!   every index and past the end, the strings the dynamic section names,
//!   and the global index (`link::index::SymbolIndex`) built over the object.
//! * [`cache`]: `link::search::Cache::new` + `lookup` of fixed names and of
//!   names read from the entries themselves.
//!
//! The same functions run without cargo-fuzz (stable Rust): see the tests
//! at the end (corpus replay + randomized mutations).

use guardld::elf::header::{PT_LOAD, check_ehdr, parse_phdrs};
use guardld::elf::pod::Phdr;
use guardld::elf::symbols::Name;
use guardld::link::Registry;
use guardld::link::dso::{Dso, Kind};
use guardld::link::index::SymbolIndex;
use guardld::link::lookup::Query;
use guardld::link::search::Cache;
use guardld::map::load::plan_for;
use guardld::map::plan::{MAX_SPAN, PROT_EXEC, PROT_WRITE, prot_of};
use guardld::map::{Op, Padding, Plan};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// How far inputs got (for the stable replay's report): objects whose
/// dynamic section and symbol tables were accepted, symbols looked up.
pub static DSOS_ACCEPTED: AtomicUsize = AtomicUsize::new(0);
pub static LOOKUPS: AtomicUsize = AtomicUsize::new(0);
/// Inputs that hit a known, reported loader bug (see `known`).
pub static KNOWN_BUGS: AtomicUsize = AtomicUsize::new(0);

/// Panics of bugs already found and reported, by message. Fuzzing goes on
/// past them (a fixed loader never triggers them); any other panic still
/// crashes. Set GUARDLD_FUZZ_NO_KNOWN=1 to crash on these too.
///
/// 1. `Symbols::exported_rev` (was `exported`) slices `syms[hashed]` with `hashed = 1..0` when
///    a GNU hash table has symoffset 0 and no chain (or a SysV table has
///    nchain 0): "slice index starts at 1 but ends at 0" (symbols.rs).
const KNOWN: &[&str] = &["slice index starts at 1 but ends at 0"];

/// Run `f`; None if it panicked with a known bug's message.
fn known<R>(f: impl FnOnce() -> R) -> Option<R> {
    if std::env::var_os("GUARDLD_FUZZ_NO_KNOWN").is_some() {
        return Some(f());
    }
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    std::panic::set_hook(hook);
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            if KNOWN.iter().any(|k| msg.contains(k)) {
                KNOWN_BUGS.fetch_add(1, Relaxed);
                None
            } else {
                eprintln!("panic: {msg}");
                std::panic::resume_unwind(e)
            }
        }
    }
}

const MODES: [Padding; 3] = [Padding::Guard, Padding::ProtNone, Padding::Extend];

/// The ELF header and program headers as guardld reads them (one read of
/// up to 1024 bytes; the table from the file when it lies further).
fn read_headers(data: &[u8]) -> Option<Vec<Phdr>> {
    let size = data.len() as u64;
    let head = &data[..data.len().min(1024)];
    let eh = match check_ehdr(head, size) {
        Ok(e) => e,
        Err(e) => {
            assert!(!e.message().is_empty());
            return None;
        }
    };
    let off = eh.e_phoff as usize;
    let len = eh.e_phnum as usize * 56;
    let table = data
        .get(off..off + len)
        .expect("check_ehdr accepted a program header table past the end of the file");
    let phdrs = parse_phdrs(table, eh.e_phnum as usize)
        .expect("parse_phdrs refused a table check_ehdr accepted");
    assert_eq!(phdrs.len(), eh.e_phnum as usize);
    Some(phdrs)
}

// ------------------------------------------------------------- headers ----

pub fn headers(data: &[u8]) {
    let Some(phdrs) = read_headers(data) else {
        return;
    };
    let size = data.len() as u64;
    for page in [0x1000u64, 0x4000, 0x10000] {
        for mode in MODES {
            match plan_for(&phdrs, size, page, mode) {
                Ok(p) => check_plan(&phdrs, size, page, mode, &p),
                Err(e) => assert!(!format!("{e}").is_empty()),
            }
        }
    }
}

#[derive(Clone, Copy, Default, Debug)]
struct Page {
    op: Option<usize>,
    prot: u32,
    anon: bool,
    file_off: u64,
    guarded: bool,
}

/// Replay `p` on a page table of its span and check what the executor and
/// the later stages rely on. Spans too large to simulate page by page are
/// checked op by op only.
pub fn check_plan(phdrs: &[Phdr], file_size: u64, page: u64, mode: Padding, p: &Plan) {
    let segs: Vec<&Phdr> = phdrs
        .iter()
        .filter(|h| h.p_type == PT_LOAD && h.p_memsz > 0)
        .collect();
    assert!(!segs.is_empty(), "a plan for no segment");
    let rd = |x: u64| x & !(page - 1);
    let ru = |x: u64| x.div_ceil(page) * page;
    let ctx = || format!("page {page:#x} mode {mode:?}\nsegments {segs:#x?}\nplan {p:#x?}");
    assert!(
        p.span_start % page == 0 && p.span_len % page == 0 && p.span_len > 0,
        "span not page-aligned\n{}",
        ctx()
    );
    assert!(p.span_len <= MAX_SPAN, "span too large\n{}", ctx());
    let span_end = p
        .span_start
        .checked_add(p.span_len)
        .expect("span end overflows");
    // Every segment lies inside the span.
    for s in &segs {
        assert!(
            s.p_vaddr >= p.span_start && s.p_vaddr + s.p_memsz <= span_end,
            "segment outside span\n{}",
            ctx()
        );
    }
    let allowed: Vec<u32> = segs.iter().map(|s| prot_of(s.p_flags)).collect();
    let any_wx = allowed
        .iter()
        .any(|&x| x & PROT_WRITE != 0 && x & PROT_EXEC != 0);
    let mut phase = 0;
    for op in &p.ops {
        match *op {
            // Only plans of kernel-mapped objects (holes::plan) grow in place.
            Op::GrowInPlace { .. } => panic!("plan() produced GrowInPlace"),
            Op::MapFile {
                addr,
                len,
                offset,
                prot,
            } => {
                assert_eq!(phase, 0, "map after guard/zero\n{}", ctx());
                assert!(
                    len > 0 && addr % page == 0 && len % page == 0 && offset % page == 0,
                    "{op:x?}\n{}",
                    ctx()
                );
                assert!(
                    addr >= p.span_start && addr.checked_add(len).is_some_and(|e| e <= span_end),
                    "{op:x?} outside span\n{}",
                    ctx()
                );
                assert!(
                    allowed.contains(&prot),
                    "{op:x?}: a permission no segment asked for\n{}",
                    ctx()
                );
            }
            Op::MapAnon { addr, len, prot } => {
                assert_eq!(phase, 0, "map after guard/zero\n{}", ctx());
                assert!(
                    len > 0 && addr % page == 0 && len % page == 0,
                    "{op:x?}\n{}",
                    ctx()
                );
                assert!(
                    addr >= p.span_start && addr.checked_add(len).is_some_and(|e| e <= span_end),
                    "{op:x?} outside span\n{}",
                    ctx()
                );
                assert!(
                    allowed.contains(&prot),
                    "{op:x?}: a permission no segment asked for\n{}",
                    ctx()
                );
            }
            Op::Guard { addr, len } => {
                assert!(phase <= 1, "guard after zero\n{}", ctx());
                phase = 1;
                assert_eq!(
                    mode,
                    Padding::Guard,
                    "guard op outside guard mode\n{}",
                    ctx()
                );
                assert!(
                    len > 0 && addr % page == 0 && len % page == 0,
                    "{op:x?}\n{}",
                    ctx()
                );
                assert!(
                    addr >= p.span_start && addr.checked_add(len).is_some_and(|e| e <= span_end),
                    "{op:x?} outside span\n{}",
                    ctx()
                );
            }
            Op::Zero { addr, len } => {
                phase = 2;
                assert!(
                    len > 0 && rd(addr) == rd(addr + len - 1),
                    "{op:x?} crosses a page\n{}",
                    ctx()
                );
                assert!(
                    addr >= p.span_start && addr + len <= span_end,
                    "{op:x?} outside span\n{}",
                    ctx()
                );
                for s in &segs {
                    assert!(
                        addr + len <= s.p_vaddr || addr >= s.p_vaddr + s.p_filesz,
                        "{op:x?} clobbers file bytes\n{}",
                        ctx()
                    );
                }
            }
        }
    }
    if let Some((a, l)) = p.relro {
        assert!(
            l > 0 && a % page == 0 && l % page == 0,
            "relro not page-aligned\n{}",
            ctx()
        );
        assert!(
            a >= p.span_start && a + l <= span_end,
            "relro outside span\n{}",
            ctx()
        );
    }
    // Page-level replay for spans of reasonable size.
    let npages = p.span_len / page;
    if npages > 1 << 16 {
        return;
    }
    let mut pages = vec![Page::default(); npages as usize];
    let pi = |a: u64| ((a - p.span_start) / page) as usize;
    for (i, op) in p.ops.iter().enumerate() {
        match *op {
            // Only plans of kernel-mapped objects (holes::plan) grow in place.
            Op::GrowInPlace { .. } => panic!("plan() produced GrowInPlace"),
            Op::MapFile { addr, len, .. } | Op::MapAnon { addr, len, .. } => {
                for a in (addr..addr + len).step_by(page as usize) {
                    let pg = &mut pages[pi(a)];
                    assert!(pg.op.is_none(), "two mappings at {a:#x}\n{}", ctx());
                    pg.op = Some(i);
                    match *op {
                        // Only plans of kernel-mapped objects (holes::plan) grow in place.
                        Op::GrowInPlace { .. } => panic!("plan() produced GrowInPlace"),
                        Op::MapFile { offset, prot, .. } => {
                            pg.prot = prot;
                            pg.file_off = offset + (a - addr);
                        }
                        Op::MapAnon { prot, .. } => {
                            pg.prot = prot;
                            pg.anon = true;
                        }
                        _ => unreachable!(),
                    }
                }
            }
            Op::Guard { addr, len } => {
                for a in (addr..addr + len).step_by(page as usize) {
                    let pg = &mut pages[pi(a)];
                    assert!(
                        pg.op.is_some(),
                        "guard on an unmapped page {a:#x}\n{}",
                        ctx()
                    );
                    pg.guarded = true;
                }
            }
            Op::Zero { addr, .. } => {
                let pg = pages[pi(addr)];
                assert!(
                    pg.op.is_some() && !pg.anon && !pg.guarded,
                    "zero on {pg:?} at {addr:#x}\n{}",
                    ctx()
                );
                assert!(
                    pg.file_off < file_size,
                    "zero on a file page past EOF at {addr:#x} (SIGBUS)\n{}",
                    ctx()
                );
            }
        }
    }
    // Every byte guardld's Image will hand out (PT_LOAD p_vaddr..+p_memsz)
    // is mapped, unguarded, and not a file page past EOF.
    for s in &segs {
        for a in (rd(s.p_vaddr)..ru(s.p_vaddr + s.p_memsz)).step_by(page as usize) {
            let pg = pages[pi(a)];
            assert!(
                pg.op.is_some() && !pg.guarded,
                "segment page {a:#x} is {pg:?}\n{}",
                ctx()
            );
            assert!(
                pg.anon || pg.file_off < file_size,
                "segment page {a:#x} maps the file past EOF (SIGBUS)\n{}",
                ctx()
            );
        }
    }
    // Padding is exactly what the mode says; W+X only if a segment asked.
    let in_seg = |a: u64| {
        segs.iter()
            .any(|s| rd(s.p_vaddr) <= a && a < ru(s.p_vaddr + s.p_memsz))
    };
    let in_pad = |a: u64| p.padding.iter().any(|&(x, l)| x <= a && a < x + l);
    for (n, pg) in pages.iter().enumerate() {
        let a = p.span_start + n as u64 * page;
        if in_pad(a) {
            assert!(!in_seg(a), "padding {a:#x} overlaps a segment\n{}", ctx());
            match mode {
                Padding::Guard => assert!(
                    pg.guarded || pg.op.is_none(),
                    "padding {a:#x} left accessible\n{}",
                    ctx()
                ),
                Padding::ProtNone => assert!(
                    pg.op.is_none(),
                    "padding {a:#x} mapped in prot-none mode\n{}",
                    ctx()
                ),
                Padding::Extend => {}
            }
        } else {
            assert!(!pg.guarded, "a guard outside padding at {a:#x}\n{}", ctx());
        }
        if pg.op.is_some() && !any_wx {
            assert!(
                !(pg.prot & PROT_WRITE != 0 && pg.prot & PROT_EXEC != 0),
                "W+X page {a:#x}\n{}",
                ctx()
            );
        }
    }
    if let Some((a, l)) = p.relro {
        for x in (a..a + l).step_by(page as usize) {
            assert!(
                pages[pi(x)].op.is_some(),
                "relro over unmapped {x:#x}\n{}",
                ctx()
            );
        }
    }
}

// ------------------------------------------------------------- dynamic ----

/// A reserved PROT_NONE region the object is laid out in, as guardld's
/// executor would (prot-none mode). 64 MiB of address space, reused.
const ARENA: usize = 64 << 20;
static ARENA_BASE: Mutex<usize> = Mutex::new(0);

fn arena(b: &mut usize) -> usize {
    if *b == 0 {
        // SAFETY: a fresh reservation.
        let p = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                ARENA,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        assert_ne!(p, libc::MAP_FAILED);
        *b = p as usize;
    }
    *b
}

/// Back to an untouched PROT_NONE reservation (zero pages, no access).
fn reset(base: usize, len: usize) {
    // SAFETY: inside our own reservation.
    let p = unsafe {
        libc::mmap(
            base as *mut _,
            len,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_FIXED,
            -1,
            0,
        )
    };
    assert_eq!(p as usize, base);
}

fn protect(at: usize, len: usize, prot: i32) {
    // SAFETY: inside our own reservation.
    let r = unsafe { libc::mprotect(at as *mut _, len, prot) };
    assert_eq!(r, 0, "mprotect {at:#x}+{len:#x}");
}

/// Lay the file out as guardld's plan says (4 KiB pages, prot-none mode):
/// segment pages readable (and writable, to fill them), padding and
/// everything else PROT_NONE. Returns the bias, or None if guardld would
/// refuse the layout (or it does not fit the arena).
fn lay_out(data: &[u8], phdrs: &[Phdr], base: usize) -> Option<(usize, usize)> {
    let page = 0x1000u64;
    let p = plan_for(phdrs, data.len() as u64, page, Padding::ProtNone).ok()?;
    if p.span_len as usize > ARENA {
        return None;
    }
    let bias = base.wrapping_sub(p.span_start as usize);
    for op in &p.ops {
        match *op {
            // Only plans of kernel-mapped objects (holes::plan) grow in place.
            Op::GrowInPlace { .. } => panic!("plan() produced GrowInPlace"),
            Op::MapFile {
                addr, len, offset, ..
            } => {
                let at = bias.wrapping_add(addr as usize);
                protect(at, len as usize, libc::PROT_READ | libc::PROT_WRITE);
                let src = data.get(offset as usize..).unwrap_or(&[]);
                let n = src.len().min(len as usize);
                // SAFETY: [at, at+len) is ours and writable now.
                unsafe { core::ptr::copy_nonoverlapping(src.as_ptr(), at as *mut u8, n) };
            }
            Op::MapAnon { addr, len, .. } => protect(
                bias.wrapping_add(addr as usize),
                len as usize,
                libc::PROT_READ | libc::PROT_WRITE,
            ),
            Op::Zero { addr, len } => {
                // SAFETY: a mapped page of ours.
                unsafe {
                    core::ptr::write_bytes(
                        bias.wrapping_add(addr as usize) as *mut u8,
                        0,
                        len as usize,
                    )
                };
            }
            Op::Guard { .. } => unreachable!("no guards in prot-none mode"),
        }
    }
    Some((bias, p.span_len as usize))
}

pub fn dynamic(data: &[u8]) {
    let Some(phdrs) = read_headers(data) else {
        return;
    };
    // One object in the arena at a time (the stable tests run in threads).
    let mut held = ARENA_BASE.lock().unwrap_or_else(|e| e.into_inner());
    let base = arena(&mut held);
    // (lay_out touches nothing when it refuses.)
    let Some((bias, span)) = lay_out(data, &phdrs, base) else {
        return;
    };
    exercise(&phdrs, bias);
    reset(base, span);
}

fn exercise(phdrs: &[Phdr], bias: usize) {
    let d = match Dso::new(Kind::Library, b"fuzz\0".to_vec(), phdrs, bias, 0) {
        Ok(d) => d,
        Err(e) => {
            assert!(!format!("{e}").is_empty());
            return;
        }
    };
    DSOS_ACCEPTED.fetch_add(1, Relaxed);
    let syms = &d.syms;
    // Strings the dynamic section names.
    for &off in &d.dyn_.needed {
        let _ = d.string(off);
    }
    for off in [d.dyn_.soname, d.dyn_.rpath, d.dyn_.runpath]
        .into_iter()
        .flatten()
    {
        let _ = d.string(off);
    }
    let _ = d.string(u64::MAX);
    // Without a hash table every lookup is a linear scan (guardld's
    // fallback, Hash::None): look up few names there, or inputs with a
    // large symbol table take minutes (quadratic in the harness, not a
    // finding: see docs/hardening.md).
    let hashed = d.dyn_.gnu_hash.is_some() || d.dyn_.hash.is_some();
    let n = syms.len().min(if hashed { 2048 } else { 16 });
    for i in 0..n + 4 {
        let want = syms.required_version(i);
        if let Some(w) = &want {
            let _ = syms.defines_version(w);
        }
        let Some(s) = syms.get(i) else { continue };
        let Some(name) = syms.name(s) else { continue };
        for (ver, plt) in [(want.as_ref(), false), (None, false), (want.as_ref(), true)] {
            LOOKUPS.fetch_add(1, Relaxed);
            let mut nm = Name::new(name);
            if let Some((j, hit)) = syms.lookup(&mut nm, ver, plt) {
                assert!(
                    j < syms.len(),
                    "lookup returned index {j} past {}",
                    syms.len()
                );
                assert_eq!(
                    syms.name(hit),
                    Some(name),
                    "lookup of {name:?} returned another name"
                );
                assert!(
                    core::ptr::eq(syms.get(j).unwrap(), hit),
                    "lookup index and symbol disagree"
                );
            }
        }
    }
    for name in [
        &b""[..],
        b"main",
        b"_start",
        b"\xff\xfe",
        b"a_name_that_is_not_there",
    ] {
        let _ = syms.lookup(&mut Name::new(name), None, false);
    }
    for need in syms.needs.iter().flatten() {
        let _ = syms.defines_version(need);
    }
    let Some(exported) = known(|| {
        syms.exported_rev()
            .map(|(i, _, n, h)| {
                // The hash the index will key the name by: the table's own
                // (chain word >> 1) or computed; a lying table only makes
                // the name unfindable through the index, never another.
                let _ = h;
                (i, n)
            })
            .take(512)
            .collect::<Vec<(usize, &'static [u8])>>()
    }) else {
        return;
    };
    assert!(syms.export_bound() >= exported.len().min(syms.export_bound()));
    let _ = syms.iter().count();
    // The global index over this one object.
    let mut dsos = Registry::new();
    dsos.push(d);
    let idx = SymbolIndex::build(&dsos, &[0], 1);
    for &(i, name) in &exported {
        let q = Query::default();
        if let Some(def) = idx.lookup(&dsos, name, None, q) {
            assert_eq!(def.dso, 0);
            assert_eq!(dsos[0].syms.name(def.sym), Some(name));
        }
        let want = dsos[0].syms.required_version(i);
        let _ = idx.lookup(&dsos, name, want.as_ref(), Query { plt: true, ..q });
    }
}

// --------------------------------------------------------------- cache ----

pub fn cache(data: &[u8]) {
    // SAFETY: the Cache and every slice it returns are dropped before this
    // function returns; `data` outlives them.
    let data: &'static [u8] = unsafe { core::mem::transmute::<&[u8], &'static [u8]>(data) };
    let Some(c) = Cache::new(data) else { return };
    for name in [&b"libc.so.6"[..], b"", b"libm.so.6", b"libnothere.so"] {
        let _ = c.lookup(name);
    }
    // Names stored in the cache itself (entry key offsets at 48 + 24 i + 4).
    let n = u32::from_le_bytes(data[20..24].try_into().unwrap()) as usize;
    for i in 0..n.min(64) {
        let e = 48 + i * 24 + 4;
        let Some(k) = data.get(e..e + 4) else { break };
        let off = u32::from_le_bytes(k.try_into().unwrap()) as usize;
        let Some(rest) = data.get(off..) else {
            continue;
        };
        let name = &rest[..rest.iter().position(|&b| b == 0).unwrap_or(rest.len())];
        if let Some(p) = c.lookup(name) {
            // The path lies inside the cache bytes.
            let (lo, hi) = (data.as_ptr() as usize, data.as_ptr() as usize + data.len());
            assert!(p.as_ptr() as usize >= lo && p.as_ptr() as usize + p.len() <= hi);
        }
    }
}

// --------------------------------------------------- without cargo-fuzz ----

#[cfg(test)]
mod tests {
    //! Stable-Rust fallback: replay every corpus and regression input, then
    //! randomized mutations of the seeds (proptest), through the same
    //! functions. Corpora: fuzz/corpus/<target>/ (fuzz/seed.sh fills them).
    use super::*;
    use proptest::prelude::*;
    use std::path::{Path, PathBuf};

    fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut v = Vec::new();
        for dir in [
            root.join("corpus").join(target),
            root.join("regressions").join(target),
        ] {
            let Ok(rd) = std::fs::read_dir(&dir) else {
                continue;
            };
            let mut files: Vec<PathBuf> = rd
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect();
            files.sort();
            for f in files {
                let b = std::fs::read(&f).unwrap();
                v.push((f, b));
            }
        }
        v
    }

    fn seeds() -> &'static Vec<Vec<u8>> {
        static S: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
        S.get_or_init(|| {
            // The 64 largest ELF inputs: whole objects (the seeds), not the
            // fuzzer's reduced units.
            let mut v: Vec<Vec<u8>> = inputs("dynamic")
                .into_iter()
                .map(|x| x.1)
                .filter(|b| b.starts_with(b"\x7fELF"))
                .collect();
            v.sort_by_key(|b| std::cmp::Reverse(b.len()));
            v.truncate(64);
            if v.is_empty() {
                // Without a corpus: this test binary itself.
                v.push(std::fs::read(std::env::current_exe().unwrap()).unwrap());
            }
            v
        })
    }

    #[test]
    fn replay_corpora() {
        for (t, f) in [
            ("headers", headers as fn(&[u8])),
            ("dynamic", dynamic),
            ("cache", cache),
        ] {
            let all = inputs(t);
            for (p, b) in &all {
                eprintln!("{t}: {}", p.display());
                f(b);
            }
            eprintln!("{t}: {} inputs replayed", all.len());
        }
        eprintln!(
            "dynamic: {} objects accepted, {} lookups, {} known bugs hit",
            DSOS_ACCEPTED.load(Relaxed),
            LOOKUPS.load(Relaxed),
            KNOWN_BUGS.load(Relaxed)
        );
    }

    /// A seed with a few structural patches: u64/u32/u16 words written at
    /// offsets in the headers, the program header table, and anywhere.
    fn mutated() -> impl Strategy<Value = Vec<u8>> {
        (
            any::<prop::sample::Index>(),
            proptest::collection::vec(
                (any::<prop::sample::Index>(), 0u8..4, any::<u64>(), 0u8..3),
                1..8,
            ),
            any::<Option<prop::sample::Index>>(),
        )
            .prop_map(|(which, patches, cut)| {
                let s = seeds();
                let mut b = s[which.index(s.len())].clone();
                b.resize(b.len().max(64), 0);
                let phoff = u64::from_le_bytes(b[0x20..0x28].try_into().unwrap()) as usize;
                for (at, region, v, width) in patches {
                    let o = match region {
                        0 => at.index(64),
                        1 => phoff.saturating_add(at.index(56 * 12)),
                        _ => at.index(b.len()),
                    };
                    let w = [8usize, 4, 2][width as usize];
                    let v = match region {
                        3 => v & 0xff,
                        _ => v,
                    };
                    if o.checked_add(w).is_some_and(|e| e <= b.len()) {
                        b[o..o + w].copy_from_slice(&v.to_le_bytes()[..w]);
                    }
                }
                if let Some(c) = cut {
                    let n = c.index(b.len() + 1);
                    b.truncate(n);
                }
                b
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 20000, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn randomized_headers(b in mutated()) {
            headers(&b);
        }

        #[test]
        fn randomized_dynamic(b in mutated()) {
            dynamic(&b);
        }

        #[test]
        fn randomized_cache(b in proptest::collection::vec(any::<u8>(), 0..512), n in 0u32..40, fill in any::<bool>()) {
            let mut b = b;
            if fill && b.len() >= 48 {
                b[..20].copy_from_slice(b"glibc-ld.so.cache1.1");
                b[20..24].copy_from_slice(&n.to_le_bytes());
            }
            cache(&b);
        }
    }
}
