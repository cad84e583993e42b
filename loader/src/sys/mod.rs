//! The syscalls guardld uses, thin over rustix, and its arena allocator.
/// The global allocator (mmap'd chunks).
#[allow(unsafe_code)]
pub mod arena;
pub mod file;
/// The spin lock's interior mutability.
#[allow(unsafe_code)]
pub mod lock;
/// Numbered syscalls and the few mappings guardld keeps or scratches.
#[allow(unsafe_code)]
pub mod raw;
pub mod signals;
/// memcpy and friends, which the compiler calls (no libc).
#[cfg(not(test))]
#[allow(unsafe_code)]
pub mod mem;

pub use raw::write_fd;

pub fn exit(code: i32) -> ! {
    raw::exit_group(code)
}
