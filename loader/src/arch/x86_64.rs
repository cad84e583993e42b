//! x86_64 asm: raw memory access for self-relocation, the syscall
//! instruction (numbers live in sys/raw.rs), calls into object code, and
//! the jump into the program.
#![allow(unsafe_code)] // the unsafe boundary (lib.rs): The instructions: syscall, %fs, the jump to the program, calls into object code.

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

/// A one-argument syscall that does not return (exit_group).
pub fn syscall1_noreturn(nr: usize, a: usize) -> ! {
    // SAFETY: the callers (sys/raw.rs) pass a syscall that ends the process.
    unsafe {
        asm!("syscall", in("rax") nr, in("rdi") a, options(noreturn, nostack));
    }
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

/// A raw three-argument syscall. Returns the result or a negative errno.
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

/// TLSDESC resolver for modules in dynamic TLS (glibc's
/// `_dl_tlsdesc_dynamic`): the descriptor's second word points at
/// `__tls_get_addr`'s {module, offset}. Returns in %rax the variable's
/// offset from the thread pointer; every other register is kept (the
/// TLSDESC convention), the vector registers included around the slow
/// path's call. Fast path: the thread's DTV already has the block
/// (entries are 16 bytes, the length in entry -1; 0 or -1 there means
/// not allocated).
///
/// # Safety
/// Called only through a TLSDESC descriptor, with %rax pointing at it and
/// %fs at a TCB whose words 0 and 1 are its address and its DTV.
#[unsafe(naked)]
pub unsafe extern "C" fn tlsdesc_dynamic() {
    core::arch::naked_asm!(
        "push rdi",
        "push rsi",
        "mov rdi, [rax + 8]",
        "mov rsi, fs:[8]",
        "mov rax, [rdi]",
        "cmp rax, [rsi - 16]",
        "jae 2f",
        "shl rax, 4",
        "mov rax, [rsi + rax]",
        "lea rsi, [rax + 1]",
        "cmp rsi, 1",
        "jbe 2f",
        "add rax, [rdi + 8]",
        "sub rax, fs:[0]",
        "pop rsi",
        "pop rdi",
        "ret",
        // Slow path: __tls_get_addr(rdi), with every caller-saved register
        // kept, on a 16-byte aligned stack.
        "2:",
        "push rbp",
        "mov rbp, rsp",
        "and rsp, -16",
        "sub rsp, 320",
        "mov [rsp], rcx",
        "mov [rsp + 8], rdx",
        "mov [rsp + 16], r8",
        "mov [rsp + 24], r9",
        "mov [rsp + 32], r10",
        "mov [rsp + 40], r11",
        "movdqa [rsp + 64], xmm0",
        "movdqa [rsp + 80], xmm1",
        "movdqa [rsp + 96], xmm2",
        "movdqa [rsp + 112], xmm3",
        "movdqa [rsp + 128], xmm4",
        "movdqa [rsp + 144], xmm5",
        "movdqa [rsp + 160], xmm6",
        "movdqa [rsp + 176], xmm7",
        "movdqa [rsp + 192], xmm8",
        "movdqa [rsp + 208], xmm9",
        "movdqa [rsp + 224], xmm10",
        "movdqa [rsp + 240], xmm11",
        "movdqa [rsp + 256], xmm12",
        "movdqa [rsp + 272], xmm13",
        "movdqa [rsp + 288], xmm14",
        "movdqa [rsp + 304], xmm15",
        "call {get}",
        "sub rax, fs:[0]",
        "mov rcx, [rsp]",
        "mov rdx, [rsp + 8]",
        "mov r8, [rsp + 16]",
        "mov r9, [rsp + 24]",
        "mov r10, [rsp + 32]",
        "mov r11, [rsp + 40]",
        "movdqa xmm0, [rsp + 64]",
        "movdqa xmm1, [rsp + 80]",
        "movdqa xmm2, [rsp + 96]",
        "movdqa xmm3, [rsp + 112]",
        "movdqa xmm4, [rsp + 128]",
        "movdqa xmm5, [rsp + 144]",
        "movdqa xmm6, [rsp + 160]",
        "movdqa xmm7, [rsp + 176]",
        "movdqa xmm8, [rsp + 192]",
        "movdqa xmm9, [rsp + 208]",
        "movdqa xmm10, [rsp + 224]",
        "movdqa xmm11, [rsp + 240]",
        "movdqa xmm12, [rsp + 256]",
        "movdqa xmm13, [rsp + 272]",
        "movdqa xmm14, [rsp + 288]",
        "movdqa xmm15, [rsp + 304]",
        "mov rsp, rbp",
        "pop rbp",
        "pop rsi",
        "pop rdi",
        "ret",
        get = sym crate::tcb::__tls_get_addr,
    )
}

/// Lazy binding's resolver (glibc's `_dl_runtime_resolve`), reached from
/// PLT0 with GOT[1] (the object) and the PLT entry's relocation index on
/// the stack above the caller's return address. Keeps every argument
/// register (%rdi..%r9, %rax for varargs, %r10, %xmm0-7; guardld's code
/// is SSE-only, so upper vector halves stay as they are), asks
/// `guardld_lazy_fixup` for the function, drops the two words and jumps
/// to it as if called directly.
///
/// # Safety
/// Only reached through a PLT stub that `glibc::lazy::defer` left.
#[unsafe(naked)]
pub unsafe extern "C" fn lazy_trampoline() {
    // On entry %rsp is 8 mod 16 (return address + two words): 200 bytes
    // of saves make it 0 mod 16 for the call.
    core::arch::naked_asm!(
        "sub rsp, 200",
        "mov [rsp], rax",
        "mov [rsp + 8], rcx",
        "mov [rsp + 16], rdx",
        "mov [rsp + 24], rsi",
        "mov [rsp + 32], rdi",
        "mov [rsp + 40], r8",
        "mov [rsp + 48], r9",
        "mov [rsp + 56], r10",
        "movdqu [rsp + 64], xmm0",
        "movdqu [rsp + 80], xmm1",
        "movdqu [rsp + 96], xmm2",
        "movdqu [rsp + 112], xmm3",
        "movdqu [rsp + 128], xmm4",
        "movdqu [rsp + 144], xmm5",
        "movdqu [rsp + 160], xmm6",
        "movdqu [rsp + 176], xmm7",
        "mov rdi, [rsp + 200]",
        "mov rsi, [rsp + 208]",
        "call {fixup}",
        "mov r11, rax",
        "mov rax, [rsp]",
        "mov rcx, [rsp + 8]",
        "mov rdx, [rsp + 16]",
        "mov rsi, [rsp + 24]",
        "mov rdi, [rsp + 32]",
        "mov r8, [rsp + 40]",
        "mov r9, [rsp + 48]",
        "mov r10, [rsp + 56]",
        "movdqu xmm0, [rsp + 64]",
        "movdqu xmm1, [rsp + 80]",
        "movdqu xmm2, [rsp + 96]",
        "movdqu xmm3, [rsp + 112]",
        "movdqu xmm4, [rsp + 128]",
        "movdqu xmm5, [rsp + 144]",
        "movdqu xmm6, [rsp + 160]",
        "movdqu xmm7, [rsp + 176]",
        "add rsp, 216",
        "jmp r11",
        fixup = sym crate::glibc::exports::guardld_lazy_fixup,
    )
}

/// Spill a variadic call's register arguments (after the format in %rdi)
/// and call `$body(fmt, regs, stack)`: `regs` the five spilled registers,
/// `stack` the caller's stack arguments.
macro_rules! varargs_entry {
    ($body:path) => {
        core::arch::naked_asm!(
            // %rsp is 8 mod 16 on entry: 56 bytes make it 0 for the call.
            "sub rsp, 56",
            "mov [rsp], rsi",
            "mov [rsp + 8], rdx",
            "mov [rsp + 16], rcx",
            "mov [rsp + 24], r8",
            "mov [rsp + 32], r9",
            "mov rsi, rsp",
            "lea rdx, [rsp + 64]",
            "call {body}",
            "add rsp, 56",
            "ret",
            body = sym $body,
        )
    };
}

/// glibc's `void _dl_fatal_printf(const char *fmt, ...)` (exported).
///
/// # Safety
/// The C contract: a format and its arguments.
#[unsafe(naked)]
#[cfg_attr(not(test), unsafe(no_mangle))] // a test binary must not interpose glibc's ld.so
pub unsafe extern "C" fn _dl_fatal_printf() {
    varargs_entry!(crate::glibc::exports::fatal_printf_va)
}

/// glibc's `_dl_debug_printf` (RO's pointer).
///
/// # Safety
/// As `_dl_fatal_printf`.
#[unsafe(naked)]
pub unsafe extern "C" fn debug_printf() {
    varargs_entry!(crate::glibc::exports::debug_printf_va)
}

/// A raw five-argument syscall. Returns the result or a negative errno.
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

/// Call an initializer of a relocated object with (argc, argv, envp).
///
/// # Safety
/// `f` must be DT_INIT or a DT_INIT_ARRAY/DT_PREINIT_ARRAY entry of a
/// relocated object: a function of (argc, argv, envp), or of fewer
/// arguments (the extra registers are ignored by the ABI).
pub unsafe fn call_init(f: usize, argc: i32, argv: usize, envp: usize) {
    // SAFETY: forwarded from the caller.
    let f: extern "C" fn(i32, usize, usize) = unsafe { core::mem::transmute(f) };
    f(argc, argv, envp)
}

/// Call `int f(a, b, c, d)` with four word arguments.
///
/// # Safety
/// `f` must be a relocated object's function taking four pointer-sized
/// arguments.
pub unsafe fn call4(f: usize, a: usize, b: usize, c: usize, d: usize) -> i32 {
    // SAFETY: forwarded from the caller.
    let f: extern "C" fn(usize, usize, usize, usize) -> i32 = unsafe { core::mem::transmute(f) };
    f(a, b, c, d)
}

/// Call a function of no arguments: a finalizer, or an IFUNC resolver
/// (whose result is returned; finalizers return nothing and it is ignored).
///
/// # Safety
/// `f` must be DT_FINI, a DT_FINI_ARRAY entry, or an IFUNC resolver, of a
/// relocated object.
pub unsafe fn call0(f: usize) -> usize {
    // SAFETY: forwarded from the caller.
    let f: extern "C" fn() -> usize = unsafe { core::mem::transmute(f) };
    f()
}

/// The signal restorer (SA_RESTORER is mandatory on x86_64): rt_sigreturn.
///
/// # Safety
/// Only the kernel returns here, from a signal handler.
#[unsafe(naked)]
pub unsafe extern "C" fn sigreturn_restorer() {
    core::arch::naked_asm!("mov eax, {nr}", "syscall", "ud2", nr = const crate::sys::raw::NR_RT_SIGRETURN)
}

/// Ask for the cache line at `p` ahead of its use (relocation reads
/// symbols and names in an order no hardware prefetcher predicts).
#[inline(always)]
pub fn prefetch(p: *const u8) {
    // SAFETY: PREFETCHT0 reads nothing architecturally and never faults,
    // whatever the address.
    unsafe { core::arch::asm!("prefetcht0 [{}]", in(reg) p, options(nostack, preserves_flags, readonly)) };
}

/// CPUID leaf `leaf`, subleaf `sub`: [eax, ebx, ecx, edx]. (core's
/// intrinsic is safe on x86_64, where CPUID always exists.)
pub fn cpuid(leaf: u32, sub: u32) -> [u32; 4] {
    let r = core::arch::x86_64::__cpuid_count(leaf, sub);
    [r.eax, r.ebx, r.ecx, r.edx]
}

/// XCR0 (XGETBV with ECX = 0), or None where the OS has not enabled XSAVE
/// (CPUID.1:ECX.OSXSAVE, bit 27, clear), where XGETBV would fault.
pub fn xcr0() -> Option<u64> {
    xcr0_with(cpuid(1, 0)[2])
}

/// `xcr0` given CPUID.1:ECX (a CPUID instruction traps to the hypervisor
/// in a VM: callers that have the leaf already pass it).
pub fn xcr0_with(leaf1_ecx: u32) -> Option<u64> {
    if leaf1_ecx & (1 << 27) == 0 {
        return None;
    }
    let (lo, hi): (u32, u32);
    // SAFETY: OSXSAVE is set, so XGETBV with ECX = 0 is defined in every
    // mode; it only reads XCR0 into EDX:EAX and touches no memory.
    unsafe { asm!("xgetbv", in("ecx") 0u32, out("eax") lo, out("edx") hi, options(nomem, nostack, preserves_flags)) };
    Some(u64::from(hi) << 32 | u64::from(lo))
}
