//! Loading the dependency graph: preloads, then DT_NEEDED breadth-first,
//! each object once (by device+inode and by soname).

use super::dso::Dso;
use super::search::{self, Cache};
use super::{Errors, Linker};
use crate::error::Bytes;
use crate::map::Padding;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::ffi::CStr;

/// Names that mean "the dynamic loader": they resolve to guardld itself.
pub const LOADER_NAMES: &[&[u8]] = &[b"ld-linux-x86-64.so.2", b"ld-guardld.so.1"];

/// Settings for finding and mapping objects.
pub struct LoadConfig {
    pub page_size: u64,
    pub padding: Padding,
    /// LD_LIBRARY_PATH (or --library-path), already expanded.
    pub library_path: Vec<Vec<u8>>,
    pub secure: bool,
    /// /etc/ld.so.cache, opened the first time a search reaches it.
    pub cache: core::cell::OnceCell<Option<Cache>>,
}

/// Indices of already loaded objects by identity, so a dependency graph of
/// N objects costs O(N log N) checks, not O(N²).
#[derive(Default)]
pub struct Index {
    by_inode: BTreeMap<(u64, u64), usize>,
    by_name: BTreeMap<Vec<u8>, usize>,
}

impl Index {
    pub const fn new() -> Self {
        Index { by_inode: BTreeMap::new(), by_name: BTreeMap::new() }
    }

    /// An already loaded object known by this soname or load name.
    pub fn find(&self, name: &[u8]) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    /// Forget an unloaded object.
    pub fn remove(&mut self, i: usize) {
        self.by_inode.retain(|_, v| *v != i);
        self.by_name.retain(|_, v| *v != i);
    }

    pub fn add(&mut self, l: &Linker, i: usize) {
        let d = &l.dsos[i];
        if d.ino != 0 {
            self.by_inode.insert((d.dev, d.ino), i);
        }
        if let Some(s) = d.soname {
            self.by_name.entry(s.to_vec()).or_insert(i);
        }
    }
}

/// The directories to search for a NEEDED of object `req`, in glibc's order.
fn search_dirs(l: &Linker, req: usize, cfg: &LoadConfig) -> Vec<Vec<u8>> {
    let mut dirs = Vec::new();
    let r = &l.dsos[req];
    if r.dyn_.runpath.is_none() {
        // DT_RPATH of the requester, then of each object that loaded it.
        let mut at = Some(req);
        let mut guard = 0;
        while let Some(i) = at {
            let d = &l.dsos[i];
            if let Some(p) = d.dyn_.rpath.and_then(|o| d.string(o)) {
                search::split_path(p, d.origin.as_deref(), cfg.secure, &mut dirs);
            }
            at = d.loader;
            guard += 1;
            if guard > l.dsos.len() {
                break;
            }
        }
        // glibc also consults the executable's DT_RPATH last.
        if let Some(m) = l.dsos.iter().find(|d| d.is_main)
            && m.dyn_.runpath.is_none()
                && let Some(p) = m.dyn_.rpath.and_then(|o| m.string(o)) {
                    search::split_path(p, m.origin.as_deref(), cfg.secure, &mut dirs);
                }
    }
    dirs.extend(cfg.library_path.iter().cloned());
    if let Some(p) = r.dyn_.runpath.and_then(|o| r.string(o)) {
        search::split_path(p, r.origin.as_deref(), cfg.secure, &mut dirs);
    }
    dirs
}

/// Open and map one object by path; Ok(None) when the file does not exist
/// (the search goes on), Err when it exists but is unusable.
fn try_path(l: &mut Linker, idx: &mut Index, path: &[u8], cfg: &LoadConfig, errs: &mut Errors) -> Result<Option<usize>, ()> {
    let Ok(c) = CStr::from_bytes_with_nul(path) else { return Ok(None) };
    let file = match crate::sys::file::open(c) {
        Ok(f) => f,
        Err(crate::sys::file::OpenError::Errno(rustix::io::Errno::NOENT | rustix::io::Errno::NOTDIR)) => return Ok(None),
        Err(e) => {
            errs.report(&path[..path.len() - 1], format_args!("{}", e.reason()));
            return Err(());
        }
    };
    if let Some(&i) = idx.by_inode.get(&(file.dev, file.ino)) {
        return Ok(Some(i));
    }
    let shown = &path[..path.len() - 1];
    crate::sys::signals::working_on(shown);
    let loaded = match crate::load::map_file(file, cfg.page_size, cfg.padding) {
        Ok(x) => x,
        Err(e) => {
            errs.report(shown, format_args!("{e}"));
            return Err(());
        }
    };
    if loaded.ehdr.e_type != crate::elf::header::ET_DYN {
        errs.report(shown, format_args!("not a shared object (ELF type {})", loaded.ehdr.e_type));
        crate::load::unmap(&loaded);
        return Err(());
    }
    let mut d = match Dso::new(path.to_vec(), &loaded.phdrs, loaded.bias, loaded.phdr_addr, true) {
        Ok(d) => d,
        Err(e) => {
            errs.report(shown, format_args!("{e}"));
            crate::load::unmap(&loaded);
            return Err(());
        }
    };
    d.origin = Some(search::dirname(shown).to_vec());
    let start = loaded.start;
    d.adopt_mapping(loaded);
    let i = l.dsos.len();
    l.dsos.push(d);
    idx.add(l, i);
    crate::debug!(Libs, "loaded {} at {:#x}", Bytes(shown), start);
    Ok(Some(i))
}

/// Find and load `name` needed by object `req` (None for a preload).
pub fn load_needed(l: &mut Linker, idx: &mut Index, name: &[u8], req: Option<usize>, cfg: &LoadConfig, errs: &mut Errors) -> Option<usize> {
    if name.contains(&b'/') {
        let mut p = name.to_vec();
        p.push(0);
        return match try_path(l, idx, &p, cfg, errs) {
            Ok(Some(i)) => Some(i),
            Ok(None) => {
                errs.report(name, format_args!("cannot open shared object file: No such file or directory"));
                None
            }
            Err(()) => None,
        };
    }
    if LOADER_NAMES.contains(&name) {
        return l.dsos.iter().position(|d| d.is_self);
    }
    if let Some(&i) = idx.by_name.get(name) {
        return Some(i);
    }
    // Like glibc, an object also answers to the name it was first loaded by
    // (many libraries have no DT_SONAME).
    let found = search_and_load(l, idx, name, req, cfg, errs);
    if let Some(i) = found {
        idx.by_name.entry(name.to_vec()).or_insert(i);
    }
    found
}

fn search_and_load(l: &mut Linker, idx: &mut Index, name: &[u8], req: Option<usize>, cfg: &LoadConfig, errs: &mut Errors) -> Option<usize> {
    let mut dirs = match req {
        Some(r) => search_dirs(l, r, cfg),
        None => cfg.library_path.clone(),
    };
    let n_dirs = dirs.len();
    dirs.extend(search::DEFAULT_DIRS.iter().map(|d| d.to_vec()));
    let mut tried = 0;
    for (k, dir) in dirs.iter().enumerate() {
        // The cache is consulted between DT_RUNPATH and the default directories.
        if k == n_dirs {
            let cache = cfg.cache.get_or_init(crate::start::program::ld_so_cache);
            if let Some(p) = cache.as_ref().and_then(|c| c.lookup(name)) {
                let mut p = p.to_vec();
                p.push(0);
                match try_path(l, idx, &p, cfg, errs) {
                    Ok(Some(i)) => return Some(i),
                    Ok(None) => {}
                    Err(()) => return None,
                }
            }
        }
        tried += 1;
        let p = search::join(dir, name);
        match try_path(l, idx, &p, cfg, errs) {
            Ok(Some(i)) => return Some(i),
            Ok(None) => {}
            Err(()) => return None,
        }
    }
    let who = req.map_or(&b"LD_PRELOAD"[..], |r| l.dsos[r].name()).to_vec();
    let mut searched = alloc::string::String::new();
    for d in &dirs {
        use core::fmt::Write;
        let _ = write!(searched, " {}", Bytes(d));
    }
    errs.report(&who, format_args!("cannot find shared object {} (searched {} directories:{})", Bytes(name), tried, searched));
    None
}

/// A list of objects in breadth-first order with O(1) membership.
pub struct Bfs {
    pub list: Vec<usize>,
    member: Vec<bool>,
}

impl Bfs {
    pub fn new() -> Self {
        Bfs { list: Vec::new(), member: Vec::new() }
    }

    pub fn add(&mut self, i: usize) {
        if self.member.len() <= i {
            self.member.resize(i + 1, false);
        }
        if !self.member[i] {
            self.member[i] = true;
            self.list.push(i);
        }
    }

    /// Load the DT_NEEDED of every listed object, appending them, until the
    /// list is closed under dependencies. An object's `deps` are recorded
    /// once, the first time it is expanded.
    pub fn close(&mut self, l: &mut Linker, idx: &mut Index, cfg: &LoadConfig, errs: &mut Errors) {
        let mut next = 0;
        while next < self.list.len() {
            let req = self.list[next];
            next += 1;
            if l.dsos[req].deps_done {
                for k in 0..l.dsos[req].deps.len() {
                    let dep = l.dsos[req].deps[k];
                    self.add(dep);
                }
                continue;
            }
            l.dsos[req].deps_done = true;
            let needed: Vec<u64> = l.dsos[req].dyn_.needed.clone();
            for off in needed {
                let Some(name) = l.dsos[req].string(off) else {
                    let n = l.dsos[req].name().to_vec();
                    errs.report(&n, format_args!("DT_NEEDED name outside the string table"));
                    continue;
                };
                let before = l.dsos.len();
                if let Some(i) = load_needed(l, idx, name, Some(req), cfg, errs) {
                    if i >= before {
                        l.dsos[i].loader = Some(req);
                    }
                    l.dsos[req].deps.push(i);
                    self.add(i);
                }
            }
        }
    }
}

impl Default for Bfs {
    fn default() -> Self {
        Self::new()
    }
}

/// Load every preload and then every DT_NEEDED, breadth-first: the global
/// scope is the program, the preloads, then their dependencies.
pub fn load_all(l: &mut Linker, idx: &mut Index, preload: &[Vec<u8>], cfg: &LoadConfig, errs: &mut Errors) {
    for i in 0..l.dsos.len() {
        idx.add(l, i);
    }
    let mut scope = Bfs::new();
    for (i, d) in l.dsos.iter().enumerate() {
        if d.is_main {
            scope.add(i);
        }
    }
    // Preloads are searched as if the program needed them (as glibc does:
    // its RUNPATH/RPATH apply).
    let main = l.dsos.iter().position(|d| d.is_main);
    for p in preload {
        if let Some(i) = load_needed(l, idx, p, main, cfg, errs) {
            scope.add(i);
        }
    }
    scope.close(l, idx, cfg, errs);
    // guardld's exports (__tls_get_addr, the runtime API) are always
    // reachable, last in scope, as glibc's ld.so is for programs using libc.
    if let Some(me) = l.dsos.iter().position(|d| d.is_self) {
        scope.add(me);
    }
    l.scope = scope.list;
    l.generation += 1;
}
