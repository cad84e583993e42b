//! The ELF header and program headers of an object, checked before use.

use super::pod::{self, Ehdr, Phdr};
use alloc::vec::Vec;

pub const ET_EXEC: u16 = 2;
pub const ET_DYN: u16 = 3;
pub const EM_X86_64: u16 = 62;
pub const PT_LOAD: u32 = 1;
pub const PT_DYNAMIC: u32 = 2;
pub const PT_INTERP: u32 = 3;
pub const PT_NOTE: u32 = 4;
pub const PT_PHDR: u32 = 6;
pub const PT_TLS: u32 = 7;
pub const PT_GNU_STACK: u32 = 0x6474_e551;
pub const PT_GNU_RELRO: u32 = 0x6474_e552;

/// Sanity bound: real objects have a dozen program headers.
pub const MAX_PHNUM: u16 = 512;

/// What is wrong with a header, as a message for `guardld: <file>: <reason>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderError {
    Truncated,
    NotElf,
    WrongClass,
    WrongEndian,
    WrongIdentVersion,
    BadOsabi,
    BadAbiVersion,
    NonzeroPad,
    WrongVersion,
    WrongMachine,
    WrongType,
    BadPhentsize,
    BadPhnum,
    PhdrsPastEof,
}

/// ELFOSABI_SYSV and ELFOSABI_GNU (<elf.h>): the OS ABIs glibc's Linux
/// loader takes (VALID_ELF_OSABI).
const ELFOSABI_SYSV: u8 = 0;
const ELFOSABI_GNU: u8 = 3;

impl HeaderError {
    /// The reason, in glibc's words (elf/dl-load.c, open_verify) where
    /// glibc has them.
    pub fn message(self) -> &'static str {
        match self {
            HeaderError::Truncated => "file too short",
            HeaderError::NotElf => "invalid ELF header",
            // A 64-bit loader calls every other class 32-bit.
            HeaderError::WrongClass => "wrong ELF class: ELFCLASS32",
            HeaderError::WrongEndian => "ELF file data encoding not little-endian",
            HeaderError::WrongIdentVersion => "ELF file version ident does not match current one",
            HeaderError::BadOsabi => "ELF file OS ABI invalid",
            HeaderError::BadAbiVersion => "ELF file ABI version invalid",
            HeaderError::NonzeroPad => "nonzero padding in e_ident",
            HeaderError::WrongVersion => "ELF file version does not match current one",
            HeaderError::WrongMachine => "wrong machine: not x86_64",
            HeaderError::WrongType => "only ET_DYN and ET_EXEC can be loaded",
            HeaderError::BadPhentsize => "ELF file's phentsize not the expected size",
            HeaderError::BadPhnum => "bad program header count",
            HeaderError::PhdrsPastEof => "program headers past the end of the file",
        }
    }

    /// glibc's dlerror text for a library with this header, where it
    /// differs from `message`: glibc takes an object for another machine
    /// as no file at all, and names any short read so.
    pub fn glibc_text(self) -> &'static str {
        match self {
            HeaderError::WrongMachine => "cannot open shared object file: No such file or directory",
            HeaderError::PhdrsPastEof => "cannot read file data",
            e => e.message(),
        }
    }
}

/// Check an ELF header read from a file of `file_size` bytes, in glibc's
/// order (open_verify). `abi_max`: the first EI_ABIVERSION of the GNU OS
/// ABI the loader does not know (glibc's LIBC_ABI_MAX).
pub fn check_ehdr(bytes: &[u8], file_size: u64, abi_max: u8) -> Result<Ehdr, HeaderError> {
    // Length first, then magic, as glibc's open_verify checks them.
    let eh: Ehdr = pod::read(bytes, 0).ok_or(HeaderError::Truncated)?;
    let id = &eh.e_ident;
    if id[..4] != *b"\x7fELF" {
        return Err(HeaderError::NotElf);
    }
    if id[4] != 2 {
        return Err(HeaderError::WrongClass);
    }
    if id[5] != 1 {
        return Err(HeaderError::WrongEndian);
    }
    if id[6] != 1 {
        return Err(HeaderError::WrongIdentVersion);
    }
    if id[7] != ELFOSABI_SYSV && id[7] != ELFOSABI_GNU {
        return Err(HeaderError::BadOsabi);
    }
    if id[8] != 0 && (id[7] != ELFOSABI_GNU || id[8] >= abi_max) {
        return Err(HeaderError::BadAbiVersion);
    }
    if id[9..].iter().any(|&b| b != 0) {
        return Err(HeaderError::NonzeroPad);
    }
    if eh.e_version != 1 {
        return Err(HeaderError::WrongVersion);
    }
    // The machine before the type, as glibc: a search passes over any
    // object for another machine.
    if eh.e_machine != EM_X86_64 {
        return Err(HeaderError::WrongMachine);
    }
    if eh.e_type != ET_EXEC && eh.e_type != ET_DYN {
        return Err(HeaderError::WrongType);
    }
    if eh.e_phentsize as usize != core::mem::size_of::<Phdr>() {
        return Err(HeaderError::BadPhentsize);
    }
    if eh.e_phnum == 0 || eh.e_phnum > MAX_PHNUM {
        return Err(HeaderError::BadPhnum);
    }
    let end = (eh.e_phnum as usize * pod::PHDR_SIZE) as u64;
    if eh.e_phoff.checked_add(end).is_none_or(|e| e > file_size) {
        return Err(HeaderError::PhdrsPastEof);
    }
    Ok(eh)
}

/// Parse `phnum` program headers from raw bytes.
pub fn parse_phdrs(bytes: &[u8], phnum: usize) -> Result<Vec<Phdr>, HeaderError> {
    // Sized once (a collect through Result grows the vector step by step).
    let mut v = Vec::with_capacity(phnum.min(bytes.len() / pod::PHDR_SIZE));
    for i in 0..phnum {
        v.push(pod::read::<Phdr>(bytes, i * pod::PHDR_SIZE).ok_or(HeaderError::PhdrsPastEof)?);
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// glibc 2.36's LIBC_ABI_MAX, for these tests only.
    const ABI_MAX: u8 = 4;

    /// EI_OSABI GNU takes ABI versions below the maximum.
    #[test]
    fn gnu_abi_versions_below_the_maximum_pass() {
        for ver in 0..ABI_MAX {
            let mut v = good();
            v[7] = ELFOSABI_GNU;
            v[8] = ver;
            assert!(check_ehdr(&v, v.len() as u64, ABI_MAX).is_ok(), "ABI version {ver}");
        }
    }

    fn good() -> Vec<u8> {
        let mut eh = Ehdr::default();
        eh.e_ident[..7].copy_from_slice(b"\x7fELF\x02\x01\x01");
        eh.e_type = ET_DYN;
        eh.e_machine = EM_X86_64;
        eh.e_version = 1;
        eh.e_phoff = 64;
        eh.e_phentsize = 56;
        eh.e_phnum = 2;
        let mut v = vec![0u8; 64 + 112];
        v[..64].copy_from_slice(pod::bytes_of_mut(&mut eh));
        v
    }

    #[test]
    fn accepts_a_plain_header() {
        let v = good();
        assert_eq!(check_ehdr(&v, v.len() as u64, ABI_MAX).map(|e| e.e_phnum), Ok(2));
    }

    #[test]
    fn short_files_are_too_short_before_the_magic_is_read() {
        let v = good();
        for n in [0, 3, 4, 40, 63] {
            assert_eq!(check_ehdr(&v[..n], n as u64, ABI_MAX).err(), Some(HeaderError::Truncated), "{n} bytes");
        }
        assert_eq!(check_ehdr(&[b'#'; 64], 64, ABI_MAX).err(), Some(HeaderError::NotElf));
    }

    #[test]
    fn rejects_each_broken_field() {
        let cases: &[(usize, u8, HeaderError)] = &[
            (0, 0, HeaderError::NotElf),
            (4, 1, HeaderError::WrongClass),
            (5, 2, HeaderError::WrongEndian),
            (6, 0, HeaderError::WrongIdentVersion),
            (7, 0x61, HeaderError::BadOsabi),
            (8, 1, HeaderError::BadAbiVersion),
            (9, 1, HeaderError::NonzeroPad),
            (15, 1, HeaderError::NonzeroPad),
            (20, 2, HeaderError::WrongVersion),
            (16, 1, HeaderError::WrongType),
            (16, 4, HeaderError::WrongType),
            (18, 3, HeaderError::WrongMachine),
            (54, 32, HeaderError::BadPhentsize),
            (56, 0, HeaderError::BadPhnum),
        ];
        for &(at, val, want) in cases {
            let mut v = good();
            v[at] = val;
            assert_eq!(check_ehdr(&v, v.len() as u64, ABI_MAX).err(), Some(want), "byte {at} = {val}");
        }
    }

    #[test]
    fn rejects_truncation_at_every_length() {
        let v = good();
        for len in 0..v.len() {
            assert!(check_ehdr(&v[..len], len as u64, ABI_MAX).is_err(), "length {len}");
        }
    }
}
