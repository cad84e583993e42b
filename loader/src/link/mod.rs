//! Stage 3: dynamic linking. Load the dependency graph (breadth-first, each
//! object once), check symbol versions, relocate every object (dependencies
//! first), protect RELRO, then run initializers. Errors are reported as they
//! are found and counted; at the end of a stage with errors guardld exits 127
//! and nothing of the program runs.

pub mod deps;
pub mod dso;
pub mod index;
pub mod init;
pub mod lookup;
pub mod reloc;
pub mod search;
pub mod versions;

use crate::error::Bytes;
use crate::sys::lock::SpinLock;
use alloc::vec::Vec;
use dso::Dso;

/// Everything guardld knows about the process's objects.
pub struct Linker {
    /// Objects in load order: program, preloads, then dependencies
    /// breadth-first. guardld itself is among them when something NEEDs it.
    pub dsos: Vec<Dso>,
    /// The global scope (indices into `dsos`), in lookup order.
    pub scope: Vec<usize>,
    /// IFUNC relocations waiting for their resolver's object.
    pub deferred: Vec<reloc::Deferred>,
    /// Objects in the order their initializers ran (finalizers run reversed).
    pub init_order: Vec<usize>,
    pub fini_done: bool,
    /// Symbol index of the global scope (rebuilt when the scope changes).
    pub index: Option<index::Index>,
    /// Bumped whenever `scope` changes, so a stale index is never used.
    pub generation: u64,
    /// Loaded objects by identity and name (kept for dlopen).
    pub names: deps::Index,
    /// How to find and map objects (kept for dlopen).
    pub config: Option<deps::LoadConfig>,
    /// Extra scope searched after the global one: the local scope of an
    /// object being relocated by dlopen.
    pub local: Vec<usize>,
}

impl Linker {
    pub const fn new() -> Self {
        Linker { dsos: Vec::new(), scope: Vec::new(), deferred: Vec::new(), init_order: Vec::new(), fini_done: false, index: None, generation: 0, names: deps::Index::new(), config: None, local: Vec::new() }
    }
}

impl Linker {
    /// (Re)build the symbol index if the global scope changed.
    pub fn refresh_index(&mut self) {
        if self.index.as_ref().is_none_or(|x| x.generation != self.generation) {
            self.index = Some(index::Index::build(&self.dsos, &self.scope, self.generation));
        }
    }

    /// Resolve a reference against the global scope: through the index
    /// when it is current, else by walking the scope.
    pub fn lookup_global(&self, name: &[u8], ver: Option<&crate::elf::symbols::Version<'_>>, q: lookup::Query) -> Option<lookup::Def> {
        match &self.index {
            Some(x) if x.generation == self.generation => x.lookup(&self.dsos, name, ver, q),
            _ => lookup::lookup(&self.dsos, &self.scope, name, ver, q),
        }
        .or_else(|| lookup::lookup(&self.dsos, &self.local, name, ver, q))
    }
}

impl Default for Linker {
    fn default() -> Self {
        Self::new()
    }
}

/// The process-wide linker state (the finalizer and runtime API need it).
pub static LINKER: SpinLock<Linker> = SpinLock::new(Linker::new());

/// Error collection: every problem is printed as `guardld: <file>: <reason>`
/// when found; the caller exits 127 at the end of the stage if any was.
#[derive(Default)]
pub struct Errors {
    pub count: usize,
    /// dlopen collects the messages for dlerror instead of printing them.
    pub capture: Option<alloc::string::String>,
}

impl Errors {
    pub fn captured() -> Self {
        Errors { count: 0, capture: Some(alloc::string::String::new()) }
    }

    pub fn report(&mut self, file: &[u8], reason: core::fmt::Arguments<'_>) {
        self.count += 1;
        match &mut self.capture {
            Some(s) => {
                use core::fmt::Write;
                if !s.is_empty() {
                    s.push_str("; ");
                }
                let _ = write!(s, "{}: {}", Bytes(file), reason);
            }
            None => crate::eprint!("guardld: {}: {}\n", Bytes(file), reason),
        }
    }

    /// Exit 127 if this stage found errors.
    pub fn check(&self) {
        if self.count > 0 {
            crate::sys::exit(crate::error::EXIT_FAILURE);
        }
    }
}

/// Relocate every object except guardld, dependencies before dependents
/// (reverse load order, the program last, as glibc), then protect RELRO.
pub fn relocate_all(l: &mut Linker, errs: &mut Errors) {
    l.refresh_index();
    let mut objs = Vec::with_capacity(l.dsos.len());
    for (i, d) in l.dsos.iter_mut().enumerate() {
        if d.is_self {
            d.relocated = true;
        } else {
            objs.push(i);
        }
    }
    relocate_objects(l, &objs, errs);
    protect_relro(l, &objs, errs);
}

/// Relocate `objs` (given in load order) in reverse, dependencies first;
/// IFUNC relocations run once their resolver's object is relocated, and
/// none once an error was found (no object code runs after a failure).
pub fn relocate_objects(l: &mut Linker, objs: &[usize], errs: &mut Errors) {
    for &i in objs.iter().rev() {
        crate::debug!(Reloc, "relocating {}", Bytes(l.dsos[i].name()));
        reloc::relocate(l, i, errs);
        l.dsos[i].relocated = true;
        if errs.count == 0 {
            reloc::run_deferred(l, false, errs);
        }
    }
    if errs.count == 0 {
        reloc::run_deferred(l, true, errs);
    }
    l.deferred.clear();
}

/// Make the RELRO range of each of `objs` read-only.
pub fn protect_relro(l: &Linker, objs: &[usize], errs: &mut Errors) {
    for &i in objs {
        let d = &l.dsos[i];
        if let Err(e) = crate::map::exec::protect_relro(d.relro, d.img.bias) {
            let mut msg = alloc::string::String::new();
            let _ = e.describe(&mut msg);
            errs.report(d.name(), format_args!("{msg}"));
        }
    }
}
