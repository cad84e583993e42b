//! Opening and reading the files guardld loads.

use core::ffi::CStr;
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{FileType, Mode, OFlags};
use rustix::io::Errno;

/// An open object file with the facts checked at open time.
pub struct File {
    pub fd: OwnedFd,
    pub size: u64,
    pub dev: u64,
    pub ino: u64,
}

/// Why a file could not be opened.
pub enum OpenError {
    Errno(Errno),
    /// A directory: glibc opens it and fails to read it, and says so.
    Directory,
    NotRegular,
}

impl OpenError {
    pub fn reason(&self) -> &'static str {
        match self {
            OpenError::Directory => "cannot read file data: Is a directory",
            OpenError::NotRegular => "not a regular file",
            OpenError::Errno(e) => errno_text(*e),
        }
    }
}

pub fn errno_text(e: Errno) -> &'static str {
    match e {
        Errno::NOENT => "No such file or directory",
        Errno::ACCESS => "Permission denied",
        Errno::ISDIR => "Is a directory",
        Errno::NOTDIR => "Not a directory",
        Errno::NOMEM => "Cannot allocate memory",
        Errno::LOOP => "Too many levels of symbolic links",
        Errno::NAMETOOLONG => "File name too long",
        Errno::NFILE | Errno::MFILE => "Too many open files",
        Errno::IO => "Input/output error",
        Errno::PERM => "Operation not permitted",
        Errno::INVAL => "Invalid argument",
        Errno::NXIO => "No such device or address",
        Errno::EXIST => "the address range is taken (File exists)",
        Errno::FBIG | Errno::OVERFLOW => "Value too large",
        Errno::NODEV => "No such device",
        _ => "system call failed",
    }
}

/// Open a regular file read-only. O_NONBLOCK keeps a FIFO from hanging us;
/// the fstat check then rejects it.
pub fn open(path: &CStr) -> Result<File, OpenError> {
    checked(rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NONBLOCK, Mode::empty()))
}

/// `open` of `name` in the directory `dir` (a descriptor from
/// `open_dir`): the same file as `dir`'s path joined with `name`, without
/// walking the directory's path again.
pub fn open_in(dir: BorrowedFd<'_>, name: &CStr) -> Result<File, OpenError> {
    checked(rustix::fs::openat(dir, name, OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NONBLOCK, Mode::empty()))
}

/// A directory held for `open_in` (O_PATH: no read permission needed,
/// and searching it is checked at each open, as a path walk checks it).
pub fn open_dir(path: &CStr) -> Option<OwnedFd> {
    rustix::fs::open(path, OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty()).ok()
}

fn checked(fd: Result<OwnedFd, Errno>) -> Result<File, OpenError> {
    let fd = fd.map_err(OpenError::Errno)?;
    let st = rustix::fs::fstat(&fd).map_err(OpenError::Errno)?;
    match FileType::from_raw_mode(st.st_mode) {
        FileType::RegularFile => {}
        FileType::Directory => return Err(OpenError::Directory),
        _ => return Err(OpenError::NotRegular),
    }
    Ok(File { fd, size: st.st_size as u64, dev: st.st_dev, ino: st.st_ino })
}

impl File {
    /// Read exactly `buf.len()` bytes at `offset`; false on a short read.
    pub fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> bool {
        let mut done = 0;
        while done < buf.len() {
            match rustix::io::pread(self.fd.as_fd(), &mut buf[done..], offset + done as u64) {
                Ok(0) => return false,
                Ok(n) => done += n,
                Err(Errno::INTR) => {}
                Err(_) => return false,
            }
        }
        true
    }
}

/// Bytes `read_all` asks for per read(2): a stack buffer size, unrelated
/// to the page size.
const READ_CHUNK: usize = 4096;

/// The whole contents of a small file whose size fstat does not tell
/// (/proc files), or None.
pub fn read_all(path: &CStr) -> Option<alloc::vec::Vec<u8>> {
    let fd = rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).ok()?;
    let mut out = alloc::vec::Vec::new();
    let mut buf = [0u8; READ_CHUNK];
    loop {
        match rustix::io::read(&fd, &mut buf) {
            Ok(0) => return Some(out),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(Errno::INTR) => {}
            Err(_) => return None,
        }
    }
}
