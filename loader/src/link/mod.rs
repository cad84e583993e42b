//! Stages 4-8: dynamic linking, as one link session (`session.rs`) that
//! start-up and dlopen both run: the dependency closure (4, `deps.rs`),
//! symbol versions (5, `versions.rs`), TLS (6, `tls.rs`), relocation and
//! RELRO (7, `reloc.rs`), the initializer list (8, `init.rs`). Errors are
//! reported as they are found and counted; at the end of a stage with
//! errors the session fails: start-up exits 127, dlopen unloads what it
//! loaded. Nothing of the program runs after an error.

pub mod deps;
pub mod dso;
pub mod index;
/// Every call into an object's code (initializers, finalizers, IFUNC resolvers).
pub mod init;
pub mod lookup;
pub mod reloc;
pub mod search;
pub mod session;
pub mod versions;

use crate::error::Bytes;
use crate::sys::lock::SpinLock;
use alloc::boxed::Box;
use alloc::vec::Vec;
use dso::Dso;

/// What lasts between link sessions: the process's objects, the global
/// scope, the initializer order and the name index. Scratch state of one
/// start-up or dlopen lives in a `session::Session`.
pub struct Registry {
    /// Objects by index, in load order: the program, guardld, preloads,
    /// then dependencies breadth-first, then dlopen'd objects. An unloaded
    /// object's slot is None (indices stay stable); dropping its record
    /// unmaps its memory, so no view into it survives.
    /// Boxed: a record is large, and growing the list moved every one
    /// (page faults and copies for each doubling with hundreds of objects).
    objects: Vec<Option<Box<Dso>>>,
    /// The indices of the live objects, ascending (load order): walks cost
    /// the live objects, not every slot a long run of dlopen/dlclose left.
    live: Vec<usize>,
    /// The global scope (indices), in lookup order; guardld stays last.
    pub scope: Vec<usize>,
    /// Objects in the order their initializers ran (finalizers run reversed).
    pub init_order: Vec<usize>,
    pub fini_done: bool,
    /// Symbol index of the global scope (rebuilt when the scope changes).
    index: Option<index::SymbolIndex>,
    /// Bumped whenever `scope` changes, so a stale index is never used.
    generation: u64,
    /// Loaded objects by identity and name.
    pub known: deps::Known,
    /// glibc's table of STB_GNU_UNIQUE definitions (`_ns_unique_sym_table`):
    /// the first one a lookup finds for a name is the process's, whatever
    /// scope a later lookup searches (C++ inline statics shared by
    /// RTLD_LOCAL plugins). Interior: lookups borrow the registry shared.
    unique: core::cell::RefCell<alloc::collections::BTreeMap<Vec<u8>, lookup::Def>>,
}

impl Registry {
    pub const fn new() -> Self {
        Registry { objects: Vec::new(), live: Vec::new(), scope: Vec::new(), init_order: Vec::new(), fini_done: false, index: None, generation: 0, known: deps::Known::new(), unique: core::cell::RefCell::new(alloc::collections::BTreeMap::new()) }
    }

    /// The definition a lookup of `name` that found `def` binds to: `def`,
    /// unless it is STB_GNU_UNIQUE, then the first unique definition of
    /// that name any lookup found (glibc's `do_lookup_unique`).
    pub fn unique(&self, name: &[u8], def: lookup::Def) -> lookup::Def {
        if def.sym.bind() != crate::elf::symbols::STB_GNU_UNIQUE {
            return def;
        }
        let mut table = self.unique.borrow_mut();
        if let Some(first) = table.get(name) {
            return *first;
        }
        table.insert(name.to_vec(), def);
        def
    }

    /// Add an object; returns its index.
    pub fn push(&mut self, d: Dso) -> usize {
        self.objects.push(Some(Box::new(d)));
        self.live.push(self.objects.len() - 1);
        self.objects.len() - 1
    }

    /// Index object `i` by identity and name, so it is loaded only once.
    pub fn remember(&mut self, i: usize) {
        if let Some(d) = self.objects.get(i).and_then(Option::as_deref) {
            self.known.add(d, i);
        }
    }

    /// Number of slots (live or unloaded): the next object's index.
    pub fn slots(&self) -> usize {
        self.objects.len()
    }

    pub fn get(&self, i: usize) -> Option<&Dso> {
        self.objects.get(i).and_then(Option::as_deref)
    }

    pub fn get_mut(&mut self, i: usize) -> Option<&mut Dso> {
        self.objects.get_mut(i).and_then(Option::as_deref_mut)
    }

    /// The live objects from slot `first` on (a session's own), in load order.
    pub fn iter_from(&self, first: usize) -> impl Iterator<Item = (usize, &Dso)> {
        let k = self.live.partition_point(|&i| i < first);
        self.live[k..].iter().filter_map(|&i| Some((i, self.objects.get(i)?.as_deref()?)))
    }

    /// Live objects with their indices, in load order.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &Dso)> {
        self.live.iter().filter_map(|&i| Some((i, self.objects.get(i)?.as_deref()?)))
    }

    /// The first live object satisfying `f`.
    pub fn position(&self, f: impl Fn(&Dso) -> bool) -> Option<usize> {
        self.iter().find(|(_, d)| f(d)).map(|(i, _)| i)
    }

    pub fn program(&self) -> Option<usize> {
        self.position(Dso::is_program)
    }

    pub fn loader(&self) -> Option<usize> {
        self.position(Dso::is_loader)
    }

    /// A binding of `undef` (a relocation, a lazy binding, dlsym with
    /// RTLD_DEFAULT called from it) to a definition in `def`: an object a
    /// dlopen loaded must outlive it, as glibc's `add_dependency` makes
    /// sure. Nothing to do when `def` is `undef`, was not dlopen'd, is
    /// NODELETE, is among `undef`'s dependencies or is held already. An
    /// object that is never unloaded (the program, start-up objects,
    /// NODELETE ones) makes `def` NODELETE; a dlopen'd one lists it in its
    /// `reldeps`, and `runtime::close_object` keeps `def` (and what it
    /// needs) while `undef` is kept.
    pub fn add_dependency(&mut self, undef: usize, def: usize) -> Pin {
        let (Some(u), Some(d)) = (self.get(undef), self.get(def)) else { return Pin::Nothing };
        if undef == def || !d.by_dlopen() || d.dyn_.nodelete || u.reldeps.contains(&def) {
            return Pin::Nothing;
        }
        if self.closure(undef).contains(def) {
            return Pin::Nothing;
        }
        if !self[undef].by_dlopen() || self[undef].dyn_.nodelete {
            self[def].dyn_.nodelete = true;
            return Pin::NoDelete;
        }
        self[undef].reldeps.push(def);
        Pin::RelDep
    }

    /// Drop object `i`'s record (unmapping what guardld mapped for it) and
    /// every reference the registry holds to it.
    pub fn unload(&mut self, i: usize) {
        let Some(d) = self.objects.get_mut(i).and_then(Option::take) else { return };
        if let Ok(k) = self.live.binary_search(&i) {
            self.live.remove(k);
        }
        // A live object first loaded by this one no longer has it as the
        // start of its RPATH chain.
        for &k in &self.live {
            if let Some(o) = self.objects[k].as_deref_mut()
                && o.needed_by == Some(i)
            {
                o.needed_by = None;
            }
        }
        // The symbol index holds names inside objects' memory: it goes
        // with any object it may describe (rebuilt on the next lookup).
        self.index = None;
        if let Some(t) = d.tls_slot {
            crate::tls::remove_module(t.modid);
        }
        self.known.remove(i);
        if let Some(p) = self.scope.iter().position(|&k| k == i) {
            self.scope.remove(p);
            self.generation += 1;
        }
        self.init_order.retain(|&k| k != i);
        self.unique.borrow_mut().retain(|_, def| def.dso != i);
        drop(d);
    }

    /// Insert `i` into the global scope before guardld (which stays last).
    pub fn add_to_scope(&mut self, i: usize) {
        if self.scope.contains(&i) {
            return;
        }
        let at = self.scope.iter().position(|&s| self[s].is_loader()).unwrap_or(self.scope.len());
        self.scope.insert(at, i);
        self.generation += 1;
    }

    /// Replace the global scope.
    pub fn set_scope(&mut self, scope: Vec<usize>) {
        self.scope = scope;
        self.generation += 1;
    }

    /// (Re)build the symbol index if the global scope changed and it pays:
    /// `lookups` (an upper bound of the references about to be resolved)
    /// walking the scope object by object must cost more than indexing
    /// every export. A few libraries (a coreutil) are resolved faster
    /// without it; hundreds are not.
    pub fn refresh_index(&mut self, lookups: usize, policy: index::Policy) {
        if self.index.as_ref().is_some_and(|x| x.generation == self.generation) {
            return;
        }
        let exports: usize = self.scope.iter().map(|&i| self[i].syms.export_bound().min(index::BIG)).sum();
        let pays = lookups.saturating_mul(self.scope.len()) > exports.saturating_mul(index::WALK_PER_EXPORT);
        if policy == index::Policy::Always || (policy == index::Policy::Auto && pays) {
            self.index = Some(index::SymbolIndex::build(self, &self.scope, self.generation));
            crate::stats::count(&crate::stats::INDEXED);
        }
    }

    /// Whether object `i`'s own exported symbol `symidx` is the only
    /// definition of its name the current global index holds, with no
    /// unindexed object before `i` (`SymbolIndex::sole`).
    pub fn sole_definition(&self, i: usize, symidx: usize) -> bool {
        matches!(&self.index, Some(x) if x.generation == self.generation && x.sole(i, symidx))
    }

    /// Resolve a reference against the global scope (through the index
    /// when it is current, else by walking the scope), then `local`.
    pub fn lookup_global(&self, name: &[u8], ver: Option<&crate::elf::symbols::Version<'_>>, q: lookup::Query, local: &[usize]) -> Option<lookup::Def> {
        if q.deep
            && let Some(d) = lookup::lookup(self, local, name, ver, q)
        {
            return Some(d);
        }
        match &self.index {
            Some(x) if x.generation == self.generation => x.lookup(self, name, ver, q),
            _ => lookup::lookup(self, &self.scope, name, ver, q),
        }
        .or_else(|| lookup::lookup(self, local, name, ver, q))
    }

    /// An object and everything it needs, breadth-first.
    pub fn closure(&self, root: usize) -> deps::Bfs {
        let mut c = deps::Bfs::new();
        c.add(root);
        self.close_over(&mut c, false);
        c
    }

    /// Add to `c` everything its objects need, breadth-first: their
    /// DT_NEEDED dependencies, and with `reldeps` their relocation
    /// dependencies too (dlclose's mark).
    pub fn close_over(&self, c: &mut deps::Bfs, reldeps: bool) {
        let mut k = 0;
        while k < c.list.len() {
            let d = &self[c.list[k]];
            k += 1;
            let rel: &[usize] = if reldeps { &d.reldeps } else { &[] };
            for &j in d.deps.iter().flatten().chain(rel) {
                c.add(j);
            }
        }
    }
}

/// What `Registry::add_dependency` did to keep a definition's object.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Pin {
    Nothing,
    /// The object became NODELETE.
    NoDelete,
    /// The referring object holds a reference on it.
    RelDep,
}

impl core::ops::Index<usize> for Registry {
    type Output = Dso;
    /// Object `i`; indices come from the registry's own lists, which drop
    /// an object's index when it is unloaded.
    fn index(&self, i: usize) -> &Dso {
        match self.get(i) {
            Some(d) => d,
            None => panic!("object {i} is not loaded"),
        }
    }
}

impl core::ops::IndexMut<usize> for Registry {
    fn index_mut(&mut self, i: usize) -> &mut Dso {
        match self.get_mut(i) {
            Some(d) => d,
            None => panic!("object {i} is not loaded"),
        }
    }
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

/// The process-wide linker state: the registry and how to find objects.
pub struct Linker {
    pub reg: Registry,
    /// Set by start-up, used by every later dlopen.
    pub config: Option<deps::LoadConfig>,
}

/// The linker state (the finalizer and the runtime API need it after
/// start-up).
pub static LINKER: SpinLock<Linker> = SpinLock::new(Linker { reg: Registry::new(), config: None });

/// Error collection: every problem is printed as `guardld: <file>: <reason>`
/// when found; the caller exits 127 at the end of the stage if any was.
#[derive(Default)]
pub struct Errors {
    pub count: usize,
    /// dlopen collects the messages for dlerror instead of printing them.
    pub capture: Option<alloc::string::String>,
    /// The first error as (object, text), for glibc's dlerror, which
    /// reports only the first; `reword_first` gives it glibc's wording.
    pub first: Option<(Vec<u8>, alloc::string::String)>,
    /// The exit status start-up fails with, when not guardld's 127 (a
    /// glibc program's missing symbol version: glibc's ld.so exits 1).
    pub status: Option<i32>,
}

impl Errors {
    pub fn captured() -> Self {
        Errors { count: 0, capture: Some(alloc::string::String::new()), first: None, status: None }
    }

    pub fn report(&mut self, file: &[u8], reason: core::fmt::Arguments<'_>) {
        self.count += 1;
        crate::sys::signals::error_reported();
        if self.first.is_none() && self.capture.is_some() {
            self.first = Some((file.to_vec(), alloc::format!("{reason}")));
        }
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

    /// Give the error just reported, if it is the first, glibc's wording
    /// (object and text) for dlerror.
    pub fn reword_first(&mut self, obj: &[u8], text: &str) {
        if self.count == 1 && self.capture.is_some() {
            self.first = Some((obj.to_vec(), alloc::string::String::from(text)));
        }
    }

    /// Exit 127 if this stage found errors.
    pub fn check(&self) {
        if self.count > 0 {
            crate::sys::exit(crate::error::EXIT_FAILURE);
        }
    }
}

