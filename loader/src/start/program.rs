//! The first two objects: the program (mapped by the kernel or by guardld)
//! and guardld itself.

use super::stack::{AT_PHDR, AT_PHNUM, InitialStack};
use crate::elf::header::{PT_GNU_RELRO, PT_PHDR};
use crate::elf::pod::{self, Ehdr, Phdr};
use crate::link::dso::{Dso, DsoError};
use crate::link::search::{Cache, dirname};
use crate::load::Loaded;
use alloc::vec::Vec;
use core::ffi::CStr;

/// Why the program handed over by the kernel is unusable.
pub enum ProgramError {
    NoPhdr,
    Dso(DsoError),
}

impl core::fmt::Display for ProgramError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ProgramError::NoPhdr => f.write_str("cannot locate the program headers (no usable AT_PHDR/AT_PHNUM or PT_PHDR)"),
            ProgramError::Dso(e) => e.fmt(f),
        }
    }
}

/// Copy `n` program headers that the kernel (or a linker) put at `addr`.
///
/// # Safety
/// `[addr, addr + n*56)` must be mapped and readable.
unsafe fn phdrs_at(addr: usize, n: usize) -> Vec<Phdr> {
    // SAFETY: forwarded from the caller.
    let bytes = unsafe { pod::mapped(addr, n * 56) };
    (0..n).filter_map(|i| pod::read::<Phdr>(bytes, i * 56)).collect()
}

/// The directory of /proc/self/exe, for the program's $ORIGIN.
fn exe_dir() -> Option<Vec<u8>> {
    let link = rustix::fs::readlinkat(rustix::fs::CWD, c"/proc/self/exe", Vec::new()).ok()?;
    Some(dirname(link.as_bytes()).to_vec())
}

/// Without PT_PHDR the kernel still points AT_PHDR at the headers inside
/// the segment that maps file offset 0 (load address + e_phoff). Find the
/// ELF header at the start of that page and accept the bias only if its
/// e_phoff names exactly AT_PHDR. (glibc assumes bias 0 here, which is
/// wrong for a PIE.)
fn bias_without_pt_phdr(phdrs: &[Phdr], at: usize) -> Option<usize> {
    let first = phdrs.iter().find(|p| p.p_type == crate::elf::header::PT_LOAD && p.p_offset == 0)?;
    let ehdr_at = at & !4095;
    // SAFETY: the page holding the program headers is mapped (the kernel
    // read them from there to build AT_PHDR); the first segment maps file
    // offset 0 at its start.
    let eh: Ehdr = pod::read(unsafe { pod::mapped(ehdr_at, 64) }, 0)?;
    if &eh.e_ident[..4] != b"\x7fELF" || ehdr_at.checked_add(eh.e_phoff as usize)? != at {
        return None;
    }
    Some(ehdr_at.wrapping_sub(first.p_vaddr as usize & !4095))
}

/// The program as the kernel mapped it (PT_INTERP start).
pub fn from_auxv(st: &InitialStack, padding: crate::map::Padding, page_size: u64) -> Result<Dso, ProgramError> {
    let (Some(at), Some(n)) = (st.aux(AT_PHDR), st.aux(AT_PHNUM)) else { return Err(ProgramError::NoPhdr) };
    if n == 0 || n > crate::elf::header::MAX_PHNUM as usize {
        return Err(ProgramError::NoPhdr);
    }
    // SAFETY: the kernel maps the program headers it points AT_PHDR at.
    let phdrs = unsafe { phdrs_at(at, n) };
    let bias = match phdrs.iter().find(|p| p.p_type == PT_PHDR) {
        // Where PT_PHDR landed minus where it was linked.
        Some(p) => at.wrapping_sub(p.p_vaddr as usize),
        None => bias_without_pt_phdr(&phdrs, at).ok_or(ProgramError::NoPhdr)?,
    };
    let mut d = Dso::new(Vec::from(&b"\0"[..]), &phdrs, bias, at, false).map_err(ProgramError::Dso)?;
    d.is_main = true;
    d.origin = exe_dir();
    d.label = st.aux(super::stack::AT_EXECFN).filter(|&p| p != 0).map(|p| {
        // SAFETY: AT_EXECFN points at the NUL-terminated path the kernel
        // placed on the stack.
        unsafe { CStr::from_ptr(p as *const core::ffi::c_char) }.to_bytes().to_vec()
    });
    // The kernel applies no RELRO; and it left the padding as holes, which
    // guardld fills like its own mappings (map/holes.rs). The plan's RELRO
    // range is widened over a filled extension, so no split appears.
    d.relro = relro_range(&phdrs);
    let size = crate::sys::file::open(c"/proc/self/exe").map_or(u64::MAX, |f| f.size);
    if let Ok(plan) = crate::load::plan_for(&phdrs, size, page_size, padding) {
        let filled = crate::map::holes::fill(&plan, bias, padding, page_size as usize);
        if filled == plan.padding.len() && !plan.padding.is_empty() {
            d.relro = plan.relro;
            d.padding = Some(if crate::map::exec::guards_failed() { crate::map::Padding::ProtNone } else { padding });
            d.plan = Some(plan);
        }
    }
    Ok(d)
}

/// PT_GNU_RELRO with glibc's rounding (only whole pages inside it).
fn relro_range(phdrs: &[Phdr]) -> Option<(u64, u64)> {
    phdrs.iter().find(|p| p.p_type == PT_GNU_RELRO).and_then(|p| {
        let start = p.p_vaddr & !4095;
        let end = p.p_vaddr.checked_add(p.p_memsz)? & !4095;
        (end > start).then(|| (start, end - start))
    })
}

/// The RELRO range of an object whose program headers are mapped at `at`.
pub fn relro_of_phdrs(at: usize, n: usize) -> Option<(u64, u64)> {
    // SAFETY: callers pass program headers of a mapped object (guardld's own).
    relro_range(&unsafe { phdrs_at(at, n) })
}

/// The program as guardld mapped it (explicit start).
pub fn from_loaded(path: &CStr, p: Loaded) -> Result<Dso, DsoError> {
    let mut name = path.to_bytes().to_vec();
    name.push(0);
    let mut d = Dso::new(name, &p.phdrs, p.bias, p.phdr_addr, false)?;
    d.is_main = true;
    d.origin = Some(dirname(path.to_bytes()).to_vec());
    d.adopt_mapping(p);
    Ok(d)
}

/// guardld itself, so that a NEEDED ld-linux-x86-64.so.2 resolves to it and
/// debuggers see it.
pub fn guardld_itself(base: usize, main: &Dso) -> Result<Dso, DsoError> {
    // SAFETY: our own ELF header is mapped at `base` (linker.ld).
    let eh: Ehdr = pod::read(unsafe { pod::mapped(base, 64) }, 0).unwrap_or_default();
    // SAFETY: our own program headers follow, inside our first segment.
    let phdrs = unsafe { phdrs_at(base + eh.e_phoff as usize, eh.e_phnum as usize) };
    let mut d = Dso::new(own_path(main), &phdrs, base, base + eh.e_phoff as usize, false)?;
    d.is_self = true;
    d.relocated = true;
    Ok(d)
}

/// guardld's path, for debuggers: the program's PT_INTERP when the kernel
/// started us through it, else /proc/self/exe (explicit start).
fn own_path(main: &Dso) -> Vec<u8> {
    let interp = || {
        // SAFETY: the kernel mapped the program's headers (PT_INTERP start).
        let phdrs = unsafe { phdrs_at(main.phdr_addr, main.phnum) };
        let p = phdrs.iter().find(|p| p.p_type == crate::elf::header::PT_INTERP)?;
        let s = main.img.bytes(p.p_vaddr, p.p_filesz)?;
        Some(s.split(|&c| c == 0).next()?.to_vec())
    };
    // span.1 == 0: the kernel mapped the program, so it named us in PT_INTERP.
    let started_as_interp = main.span.1 == 0;
    let mut p = started_as_interp.then(interp).flatten().unwrap_or_else(|| {
        rustix::fs::readlinkat(rustix::fs::CWD, c"/proc/self/exe", Vec::new()).map(|c| c.into_bytes()).unwrap_or_default()
    });
    p.push(0);
    p
}

/// /etc/ld.so.cache, mapped read-only for the life of the process; None
/// when absent or not in the format guardld reads.
pub fn ld_so_cache() -> Option<Cache> {
    let f = crate::sys::file::open(c"/etc/ld.so.cache").ok()?;
    if f.size < 48 || f.size > 64 << 20 {
        return None;
    }
    // SAFETY: a fresh read-only private mapping of a regular file.
    let p = unsafe {
        rustix::mm::mmap(core::ptr::null_mut(), f.size as usize, rustix::mm::ProtFlags::READ, rustix::mm::MapFlags::PRIVATE, &f.fd, 0)
    }
    .ok()?;
    // SAFETY: mapped above, never unmapped.
    Cache::new(unsafe { pod::mapped(p as usize, f.size as usize) })
}
