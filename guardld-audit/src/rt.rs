//! What a no_std cdylib needs and libc would otherwise give: memcpy and
//! friends (guardld's own, the same file), a small allocator, and the
//! panic handler.

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicUsize, Ordering};

#[path = "../../loader/src/sys/mem.rs"]
#[allow(clippy::undocumented_unsafe_blocks)]
mod mem;

/// Bytes for the allocations of one object's planning (its plan and gap
/// lists: a few KiB even for 70 segments). Static, so allocation costs no
/// system call; reused once everything of an object is freed.
const ARENA_SIZE: usize = 64 << 10;

#[repr(C, align(16))]
struct Arena {
    bytes: UnsafeCell<[u8; ARENA_SIZE]>,
    next: AtomicUsize,
    live: AtomicUsize,
}

// SAFETY: each allocation is a disjoint range handed out once (`next` only
// grows while anything is live); glibc calls audit hooks under its loader
// lock, so allocation and the reset never run concurrently.
unsafe impl Sync for Arena {}

/// In .data, not .bss: a bss this large would be an anonymous VMA of its
/// own in every process; in .data it is part of the module's R+W mapping.
#[global_allocator]
#[unsafe(link_section = ".data")]
static ARENA: Arena = Arena { bytes: UnsafeCell::new([0; ARENA_SIZE]), next: AtomicUsize::new(0), live: AtomicUsize::new(0) };

// SAFETY: `alloc` returns disjoint, aligned ranges inside the arena or null.
unsafe impl GlobalAlloc for Arena {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let base = self.bytes.get() as usize;
        let start = (base + self.next.load(Ordering::Relaxed)).next_multiple_of(layout.align()) - base;
        let Some(end) = start.checked_add(layout.size()).filter(|&e| e <= ARENA_SIZE) else { return core::ptr::null_mut() };
        self.next.store(end, Ordering::Relaxed);
        self.live.fetch_add(1, Ordering::Relaxed);
        (base + start) as *mut u8
    }

    unsafe fn dealloc(&self, _ptr: *mut u8, _layout: Layout) {
        if self.live.fetch_sub(1, Ordering::Relaxed) == 1 {
            self.next.store(0, Ordering::Relaxed);
        }
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    // Nothing here can report; every input is checked, so this is a bug.
    // SAFETY: ud2 raises SIGILL, which is the point.
    unsafe { core::arch::asm!("ud2", options(noreturn)) }
}

/// `cargo test` builds the cdylib with unwinding, which references the
/// personality routine; nothing here unwinds.
#[unsafe(no_mangle)]
extern "C" fn rust_eh_personality() {}

/// The precompiled `alloc` crate's landing pads name this; with
/// panic=abort no unwind starts.
#[unsafe(no_mangle)]
extern "C" fn _Unwind_Resume() -> ! {
    // SAFETY: as in `panic`.
    unsafe { core::arch::asm!("ud2", options(noreturn)) }
}
