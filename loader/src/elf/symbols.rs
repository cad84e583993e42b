//! One object's dynamic symbols: hash-table lookup (GNU, else SysV) and
//! symbol versions. Every index is checked against the table it indexes;
//! chain walks are bounded by the symbol count so a cyclic chain ends.

use super::dynamic::{DynInfo, string};
use super::image::Image;
use super::pod::{SYM_SIZE, Sym};
use alloc::vec::Vec;

pub const STB_LOCAL: u8 = 0;
pub const STB_GLOBAL: u8 = 1;
pub const STB_WEAK: u8 = 2;
pub const STB_GNU_UNIQUE: u8 = 10;
pub const STT_NOTYPE: u8 = 0;
pub const STT_OBJECT: u8 = 1;
pub const STT_FUNC: u8 = 2;
pub const STT_COMMON: u8 = 5;
pub const STT_TLS: u8 = 6;
pub const STT_GNU_IFUNC: u8 = 10;
pub const SHN_UNDEF: u16 = 0;
pub const SHN_ABS: u16 = 0xfff1;
pub const STV_HIDDEN: u8 = 2;
pub const STV_DEFAULT: u8 = 0;
pub const STV_INTERNAL: u8 = 1;
const VERSYM_HIDDEN: u16 = 0x8000;
const VER_FLG_WEAK: u16 = 2;

pub fn gnu_hash(name: &[u8]) -> u32 {
    name.iter().fold(5381u32, |h, &c| h.wrapping_mul(33).wrapping_add(c as u32))
}

pub fn sysv_hash(name: &[u8]) -> u32 {
    let mut h = 0u32;
    for &c in name {
        h = (h << 4).wrapping_add(c as u32);
        let g = h & 0xf000_0000;
        if g != 0 {
            h ^= g >> 24;
        }
        h &= !g;
    }
    h
}

/// A name with both hashes computed once per lookup.
#[derive(Clone, Copy)]
pub struct Name<'a> {
    pub bytes: &'a [u8],
    pub gnu: u32,
    sysv: Option<u32>,
}

impl<'a> Name<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Name { bytes, gnu: gnu_hash(bytes), sysv: None }
    }
}

/// A version requirement or definition: name and its ELF hash.
#[derive(Clone, Copy, Debug)]
pub struct Version<'a> {
    pub name: &'a [u8],
    pub hash: u32,
    /// For requirements: the file (soname) that should define it.
    pub file: Option<&'a [u8]>,
    /// For requirements: weak (a missing definition is no error).
    pub weak: bool,
    /// This version only (glibc's `hidden` request, dlvsym's): an
    /// unversioned definition does not answer it, as it answers a
    /// relocation's versioned reference.
    pub hidden: bool,
}

enum Hash {
    Gnu { nbuckets: u32, symoffset: u32, bloom: &'static [u64], shift: u32, buckets: &'static [u32], chain: &'static [u32] },
    Sysv { buckets: &'static [u32], chain: &'static [u32] },
    None,
}

/// Why a symbol table cannot be used.
#[derive(Clone, Copy, Debug)]
pub enum SymError {
    BadHash,
    BadVersions,
}

impl SymError {
    pub fn message(self) -> &'static str {
        match self {
            SymError::BadHash => "corrupt symbol hash table",
            SymError::BadVersions => "corrupt symbol version tables",
        }
    }
}

/// How one definition answers a reference.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Candidate {
    Accept,
    /// A non-hidden versioned definition an unversioned reference may take
    /// when it is the only such one in its object (glibc's check_match).
    Fallback,
    Reject,
}

/// Choosing among one object's definitions of a name.
#[derive(Default)]
pub struct Pick {
    hit: Option<(usize, &'static Sym)>,
    fallback: Option<(usize, &'static Sym)>,
    fallbacks: usize,
}

impl Pick {
    /// Offer a candidate; true once one is accepted (stop looking).
    pub fn offer(&mut self, c: Candidate, i: usize, s: &'static Sym) -> bool {
        // The first accepted definition in hash-chain order wins (glibc).
        if self.hit.is_some() {
            return true;
        }
        match c {
            Candidate::Accept => {
                self.hit = Some((i, s));
                true
            }
            Candidate::Fallback => {
                self.fallbacks += 1;
                self.fallback = Some((i, s));
                false
            }
            Candidate::Reject => false,
        }
    }

    pub fn result(self) -> Option<(usize, &'static Sym)> {
        self.hit.or(if self.fallbacks == 1 { self.fallback } else { None })
    }
}

/// The dynamic symbol table of one object.
pub struct Symbols {
    syms: &'static [Sym],
    strtab: &'static [u8],
    hash: Hash,
    versym: Option<&'static [u16]>,
    /// Indices a lookup may return (the hash table's range).
    hashed: core::ops::Range<usize>,
    /// Version definitions by index (VERDEF), name + hash; None for gaps.
    pub defs: Vec<Option<Version<'static>>>,
    /// Version requirements by index (VERNEED's vna_other).
    pub needs: Vec<Option<Version<'static>>>,
}

const MAX_VERSIONS: u64 = 4096;

impl Symbols {
    pub fn new(img: &Image, d: &DynInfo) -> Result<Self, SymError> {
        // The symbol count is not stored. Bound it by the segment holding
        // the table and, as linkers place .dynstr right after .dynsym, by
        // the string table's address; the hash tables are checked against it.
        let room = img.bytes_from(d.symtab).map_or(0, |b| b.len() / SYM_SIZE);
        // Linkers put .dynsym before the other dynamic tables, so the
        // nearest table after it bounds it too.
        let after = [Some(d.strtab), d.versym, d.gnu_hash, d.hash, d.verdef.map(|v| v.0), d.verneed.map(|v| v.0), Some(d.rela.addr), Some(d.jmprel.addr)];
        let next = after.iter().flatten().filter(|&&a| a > d.symtab).min();
        let nsyms = match next {
            Some(&a) => room.min(((a - d.symtab) / SYM_SIZE as u64) as usize),
            None => room,
        };
        // The symbols a lookup may find: GNU hash covers [symoffset, end of
        // the last chain) only; garbage past that must never be indexed.
        let mut hashed = 1..nsyms;
        let hash = if let Some(h) = d.gnu_hash {
            let hdr: &[u32] = img.table(h, 4).ok_or(SymError::BadHash)?;
            let (nbuckets, symoffset, bloom_size, shift) = (hdr[0], hdr[1], hdr[2], hdr[3]);
            if nbuckets == 0 || bloom_size == 0 || !bloom_size.is_power_of_two() || shift >= 64 {
                return Err(SymError::BadHash);
            }
            let bloom: &[u64] = img.table(h + 16, bloom_size as u64).ok_or(SymError::BadHash)?;
            let bk = h + 16 + bloom_size as u64 * 8;
            let buckets: &[u32] = img.table(bk, nbuckets as u64).ok_or(SymError::BadHash)?;
            let ch = bk + nbuckets as u64 * 4;
            let chain_room = img.bytes_from(ch).map_or(0, |b| b.len() / 4);
            let room: &[u32] = img.table(ch, chain_room as u64).ok_or(SymError::BadHash)?;
            // The symbol count is where the last chain ends. Chains are laid
            // out in bucket order, so the last one starts at the largest
            // bucket value: walk that chain alone to its end marker, bounded
            // by the table's room (a chain without an end marker is
            // corrupt). Walking every chain touched every chain word of
            // each library at start-up. A table whose chains are not in
            // bucket order loses the symbols past the count, never bounds:
            // each walk stays inside `chain` and `syms`.
            let mut count = symoffset as usize;
            // Empty buckets (0) and values below symoffset are ignored.
            if let Some(mut k) = buckets.iter().copied().filter(|&b| b != 0).max().and_then(|b| (b as usize).checked_sub(symoffset as usize)) {
                loop {
                    let &c = room.get(k).ok_or(SymError::BadHash)?;
                    if c & 1 != 0 {
                        break;
                    }
                    k += 1;
                }
                count = symoffset as usize + k + 1;
            }
            if count > nsyms {
                return Err(SymError::BadHash);
            }
            let chain = &room[..count - symoffset as usize];
            hashed = (symoffset as usize).max(1)..count;
            Hash::Gnu { nbuckets, symoffset, bloom, shift, buckets, chain }
        } else if let Some(h) = d.hash {
            let hdr: &[u32] = img.table(h, 2).ok_or(SymError::BadHash)?;
            let (nb, nc) = (hdr[0] as u64, hdr[1] as u64);
            if nb == 0 {
                return Err(SymError::BadHash);
            }
            let buckets: &[u32] = img.table(h + 8, nb).ok_or(SymError::BadHash)?;
            let chain: &[u32] = img.table(h + 8 + nb * 4, nc).ok_or(SymError::BadHash)?;
            if nc as usize > room {
                return Err(SymError::BadHash);
            }
            hashed = 1..nc as usize;
            Hash::Sysv { buckets, chain }
        } else {
            Hash::None
        };
        let syms: &[Sym] = img.table(d.symtab, nsyms as u64).ok_or(SymError::BadHash)?;
        let strtab = img.bytes(d.strtab, d.strsz).unwrap_or(&[]);
        let versym = match d.versym {
            // Entries past the table's segment read as unversioned.
            Some(v) => {
                let n = img.bytes_from(v).map_or(0, |b| b.len() / 2).min(nsyms);
                Some(img.table::<u16>(v, n as u64).ok_or(SymError::BadVersions)?)
            }
            None => None,
        };
        let mut s = Symbols { syms, strtab, hash, versym, hashed, defs: Vec::new(), needs: Vec::new() };
        s.read_verdefs(img, d).ok_or(SymError::BadVersions)?;
        s.read_verneeds(img, d).ok_or(SymError::BadVersions)?;
        Ok(s)
    }

    /// An object without a dynamic symbol table.
    pub fn empty() -> Self {
        Symbols { syms: &[], strtab: &[], hash: Hash::None, versym: None, hashed: 0..0, defs: Vec::new(), needs: Vec::new() }
    }

    fn put(v: &mut Vec<Option<Version<'static>>>, ndx: u16, ver: Version<'static>) {
        let i = ndx as usize;
        if v.len() <= i {
            v.resize(i + 1, None);
        }
        v[i] = Some(ver);
    }

    fn read_verdefs(&mut self, img: &Image, d: &DynInfo) -> Option<()> {
        let Some((mut at, num)) = d.verdef else { return Some(()) };
        for _ in 0..num.min(MAX_VERSIONS) {
            let h: &[u16] = img.table(at, 10)?; // Verdef: 20 bytes
            let (flags, ndx, cnt) = (h[1], h[2], h[3]);
            let aux = u32::from_le_bytes([h[6] as u8, (h[6] >> 8) as u8, h[7] as u8, (h[7] >> 8) as u8]) as u64;
            let next = u32::from_le_bytes([h[8] as u8, (h[8] >> 8) as u8, h[9] as u8, (h[9] >> 8) as u8]) as u64;
            let hash = h[4] as u32 | (h[5] as u32) << 16;
            if cnt > 0 {
                let a: &[u32] = img.table(at.checked_add(aux)?, 2)?;
                let name = string(img, d, a[0] as u64)?;
                // VER_FLG_BASE (1) names the object itself, not a version.
                if flags & 1 == 0 {
                    Self::put(&mut self.defs, ndx & 0x7fff, Version { name, hash, file: None, weak: false, hidden: false });
                }
            }
            if next == 0 {
                break;
            }
            at = at.checked_add(next)?;
        }
        Some(())
    }

    fn read_verneeds(&mut self, img: &Image, d: &DynInfo) -> Option<()> {
        let Some((mut at, num)) = d.verneed else { return Some(()) };
        for _ in 0..num.min(MAX_VERSIONS) {
            let h: &[u32] = img.table(at, 4)?; // Verneed: 16 bytes
            let cnt = h[0] >> 16;
            let file = string(img, d, h[1] as u64)?;
            let mut aux = at.checked_add(h[2] as u64)?;
            for _ in 0..cnt.min(MAX_VERSIONS as u32) {
                let a: &[u32] = img.table(aux, 4)?; // Vernaux: 16 bytes
                let (hash, flags, other) = (a[0], a[1] as u16, (a[1] >> 16) as u16);
                let name = string(img, d, a[2] as u64)?;
                Self::put(&mut self.needs, other & 0x7fff, Version { name, hash, file: Some(file), weak: flags & VER_FLG_WEAK != 0, hidden: false });
                if a[3] == 0 {
                    break;
                }
                aux = aux.checked_add(a[3] as u64)?;
            }
            if h[3] == 0 {
                break;
            }
            at = at.checked_add(h[3] as u64)?;
        }
        Some(())
    }

    pub fn len(&self) -> usize {
        self.syms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.syms.is_empty()
    }

    pub fn get(&self, i: usize) -> Option<&'static Sym> {
        self.syms.get(i)
    }

    /// Start fetching symbol `i` and its version index (`prefetch_name`
    /// follows once the symbol has arrived).
    pub fn prefetch_entry(&self, i: usize) {
        crate::arch::prefetch(self.syms.as_ptr().wrapping_add(i).cast());
        if let Some(v) = self.versym {
            crate::arch::prefetch(v.as_ptr().wrapping_add(i).cast());
        }
    }

    /// Start fetching the name of symbol `i`.
    pub fn prefetch_name(&self, i: usize) {
        if let Some(s) = self.syms.get(i) {
            crate::arch::prefetch(self.strtab.as_ptr().wrapping_add(s.st_name as usize));
        }
    }

    pub fn name(&self, s: &Sym) -> Option<&'static [u8]> {
        let rest = self.strtab.get(s.st_name as usize..)?;
        Some(&rest[..rest.iter().position(|&b| b == 0)?])
    }

    /// Whether `name(s)` would find the symbol's name: without reading it
    /// when the string table ends in a NUL (every offset inside it then
    /// starts a terminated string).
    pub fn has_name(&self, s: &Sym) -> bool {
        match self.strtab.last() {
            Some(0) => (s.st_name as usize) < self.strtab.len(),
            _ => self.name(s).is_some(),
        }
    }

    /// Whether symbol `s` is named `name` (compared in place: no strlen of
    /// every candidate on a hash chain).
    pub fn named(&self, s: &Sym, name: &[u8]) -> bool {
        let at = s.st_name as usize;
        let Some(end) = at.checked_add(name.len()) else { return false };
        self.strtab.get(at..end) == Some(name) && self.strtab.get(end) == Some(&0)
    }

    /// Whether symbol `s` of this object and symbol `o` of `other` have
    /// the same name: compared in place up to the first difference, so
    /// names sharing a hash but not a spelling cost a few bytes each.
    pub fn same_name(&self, s: &Sym, other: &Symbols, o: &Sym) -> bool {
        if core::ptr::eq(self.strtab, other.strtab) && s.st_name == o.st_name {
            return true;
        }
        let (Some(a), Some(b)) = (self.strtab.get(s.st_name as usize..), other.strtab.get(o.st_name as usize..)) else { return false };
        for (x, y) in a.iter().zip(b) {
            if x != y {
                return false;
            }
            if *x == 0 {
                return true;
            }
        }
        false
    }

    /// Whether symbols `i` < `j` lie on different chains of this object's
    /// GNU hash table (then their full hashes, and so their names, differ:
    /// a chain holds one bucket's symbols, and the table's order keeps a
    /// chain's symbols together). False when unknown: another kind of
    /// table, or chains too far apart to look.
    pub fn on_different_chains(&self, i: usize, j: usize) -> bool {
        let Hash::Gnu { symoffset, chain, .. } = self.hash else { return false };
        let (Some(a), Some(b)) = (i.checked_sub(symoffset as usize), j.checked_sub(symoffset as usize)) else { return false };
        a < b && b - a <= 16 && chain.get(a..b).is_some_and(|run| run.iter().any(|c| c & 1 != 0))
    }

    /// The version a reference at index `i` requires (None: unversioned).
    pub fn required_version(&self, i: usize) -> Option<Version<'static>> {
        let v = *self.versym?.get(i)? & 0x7fff;
        if v < 2 {
            return None;
        }
        self.needs.get(v as usize).copied().flatten().or_else(|| self.defs.get(v as usize).copied().flatten())
    }

    /// Whether definition `i` of this object satisfies version `want`,
    /// following glibc's check_match. Returns (accept, unversioned-fallback):
    /// the second marks a non-hidden versioned definition an unversioned
    /// reference may take when it is the only one.
    fn version_ok(&self, i: usize, want: Option<&Version<'_>>) -> (bool, bool) {
        let Some(versym) = self.versym else { return (true, false) };
        let raw = versym.get(i).copied().unwrap_or(0);
        let ndx = raw & 0x7fff;
        let hidden = raw & VERSYM_HIDDEN != 0;
        match want {
            Some(w) => {
                let def = self.defs.get(ndx as usize).copied().flatten();
                let matches = def.is_some_and(|d| d.hash == w.hash && d.name == w.name);
                (matches || (def.is_none() && !hidden && !w.hidden), false)
            }
            None if ndx >= 3 => (false, !hidden),
            None => (true, false),
        }
    }

    /// How definition `i` (named as wanted) answers a reference with
    /// version `want`; `plt` excludes undefined symbols that carry a
    /// canonical PLT address (a JUMP_SLOT must not bind to a PLT stub).
    pub fn candidate(&self, i: usize, s: &Sym, want: Option<&Version<'_>>, plt: bool) -> Candidate {
        if !self.definable(s, plt) {
            return Candidate::Reject;
        }
        match self.version_ok(i, want) {
            (true, _) => Candidate::Accept,
            (false, true) => Candidate::Fallback,
            _ => Candidate::Reject,
        }
    }

    /// Whether this object may define `name`: false only when its GNU
    /// bloom filter rules the name out. Most objects a scope walk asks are
    /// ruled out here; inlined into the walk, that costs a few
    /// instructions instead of a call to `lookup`.
    #[inline]
    pub fn may_define(&self, name: &Name<'_>) -> bool {
        match &self.hash {
            Hash::Gnu { .. } => self.bloom_admits(name.gnu),
            _ => true,
        }
    }

    /// The GNU bloom filter lets hash `h` through (false without a GNU table).
    fn bloom_admits(&self, h: u32) -> bool {
        let Hash::Gnu { bloom, shift, .. } = &self.hash else { return false };
        // The length is a power of two (checked in `new`).
        let word = bloom[(h as usize / 64) & (bloom.len() - 1)];
        let mask = (1u64 << (h % 64)) | (1u64 << ((h >> shift) % 64));
        word & mask == mask
    }

    /// Find a definition of `name` (with version `want`) that another object
    /// may bind to, through this object's hash table.
    pub fn lookup(&self, name: &mut Name<'_>, want: Option<&Version<'_>>, plt: bool) -> Option<(usize, &'static Sym)> {
        let mut pick = Pick::default();
        self.each_named(name, |i, s| pick.offer(self.candidate(i, s, want, plt), i, s));
        pick.result()
    }

    /// Call `f` with each symbol named `name` (index, symbol), following
    /// the hash table's chain, until it returns true.
    pub fn each_named(&self, name: &mut Name<'_>, mut f: impl FnMut(usize, &'static Sym) -> bool) {
        let bytes = name.bytes;
        let mut check = |i: usize| -> bool {
            let Some(s) = self.syms.get(i) else { return false };
            self.named(s, bytes) && f(i, s)
        };
        match self.hash {
            Hash::Gnu { nbuckets, symoffset, buckets, chain, .. } => {
                let h = name.gnu;
                if !self.bloom_admits(h) {
                    return;
                }
                let mut i = buckets[(h % nbuckets) as usize] as usize;
                if i >= symoffset as usize {
                    while let Some(&c) = chain.get(i - symoffset as usize) {
                        if (c | 1) == (h | 1) && check(i) {
                            break;
                        }
                        if c & 1 != 0 {
                            break;
                        }
                        i += 1;
                    }
                }
            }
            Hash::Sysv { buckets, chain } => {
                let h = *name.sysv.get_or_insert_with(|| sysv_hash(name.bytes));
                let mut i = buckets[h as usize % buckets.len()] as usize;
                // At most one step per symbol: a cyclic chain cannot hang us.
                for _ in 0..chain.len() {
                    if i == 0 || check(i) {
                        break;
                    }
                    let Some(&n) = chain.get(i) else { break };
                    i = n as usize;
                }
            }
            Hash::None => {
                let _ = self.hashed.clone().any(&mut check);
            }
        }
    }

    /// An upper bound of the exported definitions, without reading them.
    pub fn export_bound(&self) -> usize {
        self.hashed.len()
    }

    /// Exported definitions (candidates for any reference), for indexing,
    /// last to first: (index, symbol, GNU hash >> 1). The GNU hash table
    /// already stores every hashed name's hash (low bit aside), so the
    /// index need not read or hash the names (they are compared, in place,
    /// only when a lookup's hash matches: `named`).
    pub fn exported_rev(&self) -> impl Iterator<Item = (usize, &'static Sym, u32)> + '_ {
        // Clamped, and never inverted (an empty table can give 1..0).
        let end = self.hashed.end.min(self.syms.len());
        let range = self.hashed.start.min(end)..end;
        self.syms[range.clone()].iter().zip(range).rev().filter_map(|(s, i)| {
            if !self.definable(s, false) {
                return None;
            }
            let h = match self.hash {
                Hash::Gnu { symoffset, chain, .. } => chain.get(i.checked_sub(symoffset as usize)?).map(|c| c >> 1),
                _ => None,
            };
            let h = match h {
                Some(h) => h,
                None => gnu_hash(self.name(s)?) >> 1,
            };
            Some((i, s, h))
        })
    }

    fn definable(&self, s: &Sym, plt: bool) -> bool {
        let (bind, ty) = (s.bind(), s.kind());
        if s.st_value == 0 && s.st_shndx != SHN_ABS && ty != STT_TLS {
            return false;
        }
        // An undefined symbol defines nothing; only an executable's canonical
        // PLT address (undefined, with a value) may answer non-PLT references.
        if s.st_shndx == SHN_UNDEF && (s.st_value == 0 || ty == STT_TLS) {
            return false;
        }
        if plt && s.st_shndx == SHN_UNDEF {
            return false;
        }
        if !matches!(ty, STT_NOTYPE | STT_OBJECT | STT_FUNC | STT_COMMON | STT_TLS | STT_GNU_IFUNC) {
            return false;
        }
        if matches!(s.visibility(), STV_HIDDEN | STV_INTERNAL) {
            return false;
        }
        matches!(bind, STB_GLOBAL | STB_WEAK | STB_GNU_UNIQUE)
    }

    /// Every version this object defines (for checking requirements).
    pub fn defines_version(&self, v: &Version<'_>) -> bool {
        self.defs.iter().flatten().any(|d| d.hash == v.hash && d.name == v.name)
    }

    /// Every defined symbol, for dladdr-style reverse lookups.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &'static Sym)> + '_ {
        self.syms.iter().enumerate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_match_the_abi_examples() {
        // Values from the ELF gABI / GNU hash documentation.
        assert_eq!(gnu_hash(b""), 0x0000_1505);
        assert_eq!(gnu_hash(b"printf"), 0x156b_2bb8);
        assert_eq!(gnu_hash(b"exit"), 0x7c96_7e3f);
        assert_eq!(sysv_hash(b"printf"), 0x0779_05a6);
        assert_eq!(sysv_hash(b"exit"), 0x0006_cf04);
    }
}
