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

/// The vDSO's program headers, read where the kernel mapped it
/// (AT_SYSINFO_EHDR, page-aligned): (their address, them). None if its
/// first page does not hold an ELF header and headers guardld accepts.
pub fn vdso_headers(ehdr: usize, page: usize) -> Option<(usize, alloc::vec::Vec<crate::elf::pod::Phdr>)> {
    if ehdr == 0 || page == 0 || !ehdr.is_multiple_of(page) {
        return None;
    }
    // SAFETY: the kernel maps the vDSO image at AT_SYSINFO_EHDR, at a page
    // boundary, at least one page long and readable.
    let first = unsafe { crate::elf::pod::mapped(ehdr, page) };
    let eh = crate::elf::header::check_ehdr(first, page as u64, super::abi_max()).ok()?;
    let at = eh.e_phoff as usize;
    let phdrs = crate::elf::header::parse_phdrs(first.get(at..)?, eh.e_phnum as usize).ok()?;
    Some((ehdr + at, phdrs))
}

/// `int _dl_find_object(void *pc, struct dl_find_object *result)`: the
/// object containing `pc` and its PT_GNU_EH_FRAME, for the unwinder.
#[cfg_attr(not(test), unsafe(no_mangle))] // a test binary must not interpose glibc's ld.so
pub extern "C" fn _dl_find_object(pc: *mut c_void, result: *mut c_void) -> c_int {
    with_find_table(|t| {
        let Some(found) = t.find(pc as usize) else { return -1 };
        // SAFETY: libgcc passes a `struct dl_find_object` of this build's size.
        let out = unsafe { core::slice::from_raw_parts_mut(result as *mut u8, t.size()) };
        if t.fill(out, &found) { 0 } else { -1 }
    })
    .unwrap_or(-1)
}

/// The current `_dl_find_object` table (state.rs makes them).
static FIND_TABLE: core::sync::atomic::AtomicPtr<super::state::FindTable> = core::sync::atomic::AtomicPtr::new(core::ptr::null_mut());
/// Readers inside `with_find_table` (threads, signal handlers).
static FIND_READERS: AtomicUsize = AtomicUsize::new(0);
/// Tables replaced while a reader was inside: freed by a later publish
/// that sees no reader.
static FIND_RETIRED: crate::sys::lock::SpinLock<alloc::vec::Vec<usize>> = crate::sys::lock::SpinLock::new(alloc::vec::Vec::new());

/// Publish a new table. The old one is freed once no reader is inside
/// `with_find_table`: a reader counts itself in before it loads the
/// pointer, so one that could hold an old table keeps the count above
/// zero when the publisher looks (both sides sequentially consistent);
/// until a publish sees none, replaced tables wait on a list.
pub fn publish_find_table(t: alloc::boxed::Box<super::state::FindTable>) {
    let old = FIND_TABLE.swap(alloc::boxed::Box::into_raw(t), Ordering::SeqCst);
    let mut retired = FIND_RETIRED.lock();
    if !old.is_null() {
        retired.push(old as usize);
    }
    if FIND_READERS.load(Ordering::SeqCst) == 0 {
        for p in retired.drain(..) {
            // SAFETY: a table from Box::into_raw here, no longer published,
            // and no reader is inside (see above).
            drop(unsafe { alloc::boxed::Box::from_raw(p as *mut super::state::FindTable) });
        }
    }
}

/// `f` on the table last published, if any (lock-free, async-signal-safe).
pub fn with_find_table<R>(f: impl FnOnce(&super::state::FindTable) -> R) -> Option<R> {
    FIND_READERS.fetch_add(1, Ordering::SeqCst);
    let p = FIND_TABLE.load(Ordering::SeqCst);
    // SAFETY: non-null pointers here come from Box::into_raw in
    // `publish_find_table`, never written afterwards, and not freed while
    // this reader is counted in.
    let r = unsafe { p.as_ref() }.map(f);
    FIND_READERS.fetch_sub(1, Ordering::SeqCst);
    r
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
        // Dynamic TLS: the block, if this thread has one yet.
        None if tp != 0 => crate::tls::dynamic_block_if_allocated(tp, super::state::tls_modid_of(map as usize)).map_or(core::ptr::null_mut(), |b| b as *mut c_void),
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

/// `void _dl_error_free(void *)` (RO's pointer): libc hands back the
/// message buffers `_dl_exception_create` made once dlerror is done.
pub extern "C" fn error_free(p: *mut c_void) {
    super::dlfcn::free_message(p as usize);
}

/// libc's `void _dl_signal_error(int errcode, const char *objname, const
/// char *occasion, const char *errstring)`.
type SignalError = unsafe extern "C" fn(c_int, *const c_char, *const c_char, *const c_char) -> !;
type Calloc = unsafe extern "C" fn(usize, usize) -> *mut c_void;
type Free = unsafe extern "C" fn(*mut c_void);

/// `calloc` and `free` as the program's global scope resolves them: glibc's
/// ld.so switches to them once libc is relocated (`__rtld_malloc_init_real`)
/// and makes thread DTVs with them. Doing the same matters beyond the heap's
/// shape: the first DTV's calloc, in pthread_create, initialises libc's
/// malloc on the creating thread; without it the first threads race in
/// malloc's lazy initialisation (both adopt main_arena, and the second to
/// exit aborts in `__malloc_arena_thread_freeres`).
static CALLOC: AtomicUsize = AtomicUsize::new(0);
static FREE: AtomicUsize = AtomicUsize::new(0);

/// Set at start-up, before any object code runs.
pub fn set_malloc(calloc: usize, free: usize) {
    CALLOC.store(calloc, Ordering::Relaxed);
    FREE.store(free, Ordering::Relaxed);
}

/// Words from libc's `calloc`, zeroed; given back to libc's `free` when
/// dropped.
pub struct LibcWords {
    ptr: core::ptr::NonNull<AtomicUsize>,
    len: usize,
}

// SAFETY: the words are atomics, and libc's allocator may free them from
// any thread.
unsafe impl Send for LibcWords {}

/// Whether the program's calloc and free are known (`set_malloc`: a glibc
/// program run natively, after its objects were loaded).
pub fn have_libc_malloc() -> bool {
    CALLOC.load(Ordering::Relaxed) != 0
}

/// `calloc(count, size)` of the program's allocator: the address, or None
/// when it fails or before `set_malloc`. The caller gives it back with
/// `libc_free`, outside guardld's locks.
pub fn libc_calloc(count: usize, size: usize) -> Option<usize> {
    let f = CALLOC.load(Ordering::Relaxed);
    if f == 0 {
        return None;
    }
    // SAFETY: `f` is the program's `calloc` (`set_malloc`), called as
    // glibc's ld.so calls it.
    let p = unsafe {
        let f: Calloc = core::mem::transmute(f);
        f(count, size)
    };
    (!p.is_null()).then_some(p as usize)
}

/// `free(p)` of the program's allocator, for what `libc_calloc` gave.
pub fn libc_free(p: usize) {
    let f = FREE.load(Ordering::Relaxed);
    if f == 0 || p == 0 {
        return;
    }
    // SAFETY: `f` is the `free` paired with the `calloc` that made `p`
    // (`set_malloc` sets both once); the caller no longer uses `p`.
    unsafe {
        let f: Free = core::mem::transmute(f);
        f(p as *mut c_void);
    }
}

impl LibcWords {
    /// `calloc(count, size)`, `size` a multiple of the word; None when it
    /// fails or before `set_malloc`.
    pub fn calloc(count: usize, size: usize) -> Option<LibcWords> {
        let len = count.checked_mul(size)? / size_of::<usize>();
        if !size.is_multiple_of(size_of::<usize>()) {
            return None;
        }
        let p = libc_calloc(count, size)?;
        Some(LibcWords { ptr: core::ptr::NonNull::new(p as *mut AtomicUsize)?, len })
    }

    pub fn addr(&self) -> usize {
        self.ptr.as_ptr() as usize
    }
}

impl core::ops::Deref for LibcWords {
    type Target = [AtomicUsize];
    fn deref(&self) -> &[AtomicUsize] {
        // SAFETY: calloc returned `len` zeroed words, aligned for any
        // fundamental type; they stay allocated until `drop`.
        unsafe { core::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for LibcWords {
    fn drop(&mut self) {
        // No view outlives `self`.
        libc_free(self.addr());
    }
}

/// Unit tests: the host's libc allocator stands in for the program's.
#[cfg(test)]
pub fn use_host_malloc() {
    unsafe extern "C" {
        fn calloc(n: usize, size: usize) -> *mut c_void;
        fn free(p: *mut c_void);
    }
    set_malloc(calloc as usize, free as usize);
}

type MutexOp = unsafe extern "C" fn(*mut c_void) -> c_int;

/// A bounded NUL-terminated copy of `b` (longer texts are cut).
fn c_copy<const N: usize>(b: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    let n = b.len().min(N - 1);
    out[..n].copy_from_slice(&b[..n]);
    out
}

/// Raise `e` as glibc's ld.so does: through libc's `_dl_signal_error`,
/// which longjmps to the catch frame libc's `_dl_catch_error` set (RO's
/// catch function) or, without one, prints and exits 127. The longjmp
/// skips Rust frames, so callers call this last, with no lock held and
/// nothing alive that needs dropping; `e`'s memory is freed here, the
/// strings copied to this frame first (`_dl_exception_create` copies them
/// again before the jump).
fn raise(e: super::dlfcn::DlError) -> ! {
    let f = super::state::libc_fns().signal_error;
    let (code, occasion) = (e.errcode, e.occasion.map_or(core::ptr::null(), |o| o.as_ptr()));
    if f == 0 {
        crate::error::fatal("guardld", "glibc personality: no _dl_signal_error in libc.so.6");
    }
    // SAFETY: `f` is libc.so.6's `_dl_signal_error` (found in its symbol
    // table at start-up).
    let f: SignalError = unsafe { core::mem::transmute(f) };
    // Copied to this frame (the longjmp leaves it only after libc copied
    // them): long enough for ordinary paths, small enough for a thread's
    // minimal stack.
    const OBJ: usize = 1024;
    const TEXT: usize = 1536;
    if e.objname.len() < OBJ && e.text.len() < TEXT {
        let obj: [u8; OBJ] = c_copy(&e.objname);
        let text: [u8; TEXT] = c_copy(&e.text);
        drop(e);
        // SAFETY: the strings are NUL-terminated and live in this frame,
        // which the jump leaves only after they were copied; nothing
        // needing a drop is alive here or in the callers (see above).
        unsafe { f(code, obj.as_ptr().cast(), occasion, text.as_ptr().cast()) }
    }
    // Longer texts (glibc's are never cut) stay on the heap, listed for
    // this thread: `_dl_exception_create`, which libc calls before it
    // jumps, frees them once it copied them.
    let keep = |b: &[u8]| {
        let mut v = b.split(|&c| c == 0).next().unwrap_or_default().to_vec();
        v.push(0);
        v.into_boxed_slice()
    };
    let (obj, text) = (keep(&e.objname), keep(&e.text));
    drop(e);
    let (op, tp) = (obj.as_ptr(), text.as_ptr());
    // SAFETY: the personality runs glibc programs, whose %fs is libc's TCB.
    let me = unsafe { crate::arch::thread_pointer() };
    LONG_TEXTS.lock().extend([(me, obj), (me, text)]);
    // SAFETY: as above; the strings live until `_dl_exception_create` on
    // this thread has copied them.
    unsafe { f(code, op.cast(), occasion, tp.cast()) }
}

/// Message strings too long for `raise`'s frame, by thread (its thread
/// pointer), until `_dl_exception_create` copied them.
static LONG_TEXTS: crate::sys::lock::SpinLock<alloc::vec::Vec<(usize, alloc::boxed::Box<[u8]>)>> = crate::sys::lock::SpinLock::new(alloc::vec::Vec::new());

/// Lock (`true`) or unlock libc's recursive mutex at `m` (one of
/// `_rtld_global`'s load locks), as glibc's ld.so does through its own
/// copy of the mutex code.
fn libc_mutex(m: usize, lock: bool) {
    let fns = super::state::libc_fns();
    let f = if lock { fns.mutex_lock } else { fns.mutex_unlock };
    if f == 0 || m == 0 {
        return;
    }
    // SAFETY: `f` is libc.so.6's pthread_mutex_lock/unlock; `m` is a
    // pthread_mutex_t inside `_rtld_global` (static initializer: a
    // recursive mutex, as glibc's).
    unsafe {
        let f: MutexOp = core::mem::transmute(f);
        f(m as *mut c_void);
    }
}

/// `_dl_load_lock` (whole dlopen/dlclose, initializers included, as
/// glibc) and `_dl_load_write_lock` (changes of the object list).
fn load_lock(lock: bool) {
    libc_mutex(super::state::load_locks().map_or(0, |l| l.0), lock);
}

fn write_lock(lock: bool) {
    libc_mutex(super::state::load_locks().map_or(0, |l| l.1), lock);
}

/// `void *_dl_open(const char *file, int mode, const void *caller,
/// Lmid_t nsid, int argc, char *argv[], char *env[])` (RO's pointer,
/// behind dlopen, dlmopen and libc's own NSS, iconv and libgcc_s
/// loading; called inside libc's catch frame): the object's link map,
/// NULL for RTLD_NOLOAD of an object not loaded; errors raised.
///
/// # Safety
/// `file` is a NUL-terminated string (libc passes "" for dlopen(NULL)).
pub unsafe extern "C" fn dl_open(file: *const c_char, mode: c_int, caller: *const c_void, nsid: isize, _argc: c_int, _argv: *mut *mut c_char, _env: *mut *mut c_char) -> *mut c_void {
    // SAFETY: forwarded from the caller.
    let name = unsafe { c_str(file) };
    load_lock(true);
    match super::dlfcn::open(name, mode, caller as usize, nsid as i64) {
        Ok(Some(loaded)) => {
            write_lock(true);
            let o = super::dlfcn::publish(loaded);
            write_lock(false);
            o.inits.into_iter().for_each(crate::link::init::Calls::run_init);
            load_lock(false);
            o.map as *mut c_void
        }
        Ok(None) => {
            load_lock(false);
            core::ptr::null_mut()
        }
        Err(e) => {
            load_lock(false);
            raise(e)
        }
    }
}

/// `void _dl_close(void *map)` (RO's pointer, behind dlclose): drop a
/// reference; what is no longer referenced runs its finalizers and is
/// unloaded. Errors (a map not open) raised.
pub extern "C" fn dl_close(map: *mut c_void) {
    load_lock(true);
    match super::dlfcn::close(map as usize) {
        Ok(mut c) => {
            loop {
                let owner = c.owner;
                core::mem::take(&mut c.finis).into_iter().for_each(crate::link::init::Calls::run_fini);
                write_lock(true);
                super::dlfcn::unload(c);
                write_lock(false);
                match owner.then(super::dlfcn::close_again).flatten() {
                    Some(again) => c = again,
                    None => break,
                }
            }
            load_lock(false);
        }
        Err(e) => {
            load_lock(false);
            raise(e)
        }
    }
}

/// `lookup_t _dl_lookup_symbol_x(const char *name, struct link_map
/// *undef_map, const ElfW(Sym) **ref, struct r_scope_elem *scope[],
/// const struct r_found_version *version, int type_class, int flags,
/// struct link_map *skip_map)` (RO's pointer, behind dlsym, dlvsym and
/// libc's vDSO lookups): the defining link map, `*ref` its symbol; a
/// missing strong reference raises "undefined symbol".
///
/// # Safety
/// `name` is a C string; `reference` points at a `const ElfW(Sym) *`
/// (NULL or a symbol); `scope` is a NULL-terminated array of scope
/// elements; `version` is NULL or a `struct r_found_version`.
pub unsafe extern "C" fn lookup_symbol_x(name: *const c_char, undef_map: *mut c_void, reference: *mut *const crate::elf::pod::Sym, scope: *const usize, version: *const c_void, _type_class: c_int, flags: c_int, skip_map: *mut c_void) -> *mut c_void {
    // SAFETY: forwarded from the caller.
    let name = unsafe { c_str(name) };
    // The scope elements (at most 16: glibc's scopes hold a few).
    let mut elems = [0usize; 16];
    let mut n = 0;
    while n < elems.len() && !scope.is_null() {
        // SAFETY: libc's NULL-terminated array of scope pointers.
        let e = unsafe { scope.add(n).read() };
        if e == 0 {
            break;
        }
        elems[n] = e;
        n += 1;
    }
    let vsize = super::dlfcn::version_size();
    let vfields = (!version.is_null() && vsize > 0).then(|| {
        // SAFETY: libc passes a whole `struct r_found_version`.
        super::dlfcn::version_fields(unsafe { core::slice::from_raw_parts(version as *const u8, vsize) })
    });
    let request = match vfields {
        None => None,
        Some(None) => crate::error::fatal("guardld", "glibc personality: glibc layout table: no struct r_found_version"),
        Some(Some((vname, hash, file, hidden))) => Some(super::dlfcn::VersionRequest {
            // SAFETY: the request's name is a C string.
            name: unsafe { c_str(vname as *const c_char) },
            hash,
            // SAFETY: its filename is NULL or a C string.
            filename: (file != 0).then(|| unsafe { c_str(file as *const c_char) }),
            hidden,
        }),
    };
    // SAFETY: `*reference` is NULL or a symbol (libc's own, e.g. the weak
    // dummy of its vDSO lookups).
    let weak = unsafe { reference.read().as_ref() }.is_some_and(|s| s.bind() == crate::elf::symbols::STB_WEAK);
    let argv0 = argv0();
    let newest = super::dlfcn::return_newest(flags);
    let add_dependency = super::dlfcn::adds_dependency(flags);
    let q = super::dlfcn::Lookup { name, undef_map: undef_map as usize, scope: &elems[..n], version: request, skip_map: skip_map as usize, weak, argv0, newest, plt: false, add_dependency };
    let r = super::dlfcn::lookup(&q);
    match r {
        Ok(found) => {
            let (map, sym) = found.unwrap_or((0, 0));
            // SAFETY: libc's out-pointer.
            unsafe { reference.write(sym as *const crate::elf::pod::Sym) };
            map as *mut c_void
        }
        Err(e) => raise(e),
    }
}

/// The program's argv[0] ("" if none), which glibc's messages name it by.
pub fn argv0() -> &'static [u8] {
    let argv = _dl_argv.load(Ordering::Relaxed) as *const *const c_char;
    if argv.is_null() {
        return b"";
    }
    // SAFETY: `_dl_argv` is the program's argv (argv[0] a C string or
    // NULL), which lives as long as the process.
    unsafe { c_str(argv.read()) }
}

/// `_dl_fixup` for the PLT stubs lazy binding left (`glibc::lazy`): called
/// by `arch::lazy_trampoline` with GOT[1] (the object) and the relocation
/// index; returns the function to jump to. A name nothing defines is
/// glibc's error, through libc (fatal: exit 127).
pub extern "C" fn guardld_lazy_fixup(obj: usize, index: usize) -> usize {
    match super::lazy::fixup(obj, index) {
        Ok(a) => a,
        Err(e) => raise(e),
    }
}

/// A thread's TLS area as libc placed it: the static TLS below `tcb` and
/// the `struct pthread` from it (`threads::area_bounds`).
///
/// # Safety
/// `tcb` is the TCB of a thread that is not running (being created, or
/// its stack taken from libc's cache), in memory libc mapped for it with
/// RO's `_dl_tls_static_size` bytes of static TLS and TCB (the layout's
/// static size below `tcb`, the TCB from it).
unsafe fn thread_area<'a>(tcb: *mut c_void) -> Option<&'a mut [u8]> {
    let (below, above) = super::threads::area_bounds();
    let start = (tcb as usize).checked_sub(below)?;
    // SAFETY: forwarded from the caller; nothing else touches the area
    // while libc sets the thread up.
    Some(unsafe { core::slice::from_raw_parts_mut(start as *mut u8, below + above) })
}

/// `void *_dl_allocate_tls(void *tcb)`: a DTV for the thread whose TCB
/// libc placed at `tcb` (pthread_create), its TLS blocks initialised; with
/// NULL, the area too (guardld's). NULL when out of memory.
///
/// # Safety
/// `tcb` is NULL or as `thread_area` requires.
#[cfg_attr(not(test), unsafe(no_mangle))] // a test binary must not interpose glibc's ld.so
pub unsafe extern "C" fn _dl_allocate_tls(tcb: *mut c_void) -> *mut c_void {
    let tp = if tcb.is_null() {
        super::threads::allocate_storage()
    } else {
        // SAFETY: forwarded from the caller.
        unsafe { thread_area(tcb) }.and_then(|area| super::threads::allocate(tcb as usize, area))
    };
    tp.map_or(core::ptr::null_mut(), |t| t as *mut c_void)
}

/// `void *_dl_allocate_tls_init(void *tcb, bool init_tls)`: the TLS of a
/// thread whose stack libc reuses from its cache, initialised again.
///
/// # Safety
/// `tcb` is NULL or as `thread_area` requires.
#[cfg_attr(not(test), unsafe(no_mangle))] // a test binary must not interpose glibc's ld.so
pub unsafe extern "C" fn _dl_allocate_tls_init(tcb: *mut c_void, _init_tls: bool) -> *mut c_void {
    if tcb.is_null() {
        return tcb;
    }
    // SAFETY: forwarded from the caller.
    let tp = unsafe { thread_area(tcb) }.and_then(|area| super::threads::init(tcb as usize, area));
    tp.map_or(core::ptr::null_mut(), |t| t as *mut c_void)
}

/// `void _dl_deallocate_tls(void *tcb, bool dealloc_tcb)`: the DTV given
/// to `tcb` taken back (libc frees the stack next); the area too when
/// guardld allocated it and `dealloc_tcb`.
#[cfg_attr(not(test), unsafe(no_mangle))] // a test binary must not interpose glibc's ld.so
pub extern "C" fn _dl_deallocate_tls(tcb: *mut c_void, dealloc_tcb: bool) {
    super::threads::deallocate(tcb as usize, dealloc_tcb);
}

/// `int __nptl_change_stack_perm(struct pthread *pd)`: make the thread's
/// stack (above its guard) executable; 0 or an errno value.
///
/// # Safety
/// `pd` points at a `struct pthread` libc made for a thread stack.
#[cfg_attr(not(test), unsafe(no_mangle))] // a test binary must not interpose glibc's ld.so
pub unsafe extern "C" fn __nptl_change_stack_perm(pd: *mut c_void) -> c_int {
    // SAFETY: the caller passes a whole `struct pthread`; it is only read.
    let pd = unsafe { core::slice::from_raw_parts(pd as *const u8, super::threads::pthread_size()) };
    let Some((start, len)) = super::threads::stack_to_protect(pd) else { return rustix::io::Errno::INVAL.raw_os_error() };
    let rwx = rustix::mm::MprotectFlags::READ | rustix::mm::MprotectFlags::WRITE | rustix::mm::MprotectFlags::EXEC;
    // SAFETY: the range is the thread's stack block above its guard, which
    // libc mapped; adding permissions invalidates no memory.
    match unsafe { rustix::mm::mprotect(start as *mut c_void, len, rwx) } {
        Ok(()) => 0,
        Err(e) => e.raw_os_error(),
    }
}

/// glibc's `_dl_make_stacks_executable`, for an object loaded with
/// PT_GNU_STACK PF_X: the main stack (its page at `__libc_stack_end`, with
/// PROT_GROWSDOWN: the whole stack VMA below it), `_dl_stack_flags |= PF_X`
/// (libc then maps new thread stacks executable), and every thread stack
/// on libc's used and cache lists, under libc's `_dl_stack_cache_lock`.
/// 0 or an errno value. `page`: the page size (AT_PAGESZ).
pub fn make_stacks_executable(page: usize) -> c_int {
    use rustix::mm::MprotectFlags as P;
    let top = __libc_stack_end.load(Ordering::Relaxed) & !(page - 1);
    // SAFETY: adding permissions to the main stack invalidates no memory.
    if let Err(e) = unsafe { rustix::mm::mprotect(top as *mut c_void, page, P::READ | P::WRITE | P::EXEC | P::GROWSDOWN) } {
        return e.raw_os_error();
    }
    if super::state::add_stack_flags(crate::map::PF_X as u64).is_err() {
        return rustix::io::Errno::INVAL.raw_os_error();
    }
    let Ok(l) = super::state::stack_lists() else { return rustix::io::Errno::INVAL.raw_os_error() };
    // SAFETY: `l.lock` is `_rtld_global._dl_stack_cache_lock`, a 4-byte
    // aligned int inside our own `_rtld_global` that libc's threads use as
    // a lowlevellock (0 free, 1 taken, 2 taken with waiters).
    let lock = unsafe { &*(l.lock as *const core::sync::atomic::AtomicU32) };
    let flags = rustix::thread::futex::Flags::PRIVATE;
    if lock.compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed).is_err() {
        while lock.swap(2, Ordering::Acquire) != 0 {
            let _ = rustix::thread::futex::wait(lock, flags, 2, None);
        }
    }
    let mut err = 0;
    'lists: for head in l.heads {
        // SAFETY: the heads are list_heads in `_rtld_global`, and every
        // node on them is the `list` member of a `struct pthread` libc
        // keeps while the lock is held; the walk is bounded.
        let mut node = unsafe { ((head + l.next) as *const usize).read() };
        for _ in 0..1 << 20 {
            if node == head || node == 0 {
                break;
            }
            // SAFETY: as above: `node - pd_list` is the thread's `struct pthread`.
            err = unsafe { __nptl_change_stack_perm((node - l.pd_list) as *mut c_void) };
            if err != 0 {
                break 'lists;
            }
            // SAFETY: as above.
            node = unsafe { ((node + l.next) as *const usize).read() };
        }
    }
    if lock.swap(0, Ordering::Release) == 2 {
        let _ = rustix::thread::futex::wake(lock, flags, 1);
    }
    err
}

/// `void _dl_rtld_di_serinfo(struct link_map *, Dl_serinfo *, bool
/// counting)` (dlinfo RTLD_DI_SERINFO and RTLD_DI_SERINFOSIZE): the
/// directories a search from that object goes through.
///
/// # Safety
/// `si` points at a `Dl_serinfo` whose `dls_size` bytes are writable (when
/// counting: the header).
#[cfg_attr(not(test), unsafe(no_mangle))] // a test binary must not interpose glibc's ld.so
pub unsafe extern "C" fn _dl_rtld_di_serinfo(l: *mut c_void, si: *mut c_void, counting: bool) {
    let header = super::dlfcn::serinfo_header_size();
    if header == 0 {
        crate::error::fatal("guardld", "glibc personality: glibc layout table: no Dl_serinfo");
    }
    let len = if counting {
        header
    } else {
        // SAFETY: the caller's header (its dls_size says how much follows).
        super::dlfcn::serinfo_size(unsafe { core::slice::from_raw_parts(si as *const u8, header) }).max(header)
    };
    // SAFETY: libc passes the caller's buffer, `len` bytes as its header says.
    let buf = unsafe { core::slice::from_raw_parts_mut(si as *mut u8, len) };
    let dirs = super::dlfcn::search_path(l as usize);
    if !super::dlfcn::fill_serinfo(buf, si as usize, &dirs, counting) {
        crate::error::fatal("guardld", "glibc personality: glibc layout table: Dl_serinfo does not fit");
    }
}

/// `void _dl_exception_create(struct dl_exception *, const char *objname,
/// const char *errstring)`: libc raises its own dl* errors through it,
/// and guardld's through libc. As glibc's, the strings are copied into
/// one message buffer (`message_buffer` == `errstring`, so libc hands it
/// back to RO's `_dl_error_free`).
///
/// # Safety
/// `exc` points at a writable `struct dl_exception`; the strings are NULL
/// or NUL-terminated.
#[cfg_attr(not(test), unsafe(no_mangle))] // a test binary must not interpose glibc's ld.so
pub unsafe extern "C" fn _dl_exception_create(exc: *mut c_void, objname: *const c_char, errstring: *const c_char) {
    // SAFETY: forwarded from the caller.
    let bytes = super::dlfcn::exception(unsafe { c_str(objname) }, unsafe { c_str(errstring) });
    if bytes.is_empty() {
        crate::error::fatal("guardld", "glibc personality: glibc layout table: no struct dl_exception");
    }
    // SAFETY: libc passes a whole `struct dl_exception` (the build's size).
    unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), exc as *mut u8, bytes.len()) };
    // The strings are copied: a long text `raise` kept for this thread
    // can go.
    let mut long = LONG_TEXTS.lock();
    if !long.is_empty() {
        // SAFETY: called by libc, on a thread with libc's TCB.
        let me = unsafe { crate::arch::thread_pointer() };
        long.retain(|(t, _)| *t != me);
    }
}

/// `_dl_fatal_printf(const char *fmt, ...)`'s body (`arch::_dl_fatal_printf`
/// spills the variadic arguments): print and exit 127.
///
/// # Safety
/// `regs` holds the five register arguments after `fmt`; `stack` is the
/// caller's stack arguments, read only as far as the format asks.
pub unsafe extern "C" fn fatal_printf_va(fmt: *const c_char, regs: *const usize, stack: *const usize) -> ! {
    // SAFETY: forwarded.
    unsafe { print_va(fmt, regs, stack) };
    crate::sys::exit(crate::error::EXIT_FAILURE)
}

/// `_dl_debug_printf(const char *fmt, ...)`'s body (RO's pointer is
/// `arch::debug_printf`).
///
/// # Safety
/// As `fatal_printf_va`.
pub unsafe extern "C" fn debug_printf_va(fmt: *const c_char, regs: *const usize, stack: *const usize) {
    // SAFETY: forwarded.
    unsafe { print_va(fmt, regs, stack) };
}

/// Print a variadic call's format with its arguments.
///
/// # Safety
/// As `fatal_printf_va`.
unsafe fn print_va(fmt: *const c_char, regs: *const usize, stack: *const usize) {
    // SAFETY: glibc passes a format string.
    let f = unsafe { c_str(fmt) };
    let n = conversions(f).min(16);
    // SAFETY: the variadic convention: the first five after `fmt` in
    // registers (spilled to `regs`), the rest on the caller's stack, as
    // many as the format converts.
    let args: alloc::vec::Vec<usize> = (0..n).map(|k| unsafe { if k < 5 { regs.add(k).read() } else { stack.add(k - 5).read() } }).collect();
    print_c_format(f, &args);
}

/// How many arguments a format converts (`%%` takes none).
fn conversions(fmt: &[u8]) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < fmt.len() {
        i += 1;
        if fmt[i - 1] != b'%' {
            continue;
        }
        while i < fmt.len() && matches!(fmt[i], b'l' | b'z' | b'0'..=b'9' | b'.' | b'-') {
            i += 1;
        }
        match fmt.get(i) {
            Some(b'%') | None => {}
            // `*` widths take an argument too, but glibc's loader formats
            // use none.
            Some(_) => n += 1,
        }
        i += 1;
    }
    n
}

/// glibc's loader printf subset (%s %d %u %x %p %c %%, with l/z sizes) to
/// stderr; a conversion without an argument prints as "?".
fn print_c_format(fmt: &[u8], args: &[usize]) {
    crate::sys::write_fd(2, &format_c(fmt, args));
}

/// `fmt` with `args` (see `print_c_format`).
fn format_c(fmt: &[u8], args: &[usize]) -> alloc::vec::Vec<u8> {
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
        // Without l or z the integer is an int: only the low 32 bits of
        // its register are the argument.
        let mut long = false;
        while i < fmt.len() && matches!(fmt[i], b'l' | b'z' | b'0'..=b'9' | b'.' | b'*' | b'-') {
            long |= matches!(fmt[i], b'l' | b'z');
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
            b'd' | b'i' if long => alloc::format!("{}", v as i64),
            b'd' | b'i' => alloc::format!("{}", v as i32),
            b'u' | b'x' if !long => {
                let v = v as u32;
                if conv == b'u' { alloc::format!("{v}") } else { alloc::format!("{v:x}") }
            }
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
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// glibc's loader formats: an int is the low half of its register, a
    /// long all of it; every conversion but %% takes an argument.
    #[test]
    fn loader_printf_subset() {
        let s = |fmt: &str, args: &[usize]| String::from_utf8(format_c(fmt.as_bytes(), args)).unwrap();
        assert_eq!(s("%d %u %x", &[0xdead_0000_ffff_ffff, 0x1_0000_0002, 0xffff_0000_0000_00ab]), "-1 2 ab");
        assert_eq!(s("%ld %lu %zx", &[usize::MAX, 7, 0x1_0000_0000]), "-1 7 100000000");
        let (a, b) = (c"prog", c"lib.so");
        assert_eq!(s("%s: %s: %s%%", &[a.as_ptr() as usize, b.as_ptr() as usize]), "prog: lib.so: ?%");
        assert_eq!(conversions(b"%s: %s: %s%s%s%s%s\n"), 7);
        assert_eq!(conversions(b"100%% %ld %c"), 2);
    }
}
