//! Rust binding of guardld's runtime API (the C interface is
//! `include/guardld.h`; the implementation `loader/src/api.rs` and
//! `loader/src/tls.rs`).
//!
//! * [`sys`]: the raw `extern "C"` declarations and `#[repr(C)]` records.
//! * Wrappers: [`dlopen`] (a [`Result`] whose error carries dlerror's
//!   text as a [`CStr`]), [`dlsym`], [`dlvsym`], [`dlclose`], [`dladdr`],
//!   [`for_each_object`] (dl_iterate_phdr), [`for_each_guard`] and
//!   [`guards`] (guardld_guards, the latter into a fixed-capacity buffer),
//!   [`tls_alloc`] / [`tls_free`].
//!
//! `no_std`, no dependencies, no allocation. Nothing here defines the
//! symbols: the final program must have a DT_NEEDED on guardld, made by
//! linking it with lld against the guardld binary itself (see
//! docs/api.md). guardld is also always last in the global scope, so a
//! program that already runs under guardld resolves these names at load
//! time even without the NEEDED, provided the link allowed them to stay
//! undefined.
#![cfg_attr(not(test), no_std)]
// DlError carries a copy of the message (no allocator in no_std): a large
// error type is the price of not pointing into the loader's buffer, which
// the next dlerror call frees.
#![allow(clippy::result_large_err)]

use core::ffi::{CStr, c_char, c_int, c_void};
use core::ops::ControlFlow;
use core::ptr::NonNull;

/// The raw C interface, as declared in include/guardld.h.
pub mod sys {
    use core::ffi::{c_char, c_int, c_void};

    pub const RTLD_LAZY: c_int = 0x00001;
    pub const RTLD_NOW: c_int = 0x00002;
    pub const RTLD_NOLOAD: c_int = 0x00004;
    pub const RTLD_GLOBAL: c_int = 0x00100;
    pub const RTLD_LOCAL: c_int = 0;
    pub const RTLD_NODELETE: c_int = 0x01000;
    pub const RTLD_DEFAULT: *mut c_void = core::ptr::null_mut();
    pub const RTLD_NEXT: *mut c_void = usize::MAX as *mut c_void;

    /// `Dl_info`.
    #[repr(C)]
    #[derive(Clone, Copy, Debug)]
    pub struct DlInfo {
        pub dli_fname: *const c_char,
        pub dli_fbase: *mut c_void,
        pub dli_sname: *const c_char,
        pub dli_saddr: *mut c_void,
    }

    /// `struct dl_phdr_info`.
    #[repr(C)]
    #[derive(Clone, Copy, Debug)]
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

    /// `struct guardld_guard`.
    #[repr(C)]
    #[derive(Clone, Copy, Debug)]
    pub struct GuardldGuard {
        pub object: *const c_char,
        pub start: usize,
        pub len: usize,
        /// 0 guard, 1 prot-none, 2 extend.
        pub mode: c_int,
        /// Pages the kernel reports guarded (pagemap), -1 unknown.
        pub confirmed_pages: isize,
    }

    pub type PhdrCallback = unsafe extern "C" fn(*mut DlPhdrInfo, usize, *mut c_void) -> c_int;
    pub type GuardCallback = unsafe extern "C" fn(*const GuardldGuard, *mut c_void) -> c_int;

    unsafe extern "C" {
        pub fn dlopen(file: *const c_char, mode: c_int) -> *mut c_void;
        /// RTLD_NEXT is relative to the object containing the call's return
        /// address: call it from the object whose "next" is wanted.
        pub fn dlsym(handle: *mut c_void, name: *const c_char) -> *mut c_void;
        pub fn dlvsym(handle: *mut c_void, name: *const c_char, version: *const c_char) -> *mut c_void;
        pub fn dlclose(handle: *mut c_void) -> c_int;
        pub fn dlerror() -> *mut c_char;
        pub fn dladdr(addr: *const c_void, info: *mut DlInfo) -> c_int;
        pub fn dl_iterate_phdr(cb: Option<PhdrCallback>, data: *mut c_void) -> c_int;
        pub fn guardld_guards(cb: Option<GuardCallback>, data: *mut c_void) -> c_int;
        pub fn guardld_tls_alloc() -> *mut c_void;
        pub fn guardld_tls_free(tp: *mut c_void);
    }
}

pub use sys::{RTLD_GLOBAL, RTLD_LAZY, RTLD_LOCAL, RTLD_NODELETE, RTLD_NOLOAD, RTLD_NOW};

// ---------------------------------------------------------------- errors ----

/// Bytes of a dlerror message kept by [`DlError`] (including the NUL);
/// longer messages are truncated (see [`DlError::truncated`]).
pub const ERROR_CAPACITY: usize = 512;

/// A failed call, with a copy of dlerror's text taken right after it (the
/// loader's string is only valid until the next dlerror call, from any
/// thread: guardld keeps one process-wide error).
#[derive(Clone)]
pub struct DlError {
    buf: [u8; ERROR_CAPACITY],
    /// Message length without the NUL.
    len: usize,
    truncated: bool,
}

impl DlError {
    /// A copy of `msg` (at most ERROR_CAPACITY - 1 bytes of it).
    pub fn from_message(msg: &[u8]) -> DlError {
        let mut buf = [0u8; ERROR_CAPACITY];
        // A message cannot contain a NUL: stop at one.
        let msg = msg.split(|&b| b == 0).next().unwrap_or(&[]);
        let len = msg.len().min(ERROR_CAPACITY - 1);
        buf[..len].copy_from_slice(&msg[..len]);
        DlError { buf, len, truncated: len < msg.len() }
    }

    /// The failure with no message (dlerror returned NULL: e.g. an
    /// RTLD_NOLOAD dlopen of an object that is not loaded).
    pub fn none() -> DlError {
        DlError::from_message(b"")
    }

    /// Take the loader's current error (calls dlerror, which clears it).
    pub fn take() -> DlError {
        // SAFETY: dlerror returns NULL or a NUL-terminated string valid
        // until the next dlerror call; it is copied at once.
        let p = unsafe { sys::dlerror() };
        if p.is_null() {
            DlError::none()
        } else {
            // SAFETY: see above.
            DlError::from_message(unsafe { CStr::from_ptr(p) }.to_bytes())
        }
    }

    /// dlerror's text ("" if there was none).
    pub fn message(&self) -> &CStr {
        // The buffer holds `len` non-NUL bytes followed by a NUL.
        CStr::from_bytes_until_nul(&self.buf[..=self.len]).unwrap_or(c"")
    }

    /// dlerror had no message.
    pub fn is_none(&self) -> bool {
        self.len == 0
    }

    /// The message was longer than ERROR_CAPACITY - 1 bytes.
    pub fn truncated(&self) -> bool {
        self.truncated
    }
}

impl core::fmt::Debug for DlError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("DlError").field(&self.message()).finish()
    }
}

impl core::fmt::Display for DlError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for chunk in self.message().to_bytes().utf8_chunks() {
            f.write_str(chunk.valid())?;
            if !chunk.invalid().is_empty() {
                f.write_str("\u{fffd}")?;
            }
        }
        if self.truncated {
            f.write_str("...")?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- handles ----

/// A dlopen handle, or one of the pseudo-handles [`Handle::DEFAULT`] and
/// [`Handle::NEXT`]. Copy: closing is explicit ([`dlclose`]), as in C.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Handle(*mut c_void);

impl Handle {
    /// RTLD_DEFAULT: the global scope.
    pub const DEFAULT: Handle = Handle(sys::RTLD_DEFAULT);
    /// RTLD_NEXT: the objects after the caller's in the global scope.
    pub const NEXT: Handle = Handle(sys::RTLD_NEXT);

    /// The raw pointer (for the C interface).
    pub fn as_ptr(self) -> *mut c_void {
        self.0
    }

    /// # Safety
    /// `p` came from dlopen or is RTLD_DEFAULT / RTLD_NEXT.
    pub unsafe fn from_ptr(p: *mut c_void) -> Handle {
        Handle(p)
    }
}

/// `dlopen(file, mode)`; `None` for the program itself (dlopen(NULL)).
/// Runs the constructors of the objects it loads. An RTLD_NOLOAD open of
/// an object that is not loaded fails with an empty message.
pub fn dlopen(file: Option<&CStr>, mode: c_int) -> Result<Handle, DlError> {
    // SAFETY: a C string or NULL.
    let h = unsafe { sys::dlopen(file.map_or(core::ptr::null(), CStr::as_ptr), mode) };
    if h.is_null() { Err(DlError::take()) } else { Ok(Handle(h)) }
}

/// `dlsym(handle, name)`. With [`Handle::NEXT`] the search starts after the
/// object this wrapper is linked into (the caller's object, as this crate
/// is linked statically).
pub fn dlsym(handle: Handle, name: &CStr) -> Result<NonNull<c_void>, DlError> {
    // SAFETY: a handle and a C string.
    let p = unsafe { sys::dlsym(handle.0, name.as_ptr()) };
    NonNull::new(p).ok_or_else(DlError::take)
}

/// `dlvsym(handle, name, version)`.
pub fn dlvsym(handle: Handle, name: &CStr, version: &CStr) -> Result<NonNull<c_void>, DlError> {
    // SAFETY: a handle and C strings.
    let p = unsafe { sys::dlvsym(handle.0, name.as_ptr(), version.as_ptr()) };
    NonNull::new(p).ok_or_else(DlError::take)
}

/// `dlclose(handle)`: drops a reference; the last one runs the finalizers
/// and unmaps.
///
/// # Safety
/// Nothing may use code or data of the objects it unloads afterwards
/// (function pointers from dlsym, [`Symbol`] and [`Object`] strings).
pub unsafe fn dlclose(handle: Handle) -> Result<(), DlError> {
    // SAFETY: the caller's promise.
    if unsafe { sys::dlclose(handle.0) } == 0 { Ok(()) } else { Err(DlError::take()) }
}

/// What [`dladdr`] knows of an address. The strings live as long as their
/// object stays loaded.
#[derive(Clone, Copy, Debug)]
pub struct Symbol {
    /// Path of the containing object.
    pub fname: &'static CStr,
    /// Its load base (lowest mapped address).
    pub fbase: usize,
    /// Nearest symbol at or below the address, with its address.
    pub sname: Option<&'static CStr>,
    pub saddr: usize,
}

/// `dladdr(addr)`: `None` if no loaded object contains it. Any address
/// value is fine: guardld only compares it with the objects' ranges, it
/// never reads through it.
#[allow(clippy::not_unsafe_ptr_arg_deref)]
pub fn dladdr(addr: *const c_void) -> Option<Symbol> {
    let mut i = sys::DlInfo {
        dli_fname: core::ptr::null(),
        dli_fbase: core::ptr::null_mut(),
        dli_sname: core::ptr::null(),
        dli_saddr: core::ptr::null_mut(),
    };
    // SAFETY: writes the record only.
    if unsafe { sys::dladdr(addr, &mut i) } == 0 {
        return None;
    }
    // SAFETY: NULL or C strings owned by the loader, alive while loaded.
    unsafe {
        Some(Symbol {
            fname: cstr_or_empty(i.dli_fname),
            fbase: i.dli_fbase as usize,
            sname: (!i.dli_sname.is_null()).then(|| CStr::from_ptr(i.dli_sname)),
            saddr: i.dli_saddr as usize,
        })
    }
}

/// # Safety
/// `p` is NULL or a C string that lives for the rest of the program (or
/// as long as the caller uses the result).
unsafe fn cstr_or_empty(p: *const c_char) -> &'static CStr {
    if p.is_null() { c"" } else { unsafe { CStr::from_ptr(p) } }
}

// --------------------------------------------------------------- objects ----

/// One loaded object, as [`for_each_object`] reports it.
#[derive(Clone, Copy, Debug)]
pub struct Object<'a> {
    /// Path; "" for the program.
    pub name: &'a CStr,
    /// Load bias (dlpi_addr).
    pub bias: usize,
    pub phdr: *const c_void,
    pub phnum: u16,
    /// TLS module id, 0 if none.
    pub tls_modid: usize,
    /// The calling thread's TLS block of the object, or null.
    pub tls_data: *mut c_void,
}

/// `dl_iterate_phdr`: calls `f` for each loaded object (the program first)
/// until it breaks. Returns how many objects `f` saw.
pub fn for_each_object<F: FnMut(&Object<'_>) -> ControlFlow<()>>(mut f: F) -> usize {
    struct State<'f, F> {
        f: &'f mut F,
        n: usize,
    }
    unsafe extern "C" fn tramp<F: FnMut(&Object<'_>) -> ControlFlow<()>>(
        info: *mut sys::DlPhdrInfo,
        _size: usize,
        data: *mut c_void,
    ) -> c_int {
        // SAFETY: `data` is the State below, `info` a valid record for the
        // duration of the call.
        let (st, i) = unsafe { (&mut *(data as *mut State<'_, F>), &*info) };
        st.n += 1;
        let o = Object {
            // SAFETY: NULL or a C string valid during the call.
            name: unsafe { cstr_or_empty(i.dlpi_name) },
            bias: i.dlpi_addr,
            phdr: i.dlpi_phdr,
            phnum: i.dlpi_phnum,
            tls_modid: i.dlpi_tls_modid,
            tls_data: i.dlpi_tls_data,
        };
        match (st.f)(&o) {
            ControlFlow::Continue(()) => 0,
            ControlFlow::Break(()) => 1,
        }
    }
    let mut st = State { f: &mut f, n: 0 };
    // SAFETY: the trampoline matches the state's type.
    unsafe { sys::dl_iterate_phdr(Some(tramp::<F>), &mut st as *mut State<'_, F> as *mut c_void) };
    st.n
}

// ---------------------------------------------------------------- guards ----

/// How a padding range is covered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuardMode {
    /// A guard region (MADV_GUARD_INSTALL): no VMA of its own.
    Guard,
    /// A PROT_NONE mapping (glibc's layout, or the fallback).
    ProtNone,
    /// Left accessible (`--padding extend`).
    Extend,
    /// A value this binding does not know.
    Other(i32),
}

impl GuardMode {
    pub fn from_raw(m: c_int) -> GuardMode {
        match m {
            0 => GuardMode::Guard,
            1 => GuardMode::ProtNone,
            2 => GuardMode::Extend,
            m => GuardMode::Other(m),
        }
    }
}

/// One padding range of a loaded object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GuardRange {
    /// Path of the object ("" for a program started through PT_INTERP).
    /// Valid while the object stays loaded.
    pub object: &'static CStr,
    pub start: usize,
    pub len: usize,
    pub mode: GuardMode,
    /// Pages the kernel reports guarded (pagemap bit 58); `None` if the
    /// kernel cannot say.
    pub confirmed_pages: Option<usize>,
}

impl GuardRange {
    /// # Safety
    /// `g.object` is NULL or a C string that stays valid while the object
    /// is loaded.
    pub unsafe fn from_raw(g: &sys::GuardldGuard) -> GuardRange {
        GuardRange {
            // SAFETY: the caller's promise.
            object: unsafe { cstr_or_empty(g.object) },
            start: g.start,
            len: g.len,
            mode: GuardMode::from_raw(g.mode),
            confirmed_pages: usize::try_from(g.confirmed_pages).ok(),
        }
    }

    /// One past the last byte.
    pub fn end(&self) -> usize {
        self.start + self.len
    }

    /// Whole 4 KiB pages in the range.
    pub fn pages(&self) -> usize {
        self.len / 4096
    }

    /// Every page is a guard the kernel confirmed.
    pub fn fully_guarded(&self) -> bool {
        self.mode == GuardMode::Guard && self.confirmed_pages == Some(self.pages())
    }

    pub fn contains(&self, addr: usize) -> bool {
        addr >= self.start && addr < self.end()
    }
}

/// Calls `f` for each padding range of each loaded object until it breaks;
/// returns the number of ranges guardld reported (all of them if `f` never
/// broke).
pub fn for_each_guard<F: FnMut(&GuardRange) -> ControlFlow<()>>(mut f: F) -> usize {
    struct State<'f, F> {
        f: &'f mut F,
        n: usize,
    }
    unsafe extern "C" fn tramp<F: FnMut(&GuardRange) -> ControlFlow<()>>(
        g: *const sys::GuardldGuard,
        data: *mut c_void,
    ) -> c_int {
        // SAFETY: `data` is the State below; `g` a valid record whose
        // object string lives while the object is loaded.
        let (st, r) = unsafe { (&mut *(data as *mut State<'_, F>), GuardRange::from_raw(&*g)) };
        st.n += 1;
        match (st.f)(&r) {
            ControlFlow::Continue(()) => 0,
            ControlFlow::Break(()) => 1,
        }
    }
    let mut st = State { f: &mut f, n: 0 };
    // SAFETY: the trampoline matches the state's type.
    let r = unsafe { sys::guardld_guards(Some(tramp::<F>), &mut st as *mut State<'_, F> as *mut c_void) };
    if r > 0 && st.n == r as usize { r as usize } else { st.n }
}

/// Default capacity of [`guards`].
pub const GUARDS_CAPACITY: usize = 128;

/// Guard ranges collected into a fixed-capacity buffer ([`guards`],
/// [`guards_n`]); iterate it, or ask whether it overflowed.
pub struct Guards<const N: usize> {
    buf: [Option<GuardRange>; N],
    len: usize,
    /// Ranges guardld reported (may exceed N).
    total: usize,
    next: usize,
}

impl<const N: usize> Guards<N> {
    pub const fn new() -> Guards<N> {
        Guards { buf: [None; N], len: 0, total: 0, next: 0 }
    }

    /// Record one range (kept if there is room; always counted).
    pub fn push(&mut self, r: GuardRange) {
        if self.len < N {
            self.buf[self.len] = Some(r);
            self.len += 1;
        }
        self.total += 1;
    }

    /// All ranges guardld reported, kept or not.
    pub fn total(&self) -> usize {
        self.total
    }

    /// More ranges than the capacity: some were dropped.
    pub fn truncated(&self) -> bool {
        self.total > N
    }

    /// The kept ranges.
    pub fn as_slice(&self) -> impl Iterator<Item = &GuardRange> {
        self.buf[..self.len].iter().flatten()
    }
}

impl<const N: usize> Default for Guards<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Iterator for Guards<N> {
    type Item = GuardRange;
    fn next(&mut self) -> Option<GuardRange> {
        if self.next < self.len {
            self.next += 1;
            self.buf[self.next - 1]
        } else {
            None
        }
    }
}

/// Every padding range of every loaded object (up to [`GUARDS_CAPACITY`];
/// see [`Guards::truncated`]).
pub fn guards() -> Guards<GUARDS_CAPACITY> {
    guards_n()
}

/// [`guards`] with a chosen capacity.
pub fn guards_n<const N: usize>() -> Guards<N> {
    let mut g = Guards::new();
    for_each_guard(|r| {
        g.push(*r);
        ControlFlow::Continue(())
    });
    g
}

// ------------------------------------------------------------------- TLS ----

/// `guardld_tls_alloc()`: a TLS area and TCB for a new thread; pass the
/// pointer as clone(2)'s tls argument with CLONE_SETTLS.
pub fn tls_alloc() -> Option<NonNull<c_void>> {
    // SAFETY: no arguments; NULL on failure.
    NonNull::new(unsafe { sys::guardld_tls_alloc() })
}

/// `guardld_tls_free(tp)`.
///
/// # Safety
/// `tp` came from [`tls_alloc`] and its thread has exited.
pub unsafe fn tls_free(tp: NonNull<c_void>) {
    // SAFETY: the caller's promise.
    unsafe { sys::guardld_tls_free(tp.as_ptr()) }
}

// ------------------------------------------------------------------- tests ----

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_copy_and_truncation() {
        let e = DlError::from_message(b"libx.so: cannot open shared object file");
        assert_eq!(e.message(), c"libx.so: cannot open shared object file");
        assert!(!e.truncated() && !e.is_none());
        let long = [b'a'; 2 * ERROR_CAPACITY];
        let e = DlError::from_message(&long);
        assert_eq!(e.message().to_bytes().len(), ERROR_CAPACITY - 1);
        assert!(e.truncated());
        assert!(format!("{e}").ends_with("aaa..."));
        let e = DlError::from_message(b"stop\0here");
        assert_eq!(e.message(), c"stop");
        assert!(DlError::none().is_none());
        assert_eq!(DlError::none().message(), c"");
        let e = DlError::from_message(b"bad \xff byte");
        assert_eq!(format!("{e}"), "bad \u{fffd} byte");
    }

    #[test]
    fn guard_modes() {
        assert_eq!(GuardMode::from_raw(0), GuardMode::Guard);
        assert_eq!(GuardMode::from_raw(1), GuardMode::ProtNone);
        assert_eq!(GuardMode::from_raw(2), GuardMode::Extend);
        assert_eq!(GuardMode::from_raw(7), GuardMode::Other(7));
    }

    fn raw(start: usize, len: usize, mode: c_int, confirmed: isize) -> sys::GuardldGuard {
        sys::GuardldGuard { object: c"/lib/x.so".as_ptr(), start, len, mode, confirmed_pages: confirmed }
    }

    #[test]
    fn guard_range_from_raw() {
        // SAFETY: a static string.
        let g = unsafe { GuardRange::from_raw(&raw(0x10000, 0xf000, 0, 15)) };
        assert_eq!(g.object, c"/lib/x.so");
        assert_eq!((g.pages(), g.end()), (15, 0x1f000));
        assert!(g.fully_guarded() && g.contains(0x10000) && g.contains(0x1efff) && !g.contains(0x1f000));
        // SAFETY: as above.
        let g = unsafe { GuardRange::from_raw(&raw(0x10000, 0xf000, 0, -1)) };
        assert_eq!(g.confirmed_pages, None);
        assert!(!g.fully_guarded());
        // SAFETY: as above.
        let g = unsafe { GuardRange::from_raw(&raw(0x10000, 0xf000, 1, 0)) };
        assert_eq!(g.mode, GuardMode::ProtNone);
        assert!(!g.fully_guarded());
        let null = sys::GuardldGuard { object: core::ptr::null(), ..raw(0, 4096, 0, 1) };
        // SAFETY: NULL is allowed.
        assert_eq!(unsafe { GuardRange::from_raw(&null) }.object, c"");
    }

    #[test]
    fn fixed_capacity_buffer() {
        let mut g = Guards::<2>::new();
        for i in 0..3 {
            // SAFETY: a static string.
            g.push(unsafe { GuardRange::from_raw(&raw(i * 0x10000, 4096, 0, 1)) });
        }
        assert_eq!(g.total(), 3);
        assert!(g.truncated());
        assert_eq!(g.as_slice().count(), 2);
        let starts: Vec<usize> = g.map(|r| r.start).collect();
        assert_eq!(starts, [0, 0x10000]);
        let mut g = Guards::<4>::default();
        assert!(!g.truncated() && g.next().is_none());
    }

    /// The callback plumbing, against a fake guardld_guards (only test
    /// builds define it; a real program gets guardld's).
    mod fake {
        use super::*;
        #[unsafe(no_mangle)]
        unsafe extern "C" fn guardld_guards(cb: Option<sys::GuardCallback>, data: *mut c_void) -> c_int {
            let Some(cb) = cb else { return 0 };
            let rs = [raw(0x1000, 0x2000, 0, 2), raw(0x5000, 0x1000, 1, 0), raw(0x9000, 0x3000, 0, 3)];
            for r in &rs {
                // SAFETY: the binding's trampoline and its state.
                let v = unsafe { cb(r, data) };
                if v != 0 {
                    return v;
                }
            }
            rs.len() as c_int
        }
    }

    #[test]
    fn for_each_guard_and_collect() {
        let mut seen = Vec::new();
        assert_eq!(
            for_each_guard(|g| {
                seen.push((g.start, g.mode));
                ControlFlow::Continue(())
            }),
            3
        );
        assert_eq!(seen, [(0x1000, GuardMode::Guard), (0x5000, GuardMode::ProtNone), (0x9000, GuardMode::Guard)]);
        // Breaking after the first: one call.
        assert_eq!(for_each_guard(|_| ControlFlow::Break(())), 1);
        let g = guards();
        assert_eq!(g.total(), 3);
        let full: Vec<usize> = g.filter(|r| r.fully_guarded()).map(|r| r.start).collect();
        assert_eq!(full, [0x1000, 0x9000]);
        let small = guards_n::<1>();
        assert!(small.truncated());
    }
}
