//! PT_LOAD headers of the generated objects (object crate), and what follows
//! from them at the runtime page size: the span and the padding pages.

use object::elf::{FileHeader64, PT_LOAD};
use object::read::elf::{FileHeader, ProgramHeader};
use object::Endianness;
use std::path::Path;

/// Runtime page size (x86_64).
pub const PAGE: u64 = 4096;

fn down(x: u64) -> u64 {
    x & !(PAGE - 1)
}
fn up(x: u64) -> u64 {
    (x + PAGE - 1) & !(PAGE - 1)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Load {
    pub vaddr: u64,
    pub memsz: u64,
    pub offset: u64,
    pub filesz: u64,
    pub flags: u32,
}

#[derive(Clone, Debug, Default)]
pub struct ObjInfo {
    /// Non-empty PT_LOADs in address order.
    pub loads: Vec<Load>,
}

impl ObjInfo {
    pub fn read(path: &Path) -> Result<ObjInfo, String> {
        let data = std::fs::read(path).map_err(|e| format!("read {}: {e}", path.display()))?;
        Self::parse(&data).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn parse(data: &[u8]) -> Result<ObjInfo, String> {
        let h = FileHeader64::<Endianness>::parse(data).map_err(|e| e.to_string())?;
        let en = h.endian().map_err(|e| e.to_string())?;
        let mut loads: Vec<Load> = h
            .program_headers(en, data)
            .map_err(|e| e.to_string())?
            .iter()
            .filter(|p| p.p_type(en) == PT_LOAD && p.p_memsz(en) > 0)
            .map(|p| Load {
                vaddr: p.p_vaddr(en),
                memsz: p.p_memsz(en),
                offset: p.p_offset(en),
                filesz: p.p_filesz(en),
                flags: p.p_flags(en),
            })
            .collect();
        loads.sort_by_key(|l| l.vaddr);
        if loads.is_empty() {
            return Err("no PT_LOAD".into());
        }
        Ok(ObjInfo { loads })
    }

    /// [first page, end of last page) in link-time addresses.
    pub fn span(&self) -> (u64, u64) {
        let first = self.loads.first().unwrap();
        let last = self.loads.iter().map(|l| up(l.vaddr + l.memsz)).max().unwrap();
        (down(first.vaddr), last)
    }

    /// Whole pages between one segment's last page and the next segment's
    /// first page: what a loader maps PROT_NONE (glibc), leaves readable
    /// (musl) or guards (guardld). Link-time addresses.
    pub fn padding(&self) -> Vec<(u64, u64)> {
        let mut v = Vec::new();
        for w in self.loads.windows(2) {
            let a = up(w[0].vaddr + w[0].memsz);
            let b = down(w[1].vaddr);
            if b > a {
                v.push((a, b));
            }
        }
        v
    }

    pub fn padding_pages(&self) -> u64 {
        self.padding().iter().map(|(a, b)| (b - a) / PAGE).sum()
    }

    /// Load bias, given the lowest VMA of this file in maps (its start and
    /// file offset): the PT_LOAD mapped from that offset tells which
    /// link-time page that VMA starts at.
    pub fn base_from(&self, vma_start: u64, vma_offset: u64) -> Option<u64> {
        let l = self.loads.iter().find(|l| down(l.offset) == vma_offset)?;
        vma_start.checked_sub(down(l.vaddr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(loads: &[(u64, u64, u64)]) -> ObjInfo {
        ObjInfo {
            loads: loads.iter().map(|&(vaddr, memsz, offset)| Load { vaddr, memsz, offset, filesz: memsz, flags: 4 }).collect(),
        }
    }

    #[test]
    fn lld_64k_padding() {
        // lld, max-page-size 64 KiB: R, RX, RW(relro), RW
        let o = obj(&[(0, 0x49c, 0), (0x1049c, 0x74, 0x49c), (0x20510, 0xaf0, 0x510), (0x30660, 0x1400, 0x660)]);
        assert_eq!(o.span(), (0, 0x32000));
        assert_eq!(o.padding(), vec![(0x1000, 0x10000), (0x11000, 0x20000), (0x21000, 0x30000)]);
        assert_eq!(o.padding_pages(), 45);
        assert_eq!(o.base_from(0x7f0000010000, 0), Some(0x7f0000010000));
    }

    #[test]
    fn contiguous_has_no_padding() {
        let o = obj(&[(0, 0x400, 0), (0x1000, 0x67, 0x1000), (0x2000, 0x94, 0x2000)]);
        assert!(o.padding().is_empty());
    }
}
