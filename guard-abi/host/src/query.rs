//! "Which VMA covers address A": PROCMAP_QUERY, or the maps text where the kernel lacks it.

use crate::{Vma, fd, io_err, is_unsupported, parse_maps, proc_path};
use guard_abi::sys;
use std::fs::File;
use std::io::{self, Read};

/// Linux's PATH_MAX: the longest name PROCMAP_QUERY returns.
const PATH_MAX: usize = 4096;

/// PROCMAP_QUERY on an open maps file: the VMA covering `addr`, None if there is none. ENOTTY
/// (or EINVAL) on kernels before 6.11: see [`is_unsupported`].
pub fn query_vma_ioctl(maps: &File, addr: u64) -> io::Result<Option<Vma>> {
    let mut name = vec![0u8; PATH_MAX];
    let e = sys::procmap_query(fd(maps), addr, 0, &mut name).map_err(io_err)?;
    Ok(e.as_ref().map(Vma::from_entry))
}

/// The VMA of process `pid` covering `addr`, None if there is none: PROCMAP_QUERY, else the
/// same maps file read as text.
pub fn query_vma(pid: u32, addr: u64) -> io::Result<Option<Vma>> {
    let mut maps = File::open(proc_path(pid, "maps"))?;
    match query_vma_ioctl(&maps, addr) {
        Err(e) if is_unsupported(&e) => {
            let mut text = std::vec::Vec::new();
            maps.read_to_end(&mut text)?;
            Ok(parse_maps(&text)?.into_iter().find(|v| v.contains(addr)))
        }
        r => r,
    }
}
