//! Stage 3: bring one object file into memory: open, check its headers,
//! plan the mapping, execute the plan. If the kernel refuses guards, the
//! refusal is recorded in the caller's `GuardSupport` and the object is
//! planned again in ProtNone mode and mapped from that plan: the plan that
//! was executed is always the planner's own, RELRO range included.

use crate::elf::header::{self, PT_GNU_RELRO, PT_LOAD, PT_PHDR, HeaderError};
use crate::elf::pod::{Ehdr, PHDR_SIZE, Phdr};
use crate::map::{self, GuardSupport, Padding, Plan, PlanInput, Segment, exec, plan};
use crate::sys::file::{self, File};
use alloc::vec::Vec;
use core::ffi::CStr;
use core::fmt::Write;
use rustix::fd::AsFd;

/// A loaded object's facts the later stages need.
pub struct Loaded {
    pub file: File,
    pub ehdr: Ehdr,
    pub phdrs: Vec<Phdr>,
    /// Runtime address of the program headers (for AT_PHDR, dl_iterate_phdr).
    pub phdr_addr: usize,
    pub bias: usize,
    /// The mapped span, owned: dropping the `Loaded` (an object refused
    /// after mapping) or the record that adopts it unmaps it.
    pub span: exec::Span,
    /// The plan that was executed (after a guard refusal: the ProtNone one).
    pub plan: Plan,
    /// How the padding is covered: `plan.mode` (prot-none after a guard
    /// refusal).
    pub padding: Padding,
}

/// Why an object could not be loaded; `Display` gives the reason text.
pub enum LoadError {
    Open(file::OpenError),
    Header(HeaderError),
    Plan(map::plan::PlanError),
    Map(exec::MapError),
    PhdrsNotLoaded,
    Read,
}

impl core::fmt::Display for LoadError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            LoadError::Open(e) => f.write_str(e.reason()),
            LoadError::Header(e) => f.write_str(e.message()),
            LoadError::Plan(e) => f.write_str(e.message()),
            LoadError::Map(e) => e.describe(f),
            LoadError::PhdrsNotLoaded => f.write_str("program headers are not inside a loadable segment"),
            LoadError::Read => f.write_str("read error"),
        }
    }
}

/// Read and check the ELF header and program headers of an open file.
pub fn read_headers(file: &File) -> Result<(Ehdr, Vec<Phdr>), LoadError> {
    // One read covers the ELF header and, in every linker's layout, the
    // program headers that follow it (glibc reads 832 bytes the same way).
    let mut head = [0u8; 1024];
    let n = (file.size as usize).min(head.len());
    if !file.read_exact_at(&mut head[..n], 0) {
        return Err(LoadError::Read);
    }
    let eh = header::check_ehdr(&head[..n], file.size, crate::glibc::abi_max()).map_err(LoadError::Header)?;
    let len = eh.e_phnum as usize * PHDR_SIZE;
    let phdrs = match (eh.e_phoff as usize).checked_add(len) {
        Some(end) if end <= n => header::parse_phdrs(&head[eh.e_phoff as usize..end], eh.e_phnum as usize),
        _ => {
            let mut buf = alloc::vec![0u8; len];
            if !file.read_exact_at(&mut buf, eh.e_phoff) {
                return Err(LoadError::Header(HeaderError::PhdrsPastEof));
            }
            header::parse_phdrs(&buf, eh.e_phnum as usize)
        }
    }
    .map_err(LoadError::Header)?;
    Ok((eh, phdrs))
}

/// The PT_LOAD segments and RELRO of a program header table, in the
/// planner's terms: the plan to map them from their file.
pub fn plan_for(phdrs: &[Phdr], file_size: u64, page_size: u64, padding: Padding) -> Result<Plan, map::plan::PlanError> {
    with_input(phdrs, file_size, page_size, padding, plan::plan)
}

/// The plan to fill the padding holes of an object the kernel mapped from
/// these program headers (`map::holes`).
pub fn plan_holes_for(phdrs: &[Phdr], file_size: u64, page_size: u64, padding: Padding) -> Result<Plan, map::plan::PlanError> {
    with_input(phdrs, file_size, page_size, padding, map::holes::plan)
}

fn with_input<R>(phdrs: &[Phdr], file_size: u64, page_size: u64, padding: Padding, f: impl FnOnce(&PlanInput) -> R) -> R {
    let segments: Vec<Segment> = phdrs
        .iter()
        .filter(|p| p.p_type == PT_LOAD)
        .map(|p| Segment { vaddr: p.p_vaddr, memsz: p.p_memsz, offset: p.p_offset, filesz: p.p_filesz, flags: p.p_flags })
        .collect();
    let relro = phdrs.iter().find(|p| p.p_type == PT_GNU_RELRO).map(|p| (p.p_vaddr, p.p_memsz));
    f(&PlanInput { segments: &segments, relro, file_size, page_size, padding })
}

/// Where the program headers are at run time: PT_PHDR, else the PT_LOAD
/// whose file range holds e_phoff.
fn phdr_vaddr(eh: &Ehdr, phdrs: &[Phdr]) -> Option<u64> {
    if let Some(p) = phdrs.iter().find(|p| p.p_type == PT_PHDR) {
        return Some(p.p_vaddr);
    }
    let size = (eh.e_phnum as usize * PHDR_SIZE) as u64;
    phdrs.iter().filter(|p| p.p_type == PT_LOAD).find_map(|p| {
        let inside = eh.e_phoff >= p.p_offset && eh.e_phoff.checked_add(size)? <= p.p_offset.checked_add(p.p_filesz)?;
        inside.then(|| p.p_vaddr + (eh.e_phoff - p.p_offset))
    })
}

/// Open `path` and map it with `padding` (as far as `guards` allows).
pub fn load(path: &CStr, page_size: u64, padding: Padding, guards: &GuardSupport) -> Result<Loaded, LoadError> {
    let file = file::open(path).map_err(LoadError::Open)?;
    let l = map_file(file, page_size, padding, guards)?;
    if crate::log::enabled(crate::log::Cat::Map) {
        crate::eprint!("guardld: mapped {}\n", crate::error::Bytes(path.to_bytes()));
    }
    Ok(l)
}

/// Map an open file with `padding`: Guard mode only while `guards` has not
/// seen the kernel refuse them. A refusal met here is recorded in `guards`
/// (so later objects are planned without guards) and this object is
/// mapped again from its ProtNone plan.
pub fn map_file(file: File, page_size: u64, padding: Padding, guards: &GuardSupport) -> Result<Loaded, LoadError> {
    let (ehdr, phdrs) = read_headers(&file)?;
    let mut plan = plan_for(&phdrs, file.size, page_size, guards.effective(padding)).map_err(LoadError::Plan)?;
    let phv = phdr_vaddr(&ehdr, &phdrs).ok_or(LoadError::PhdrsNotLoaded)?;
    // The program headers must lie in the mapped span, or AT_PHDR would point nowhere.
    if phv < plan.span_start || phv.checked_add((ehdr.e_phnum as usize * PHDR_SIZE) as u64).is_none_or(|e| e > plan.span_start + plan.span_len) {
        return Err(LoadError::PhdrsNotLoaded);
    }
    let fixed = ehdr.e_type == header::ET_EXEC;
    let m = loop {
        match exec::execute(&plan, file.fd.as_fd(), fixed, guards.batch()) {
            Ok(m) => {
                guards.record(m.guards);
                break m;
            }
            Err(exec::MapError::GuardsRefused(e)) if plan.mode == Padding::Guard => {
                // Nothing is mapped; the same layout without guards (same
                // span and checks, so it cannot be refused now).
                guards.record(map::GuardReport { refused: Some(e), no_batch: false });
                plan = plan_for(&phdrs, file.size, page_size, Padding::ProtNone).map_err(LoadError::Plan)?;
            }
            Err(e) => return Err(LoadError::Map(e)),
        }
    };
    if crate::log::enabled(crate::log::Cat::Map) {
        let mut w = crate::log::Stderr::new();
        let _ = writeln!(w, "guardld: mapping at {:#x}-{:#x} (bias {:#x}, padding {:?}{})",
            m.start, m.start + m.len, m.bias, plan.mode,
            if plan.mode != padding { ", fell back to PROT_NONE" } else { "" });
        for op in &plan.ops {
            let _ = writeln!(w, "guardld:   {:x?}", op);
        }
    }
    Ok(Loaded {
        phdr_addr: m.bias.wrapping_add(phv as usize),
        bias: m.bias,
        span: m.into_span(),
        padding: plan.mode,
        file,
        ehdr,
        phdrs,
        plan,
    })
}
