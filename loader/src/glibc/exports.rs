//! glibc's private loader interface, as guardld exports it to libc.so.6
//! (build.rs exports these names): the data libc reads (`_rtld_global`,
//! `_rtld_global_ro`, `__libc_stack_end`, ...) and the functions it calls.
//! Each function converts C arguments and calls the safe logic in
//! `glibc::state`; the bytes of the two big structures are handed out once,
//! to the personality's start-up (`take_globals`).
#![allow(unsafe_code)] // the unsafe boundary (lib.rs): glibc's exported data and C entry points.

use super::debian12;
use core::cell::UnsafeCell;
use core::ffi::{c_char, c_int, c_uint, c_void};
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicIsize, AtomicU32, AtomicUsize, Ordering};

/// Bytes of a glibc structure, aligned as glibc aligns its globals.
#[repr(C, align(64))]
pub struct Global<const N: usize>(UnsafeCell<[u8; N]>);

// SAFETY: the bytes are written by start-up (one thread, before any object
// code runs) through the one `&mut` `take_globals` hands out; afterwards
// libc reads them and the personality writes them under glibc's own locks.
unsafe impl<const N: usize> Sync for Global<N> {}

/// Sizes of the known builds' structures (one build today; a second build
/// must fit, checked below).
const R_SIZE: usize = debian12::RTLD_GLOBAL.size;
const RO_SIZE: usize = debian12::RTLD_GLOBAL_RO.size;
const _: () = {
    let mut i = 0;
    while i < super::KNOWN.len() {
        let s = super::KNOWN[i].structs;
        let mut j = 0;
        while j < s.len() {
            assert!(s[j].size <= if j == 0 { R_SIZE } else { usize::MAX });
            j += 1;
        }
        i += 1;
    }
};

/// `struct rtld_global _rtld_global`.
#[cfg_attr(not(test), unsafe(no_mangle))] // a test binary must not interpose glibc's ld.so
pub static _rtld_global: Global<R_SIZE> = Global(UnsafeCell::new([0; R_SIZE]));
/// `struct rtld_global_ro _rtld_global_ro` (in RELRO: read-only once
/// start-up has filled it, as glibc's).
#[cfg_attr(not(test), unsafe(no_mangle))] // a test binary must not interpose glibc's ld.so
#[unsafe(link_section = ".data.rel.ro.glibc")]
pub static _rtld_global_ro: Global<RO_SIZE> = Global(UnsafeCell::new([0; RO_SIZE]));
/// `void *__libc_stack_end`: the initial stack pointer (argc's address).
#[cfg_attr(not(test), unsafe(no_mangle))] // a test binary must not interpose glibc's ld.so
pub static __libc_stack_end: AtomicUsize = AtomicUsize::new(0);
/// `char **_dl_argv`.
#[cfg_attr(not(test), unsafe(no_mangle))] // a test binary must not interpose glibc's ld.so
pub static _dl_argv: AtomicUsize = AtomicUsize::new(0);
/// `int __libc_enable_secure`: AT_SECURE.
#[cfg_attr(not(test), unsafe(no_mangle))] // a test binary must not interpose glibc's ld.so
pub static __libc_enable_secure: AtomicI32 = AtomicI32::new(0);
/// `ptrdiff_t __rseq_offset`: the rseq area's offset from the thread pointer.
#[cfg_attr(not(test), unsafe(no_mangle))] // a test binary must not interpose glibc's ld.so
pub static __rseq_offset: AtomicIsize = AtomicIsize::new(0);
/// `unsigned int __rseq_size`: 0 when the main thread is not registered.
#[cfg_attr(not(test), unsafe(no_mangle))] // a test binary must not interpose glibc's ld.so
pub static __rseq_size: AtomicU32 = AtomicU32::new(0);
/// `unsigned int __rseq_flags`.
#[cfg_attr(not(test), unsafe(no_mangle))] // a test binary must not interpose glibc's ld.so
pub static __rseq_flags: AtomicU32 = AtomicU32::new(0);

/// The bytes of `_rtld_global` and `_rtld_global_ro`.
pub struct Globals {
    pub r: &'static mut [u8],
    pub ro: &'static mut [u8],
}

static TAKEN: AtomicBool = AtomicBool::new(false);

/// The globals' bytes, once per process (None afterwards).
pub fn take_globals() -> Option<Globals> {
    if TAKEN.swap(true, Ordering::AcqRel) {
        return None;
    }
    // SAFETY: the flag hands these out once, so the `&mut`s are unique;
    // object code reads the globals only after start-up is done with them.
    unsafe { Some(Globals { r: &mut *_rtld_global.0.get(), ro: &mut *_rtld_global_ro.0.get() }) }
}

/// Addresses of the globals (for pointers stored inside them).
pub fn r_addr() -> usize {
    _rtld_global.0.get() as usize
}

pub fn ro_addr() -> usize {
    _rtld_global_ro.0.get() as usize
}

/// The start-up values of the small exported variables.
pub fn set_start(stack_end: usize, argv: usize, secure: bool) {
    __libc_stack_end.store(stack_end, Ordering::Relaxed);
    _dl_argv.store(argv, Ordering::Relaxed);
    __libc_enable_secure.store(secure as i32, Ordering::Relaxed);
}

pub fn set_rseq(offset: isize, size: u32) {
    __rseq_offset.store(offset, Ordering::Relaxed);
    __rseq_size.store(size, Ordering::Relaxed);
}

/// A NUL-terminated string as bytes (empty for NULL).
///
/// # Safety
/// `p` is NULL or a NUL-terminated string that outlives the slice.
unsafe fn c_str<'a>(p: *const c_char) -> &'a [u8] {
    if p.is_null() {
        return b"";
    }
    // SAFETY: forwarded from the caller.
    unsafe { core::ffi::CStr::from_ptr(p) }.to_bytes()
}

/// `int _dl_find_object(void *pc, struct dl_find_object *result)`: the
/// object containing `pc` and its PT_GNU_EH_FRAME, for the unwinder.
#[cfg_attr(not(test), unsafe(no_mangle))] // a test binary must not interpose glibc's ld.so
pub extern "C" fn _dl_find_object(pc: *mut c_void, result: *mut c_void) -> c_int {
    let Some(found) = super::state::find_object(pc as usize) else { return -1 };
    let size = super::state::dl_find_object_size();
    // SAFETY: libgcc passes a `struct dl_find_object` of this build's size.
    let out = unsafe { core::slice::from_raw_parts_mut(result as *mut u8, size) };
    if super::state::fill_find_object(out, &found) { 0 } else { -1 }
}

/// `struct link_map *_dl_find_dso_for_object(ElfW(Addr) addr)`.
#[cfg_attr(not(test), unsafe(no_mangle))] // a test binary must not interpose glibc's ld.so
pub extern "C" fn _dl_find_dso_for_object(addr: usize) -> *mut c_void {
    super::state::find_object(addr).map_or(core::ptr::null_mut(), |f| f.link_map as *mut c_void)
}

/// `void *_dl_tls_get_addr_soft(struct link_map *)` (RO's pointer): the
/// calling thread's block of that object's TLS, or NULL.
pub extern "C" fn tls_get_addr_soft(map: *mut c_void) -> *mut c_void {
    let tp = crate::tcb::current();
    match super::state::tls_offset_of(map as usize) {
        Some(off) if tp != 0 => (tp - off) as *mut c_void,
        _ => core::ptr::null_mut(),
    }
}

/// `void __tunable_get_val(tunable_id_t id, void *valp, tunable_callback_t cb)`.
#[cfg_attr(not(test), unsafe(no_mangle))] // a test binary must not interpose glibc's ld.so
pub extern "C" fn __tunable_get_val(id: c_uint, valp: *mut c_void, cb: Option<extern "C" fn(*mut u64)>) {
    let Some(v) = super::state::tunable(id as usize) else { return };
    // SAFETY: libc passes storage of the tunable's type: 4 bytes for the
    // 32-bit ones, 8 for the others (the generated table's types).
    unsafe { core::ptr::copy_nonoverlapping(v.bytes.as_ptr(), valp as *mut u8, v.len.min(8)) };
    if v.initialized
        && let Some(cb) = cb
    {
        // glibc passes a pointer to its tunable_val_t; a copy serves.
        let mut raw = v.raw;
        cb(&mut raw);
    }
}

/// `const struct cpu_features *_dl_x86_get_cpu_features(unsigned int)`.
#[cfg_attr(not(test), unsafe(no_mangle))] // a test binary must not interpose glibc's ld.so
pub extern "C" fn _dl_x86_get_cpu_features(_max: c_uint) -> *const c_void {
    super::state::cpu_features_addr().map_or(core::ptr::null(), |a| a as *const c_void)
}

/// `void _dl_get_tls_static_info(size_t *size, size_t *align)`.
///
/// # Safety
/// Both pointers are writable `size_t`s.
#[cfg_attr(not(test), unsafe(no_mangle))] // a test binary must not interpose glibc's ld.so
pub unsafe extern "C" fn _dl_get_tls_static_info(size: *mut usize, align: *mut usize) {
    let (s, a) = super::state::tls_static_info();
    // SAFETY: the caller passes two size_t slots.
    unsafe {
        size.write(s);
        align.write(a);
    }
}

/// `void _dl_audit_preinit(struct link_map *)`: guardld runs no audit
/// modules (RO's naudit is 0), so there is nothing to notify.
#[cfg_attr(not(test), unsafe(no_mangle))] // a test binary must not interpose glibc's ld.so
pub extern "C" fn _dl_audit_preinit(_main: *mut c_void) {}

/// `void _dl_audit_symbind_alt(...)`: called by libc's dlsym only when
/// RO's naudit is nonzero, which it never is under guardld.
#[cfg_attr(not(test), unsafe(no_mangle))] // a test binary must not interpose glibc's ld.so
pub extern "C" fn _dl_audit_symbind_alt(_l: *mut c_void, _r: *const c_void, _v: *mut *mut c_void, _res: *mut c_void) {}

/// `void _dl_mcount(ElfW(Addr) frompc, ElfW(Addr) selfpc)`: profiling of a
/// shared object (LD_PROFILE), which guardld does not offer: nothing.
#[cfg_attr(not(test), unsafe(no_mangle))] // a test binary must not interpose glibc's ld.so
pub extern "C" fn _dl_mcount(_from: usize, _to: usize) {}

/// `void _dl_libc_freeres(void)` (RO's pointer): guardld keeps nothing
/// malloc'd by libc.
pub extern "C" fn libc_freeres() {}

/// `void _dl_error_free(void *)` (RO's pointer): the messages guardld's
/// catch function hands out are static, never malloc'd.
pub extern "C" fn error_free(_p: *mut c_void) {}

/// `int _dl_catch_error(const char **objname, const char **errstring,
/// bool *mallocedp, void (*operate)(void *), void *args)` (RO's pointer,
/// behind dlopen/dlclose/dlsym and libc's own NSS, iconv and libgcc_s
/// loading): loading at run time belongs to part 2 of the personality, so
/// it fails as a failed dlopen fails, with a message dlerror shows.
///
/// # Safety
/// The first three pointers are writable (libc's out-parameters).
pub unsafe extern "C" fn catch_error(objname: *mut *const c_char, err: *mut *const c_char, malloced: *mut bool, _op: *const c_void, _args: *mut c_void) -> c_int {
    crate::debug!(Libs, "glibc program asked to load or look up at run time: not supported yet (dlopen fails)");
    // SAFETY: libc passes three out-pointers.
    unsafe {
        objname.write(c"".as_ptr());
        err.write(c"guardld: dlopen and dlsym are not supported by guardld's glibc personality yet".as_ptr());
        malloced.write(false);
    }
    // No errno goes with the message (glibc's errcode 0: dlerror adds no
    // strerror text).
    0
}

/// What guardld's personality cannot do yet, reached through libc: a
/// clear error and exit 127, never a wrong answer.
fn unsupported(what: &str) -> ! {
    crate::error::fatal("guardld", format_args!("{what} is not supported by guardld's glibc personality yet (run with --glibc audit)"))
}

/// RO's `_dl_open`, `_dl_close`, `_dl_lookup_symbol_x`: reached only
/// through `catch_error`'s operation, which it never runs.
pub extern "C" fn open_unsupported() -> ! {
    unsupported("dlopen")
}

pub extern "C" fn lookup_unsupported() -> ! {
    unsupported("symbol lookup at run time")
}

#[cfg_attr(not(test), unsafe(no_mangle))] // a test binary must not interpose glibc's ld.so
pub extern "C" fn _dl_allocate_tls(_mem: *mut c_void) -> *mut c_void {
    unsupported("pthread_create (_dl_allocate_tls)")
}

#[cfg_attr(not(test), unsafe(no_mangle))] // a test binary must not interpose glibc's ld.so
pub extern "C" fn _dl_allocate_tls_init(_mem: *mut c_void, _init_dtv: bool) -> *mut c_void {
    unsupported("pthread_create (_dl_allocate_tls_init)")
}

#[cfg_attr(not(test), unsafe(no_mangle))] // a test binary must not interpose glibc's ld.so
pub extern "C" fn _dl_deallocate_tls(_tcb: *mut c_void, _dealloc: bool) {
    unsupported("thread exit (_dl_deallocate_tls)")
}

#[cfg_attr(not(test), unsafe(no_mangle))] // a test binary must not interpose glibc's ld.so
pub extern "C" fn __nptl_change_stack_perm(_pd: *mut c_void) -> c_int {
    unsupported("an executable thread stack (__nptl_change_stack_perm)")
}

#[cfg_attr(not(test), unsafe(no_mangle))] // a test binary must not interpose glibc's ld.so
pub extern "C" fn _dl_rtld_di_serinfo(_l: *mut c_void, _si: *mut c_void, _counting: bool) {
    unsupported("dlinfo RTLD_DI_SERINFO")
}

/// `void _dl_exception_create(struct dl_exception *, const char *objname,
/// const char *errstring)`: libc raises its own dl* errors through it.
/// The strings are referenced, not copied (libc passes literals and
/// names that outlive the exception); `message_buffer` stays NULL so
/// `_dl_exception_free` frees nothing.
///
/// # Safety
/// `exc` points at a writable `struct dl_exception`.
#[cfg_attr(not(test), unsafe(no_mangle))] // a test binary must not interpose glibc's ld.so
pub unsafe extern "C" fn _dl_exception_create(exc: *mut [usize; 3], objname: *const c_char, errstring: *const c_char) {
    let obj = if objname.is_null() { c"".as_ptr() } else { objname };
    // SAFETY: libc passes a `struct dl_exception` {objname, errstring,
    // message_buffer} (three pointers).
    unsafe { exc.write([obj as usize, errstring as usize, 0]) };
}

/// `void _dl_fatal_printf(const char *fmt, ...)`: print and exit 127. The
/// integer arguments arrive in the registers of the first five (the
/// variadic convention passes them as a fixed-argument call would).
#[cfg_attr(not(test), unsafe(no_mangle))] // a test binary must not interpose glibc's ld.so
pub extern "C" fn _dl_fatal_printf(fmt: *const c_char, a1: usize, a2: usize, a3: usize, a4: usize, a5: usize) -> ! {
    print_c_format(fmt, [a1, a2, a3, a4, a5]);
    crate::sys::exit(crate::error::EXIT_FAILURE)
}

/// `void _dl_debug_printf(const char *fmt, ...)` (RO's pointer).
pub extern "C" fn debug_printf(fmt: *const c_char, a1: usize, a2: usize, a3: usize, a4: usize, a5: usize) {
    print_c_format(fmt, [a1, a2, a3, a4, a5]);
}

/// glibc's loader printf subset (%s %d %u %x %p %c %%, with l/z sizes) to
/// stderr; arguments past the fifth print as "?".
fn print_c_format(fmt: *const c_char, args: [usize; 5]) {
    // SAFETY: glibc passes a format string.
    let fmt = unsafe { c_str(fmt) };
    let mut out = alloc::vec::Vec::new();
    let mut next = args.iter().copied();
    let mut i = 0;
    while i < fmt.len() {
        let c = fmt[i];
        i += 1;
        if c != b'%' {
            out.push(c);
            continue;
        }
        while i < fmt.len() && matches!(fmt[i], b'l' | b'z' | b'0'..=b'9' | b'.' | b'*' | b'-') {
            i += 1;
        }
        let Some(&conv) = fmt.get(i) else { break };
        i += 1;
        let Some(v) = (conv != b'%').then(|| next.next()).flatten().or((conv == b'%').then_some(0)) else {
            out.extend_from_slice(b"?");
            continue;
        };
        let text = match conv {
            b's' => {
                // SAFETY: %s arguments are C strings.
                out.extend_from_slice(unsafe { c_str(v as *const c_char) });
                continue;
            }
            b'd' | b'i' => alloc::format!("{}", v as i64),
            b'u' => alloc::format!("{v}"),
            b'x' => alloc::format!("{v:x}"),
            b'p' => alloc::format!("{v:#x}"),
            b'c' => {
                out.push(v as u8);
                continue;
            }
            _ => alloc::string::String::from("%"),
        };
        out.extend_from_slice(text.as_bytes());
    }
    crate::sys::write_fd(2, &out);
}
