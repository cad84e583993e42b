//! The capability subdirectories glibc 2.36's ld.so searches in every
//! library directory before the directory itself (elf/dl-hwcaps.c,
//! `_dl_important_hwcaps`): first `glibc-hwcaps/NAME/` for each x86-64 ISA
//! level the CPU supports (`_dl_hwcaps_subdirs`, best first), then the
//! legacy ones, every combination of the hwcap bits' names (GLRO(dl_hwcap)
//! masked by glibc.cpu.hwcap_mask), the platform name and "tls", most
//! specific first. On this machine: glibc-hwcaps/x86-64-v4/, -v3/, -v2/,
//! tls/x86_64/x86_64/, tls/x86_64/, tls/x86_64/, tls/, x86_64/x86_64/,
//! x86_64/, x86_64/ (strace of glibc's ld.so shows the same list).
//!
//! The names come from the build's debug information (`Build::
//! hwcaps_subdirs`, `hwcap_flags`, `platforms`); the CPU's answers from
//! the personality's own `init_cpu_features` (`cpu::init`).

use super::Build;
use super::cpu;
use alloc::vec::Vec;

/// Every first component a capability subdirectory of `build` may start
/// with, whatever the CPU: "glibc-hwcaps", "tls", the hwcap names, the
/// platform names and the kernel's AT_PLATFORM. A directory with none of
/// them needs no CPU answer at all.
pub fn first_components(build: &Build, at_platform: Option<&[u8]>) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = [&b"glibc-hwcaps"[..], b"tls"].iter().map(|s| s.to_vec()).collect();
    v.extend(build.hwcap_flags.iter().chain(build.platforms).map(|s| s.as_bytes().to_vec()));
    v.extend(at_platform.map(<[u8]>::to_vec));
    v.sort();
    v.dedup();
    v
}

/// The subdirectories (each ending in "/"), in glibc's order, without the
/// directory itself (searched last by the caller).
pub fn subdirs(build: &'static Build, at_platform: Option<&[u8]>, environ: &[&[u8]], secure: bool) -> Result<Vec<Vec<u8>>, super::layout::Missing> {
    let (mut t, _) = super::tunables::Tunables::from_environ(build, environ, secure, super::suid_debug(secure));
    let cf = build.structure("struct cpu_features")?;
    let mut buf = alloc::vec![0u8; cf.size];
    let init = cpu::init(build, &mut buf, &mut t)?;
    // The level usable after glibc.cpu.hwcaps, as glibc's
    // `_dl_hwcaps_subdirs_active` asks get_isa_level (not `isa_1`).
    let isa = init.isa_level;
    let mask = t.value("glibc.cpu.hwcap_mask").unwrap_or(0);
    // GLRO(dl_platform): init_cpu_features' choice, else AT_PLATFORM.
    let platform = init.platform.map(|p| p.strip_suffix(b"\0").unwrap_or(p)).or(at_platform);
    Ok(list(build.hwcaps_subdirs.as_bytes(), isa, build.hwcap_flags, init.hwcap & mask, platform))
}

/// A searched directory and the capability subdirectories it holds.
type DirSubdirs = (Vec<u8>, Vec<Vec<u8>>);

/// The capability subdirectories of a glibc program's library search: the
/// inputs, computed once when a directory first has a candidate, and what
/// each directory searched so far holds (as glibc remembers per search
/// directory which subdirectories exist).
pub struct Search {
    environ: Vec<&'static [u8]>,
    at_platform: Option<&'static [u8]>,
    secure: bool,
    list: core::cell::OnceCell<Vec<Vec<u8>>>,
    dirs: core::cell::RefCell<Vec<DirSubdirs>>,
}

impl Search {
    pub fn new(environ: Vec<&'static [u8]>, at_platform: Option<&'static [u8]>, secure: bool) -> Search {
        Search { environ, at_platform, secure, list: core::cell::OnceCell::new(), dirs: core::cell::RefCell::new(Vec::new()) }
    }

    /// The capability subdirectories of `dir` to search before it, in
    /// glibc's order (each ends in "/"). A directory none of whose entries
    /// could start one costs a few stat calls, once.
    pub fn subdirs_in(&self, dir: &[u8]) -> Vec<Vec<u8>> {
        if let Some(e) = self.dirs.borrow().iter().find(|e| e.0 == dir) {
            return e.1.clone();
        }
        let is_dir = |sub: &[u8]| {
            let mut p = crate::link::search::subdir(dir, sub.strip_suffix(b"/").unwrap_or(sub));
            p.push(0);
            core::ffi::CStr::from_bytes_with_nul(&p).ok().and_then(|c| rustix::fs::stat(c).ok()).is_some_and(|st| rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Directory)
        };
        let candidate = super::KNOWN.iter().flat_map(|b| first_components(b, self.at_platform)).any(|c| is_dir(&c));
        let found = if candidate {
            let list = self.list.get_or_init(|| {
                // The machine's build (a program of another build is handed
                // over before anything runs).
                let build = super::detect(crate::start::handover::GLIBC_LD);
                build.and_then(|b| subdirs(b, self.at_platform, &self.environ, self.secure).ok()).unwrap_or_default()
            });
            let mut v: Vec<Vec<u8>> = Vec::new();
            for sub in list {
                if !v.contains(sub) && is_dir(sub) {
                    v.push(sub.clone());
                }
            }
            v
        } else {
            Vec::new()
        };
        self.dirs.borrow_mut().push((dir.to_vec(), found.clone()));
        found
    }
}

/// The list from its inputs (separate for the tests).
fn list(names: &[u8], isa: u32, hwcap_names: &[&str], masked: u64, platform: Option<&[u8]>) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    // `_dl_hwcaps_subdirs_active`: levels are tested from v2 up and stop at
    // the first the CPU lacks; the active ones are the last entries of the
    // best-first list.
    let levels = [cpu::ISA_1_V2, cpu::ISA_1_V3, cpu::ISA_1_V4].iter().take_while(|&&l| isa & l != 0).count();
    let all: Vec<&[u8]> = names.split(|&c| c == b':').filter(|n| !n.is_empty()).collect();
    for n in &all[all.len().saturating_sub(levels)..] {
        out.push([&b"glibc-hwcaps/"[..], n, b"/"].concat());
    }
    // Legacy: the names of the masked hwcap bits (by bit), the platform,
    // "tls"; every subset, from all of them down to one, components from
    // the last name to the first (the empty subset is the directory).
    let mut parts: Vec<&[u8]> = (0..64).filter(|&b| masked & (1u64 << b) != 0).filter_map(|b| hwcap_names.get(b).map(|s| s.as_bytes())).collect();
    parts.extend(platform);
    parts.push(b"tls");
    let n = parts.len();
    for k in (1..1u64 << n).rev() {
        let mut p = Vec::new();
        for i in (0..n).rev().filter(|&i| k & (1 << i) != 0) {
            p.extend_from_slice(parts[i]);
            p.push(b'/');
        }
        out.push(p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strs(v: &[Vec<u8>]) -> Vec<&str> {
        v.iter().map(|s| core::str::from_utf8(s).unwrap()).collect()
    }

    /// The list glibc's ld.so tried on this project's machines (strace of
    /// `LD_LIBRARY_PATH=/tmp/hw ./m`, dl_hwcap 0x2, platform "x86_64",
    /// isa_1 0xf), written by hand from that trace.
    #[test]
    fn amd_epyc_list_as_straced() {
        let v = list(b"x86-64-v4:x86-64-v3:x86-64-v2", 0xf, &["sse2", "x86_64", "avx512_1"], 0x2, Some(b"x86_64"));
        assert_eq!(strs(&v), [
            "glibc-hwcaps/x86-64-v4/", "glibc-hwcaps/x86-64-v3/", "glibc-hwcaps/x86-64-v2/",
            "tls/x86_64/x86_64/", "tls/x86_64/", "tls/x86_64/", "tls/",
            "x86_64/x86_64/", "x86_64/", "x86_64/",
        ]);
    }

    /// A v2-only CPU without a platform: one glibc-hwcaps entry (the last
    /// of the list), then hwcap x86_64 and tls combinations.
    #[test]
    fn lower_levels_and_no_platform() {
        let v = list(b"x86-64-v4:x86-64-v3:x86-64-v2", 0x3, &["sse2", "x86_64", "avx512_1"], 0x2, None);
        assert_eq!(strs(&v), ["glibc-hwcaps/x86-64-v2/", "tls/x86_64/", "tls/", "x86_64/"]);
        // v3 without v2 is no level at all (glibc stops at the first gap).
        let v = list(b"x86-64-v4:x86-64-v3:x86-64-v2", 0x5, &["sse2", "x86_64", "avx512_1"], 0, None);
        assert_eq!(strs(&v), ["tls/"]);
    }
}
