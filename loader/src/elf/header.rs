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
    WrongVersion,
    WrongMachine,
    Relocatable,
    Core,
    WrongType,
    BadPhentsize,
    BadPhnum,
    PhdrsPastEof,
}

impl HeaderError {
    pub fn message(self) -> &'static str {
        match self {
            // glibc's words, for a file shorter than an ELF header.
            HeaderError::Truncated => "file too short",
            HeaderError::NotElf => "not an ELF file (bad magic)",
            // glibc's words (a 64-bit loader calls every other class 32-bit).
            HeaderError::WrongClass => "wrong ELF class: ELFCLASS32",
            HeaderError::WrongEndian => "wrong byte order: not little-endian",
            HeaderError::WrongVersion => "unsupported ELF version",
            HeaderError::WrongMachine => "wrong machine: not x86_64",
            HeaderError::Relocatable => "cannot run a relocatable object (ET_REL)",
            HeaderError::Core => "cannot run a core file (ET_CORE)",
            HeaderError::WrongType => "not an executable or shared object",
            HeaderError::BadPhentsize => "bad program header entry size",
            HeaderError::BadPhnum => "bad program header count",
            HeaderError::PhdrsPastEof => "program headers past the end of the file",
        }
    }
}

/// Check an ELF header read from a file of `file_size` bytes.
pub fn check_ehdr(bytes: &[u8], file_size: u64) -> Result<Ehdr, HeaderError> {
    // Length first, then magic, as glibc's open_verify checks them.
    let eh: Ehdr = pod::read(bytes, 0).ok_or(HeaderError::Truncated)?;
    if eh.e_ident[..4] != *b"\x7fELF" {
        return Err(HeaderError::NotElf);
    }
    if eh.e_ident[4] != 2 {
        return Err(HeaderError::WrongClass);
    }
    if eh.e_ident[5] != 1 {
        return Err(HeaderError::WrongEndian);
    }
    if eh.e_ident[6] != 1 || eh.e_version != 1 {
        return Err(HeaderError::WrongVersion);
    }
    // The machine before the type, as glibc: a search passes over any
    // object for another machine.
    if eh.e_machine != EM_X86_64 {
        return Err(HeaderError::WrongMachine);
    }
    match eh.e_type {
        ET_EXEC | ET_DYN => {}
        1 => return Err(HeaderError::Relocatable),
        4 => return Err(HeaderError::Core),
        _ => return Err(HeaderError::WrongType),
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
    (0..phnum).map(|i| pod::read::<Phdr>(bytes, i * pod::PHDR_SIZE).ok_or(HeaderError::PhdrsPastEof)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(check_ehdr(&v, v.len() as u64).map(|e| e.e_phnum), Ok(2));
    }

    #[test]
    fn short_files_are_too_short_before_the_magic_is_read() {
        let v = good();
        for n in [0, 3, 4, 40, 63] {
            assert_eq!(check_ehdr(&v[..n], n as u64).err(), Some(HeaderError::Truncated), "{n} bytes");
        }
        assert_eq!(check_ehdr(&[b'#'; 64], 64).err(), Some(HeaderError::NotElf));
    }

    #[test]
    fn rejects_each_broken_field() {
        let cases: &[(usize, u8, HeaderError)] = &[
            (0, 0, HeaderError::NotElf),
            (4, 1, HeaderError::WrongClass),
            (5, 2, HeaderError::WrongEndian),
            (6, 0, HeaderError::WrongVersion),
            (16, 1, HeaderError::Relocatable),
            (16, 4, HeaderError::Core),
            (18, 3, HeaderError::WrongMachine),
            (54, 32, HeaderError::BadPhentsize),
            (56, 0, HeaderError::BadPhnum),
        ];
        for &(at, val, want) in cases {
            let mut v = good();
            v[at] = val;
            assert_eq!(check_ehdr(&v, v.len() as u64).err(), Some(want), "byte {at} = {val}");
        }
    }

    #[test]
    fn rejects_truncation_at_every_length() {
        let v = good();
        for len in 0..v.len() {
            assert!(check_ehdr(&v[..len], len as u64).is_err(), "length {len}");
        }
    }
}
