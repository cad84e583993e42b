//! The syscalls guardld uses, thin over rustix, and its arena allocator.
pub mod arena;
pub mod file;
pub mod lock;
pub mod raw;
pub mod signals;
#[cfg(not(test))]
pub mod mem;

pub use raw::write_fd;

pub fn exit(code: i32) -> ! {
    raw::exit_group(code)
}
