//! One loaded object (the program, guardld itself, or a library) and what
//! the linker knows about it.

use crate::elf::dynamic::{self, DynInfo};
use crate::elf::header::{PT_DYNAMIC, PT_LOAD, PT_TLS};
use crate::elf::image::Image;
use crate::elf::pod::Phdr;
use crate::elf::symbols::Symbols;
use crate::map::{PF_R, PF_W, Padding, Plan};
use alloc::vec::Vec;

pub struct Dso {
    /// Path as opened (NUL-terminated), "" for the main program as PT_INTERP.
    pub path: Vec<u8>,
    /// Directory for $ORIGIN.
    pub origin: Option<Vec<u8>>,
    /// Name for messages when `path` is empty (the program, from AT_EXECFN).
    pub label: Option<Vec<u8>>,
    pub img: Image,
    pub dyn_: DynInfo,
    /// Runtime address of PT_DYNAMIC.
    pub dyn_addr: usize,
    pub syms: Symbols,
    pub phdr_addr: usize,
    pub phnum: usize,
    /// The span guardld mapped (start, len); the kernel's spans are not ours.
    pub span: (usize, usize),
    /// The mapping plan, kept for RELRO, padding reports and unmapping.
    pub plan: Option<Plan>,
    /// Range (link-time addr, len) made read-only after relocation.
    pub relro: Option<(u64, u64)>,
    pub guarded: bool,
    /// How its padding is covered (after any fallback); None: not guardld's to say.
    pub padding: Option<Padding>,
    pub dev: u64,
    pub ino: u64,
    pub soname: Option<&'static [u8]>,
    /// Indices of DT_NEEDED objects, in DT_NEEDED order.
    pub deps: Vec<usize>,
    /// `deps` has been filled (the object's DT_NEEDED were loaded).
    pub deps_done: bool,
    /// dlopen references (objects loaded at start-up are never unloaded).
    pub refcount: usize,
    /// Loaded by dlopen (a candidate for unloading).
    pub dynamic: bool,
    /// Finalized and unmapped by dlclose: a tombstone kept so indices stay valid.
    pub unloaded: bool,
    /// The object whose DT_NEEDED first loaded this one (RPATH chain).
    pub loader: Option<usize>,
    pub is_main: bool,
    /// guardld itself (already relocated; no init/fini).
    pub is_self: bool,
    pub relocated: bool,
    /// PT_TLS, if present.
    pub tls: Option<Phdr>,
    /// TLS module id (0: none) and static offset below the thread pointer.
    pub tls_modid: usize,
    pub tls_offset: usize,
}

/// Why an object's dynamic information is unusable.
pub enum DsoError {
    NoDynamic,
    Dyn(dynamic::DynError),
    Sym(crate::elf::symbols::SymError),
}

impl core::fmt::Display for DsoError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            DsoError::NoDynamic => f.write_str("no dynamic section"),
            DsoError::Dyn(e) => match e.table() {
                Some(t) => write!(f, "{} ({})", e.message(), t),
                None => f.write_str(e.message()),
            },
            DsoError::Sym(e) => f.write_str(e.message()),
        }
    }
}

/// Build the bounded memory view of an object from its program headers.
pub fn image_of(phdrs: &[Phdr], bias: usize) -> Image {
    // Only readable segments: a table in a segment mapped without PF_R
    // would fault when read.
    let loads = phdrs.iter().filter(|p| p.p_type == PT_LOAD && p.p_memsz > 0 && p.p_flags & PF_R != 0);
    Image {
        bias,
        segs: loads.clone().map(|p| (p.p_vaddr, p.p_memsz)).collect(),
        writable: loads.filter(|p| p.p_flags & PF_W != 0).map(|p| (p.p_vaddr, p.p_memsz)).collect(),
    }
}

impl Dso {
    /// Read the dynamic section and symbol tables of an object mapped at `bias`.
    /// `need_dynamic`: a library without PT_DYNAMIC is an error; a static
    /// program is fine.
    pub fn new(path: Vec<u8>, phdrs: &[Phdr], bias: usize, phdr_addr: usize, need_dynamic: bool) -> Result<Dso, DsoError> {
        let img = image_of(phdrs, bias);
        let pd = phdrs.iter().find(|p| p.p_type == PT_DYNAMIC);
        let (dyn_, dyn_addr) = match pd {
            Some(p) => (dynamic::parse(&img, p.p_vaddr, p.p_memsz).map_err(DsoError::Dyn)?, img.addr(p.p_vaddr)),
            None if need_dynamic => return Err(DsoError::NoDynamic),
            None => (DynInfo::default(), 0),
        };
        let syms = if pd.is_some() { Symbols::new(&img, &dyn_).map_err(DsoError::Sym)? } else { Symbols::empty() };
        let soname = dyn_.soname.and_then(|o| dynamic::string(&img, &dyn_, o));
        Ok(Dso {
            origin: None,
            label: None,
            path,
            dyn_addr,
            syms,
            phdr_addr,
            phnum: phdrs.len(),
            span: (0, 0),
            plan: None,
            relro: None,
            guarded: false,
            padding: None,
            dev: 0,
            ino: 0,
            soname,
            deps: Vec::new(),
            deps_done: false,
            refcount: 0,
            dynamic: false,
            unloaded: false,
            loader: None,
            is_main: false,
            is_self: false,
            relocated: false,
            tls: phdrs.iter().find(|p| p.p_type == PT_TLS).copied(),
            tls_modid: 0,
            tls_offset: 0,
            img,
            dyn_,
        })
    }

    /// Path without its NUL, for messages (the program's own name when the
    /// kernel started it: its link-map name is "", as glibc's).
    pub fn name(&self) -> &[u8] {
        let p = self.path.strip_suffix(b"\0").unwrap_or(&self.path);
        if !p.is_empty() {
            p
        } else if let Some(l) = &self.label {
            l
        } else {
            b"main program"
        }
    }

    /// A string from this object's string table.
    pub fn string(&self, off: u64) -> Option<&'static [u8]> {
        dynamic::string(&self.img, &self.dyn_, off)
    }

    /// Record the mapping guardld made for this object (its span, padding
    /// mode, identity, RELRO range and plan).
    pub fn adopt_mapping(&mut self, m: crate::load::Loaded) {
        self.span = (m.start, m.len);
        self.guarded = m.guarded;
        self.padding = Some(m.padding);
        self.dev = m.file.dev;
        self.ino = m.file.ino;
        self.relro = m.plan.relro;
        self.plan = Some(m.plan);
    }

    /// Whether `addr` lies inside one of this object's segments.
    pub fn contains(&self, addr: usize) -> bool {
        let off = addr.wrapping_sub(self.img.bias) as u64;
        self.img.segs.iter().any(|&(v, m)| off >= v && off < v.saturating_add(m))
    }

    /// The padding ranges (link-time addr, len) and how they are covered.
    pub fn padding_ranges(&self) -> Vec<(u64, u64, Padding)> {
        let Some(plan) = &self.plan else { return Vec::new() };
        let mode = self.padding.unwrap_or(Padding::ProtNone);
        plan.padding.iter().map(|&(a, l)| (a, l, mode)).collect()
    }

    /// Whether this object answers to the DT_NEEDED name `name`.
    pub fn matches_name(&self, name: &[u8]) -> bool {
        self.soname == Some(name) || self.name() == name
    }
}
