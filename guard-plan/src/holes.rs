//! Planning the padding of an object the kernel mapped (the program, when
//! guardld starts as its PT_INTERP). The kernel leaves each padding range
//! as a hole: an unmapped address range. A hole faults like a guard, but it
//! is free address space a later mapping can take, and the kernel's guard
//! interfaces do not report it as padding. guardld fills each hole the way
//! it maps its own objects: the mapping before the hole is grown over it in
//! place (so it stays one VMA: a fresh mmap of the file would come from
//! another `struct file` and could not merge), then the grown part is
//! guarded. The VMA count does not change (tests/mapping.rs measures it).
//!
//! This module is pure, like `plan.rs`: `plan` makes the operations
//! (`Op::GrowInPlace`, then `Op::Guard` in Guard mode) and the one executor
//! (`exec::execute_in_place`) runs them, with this failure rule: a hole
//! whose growth or guard fails stays a hole, still inaccessible; never a
//! PROT_NONE VMA, never readable padding. When not every hole was filled
//! the caller takes the RELRO range from a ProtNone plan (`plan` with
//! `Padding::ProtNone`: no operations, RELRO not widened over any hole).

use super::plan::PlanError;
use super::{Op, Padding, Plan, PlanInput};
use alloc::vec::Vec;

/// Plan the hole filling of a kernel-mapped object from its PT_LOADs.
/// Same checks, span, padding ranges, RELRO range and predicted VMA count
/// as `plan::plan` for the same input with every padding range attached to
/// the mapping before it (only that one can grow over a hole: mremap grows
/// a mapping at its end); the operations are, for each padding range that
/// plan covers by extending the mapping before it:
/// `GrowInPlace` (Guard and Extend modes) and then `Guard` (Guard mode).
/// ProtNone mode: no operations (the holes stay holes).
pub fn plan(input: &PlanInput) -> Result<Plan, PlanError> {
    let fresh = super::plan::plan_with(input, super::plan::Policy::AlwaysPrev)?;
    let mut ops = Vec::new();
    for &(addr, len) in &fresh.padding {
        // Covered in the fresh plan: a mapping starting before the padding
        // was extended to its end. Only then is the RELRO range widened
        // over it, and only then may it be filled.
        let extended = fresh.ops.iter().any(|op| match *op {
            Op::MapFile { addr: a, len: l, .. } | Op::MapAnon { addr: a, len: l, .. } => a < addr && a.checked_add(l) == addr.checked_add(len),
            _ => false,
        });
        if !extended || input.padding == Padding::ProtNone {
            continue;
        }
        ops.push(Op::GrowInPlace { addr, len });
        if input.padding == Padding::Guard {
            ops.push(Op::Guard { addr, len });
        }
    }
    Ok(Plan { ops, ..fresh })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::tests::{PAGE_SIZES, layout, seg};
    use crate::{PF_R, PF_W, PF_X, PadSide};
    use alloc::vec;
    use proptest::prelude::*;

    /// lld, -z max-page-size=65536, four PT_LOADs (R, RX, RW RELRO, RW):
    /// the probe program of tests/mapping.rs, as the kernel maps it.
    fn lld_64k() -> (Vec<crate::Segment>, Option<(u64, u64)>, u64) {
        let segs = vec![
            seg(0x0, 0x5a0c, 0x0, 0x5a0c, PF_R),
            seg(0x15a10, 0x8c40, 0x5a10, 0x8c40, PF_R | PF_X),
            seg(0x2e650, 0x9b0, 0xe650, 0x7b0, PF_R | PF_W),
            seg(0x3ee00, 0x2500, 0xee00, 0x300, PF_R | PF_W),
        ];
        (segs, Some((0x2e650, 0x9b0)), 0xf900)
    }

    fn run(padding: Padding) -> Plan {
        let (segments, relro, file_size) = lld_64k();
        plan(&PlanInput { segments: &segments, relro, file_size, page_size: 0x1000, padding }).unwrap()
    }

    #[test]
    fn guard_mode_grows_then_guards_each_hole() {
        let p = run(Padding::Guard);
        assert_eq!(
            p.ops,
            vec![
                Op::GrowInPlace { addr: 0x6000, len: 0xf000 },
                Op::Guard { addr: 0x6000, len: 0xf000 },
                Op::GrowInPlace { addr: 0x1f000, len: 0xf000 },
                Op::Guard { addr: 0x1f000, len: 0xf000 },
                Op::GrowInPlace { addr: 0x2f000, len: 0xf000 },
                Op::Guard { addr: 0x2f000, len: 0xf000 },
            ]
        );
        assert_eq!(p.padding, vec![(0x6000, 0xf000), (0x1f000, 0xf000), (0x2f000, 0xf000)]);
        // Filled holes: RELRO widened over the grown extension (one VMA).
        assert_eq!(p.relro, Some((0x2e000, 0x10000)));
        assert_eq!((p.page_size, p.mode), (0x1000, Padding::Guard));
    }

    #[test]
    fn extend_mode_grows_without_guards() {
        let p = run(Padding::Extend);
        assert_eq!(
            p.ops,
            vec![
                Op::GrowInPlace { addr: 0x6000, len: 0xf000 },
                Op::GrowInPlace { addr: 0x1f000, len: 0xf000 },
                Op::GrowInPlace { addr: 0x2f000, len: 0xf000 },
            ]
        );
        assert_eq!(p.relro, Some((0x2e000, 0x10000)));
    }

    /// ProtNone (asked for, or the re-plan after a refusal or a hole left
    /// unfilled): nothing to do, and RELRO stops at the segment's pages.
    #[test]
    fn prot_none_leaves_the_holes() {
        let p = run(Padding::ProtNone);
        assert!(p.ops.is_empty());
        assert_eq!(p.padding.len(), 3);
        assert_eq!(p.relro, Some((0x2e000, 0x1000)));
        assert_eq!(p.mode, Padding::ProtNone);
    }

    /// GNU ld's page-aligned layout, where `plan::plan` would make the
    /// padding before RW the head of RW's mapping: the kernel mapped the
    /// program, and only the mapping before a hole can grow over it, so
    /// every hole is grown from the mapping before, and RELRO keeps
    /// glibc's start (not widened back over a hole that is R's now).
    #[test]
    fn holes_are_always_grown_from_the_mapping_before() {
        let segs = [
            seg(0x0, 0x390, 0x0, 0x390, PF_R),
            seg(0x10000, 0xb4, 0x10000, 0xb4, PF_R | PF_X),
            seg(0x20000, 0x84, 0x20000, 0x84, PF_R),
            seg(0x3fec0, 0x31e0, 0x2fec0, 0x144, PF_R | PF_W),
        ];
        let input = PlanInput { segments: &segs, relro: Some((0x3fec0, 0x140)), file_size: 0x31188, page_size: 0x1000, padding: Padding::Guard };
        assert_eq!(crate::plan::plan(&input).unwrap().padding_side, vec![PadSide::Prev, PadSide::Prev, PadSide::Next]);
        let p = plan(&input).unwrap();
        assert_eq!(p.padding_side, vec![PadSide::Prev; 3]);
        assert_eq!(
            p.ops,
            vec![
                Op::GrowInPlace { addr: 0x1000, len: 0xf000 },
                Op::Guard { addr: 0x1000, len: 0xf000 },
                Op::GrowInPlace { addr: 0x11000, len: 0xf000 },
                Op::Guard { addr: 0x11000, len: 0xf000 },
                Op::GrowInPlace { addr: 0x21000, len: 0x1e000 },
                Op::Guard { addr: 0x21000, len: 0x1e000 },
            ]
        );
        assert_eq!(p.relro, Some((0x3f000, 0x1000)));
    }

    /// No padding (GNU ld's 4 KiB layout): nothing to fill in any mode.
    #[test]
    fn no_holes_no_ops() {
        let segs = [seg(0x0, 0x5f8, 0x0, 0x5f8, PF_R), seg(0x1000, 0x1a5, 0x1000, 0x1a5, PF_R | PF_X), seg(0x2df0, 0x240, 0x1df0, 0x238, PF_R | PF_W)];
        for padding in [Padding::Guard, Padding::Extend, Padding::ProtNone] {
            let p = plan(&PlanInput { segments: &segs, relro: Some((0x2df0, 0x210)), file_size: 0x2100, page_size: 0x1000, padding }).unwrap();
            assert!(p.ops.is_empty() && p.padding.is_empty(), "{padding:?}");
        }
    }

    /// The same 64 KiB-aligned program on a 64 KiB-page kernel has no
    /// padding: the holes exist only where the runtime page is smaller.
    #[test]
    fn no_holes_at_64k_pages() {
        let (segments, relro, file_size) = lld_64k();
        let p = plan(&PlanInput { segments: &segments, relro, file_size, page_size: 0x10000, padding: Padding::Guard }).unwrap();
        assert!(p.ops.is_empty() && p.padding.is_empty());
        assert_eq!(p.page_size, 0x10000);
    }

    #[test]
    fn refusals_are_the_planners() {
        let segs = [seg(0x0, 0x1000, 0x0, 0x1000, PF_R), seg(0x800, 0x10, 0x800, 0x10, PF_R)];
        let input = PlanInput { segments: &segs, relro: None, file_size: 0x1000, page_size: 0x1000, padding: Padding::Guard };
        assert_eq!(plan(&input), Err(PlanError::Overlap { index: 1 }));
    }

    /// For generated layouts at every page size: the fresh plan's facts,
    /// and exactly one grow (and in Guard mode one guard right after it)
    /// per padding range, over exactly that range.
    fn holes_plan_is_sound(l: &crate::plan::tests::Layout) -> Result<(), TestCaseError> {
        let input = l.input();
        let (Ok(p), Ok(fresh)) = (plan(&input), crate::plan::plan_with(&input, crate::plan::Policy::AlwaysPrev)) else { return Ok(()) };
        prop_assert_eq!((p.span_start, p.span_len, p.relro, &p.padding), (fresh.span_start, fresh.span_len, fresh.relro, &fresh.padding));
        prop_assert_eq!((p.page_size, p.mode), (l.page, l.padding));
        let mut want = Vec::new();
        if l.padding != Padding::ProtNone {
            for &(addr, len) in &p.padding {
                want.push(Op::GrowInPlace { addr, len });
                if l.padding == Padding::Guard {
                    want.push(Op::Guard { addr, len });
                }
            }
        }
        prop_assert_eq!(&p.ops, &want);
        // The RELRO range the caller uses when a hole stays a hole: from
        // the ProtNone plan, never over any padding.
        let none = plan(&PlanInput { padding: Padding::ProtNone, ..input }).unwrap();
        if let Some((ra, rl)) = none.relro {
            prop_assert!(none.padding.iter().all(|&(a, len)| a + len <= ra || a >= ra + rl));
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]
        #[test]
        fn holes_plan_4k(l in layout(PAGE_SIZES[0])) { holes_plan_is_sound(&l)? }
        #[test]
        fn holes_plan_16k(l in layout(PAGE_SIZES[1])) { holes_plan_is_sound(&l)? }
        #[test]
        fn holes_plan_64k(l in layout(PAGE_SIZES[2])) { holes_plan_is_sound(&l)? }
    }
}
