//! The syscalls guardld uses, thin over rustix, and its arena allocator.
pub mod arena;
pub mod file;
pub mod lock;
pub mod signals;
#[cfg(not(test))]
pub mod mem;

use rustix::fd::BorrowedFd;

/// Write all of `buf` to a file descriptor, ignoring errors (used for
/// diagnostics, which have nowhere else to go).
pub fn write_fd(fd: i32, mut buf: &[u8]) {
    // SAFETY: writing to a possibly-closed fd is harmless (EBADF).
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    while !buf.is_empty() {
        match rustix::io::write(fd, buf) {
            Ok(0) => return,
            Ok(n) => buf = &buf[n..],
            Err(rustix::io::Errno::INTR) => {}
            Err(_) => return,
        }
    }
}

pub fn exit(code: i32) -> ! {
    crate::arch::exit_group(code)
}
