//! rust-hello: a `#![no_std]` program with its own `_start`. Prints
//! "hello from rust" and "argc=N" with raw system calls and exits 7.
#![no_std]
#![no_main]

use core::arch::{asm, naked_asm};

/// The loader enters here with %rsp at argc and %rdx = finalizer (ignored:
/// nothing here registers or needs one).
#[unsafe(naked)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn _start() -> ! {
    naked_asm!(
        "xor ebp, ebp",
        "mov rdi, rsp",
        "and rsp, -16",
        "call {main}",
        "ud2",
        main = sym rust_main,
    )
}

unsafe extern "C" fn rust_main(sp: *const usize) -> ! {
    // SAFETY: the loader passes the initial stack pointer, argc at its top.
    let argc = unsafe { *sp };
    write(1, b"hello from rust\n");
    let mut buf = [0u8; 32];
    let mut i = buf.len();
    buf[..5].copy_from_slice(b"argc=");
    let mut n = argc;
    i -= 1;
    buf[i] = b'\n';
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    write(1, b"argc=");
    write(1, &buf[i..]);
    exit(7)
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
        unsafe {
            asm!("syscall", in("rax") 231, in("rdi") code, lateout("rcx") _, lateout("r11") _, options(nostack));
        }
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    write(2, b"rust-hello: panic\n");
    exit(101)
}

/// The precompiled `core` refers to the personality routine from its unwind
/// tables even under panic=abort; nothing here unwinds.
#[unsafe(no_mangle)]
extern "C" fn rust_eh_personality() {}
