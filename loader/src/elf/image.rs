//! A view of an object mapped in this process that only hands out bytes
//! lying inside one of its PT_LOAD segments: table addresses read from the
//! dynamic section are checked here before anything dereferences them
//! (padding may be guarded: touching it would kill guardld). Writes
//! (relocations, DT_DEBUG) are checked the same way against the writable
//! segments: this is the one module that turns an object's addresses into
//! memory accesses.
#![allow(unsafe_code)] // the unsafe boundary (lib.rs): Bounded views of mapped objects: the only reads and writes of their memory.

use super::pod::{self, Pod};
use alloc::vec::Vec;

#[derive(Clone, Debug, Default)]
pub struct Image {
    pub bias: usize,
    /// (vaddr, memsz) of each PT_LOAD, link-time addresses.
    pub segs: Vec<(u64, u64)>,
    /// (vaddr, memsz) of the writable PT_LOADs.
    pub writable: Vec<(u64, u64)>,
    /// (vaddr, memsz) of the executable PT_LOADs.
    pub code: Vec<(u64, u64)>,
}

impl Image {
    fn inside(segs: &[(u64, u64)], vaddr: u64, len: u64) -> bool {
        let Some(end) = vaddr.checked_add(len) else { return false };
        segs.iter().any(|&(v, m)| vaddr >= v && end <= v.saturating_add(m))
    }

    /// Bytes `[vaddr, vaddr+len)` if they lie inside one loaded segment.
    ///
    /// The slice is typed 'static so that an object's record can keep views
    /// into its own memory (symbol tables, names); it is sound because the
    /// record owns the mapping (`link::dso::Mapper::Guardld`'s `Span`, or
    /// the kernel's mapping, which is never unmapped) and drops those views
    /// with it, and the registry drops its symbol index when it unloads an
    /// object. Nothing else may keep a view past the linker lock.
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

    /// Write `src` at `vaddr` if it lies inside one writable segment.
    pub fn write_bytes(&self, vaddr: u64, src: &[u8]) -> bool {
        if !self.writable(vaddr, src.len() as u64) {
            return false;
        }
        // SAFETY: checked inside a writable PT_LOAD of this object, which
        // stays mapped while its record exists; `src` is another object's
        // (or a local) buffer, never this range.
        unsafe { core::ptr::copy_nonoverlapping(src.as_ptr(), self.addr(vaddr) as *mut u8, src.len()) };
        true
    }

    /// Write a 64-bit word at `vaddr` (unaligned allowed), if writable.
    pub fn write_u64(&self, vaddr: u64, v: u64) -> bool {
        if !self.writable(vaddr, 8) {
            return false;
        }
        // SAFETY: checked inside a writable PT_LOAD of this object, which
        // stays mapped while its record exists. (A word store, not a call
        // to memcpy: relocation does this thousands of times.)
        unsafe { (self.addr(vaddr) as *mut u64).write_unaligned(v) };
        true
    }

    /// Add `delta` to the 64-bit word at `vaddr`, if writable (a relative
    /// relocation applied in place: RELR).
    pub fn add_u64(&self, vaddr: u64, delta: u64) -> bool {
        if !self.writable(vaddr, 8) {
            return false;
        }
        let p = self.addr(vaddr) as *mut u64;
        // SAFETY: as in `write_u64`; writable segments are also readable.
        unsafe { p.write_unaligned(p.read_unaligned().wrapping_add(delta)) };
        true
    }

    /// Write a 32-bit word at `vaddr`, if writable.
    pub fn write_u32(&self, vaddr: u64, v: u32) -> bool {
        self.write_bytes(vaddr, &v.to_le_bytes())
    }

    /// Read a 64-bit word at `vaddr` of a writable segment (RELR: the
    /// word to adjust in place).
    pub fn read_writable_u64(&self, vaddr: u64) -> Option<u64> {
        if !self.writable(vaddr, 8) {
            return None;
        }
        let b = self.bytes(vaddr, 8)?;
        Some(u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
    }

    /// Whether link-time address `vaddr` lies in an executable segment.
    pub fn is_code(&self, vaddr: u64) -> bool {
        Self::inside(&self.code, vaddr, 1)
    }

    /// Runtime address of a link-time address.
    pub fn addr(&self, vaddr: u64) -> usize {
        self.bias.wrapping_add(vaddr as usize)
    }
}
