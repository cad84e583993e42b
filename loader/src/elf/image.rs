//! A view of an object mapped in this process that only hands out bytes
//! lying inside one of its PT_LOAD segments: table addresses read from the
//! dynamic section are checked here before anything dereferences them
//! (padding may be guarded: touching it would kill guardld).

use super::pod::{self, Pod};
use alloc::vec::Vec;

#[derive(Clone, Debug, Default)]
pub struct Image {
    pub bias: usize,
    /// (vaddr, memsz) of each PT_LOAD, link-time addresses.
    pub segs: Vec<(u64, u64)>,
    /// (vaddr, memsz) of the writable PT_LOADs.
    pub writable: Vec<(u64, u64)>,
}

impl Image {
    fn inside(segs: &[(u64, u64)], vaddr: u64, len: u64) -> bool {
        let Some(end) = vaddr.checked_add(len) else { return false };
        segs.iter().any(|&(v, m)| vaddr >= v && end <= v.saturating_add(m))
    }

    /// Bytes `[vaddr, vaddr+len)` if they lie inside one loaded segment.
    pub fn bytes(&self, vaddr: u64, len: u64) -> Option<&'static [u8]> {
        if !Self::inside(&self.segs, vaddr, len) {
            return None;
        }
        // SAFETY: the range lies inside a mapped PT_LOAD of this object, and
        // objects stay mapped while guardld's records of them exist.
        Some(unsafe { pod::mapped(self.bias.wrapping_add(vaddr as usize), len as usize) })
    }

    /// The largest byte run starting at `vaddr` inside one segment.
    pub fn bytes_from(&self, vaddr: u64) -> Option<&'static [u8]> {
        let &(v, m) = self.segs.iter().find(|&&(v, m)| vaddr >= v && vaddr < v.saturating_add(m))?;
        self.bytes(vaddr, v.saturating_add(m) - vaddr)
    }

    /// `count` records of T at `vaddr`.
    pub fn table<T: Pod>(&self, vaddr: u64, count: u64) -> Option<&'static [T]> {
        let len = count.checked_mul(core::mem::size_of::<T>() as u64)?;
        pod::slice(self.bytes(vaddr, len)?, 0, count as usize)
    }

    /// Whether a relocation may write `len` bytes at `vaddr`.
    pub fn writable(&self, vaddr: u64, len: u64) -> bool {
        Self::inside(&self.writable, vaddr, len)
    }

    /// Runtime address of a link-time address.
    pub fn addr(&self, vaddr: u64) -> usize {
        self.bias.wrapping_add(vaddr as usize)
    }
}
