//! The guardld binary: stage 0 (the entry point), the panic handler, the
//! allocator. Everything else is in the library (see lib.rs and
//! docs/architecture.md).
#![no_std]
#![no_main]
#![deny(clippy::undocumented_unsafe_blocks)]

use guardld::sys::arena::Arena;

#[global_allocator]
static ARENA: Arena = Arena::new();

/// Kernel entry: %rsp points at argc. Self-relocation is called from here
/// with a direct PC-relative call: Rust code in this crate would reach the
/// library's functions through GOT slots, which hold nothing until
/// relocation is done. Then align the stack and enter Rust with the
/// kernel's stack pointer and our load base.
///
/// # Safety
/// Only the kernel calls this, with the initial process stack.
#[unsafe(naked)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn _start() -> ! {
    core::arch::naked_asm!(
        "xor ebp, ebp",
        "mov rbx, rsp",
        "and rsp, -16",
        "call {reloc}",
        "mov rdi, rbx",
        "mov rsi, rax",
        "call {start}",
        "ud2",
        reloc = sym guardld::selfreloc::relocate_self,
        start = sym rust_start,
    )
}

unsafe extern "C" fn rust_start(sp: *mut usize, base: usize) -> ! {
    // SAFETY: `sp` is the kernel's initial stack pointer.
    let st = unsafe { guardld::start::stack::InitialStack::new(sp) };
    let h = guardld::start::main(st, base, _start as *const () as usize);
    // SAFETY: the stack and entry come from the kernel or a mapped program.
    unsafe { guardld::arch::jump_to_entry(h.entry, h.sp, h.fini) }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    // Name the object being processed: out of memory under a tight
    // RLIMIT_AS ends here, and the user needs to know what was loading.
    let mut buf = [0u8; 256];
    let name = guardld::sys::signals::current(&mut buf);
    guardld::eprint!("guardld: {}: internal error: {}\n", guardld::error::Bytes(name), info);
    guardld::sys::exit(guardld::error::EXIT_FAILURE)
}

/// `cargo test` builds this binary with unwinding, which references the
/// personality routine; nothing here ever unwinds (panics go to the handler).
#[unsafe(no_mangle)]
extern "C" fn rust_eh_personality() {}

/// The precompiled `alloc` crate carries unwinding landing pads that name
/// this; with panic=abort no unwind ever starts, so it cannot be reached.
#[unsafe(no_mangle)]
extern "C" fn _Unwind_Resume() -> ! {
    guardld::sys::exit(guardld::error::EXIT_FAILURE)
}
