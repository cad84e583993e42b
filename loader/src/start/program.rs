//! The first two objects: the program (mapped by the kernel or by guardld)
//! and guardld itself.

use super::stack::InitialStack;
use crate::elf::header::{PT_GNU_RELRO, PT_PHDR};
use crate::elf::pod::{self, Ehdr, Phdr};
use crate::link::dso::{Dso, DsoError, Filled, Kind, Mapper};
use crate::link::search::dirname;
use crate::map::load::Loaded;
use crate::map::{GuardSupport, Padding, page_floor};
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

/// The directory of /proc/self/exe, for the program's $ORIGIN.
fn exe_dir() -> Option<Vec<u8>> {
    let link = rustix::fs::readlinkat(rustix::fs::CWD, c"/proc/self/exe", Vec::new()).ok()?;
    Some(dirname(link.as_bytes()).to_vec())
}

/// Without PT_PHDR the kernel still points AT_PHDR at the headers inside
/// the segment that maps file offset 0 (load address + e_phoff). Find the
/// ELF header at the start of that page and accept the bias only if its
/// e_phoff names exactly AT_PHDR. (glibc assumes bias 0 here, which is
/// wrong for a PIE.) `page_size`: AT_PAGESZ.
fn bias_without_pt_phdr(st: &InitialStack, phdrs: &[Phdr], at: usize, page_size: u64) -> Option<usize> {
    let first = phdrs.iter().find(|p| p.p_type == crate::elf::header::PT_LOAD && p.p_offset == 0)?;
    let ehdr_at = page_floor(at as u64, page_size) as usize;
    // The first segment maps file offset 0 at the start of that page.
    let eh: Ehdr = pod::read(st.phdr_page(page_size as usize, core::mem::size_of::<Ehdr>())?, 0)?;
    if &eh.e_ident[..4] != b"\x7fELF" || ehdr_at.checked_add(eh.e_phoff as usize)? != at {
        return None;
    }
    Some(ehdr_at.wrapping_sub(page_floor(first.p_vaddr, page_size) as usize))
}

/// The program as the kernel mapped it (PT_INTERP start). Its padding
/// holes are filled in `padding` mode as far as `guards` allows; what the
/// kernel says about guards is recorded there.
pub fn from_auxv(st: &InitialStack, padding: Padding, page_size: u64, guards: &GuardSupport) -> Result<Dso, ProgramError> {
    let (at, phdrs) = st.program_headers(crate::elf::header::MAX_PHNUM as usize).ok_or(ProgramError::NoPhdr)?;
    let bias = match phdrs.iter().find(|p| p.p_type == PT_PHDR) {
        // Where PT_PHDR landed minus where it was linked.
        Some(p) => at.wrapping_sub(p.p_vaddr as usize),
        None => bias_without_pt_phdr(st, &phdrs, at, page_size).ok_or(ProgramError::NoPhdr)?,
    };
    let mut d = Dso::new(Kind::Program, Vec::from(&b"\0"[..]), &phdrs, bias, at).map_err(ProgramError::Dso)?;
    d.origin = exe_dir();
    d.label = st.execfn().map(<[u8]>::to_vec);
    // The kernel applies no RELRO; and it left the padding as holes, which
    // guardld fills like its own mappings: guard_plan::holes plans it, the
    // executor runs the plan (a hole it cannot fill and guard stays a
    // hole). The RELRO range is the planner's for what came out: with
    // every hole filled, the plan's own (widened over a filled extension,
    // so no split appears); otherwise the ProtNone plan's (never over a
    // hole); glibc's rounding only if the planner refuses the layout.
    let size = crate::sys::file::open(c"/proc/self/exe").map_or(u64::MAX, |f| f.size);
    let plan_holes = |mode| crate::map::load::plan_holes_for(&phdrs, size, page_size, mode);
    let mode = guards.effective(padding);
    d.relro = match plan_holes(mode) {
        Ok(plan) => {
            let r = crate::map::exec::execute_in_place(&plan, bias, guards.batch());
            guards.record(r.guards);
            crate::debug!(Map, "program padding: {} of {} holes filled ({:?})", r.filled, plan.padding.len(), mode);
            if r.filled == plan.padding.len() && !plan.padding.is_empty() {
                let relro = plan.relro;
                d.mapper = Mapper::Kernel { filled: Some(Filled { plan: alloc::boxed::Box::new(plan), padding: mode }) };
                relro
            } else if mode == Padding::ProtNone {
                plan.relro
            } else {
                plan_holes(Padding::ProtNone).ok().and_then(|p| p.relro)
            }
        }
        Err(_) => relro_range(&phdrs, page_size),
    };
    Ok(d)
}

/// PT_GNU_RELRO with glibc's rounding (only whole pages of `page_size`
/// inside it).
fn relro_range(phdrs: &[Phdr], page_size: u64) -> Option<(u64, u64)> {
    phdrs.iter().find(|p| p.p_type == PT_GNU_RELRO).and_then(|p| {
        let start = page_floor(p.p_vaddr, page_size);
        let end = page_floor(p.p_vaddr.checked_add(p.p_memsz)?, page_size);
        (end > start).then(|| (start, end - start))
    })
}

/// The program as guardld mapped it (explicit start).
pub fn from_loaded(path: &CStr, p: Loaded) -> Result<Dso, DsoError> {
    let mut name = path.to_bytes().to_vec();
    name.push(0);
    let mut d = Dso::new(Kind::Program, name, &p.phdrs, p.bias, p.phdr_addr)?;
    // $ORIGIN as glibc has it for a program it was given by path: a
    // relative one from the current directory ("CWD/." for "./prog").
    let cwd = || rustix::process::getcwd(Vec::new()).ok().map(|c| c.into_bytes());
    d.origin = crate::link::search::origin_dir(path.to_bytes(), cwd).or_else(|| Some(dirname(path.to_bytes()).to_vec()));
    d.adopt_mapping(p);
    Ok(d)
}

/// guardld itself, so that a NEEDED ld-linux-x86-64.so.2 resolves to it and
/// debuggers see it.
pub fn guardld_itself(base: usize, main: &Dso, execfn: Option<&[u8]>, page_size: u64) -> Result<Dso, DsoError> {
    let (phdr_addr, phdrs) = crate::selfreloc::own_program_headers(base);
    let mut d = Dso::new(Kind::Loader, own_path(main, execfn), &phdrs, base, phdr_addr)?;
    // Its RELRO (GOT, .dynamic, vtables) is protected with the others'.
    d.relro = relro_range(&phdrs, page_size);
    Ok(d)
}

/// guardld's path, for debuggers: the program's PT_INTERP when the kernel
/// started us through it, else the absolute path guardld was executed by,
/// else /proc/self/exe (a procfs lookup costs start-up time).
fn own_path(main: &Dso, execfn: Option<&[u8]>) -> Vec<u8> {
    let interp = || main.interp().map(<[u8]>::to_vec);
    // The kernel mapped the program, so it named us in PT_INTERP.
    let started_as_interp = matches!(main.mapper, Mapper::Kernel { .. });
    let absolute = execfn.filter(|p| p.starts_with(b"/")).map(<[u8]>::to_vec);
    let mut p = started_as_interp.then(interp).flatten().or(absolute).unwrap_or_else(|| {
        rustix::fs::readlinkat(rustix::fs::CWD, c"/proc/self/exe", Vec::new()).map(|c| c.into_bytes()).unwrap_or_default()
    });
    p.push(0);
    p
}
