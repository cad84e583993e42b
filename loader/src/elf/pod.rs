//! ELF64 structures and the only code that reinterprets bytes as them.
//! Everything else reads through `read`/`slice`, which check bounds and
//! alignment and return None instead of trusting the file.
#![allow(unsafe_code)] // the unsafe boundary (lib.rs): The only casts from bytes to structs.

/// Plain old data: any bit pattern is a valid value.
///
/// # Safety
/// Implementors must be `repr(C)` with only integer fields and no padding.
pub unsafe trait Pod: Copy {}

// SAFETY: integers accept any bit pattern.
unsafe impl Pod for u16 {}
// SAFETY: as above.
unsafe impl Pod for u32 {}
// SAFETY: as above.
unsafe impl Pod for u64 {}

macro_rules! pod {
    ($(#[$m:meta])* $name:ident { $($f:ident: $t:ty),* $(,)? }) => {
        $(#[$m])*
        #[repr(C)]
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct $name { $(pub $f: $t),* }
        // SAFETY: repr(C), integer fields laid out without padding.
        unsafe impl Pod for $name {}
    };
}

pod!(Ehdr {
    e_ident: [u8; 16], e_type: u16, e_machine: u16, e_version: u32, e_entry: u64,
    e_phoff: u64, e_shoff: u64, e_flags: u32, e_ehsize: u16, e_phentsize: u16,
    e_phnum: u16, e_shentsize: u16, e_shnum: u16, e_shstrndx: u16,
});
pod!(Phdr {
    p_type: u32, p_flags: u32, p_offset: u64, p_vaddr: u64, p_paddr: u64,
    p_filesz: u64, p_memsz: u64, p_align: u64,
});
pod!(Dyn { d_tag: i64, d_val: u64 });
pod!(Sym { st_name: u32, st_info: u8, st_other: u8, st_shndx: u16, st_value: u64, st_size: u64 });
pod!(Rela { r_offset: u64, r_info: u64, r_addend: i64 });

impl Sym {
    /// ELF64_ST_BIND: STB_LOCAL, STB_GLOBAL, STB_WEAK...
    pub fn bind(&self) -> u8 {
        self.st_info >> 4
    }

    /// ELF64_ST_TYPE: STT_FUNC, STT_TLS, STT_GNU_IFUNC...
    pub fn kind(&self) -> u8 {
        self.st_info & 0xf
    }

    /// ELF64_ST_VISIBILITY: STV_DEFAULT, STV_INTERNAL, STV_HIDDEN, STV_PROTECTED.
    pub fn visibility(&self) -> u8 {
        self.st_other & 3
    }
}

impl Rela {
    /// ELF64_R_TYPE.
    pub fn kind(&self) -> u32 {
        (self.r_info & 0xffff_ffff) as u32
    }

    /// ELF64_R_SYM: the symbol table index.
    pub fn sym(&self) -> usize {
        (self.r_info >> 32) as usize
    }
}

/// Entry sizes, for counts derived from table sizes.
pub const PHDR_SIZE: usize = core::mem::size_of::<Phdr>();
pub const SYM_SIZE: usize = core::mem::size_of::<Sym>();
pub const RELA_SIZE: usize = core::mem::size_of::<Rela>();
pub const WORD_SIZE: usize = core::mem::size_of::<u64>();

const _: () = assert!(core::mem::size_of::<Ehdr>() == 64);
const _: () = assert!(core::mem::size_of::<Phdr>() == 56);
const _: () = assert!(core::mem::size_of::<Sym>() == 24);
const _: () = assert!(core::mem::size_of::<Rela>() == 24);

/// Copy a `T` out of `bytes` at `offset`, if it fits.
pub fn read<T: Pod>(bytes: &[u8], offset: usize) -> Option<T> {
    let end = offset.checked_add(core::mem::size_of::<T>())?;
    let src = bytes.get(offset..end)?;
    // SAFETY: `src` holds size_of::<T>() bytes and T accepts any bit pattern.
    Some(unsafe { core::ptr::read_unaligned(src.as_ptr().cast::<T>()) })
}

/// View `count` `T`s in `bytes` at `offset`, if in bounds and aligned.
pub fn slice<T: Pod>(bytes: &[u8], offset: usize, count: usize) -> Option<&[T]> {
    let len = count.checked_mul(core::mem::size_of::<T>())?;
    let src = bytes.get(offset..offset.checked_add(len)?)?;
    if !(src.as_ptr() as usize).is_multiple_of(core::mem::align_of::<T>()) {
        return None;
    }
    // SAFETY: in bounds, aligned, and T accepts any bit pattern.
    Some(unsafe { core::slice::from_raw_parts(src.as_ptr().cast::<T>(), count) })
}

/// View of a Pod value as bytes (for reading structs with pread).
pub fn bytes_of_mut<T: Pod>(v: &mut T) -> &mut [u8] {
    // SAFETY: T is Pod: every byte is initialised and any value written is valid.
    unsafe { core::slice::from_raw_parts_mut((v as *mut T).cast::<u8>(), core::mem::size_of::<T>()) }
}

/// Memory of an object already mapped into this process, as a byte slice.
///
/// # Safety
/// `[addr, addr+len)` must be mapped readable for the life of the slice.
pub unsafe fn mapped<'a>(addr: usize, len: usize) -> &'a [u8] {
    // SAFETY: the caller vouches for the range.
    unsafe { core::slice::from_raw_parts(addr as *const u8, len) }
}

/// Words viewed as their bytes (glibc structures guardld builds in
/// word-aligned memory and fills through the generated layouts).
pub fn words_as_bytes_mut(w: &mut [u64]) -> &mut [u8] {
    // SAFETY: u8 has no alignment or validity requirement; the view covers
    // exactly the words' memory and borrows them mutably.
    unsafe { core::slice::from_raw_parts_mut(w.as_mut_ptr().cast::<u8>(), w.len() * 8) }
}
