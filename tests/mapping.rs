//! Issue "guard regions instead of PROT_NONE gaps": how guardld maps an
//! object's PT_LOAD segments and the padding between them, checked from the
//! outside on real processes.
//!
//! * A library with four PT_LOADs and a multi-page .bss (testbins/mapping/
//!   lib4.c), linked with a 64 KiB max-page-size by lld and by bfd
//!   (`-z separate-code`), and a PIE (testbins/mapping/probe.c, also 64 KiB)
//!   that calls into it, prints the padding it finds in both objects and
//!   forks a child per probe (read, write, call, read with a SIGSEGV handler)
//!   into each padding range, then pauses (GUARDLD_TEST_PAUSE=1) so that the
//!   test reads its /proc/PID/maps and /proc/PID/pagemap.
//! * The expected padding comes from the test side: the program headers of
//!   the files (parsed here) plus the load base from /proc/PID/maps.
//! * glibc's ld.so is the oracle for VMA counts: the same program run as
//!   `ld.so ./probe`, or for a program the kernel maps (guardld as
//!   PT_INTERP), a copy with glibc's ld.so as PT_INTERP.
//! * Modes: guard (default), `--padding prot-none` / `extend` (and
//!   GUARDLD_PADDING as PT_INTERP, where guardld also fills the holes the
//!   kernel left in the program: loader/src/map/holes.rs).
//! * Guard regions made unavailable with a real seccomp filter
//!   (testbins/mapping/noguard.c, on madvise and process_madvise): the
//!   fallback to PROT_NONE.
//! * Malformed segment tables, in a program and in a library: refused with
//!   exit 127 and `guardld: FILE: reason`.
//!
//! Run: `cargo test --release --test mapping` from the workspace root.

mod common;

use common::elf::{Elf, Field, Phdr, set_load_field, swap_loads};
use common::paused::{Snapshot, run_paused};
use common::*;
use object::elf::PT_GNU_RELRO;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// x86_64 runtime page size.
const PAGE: u64 = 4096;
/// probe's first lines: lib4_check(7) is twice(7) + thrice(7) + (1000 + 1);
/// probe_data is probe's own initialised datum (41), incremented.
const LIB4_CHECK: &str = "lib4_check=1036\nprobe_data=42\n";

fn rd(x: u64) -> u64 {
    x / PAGE * PAGE
}
fn ru(x: u64) -> u64 {
    x.div_ceil(PAGE) * PAGE
}

// ------------------------------------------------------------ test programs ---

/// The library and the program of one test, built into their own directory.
struct Bins {
    dir: PathBuf,
    lib: PathBuf,
    /// probe with PT_INTERP = guardld.
    prog: PathBuf,
    /// The same program with gcc's default PT_INTERP, glibc's ld.so: the
    /// oracle for a program the kernel maps.
    prog_glibc: PathBuf,
}

/// Build lib4 (`libmap4.so`) and probe with `linker` at a 64 KiB
/// max-page-size (bfd adds `-z separate-code`), probe NEEDing the library
/// through its RUNPATH, with PT_INTERP = guardld (and a copy with glibc's
/// ld.so); check their layouts.
fn build(name: &str, linker: Linker) -> Bins {
    let dir_name = format!("mapping/{name}");
    let dir = out_dir(&dir_name);
    let lib = Cc::new(&dir_name, "libmap4.so")
        .source("mapping/lib4.c")
        .shared()
        .linker(linker)
        .page_size(65536)
        .args(["-Wl,-z,relro", "-Wl,-z,now"])
        .build();
    let probe = |out: &str| {
        Cc::new(&dir_name, out)
            .source("mapping/probe.c")
            .pie()
            .linker(linker)
            .page_size(65536)
            .arg(format!("-L{}", dir.display()))
            .arg("-lmap4")
            .arg(format!("-Wl,-rpath,{}", dir.display()))
            .args(["-Wl,-z,relro", "-Wl,-z,now"])
    };
    let prog = probe("probe").interp(guardld()).build();
    let prog_glibc = probe("probe-glibc").build();
    assert_layout(&lib, true);
    assert_layout(&prog, false);
    assert_layout(&prog_glibc, false);
    assert!(
        readelf(&["-l"], &prog_glibc)
            .contains(&format!("[Requesting program interpreter: {GLIBC_LD}]"))
    );
    Bins {
        dir,
        lib,
        prog,
        prog_glibc,
    }
}

/// Four PT_LOADs (R, RX, then RW RELRO and RW data with lld; R, RX, R, RW
/// with bfd, whose RELRO is the head of the RW segment), a PT_GNU_RELRO, a
/// padding gap after each of the first three, and (for the library) a bss
/// of more than a page. Checked with readelf, and against our own parser.
fn assert_layout(file: &Path, is_lib: bool) {
    let text = readelf(&["-lW"], file);
    let loads: Vec<&str> = text
        .lines()
        .filter(|l| l.trim_start().starts_with("LOAD "))
        .collect();
    assert_eq!(
        loads.len(),
        4,
        "{} should have 4 PT_LOADs:\n{text}",
        file.display()
    );
    assert!(
        text.contains("GNU_RELRO"),
        "{} has no PT_GNU_RELRO:\n{text}",
        file.display()
    );
    let flags: Vec<String> = loads
        .iter()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            // Type Offset VirtAddr PhysAddr FileSiz MemSiz Flg... Align
            f[6..f.len() - 1].join("")
        })
        .collect();
    assert_eq!(&flags[..2], ["R", "RE"], "{}:\n{text}", file.display());
    assert_eq!(flags[3], "RW", "{}:\n{text}", file.display());
    let e = Elf::read(file);
    let pads = e.padding();
    assert_eq!(
        pads.len(),
        3,
        "{}: expected 3 padding gaps, found {pads:x?}:\n{text}",
        file.display()
    );
    let relro = e.phdrs.iter().find(|p| p.p_type == PT_GNU_RELRO).unwrap();
    assert!(relro.p_memsz > 0);
    // The last segment has file bytes (data), not only bss: a pure-bss
    // PT_LOAD is mapped differently by guardld (anonymous from its first
    // page) than by glibc (a file page), which the VMA counts would show.
    let last = e.loads()[3];
    assert!(
        last.p_filesz > 0,
        "{}: last PT_LOAD has no file bytes:\n{text}",
        file.display()
    );
    if is_lib {
        let last = e.loads()[3];
        assert!(
            last.p_memsz - last.p_filesz > PAGE,
            "{}: bss not larger than a page:\n{text}",
            file.display()
        );
    }
}

// ------------------------------------------------------------ probe output ---

/// How the runs are made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum How {
    /// `ld.so ./probe`: the oracle for objects the loader maps.
    Glibc,
    /// `./probe-glibc` (PT_INTERP = glibc's ld.so): the oracle for a program
    /// the kernel maps.
    GlibcInterp,
    /// `guardld [--padding MODE] ./probe`.
    Explicit(Mode),
    /// `./probe` (PT_INTERP = guardld), GUARDLD_PADDING=MODE unless Guard.
    Interp(Mode),
    /// `noguard guardld ./probe` (seccomp refuses MADV_GUARD_INSTALL).
    Fallback,
    /// `noguard ./probe` (PT_INTERP = guardld, same filter).
    FallbackInterp,
}

impl How {
    /// The kernel mapped the program (guardld or glibc is its PT_INTERP).
    fn kernel_mapped(self) -> bool {
        matches!(
            self,
            How::GlibcInterp | How::Interp(_) | How::FallbackInterp
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Guard,
    ProtNone,
    Extend,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Guard => "guard",
            Mode::ProtNone => "prot-none",
            Mode::Extend => "extend",
        }
    }
}

/// testbins/mapping/noguard, built with the system's gcc and glibc.
fn noguard(dir: &Path) -> PathBuf {
    let out = dir.join("noguard");
    let o = Command::new("gcc")
        .args(["-O2", "-Wall", "-Wextra", "-Werror", "-o"])
        .arg(&out)
        .arg(testbins().join("mapping/noguard.c"))
        .output()
        .expect("run gcc");
    assert!(
        o.status.success(),
        "gcc noguard: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

/// The command running `bins.prog ARGS` the `how` way.
fn probe_command(bins: &Bins, how: How, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut env: Vec<(&str, &str)> = env.to_vec();
    let mut c = match how {
        How::Glibc => {
            env.push(("GUARDLD_TEST_SKIP_FINI", "1"));
            let mut c = command(GLIBC_LD, &env);
            c.arg(&bins.prog);
            c
        }
        How::Explicit(m) => {
            let mut c = command(guardld(), &env);
            if m != Mode::Guard {
                c.args(["--padding", m.name()]);
            }
            c.arg(&bins.prog);
            c
        }
        How::Interp(m) => {
            if m != Mode::Guard {
                env.push(("GUARDLD_PADDING", m.name()));
            }
            command(&bins.prog, &env)
        }
        How::GlibcInterp => {
            env.push(("GUARDLD_TEST_SKIP_FINI", "1"));
            command(&bins.prog_glibc, &env)
        }
        How::Fallback => {
            let mut c = command(noguard(&bins.dir), &env);
            c.arg(guardld()).arg(&bins.prog);
            c
        }
        How::FallbackInterp => {
            let mut c = command(noguard(&bins.dir), &env);
            c.arg(&bins.prog);
            c
        }
    };
    c.args(args).current_dir(&bins.dir);
    c
}

/// One `probe OBJ KIND ADDR RESULT` line.
fn probe_results(stdout: &str) -> BTreeMap<(String, char, u64), String> {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("probe "))
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let addr = u64::from_str_radix(f[2].trim_start_matches("0x"), 16).unwrap();
            (
                (f[0].to_string(), f[1].chars().next().unwrap(), addr),
                f[3].to_string(),
            )
        })
        .collect()
}

fn hex_value(stdout: &str, key: &str) -> u64 {
    let v = stdout
        .lines()
        .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
        .unwrap_or_else(|| panic!("no {key}= in output:\n{stdout}"));
    u64::from_str_radix(v.trim_start_matches("0x"), 16).unwrap()
}

/// One object of a paused run, as the test sees it.
struct ObjView {
    /// "lib" or "exe" (the probe program's names).
    tag: &'static str,
    elf: Elf,
    base: u64,
}

impl ObjView {
    fn span(&self) -> (u64, u64) {
        let (a, b) = self.elf.span();
        (self.base + a, self.base + b)
    }
    /// Absolute padding ranges with the PT_LOAD before each.
    fn padding(&self) -> Vec<(u64, u64, Phdr)> {
        self.elf
            .padding()
            .into_iter()
            .map(|(a, b, p)| (self.base + a, self.base + b, p))
            .collect()
    }
}

/// A paused run of probe with everything the checks need.
struct Run {
    how: How,
    /// The probe kinds the program was asked for.
    kinds: String,
    outcome: Outcome,
    snap: Snapshot,
    objs: Vec<ObjView>,
}

impl Run {
    fn ctx(&self) -> String {
        format!(
            "[{:?}]\n--- maps ---\n{}\n{}",
            self.how,
            self.snap.maps_text,
            self.outcome.describe()
        )
    }

    fn obj(&self, tag: &str) -> &ObjView {
        self.objs.iter().find(|o| o.tag == tag).unwrap()
    }

    /// VMAs of the object's span, and how many of them are `---p`.
    fn vma_counts(&self, tag: &str) -> (usize, usize) {
        let (a, b) = self.obj(tag).span();
        let v = self.snap.vmas_in(a, b);
        let gaps = v.iter().filter(|v| v.is_gap()).count();
        (v.len(), gaps)
    }
}

/// Run probe `how` with probe kinds `kinds` over the objects `objs` (probe's
/// second argument: `l` library, `e` the executable), paused; check the
/// output that does not depend on the mapping mode: lib4_check's value, and
/// that the padding the program found in its own memory is what the files'
/// program headers say at the bases /proc/PID/maps shows.
fn paused_run(bins: &Bins, how: How, kinds: &str, objs: &str, env: &[(&str, &str)]) -> Run {
    let mut env = env.to_vec();
    env.push(("GUARDLD_TEST_PAUSE", "1"));
    let (outcome, snap) = run_paused(
        &mut probe_command(bins, how, &[kinds, objs], &env),
        Snapshot::with_pagemap,
    );
    let mut r = Run {
        how,
        kinds: kinds.to_string(),
        outcome,
        snap,
        objs: Vec::new(),
    };
    let out = r.outcome.stdout_str();
    assert!(
        out.starts_with(LIB4_CHECK),
        "library call gave a wrong result\n{}",
        r.ctx()
    );
    assert!(out.ends_with("done\n"), "probe did not finish\n{}", r.ctx());
    let exe = if how == How::GlibcInterp {
        &bins.prog_glibc
    } else {
        &bins.prog
    };
    for (tag, path) in [("lib", &bins.lib), ("exe", exe)] {
        let base = r.snap.base_of(path);
        let o = ObjView {
            tag,
            elf: Elf::read(path),
            base,
        };
        // Where the program says it is, and what it found there.
        assert_eq!(
            hex_value(&out, &format!("{tag}_base")),
            base,
            "{tag} base\n{}",
            r.ctx()
        );
        let want: Vec<String> = o
            .padding()
            .iter()
            .map(|(a, b, _)| format!("pad {tag} {a:#x} {b:#x}"))
            .collect();
        let got: Vec<String> = out
            .lines()
            .filter(|l| l.starts_with(&format!("pad {tag} ")))
            .map(String::from)
            .collect();
        assert_eq!(
            got,
            want,
            "{tag}: padding found by the program vs. the file's program headers\n{}",
            r.ctx()
        );
        r.objs.push(o);
    }
    r
}

/// The probes probe makes for object `o` and kinds `kinds`: the first and
/// the last page of each padding range.
fn expected_probe_addrs(o: &ObjView) -> Vec<(u64, Phdr)> {
    let mut v = Vec::new();
    for (a, b, p) in o.padding() {
        v.push((a, p));
        if b - PAGE != a {
            v.push((b - PAGE, p));
        }
    }
    v
}

/// Every probe of object `tag` gave `want(kind, addr, segment before)`, and
/// probe made exactly those probes.
fn assert_probes(r: &Run, tag: &str, kinds: &str, want: impl Fn(char, u64, &Phdr) -> String) {
    let got: BTreeMap<_, _> = probe_results(&r.outcome.stdout_str())
        .into_iter()
        .filter(|((t, _, _), _)| t == tag)
        .collect();
    let o = r.obj(tag);
    let mut expected = BTreeMap::new();
    for (addr, p) in expected_probe_addrs(o) {
        for k in kinds.chars() {
            expected.insert((tag.to_string(), k, addr), want(k, addr, &p));
        }
    }
    assert!(!expected.is_empty());
    if got != expected {
        let mut diff = String::new();
        for (k, v) in &expected {
            let g = got.get(k).map(String::as_str).unwrap_or("(missing)");
            if g != v {
                diff += &format!("  {} {} {:#x}: want {v}, got {g}\n", k.0, k.1, k.2);
            }
        }
        panic!("{tag}: probe results differ:\n{diff}{}", r.ctx());
    }
}

/// `child_pagemap TAG GUARDED TOTAL` from probe's forked child.
fn child_pagemap(r: &Run, tag: &str) -> (u64, u64) {
    let out = r.outcome.stdout_str();
    let l = out
        .lines()
        .find_map(|l| l.strip_prefix(&format!("child_pagemap {tag} ")))
        .unwrap_or_else(|| panic!("no child_pagemap line\n{}", r.ctx()));
    let (g, t) = l.split_once(' ').unwrap();
    (g.parse().unwrap(), t.parse().unwrap())
}

fn padding_pages(o: &ObjView) -> u64 {
    o.padding().iter().map(|(a, b, _)| (b - a) / PAGE).sum()
}

/// The guard-mode checks for object `tag` of run `r`, with `glibc` the
/// oracle run of the same program.
fn assert_guarded(r: &Run, glibc: &Run, tag: &str) {
    let o = r.obj(tag);
    let (a, b) = o.span();
    // 1. No PROT_NONE VMA in the span, and no hole either: every page of the
    //    span is mapped (a hole would be another way to drop the gap VMA).
    for v in r.snap.vmas_in(a, b) {
        assert!(
            !v.is_gap(),
            "{tag}: PROT_NONE VMA in the span: {v}\n{}",
            r.ctx()
        );
    }
    for p in (a..b).step_by(PAGE as usize) {
        assert!(
            r.snap.vma_at(p).is_some(),
            "{tag}: page {p:#x} of the span is unmapped\n{}",
            r.ctx()
        );
    }
    // 2. Each padding range lies in the VMA of the page before it or of the
    //    page after it: a segment's mapping was extended over it (the one
    //    after when that one is writable and can start earlier: see
    //    guard-plan's pad_side), no VMA was added.
    for (pa, pb, _) in o.padding() {
        let v = r.snap.vma_at(pa).unwrap();
        assert!(
            (v.start < pa && v.end >= pb) || (v.start <= pa && v.end > pb),
            "{tag}: padding {pa:#x}-{pb:#x} is not inside a neighbouring segment's VMA {v}\n{}",
            r.ctx()
        );
    }
    // 3. VMA count: glibc's minus glibc's gap VMAs; and glibc has exactly one
    //    `---p` VMA per padding range, covering it, or for a program the
    //    kernel mapped, a hole (the oracle is sane).
    let (n, gaps) = r.vma_counts(tag);
    let (gn, ggaps) = glibc.vma_counts(tag);
    assert_eq!(gaps, 0);
    assert_oracle_layout(glibc, tag);
    assert_eq!(
        n,
        gn - ggaps,
        "{tag}: {n} VMAs under guardld, glibc has {gn} of which {ggaps} gaps\n=== guardld ===\n{}\n=== glibc ===\n{}",
        r.ctx(),
        glibc.ctx()
    );
    // 4. pagemap bit 58 on every padding page, on no other page of the span.
    let pads = o.padding();
    for p in (a..b).step_by(PAGE as usize) {
        let in_pad = pads.iter().any(|&(pa, pb, _)| pa <= p && p < pb);
        assert_eq!(
            r.snap.guarded(p),
            in_pad,
            "{tag}: pagemap bit 58 at {p:#x} is {} ({})\n{}",
            r.snap.guarded(p),
            if in_pad { "padding" } else { "segment page" },
            r.ctx()
        );
    }
    // 5. Probes from forked children: every access faults, SEGV_MAPERR (a
    //    guard; PROT_NONE would give SEGV_ACCERR) at the probed address; and
    //    a forked child sees the guards in its own pagemap.
    assert_probes(r, tag, "rwxc", |k, _, _| {
        if k == 'c' {
            "segv:code=1:addr=ok".into()
        } else {
            "segv".into()
        }
    });
    let total = padding_pages(o);
    assert_eq!(
        child_pagemap(r, tag),
        (total, total),
        "{tag}: guards in the forked child's pagemap\n{}",
        r.ctx()
    );
}

/// The oracle's padding: `---p` VMAs (glibc mapped the object) or holes (the
/// kernel mapped the program).
fn assert_oracle_layout(glibc: &Run, tag: &str) {
    if tag == "exe" && glibc.how.kernel_mapped() {
        assert_holes(glibc, tag);
    } else {
        assert_oracle_gaps(glibc, tag);
    }
}

/// The padding of `tag` is unmapped address space, as the kernel leaves it:
/// no VMA there, no guards, and an access faults with SEGV_MAPERR.
fn assert_holes(r: &Run, tag: &str) {
    let o = r.obj(tag);
    for (a, b, _) in o.padding() {
        let v = r.snap.vmas_in(a, b);
        assert!(
            v.is_empty(),
            "{tag}: padding {a:#x}-{b:#x} should be a hole, has {:?}\n{}",
            v.iter().map(|v| v.to_string()).collect::<Vec<_>>(),
            r.ctx()
        );
    }
    assert_probes(r, tag, &r.kinds, |k, _, _| {
        if k == 'c' {
            "segv:code=1:addr=ok".into()
        } else {
            "segv".into()
        }
    });
    assert_eq!(
        child_pagemap(r, tag),
        (0, padding_pages(o)),
        "{tag}\n{}",
        r.ctx()
    );
}

/// glibc's `---p` VMAs in the span of `tag` are exactly the padding ranges.
fn assert_oracle_gaps(glibc: &Run, tag: &str) {
    let o = glibc.obj(tag);
    let (a, b) = o.span();
    let gaps: Vec<(u64, u64)> = glibc
        .snap
        .vmas_in(a, b)
        .iter()
        .filter(|v| v.is_gap())
        .map(|v| (v.start, v.end))
        .collect();
    let pads: Vec<(u64, u64)> = o.padding().iter().map(|&(a, b, _)| (a, b)).collect();
    assert_eq!(
        gaps,
        pads,
        "{tag}: glibc's gap VMAs are not the padding\n{}",
        glibc.ctx()
    );
}

/// The padding of `tag` is PROT_NONE: exactly one `---p` VMA per range, the
/// same VMA count as glibc, no guard bits, and probes fault with
/// SEGV_ACCERR.
fn assert_prot_none(r: &Run, glibc: &Run, tag: &str) {
    let o = r.obj(tag);
    let (a, b) = o.span();
    let gaps: Vec<(u64, u64)> = r
        .snap
        .vmas_in(a, b)
        .iter()
        .filter(|v| v.is_gap())
        .map(|v| (v.start, v.end))
        .collect();
    let pads: Vec<(u64, u64)> = o.padding().iter().map(|&(a, b, _)| (a, b)).collect();
    assert_eq!(
        gaps,
        pads,
        "{tag}: padding should be exactly the PROT_NONE VMAs\n{}",
        r.ctx()
    );
    assert_oracle_gaps(glibc, tag);
    let (n, _) = r.vma_counts(tag);
    let (gn, _) = glibc.vma_counts(tag);
    assert_eq!(
        n,
        gn,
        "{tag}: VMA count differs from glibc's\n=== guardld ===\n{}\n=== glibc ===\n{}",
        r.ctx(),
        glibc.ctx()
    );
    for (pa, pb, _) in o.padding() {
        for p in (pa..pb).step_by(PAGE as usize) {
            assert!(
                !r.snap.guarded(p),
                "{tag}: guard bit at {p:#x}\n{}",
                r.ctx()
            );
        }
    }
    assert_probes(r, tag, "rwxc", |k, _, _| {
        if k == 'c' {
            "segv:code=2:addr=ok".into()
        } else {
            "segv".into()
        }
    });
    assert_eq!(
        child_pagemap(r, tag),
        (0, padding_pages(o)),
        "{tag}\n{}",
        r.ctx()
    );
}

/// The glibc oracle run (`how`: Glibc or GlibcInterp), with its own probes
/// sanity-checked: PROT_NONE gaps fault with SEGV_ACCERR, the kernel's holes
/// with SEGV_MAPERR, so the probe mechanism tells a PROT_NONE VMA from a
/// guard.
fn glibc_run(bins: &Bins, how: How) -> Run {
    let g = paused_run(bins, how, "c", "le", &[]);
    for tag in ["lib", "exe"] {
        assert_oracle_layout(&g, tag);
        if !(tag == "exe" && how.kernel_mapped()) {
            assert_probes(&g, tag, "c", |_, _, _| "segv:code=2:addr=ok".into());
        }
    }
    g
}

/// The oracle for running `how`.
fn oracle(bins: &Bins, how: How) -> Run {
    glibc_run(
        bins,
        if how.kernel_mapped() {
            How::GlibcInterp
        } else {
            How::Glibc
        },
    )
}

/// A complete run without pausing: exit 0 and the library call's result.
fn assert_runs(bins: &Bins, how: How) {
    let o = run(&mut probe_command(bins, how, &["", ""], &[]));
    o.assert_code(0);
    let out = o.stdout_str();
    assert!(
        out.starts_with(LIB4_CHECK) && out.ends_with("done\n"),
        "unexpected output\n{}",
        o.describe()
    );
}

fn guard_explicit(name: &str, linker: Linker) {
    let bins = build(name, linker);
    assert_runs(&bins, How::Explicit(Mode::Guard));
    let glibc = oracle(&bins, How::Explicit(Mode::Guard));
    let r = paused_run(&bins, How::Explicit(Mode::Guard), "rwxc", "le", &[]);
    assert_guarded(&r, &glibc, "lib");
    assert_guarded(&r, &glibc, "exe");
}

/// Default mode, `guardld ./probe`: the library and the program itself.
#[test]
fn guard_lld_64k() {
    guard_explicit("guard_lld_64k", Linker::Lld);
}

#[test]
fn guard_bfd_64k() {
    guard_explicit("guard_bfd_64k", Linker::Bfd);
}

/// As PT_INTERP: the library, and the program the kernel mapped, whose
/// holes guardld fills with guarded extensions of the mapping before each
/// (loader/src/map/holes.rs). The oracle: the same program with glibc's
/// ld.so as PT_INTERP (the kernel's layout, holes and all).
fn guard_pt_interp(name: &str, linker: Linker) {
    let bins = build(name, linker);
    assert_runs(&bins, How::Interp(Mode::Guard));
    let glibc = oracle(&bins, How::Interp(Mode::Guard));
    let r = paused_run(&bins, How::Interp(Mode::Guard), "rwxc", "le", &[]);
    assert_guarded(&r, &glibc, "lib");
    assert_guarded(&r, &glibc, "exe");
}

#[test]
fn guard_lld_64k_pt_interp() {
    guard_pt_interp("guard_lld_64k_pt_interp", Linker::Lld);
}

#[test]
fn guard_bfd_64k_pt_interp() {
    guard_pt_interp("guard_bfd_64k_pt_interp", Linker::Bfd);
}

/// A program the kernel mapped, its padding left alone (prot-none mode, or
/// guards unavailable): holes as under glibc, and glibc's VMA count.
fn assert_kernel_layout(r: &Run, glibc: &Run) {
    assert_holes(r, "exe");
    let (n, _) = r.vma_counts("exe");
    let (gn, _) = glibc.vma_counts("exe");
    assert_eq!(
        n,
        gn,
        "exe: VMA count differs from glibc's\n=== guardld ===\n{}\n=== glibc ===\n{}",
        r.ctx(),
        glibc.ctx()
    );
}

fn prot_none(name: &str, linker: Linker, how: How) {
    let bins = build(name, linker);
    assert_runs(&bins, how);
    let glibc = oracle(&bins, how);
    let r = paused_run(&bins, how, "rwxc", "le", &[]);
    assert_prot_none(&r, &glibc, "lib");
    if how.kernel_mapped() {
        assert_kernel_layout(&r, &glibc);
    } else {
        assert_prot_none(&r, &glibc, "exe");
    }
}

/// `--padding prot-none`: glibc's layout, VMA for VMA.
#[test]
fn prot_none_lld_64k() {
    prot_none(
        "prot_none_lld_64k",
        Linker::Lld,
        How::Explicit(Mode::ProtNone),
    );
}

#[test]
fn prot_none_bfd_64k() {
    prot_none(
        "prot_none_bfd_64k",
        Linker::Bfd,
        How::Explicit(Mode::ProtNone),
    );
}

/// GUARDLD_PADDING=prot-none, as PT_INTERP: the library as glibc maps it,
/// the program's holes left as the kernel made them.
#[test]
fn prot_none_env_pt_interp() {
    prot_none(
        "prot_none_env_pt_interp",
        Linker::Lld,
        How::Interp(Mode::ProtNone),
    );
}

/// What a read of padding page `addr` does under `--padding extend`, where
/// the padding stays in the mapping of the segment `p` before it: that
/// mapping is anonymous (bss pages past the file's) and reads zeros, or it
/// is the file's, and reads the file where the page's offset is inside the
/// file and raises SIGBUS past its end.
fn extend_read(elf: &Elf, base: u64, addr: u64, p: &Phdr) -> String {
    let file_page_end = ru(p.p_vaddr + p.p_filesz);
    let mem_page_end = ru(p.p_vaddr + p.p_memsz);
    if mem_page_end > file_page_end || p.p_filesz == 0 {
        return "ok".into();
    }
    let off = rd(p.p_offset) + (addr - base - rd(p.p_vaddr));
    if off < elf.file_size {
        "ok".into()
    } else {
        "bus".into()
    }
}

fn extend(name: &str, linker: Linker, how: How) {
    let bins = build(name, linker);
    assert_runs(&bins, how);
    let glibc = oracle(&bins, how);
    let r = paused_run(&bins, how, "r", "le", &[]);
    for tag in ["lib", "exe"] {
        let o = r.obj(tag);
        let (a, b) = o.span();
        for v in r.snap.vmas_in(a, b) {
            assert!(
                !v.is_gap(),
                "{tag}: PROT_NONE VMA in the span: {v}\n{}",
                r.ctx()
            );
        }
        let (n, _) = r.vma_counts(tag);
        let (gn, ggaps) = glibc.vma_counts(tag);
        assert_eq!(
            n,
            gn - ggaps,
            "{tag}: VMA count\n{}\n{}",
            r.ctx(),
            glibc.ctx()
        );
        for (pa, pb, _) in o.padding() {
            let v = r.snap.vma_at(pa).unwrap();
            assert!(
                v.start < pa && v.end >= pb && v.perms.read,
                "{tag}: padding not in a readable extension: {v}\n{}",
                r.ctx()
            );
            for p in (pa..pb).step_by(PAGE as usize) {
                assert!(
                    !r.snap.guarded(p),
                    "{tag}: guard at {p:#x} in extend mode\n{}",
                    r.ctx()
                );
            }
        }
        // Readable: never SIGSEGV; the file's pages read, past EOF SIGBUS.
        assert_probes(&r, tag, "r", |_, addr, p| {
            extend_read(&o.elf, o.base, addr, p)
        });
        let got = probe_results(&r.outcome.stdout_str());
        assert!(
            got.iter().any(|((t, _, _), v)| t == tag && v == "ok"),
            "{tag}: no padding page was readable\n{}",
            r.ctx()
        );
        assert_eq!(child_pagemap(&r, tag).0, 0);
    }
}

/// `--padding extend` (musl's behaviour): padding readable, no gap VMA.
#[test]
fn extend_lld_64k() {
    extend("extend_lld_64k", Linker::Lld, How::Explicit(Mode::Extend));
}

#[test]
fn extend_bfd_64k() {
    extend("extend_bfd_64k", Linker::Bfd, How::Explicit(Mode::Extend));
}

/// GUARDLD_PADDING=extend as PT_INTERP: the program's holes become readable
/// extensions too.
#[test]
fn extend_env_pt_interp() {
    extend(
        "extend_env_pt_interp",
        Linker::Lld,
        How::Interp(Mode::Extend),
    );
}

// ------------------------------------------------------------ fallback ----

fn fallback(name: &str, linker: Linker, how: How) {
    let bins = build(name, linker);
    // The program runs to the end with the right result.
    assert_runs(&bins, how);
    let glibc = oracle(&bins, how);
    let r = paused_run(&bins, how, "rwxc", "le", &[("GUARDLD_DEBUG", "map")]);
    // Both objects end up with glibc's layout: PROT_NONE padding (or the
    // kernel's holes, for a program the kernel mapped).
    if how.kernel_mapped() {
        assert_kernel_layout(&r, &glibc);
    } else {
        assert_prot_none(&r, &glibc, "exe");
    }
    assert_prot_none(&r, &glibc, "lib");
    // And guardld says so (loader/src/map/exec.rs, load.rs).
    let err = r.outcome.stderr_str();
    let unavailable = "guardld: guard regions unavailable (madvise 102: errno 22): padding falls back to PROT_NONE";
    assert!(
        err.contains(unavailable),
        "stderr lacks {unavailable:?}\n{}",
        r.ctx()
    );
    assert!(
        err.contains("fell back to PROT_NONE"),
        "no mapping line says it fell back\n{}",
        r.ctx()
    );
    // Said once, not once per object or per gap.
    assert_eq!(
        err.matches("guard regions unavailable").count(),
        1,
        "{}",
        r.ctx()
    );
}

/// MADV_GUARD_INSTALL refused by a seccomp filter (EINVAL): padding falls
/// back to PROT_NONE, and the program still runs.
#[test]
fn fallback_seccomp_lld_64k() {
    fallback("fallback_seccomp_lld_64k", Linker::Lld, How::Fallback);
}

#[test]
fn fallback_seccomp_bfd_64k() {
    fallback("fallback_seccomp_bfd_64k", Linker::Bfd, How::Fallback);
}

/// The same as PT_INTERP: the program's holes stay holes.
#[test]
fn fallback_seccomp_pt_interp() {
    fallback(
        "fallback_seccomp_pt_interp",
        Linker::Lld,
        How::FallbackInterp,
    );
}

// ------------------------------------------------------------ --probe ----

#[test]
fn probe_reports_file_guards() {
    let o = run(command(guardld(), &[]).arg("--probe"));
    o.assert_code(0)
        .assert_stdout_contains("MADV_GUARD_INSTALL known: yes\n")
        .assert_stdout_contains("file-backed guards install: yes\n")
        .assert_stdout_contains("pagemap bit 58 reports guards: yes\n");
    // Under the seccomp filter it must say no: it really tries.
    let dir = out_dir("mapping/probe_reports_file_guards");
    let mut c = command(noguard(&dir), &[]);
    c.arg(guardld()).arg("--probe");
    run(&mut c)
        .assert_code(0)
        .assert_stdout_contains("file-backed guards install: no\n")
        .assert_stdout_contains("anonymous guards install: no\n");
}

// ------------------------------------------------------------ malformed ----

/// One way to break a segment table, with the reason guardld must give
/// (loader/src/map/plan.rs, PlanError::message).
struct Breakage {
    name: &'static str,
    reason: &'static str,
    apply: fn(&mut Vec<u8>),
}

fn breakages() -> Vec<Breakage> {
    vec![
        Breakage {
            name: "overlap",
            reason: "loadable segments overlap",
            // The first PT_LOAD grows into the second (still sorted).
            apply: |b| {
                let l = Elf::parse(b).loads();
                set_load_field(b, 0, Field::Memsz, l[1].p_vaddr - l[0].p_vaddr + 0x10);
            },
        },
        Breakage {
            name: "unsorted",
            reason: "loadable segments are not sorted by address",
            apply: |b| swap_loads(b, 1, 2),
        },
        Breakage {
            name: "filesz_gt_memsz",
            reason: "segment file size exceeds its memory size",
            // Shrink p_memsz below p_filesz (nothing else changes).
            apply: |b| {
                let l = Elf::parse(b).loads();
                set_load_field(b, 1, Field::Memsz, l[1].p_filesz - 1);
            },
        },
        Breakage {
            name: "offset_not_congruent",
            reason: "segment offset and address are not congruent modulo the page size",
            apply: |b| {
                let l = Elf::parse(b).loads();
                set_load_field(b, 1, Field::Offset, l[1].p_offset + 0x10);
            },
        },
        Breakage {
            name: "past_eof",
            reason: "segment extends past the end of the file",
            // Same offset modulo the page, beyond the end of the file.
            apply: |b| {
                let l = Elf::parse(b).loads();
                let len = b.len() as u64;
                set_load_field(b, 3, Field::Offset, l[3].p_offset + ru(len));
            },
        },
        Breakage {
            name: "span_too_large",
            reason: "segments span more than the address space",
            // p_vaddr + p_memsz beyond the 47-bit user address space.
            apply: |b| set_load_field(b, 3, Field::Memsz, 1 << 47),
        },
        Breakage {
            name: "address_overflow",
            reason: "segment address range overflows",
            // p_vaddr + p_memsz wraps around 2^64.
            apply: |b| {
                let l = Elf::parse(b).loads();
                set_load_field(b, 3, Field::Memsz, u64::MAX - l[3].p_vaddr + 1);
            },
        },
    ]
}

/// Exit 127, no signal, nothing on stdout (nothing of the program ran), and
/// stderr starts with `guardld: FILE: REASON`.
fn assert_refused(o: &Outcome, file: &Path, reason: &str) {
    o.assert_code(127);
    assert!(o.stdout.is_empty(), "stdout not empty\n{}", o.describe());
    let want = format!("guardld: {}: {reason}\n", file.display());
    assert!(
        o.stderr_str().starts_with(&want),
        "stderr should start with {want:?}\n{}",
        o.describe()
    );
}

/// The check is one per field: the intact file must load, each broken copy
/// differs from it only in its program headers.
fn assert_only_phdrs_differ(good: &[u8], bad: &[u8]) {
    assert_eq!(good.len(), bad.len());
    let e = Elf::parse(good);
    let (a, b) = (e.phdr_table().start, e.phdr_table().end);
    for (i, (x, y)) in good.iter().zip(bad).enumerate() {
        assert!(
            x == y || (a..b).contains(&i),
            "byte {i:#x} outside the program headers changed"
        );
    }
    assert_ne!(good, bad, "the breakage changed nothing");
}

/// Broken copies of a real small PIE (testbins/hello.c, bfd default
/// layout: R, RX, R, RW), run as `guardld ./broken`.
#[test]
fn malformed_program() {
    let dir = out_dir("mapping/malformed_program");
    let hello = Cc::new("mapping/malformed_program", "hello")
        .source("hello.c")
        .pie()
        .interp(guardld())
        .build();
    let good = std::fs::read(&hello).unwrap();
    assert_eq!(Elf::parse(&good).loads().len(), 4);
    let mut c = command(guardld(), &[]);
    c.arg(&hello);
    run(&mut c)
        .assert_code(0)
        .assert_stdout(&format!("hello from {}\n", hello.display()));
    for b in breakages() {
        let mut bytes = good.clone();
        (b.apply)(&mut bytes);
        assert_only_phdrs_differ(&good, &bytes);
        let p = dir.join(format!("hello-{}", b.name));
        std::fs::write(&p, &bytes).unwrap();
        std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let mut c = command(guardld(), &[]);
        c.arg(&p);
        let o = run(&mut c);
        println!("{}: {}", b.name, o.stderr_str().trim_end());
        assert_refused(&o, &p, b.reason);
    }
}

/// The same breakages in a library a program NEEDs (lib4, bfd 64 KiB),
/// found through LD_LIBRARY_PATH; explicitly and as PT_INTERP.
#[test]
fn malformed_library() {
    let name = "mapping/malformed_library";
    let dir = out_dir(name);
    let good_dir = dir.join("good");
    std::fs::create_dir_all(&good_dir).unwrap();
    let lib = Cc::new(name, "good/libmap4.so")
        .source("mapping/lib4.c")
        .shared()
        .page_size(65536)
        .build();
    let prog = Cc::new(name, "probe")
        .source("mapping/probe.c")
        .pie()
        .interp(guardld())
        .arg(format!("-L{}", good_dir.display()))
        .arg("-lmap4")
        .build();
    let good = std::fs::read(&lib).unwrap();
    assert_eq!(Elf::parse(&good).loads().len(), 4);
    let lp = good_dir.to_str().unwrap();
    // Intact, it loads and runs.
    let mut c = command(guardld(), &[("LD_LIBRARY_PATH", lp)]);
    c.arg(&prog).args(["", ""]);
    run(&mut c)
        .assert_code(0)
        .assert_stdout_contains(LIB4_CHECK);
    for b in breakages() {
        let mut bytes = good.clone();
        (b.apply)(&mut bytes);
        assert_only_phdrs_differ(&good, &bytes);
        let case = dir.join(b.name);
        std::fs::create_dir_all(&case).unwrap();
        let p = case.join("libmap4.so");
        std::fs::write(&p, &bytes).unwrap();
        let lp = case.to_str().unwrap();
        let mut explicit = command(guardld(), &[("LD_LIBRARY_PATH", lp)]);
        explicit.arg(&prog).args(["", ""]);
        let mut interp = command(&prog, &[("LD_LIBRARY_PATH", lp)]);
        interp.args(["", ""]);
        for mut c in [explicit, interp] {
            let o = run(&mut c);
            println!("{}: {}", b.name, o.stderr_str().trim_end());
            assert_refused(&o, &p, b.reason);
        }
    }
}
