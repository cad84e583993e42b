//! The runtime API's C entry points: dlopen, dlsym, dlvsym, dlclose,
//! dlerror, dladdr, dl_iterate_phdr, and guardld_guards. Each is a thin
//! wrapper: it converts C arguments, calls the safe logic in `runtime.rs`,
//! and runs object code (initializers, finalizers, callbacks, IFUNC
//! resolvers) after the linker lock is released.
//! C declarations: include/guardld.h; Rust binding: the guardld-api crate.
#![allow(unsafe_code)] // the unsafe boundary (lib.rs): The exported C entry points (dl*, guardld_*, _r_debug): thin wrappers that convert C arguments and call `runtime`.

use crate::debugger::RDebug;
use crate::runtime::{self, SymScope, SymValue};
use crate::sys::lock::SpinLock;
use core::cell::UnsafeCell;
use alloc::string::String;
use core::ffi::{CStr, c_char, c_int, c_void};

pub use crate::runtime::{RTLD_GLOBAL, RTLD_LAZY, RTLD_NODELETE, RTLD_NOLOAD, RTLD_NOW};
pub const RTLD_DEFAULT: *mut c_void = core::ptr::null_mut();
pub const RTLD_NEXT: *mut c_void = usize::MAX as *mut c_void;

/// A C string argument as bytes.
///
/// # Safety
/// `p` is a NUL-terminated string that outlives the returned slice.
unsafe fn c_bytes<'a>(p: *const c_char) -> &'a [u8] {
    // SAFETY: forwarded from the caller.
    unsafe { CStr::from_ptr(p) }.to_bytes()
}

/// `char *dlerror(void)`: the last error since the previous call, or NULL.
#[unsafe(no_mangle)]
pub extern "C" fn dlerror() -> *const c_char {
    runtime::take_error().map_or(core::ptr::null(), |p| p as *const c_char)
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
        return runtime::open_program().map_or(core::ptr::null_mut(), |h| h as *mut c_void);
    }
    // SAFETY: the caller passes a C string.
    let name = unsafe { c_bytes(file) };
    match runtime::open(name, mode, caller) {
        Ok(Some((h, inits))) => {
            inits.into_iter().for_each(crate::link::init::Calls::run_init);
            h as *mut c_void
        }
        Ok(None) => core::ptr::null_mut(),
        Err(msg) => {
            runtime::set_error(msg);
            core::ptr::null_mut()
        }
    }
}

/// `int dlclose(void *handle)`: drop a reference; objects no longer
/// referenced run their finalizers (reverse init order) and are unmapped.
#[unsafe(no_mangle)]
pub extern "C" fn dlclose(handle: *mut c_void) -> c_int {
    match runtime::close(handle as usize) {
        Ok(mut c) => {
            loop {
                let owner = c.owner;
                c.finis.into_iter().for_each(crate::link::init::Calls::run_fini);
                runtime::unload(&c.gone);
                match owner.then(|| runtime::close_again(|_| false)).flatten() {
                    Some(again) => c = again,
                    None => break,
                }
            }
            0
        }
        Err(msg) => {
            runtime::set_error(msg);
            -1
        }
    }
}

/// dlsym/dlvsym: resolve, then produce the value outside the lock.
fn sym(handle: *mut c_void, name: *const c_char, version: Option<&[u8]>, caller: usize) -> *mut c_void {
    if name.is_null() {
        runtime::set_error(String::from("dlsym: NULL symbol name"));
        return core::ptr::null_mut();
    }
    // SAFETY: the caller passes a C string.
    let name = unsafe { c_bytes(name) };
    let scope = if handle == RTLD_DEFAULT {
        SymScope::Default { caller }
    } else if handle == RTLD_NEXT {
        SymScope::Next { caller }
    } else {
        SymScope::Handle(handle as usize)
    };
    match runtime::symbol(scope, name, version) {
        Ok(SymValue::Addr(a)) => a as *mut c_void,
        // SAFETY: a module id and offset guardld assigned.
        Ok(SymValue::Tls(ti)) => unsafe { crate::tcb::__tls_get_addr(&ti) },
        Ok(SymValue::Ifunc(resolver)) => crate::link::init::run_resolver(resolver) as *mut c_void,
        Err(msg) => {
            runtime::set_error(msg);
            core::ptr::null_mut()
        }
    }
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
    // SAFETY: the caller passes NULL or a C string.
    let v = (!version.is_null()).then(|| unsafe { c_bytes(version) });
    sym(handle, name, v, caller)
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
    let Some(a) = runtime::addr_info(addr as usize) else { return 0 };
    // SAFETY: the caller passes writable storage for a Dl_info.
    unsafe {
        info.write(DlInfo {
            dli_fname: a.fname as *const c_char,
            dli_fbase: a.fbase as *mut c_void,
            dli_sname: a.sname as *const c_char,
            dli_saddr: a.saddr as *mut c_void,
        })
    };
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

type PhdrCallback = unsafe extern "C" fn(*mut DlPhdrInfo, usize, *mut c_void) -> c_int;

/// `int dl_iterate_phdr(callback, data)`: every loaded object in load
/// order, the program first; stops at the first nonzero return.
///
/// # Safety
/// `cb` is a valid callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_iterate_phdr(cb: Option<PhdrCallback>, data: *mut c_void) -> c_int {
    let Some(cb) = cb else { return 0 };
    for i in runtime::phdr_infos() {
        let mut info = DlPhdrInfo {
            dlpi_addr: i.addr,
            dlpi_name: i.name as *const c_char,
            dlpi_phdr: i.phdr as *const c_void,
            dlpi_phnum: i.phnum,
            dlpi_adds: i.adds,
            dlpi_subs: i.subs,
            dlpi_tls_modid: i.tls_modid,
            dlpi_tls_data: i.tls_data as *mut c_void,
        };
        // SAFETY: the program's callback, with a valid info record.
        let r = unsafe { cb(&mut info, core::mem::size_of::<DlPhdrInfo>(), data) };
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
    let ranges = runtime::padding_ranges();
    for r in &ranges {
        let g = GuardRange {
            object: r.object as *const c_char,
            start: r.start,
            len: r.len,
            mode: match r.mode {
                crate::map::Padding::Guard => 0,
                crate::map::Padding::ProtNone => 1,
                crate::map::Padding::Extend => 2,
            },
            confirmed_pages: r.confirmed.map_or(-1, |n| n as isize),
        };
        // SAFETY: the program's callback with a valid record.
        let ret = unsafe { cb(&g, data) };
        if ret != 0 {
            return ret;
        }
    }
    ranges.len() as c_int
}

/// `void *guardld_tls_alloc(void)`: a TLS area and TCB for a new thread,
/// blocks initialised; returns the thread pointer to pass as clone's tls
/// argument (CLONE_SETTLS), or NULL without memory. The canary and pointer
/// guard are copied from the calling thread.
#[unsafe(no_mangle)]
pub extern "C" fn guardld_tls_alloc() -> *mut c_void {
    crate::tls::alloc_thread().map_or(core::ptr::null_mut(), |tp| tp as *mut c_void)
}

/// `void guardld_tls_free(void *tp)`: release an area from
/// guardld_tls_alloc once its thread has exited.
#[unsafe(no_mangle)]
pub extern "C" fn guardld_tls_free(tp: *mut c_void) {
    crate::tls::free_thread(tp as usize);
}

/// `_r_debug`'s storage: read by debuggers from outside, written by
/// `r_debug_update` only (its lock orders the writers).
#[repr(transparent)]
pub struct RDebugCell(UnsafeCell<RDebug>);

// SAFETY: every write goes through `r_debug_update`, which holds R_DEBUG_LOCK.
unsafe impl Sync for RDebugCell {}

/// `struct r_debug _r_debug`: exported for debuggers (gdb also finds it
/// through the program's DT_DEBUG).
#[unsafe(no_mangle)]
pub static _r_debug: RDebugCell = RDebugCell(UnsafeCell::new(RDebug::EMPTY));
static R_DEBUG_LOCK: SpinLock<()> = SpinLock::new(());

/// Change `_r_debug`.
pub fn r_debug_update(f: impl FnOnce(&mut RDebug)) {
    let _held = R_DEBUG_LOCK.lock();
    // SAFETY: writers are serialised by the lock; debuggers only read.
    f(unsafe { &mut *_r_debug.0.get() });
}

/// The address of `_r_debug` (for DT_DEBUG).
pub fn r_debug_addr() -> usize {
    _r_debug.0.get() as usize
}

/// `void _dl_debug_state(void)`: the debugger's breakpoint, called after
/// r_state changes.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "C" fn _dl_debug_state() {
    // An empty asm keeps the function (and the calls to it) from being
    // optimised away.
    // SAFETY: no instructions.
    unsafe { core::arch::asm!("", options(nostack, preserves_flags)) };
}
