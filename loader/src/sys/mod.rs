//! The syscalls guardld uses, thin over rustix, and its arena allocator.
/// The global allocator (mmap'd chunks).
pub mod arena;
pub mod file;
/// The spin lock's interior mutability.
pub mod lock;
/// Where the next object span goes (a hint for map/exec.rs).
pub mod place;
/// Numbered syscalls and the few mappings guardld keeps or scratches.
pub mod raw;
pub mod signals;
/// memcpy and friends, which the compiler calls (no libc).
#[cfg(not(test))]
pub mod mem;

pub use raw::write_fd;

pub fn exit(code: i32) -> ! {
    raw::exit_group(code)
}
