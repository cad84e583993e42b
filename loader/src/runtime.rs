//! What the runtime API does, in safe code: dlopen runs a link session,
//! dlclose drops references and unloads, dlsym and dladdr search the
//! registry, dl_iterate_phdr and guardld_guards describe it. The exported
//! C entry points (`api.rs`) are thin wrappers over these functions.
//!
//! Every function takes the linker lock for its bookkeeping and returns
//! before any object code runs (initializers, finalizers, callbacks, IFUNC
//! resolvers): that code may call back into the API.

use crate::elf::symbols::{STT_GNU_IFUNC, STT_TLS, Version, sysv_hash};
use crate::error::Bytes;
use crate::link::dso::Opened;
use crate::link::init::{self, Calls};
use crate::link::lookup::{self, Query};
use crate::link::session::{self, Request, Session};
use crate::link::{Errors, LINKER, Linker, Registry};
use crate::map::Padding;
use crate::sys::lock::SpinLock;
use alloc::string::String;
use alloc::vec::Vec;

pub const RTLD_LAZY: i32 = 0x1;
pub const RTLD_NOW: i32 = 0x2;
pub const RTLD_NOLOAD: i32 = 0x4;
pub const RTLD_GLOBAL: i32 = 0x100;
pub const RTLD_NODELETE: i32 = 0x1000;
pub const RTLD_DEEPBIND: i32 = 0x8;

/// Handles are object indices offset by this, so no handle is NULL or
/// RTLD_NEXT and a stray pointer is recognisably not a handle.
const HANDLE_BASE: usize = 0x6a1d_0000;

/// The handle of object `i`.
pub fn handle_of(i: usize) -> usize {
    HANDLE_BASE + i
}

fn index_of(reg: &Registry, h: usize) -> Option<usize> {
    let i = h.checked_sub(HANDLE_BASE)?;
    reg.get(i).map(|_| i)
}

/// The last error, for dlerror (process-wide; glibc keeps one per thread).
static ERROR: SpinLock<Option<Vec<u8>>> = SpinLock::new(None);
/// The message handed out by the last dlerror, kept alive until the next.
static ERROR_OUT: SpinLock<Vec<u8>> = SpinLock::new(Vec::new());

pub fn set_error(msg: String) {
    let mut v = msg.into_bytes();
    v.push(0);
    *ERROR.lock() = Some(v);
}

/// dlerror: the address of the last error's NUL-terminated text (valid
/// until the next call), or None.
pub fn take_error() -> Option<usize> {
    let msg = ERROR.lock().take()?;
    let mut out = ERROR_OUT.lock();
    *out = msg;
    Some(out.as_ptr() as usize)
}

/// dlopen(NULL): the program's handle.
pub fn open_program() -> Option<usize> {
    LINKER.lock().reg.program().map(handle_of)
}

/// Load `name` and its dependencies with a link session, and return the
/// handle with the initializers to run (after the lock is released).
/// Ok(None): RTLD_NOLOAD of an object that is not loaded.
pub fn open(name: &[u8], mode: i32, caller: usize) -> Result<Option<(usize, Vec<Calls>)>, String> {
    match open_object(name, mode, caller) {
        Ok(o) => Ok(o.map(|o| (handle_of(o.root), o.inits))),
        Err(e) => Err(e.text),
    }
}

/// What `open_object` loaded.
pub struct OpenedObject {
    /// The object dlopen returns (registry index).
    pub root: usize,
    /// The objects this call loaded (load order).
    pub fresh: Vec<usize>,
    /// Initializers to run once the lock is released.
    pub inits: Vec<Calls>,
    /// RTLD_DEEPBIND: the new objects' scope puts their group first.
    pub deepbind: bool,
}

/// Why `open_object` failed: every error (for guardld's dlerror) and the
/// first one as (object, text) (glibc's dlerror reports only that).
pub struct OpenError {
    pub text: String,
    pub first: Option<(Vec<u8>, String)>,
}

impl OpenError {
    fn plain(text: String) -> Self {
        OpenError { text, first: None }
    }
}

/// dlopen by registry index: load `name` and its closure (or find it,
/// RTLD_NOLOAD), hold a reference on it (its handle), apply RTLD_GLOBAL
/// and RTLD_NODELETE. Ok(None): RTLD_NOLOAD of an object that is not
/// loaded.
pub fn open_object(name: &[u8], mode: i32, caller: usize) -> Result<Option<OpenedObject>, OpenError> {
    let mut guard = LINKER.lock();
    let Linker { reg, config } = &mut *guard;
    let Some(cfg) = config.as_ref() else { return Err(OpenError::plain(String::from("guardld: dlopen before start-up finished"))) };
    let noload = mode & RTLD_NOLOAD != 0;
    // (The program answers to no name here, as in glibc.)
    if noload && let Some(i) = reg.known.find(name).or_else(|| reg.position(|d| d.matches_name(name))).filter(|&i| !reg[i].is_program()) {
        // A NOLOAD handle is a reference like any other (dlclose drops it).
        add_reference(reg, i);
        promote(reg, i, mode);
        return Ok(Some(OpenedObject { root: i, fresh: Vec::new(), inits: Vec::new(), deepbind: false }));
    }
    // The search uses the calling object's paths (the program's if the
    // caller is unknown), as glibc does.
    let requester = reg.position(|d| !d.is_loader() && d.contains(caller)).or_else(|| reg.program());
    let first = reg.slots();
    let mut s = Session::new(cfg, Errors::captured(), first, Opened::ByDlopen { refs: 0 });
    s.deepbind = mode & RTLD_DEEPBIND != 0;
    // RTLD_NOLOAD of a name no object answers to: glibc still searches
    // and opens the file, reports what fails, and takes an object already
    // loaded from it (by device and inode); nothing new is loaded.
    s.noload = noload;
    // RTLD_LAZY (glibc programs: `glibc::lazy`).
    s.lazy = mode & (RTLD_LAZY | RTLD_NOW) == RTLD_LAZY && crate::glibc::lazy::enabled();
    let Ok(linked) = session::run(reg, &mut s, Request::Open { name, requester }) else {
        if let Some((f, because)) = s.foreign.take() {
            let what = match f {
                crate::link::deps::Foreign::Glibc => "glibc's libc.so.6, which only glibc's ld.so can link",
                crate::link::deps::Foreign::Musl => "musl's libc, which is its own dynamic loader",
            };
            return Err(OpenError::plain(alloc::format!("{}: needs {what}", Bytes(&because))));
        }
        return Err(OpenError { text: s.errors.capture.take().unwrap_or_default(), first: s.errors.first.take() });
    };
    if noload && linked.root.is_none() {
        return Ok(None);
    }
    let root = linked.root.or_else(|| reg.program()).unwrap_or(0);
    // The handle; what the root needs stays as long as it does
    // (`close_object`).
    add_reference(reg, root);
    promote(reg, root, mode);
    let fresh = reg.iter().map(|(i, _)| i).filter(|&i| i >= first).collect();
    Ok(Some(OpenedObject { root, fresh, inits: linked.inits, deepbind: s.deepbind }))
}

/// The registry index of the object whose segments contain `addr`.
pub fn object_at(addr: usize) -> Option<usize> {
    LINKER.lock().reg.position(|d| d.contains(addr))
}

fn add_reference(reg: &mut Registry, k: usize) {
    if let Opened::ByDlopen { refs } = &mut reg[k].opened {
        *refs += 1;
    }
}

/// Apply RTLD_GLOBAL and RTLD_NODELETE to an open object.
fn promote(reg: &mut Registry, i: usize, mode: i32) {
    if mode & RTLD_NODELETE != 0 {
        reg[i].dyn_.nodelete = true;
    }
    if mode & RTLD_GLOBAL != 0 {
        // The object and everything it needs join the global scope (as in
        // glibc), before guardld itself, which stays last.
        for k in reg.closure(i).list {
            reg.add_to_scope(k);
        }
    }
}

/// What dlclose must do once the lock is released: run `finis`, then
/// `unload(gone)`; then, if `owner`, ask `close_again` whether a dlclose
/// made by one of those finalizers left more to collect.
pub struct Closing {
    pub finis: Vec<Calls>,
    pub gone: Vec<usize>,
    /// This dlclose collects (glibc's `dl_close_state` was not pending).
    pub owner: bool,
}

impl Closing {
    pub fn nothing() -> Closing {
        Closing { finis: Vec::new(), gone: Vec::new(), owner: false }
    }
}

/// glibc's `dl_close_state`: while one dlclose runs finalizers and
/// unloads, a dlclose they make (or another thread's) only drops its
/// reference; if that freed something, the running one collects again.
#[derive(Clone, Copy, PartialEq, Eq)]
enum CloseState {
    Idle,
    Running,
    Rerun,
}

static CLOSE_STATE: crate::sys::lock::SpinLock<CloseState> = crate::sys::lock::SpinLock::new(CloseState::Idle);

/// dlclose, first half: drop one reference from `handle`'s closure and
/// collect the finalizers of the objects no longer referenced.
pub fn close(handle: usize) -> Result<Closing, String> {
    let root = {
        let reg = &LINKER.lock().reg;
        index_of(reg, handle).ok_or_else(|| String::from("dlclose: invalid handle"))?
    };
    Ok(close_object(root, |_| false))
}

/// dlclose by registry index; `keep(i)`: an object that must stay even
/// when no longer referenced (glibc: pending TLS destructors).
///
/// As glibc's `_dl_close_worker`: drop the handle's reference, then keep
/// every object that is still used (loaded at start-up, NODELETE, held by
/// a handle, kept by `keep`, or needed by a used object as a dependency or
/// a relocation dependency, `Dso::reldeps`) and unload the other dlopen'd
/// ones. A mark, not reference counts, so that objects holding each other
/// through relocation dependencies still go together.
pub fn close_object(root: usize, keep: impl Fn(usize) -> bool) -> Closing {
    let mut guard = LINKER.lock();
    let reg = &mut guard.reg;
    // Start-up objects stay; a NODELETE object keeps itself and, through
    // it, everything it needs.
    if reg.get(root).is_none_or(|d| !d.by_dlopen() || d.dyn_.nodelete) {
        return Closing::nothing();
    }
    let mut left = 0;
    if let Opened::ByDlopen { refs } = &mut reg[root].opened {
        *refs = refs.saturating_sub(1);
        left = *refs;
    }
    let mut st = CLOSE_STATE.lock();
    if *st != CloseState::Idle {
        if left == 0 {
            *st = CloseState::Rerun;
        }
        return Closing::nothing();
    }
    *st = CloseState::Running;
    drop(st);
    collect(reg, &keep)
}

/// After the owner's finalizers ran and its objects were unloaded: what a
/// nested dlclose left to collect (Some), or the end of this dlclose.
pub fn close_again(keep: impl Fn(usize) -> bool) -> Option<Closing> {
    let mut guard = LINKER.lock();
    let mut st = CLOSE_STATE.lock();
    if *st == CloseState::Rerun {
        *st = CloseState::Running;
        drop(st);
        return Some(collect(&mut guard.reg, &keep));
    }
    *st = CloseState::Idle;
    None
}

/// Mark what is used and collect the rest (`close_object`).
fn collect(reg: &mut crate::link::Registry, keep: &impl Fn(usize) -> bool) -> Closing {
    let mut used = crate::link::deps::Bfs::new();
    for (i, d) in reg.iter() {
        let held = match d.opened {
            Opened::ByDlopen { refs } => refs > 0 || d.dyn_.nodelete || keep(i),
            _ => true,
        };
        if held {
            used.add(i);
        }
    }
    reg.close_over(&mut used, true);
    let gone: Vec<usize> = reg.iter().filter(|&(i, d)| d.by_dlopen() && !used.contains(i)).map(|(i, _)| i).collect();
    let order: Vec<usize> = if crate::glibc::state::active() {
        // glibc's `_dl_close_worker`: the namespace's objects sorted for
        // finalization (dependents first; otherwise load order), those
        // going kept.
        let mut order = init::fini_order(reg);
        order.retain(|i| gone.contains(i));
        order
    } else {
        // Reverse init order.
        reg.init_order.iter().rev().copied().filter(|i| gone.contains(i)).collect()
    };
    // An object exit already finalized is not finalized again.
    let order: Vec<usize> = order.into_iter().filter(|&i| !reg[i].finalized).collect();
    for &i in &order {
        reg[i].finalized = true;
    }
    let finis = order.iter().map(|&i| init::fini_calls(reg, i)).collect();
    Closing { finis, gone, owner: true }
}

/// dlclose, second half: unmap what is gone and tell the debugger.
pub fn unload(gone: &[usize]) {
    unload_with(gone, |_| {});
}

/// `unload`, with `before(gone)` run once the debugger has been told of
/// the removal and before anything is unmapped (the glibc personality
/// takes the objects' link maps off its list there).
pub fn unload_with(gone: &[usize], before: impl FnOnce(&[usize])) {
    if gone.is_empty() {
        return;
    }
    let reg = &mut LINKER.lock().reg;
    crate::debugger::begin(crate::debugger::RT_DELETE);
    before(gone);
    for &i in gone {
        reg.unload(i);
    }
    crate::debugger::publish(reg);
}

/// Where dlsym looks.
pub enum SymScope {
    /// RTLD_DEFAULT: the global scope. The caller's object keeps what it
    /// finds there (glibc's DL_LOOKUP_ADD_DEPENDENCY).
    Default { caller: usize },
    /// RTLD_NEXT: the objects after the caller's in the global scope.
    Next { caller: usize },
    /// A handle: the object and its dependencies (its local scope).
    Handle(usize),
}

/// What dlsym found.
pub enum SymValue {
    Addr(usize),
    /// An STT_GNU_IFUNC: the caller runs this resolver, unlocked.
    Ifunc(usize),
    /// A TLS symbol: (module id, offset) for `__tls_get_addr`.
    Tls([usize; 2]),
}

/// Resolve `name` (and `version`) for dlsym/dlvsym.
pub fn symbol(scope: SymScope, name: &[u8], version: Option<&[u8]>) -> Result<SymValue, String> {
    // dlvsym asks for that version only (glibc's `hidden` request).
    let ver = version.map(|v| Version { name: v, hash: sysv_hash(v), file: None, weak: false, hidden: true });
    let mut l = LINKER.lock();
    let reg = &mut l.reg;
    let q = Query::default();
    let def = match scope {
        SymScope::Default { caller } => {
            let def = reg.lookup_global(name, ver.as_ref(), q, &[]);
            if let (Some(d), Some(me)) = (&def, reg.position(|o| !o.is_loader() && o.contains(caller))) {
                reg.add_dependency(me, d.dso);
            }
            def
        }
        SymScope::Next { caller } => {
            let me = reg.position(|d| d.contains(caller));
            let after: Vec<usize> = match me.and_then(|m| reg.scope.iter().position(|&k| k == m)) {
                Some(p) => reg.scope[p + 1..].to_vec(),
                None => Vec::new(),
            };
            lookup::lookup(reg, &after, name, ver.as_ref(), q)
        }
        SymScope::Handle(h) => {
            let Some(i) = index_of(reg, h) else { return Err(String::from("dlsym: invalid handle")) };
            lookup::lookup(reg, &reg.closure(i).list, name, ver.as_ref(), q)
        }
    };
    let Some(def) = def else { return Err(alloc::format!("undefined symbol: {}", Bytes(name))) };
    let d = &reg[def.dso];
    Ok(match def.sym.kind() {
        // The calling thread's copy, as glibc returns.
        STT_TLS => SymValue::Tls([d.tls_slot.map_or(0, |t| t.modid), def.sym.st_value as usize]),
        STT_GNU_IFUNC => SymValue::Ifunc(d.img.addr(def.sym.st_value)),
        _ => SymValue::Addr(d.img.addr(def.sym.st_value)),
    })
}

/// dladdr's answer: addresses of NUL-terminated names that live as long
/// as their object.
pub struct AddrInfo {
    pub fname: usize,
    pub fbase: usize,
    pub sname: usize,
    pub saddr: usize,
}

/// The object containing `a` and the nearest symbol at or below it.
pub fn addr_info(a: usize) -> Option<AddrInfo> {
    let l = LINKER.lock();
    let page_size = l.config.as_ref()?.page_size;
    let (_, d) = l.reg.iter().find(|(_, d)| d.contains(a))?;
    let off = a.wrapping_sub(d.img.bias) as u64;
    let best = d
        .syms
        .iter()
        .filter(|(_, s)| s.st_shndx != 0 && s.st_value <= off && (s.st_value + s.st_size.max(1) > off || s.st_size == 0))
        .filter(|(_, s)| s.bind() != crate::elf::symbols::STB_LOCAL)
        .max_by_key(|(_, s)| s.st_value);
    let (sname, saddr) = match best {
        Some((_, s)) => (d.syms.name(s).map_or(0, |n| n.as_ptr() as usize), d.img.addr(s.st_value)),
        None => (0, 0),
    };
    Some(AddrInfo { fname: d.path.as_ptr() as usize, fbase: d.map_start(page_size), sname, saddr })
}

/// One object as dl_iterate_phdr reports it.
pub struct PhdrInfo {
    pub addr: usize,
    pub name: usize,
    pub phdr: usize,
    pub phnum: u16,
    pub adds: u64,
    pub subs: u64,
    pub tls_modid: usize,
    pub tls_data: usize,
}

/// Every loaded object, in load order (the program first).
pub fn phdr_infos() -> Vec<PhdrInfo> {
    let l = LINKER.lock();
    let reg = &l.reg;
    let live = reg.iter().count();
    let adds = reg.slots() as u64;
    let subs = (reg.slots() - live) as u64;
    let tp = crate::tls::current_tp();
    reg.iter()
        .map(|(_, d)| PhdrInfo {
            addr: d.img.bias,
            name: if d.is_program() { c"".as_ptr() as usize } else { d.path.as_ptr() as usize },
            phdr: d.phdr_addr,
            phnum: d.phnum as u16,
            adds,
            subs,
            tls_modid: d.tls_slot.map_or(0, |t| t.modid),
            tls_data: match d.tls_slot {
                Some(t) if tp != 0 => tp - t.offset,
                _ => 0,
            },
        })
        .collect()
}

/// One padding range with the kernel's confirmation.
pub struct PaddingRange {
    pub object: usize,
    pub start: usize,
    pub len: usize,
    pub mode: Padding,
    /// Pages the kernel reports as guarded; None when it cannot say.
    pub confirmed: Option<usize>,
}

/// Every padding range of every object.
pub fn padding_ranges() -> Vec<PaddingRange> {
    let l = LINKER.lock();
    let Some(page_size) = l.config.as_ref().map(|c| c.page_size) else { return Vec::new() };
    let mut v = Vec::new();
    for (_, d) in l.reg.iter() {
        for (a, len, mode) in d.padding_ranges() {
            let start = d.img.addr(a);
            let confirmed = crate::map::probe::guarded_pages(start, len as usize, page_size);
            v.push(PaddingRange { object: d.path.as_ptr() as usize, start, len: len as usize, mode, confirmed });
        }
    }
    v
}
