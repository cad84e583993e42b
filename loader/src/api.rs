//! The runtime API guardld exports to the programs it loads: dlopen, dlsym,
//! dlvsym, dlclose, dlerror, dladdr, dl_iterate_phdr, and guardld_guards.
//! C declarations: include/guardld.h; Rust binding: the guardld-api crate.
//!
//! Every entry point takes the linker lock for its bookkeeping and releases
//! it before calling into object code (initializers, finalizers, callbacks),
//! which may call back into this API.

use crate::elf::symbols::{Version, sysv_hash};
use crate::error::Bytes;
use crate::link::deps::{self, Bfs};
use crate::link::{Errors, LINKER, Linker, init};
use crate::sys::lock::SpinLock;
use alloc::string::String;
use alloc::vec::Vec;
use core::ffi::{CStr, c_char, c_int, c_void};

pub const RTLD_LAZY: c_int = 0x1;
pub const RTLD_NOW: c_int = 0x2;
pub const RTLD_NOLOAD: c_int = 0x4;
pub const RTLD_GLOBAL: c_int = 0x100;
pub const RTLD_NODELETE: c_int = 0x1000;
pub const RTLD_DEFAULT: *mut c_void = core::ptr::null_mut();
pub const RTLD_NEXT: *mut c_void = usize::MAX as *mut c_void;

/// Handles are object indices offset by this, so no handle is NULL or
/// RTLD_NEXT and a stray pointer is recognisably not a handle.
const HANDLE_BASE: usize = 0x6a1d_0000;

/// The last error, for dlerror (process-wide; glibc keeps one per thread).
static ERROR: SpinLock<Option<Vec<u8>>> = SpinLock::new(None);
/// The string handed out by the last dlerror, kept alive until the next.
static ERROR_OUT: SpinLock<Vec<u8>> = SpinLock::new(Vec::new());

fn set_error(msg: String) {
    let mut v = msg.into_bytes();
    v.push(0);
    *ERROR.lock() = Some(v);
}

fn handle_of(i: usize) -> *mut c_void {
    (HANDLE_BASE + i) as *mut c_void
}

fn index_of(l: &Linker, h: *mut c_void) -> Option<usize> {
    let i = (h as usize).checked_sub(HANDLE_BASE)?;
    l.dsos.get(i).filter(|d| !d.unloaded).map(|_| i)
}

/// `char *dlerror(void)`: the last error since the previous call, or NULL.
#[unsafe(no_mangle)]
pub extern "C" fn dlerror() -> *const c_char {
    let Some(msg) = ERROR.lock().take() else { return core::ptr::null() };
    let mut out = ERROR_OUT.lock();
    *out = msg;
    out.as_ptr().cast()
}

/// `void *dlopen(const char *file, int mode)`. A trampoline like dlsym's:
/// the caller's address (the return address at [rsp]) selects the object
/// whose RUNPATH/RPATH the search uses, as glibc does.
///
/// # Safety
/// `file` is NULL or a NUL-terminated string.
#[unsafe(naked)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dlopen(file: *const c_char, mode: c_int) -> *mut c_void {
    core::arch::naked_asm!("mov rdx, qword ptr [rsp]", "jmp {imp}", imp = sym dlopen_impl)
}

extern "C" fn dlopen_impl(file: *const c_char, mode: c_int, caller: usize) -> *mut c_void {
    if file.is_null() {
        let l = LINKER.lock();
        return l.dsos.iter().position(|d| d.is_main).map_or(core::ptr::null_mut(), handle_of);
    }
    // SAFETY: the caller passes a C string.
    let name = unsafe { CStr::from_ptr(file) }.to_bytes();
    match open(name, mode, caller) {
        Ok(Some((h, inits))) => {
            for c in inits {
                c.run_init();
            }
            h
        }
        Ok(None) => core::ptr::null_mut(),
        Err(msg) => {
            set_error(msg);
            core::ptr::null_mut()
        }
    }
}

/// Load `name` and its dependencies, relocate them, and return the handle
/// with the initializers to run (after the lock is released). Ok(None):
/// RTLD_NOLOAD of an object that is not loaded.
fn open(name: &[u8], mode: c_int, caller: usize) -> Result<Option<(*mut c_void, Vec<init::Calls>)>, String> {
    let mut l = LINKER.lock();
    let l = &mut *l;
    let Some(cfg) = l.config.take() else { return Err(String::from("guardld: dlopen before start-up finished")) };
    let r = open_locked(l, name, mode, &cfg, caller);
    l.config = Some(cfg);
    r
}

fn open_locked(l: &mut Linker, name: &[u8], mode: c_int, cfg: &deps::LoadConfig, caller: usize) -> Result<Option<(*mut c_void, Vec<init::Calls>)>, String> {
    let before = l.dsos.len();
    let mut names = core::mem::take(&mut l.names);
    if mode & RTLD_NOLOAD != 0 {
        let found = names.find(name).or_else(|| l.dsos.iter().position(|d| !d.unloaded && d.matches_name(name)));
        l.names = names;
        let Some(i) = found else { return Ok(None) };
        // A NOLOAD handle is a reference like any other (dlclose drops it).
        for k in closure(l, i).list {
            if l.dsos[k].dynamic {
                l.dsos[k].refcount += 1;
            }
        }
        promote(l, i, mode);
        return Ok(Some((handle_of(i), Vec::new())));
    }
    crate::debug::begin(crate::debug::RT_ADD);
    let mut errs = Errors::captured();
    // The search uses the calling object's paths (the program's if the
    // caller is unknown).
    let req = l.dsos.iter().position(|d| !d.unloaded && !d.is_self && d.contains(caller)).or_else(|| l.dsos.iter().position(|d| d.is_main));
    let root = deps::load_needed(l, &mut names, name, req, cfg, &mut errs);
    let mut local = Bfs::new();
    if let Some(r) = root {
        local.add(r);
        local.close(l, &mut names, cfg, &mut errs);
    }
    l.names = names;
    let fresh: Vec<usize> = (before..l.dsos.len()).collect();
    if errs.count == 0 {
        crate::link::versions::check(l, &mut errs);
    }
    if errs.count == 0 {
        for &i in &fresh {
            if let Err(e) = crate::tls::add_module(&mut l.dsos[i]) {
                let n = l.dsos[i].name().to_vec();
                errs.report(&n, format_args!("{}", e.message()));
            }
        }
    }
    if errs.count == 0 {
        // Relocate the new objects against the global scope, then their own
        // local scope (RTLD_LOCAL objects are visible to each other).
        l.local = local.list.clone();
        crate::link::relocate_objects(l, &fresh, &mut errs);
        l.local.clear();
        crate::link::protect_relro(l, &fresh, &mut errs);
    }
    if errs.count != 0 {
        // A failed dlopen leaves nothing mapped.
        for &i in fresh.iter().rev() {
            unload(l, i);
        }
        crate::debug::publish(l, 0);
        return Err(errs.capture.unwrap_or_default());
    }
    for &i in &fresh {
        let d = &mut l.dsos[i];
        d.dynamic = true;
        if d.tls_modid != 0 {
            crate::tls::init_module(d.tls_modid);
        }
    }
    let root = root.unwrap_or(0);
    // Every object the root needs holds a reference while it is open.
    for &i in &local.list {
        l.dsos[i].refcount += 1;
    }
    promote(l, root, mode);
    // Initializers of the new objects, dependencies first.
    let order: Vec<usize> = init::order_of(l, &local.list).into_iter().filter(|i| fresh.contains(i)).collect();
    let calls = order.iter().map(|&i| init::init_calls(l, i)).collect();
    l.init_order.extend(order);
    crate::debug::publish(l, 0);
    Ok(Some((handle_of(root), calls)))
}

/// An object and everything it needs, breadth-first.
fn closure(l: &Linker, root: usize) -> Bfs {
    let mut c = Bfs::new();
    c.add(root);
    let mut k = 0;
    while k < c.list.len() {
        let i = c.list[k];
        k += 1;
        for j in 0..l.dsos[i].deps.len() {
            c.add(l.dsos[i].deps[j]);
        }
    }
    c
}

/// Apply RTLD_GLOBAL and RTLD_NODELETE to an open object.
fn promote(l: &mut Linker, i: usize, mode: c_int) {
    if mode & RTLD_NODELETE != 0 {
        l.dsos[i].dyn_.nodelete = true;
    }
    if mode & RTLD_GLOBAL != 0 {
        // The object and everything it needs join the global scope (as in
        // glibc), before guardld itself, which stays last.
        for k in closure(l, i).list {
            if l.scope.contains(&k) {
                continue;
            }
            let at = l.scope.iter().position(|&s| l.dsos[s].is_self).unwrap_or(l.scope.len());
            l.scope.insert(at, k);
            l.generation += 1;
        }
    }
}

/// Unmap one object and forget it (dlclose, or a failed dlopen).
fn unload(l: &mut Linker, i: usize) {
    let d = &mut l.dsos[i];
    if d.span.1 != 0 {
        // SAFETY: the object's own span, mapped by guardld; nothing refers
        // to it any more. Unmapping also removes its guards.
        let _ = unsafe { rustix::mm::munmap(d.span.0 as *mut c_void, d.span.1) };
    }
    d.unloaded = true;
    d.span = (0, 0);
    if d.tls_modid != 0 {
        crate::tls::remove_module(d.tls_modid);
    }
    l.names.remove(i);
    if let Some(p) = l.scope.iter().position(|&k| k == i) {
        l.scope.remove(p);
        l.generation += 1;
    }
    l.init_order.retain(|&k| k != i);
}

/// `int dlclose(void *handle)`: drop a reference; objects no longer
/// referenced run their finalizers (reverse init order) and are unmapped.
#[unsafe(no_mangle)]
pub extern "C" fn dlclose(handle: *mut c_void) -> c_int {
    let (finis, gone) = {
        let mut l = LINKER.lock();
        let Some(root) = index_of(&l, handle) else {
            drop(l);
            set_error(String::from("dlclose: invalid handle"));
            return -1;
        };
        // Start-up objects stay; a NODELETE object keeps itself and,
        // through it, everything it needs.
        if !l.dsos[root].dynamic || l.dsos[root].dyn_.nodelete {
            return 0;
        }
        let mut gone = Vec::new();
        for i in closure(&l, root).list {
            if !l.dsos[i].dynamic {
                continue;
            }
            let d = &mut l.dsos[i];
            d.refcount = d.refcount.saturating_sub(1);
            if d.refcount == 0 && !d.dyn_.nodelete {
                gone.push(i);
            }
        }
        // Finalizers in reverse init order.
        let order: Vec<usize> = l.init_order.iter().rev().copied().filter(|i| gone.contains(i)).collect();
        let finis: Vec<init::Calls> = order.iter().map(|&i| init::fini_calls(&l, i)).collect();
        (finis, gone)
    };
    for c in finis {
        c.run_fini();
    }
    let mut l = LINKER.lock();
    if !gone.is_empty() {
        crate::debug::begin(crate::debug::RT_DELETE);
        for &i in &gone {
            unload(&mut l, i);
        }
        crate::debug::publish(&mut l, 0);
    }
    0
}

/// Resolve `name` for dlsym/dlvsym.
fn sym(handle: *mut c_void, name: *const c_char, version: Option<&[u8]>, caller: usize) -> *mut c_void {
    if name.is_null() {
        set_error(String::from("dlsym: NULL symbol name"));
        return core::ptr::null_mut();
    }
    // SAFETY: the caller passes a C string.
    let name = unsafe { CStr::from_ptr(name) }.to_bytes();
    let ver = version.map(|v| Version { name: v, hash: sysv_hash(v), file: None, weak: false });
    let l = LINKER.lock();
    let q = crate::link::lookup::Query::default();
    let def = if handle == RTLD_DEFAULT {
        l.lookup_global(name, ver.as_ref(), q)
    } else if handle == RTLD_NEXT {
        // The objects after the caller's in the global scope.
        let me = l.dsos.iter().position(|d| !d.unloaded && d.contains(caller));
        let after: Vec<usize> = match me.and_then(|m| l.scope.iter().position(|&k| k == m)) {
            Some(p) => l.scope[p + 1..].to_vec(),
            None => Vec::new(),
        };
        crate::link::lookup::lookup(&l.dsos, &after, name, ver.as_ref(), q)
    } else {
        let Some(i) = index_of(&l, handle) else {
            drop(l);
            set_error(String::from("dlsym: invalid handle"));
            return core::ptr::null_mut();
        };
        // The object and its dependencies, breadth-first (its local scope).
        crate::link::lookup::lookup(&l.dsos, &closure(&l, i).list, name, ver.as_ref(), q)
    };
    let Some(def) = def else {
        drop(l);
        set_error(alloc::format!("undefined symbol: {}", Bytes(name)));
        return core::ptr::null_mut();
    };
    let d = &l.dsos[def.dso];
    let ty = def.sym.st_info & 0xf;
    if ty == crate::elf::symbols::STT_TLS {
        // The calling thread's copy, as glibc returns.
        let ti = [d.tls_modid, def.sym.st_value as usize];
        drop(l);
        // SAFETY: a module id and offset guardld assigned.
        return unsafe { crate::tls::__tls_get_addr(&ti) };
    }
    let addr = d.img.addr(def.sym.st_value);
    drop(l);
    if ty == crate::elf::symbols::STT_GNU_IFUNC {
        // SAFETY: an IFUNC symbol of a relocated object: its resolver.
        let f: extern "C" fn() -> usize = unsafe { core::mem::transmute(addr) };
        return f() as *mut c_void;
    }
    addr as *mut c_void
}

/// `void *dlsym(void *handle, const char *name)`. A trampoline: RTLD_NEXT
/// needs the caller's address, which is the return address at [rsp] on
/// entry; it is passed on as a third argument and the implementation
/// returns straight to the caller.
///
/// # Safety
/// `name` is a NUL-terminated string; `handle` came from dlopen or is
/// RTLD_DEFAULT/RTLD_NEXT.
#[unsafe(naked)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dlsym(handle: *mut c_void, name: *const c_char) -> *mut c_void {
    core::arch::naked_asm!("mov rdx, qword ptr [rsp]", "jmp {imp}", imp = sym dlsym_impl)
}

extern "C" fn dlsym_impl(handle: *mut c_void, name: *const c_char, caller: usize) -> *mut c_void {
    sym(handle, name, None, caller)
}

/// `void *dlvsym(void *handle, const char *name, const char *version)`,
/// with the same trampoline as dlsym.
///
/// # Safety
/// As dlsym; `version` is NULL or a NUL-terminated string.
#[unsafe(naked)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dlvsym(handle: *mut c_void, name: *const c_char, version: *const c_char) -> *mut c_void {
    core::arch::naked_asm!("mov rcx, qword ptr [rsp]", "jmp {imp}", imp = sym dlvsym_impl)
}

extern "C" fn dlvsym_impl(handle: *mut c_void, name: *const c_char, version: *const c_char, caller: usize) -> *mut c_void {
    if version.is_null() {
        return sym(handle, name, None, caller);
    }
    // SAFETY: the caller passes a C string.
    let v = unsafe { CStr::from_ptr(version) }.to_bytes();
    sym(handle, name, Some(v), caller)
}

/// `Dl_info` as in glibc's dlfcn.h.
#[repr(C)]
pub struct DlInfo {
    pub dli_fname: *const c_char,
    pub dli_fbase: *mut c_void,
    pub dli_sname: *const c_char,
    pub dli_saddr: *mut c_void,
}

/// `int dladdr(const void *addr, Dl_info *info)`: the object containing
/// `addr` and the nearest exported symbol at or below it. 0 if none.
///
/// # Safety
/// `info` points at writable storage for a Dl_info.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dladdr(addr: *const c_void, info: *mut DlInfo) -> c_int {
    let a = addr as usize;
    let l = LINKER.lock();
    let Some(d) = l.dsos.iter().find(|d| !d.unloaded && d.contains(a)) else { return 0 };
    let off = a.wrapping_sub(d.img.bias) as u64;
    let best = d
        .syms
        .iter()
        .filter(|(_, s)| s.st_shndx != 0 && s.st_value <= off && (s.st_value + s.st_size.max(1) > off || s.st_size == 0))
        .filter(|(_, s)| s.st_info >> 4 != 0)
        .max_by_key(|(_, s)| s.st_value);
    let base = d.img.addr(d.img.segs.first().map_or(0, |s| s.0 & !4095));
    // SAFETY: the caller passes writable storage; names point into the
    // object's string table or guardld's records, alive while it is loaded.
    unsafe {
        (*info).dli_fname = d.path.as_ptr().cast();
        (*info).dli_fbase = base as *mut c_void;
        match best {
            Some((_, s)) => {
                (*info).dli_sname = d.syms.name(s).map_or(core::ptr::null(), |n| n.as_ptr().cast());
                (*info).dli_saddr = d.img.addr(s.st_value) as *mut c_void;
            }
            None => {
                (*info).dli_sname = core::ptr::null();
                (*info).dli_saddr = core::ptr::null_mut();
            }
        }
    }
    1
}

/// `struct dl_phdr_info` as in glibc's link.h.
#[repr(C)]
pub struct DlPhdrInfo {
    pub dlpi_addr: usize,
    pub dlpi_name: *const c_char,
    pub dlpi_phdr: *const c_void,
    pub dlpi_phnum: u16,
    pub dlpi_adds: u64,
    pub dlpi_subs: u64,
    pub dlpi_tls_modid: usize,
    pub dlpi_tls_data: *mut c_void,
}

static ADDS: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

type PhdrCallback = unsafe extern "C" fn(*mut DlPhdrInfo, usize, *mut c_void) -> c_int;

/// `int dl_iterate_phdr(callback, data)`: every loaded object in load
/// order, the program first; stops at the first nonzero return.
///
/// # Safety
/// `cb` is a valid callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_iterate_phdr(cb: Option<PhdrCallback>, data: *mut c_void) -> c_int {
    let Some(cb) = cb else { return 0 };
    let infos: Vec<DlPhdrInfo> = {
        let l = LINKER.lock();
        let adds = ADDS.load(core::sync::atomic::Ordering::Relaxed) + l.dsos.len() as u64;
        let subs = l.dsos.iter().filter(|d| d.unloaded).count() as u64;
        let tp = crate::tls::current_tp();
        l.dsos
            .iter()
            .filter(|d| !d.unloaded)
            .map(|d| DlPhdrInfo {
                dlpi_addr: d.img.bias,
                dlpi_name: if d.is_main { c"".as_ptr() } else { d.path.as_ptr().cast() },
                dlpi_phdr: d.phdr_addr as *const c_void,
                dlpi_phnum: d.phnum as u16,
                dlpi_adds: adds,
                dlpi_subs: subs,
                dlpi_tls_modid: d.tls_modid,
                dlpi_tls_data: if d.tls_modid != 0 && tp != 0 { (tp - d.tls_offset) as *mut c_void } else { core::ptr::null_mut() },
            })
            .collect()
    };
    for mut i in infos {
        // SAFETY: the program's callback, with a valid info record.
        let r = unsafe { cb(&mut i, core::mem::size_of::<DlPhdrInfo>(), data) };
        if r != 0 {
            return r;
        }
    }
    0
}

/// One padding range, as reported by guardld_guards.
#[repr(C)]
pub struct GuardRange {
    /// The object's path (NUL-terminated).
    pub object: *const c_char,
    pub start: usize,
    pub len: usize,
    /// 0 = guard, 1 = prot-none, 2 = extend (left accessible).
    pub mode: c_int,
    /// Pages of the range the kernel reports as guarded (pagemap bit 58);
    /// -1 when the kernel cannot say.
    pub confirmed_pages: isize,
}

type GuardCallback = unsafe extern "C" fn(*const GuardRange, *mut c_void) -> c_int;

/// `int guardld_guards(int (*cb)(const struct guardld_guard *, void *), void *data)`:
/// every padding range of every object, with the kernel's confirmation.
/// Returns the number of ranges reported (or the callback's nonzero value).
///
/// # Safety
/// `cb` is a valid callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn guardld_guards(cb: Option<GuardCallback>, data: *mut c_void) -> c_int {
    let Some(cb) = cb else { return 0 };
    let ranges: Vec<GuardRange> = {
        let l = LINKER.lock();
        let mut v = Vec::new();
        for d in l.dsos.iter().filter(|d| !d.unloaded) {
            for (a, len, mode) in d.padding_ranges() {
                let start = d.img.addr(a);
                let confirmed = crate::map::probe::guarded_pages(start, len as usize).map_or(-1, |n| n as isize);
                let mode = match mode {
                    crate::map::Padding::Guard => 0,
                    crate::map::Padding::ProtNone => 1,
                    crate::map::Padding::Extend => 2,
                };
                v.push(GuardRange { object: d.path.as_ptr().cast(), start, len: len as usize, mode, confirmed_pages: confirmed });
            }
        }
        v
    };
    let n = ranges.len() as c_int;
    for r in &ranges {
        // SAFETY: the program's callback with a valid record.
        let ret = unsafe { cb(r, data) };
        if ret != 0 {
            return ret;
        }
    }
    n
}

