//! rust-api: the guardld-api binding from a `#![no_std]` program.
//!
//!   rust-api /abs/path/libapitls.so
//!
//! dlopens the library (it NEEDs libapidep.so), calls tls_dep through
//! dlsym (14), names it with dladdr, fails a dlopen of a missing file,
//! counts the loaded objects and the guard ranges (all confirmed in guard
//! mode), closes the library and prints `key=value` lines. Exits 0, or 1
//! at the first failure.
#![no_std]
#![no_main]

use core::arch::{asm, naked_asm};
use core::ffi::{CStr, c_char};
use core::fmt::Write;
use core::ops::ControlFlow;
use guardld_api as g;

#[unsafe(naked)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn _start() -> ! {
    naked_asm!("xor ebp, ebp", "mov rdi, rsp", "and rsp, -16", "call {main}", "ud2", main = sym rust_main)
}

/// stdout through a small buffer, flushed at each newline.
struct Out {
    buf: [u8; 512],
    len: usize,
}

impl Write for Out {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for &b in s.as_bytes() {
            if self.len == self.buf.len() {
                self.flush();
            }
            self.buf[self.len] = b;
            self.len += 1;
            if b == b'\n' {
                self.flush();
            }
        }
        Ok(())
    }
}

impl Out {
    fn flush(&mut self) {
        write(1, &self.buf[..self.len]);
        self.len = 0;
    }
}

unsafe extern "C" fn rust_main(sp: *const usize) -> ! {
    // SAFETY: the loader passes the initial stack: argc, then argv.
    let (argc, argv) = unsafe { (*sp, sp.add(1) as *const *const c_char) };
    let mut o = Out { buf: [0; 512], len: 0 };
    if argc < 2 {
        fail(&mut o, "usage: rust-api LIBPATH");
    }
    // SAFETY: argv[1] is a C string.
    let path = unsafe { CStr::from_ptr(*argv.add(1)) };
    let h = match g::dlopen(Some(path), g::RTLD_NOW) {
        Ok(h) => h,
        Err(e) => {
            let _ = writeln!(o, "dlopen_error={e}");
            fail(&mut o, "dlopen");
        }
    };
    let _ = writeln!(o, "dlopen=ok");
    let f = g::dlsym(h, c"tls_dep").unwrap_or_else(|_| fail(&mut o, "dlsym"));
    // SAFETY: tls_dep is `int tls_dep(void)`.
    let tls_dep: extern "C" fn() -> i32 = unsafe { core::mem::transmute(f.as_ptr()) };
    let _ = writeln!(o, "tls_dep={}", tls_dep());
    match g::dladdr(f.as_ptr()) {
        Some(s) => {
            let _ = writeln!(o, "dladdr_sname={}", s.sname.and_then(|n| n.to_str().ok()).unwrap_or("?"));
            let _ = writeln!(o, "dladdr_fname_ends={}", s.fname.to_bytes().ends_with(b"/libapitls.so") as u8);
            let _ = writeln!(o, "dladdr_saddr_ok={}", (s.saddr == f.as_ptr() as usize) as u8);
        }
        None => fail(&mut o, "dladdr"),
    }
    match g::dlsym(h, c"api_no_such_function") {
        Ok(_) => fail(&mut o, "dlsym of a missing name succeeded"),
        Err(e) => {
            let _ = writeln!(o, "dlsym_missing_error={e}");
        }
    }
    match g::dlopen(Some(c"librust_api_not_there.so"), g::RTLD_NOW) {
        Ok(_) => fail(&mut o, "dlopen of a missing file succeeded"),
        Err(e) => {
            let names = e.message().to_bytes().windows(24).any(|w| w == b"librust_api_not_there.so");
            let _ = writeln!(o, "missing_error_names_file={}", names as u8);
        }
    }
    let mut with_tls = 0;
    let objects = g::for_each_object(|ob| {
        with_tls += (ob.tls_modid != 0) as usize;
        ControlFlow::Continue(())
    });
    let _ = writeln!(o, "objects={objects} with_tls={with_tls}");
    let gs = g::guards();
    let total = gs.total();
    let truncated = gs.truncated();
    let mut guarded = 0;
    let mut libtls = 0;
    for r in gs {
        guarded += r.fully_guarded() as usize;
        libtls += r.object.to_bytes().ends_with(b"/libapitls.so") as usize;
    }
    let _ = writeln!(o, "guards_all_confirmed={} libapitls_ranges={libtls} truncated={}", (total > 0 && guarded == total) as u8, truncated as u8);
    // SAFETY: nothing from the library is used afterwards.
    match unsafe { g::dlclose(h) } {
        Ok(()) => {
            let _ = writeln!(o, "dlclose=ok");
        }
        Err(e) => {
            let _ = writeln!(o, "dlclose_error={e}");
            fail(&mut o, "dlclose");
        }
    }
    let _ = writeln!(o, "unloaded={}", g::dladdr(f.as_ptr()).is_none() as u8);
    o.flush();
    exit(0)
}

fn fail(o: &mut Out, what: &str) -> ! {
    let _ = writeln!(o, "FAIL {what}");
    o.flush();
    exit(1)
}

fn write(fd: i32, mut b: &[u8]) {
    while !b.is_empty() {
        let r: isize;
        // SAFETY: write(2) reads `b` only.
        unsafe {
            asm!("syscall", inlateout("rax") 1isize => r, in("rdi") fd, in("rsi") b.as_ptr(),
                 in("rdx") b.len(), lateout("rcx") _, lateout("r11") _, options(nostack));
        }
        if r == -4 {
            continue;
        }
        if r <= 0 {
            return;
        }
        b = &b[r as usize..];
    }
}

fn exit(code: i32) -> ! {
    loop {
        // SAFETY: exit_group(2) does not return.
        unsafe { asm!("syscall", in("rax") 231, in("rdi") code, lateout("rcx") _, lateout("r11") _, options(nostack)) };
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    write(2, b"rust-api: panic\n");
    exit(101)
}

// No libc: the memory and string functions core calls (CStr::from_ptr
// uses strlen; copies and fills may become memcpy/memset). Byte loops
// through volatile accesses, so they cannot be turned back into calls to
// themselves.

#[unsafe(no_mangle)]
unsafe extern "C" fn memcpy(d: *mut u8, s: *const u8, n: usize) -> *mut u8 {
    for i in 0..n {
        // SAFETY: the caller's buffers.
        unsafe { d.add(i).write_volatile(s.add(i).read_volatile()) };
    }
    d
}

#[unsafe(no_mangle)]
unsafe extern "C" fn memmove(d: *mut u8, s: *const u8, n: usize) -> *mut u8 {
    if (d as usize) < (s as usize) {
        // SAFETY: forward copy is safe when the destination is below.
        return unsafe { memcpy(d, s, n) };
    }
    for i in (0..n).rev() {
        // SAFETY: the caller's buffers.
        unsafe { d.add(i).write_volatile(s.add(i).read_volatile()) };
    }
    d
}

#[unsafe(no_mangle)]
unsafe extern "C" fn memset(d: *mut u8, c: i32, n: usize) -> *mut u8 {
    for i in 0..n {
        // SAFETY: the caller's buffer.
        unsafe { d.add(i).write_volatile(c as u8) };
    }
    d
}

#[unsafe(no_mangle)]
unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    for i in 0..n {
        // SAFETY: the caller's buffers.
        let (x, y) = unsafe { (a.add(i).read_volatile(), b.add(i).read_volatile()) };
        if x != y {
            return x as i32 - y as i32;
        }
    }
    0
}

#[unsafe(no_mangle)]
unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: as memcmp.
    unsafe { memcmp(a, b, n) }
}

#[unsafe(no_mangle)]
unsafe extern "C" fn strlen(s: *const c_char) -> usize {
    let mut n = 0;
    // SAFETY: a NUL-terminated string.
    while unsafe { s.add(n).read_volatile() } != 0 {
        n += 1;
    }
    n
}

/// The precompiled `core` refers to the personality routine from its
/// unwind tables even under panic=abort; nothing here unwinds.
#[unsafe(no_mangle)]
extern "C" fn rust_eh_personality() {}
