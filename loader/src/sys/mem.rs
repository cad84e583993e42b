//! memcpy, memmove, memset, memcmp, bcmp: the compiler emits calls to these
//! and there is no libc. `rep movsb`/`rep stosb` are fast on current x86_64
//! (ERMSB) and cannot be turned back into calls to themselves by the
//! optimizer, as a plain Rust loop could.
#![allow(unsafe_code)] // the unsafe boundary (lib.rs): memcpy and friends, which the compiler calls (no libc).

use core::arch::asm;

/// # Safety
/// C's memcpy contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: the caller passes valid, non-overlapping ranges.
    unsafe { asm!("rep movsb", inout("rdi") dst => _, inout("rsi") src => _, inout("rcx") n => _, options(nostack, preserves_flags)) };
    dst
}

/// # Safety
/// C's memmove contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memmove(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    if (dst as usize).wrapping_sub(src as usize) >= n {
        // SAFETY: a forward copy never reads a byte it already wrote here.
        return unsafe { memcpy(dst, src, n) };
    }
    // Overlap with dst above src: copy backwards.
    // SAFETY: the caller passes valid ranges; std/cld restores the flag.
    unsafe {
        asm!("std", "rep movsb", "cld",
             inout("rdi") dst.add(n).wrapping_sub(1) => _, inout("rsi") src.add(n).wrapping_sub(1) => _,
             inout("rcx") n => _, options(nostack));
    }
    dst
}

/// # Safety
/// C's memset contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memset(dst: *mut u8, c: i32, n: usize) -> *mut u8 {
    // SAFETY: the caller passes a valid range.
    unsafe { asm!("rep stosb", inout("rdi") dst => _, inout("rcx") n => _, in("al") c as u8, options(nostack, preserves_flags)) };
    dst
}

/// # Safety
/// C's memcmp contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    let mut i = 0;
    // Eight bytes at a time while they are equal (symbol and field names
    // share long prefixes); the byte loop then finds the first difference.
    while i + 8 <= n {
        // SAFETY: i + 8 <= n, inside both ranges; unaligned reads allowed.
        let (x, y) = unsafe { ((a.add(i) as *const u64).read_unaligned(), (b.add(i) as *const u64).read_unaligned()) };
        if x != y {
            break;
        }
        i += 8;
    }
    while i < n {
        // SAFETY: i < n, inside both ranges.
        let (x, y) = unsafe { (a.add(i).read_volatile(), b.add(i).read_volatile()) };
        if x != y {
            return x as i32 - y as i32;
        }
        i += 1;
    }
    0
}

/// # Safety
/// C's bcmp contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: same contract as memcmp.
    unsafe { memcmp(a, b, n) }
}

/// # Safety
/// C's strlen contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strlen(s: *const u8) -> usize {
    let mut n = 0;
    // SAFETY: the caller passes a NUL-terminated string.
    while unsafe { s.add(n).read_volatile() } != 0 {
        n += 1;
    }
    n
}
