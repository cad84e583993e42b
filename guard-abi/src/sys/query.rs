//! `PROCMAP_QUERY` (6.11+) on an open `/proc/PID/maps` fd: the VMA covering an address in
//! about a microsecond, without reading or parsing the text.

use super::{BorrowedFd, Errno, Result};
use crate::abi::*;
use crate::maps::{Dev, MapsEntry, Perms};
use core::ffi::c_void;
use rustix::ioctl::{Ioctl, IoctlOutput, Opcode};

struct Query<'a>(&'a mut ProcmapQuery);

// SAFETY: PROCMAP_QUERY reads and updates a `procmap_query` and writes at most
// `vma_name_size` bytes at `vma_name_addr` (no build id is asked for); `procmap_query`
// builds both from live Rust borrows.
unsafe impl Ioctl for Query<'_> {
    type Output = ();
    const IS_MUTATING: bool = true;

    fn opcode(&self) -> Opcode {
        PROCMAP_QUERY
    }

    fn as_ptr(&mut self) -> *mut c_void {
        (self.0 as *mut ProcmapQuery).cast()
    }

    unsafe fn output_from_ptr(_: IoctlOutput, _: *mut c_void) -> Result<()> {
        Ok(())
    }
}

/// The VMA covering `addr` (or with [`PROCMAP_QUERY_COVERING_OR_NEXT_VMA`] in `query_flags`,
/// the next one above it), its name written to `name` and borrowed from it in the result.
/// `Ok(None)`: no such VMA (ENOENT). ENAMETOOLONG: `name` is too small (PATH_MAX is always
/// enough); an empty `name` asks for no name. ENOTTY: a kernel before 6.11.
pub fn procmap_query<'n>(
    maps: BorrowedFd<'_>,
    addr: u64,
    query_flags: u64,
    name: &'n mut [u8],
) -> Result<Option<MapsEntry<'n>>> {
    let mut q = procmap_query_arg(addr, query_flags, name);
    // SAFETY: `q.vma_name_addr`/`vma_name_size` describe `name`, exclusively borrowed for the
    // call; `q` lives across it.
    match unsafe { rustix::ioctl::ioctl(maps, Query(&mut q)) } {
        Ok(()) => {}
        Err(Errno::NOENT) => return Ok(None),
        Err(e) => return Err(e),
    }
    // The size returned counts the NUL; 0 when the VMA has no name.
    let len = (q.vma_name_size as usize).saturating_sub(1);
    let name: &'n [u8] = name;
    let path = name.get(..len).ok_or(Errno::NAMETOOLONG)?;
    let f = q.vma_flags;
    Ok(Some(MapsEntry {
        start: q.vma_start,
        end: q.vma_end,
        perms: Perms {
            read: f & PROCMAP_QUERY_VMA_READABLE != 0,
            write: f & PROCMAP_QUERY_VMA_WRITABLE != 0,
            exec: f & PROCMAP_QUERY_VMA_EXECUTABLE != 0,
            shared: f & PROCMAP_QUERY_VMA_SHARED != 0,
        },
        offset: q.vma_offset,
        dev: Dev {
            major: q.dev_major,
            minor: q.dev_minor,
        },
        inode: q.inode,
        path,
    }))
}
