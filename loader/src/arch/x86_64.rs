//! x86_64 asm: raw memory access for self-relocation, syscalls the loader
//! needs that rustix does not expose, and the jump into the program.

use core::arch::asm;

/// Load a word without Rust's pointer machinery (usable before relocation).
///
/// # Safety
/// `addr` must be a readable, 8-byte aligned address.
#[inline(always)]
pub unsafe fn raw_load(addr: usize) -> usize {
    let v: usize;
    // SAFETY: the caller guarantees `addr` is readable.
    unsafe { asm!("mov {v}, qword ptr [{a}]", a = in(reg) addr, v = out(reg) v, options(nostack, preserves_flags, readonly)) };
    v
}

/// Store a word without Rust's pointer machinery (usable before relocation).
///
/// # Safety
/// `addr` must be a writable, 8-byte aligned address.
#[inline(always)]
pub unsafe fn raw_store(addr: usize, value: usize) {
    // SAFETY: the caller guarantees `addr` is writable.
    unsafe { asm!("mov qword ptr [{a}], {v}", a = in(reg) addr, v = in(reg) value, options(nostack, preserves_flags)) };
}

/// Runtime address of the loader's own ELF header (`__ehdr_start`), found
/// PC-relatively so it works before relocation.
#[inline(always)]
pub fn own_base() -> usize {
    let v: usize;
    // SAFETY: lea computes an address; nothing is accessed.
    unsafe { asm!("lea {v}, [rip + __ehdr_start]", v = out(reg) v, options(nostack, preserves_flags, nomem)) };
    v
}

/// Runtime address of the loader's own dynamic section.
#[inline(always)]
pub fn own_dynamic() -> usize {
    let v: usize;
    // SAFETY: lea computes an address; nothing is accessed.
    unsafe { asm!("lea {v}, [rip + _DYNAMIC]", v = out(reg) v, options(nostack, preserves_flags, nomem)) };
    v
}

/// exit_group(2): rustix keeps it private; the loader needs it on every error path.
pub fn exit_group(code: i32) -> ! {
    // SAFETY: exit_group takes one integer and never returns.
    unsafe {
        asm!("syscall", in("rax") 231usize, in("rdi") code as isize, options(noreturn, nostack));
    }
}

/// madvise(2) with an advice rustix's enum cannot express (MADV_GUARD_INSTALL).
/// Returns 0 or a negative errno.
///
/// # Safety
/// Guarding or zapping pages of `[addr, addr+len)` must not break anything
/// the caller relies on.
pub unsafe fn madvise_raw(addr: usize, len: usize, advice: usize) -> isize {
    let ret: isize;
    // SAFETY: madvise only changes page-table state of the given range; the
    // caller vouches for the range.
    unsafe {
        asm!("syscall", inlateout("rax") 28isize => ret, in("rdi") addr, in("rsi") len, in("rdx") advice,
             lateout("rcx") _, lateout("r11") _, options(nostack));
    }
    ret
}

/// Hand the process to the program: %rsp = `sp` (pointing at argc),
/// %rdx = `fini` (the finalizer the program's start code registers), and the
/// other registers zeroed as the ABI leaves them unspecified but sane.
///
/// # Safety
/// `sp` must point at a valid initial stack and `entry` at the program's entry.
pub unsafe fn jump_to_entry(entry: usize, sp: usize, fini: usize) -> ! {
    // SAFETY: the caller provides a valid stack and entry; we never return.
    unsafe {
        asm!(
            "mov rsp, rcx",
            "xor ebp, ebp",
            "xor eax, eax",
            "xor ebx, ebx",
            "xor esi, esi",
            "xor edi, edi",
            "xor r8d, r8d",
            "xor r9d, r9d",
            "xor r10d, r10d",
            "xor r12d, r12d",
            "xor r13d, r13d",
            "xor r14d, r14d",
            "xor r15d, r15d",
            "jmp r11",
            in("rcx") sp,
            in("r11") entry,
            in("rdx") fini,
            options(noreturn)
        );
    }
}

/// A raw three-argument syscall, for interfaces rustix does not wrap
/// (PAGEMAP_SCAN). Returns the result or a negative errno.
///
/// # Safety
/// The syscall and its arguments must be valid for this process.
pub unsafe fn syscall3(nr: usize, a: usize, b: usize, c: usize) -> isize {
    let ret: isize;
    // SAFETY: forwarded from the caller.
    unsafe {
        asm!("syscall", inlateout("rax") nr as isize => ret, in("rdi") a, in("rsi") b, in("rdx") c,
             lateout("rcx") _, lateout("r11") _, options(nostack));
    }
    ret
}

/// The thread pointer (%fs base): the TCB's first word holds its address.
///
/// # Safety
/// %fs must point at a TCB (guardld's, or one following the ABI).
#[inline(always)]
pub unsafe fn thread_pointer() -> usize {
    let v: usize;
    // SAFETY: reads %fs:0, which the ABI defines as the TCB's own address.
    unsafe { asm!("mov {v}, qword ptr fs:0", v = out(reg) v, options(nostack, preserves_flags, readonly)) };
    v
}

/// TLSDESC resolver for modules in static TLS: the descriptor's second word
/// holds the variable's offset from the thread pointer; return it in %rax.
/// Only %rax may change (the TLSDESC calling convention).
///
/// # Safety
/// Called only through a TLSDESC descriptor, with %rax pointing at it.
#[unsafe(naked)]
pub unsafe extern "C" fn tlsdesc_static() {
    core::arch::naked_asm!("mov rax, qword ptr [rax + 8]", "ret")
}

/// A raw five-argument syscall (process_madvise, rt_sigaction). Returns
/// the result or a negative errno.
///
/// # Safety
/// The syscall and its arguments must be valid for this process.
pub unsafe fn syscall5(nr: usize, a: usize, b: usize, c: usize, d: usize, e: usize) -> isize {
    let ret: isize;
    // SAFETY: forwarded from the caller.
    unsafe {
        asm!("syscall", inlateout("rax") nr as isize => ret, in("rdi") a, in("rsi") b, in("rdx") c,
             in("r10") d, in("r8") e, lateout("rcx") _, lateout("r11") _, options(nostack));
    }
    ret
}
