//! One loaded object (the program, guardld itself, or a library) and what
//! the linker knows about it.

use crate::elf::dynamic::{self, DynInfo};
use crate::elf::header::{PT_DYNAMIC, PT_LOAD, PT_TLS};
use crate::elf::image::Image;
use crate::elf::pod::Phdr;
use crate::elf::symbols::Symbols;
use crate::map::{PF_R, PF_W, PF_X, Padding, Plan};
use alloc::vec::Vec;

/// What an object is to the loader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The program (link-map name "", as glibc's).
    Program,
    /// guardld itself: mapped and relocated before anything else, no
    /// initializers, always last in the global scope.
    Loader,
    /// A shared library (DT_NEEDED, LD_PRELOAD or dlopen).
    Library,
}

/// Who mapped an object, and so who may unmap it.
pub enum Mapper {
    /// The kernel (the program as PT_INTERP, guardld itself). `filled`:
    /// the padding holes guardld covered, when it covered all of them.
    Kernel { filled: Option<Filled> },
    /// guardld: the span is unmapped (its guards with it) when the record
    /// is dropped.
    Guardld(Mapping),
}

/// How guardld covered the padding holes of a kernel-mapped object.
pub struct Filled {
    /// Boxed: records sit in one array, and most objects never read it.
    pub plan: alloc::boxed::Box<Plan>,
    pub padding: Padding,
}

/// An object's span as guardld mapped it.
pub struct Mapping {
    pub span: crate::map::exec::Span,
    /// Boxed: records sit in one array, and most objects never read it.
    pub plan: alloc::boxed::Box<Plan>,
    /// How the padding is covered (prot-none after a guard fallback).
    pub padding: Padding,
    /// Identity of the file (device, inode): an object is loaded once.
    pub dev: u64,
    pub ino: u64,
}

/// How far an object has come through the stages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Mapped, tables read; relocations not yet applied.
    Mapped,
    /// Relocated: its IFUNC resolvers may run.
    Relocated,
}

/// Who holds an object open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opened {
    /// Loaded at start-up: never unloaded.
    AtStartup,
    /// Loaded by dlopen: `refs` handles hold it; unloaded by the dlclose
    /// after which no handle and no kept object needs it
    /// (`runtime::close_object`).
    ByDlopen { refs: usize },
}

/// An object's TLS module: id (DTV index) and static offset below the
/// thread pointer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TlsSlot {
    pub modid: usize,
    pub offset: usize,
}

pub struct Dso {
    pub kind: Kind,
    /// Path as opened (NUL-terminated), "" for the program the kernel mapped.
    pub path: Vec<u8>,
    /// Directory for $ORIGIN.
    pub origin: Option<Vec<u8>>,
    /// Name for messages when `path` is empty (the program, from AT_EXECFN).
    pub label: Option<Vec<u8>>,
    pub mapper: Mapper,
    pub state: State,
    pub opened: Opened,
    /// Bounded view of the object's memory. The record owns the mapping
    /// (`Mapper::Guardld`), so no view outlives it.
    pub img: Image,
    pub dyn_: DynInfo,
    /// Runtime address of PT_DYNAMIC.
    pub dyn_addr: usize,
    pub syms: Symbols,
    pub phdr_addr: usize,
    pub phnum: usize,
    /// Range (link-time addr, len) made read-only after relocation.
    pub relro: Option<(u64, u64)>,
    pub soname: Option<&'static [u8]>,
    /// Indices of DT_NEEDED objects in DT_NEEDED order; None until they
    /// have been loaded.
    pub deps: Option<Vec<usize>>,
    /// The object whose DT_NEEDED first loaded this one (RPATH chain).
    pub needed_by: Option<usize>,
    /// dlopen'd objects outside its dependencies that this one's bindings
    /// reached (glibc's `l_reldeps`): kept while this object is
    /// (`Registry::add_dependency`, `runtime::close_object`).
    pub reldeps: Vec<usize>,
    /// Its finalizers were taken to run (at exit or by dlclose): they run
    /// once, and never after the object was unloaded.
    pub finalized: bool,
    /// PT_TLS, if present, and the module guardld gave it.
    pub tls: Option<Phdr>,
    pub tls_slot: Option<TlsSlot>,
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
        writable: loads.clone().filter(|p| p.p_flags & PF_W != 0).map(|p| (p.p_vaddr, p.p_memsz)).collect(),
        code: loads.filter(|p| p.p_flags & PF_X != 0).map(|p| (p.p_vaddr, p.p_memsz)).collect(),
    }
}

impl Dso {
    /// Read the dynamic section and symbol tables of an object mapped at `bias`.
    /// A library without PT_DYNAMIC is an error; a static program is fine.
    pub fn new(kind: Kind, path: Vec<u8>, phdrs: &[Phdr], bias: usize, phdr_addr: usize) -> Result<Dso, DsoError> {
        let need_dynamic = kind == Kind::Library;
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
            kind,
            origin: None,
            label: None,
            path,
            mapper: Mapper::Kernel { filled: None },
            state: if kind == Kind::Loader { State::Relocated } else { State::Mapped },
            opened: Opened::AtStartup,
            dyn_addr,
            syms,
            phdr_addr,
            phnum: phdrs.len(),
            relro: None,
            soname,
            deps: None,
            needed_by: None,
            reldeps: Vec::new(),
            finalized: false,
            tls: phdrs.iter().find(|p| p.p_type == PT_TLS).copied(),
            tls_slot: None,
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

    /// Take ownership of the mapping guardld made for this object (its
    /// span, padding mode, identity, RELRO range and plan).
    pub fn adopt_mapping(&mut self, m: crate::map::load::Loaded) {
        self.relro = m.plan.relro;
        self.mapper = Mapper::Guardld(Mapping { span: m.span, plan: alloc::boxed::Box::new(m.plan), padding: m.padding, dev: m.file.dev, ino: m.file.ino });
    }

    /// The plan and padding mode of the object's padding, where guardld
    /// covered it.
    fn padding_plan(&self) -> Option<(&Plan, Padding)> {
        match &self.mapper {
            Mapper::Guardld(m) => Some((&m.plan, m.padding)),
            Mapper::Kernel { filled: Some(f) } => Some((&f.plan, f.padding)),
            Mapper::Kernel { filled: None } => None,
        }
    }

    /// The span guardld mapped (start, len), if it mapped this object.
    pub fn span(&self) -> Option<(usize, usize)> {
        match &self.mapper {
            Mapper::Guardld(m) => Some((m.span.start(), m.span.len())),
            Mapper::Kernel { .. } => None,
        }
    }

    /// (device, inode) of the file guardld mapped.
    pub fn identity(&self) -> Option<(u64, u64)> {
        match &self.mapper {
            Mapper::Guardld(m) if m.ino != 0 => Some((m.dev, m.ino)),
            _ => None,
        }
    }

    pub fn is_program(&self) -> bool {
        self.kind == Kind::Program
    }

    pub fn is_loader(&self) -> bool {
        self.kind == Kind::Loader
    }

    pub fn by_dlopen(&self) -> bool {
        matches!(self.opened, Opened::ByDlopen { .. })
    }

    /// Where the object's first page is mapped (dladdr's dli_fbase).
    pub fn map_start(&self, page_size: u64) -> usize {
        match self.span() {
            Some((start, _)) => start,
            None => self.img.addr(self.img.segs.first().map_or(0, |s| s.0 & !(page_size - 1))),
        }
    }

    /// PT_INTERP's path, read through the bounded view.
    pub fn interp(&self) -> Option<&[u8]> {
        let at = self.phdr_addr.wrapping_sub(self.img.bias) as u64;
        let phdrs = self.img.table::<Phdr>(at, self.phnum as u64)?;
        let p = phdrs.iter().find(|p| p.p_type == crate::elf::header::PT_INTERP)?;
        let s = self.img.bytes(p.p_vaddr, p.p_filesz)?;
        s.split(|&c| c == 0).next()
    }

    /// Whether any of this object's RELA relocations (.rela.dyn, .rela.plt)
    /// has type `ty`.
    pub fn has_relocation(&self, ty: u32) -> bool {
        use crate::elf::pod::{RELA_SIZE, Rela};
        [self.dyn_.rela, self.dyn_.jmprel].iter().any(|t| self.img.table::<Rela>(t.addr, t.size / RELA_SIZE as u64).is_some_and(|r| r.iter().any(|r| r.kind() == ty)))
    }

    /// Whether `addr` lies inside one of this object's segments.
    pub fn contains(&self, addr: usize) -> bool {
        let off = addr.wrapping_sub(self.img.bias) as u64;
        self.img.segs.iter().any(|&(v, m)| off >= v && off < v.saturating_add(m))
    }

    /// The padding ranges (link-time addr, len) and how they are covered.
    pub fn padding_ranges(&self) -> Vec<(u64, u64, Padding)> {
        let Some((plan, mode)) = self.padding_plan() else { return Vec::new() };
        plan.padding.iter().map(|&(a, l)| (a, l, mode)).collect()
    }

    /// Whether this object answers to the DT_NEEDED name `name`.
    pub fn matches_name(&self, name: &[u8]) -> bool {
        self.soname == Some(name) || self.name() == name
    }
}
