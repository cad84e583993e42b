//! The initial process stack the kernel built: argc, argv, envp, auxv.
//! guardld reads it, and in explicit mode rewrites it in place so the program
//! sees its own argv and auxv (as glibc's ld.so does). The kernel's
//! pointers in it (strings, AT_RANDOM, AT_PHDR) are trusted here, and only
//! here: everything else gets slices.
#![allow(unsafe_code)] // the unsafe boundary (lib.rs): The kernel's initial stack and the pointers in it.

use crate::elf::pod::{self, Phdr};
use alloc::vec::Vec;
use core::ffi::CStr;

pub const AT_NULL: usize = 0;
pub const AT_PHDR: usize = 3;
pub const AT_PHENT: usize = 4;
pub const AT_PHNUM: usize = 5;
pub const AT_PAGESZ: usize = 6;
pub const AT_BASE: usize = 7;
pub const AT_ENTRY: usize = 9;
pub const AT_SECURE: usize = 23;
pub const AT_RANDOM: usize = 25;
pub const AT_EXECFN: usize = 31;
pub const AT_PLATFORM: usize = linux_raw_sys::auxvec::AT_PLATFORM as usize;
pub const AT_SYSINFO_EHDR: usize = 33;

/// The kernel-built stack. All pointers stay inside it.
pub struct InitialStack {
    sp: *mut usize,
}

impl InitialStack {
    /// # Safety
    /// `sp` must be the stack pointer the kernel passed at entry.
    pub unsafe fn new(sp: *mut usize) -> Self {
        InitialStack { sp }
    }

    pub fn sp(&self) -> usize {
        self.sp as usize
    }

    pub fn argc(&self) -> usize {
        // SAFETY: sp points at argc (constructor contract).
        unsafe { *self.sp }
    }

    fn argv_ptr(&self) -> *mut *const u8 {
        // SAFETY: argv follows argc.
        unsafe { self.sp.add(1).cast() }
    }

    /// argv[i] as a C string.
    pub fn arg(&self, i: usize) -> Option<&'static CStr> {
        if i >= self.argc() {
            return None;
        }
        // SAFETY: i < argc, and each argv entry is a NUL-terminated string.
        unsafe { Some(CStr::from_ptr((*self.argv_ptr().add(i)).cast())) }
    }

    fn envp_ptr(&self) -> *mut *const u8 {
        // SAFETY: envp follows argv's NULL terminator.
        unsafe { self.argv_ptr().add(self.argc() + 1) }
    }

    /// The environment strings, in order.
    pub fn env(&self) -> impl Iterator<Item = &'static [u8]> {
        let mut p = self.envp_ptr();
        core::iter::from_fn(move || {
            // SAFETY: envp is NULL-terminated; each entry is a C string.
            unsafe {
                let s = *p;
                if s.is_null() {
                    return None;
                }
                p = p.add(1);
                Some(CStr::from_ptr(s.cast()).to_bytes())
            }
        })
    }

    /// The value of environment variable `name`, if set.
    /// A loader variable's value: the last entry of that name, as glibc's
    /// ld.so reads its environment (each entry overrides the one before;
    /// libc's getenv would give the first).
    pub fn getenv(&self, name: &[u8]) -> Option<&'static [u8]> {
        self.getenv_all(name).last()
    }

    /// The values of every entry named `name`, in order.
    pub fn getenv_all<'a>(&'a self, name: &'a [u8]) -> impl Iterator<Item = &'static [u8]> + 'a {
        self.env().filter_map(move |kv| kv.strip_prefix(name).and_then(|r| r.strip_prefix(b"=")))
    }

    fn auxv_ptr(&self) -> *mut [usize; 2] {
        let mut p = self.envp_ptr();
        // SAFETY: walk to envp's NULL; auxv follows it.
        unsafe {
            while !(*p).is_null() {
                p = p.add(1);
            }
            p.add(1).cast()
        }
    }

    pub fn aux(&self, key: usize) -> Option<usize> {
        let mut p = self.auxv_ptr();
        // SAFETY: auxv ends with AT_NULL.
        unsafe {
            while (*p)[0] != AT_NULL {
                if (*p)[0] == key {
                    return Some((*p)[1]);
                }
                p = p.add(1);
            }
        }
        None
    }

    /// Replace the value of an existing auxv entry (a missing one is left missing).
    pub fn set_aux(&mut self, key: usize, value: usize) {
        let mut p = self.auxv_ptr();
        // SAFETY: auxv ends with AT_NULL; entries are writable stack words.
        unsafe {
            while (*p)[0] != AT_NULL {
                if (*p)[0] == key {
                    (*p)[1] = value;
                }
                p = p.add(1);
            }
        }
    }

    /// Drop the first `n` argv entries, shifting argv, envp and auxv down in
    /// place so %rsp (and its 16-byte alignment) stays where the kernel put it.
    pub fn drop_args(&mut self, n: usize) {
        if n == 0 || n > self.argc() {
            return;
        }
        let argc = self.argc() - n;
        // SAFETY: we copy words downwards within the stack block: argv tail,
        // its NULL, envp and its NULL, then auxv pairs up to AT_NULL.
        unsafe {
            *self.sp = argc;
            let mut dst = self.argv_ptr().cast::<usize>();
            let mut src = dst.add(n);
            // argv entries then NULL, envp entries then NULL.
            for _ in 0..2 {
                loop {
                    let w = *src;
                    *dst = w;
                    src = src.add(1);
                    dst = dst.add(1);
                    if w == 0 {
                        break;
                    }
                }
            }
            loop {
                let (k, v) = (*src, *src.add(1));
                *dst = k;
                *dst.add(1) = v;
                src = src.add(2);
                dst = dst.add(2);
                if k == AT_NULL {
                    break;
                }
            }
        }
    }

    /// AT_EXECFN: the program's path as the kernel was given it.
    pub fn execfn(&self) -> Option<&'static [u8]> {
        let p = self.aux(AT_EXECFN).filter(|&p| p != 0)?;
        // SAFETY: AT_EXECFN points at the NUL-terminated path the kernel
        // placed on the stack.
        Some(unsafe { CStr::from_ptr(p as *const core::ffi::c_char) }.to_bytes())
    }

    /// AT_PLATFORM's string (on the kernel's stack, NUL not included).
    pub fn platform(&self) -> Option<&'static [u8]> {
        let p = self.aux(AT_PLATFORM).filter(|&p| p != 0)?;
        // SAFETY: AT_PLATFORM points at a NUL-terminated string the kernel
        // placed on the stack.
        Some(unsafe { CStr::from_ptr(p as *const core::ffi::c_char) }.to_bytes())
    }

    /// The auxiliary vector's address.
    pub fn auxv_addr(&self) -> usize {
        self.auxv_ptr() as usize
    }

    /// Replace the process with `path` run with `argv`, keeping this
    /// stack's environment. Returns only on failure.
    pub fn exec(&self, path: &CStr, argv: &[&CStr]) -> rustix::io::Errno {
        let mut ptrs: Vec<*const u8> = argv.iter().map(|a| a.as_ptr().cast()).collect();
        ptrs.push(core::ptr::null());
        // SAFETY: `path` and every argv string are NUL-terminated and live
        // across the call; `ptrs` is NULL-terminated; envp is the kernel's
        // NULL-terminated environment on this stack.
        unsafe { crate::sys::raw::execve(path, &ptrs, self.envp_ptr() as *const *const u8) }
    }

    /// AT_RANDOM's 16 bytes.
    pub fn random(&self) -> Option<[u8; 16]> {
        let p = self.aux(AT_RANDOM).filter(|&p| p != 0)?;
        // SAFETY: AT_RANDOM points at 16 bytes the kernel placed on the stack.
        Some(unsafe { (p as *const [u8; 16]).read_unaligned() })
    }

    /// The program's headers at AT_PHDR (AT_PHNUM of them, at most `max`),
    /// as the kernel mapped them (PT_INTERP start).
    pub fn program_headers(&self, max: usize) -> Option<(usize, Vec<Phdr>)> {
        let (at, n) = (self.aux(AT_PHDR)?, self.aux(AT_PHNUM)?);
        if n == 0 || n > max {
            return None;
        }
        let size = core::mem::size_of::<Phdr>();
        // SAFETY: the kernel maps the program headers it points AT_PHDR at.
        let bytes = unsafe { pod::mapped(at, n * size) };
        Some((at, (0..n).filter_map(|i| pod::read::<Phdr>(bytes, i * size)).collect()))
    }

    /// The `len` bytes at the start of the page holding AT_PHDR, when the
    /// kernel mapped them: the first segment maps file offset 0 there.
    pub fn phdr_page(&self, page_size: usize, len: usize) -> Option<&'static [u8]> {
        let at = self.aux(AT_PHDR)? & !(page_size - 1);
        // SAFETY: the page holding the program headers is mapped (the kernel
        // read them from there to build AT_PHDR); `len` is at most an ELF
        // header, which fits in the page before the headers.
        (len <= page_size).then(|| unsafe { pod::mapped(at, len) })
    }

    /// Remove envp[i], moving the later entries down as glibc does when it
    /// erases a variable (the array keeps its NULL; auxv does not move, so
    /// auxv must not be looked up through envp afterwards).
    pub fn remove_env(&mut self, i: usize) {
        if i >= self.env().count() {
            return;
        }
        // SAFETY: i is below the number of entries: envp[i..] up to its NULL
        // lies inside the kernel's array; each entry takes the next one's
        // value, the NULL included.
        unsafe {
            let mut p = self.envp_ptr().add(i);
            loop {
                let next = *p.add(1);
                *p = next;
                if next.is_null() {
                    break;
                }
                p = p.add(1);
            }
        }
    }

    /// Remove envp[i] and keep auxv right after envp's NULL: the later
    /// entries, the NULL and every auxv pair move down one word. For a
    /// program that finds auxv past envp (guardld's own programs; a glibc
    /// program's libc is given auxv's address instead: `remove_env`).
    pub fn remove_env_and_close_up(&mut self, i: usize) {
        if i >= self.env().count() {
            return;
        }
        // SAFETY: i is below the number of entries: from envp[i] on, each
        // word takes the next one's value up to envp's NULL, then through
        // auxv up to and including its AT_NULL pair, all inside the
        // kernel's block (one word less is used).
        unsafe {
            let mut p = self.envp_ptr().add(i).cast::<usize>();
            loop {
                let next = *p.add(1);
                *p = next;
                p = p.add(1);
                if next == 0 {
                    break;
                }
            }
            loop {
                let (k, v) = (*p.add(1), *p.add(2));
                *p = k;
                *p.add(1) = v;
                p = p.add(2);
                if k == AT_NULL {
                    break;
                }
            }
        }
    }

    /// Point envp[i] at another `NAME=value` string (living as long as the
    /// process).
    pub fn set_env(&mut self, i: usize, s: &'static CStr) {
        if i < self.env().count() {
            // SAFETY: i < the number of entries: a valid envp slot.
            unsafe { *self.envp_ptr().add(i) = s.as_ptr().cast() };
        }
    }

    /// Point argv[i] at another string (which must live as long as the process).
    pub fn set_arg(&mut self, i: usize, s: &'static CStr) {
        if i < self.argc() {
            // SAFETY: i < argc: a valid argv slot.
            unsafe { *self.argv_ptr().add(i) = s.as_ptr().cast() };
        }
    }
}
