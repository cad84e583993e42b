//! Stage 4: loading the dependency closure: preloads, then DT_NEEDED breadth-first,
//! each object once (by device+inode and by soname).

use crate::elf::header::HeaderError;
use super::Registry;
use super::dso::{Dso, Kind};
use super::search::{self, Cache};
use super::session::Session;
use crate::error::Bytes;
use crate::map::Padding;
use alloc::vec::Vec;
use core::ffi::CStr;

/// Names that mean "the dynamic loader": they resolve to guardld itself.
pub const LOADER_NAMES: &[&[u8]] = &[b"ld-linux-x86-64.so.2", b"ld-guardld.so.1"];

/// A C library whose loader must link the program: glibc's libc.so.6 talks
/// to glibc's ld.so through private structures; musl's libc.so is its own
/// dynamic loader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Foreign {
    Glibc,
    Musl,
}

impl Foreign {
    /// The C library a DT_NEEDED name is, if foreign.
    pub fn of_needed(name: &[u8]) -> Option<Foreign> {
        match name {
            b"libc.so.6" => Some(Foreign::Glibc),
            b"libc.musl-x86_64.so.1" => Some(Foreign::Musl),
            _ => None,
        }
    }

    /// The C library a PT_INTERP names, if foreign (`/lib/ld-musl-*`).
    pub fn of_interp(path: &[u8]) -> Option<Foreign> {
        let name = path.rsplit(|&c| c == b'/').next()?;
        name.starts_with(b"ld-musl-").then_some(Foreign::Musl)
    }
}

/// Settings for finding and mapping objects.
pub struct LoadConfig {
    pub page_size: u64,
    pub padding: Padding,
    /// What the process has learnt about guard regions (map::GuardSupport):
    /// start-up creates it, every map_file reads and updates it.
    pub guards: crate::map::GuardSupport,
    /// LD_LIBRARY_PATH (or --library-path), already expanded.
    pub library_path: Vec<Vec<u8>>,
    pub secure: bool,
    /// /etc/ld.so.cache, opened the first time a search reaches it.
    pub cache: core::cell::OnceCell<Option<Cache>>,
    /// `--glibc native`: glibc's libc.so.6 is loaded, not handed over; its
    /// build is checked once loaded (session.rs), an unknown one handed over.
    pub glibc_native: bool,
    /// GUARDLD_INDEX.
    pub index: super::index::Policy,
    /// A glibc program run natively: glibc's capability subdirectories
    /// (glibc-hwcaps/x86-64-v3/, tls/, ...) are searched in each directory
    /// first, as glibc's ld.so does.
    pub hwcaps: Option<crate::glibc::hwcaps::Search>,
    /// A glibc program run natively: as glibc's ld.so, a preload that
    /// cannot be loaded is skipped with glibc's message, version
    /// requirements the providers cannot tell are warned about, and a
    /// missing version stops start-up with exit status 1 (guardld's own
    /// programs stop at either with exit 127).
    pub glibc_program: bool,
}

/// One preloaded object and where it was named (glibc's words: the
/// `LD_PRELOAD` variable or the `--preload` option).
pub struct Preload {
    pub name: Vec<u8>,
    pub from: &'static str,
}

/// Indices of already loaded objects by identity and name, so a dependency
/// graph of N objects costs O(N log N) checks, not O(N²).
#[derive(Default)]
pub struct Known {
    by_inode: Map<(u64, u64), usize>,
    by_name: Map<Vec<u8>, usize>,
}

/// A hash map on FNV-1a: its keys are short names and (device, inode)
/// pairs, and adding or finding an object is then one hash and a probe
/// (a B-tree compared names along its height, some 0.4 µs an object).
pub type Map<K, V> = hashbrown::HashMap<K, V, core::hash::BuildHasherDefault<Fnv>>;

pub struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl core::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x100_0000_01b3);
        }
    }
}

impl Known {
    pub const fn new() -> Self {
        Known { by_inode: Map::with_hasher(core::hash::BuildHasherDefault::new()), by_name: Map::with_hasher(core::hash::BuildHasherDefault::new()) }
    }

    /// An already loaded object known by this soname or load name.
    pub fn find(&self, name: &[u8]) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    /// Name `name` object `i` too, unless it names one already.
    pub fn name(&mut self, name: &[u8], i: usize) {
        if !self.by_name.contains_key(name) {
            self.by_name.insert(name.to_vec(), i);
        }
    }

    /// Forget an unloaded object.
    pub fn remove(&mut self, i: usize) {
        self.by_inode.retain(|_, v| *v != i);
        self.by_name.retain(|_, v| *v != i);
    }

    pub fn add(&mut self, d: &Dso, i: usize) {
        if let Some(id) = d.identity() {
            self.by_inode.insert(id, i);
        }
        if let Some(s) = d.soname {
            self.name(s, i);
        }
    }
}

/// The directories to search for a NEEDED of object `req`, in glibc's order.
fn search_dirs(reg: &Registry, req: usize, cfg: &LoadConfig) -> Vec<Vec<u8>> {
    let mut dirs = Vec::new();
    let r = &reg[req];
    if r.dyn_.runpath.is_none() {
        // DT_RPATH of the requester, then of each object that loaded it.
        let mut at = Some(req);
        let mut guard = 0;
        while let Some(i) = at {
            let d = &reg[i];
            if let Some(p) = d.dyn_.rpath.and_then(|o| d.string(o)) {
                search::split_path(p, d.origin.as_deref(), cfg.secure, &mut dirs);
            }
            at = d.needed_by;
            guard += 1;
            if guard > reg.slots() {
                break;
            }
        }
        // glibc also consults the executable's DT_RPATH last.
        if let Some(m) = reg.program().map(|m| &reg[m])
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

/// What a search has passed over: glibc's `found_other_class`, for the
/// message when nothing usable is found.
#[derive(Default)]
struct Passed {
    other_class: bool,
    /// The last open error, unless it was "no such file" (glibc reports
    /// the last errno when nothing is found).
    errno: Option<rustix::io::Errno>,
}

/// The directories a session searches often, held open: a library found
/// in one is opened relative to it (`file::open_in`), which spares the
/// kernel the walk of the directory's own path (0.4 µs an open for a
/// five-component directory). A directory is opened at its second use, so
/// a search that passes through once costs nothing more; the descriptors
/// close with the session.
#[derive(Default)]
pub struct Dirs {
    held: Vec<(Vec<u8>, u32, Option<rustix::fd::OwnedFd>)>,
}

impl Dirs {
    /// Take `dir`'s descriptor out (to be given back with `put`), opening
    /// it if this is its second use.
    fn take(&mut self, dir: &[u8]) -> Option<rustix::fd::OwnedFd> {
        let k = match self.held.iter().position(|h| h.0 == dir) {
            Some(k) => k,
            None => {
                self.held.push((dir.to_vec(), 0, None));
                self.held.len() - 1
            }
        };
        let h = &mut self.held[k];
        h.1 += 1;
        if h.1 == 2 {
            let mut p = dir.to_vec();
            p.push(0);
            h.2 = CStr::from_bytes_with_nul(&p).ok().and_then(crate::sys::file::open_dir);
        }
        h.2.take()
    }

    fn put(&mut self, dir: &[u8], fd: Option<rustix::fd::OwnedFd>) {
        if let Some(h) = self.held.iter_mut().find(|h| h.0 == dir) {
            h.2 = fd;
        }
    }
}

/// `try_path` of `name` in search directory `dir` (`path` is the two
/// joined), through the directory's descriptor when the session holds one.
fn try_in_dir(reg: &mut Registry, s: &mut Session, dir: &[u8], name: &[u8], path: &[u8], passed: Option<&mut Passed>) -> Result<Option<usize>, ()> {
    let fd = s.dirs.take(dir);
    // The name, NUL-terminated: the joined path's tail.
    let n = path.len().checked_sub(name.len() + 1).and_then(|k| CStr::from_bytes_with_nul(&path[k..]).ok());
    let at = fd.as_ref().zip(n).map(|(fd, n)| (rustix::fd::AsFd::as_fd(fd), n));
    let r = try_path_at(reg, s, path, at, passed);
    s.dirs.put(dir, fd);
    r
}

/// Open and map one object by path; Ok(None) when the file does not exist
/// (the search goes on), Err when it exists but is unusable. While
/// searching (`passed` given) a file for another machine or ELF class, or
/// one this user may not open, is passed over as glibc's `open_path` does
/// (a multilib directory on LD_LIBRARY_PATH must not stop the search).
fn try_path(reg: &mut Registry, s: &mut Session, path: &[u8], passed: Option<&mut Passed>) -> Result<Option<usize>, ()> {
    try_path_at(reg, s, path, None, passed)
}

/// `try_path`, the file opened relative to `at`'s directory (the name)
/// when given.
fn try_path_at(reg: &mut Registry, s: &mut Session, path: &[u8], at: Option<(rustix::fd::BorrowedFd<'_>, &CStr)>, passed: Option<&mut Passed>) -> Result<Option<usize>, ()> {
    let Ok(c) = CStr::from_bytes_with_nul(path) else { return Ok(None) };
    use crate::sys::file::OpenError;
    use rustix::io::Errno;
    let mut passed = passed;
    let opened = match at {
        Some((dir, name)) => crate::sys::file::open_in(dir, name),
        None => crate::sys::file::open(c),
    };
    let file = match opened {
        Ok(f) => f,
        // A search goes on past any open failure (glibc stops that list of
        // directories and tries the next); the last errno is the one
        // reported if nothing is found.
        Err(OpenError::Errno(e)) if let Some(p) = passed.as_deref_mut() => {
            p.errno = (e != Errno::NOENT).then_some(e);
            return Ok(None);
        }
        Err(OpenError::Errno(Errno::NOENT)) => return Ok(None),
        // glibc's words: "cannot open shared object file: <errno text>".
        Err(OpenError::Errno(e)) => {
            s.errors.report(&path[..path.len() - 1], format_args!("cannot open shared object file: {}", crate::sys::file::errno_text(e)));
            return Err(());
        }
        Err(e) => {
            s.errors.report(&path[..path.len() - 1], format_args!("{}", e.reason()));
            return Err(());
        }
    };
    let shown = &path[..path.len() - 1];
    if let Some(&i) = reg.known.by_inode.get(&(file.dev, file.ino)) {
        // The program's own file named again (a preload, a dlopen): glibc
        // does not take the running program as a library, and refuses a
        // PIE (as it does when the program's file is not known to it).
        // (RTLD_NOLOAD then finds nothing loaded.)
        if reg[i].is_program() && reg[i].dyn_.pie {
            if !s.noload {
                s.errors.report(shown, format_args!("cannot dynamically load position-independent executable"));
            }
            return Err(());
        }
        return Ok(Some(i));
    }
    if s.noload {
        // Found, and not loaded: RTLD_NOLOAD ends here, without an error
        // once the headers passed glibc's checks.
        return match crate::map::load::read_headers(&file) {
            Ok(_) => Err(()),
            Err(e) => refused(s, shown, e, passed),
        };
    }
    crate::sys::signals::working_on(shown);
    let loaded = match crate::map::load::map_file(file, s.cfg.page_size, s.cfg.padding, &s.cfg.guards) {
        Ok(x) => x,
        Err(e) => return refused(s, shown, e, passed),
    };
    if loaded.ehdr.e_type != crate::elf::header::ET_DYN {
        // glibc's text (elf/dl-load.c); other types fail the header check.
        s.errors.report(shown, format_args!("cannot dynamically load executable"));
        return Err(());
    }
    let mut d = match Dso::new(Kind::Library, path.to_vec(), &loaded.phdrs, loaded.bias, loaded.phdr_addr) {
        Ok(d) => d,
        Err(e) => {
            s.errors.report(shown, format_args!("{e}"));
                return Err(());
        }
    };
    // As glibc's _dl_map_object_from_fd: a PIE is loaded only as the
    // program, and a DF_1_NOOPEN object not by dlopen.
    if d.dyn_.pie {
        s.errors.report(shown, format_args!("cannot dynamically load position-independent executable"));
        return Err(());
    }
    if d.dyn_.noopen && matches!(s.opened(), super::dso::Opened::ByDlopen { .. }) {
        s.errors.report(shown, format_args!("shared object cannot be dlopen()ed"));
        return Err(());
    }
    // Absolute, as glibc's `l_origin`: $ORIGIN keeps naming this
    // directory after the program changes its current one.
    d.origin = Some(search::origin_dir(shown, search::session_cwd).unwrap_or_else(|| search::dirname(shown).to_vec()));
    d.opened = s.opened();
    let start = loaded.span.start();
    d.adopt_mapping(loaded);
    let i = reg.push(d);
    reg.remember(i);
    crate::debug!(Libs, "loaded {} at {:#x}", Bytes(shown), start);
    Ok(Some(i))
}

/// `try_path` for a file that cannot be loaded: a search passes over one
/// for another ELF class or machine (glibc's open_verify then leaves
/// errno ENOENT); anything else is reported and ends the search.
fn refused(s: &mut Session, shown: &[u8], e: crate::map::load::LoadError, passed: Option<&mut Passed>) -> Result<Option<usize>, ()> {
    use crate::map::load::LoadError;
    match (e, passed) {
        (LoadError::Header(h @ (HeaderError::WrongClass | HeaderError::WrongMachine)), Some(p)) => {
            crate::debug!(Libs, "passing over {}: {}", Bytes(shown), h.message());
            p.other_class |= h == HeaderError::WrongClass;
            p.errno = None;
            Ok(None)
        }
        (LoadError::Header(h), _) => {
            report_header(s, shown, h);
            Err(())
        }
        (e, _) => {
            s.errors.report(shown, format_args!("{e}"));
            Err(())
        }
    }
}

/// A bad header of the object at `shown`; a glibc program's dlerror has
/// glibc's text.
fn report_header(s: &mut Session, shown: &[u8], h: HeaderError) {
    let text = if s.cfg.glibc_program { h.glibc_text() } else { h.message() };
    s.errors.report(shown, format_args!("{text}"));
}

/// Find and load `name` needed by object `req` (None for a preload).
pub fn load_needed(reg: &mut Registry, s: &mut Session, name: &[u8], req: Option<usize>) -> Option<usize> {
    // A glibc or musl program: not guardld's to link (the caller hands it
    // over). An object importing glibc's private loader interface
    // (GLIBC_PRIVATE of ld-linux-x86-64.so.2) is glibc's too; public
    // versions (__tls_get_addr@GLIBC_2.3) are guardld's to provide.
    let who = || req.map_or(b"LD_PRELOAD".to_vec(), |r| reg[r].name().to_vec());
    let native = s.cfg.glibc_native;
    if let Some(f) = Foreign::of_needed(name).filter(|&f| !(native && f == Foreign::Glibc)) {
        s.foreign.get_or_insert((f, who()));
        return None;
    }
    if name == b"ld-linux-x86-64.so.2"
        && !native
        && let Some(r) = req
        && reg[r].syms.needs.iter().flatten().any(|v| v.file == Some(name) && v.name == b"GLIBC_PRIVATE")
    {
        s.foreign.get_or_insert((Foreign::Glibc, who()));
        return None;
    }
    // Dynamic string tokens in the name itself ("$ORIGIN/libx.so", in a
    // DT_NEEDED or a dlopen): expanded for the requester, as glibc's
    // _dl_map_object does; under AT_SECURE $ORIGIN is refused.
    let expanded;
    let name = if name.contains(&b'$') {
        let origin = req.and_then(|r| reg[r].origin.clone());
        match search::expand(name, origin.as_deref(), s.cfg.secure) {
            Some(e) => {
                expanded = e;
                &expanded[..]
            }
            None => {
                s.errors.report(name, format_args!("cannot open shared object file: No such file or directory"));
                return None;
            }
        }
    } else {
        name
    };
    // The program's PT_INTERP names its loader, which guardld stands in
    // for (glibc's ld.so answers to that name too); so does any path to a
    // file named as a loader: a second dynamic loader is never mapped.
    let base = name.rsplit(|&c| c == b'/').next().unwrap_or(name);
    let exists = || {
        let mut p = name.to_vec();
        p.push(0);
        CStr::from_bytes_with_nul(&p).is_ok_and(|c| rustix::fs::access(c, rustix::fs::Access::EXISTS).is_ok())
    };
    if base == name && LOADER_NAMES.contains(&name) || (LOADER_NAMES.contains(&base) || reg.program().is_some_and(|m| reg[m].interp() == Some(name))) && exists() {
        return reg.loader();
    }
    if name.contains(&b'/') {
        let mut p = name.to_vec();
        p.push(0);
        return match try_path(reg, s, &p, None) {
            Ok(Some(i)) => Some(i),
            Ok(None) => {
                s.errors.report(name, format_args!("cannot open shared object file: No such file or directory"));
                None
            }
            Err(()) => None,
        };
    }
    if let Some(i) = reg.known.find(name) {
        return Some(i);
    }
    // Like glibc, an object also answers to the name it was first loaded by
    // (many libraries have no DT_SONAME).
    let found = search_and_load(reg, s, name, req);
    if let Some(i) = found {
        reg.known.name(name, i);
    }
    found
}

/// The directories one requester's names are searched in, in order; a
/// session keeps the last requester's (a program's hundreds of DT_NEEDED
/// names would build the same list each).
pub struct SearchList {
    req: Option<usize>,
    /// The requester's directories, then (unless `nodeflib`) the default ones.
    dirs: Vec<Vec<u8>>,
    /// How many of `dirs` come before ld.so.cache (the requester's).
    n_dirs: usize,
    system: Vec<&'static [u8]>,
    nodeflib: bool,
}

impl SearchList {
    fn new(reg: &Registry, cfg: &LoadConfig, req: Option<usize>) -> SearchList {
        let mut dirs = match req {
            Some(r) => search_dirs(reg, r, cfg),
            None => cfg.library_path.clone(),
        };
        let n_dirs = dirs.len();
        // The default directories: a glibc program's are its ld.so's
        // (`system_dirs`), guardld's own programs' guardld's list. An
        // object with DF_1_NODEFLIB (the requester, else the program)
        // skips them, and ld.so.cache entries under them, as glibc.
        let system: Vec<&'static [u8]> = match crate::glibc::system_dirs().filter(|_| cfg.glibc_program) {
            Some(dirs) => dirs.iter().map(|d| d.as_bytes()).collect(),
            None => search::DEFAULT_DIRS.to_vec(),
        };
        let nodeflib = req.or_else(|| reg.program()).is_some_and(|r| reg[r].dyn_.nodeflib);
        if !nodeflib {
            dirs.extend(system.iter().map(|d| d.to_vec()));
        }
        SearchList { req, dirs, n_dirs, system, nodeflib }
    }
}

fn search_and_load(reg: &mut Registry, s: &mut Session, name: &[u8], req: Option<usize>) -> Option<usize> {
    let list = match s.search_list.take() {
        Some(l) if l.req == req => l,
        _ => SearchList::new(reg, s.cfg, req),
    };
    let found = search_list(reg, s, name, req, &list);
    s.search_list = Some(list);
    found
}

fn search_list(reg: &mut Registry, s: &mut Session, name: &[u8], req: Option<usize>, list: &SearchList) -> Option<usize> {
    let SearchList { dirs, n_dirs, system, nodeflib, .. } = list;
    let (n_dirs, nodeflib) = (*n_dirs, *nodeflib);
    let mut tried = 0;
    let mut passed = Passed::default();
    // The directories before the default ones, then ld.so.cache, then
    // the default ones.
    for k in 0..=dirs.len() {
        if k == n_dirs {
            let cache = s.cfg.cache.get_or_init(search::ld_so_cache);
            let under_system = |p: &[u8]| system.iter().any(|d| p.strip_prefix(*d).is_some_and(|rest| rest.starts_with(b"/")));
            if let Some(p) = cache.as_ref().and_then(|c| c.lookup(name)).filter(|p| !(nodeflib && under_system(p))) {
                let mut p = p.to_vec();
                p.push(0);
                match try_path(reg, s, &p, Some(&mut passed)) {
                    Ok(Some(i)) => return Some(i),
                    Ok(None) => {}
                    Err(()) => return None,
                }
            }
        }
        let Some(dir) = dirs.get(k) else { break };
        tried += 1;
        // glibc's capability subdirectories first, then the directory.
        let subs = s.cfg.hwcaps.as_ref().map(|h| h.subdirs_in(dir)).unwrap_or_default();
        for sub in &subs {
            match try_path(reg, s, &search::join(&search::subdir(dir, sub), name), Some(&mut passed)) {
                Ok(Some(i)) => return Some(i),
                Ok(None) => {}
                Err(()) => return None,
            }
        }
        match try_in_dir(reg, s, dir, name, &search::join(dir, name), Some(&mut passed)) {
            Ok(Some(i)) => return Some(i),
            Ok(None) => {}
            Err(()) => return None,
        }
    }
    if passed.other_class {
        // glibc's words: only a library of the other class was found.
        s.errors.report(name, format_args!("{}", HeaderError::WrongClass.message()));
        return None;
    }
    if let Some(e) = passed.errno {
        s.errors.report(name, format_args!("cannot open shared object file: {}", crate::sys::file::errno_text(e)));
        return None;
    }
    let who = req.map_or(&b"LD_PRELOAD"[..], |r| reg[r].name()).to_vec();
    let mut searched = alloc::string::String::new();
    for d in dirs {
        use core::fmt::Write;
        let _ = write!(searched, " {}", Bytes(d));
    }
    s.errors.report(&who, format_args!("cannot find shared object {} (searched {} directories:{})", Bytes(name), tried, searched));
    // glibc's dlerror names the missing object (the errno's text is part of it).
    s.errors.reword_first(name, "cannot open shared object file: No such file or directory");
    None
}

/// glibc's `do_preload`: a preload that cannot be loaded is reported as
/// glibc's ld.so reports it and skipped (a failure among its dependencies,
/// found later, still stops start-up, as in glibc).
fn load_preload_leniently(reg: &mut Registry, s: &mut Session, p: &Preload, main: Option<usize>) -> Option<usize> {
    let outer = core::mem::replace(&mut s.errors, super::Errors::captured());
    let loaded = load_needed(reg, s, &p.name, main);
    let inner = core::mem::replace(&mut s.errors, outer);
    if inner.count == 0 {
        return loaded;
    }
    let text = inner.first.map(|(_, t)| t).or(inner.capture).unwrap_or_default();
    crate::eprint!("ERROR: ld.so: object '{}' from {} cannot be preloaded ({}): ignored.\n", Bytes(&p.name), p.from, glibc_errstring(&text));
    None
}

/// glibc's error string without the errno text its dlerror appends.
fn glibc_errstring(text: &str) -> &str {
    ["cannot open shared object file", "cannot read file data"].into_iter().find(|e| text.starts_with(e)).unwrap_or(text)
}

/// A list of objects in breadth-first order with O(1) membership.
pub struct Bfs {
    pub list: Vec<usize>,
    /// Membership by registry index, a bit each (indices keep growing over
    /// a long run of dlopen/dlclose).
    member: Vec<u64>,
}

impl Bfs {
    pub fn new() -> Self {
        Bfs { list: Vec::new(), member: Vec::new() }
    }

    pub fn contains(&self, i: usize) -> bool {
        self.member.get(i / 64).is_some_and(|&w| w & (1 << (i % 64)) != 0)
    }

    pub fn add(&mut self, i: usize) {
        if self.member.len() <= i / 64 {
            self.member.resize(i / 64 + 1, 0);
        }
        let bit = 1u64 << (i % 64);
        if self.member[i / 64] & bit == 0 {
            self.member[i / 64] |= bit;
            self.list.push(i);
        }
    }

    /// Load the DT_NEEDED of every listed object, appending them, until the
    /// list is closed under dependencies. An object's `deps` are recorded
    /// once, the first time it is expanded.
    pub fn close(&mut self, reg: &mut Registry, s: &mut Session) {
        let mut next = 0;
        while next < self.list.len() && s.foreign.is_none() {
            let req = self.list[next];
            next += 1;
            if let Some(deps) = &reg[req].deps {
                for &dep in deps {
                    self.add(dep);
                }
                continue;
            }
            let needed: Vec<u64> = reg[req].dyn_.needed.clone();
            // A foreign C library among them: stop before loading any
            // (the program is handed over, or dlopen fails).
            let native = s.cfg.glibc_native;
            if let Some(f) = needed.iter().filter_map(|&o| reg[req].string(o)).find_map(Foreign::of_needed).filter(|&f| !(native && f == Foreign::Glibc)) {
                s.foreign = Some((f, reg[req].name().to_vec()));
                return;
            }
            let mut deps = Vec::with_capacity(needed.len());
            for off in needed {
                let Some(name) = reg[req].string(off) else {
                    let n = reg[req].name().to_vec();
                    s.errors.report(&n, format_args!("DT_NEEDED name outside the string table"));
                    continue;
                };
                let before = reg.slots();
                if let Some(i) = load_needed(reg, s, name, Some(req)) {
                    if i >= before {
                        reg[i].needed_by = Some(req);
                    }
                    deps.push(i);
                    self.add(i);
                }
            }
            reg[req].deps = Some(deps);
        }
    }
}

impl Default for Bfs {
    fn default() -> Self {
        Self::new()
    }
}

/// Start-up's closure: every preload, then every DT_NEEDED breadth-first.
/// The global scope is the program, the preloads, then their dependencies,
/// and guardld last.
pub fn load_startup(reg: &mut Registry, s: &mut Session, preload: &[Preload]) {
    let present: Vec<usize> = reg.iter().map(|(i, _)| i).collect();
    for i in present {
        reg.remember(i);
    }
    let mut scope = Bfs::new();
    let main = reg.program();
    if let Some(m) = main {
        scope.add(m);
    }
    // Preloads are searched as if the program needed them (as glibc does:
    // its RUNPATH/RPATH apply).
    for p in preload {
        let loaded = if s.cfg.glibc_program { load_preload_leniently(reg, s, p, main) } else { load_needed(reg, s, &p.name, main) };
        if let Some(i) = loaded {
            scope.add(i);
        }
    }
    scope.close(reg, s);
    // guardld's exports (__tls_get_addr, the runtime API) are always
    // reachable, last in scope, as glibc's ld.so is for programs using libc.
    if let Some(me) = reg.loader() {
        scope.add(me);
    }
    reg.set_scope(scope.list);
}
