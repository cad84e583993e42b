//! x86 CPU feature detection and cache thresholds, as glibc 2.36's ld.so
//! computes them into `_rtld_global_ro._dl_x86_cpu_features` (libc's IFUNC
//! resolvers and memcpy's thresholds read them): `init_cpu_features`
//! (sysdeps/x86/cpu-features.c, with update_active, the glibc.cpu.hwcaps
//! tunable of cpu-tunables.c and get-isa-level.h) and `dl_init_cacheinfo`
//! (sysdeps/x86/dl-cacheinfo.h), rewritten in Rust.
//!
//! Where the facts come from:
//! * the layout of `struct cpu_features` and `struct cpuid_feature_internal`,
//!   glibc's cpuid slot numbers (CPUID_INDEX_*), register order, vendor
//!   kinds, preferred-feature bits, HWCAP_X86_* and the sysconf cache names
//!   (_SC_LEVEL*): the build's debug information (glibc/gen-layout.py);
//! * CPUID leaves and bit positions, XCR0 state bits, the Intel CPUID leaf 2
//!   descriptors: the hardware (Intel SDM, AMD APM), named here;
//! * GNU_PROPERTY_X86_ISA_1_* and GNU_PROPERTY_X86_FEATURE_1_*: the x86-64
//!   psABI, named here;
//! * glibc macros the debug information lacks (STATE_SAVE_OFFSET,
//!   STATE_SAVE_MASK) and the thresholds written in the code: glibc 2.36's
//!   source, checked against this build's machine code and `ld.so
//!   --list-diagnostics` (tests/glibc_cpu.rs). Each says so where defined.
//!
//! Arithmetic follows C's types (32-bit wrap for `unsigned int`, signed
//! `long` divisions); where glibc would divide by zero or loop forever on
//! absurd CPUID answers we stop instead: the loader never panics.

use super::Build;
use super::layout::{At, Missing, get, put};
use alloc::vec::Vec;
use core::fmt;

/// What CPU initialisation reads from and writes back to the tunables
/// (glibc.cpu.*), implemented by `tunables::Tunables`. Names are the full
/// tunable names ("glibc.cpu.x86_rep_movsb_threshold").
pub trait CpuTunables {
    /// The value of a numeric tunable the user set (None: not set), after
    /// the tunable's own bounds check: what TUNABLE_GET returns for it.
    fn num(&self, name: &str) -> Option<u64>;
    /// The value of a string tunable the user set (without its NUL).
    fn string(&self, name: &str) -> Option<&[u8]>;
    /// TUNABLE_SET_WITH_BOUNDS: record the value and bounds in effect.
    fn set_bounds(&mut self, name: &str, val: u64, min: u64, max: u64);
}

/// What init_cpu_features sets outside cpu_features.
pub struct CpuInit {
    /// GLRO(dl_hwcap).
    pub hwcap: u64,
    /// GLRO(dl_platform), NUL-terminated, if glibc would set one (otherwise
    /// it keeps AT_PLATFORM's).
    pub platform: Option<&'static [u8]>,
    /// The ISA levels usable once the tunables applied (get_isa_level at
    /// the end: `_dl_hwcaps_subdirs_active` asks it when searching, so a
    /// glibc.cpu.hwcaps mask counts; `isa_1` keeps the level before it).
    pub isa_level: u32,
}

/// Where the CPU's answers come from: the machine, or a recorded CPU in
/// tests.
pub trait CpuSource {
    /// CPUID `leaf`/`sub`: [eax, ebx, ecx, edx].
    fn cpuid(&self, leaf: u32, sub: u32) -> [u32; 4];
    /// XCR0; asked only when CPUID reports OSXSAVE.
    fn xcr0(&self) -> u64;
    /// The kernel's CET status word (GNU_PROPERTY_X86_FEATURE_1_* bits).
    fn cet_status(&self) -> u32;
}

/// The machine this runs on. Each CPUID instruction traps to the
/// hypervisor in a VM (4 µs on these machines, measured); glibc's algorithm
/// asks 20 distinct leaves 44 times, so answers are kept: one CPUID per
/// (leaf, subleaf) for the whole process, the same values glibc reads. (The
/// capability-subdirectory search runs the algorithm before the
/// personality's start-up does: both read the same answers.)
struct Machine;

static SEEN: crate::sys::lock::SpinLock<alloc::vec::Vec<(u32, u32, [u32; 4])>> = crate::sys::lock::SpinLock::new(alloc::vec::Vec::new());

impl Machine {
    fn new() -> Machine {
        Machine
    }
}

impl CpuSource for Machine {
    fn cpuid(&self, leaf: u32, sub: u32) -> [u32; 4] {
        let mut seen = SEEN.lock();
        if let Some(&(_, _, r)) = seen.iter().find(|e| e.0 == leaf && e.1 == sub) {
            return r;
        }
        let r = crate::arch::cpuid(leaf, sub);
        seen.push((leaf, sub, r));
        r
    }
    fn xcr0(&self) -> u64 {
        crate::arch::xcr0_with(self.cpuid(1, 0)[2]).unwrap_or(0)
    }
    /// glibc 2.36 asks arch_prctl(ARCH_CET_STATUS = 0x3001), from the CET
    /// patches that upstream Linux never merged (its shadow stack API is
    /// ARCH_SHSTK_*): the call fails with EINVAL and glibc takes 0, so IBT
    /// and SHSTK always end up unusable. We take 0 without asking.
    fn cet_status(&self) -> u32 {
        0
    }
}

/// Fill `cpu` (a `struct cpu_features` of `build`) as glibc's
/// init_cpu_features does.
pub fn init(build: &'static Build, cpu: &mut [u8], t: &mut dyn CpuTunables) -> Result<CpuInit, Missing> {
    init_from(build, cpu, t, &Machine::new())
}

/// `init` with the CPU's answers from `src`.
pub fn init_from(build: &'static Build, cpu: &mut [u8], t: &mut dyn CpuTunables, src: &dyn CpuSource) -> Result<CpuInit, Missing> {
    let k = Known::of(build)?;
    let f = Fields::of(build)?;
    let mut s = State::new(&k, src);
    let out = s.init_cpu_features(t);
    f.store(&s.c, &k, cpu)?;
    Ok(out)
}

/// Print the `x86.cpu_features.*` lines of `ld.so --list-diagnostics`.
pub fn print_diagnostics(build: &'static Build, cpu: &[u8]) {
    let mut w = crate::log::Writer::stdout();
    let _ = write_diagnostics(build, cpu, &mut w);
}

// ------------------------------------------------------------ hardware ----

/// glibc's cpuid slots (`features[]` entries), named by the CPUID leaf
/// they hold; their indices are the build's CPUID_INDEX_* enumerators.
#[derive(Clone, Copy)]
enum Slot {
    L1,
    L7,
    E80000001,
    D1,
    E80000007,
    E80000008,
    L7S1,
    L19,
    L14,
}

const SLOTS: usize = 9;

/// The enumerator of each slot, in `Slot` order.
const SLOT_CONSTS: [&str; SLOTS] = [
    "CPUID_INDEX_1",
    "CPUID_INDEX_7",
    "CPUID_INDEX_80000001",
    "CPUID_INDEX_D_ECX_1",
    "CPUID_INDEX_80000007",
    "CPUID_INDEX_80000008",
    "CPUID_INDEX_7_ECX_1",
    "CPUID_INDEX_19",
    "CPUID_INDEX_14_ECX_0",
];

#[derive(Clone, Copy)]
enum Reg {
    Eax,
    Ebx,
    Ecx,
    Edx,
}

const REG_CONSTS: [&str; 4] = ["CPUID_REGISTER_INDEX_EAX", "CPUID_REGISTER_INDEX_EBX", "CPUID_REGISTER_INDEX_ECX", "CPUID_REGISTER_INDEX_EDX"];

/// One CPUID feature bit: where CPUID reports it.
#[derive(Clone, Copy)]
struct Feat {
    slot: Slot,
    reg: Reg,
    bit: u8,
}

/// CPUID feature bits (Intel SDM vol. 2 "CPUID", AMD APM vol. 3), with
/// glibc's names.
mod feat {
    use super::Feat;
    use super::Reg::*;
    use super::Slot::*;

    const fn f(slot: super::Slot, reg: super::Reg, bit: u8) -> Feat {
        Feat { slot, reg, bit }
    }

    // Leaf 1 ECX.
    pub const SSE3: Feat = f(L1, Ecx, 0);
    pub const PCLMULQDQ: Feat = f(L1, Ecx, 1);
    pub const SSSE3: Feat = f(L1, Ecx, 9);
    pub const FMA: Feat = f(L1, Ecx, 12);
    pub const CMPXCHG16B: Feat = f(L1, Ecx, 13);
    pub const SSE4_1: Feat = f(L1, Ecx, 19);
    pub const SSE4_2: Feat = f(L1, Ecx, 20);
    pub const MOVBE: Feat = f(L1, Ecx, 22);
    pub const POPCNT: Feat = f(L1, Ecx, 23);
    pub const AES: Feat = f(L1, Ecx, 25);
    pub const XSAVE: Feat = f(L1, Ecx, 26);
    pub const OSXSAVE: Feat = f(L1, Ecx, 27);
    pub const AVX: Feat = f(L1, Ecx, 28);
    pub const F16C: Feat = f(L1, Ecx, 29);
    pub const RDRAND: Feat = f(L1, Ecx, 30);
    // Leaf 1 EDX.
    pub const FPU: Feat = f(L1, Edx, 0);
    pub const TSC: Feat = f(L1, Edx, 4);
    pub const CX8: Feat = f(L1, Edx, 8);
    pub const CMOV: Feat = f(L1, Edx, 15);
    pub const CLFSH: Feat = f(L1, Edx, 19);
    pub const MMX: Feat = f(L1, Edx, 23);
    pub const FXSR: Feat = f(L1, Edx, 24);
    pub const SSE: Feat = f(L1, Edx, 25);
    pub const SSE2: Feat = f(L1, Edx, 26);
    pub const HTT: Feat = f(L1, Edx, 28);
    // Leaf 7 subleaf 0 EBX.
    pub const BMI1: Feat = f(L7, Ebx, 3);
    pub const HLE: Feat = f(L7, Ebx, 4);
    pub const AVX2: Feat = f(L7, Ebx, 5);
    pub const BMI2: Feat = f(L7, Ebx, 8);
    pub const ERMS: Feat = f(L7, Ebx, 9);
    pub const RTM: Feat = f(L7, Ebx, 11);
    pub const AVX512F: Feat = f(L7, Ebx, 16);
    pub const AVX512DQ: Feat = f(L7, Ebx, 17);
    pub const RDSEED: Feat = f(L7, Ebx, 18);
    pub const ADX: Feat = f(L7, Ebx, 19);
    pub const AVX512_IFMA: Feat = f(L7, Ebx, 21);
    pub const CLFLUSHOPT: Feat = f(L7, Ebx, 23);
    pub const CLWB: Feat = f(L7, Ebx, 24);
    pub const AVX512PF: Feat = f(L7, Ebx, 26);
    pub const AVX512ER: Feat = f(L7, Ebx, 27);
    pub const AVX512CD: Feat = f(L7, Ebx, 28);
    pub const SHA: Feat = f(L7, Ebx, 29);
    pub const AVX512BW: Feat = f(L7, Ebx, 30);
    pub const AVX512VL: Feat = f(L7, Ebx, 31);
    // Leaf 7 subleaf 0 ECX.
    pub const PREFETCHWT1: Feat = f(L7, Ecx, 0);
    pub const AVX512_VBMI: Feat = f(L7, Ecx, 1);
    pub const PKU: Feat = f(L7, Ecx, 3);
    pub const OSPKE: Feat = f(L7, Ecx, 4);
    pub const WAITPKG: Feat = f(L7, Ecx, 5);
    pub const AVX512_VBMI2: Feat = f(L7, Ecx, 6);
    pub const SHSTK: Feat = f(L7, Ecx, 7);
    pub const GFNI: Feat = f(L7, Ecx, 8);
    pub const VAES: Feat = f(L7, Ecx, 9);
    pub const VPCLMULQDQ: Feat = f(L7, Ecx, 10);
    pub const AVX512_VNNI: Feat = f(L7, Ecx, 11);
    pub const AVX512_BITALG: Feat = f(L7, Ecx, 12);
    pub const AVX512_VPOPCNTDQ: Feat = f(L7, Ecx, 14);
    pub const RDPID: Feat = f(L7, Ecx, 22);
    pub const KL: Feat = f(L7, Ecx, 23);
    pub const CLDEMOTE: Feat = f(L7, Ecx, 25);
    pub const MOVDIRI: Feat = f(L7, Ecx, 27);
    pub const MOVDIR64B: Feat = f(L7, Ecx, 28);
    // Leaf 7 subleaf 0 EDX.
    pub const AVX512_4VNNIW: Feat = f(L7, Edx, 2);
    pub const AVX512_4FMAPS: Feat = f(L7, Edx, 3);
    pub const FSRM: Feat = f(L7, Edx, 4);
    pub const AVX512_VP2INTERSECT: Feat = f(L7, Edx, 8);
    pub const RTM_ALWAYS_ABORT: Feat = f(L7, Edx, 11);
    pub const SERIALIZE: Feat = f(L7, Edx, 14);
    pub const TSXLDTRK: Feat = f(L7, Edx, 16);
    pub const IBT: Feat = f(L7, Edx, 20);
    pub const AMX_BF16: Feat = f(L7, Edx, 22);
    pub const AVX512_FP16: Feat = f(L7, Edx, 23);
    pub const AMX_TILE: Feat = f(L7, Edx, 24);
    pub const AMX_INT8: Feat = f(L7, Edx, 25);
    // Leaf 0x80000001 ECX, EDX.
    pub const LAHF64_SAHF64: Feat = f(E80000001, Ecx, 0);
    pub const LZCNT: Feat = f(E80000001, Ecx, 5);
    pub const SSE4A: Feat = f(E80000001, Ecx, 6);
    pub const PREFETCHW: Feat = f(E80000001, Ecx, 8);
    pub const XOP: Feat = f(E80000001, Ecx, 11);
    pub const FMA4: Feat = f(E80000001, Ecx, 16);
    pub const TBM: Feat = f(E80000001, Ecx, 21);
    pub const RDTSCP: Feat = f(E80000001, Edx, 27);
    // Leaf 0xd subleaf 1 EAX.
    pub const XSAVEOPT: Feat = f(D1, Eax, 0);
    pub const XSAVEC: Feat = f(D1, Eax, 1);
    pub const XGETBV_ECX_1: Feat = f(D1, Eax, 2);
    pub const XFD: Feat = f(D1, Eax, 4);
    // Leaf 0x80000008 EBX.
    pub const WBNOINVD: Feat = f(E80000008, Ebx, 9);
    // Leaf 7 subleaf 1 EAX.
    pub const AVX_VNNI: Feat = f(L7S1, Eax, 4);
    pub const AVX512_BF16: Feat = f(L7S1, Eax, 5);
    pub const FZLRM: Feat = f(L7S1, Eax, 10);
    pub const FSRS: Feat = f(L7S1, Eax, 11);
    pub const FSRCS: Feat = f(L7S1, Eax, 12);
    // Leaf 0x19 EBX.
    pub const AESKLE: Feat = f(L19, Ebx, 0);
    pub const WIDE_KL: Feat = f(L19, Ebx, 2);
    // Leaf 0x14 subleaf 0 EBX.
    pub const PTWRITE: Feat = f(L14, Ebx, 4);
}

use feat::*;

/// XCR0 state components (Intel SDM vol. 1, 13.1).
const XCR0_XMM: u32 = 1 << 1;
const XCR0_YMM: u32 = 1 << 2;
const XCR0_OPMASK: u32 = 1 << 5;
const XCR0_ZMM0_15: u32 = 1 << 6;
const XCR0_ZMM16_31: u32 = 1 << 7;
const XCR0_XTILECFG: u32 = 1 << 17;
const XCR0_XTILEDATA: u32 = 1 << 18;

/// GNU_PROPERTY_X86_ISA_1_* (x86-64 psABI; macros of <elf.h>, absent from
/// the debug information; checked by the oracle's isa_1 line).
const ISA_1_BASELINE: u32 = 1 << 0;
pub(crate) const ISA_1_V2: u32 = 1 << 1;
pub(crate) const ISA_1_V3: u32 = 1 << 2;
pub(crate) const ISA_1_V4: u32 = 1 << 3;

/// GNU_PROPERTY_X86_FEATURE_1_* (x86-64 psABI), the CET status bits.
const FEATURE_1_IBT: u32 = 1 << 0;
const FEATURE_1_SHSTK: u32 = 1 << 1;

/// glibc's STATE_SAVE_OFFSET and STATE_SAVE_MASK (sysdeps/x86/sysdep.h):
/// macros, so not in the debug information. This build's update_active
/// has them as immediates (`add $0x7f` = 64 + 63 before `and $0xffffffc0`;
/// `mov $0xee` tested with `bt`), and the oracle's xsave_state_size lines
/// check them.
const STATE_SAVE_OFFSET: u32 = 8 * 7 + 8;
const STATE_SAVE_MASK: u32 = (1 << 1) | (1 << 2) | (1 << 3) | (1 << 5) | (1 << 6) | (1 << 7);

/// Vendor strings of CPUID leaf 0 (EBX, ECX, EDX).
const GENUINE_INTEL: (u32, u32, u32) = (0x756e_6547, 0x6c65_746e, 0x4965_6e69);
const AUTHENTIC_AMD: (u32, u32, u32) = (0x6874_7541, 0x444d_4163, 0x6974_6e65);
const HYGON_GENUINE: (u32, u32, u32) = (0x6f67_7948, 0x656e_6975, 0x6e65_476e);
const CENTAUR_HAULS: (u32, u32, u32) = (0x746e_6543, 0x736c_7561, 0x4872_7561);
const SHANGHAI: (u32, u32, u32) = (0x6853_2020, 0x2020_6961, 0x6867_6e61);

/// Subleaf loops (CPUID 4, 0xb) glibc runs until the CPU says stop: a CPU
/// that never does would hang glibc; we give up after this many.
const MAX_SUBLEAVES: u32 = 256;

// ------------------------------------------------------- glibc's names ----

/// The preferred-feature bits, in the order of glibc's
/// cpu-features-preferred_feature_index_1.def (which is also the order of
/// their bit indices in the debug information: `Known::of` checks).
#[derive(Clone, Copy)]
enum Pref {
    FastRepString,
    FastCopyBackward,
    SlowBsf,
    FastUnalignedLoad,
    PreferPminubForStringop,
    FastUnalignedCopy,
    I586,
    I686,
    SlowSse4_2,
    AvxFastUnalignedLoad,
    PreferNoVzeroupper,
    PreferErms,
    PreferNoAvx512,
    MathVecPreferNoAvx512,
    PreferFsrm,
    AvoidShortDistanceRepMovsb,
}

const PREFS: usize = 16;

/// (glibc's name, its index_arch_ and bit_arch_ enumerators), in `Pref`
/// order.
const PREF_NAMES: [(&str, &str, &str); PREFS] = [
    ("Fast_Rep_String", "INDEX_ARCH_FAST_REP_STRING", "BIT_ARCH_FAST_REP_STRING"),
    ("Fast_Copy_Backward", "INDEX_ARCH_FAST_COPY_BACKWARD", "BIT_ARCH_FAST_COPY_BACKWARD"),
    ("Slow_BSF", "INDEX_ARCH_SLOW_BSF", "BIT_ARCH_SLOW_BSF"),
    ("Fast_Unaligned_Load", "INDEX_ARCH_FAST_UNALIGNED_LOAD", "BIT_ARCH_FAST_UNALIGNED_LOAD"),
    ("Prefer_PMINUB_for_stringop", "INDEX_ARCH_PREFER_PMINUB_FOR_STRINGOP", "BIT_ARCH_PREFER_PMINUB_FOR_STRINGOP"),
    ("Fast_Unaligned_Copy", "INDEX_ARCH_FAST_UNALIGNED_COPY", "BIT_ARCH_FAST_UNALIGNED_COPY"),
    ("I586", "INDEX_ARCH_I586", "BIT_ARCH_I586"),
    ("I686", "INDEX_ARCH_I686", "BIT_ARCH_I686"),
    ("Slow_SSE4_2", "INDEX_ARCH_SLOW_SSE4_2", "BIT_ARCH_SLOW_SSE4_2"),
    ("AVX_Fast_Unaligned_Load", "INDEX_ARCH_AVX_FAST_UNALIGNED_LOAD", "BIT_ARCH_AVX_FAST_UNALIGNED_LOAD"),
    ("Prefer_No_VZEROUPPER", "INDEX_ARCH_PREFER_NO_VZEROUPPER", "BIT_ARCH_PREFER_NO_VZEROUPPER"),
    ("Prefer_ERMS", "INDEX_ARCH_PREFER_ERMS", "BIT_ARCH_PREFER_ERMS"),
    ("Prefer_No_AVX512", "INDEX_ARCH_PREFER_NO_AVX512", "BIT_ARCH_PREFER_NO_AVX512"),
    ("MathVec_Prefer_No_AVX512", "INDEX_ARCH_MATHVEC_PREFER_NO_AVX512", "BIT_ARCH_MATHVEC_PREFER_NO_AVX512"),
    ("Prefer_FSRM", "INDEX_ARCH_PREFER_FSRM", "BIT_ARCH_PREFER_FSRM"),
    ("Avoid_Short_Distance_REP_MOVSB", "INDEX_ARCH_AVOID_SHORT_DISTANCE_REP_MOVSB", "BIT_ARCH_AVOID_SHORT_DISTANCE_REP_MOVSB"),
];

/// The sysconf cache queries glibc's handle_* functions answer; their
/// values are the build's _SC_LEVEL* enumerators (glibc folds them by
/// arithmetic, so the numbers matter).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sc {
    L1iSize,
    L1iLinesize,
    L1dSize,
    L1dAssoc,
    L1dLinesize,
    L2Size,
    L2Assoc,
    L2Linesize,
    L3Size,
    L3Assoc,
    L3Linesize,
    L4Size,
}

const SCS: usize = 12;

const SC_CONSTS: [&str; SCS] = [
    "SC_LEVEL1_ICACHE_SIZE",
    "SC_LEVEL1_ICACHE_LINESIZE",
    "SC_LEVEL1_DCACHE_SIZE",
    "SC_LEVEL1_DCACHE_ASSOC",
    "SC_LEVEL1_DCACHE_LINESIZE",
    "SC_LEVEL2_CACHE_SIZE",
    "SC_LEVEL2_CACHE_ASSOC",
    "SC_LEVEL2_CACHE_LINESIZE",
    "SC_LEVEL3_CACHE_SIZE",
    "SC_LEVEL3_CACHE_ASSOC",
    "SC_LEVEL3_CACHE_LINESIZE",
    "SC_LEVEL4_CACHE_SIZE",
];

/// Vendor kinds (enum cpu_features_kind).
struct Kinds {
    intel: u32,
    amd: u32,
    zhaoxin: u32,
    other: u32,
}

/// The build's constants this module uses, looked up once.
struct Known {
    /// `features[]` index of each `Slot`.
    slot: [usize; SLOTS],
    /// Number of `features[]` entries (CPUID_INDEX_MAX).
    slots: usize,
    /// `cpuid_array[]` index of each `Reg`.
    reg: [usize; 4],
    kind: Kinds,
    /// (`preferred[]` index, bit mask) of each `Pref`.
    pref: [(usize, u32); PREFS],
    prefs: usize,
    hwcap_x86_64: u64,
    hwcap_avx512_1: u64,
    sc: [i64; SCS],
}

fn inconsistent(what: &'static str) -> Missing {
    Missing { structure: "constants (inconsistent)", field: what }
}

impl Known {
    fn of(b: &Build) -> Result<Known, Missing> {
        let num = |n: &'static str| b.constant(n);
        let idx = |n: &'static str| num(n).and_then(|v| usize::try_from(v).map_err(|_| inconsistent(n)));
        let slots = idx("CPUID_INDEX_MAX")?;
        let mut slot = [0; SLOTS];
        for (s, n) in slot.iter_mut().zip(SLOT_CONSTS) {
            *s = idx(n)?;
            if *s >= slots {
                return Err(inconsistent(n));
            }
        }
        let mut reg = [0; 4];
        for (r, n) in reg.iter_mut().zip(REG_CONSTS) {
            *r = idx(n)?;
            if *r >= 4 {
                return Err(inconsistent(n));
            }
        }
        let prefs = idx("PREFERRED_FEATURE_INDEX_MAX")?;
        let mut pref = [(0, 0); PREFS];
        let mut last = 0u64;
        for (p, (_, index, bit)) in pref.iter_mut().zip(PREF_NAMES) {
            let i = idx(index)?;
            let mask = u32::try_from(num(bit)?).map_err(|_| inconsistent(bit))?;
            // One bit each, in the .def order the diagnostics print.
            let order = u64::from(mask) | (i as u64) << 32;
            if i >= prefs || !mask.is_power_of_two() || order <= last {
                return Err(inconsistent(bit));
            }
            last = order;
            *p = (i, mask);
        }
        let kind = |n: &'static str| num(n).and_then(|v| u32::try_from(v).map_err(|_| inconsistent(n)));
        let mut sc = [0; SCS];
        for (s, n) in sc.iter_mut().zip(SC_CONSTS) {
            *s = num(n)?;
        }
        Ok(Known {
            slot,
            slots,
            reg,
            kind: Kinds {
                intel: kind("ARCH_KIND_INTEL")?,
                amd: kind("ARCH_KIND_AMD")?,
                zhaoxin: kind("ARCH_KIND_ZHAOXIN")?,
                other: kind("ARCH_KIND_OTHER")?,
            },
            pref,
            prefs,
            hwcap_x86_64: num("HWCAP_X86_64")? as u64,
            hwcap_avx512_1: num("HWCAP_X86_AVX512_1")? as u64,
            sc,
        })
    }

    fn sc(&self, s: Sc) -> i64 {
        self.sc[s as usize]
    }

    /// glibc's M(name): the query relative to _SC_LEVEL1_ICACHE_SIZE.
    fn rel(&self, name: i64) -> i64 {
        name.wrapping_sub(self.sc(Sc::L1iSize))
    }
}

// --------------------------------------------------------------- state ----

/// struct cpu_features as a value, before it is laid out.
struct Cpu {
    kind: u32,
    max_cpuid: i32,
    family: u32,
    model: u32,
    stepping: u32,
    /// `features[i].cpuid_array` and `.active_array`.
    cpuid: Vec<[u32; 4]>,
    active: Vec<[u32; 4]>,
    preferred: Vec<u32>,
    isa_1: u32,
    xsave_state_size: u64,
    xsave_state_full_size: u32,
    data_cache_size: u64,
    shared_cache_size: u64,
    non_temporal_threshold: u64,
    rep_movsb_threshold: u64,
    rep_movsb_stop_threshold: u64,
    rep_stosb_threshold: u64,
    /// level1_icache_size .. level4_cache_size, in `Sc` order.
    level: [u64; SCS],
}

/// The computation: glibc's functions as methods.
struct State<'a> {
    k: &'a Known,
    src: &'a dyn CpuSource,
    c: Cpu,
}

impl<'a> State<'a> {
    fn new(k: &'a Known, src: &'a dyn CpuSource) -> State<'a> {
        let c = Cpu {
            kind: 0,
            max_cpuid: 0,
            family: 0,
            model: 0,
            stepping: 0,
            cpuid: alloc::vec![[0; 4]; k.slots],
            active: alloc::vec![[0; 4]; k.slots],
            preferred: alloc::vec![0; k.prefs],
            isa_1: 0,
            xsave_state_size: 0,
            xsave_state_full_size: 0,
            data_cache_size: 0,
            shared_cache_size: 0,
            non_temporal_threshold: 0,
            rep_movsb_threshold: 0,
            rep_movsb_stop_threshold: 0,
            rep_stosb_threshold: 0,
            level: [0; SCS],
        };
        State { k, src, c }
    }

    fn cpuid(&self, leaf: u32, sub: u32) -> [u32; 4] {
        self.src.cpuid(leaf, sub)
    }

    /// Where feature `f` lives: (`features[]` index, register index, mask).
    fn at(&self, f: Feat) -> (usize, usize, u32) {
        (self.k.slot[f.slot as usize], self.k.reg[f.reg as usize], 1u32 << f.bit)
    }

    /// CPU_FEATURE_CPU_P: CPUID reports `f`.
    fn has(&self, f: Feat) -> bool {
        let (i, r, m) = self.at(f);
        self.c.cpuid[i][r] & m != 0
    }

    /// CPU_FEATURE_USABLE_P: `f` is active.
    fn usable(&self, f: Feat) -> bool {
        let (i, r, m) = self.at(f);
        self.c.active[i][r] & m != 0
    }

    /// CPU_FEATURE_SET.
    fn set(&mut self, f: Feat) {
        let (i, r, m) = self.at(f);
        self.c.active[i][r] |= m;
    }

    /// CPU_FEATURE_UNSET.
    fn unset(&mut self, f: Feat) {
        let (i, r, m) = self.at(f);
        self.c.active[i][r] &= !m;
    }

    /// CPU_FEATURE_SET_ACTIVE: active if CPUID reports it.
    fn set_active(&mut self, f: Feat) {
        let (i, r, m) = self.at(f);
        self.c.active[i][r] |= self.c.cpuid[i][r] & m;
    }

    /// CPUID answer `regs` (eax..edx) into slot `s`.
    fn store_leaf(&mut self, s: Slot, regs: [u32; 4]) {
        let i = self.k.slot[s as usize];
        for (r, v) in regs.into_iter().enumerate() {
            self.c.cpuid[i][self.k.reg[r]] = v;
        }
    }

    /// The value of register `r` of slot `s`.
    fn leaf_reg(&self, s: Slot, r: Reg) -> u32 {
        self.c.cpuid[self.k.slot[s as usize]][self.k.reg[r as usize]]
    }

    fn preferred(&self, p: Pref) -> bool {
        let (i, m) = self.k.pref[p as usize];
        self.c.preferred[i] & m != 0
    }

    fn prefer(&mut self, p: Pref) {
        let (i, m) = self.k.pref[p as usize];
        self.c.preferred[i] |= m;
    }

    fn unprefer(&mut self, p: Pref) {
        let (i, m) = self.k.pref[p as usize];
        self.c.preferred[i] &= !m;
    }
}

// ------------------------------------------------------ cpu-features.c ----

/// Family, model, extended model and stepping from CPUID leaf 1.
struct Signature {
    family: u32,
    model: u32,
    extended_model: u32,
    stepping: u32,
}

impl State<'_> {
    fn init_cpu_features(&mut self, t: &mut dyn CpuTunables) -> CpuInit {
        let [max_cpuid, ebx, ecx, edx] = self.cpuid(0, 0);
        self.c.max_cpuid = max_cpuid as i32;
        let vendor = (ebx, ecx, edx);
        let (kind, family, model, stepping) = if vendor == GENUINE_INTEL {
            self.intel()
        } else if vendor == AUTHENTIC_AMD || vendor == HYGON_GENUINE {
            self.amd()
        } else if vendor == CENTAUR_HAULS || vendor == SHANGHAI {
            self.zhaoxin()
        } else {
            // No leaf 1 (glibc passes no family pointer) and no extended leaves.
            self.common_indices(false);
            self.update_active();
            (self.k.kind.other, 0, 0, 0)
        };
        if self.has(CX8) {
            self.prefer(Pref::I586);
        }
        if self.has(CMOV) {
            self.prefer(Pref::I686);
        }
        self.c.kind = kind;
        self.c.family = family;
        self.c.model = model;
        self.c.stepping = stepping;
        self.init_cacheinfo(t);
        if let Some(v) = t.string("glibc.cpu.hwcaps") {
            self.set_hwcaps(v);
        }
        self.drop_xsave_features();
        let mut init = self.hwcap_platform();
        let cet = self.src.cet_status();
        if cet & FEATURE_1_IBT == 0 {
            self.unset(IBT);
        }
        if cet & FEATURE_1_SHSTK == 0 {
            self.unset(SHSTK);
        }
        init.isa_level = self.isa_level();
        init
    }

    /// get_common_indices: leaf 1 (if `leaf1`), 7, 0xd/1, 0x14, 0x19.
    fn common_indices(&mut self, leaf1: bool) -> Signature {
        let mut sig = Signature { family: 0, model: 0, extended_model: 0, stepping: 0 };
        if leaf1 {
            let regs = self.cpuid(1, 0);
            self.store_leaf(Slot::L1, regs);
            let eax = regs[0];
            sig = Signature { family: (eax >> 8) & 0x0f, model: (eax >> 4) & 0x0f, extended_model: (eax >> 12) & 0xf0, stepping: eax & 0x0f };
            if sig.family == 0x0f {
                sig.family += (eax >> 20) & 0xff;
                sig.model += sig.extended_model;
            }
        }
        let max = self.c.max_cpuid;
        if max >= 7 {
            let r = self.cpuid(7, 0);
            self.store_leaf(Slot::L7, r);
            let r = self.cpuid(7, 1);
            self.store_leaf(Slot::L7S1, r);
        }
        if max >= 0xd {
            let r = self.cpuid(0xd, 1);
            self.store_leaf(Slot::D1, r);
        }
        if max >= 0x14 {
            let r = self.cpuid(0x14, 0);
            self.store_leaf(Slot::L14, r);
        }
        if max >= 0x19 {
            let r = self.cpuid(0x19, 0);
            self.store_leaf(Slot::L19, r);
        }
        sig
    }

    /// get_extended_indices: leaves 0x80000001, 0x80000007, 0x80000008.
    fn extended_indices(&mut self) {
        let max = self.cpuid(0x8000_0000, 0)[0];
        for (leaf, slot) in [(0x8000_0001, Slot::E80000001), (0x8000_0007, Slot::E80000007), (0x8000_0008, Slot::E80000008)] {
            if max >= leaf {
                let r = self.cpuid(leaf, 0);
                self.store_leaf(slot, r);
            }
        }
    }

    /// update_active: the CPUID bits usable without OS support, then those
    /// the OS enabled in XCR0, xsave_state_size and isa_1.
    fn update_active(&mut self) {
        const PLAIN: [Feat; 52] = [
            SSE3, PCLMULQDQ, SSSE3, CMPXCHG16B, SSE4_1, SSE4_2, MOVBE, POPCNT, AES, OSXSAVE, TSC, CX8, CMOV, CLFSH, MMX, FXSR, SSE,
            SSE2, HTT, BMI1, HLE, BMI2, ERMS, RDSEED, ADX, CLFLUSHOPT, CLWB, SHA, PREFETCHWT1, OSPKE, WAITPKG, GFNI, RDPID, RDRAND,
            CLDEMOTE, MOVDIRI, MOVDIR64B, FSRM, RTM_ALWAYS_ABORT, SERIALIZE, TSXLDTRK, LAHF64_SAHF64, LZCNT, SSE4A, PREFETCHW, TBM,
            RDTSCP, WBNOINVD, FZLRM, FSRS, FSRCS, PTWRITE,
        ];
        for f in PLAIN {
            self.set_active(f);
        }
        if !self.has(RTM_ALWAYS_ABORT) {
            self.set_active(RTM);
        }
        // This build has CET_ENABLED (it has the glibc.cpu.x86_ibt tunable).
        self.set_active(IBT);
        self.set_active(SHSTK);
        if self.has(OSXSAVE) {
            let xcr0 = self.src.xcr0() as u32;
            self.xcr0_features(xcr0);
            self.set(XSAVE);
            for f in [XSAVEOPT, XSAVEC, XGETBV_ECX_1, XFD] {
                self.set_active(f);
            }
            self.xsave_state_size();
        }
        if self.has(OSPKE) {
            self.set(PKU);
        }
        if self.has(AESKLE) {
            self.set(AESKLE);
            self.set_active(KL);
            self.set_active(WIDE_KL);
        }
        self.c.isa_1 = self.isa_level();
    }

    /// The features whose register state the OS enabled in XCR0.
    fn xcr0_features(&mut self, xcr0: u32) {
        let all = |bits: u32| xcr0 & bits == bits;
        if all(XCR0_YMM | XCR0_XMM) {
            if self.has(AVX) {
                self.set(AVX);
                if self.has(AVX2) {
                    self.set(AVX2);
                    // 256-bit unaligned loads are fast on Intel/AMD with AVX2.
                    self.prefer(Pref::AvxFastUnalignedLoad);
                }
                for f in [AVX_VNNI, FMA, VAES, VPCLMULQDQ, XOP, F16C] {
                    self.set_active(f);
                }
            }
            if all(XCR0_OPMASK | XCR0_ZMM0_15 | XCR0_ZMM16_31) && self.has(AVX512F) {
                self.set(AVX512F);
                const AVX512: [Feat; 17] = [
                    AVX512CD, AVX512ER, AVX512PF, AVX512VL, AVX512DQ, AVX512BW, AVX512_4FMAPS, AVX512_4VNNIW, AVX512_BITALG,
                    AVX512_IFMA, AVX512_VBMI, AVX512_VBMI2, AVX512_VNNI, AVX512_VPOPCNTDQ, AVX512_VP2INTERSECT, AVX512_BF16,
                    AVX512_FP16,
                ];
                for f in AVX512 {
                    self.set_active(f);
                }
            }
        }
        if all(XCR0_XTILECFG | XCR0_XTILEDATA) {
            for f in [AMX_BF16, AMX_TILE, AMX_INT8] {
                self.set_active(f);
            }
        }
    }

    /// xsave_state_size for _dl_runtime_resolve: the XSAVE area plus the
    /// integer registers, 64-byte aligned; with XSAVEC, the compacted size
    /// of the components glibc saves.
    fn xsave_state_size(&mut self) {
        if self.c.max_cpuid < 0xd {
            return;
        }
        let ebx = self.cpuid(0xd, 0)[1];
        if ebx == 0 {
            return;
        }
        let full = align64(ebx.wrapping_add(STATE_SAVE_OFFSET));
        self.c.xsave_state_size = u64::from(full);
        self.c.xsave_state_full_size = full;
        if !self.has(XSAVEC) {
            return;
        }
        // Legacy region (x87 160 bytes, SSE 256), XSAVE header to 576.
        let mut offsets = [0u32; 32];
        let mut sizes = [0u32; 32];
        offsets[1] = 160;
        offsets[2] = 576;
        sizes[0] = 160;
        sizes[1] = 256;
        for i in 2..32 {
            let mut ecx = 0;
            if STATE_SAVE_MASK & (1 << i) != 0 {
                let r = self.cpuid(0xd, i as u32);
                sizes[i] = r[0];
                ecx = r[2];
            }
            if i > 2 {
                offsets[i] = offsets[i - 1].wrapping_add(sizes[i - 1]);
                // ECX bit 1: the component is 64-byte aligned when compacted.
                if ecx & (1 << 1) != 0 {
                    offsets[i] = align64(offsets[i]);
                }
            }
        }
        let size = offsets[31].wrapping_add(sizes[31]);
        if size != 0 {
            self.c.xsave_state_size = u64::from(align64(size.wrapping_add(STATE_SAVE_OFFSET)));
            self.set(XSAVEC);
        }
    }

    /// get_isa_level: the x86-64 micro-architecture levels usable.
    fn isa_level(&self) -> u32 {
        let all = |fs: &[Feat]| fs.iter().all(|&f| self.usable(f));
        if !(all(&[CMOV, CX8]) && self.has(FPU) && all(&[FXSR, MMX, SSE, SSE2])) {
            return 0;
        }
        let mut level = ISA_1_BASELINE;
        if all(&[CMPXCHG16B, LAHF64_SAHF64, POPCNT, SSE3, SSSE3, SSE4_1, SSE4_2]) {
            level |= ISA_1_V2;
            if all(&[AVX, AVX2, BMI1, BMI2, F16C, FMA, LZCNT, MOVBE]) {
                level |= ISA_1_V3;
                if all(&[AVX512F, AVX512BW, AVX512CD, AVX512DQ, AVX512VL]) {
                    level |= ISA_1_V4;
                }
            }
        }
        level
    }

    /// The "GenuineIntel" branch: model quirks and preferences.
    fn intel(&mut self) -> (u32, u32, u32, u32) {
        let sig = self.common_indices(true);
        self.extended_indices();
        self.update_active();
        let mut model = sig.model;
        if sig.family == 0x06 {
            model = model.wrapping_add(sig.extended_model);
            self.intel_model_preferences(model);
            self.intel_tsx(model, sig.stepping);
        }
        if self.has(AVX512ER) {
            // Xeon Phi: no VZEROUPPER.
            self.prefer(Pref::PreferNoVzeroupper);
        } else {
            // AVX512 lowers the frequency unless AVX-VNNI is there too.
            if !self.has(AVX_VNNI) {
                self.prefer(Pref::PreferNoAvx512);
            }
            // VZEROUPPER aborts an RTM transaction.
            if self.usable(RTM) {
                self.prefer(Pref::PreferNoVzeroupper);
            }
        }
        if self.has(FSRM) {
            self.prefer(Pref::AvoidShortDistanceRepMovsb);
        }
        (self.k.kind.intel, sig.family, model, sig.stepping)
    }

    /// Family 6 models: Atom's slow BSF, Silvermont/Goldmont/Tremont and
    /// Core i3/i5/i7 string preferences.
    fn intel_model_preferences(&mut self, model: u32) {
        use Pref::*;
        let core_i7: &[Pref] = &[FastRepString, FastUnalignedLoad, FastUnalignedCopy, PreferPminubForStringop];
        let prefs: &[Pref] = match model {
            0x1c | 0x26 => &[SlowBsf],
            0x57 | 0x7a | 0x5c | 0x5f | 0x4c | 0x5a | 0x75 | 0x37 | 0x4a | 0x4d | 0x5d => {
                &[FastUnalignedLoad, FastUnalignedCopy, PreferPminubForStringop, SlowSse4_2]
            }
            0x86 | 0x96 | 0x9c => &[FastRepString, FastUnalignedLoad, FastUnalignedCopy, PreferPminubForStringop, SlowSse4_2],
            0x1a | 0x1e | 0x1f | 0x25 | 0x2c | 0x2e | 0x2f => core_i7,
            // Unknown models: a Core i3/i5/i7 if it has AVX.
            _ if self.has(AVX) => core_i7,
            _ => &[],
        };
        for &p in prefs {
            self.prefer(p);
        }
    }

    /// Models whose TSX is broken (Intel's list, and Haswell).
    fn intel_tsx(&mut self, model: u32, stepping: u32) {
        let disable_tsx = match model {
            0x55 => stepping <= 5,
            0x8e | 0x9e => stepping <= 0xc,
            0x4e | 0x5e => true,
            0x3f if stepping >= 4 => false,
            0x3f | 0x3c | 0x45 | 0x46 => {
                self.unset(RTM);
                false
            }
            _ => false,
        };
        if disable_tsx {
            self.unset(HLE);
            self.unset(RTM);
            self.set(RTM_ALWAYS_ABORT);
        }
    }

    /// The "AuthenticAMD"/"HygonGenuine" branch.
    fn amd(&mut self) -> (u32, u32, u32, u32) {
        let sig = self.common_indices(true);
        self.extended_indices();
        self.update_active();
        if self.usable(AVX) {
            // FMA4 (leaf 0x80000001) needs AVX.
            self.set_active(FMA4);
        }
        if sig.family == 0x15 && (0x60..=0x7f).contains(&sig.model) {
            // Excavator: unaligned AVX loads are slower.
            self.prefer(Pref::FastUnalignedLoad);
            self.prefer(Pref::FastCopyBackward);
            self.unprefer(Pref::AvxFastUnalignedLoad);
        }
        (self.k.kind.amd, sig.family, sig.model, sig.stepping)
    }

    /// The "CentaurHauls"/"  Shanghai  " branch. glibc's stepping there is
    /// a local that shadows the one stored, so basic.stepping stays 0; the
    /// extended model is added even where leaf 1 already added it.
    fn zhaoxin(&mut self) -> (u32, u32, u32, u32) {
        let sig = self.common_indices(true);
        self.extended_indices();
        self.update_active();
        let model = sig.model.wrapping_add(sig.extended_model);
        let (no_avx, slow_sse4_2) = match (sig.family, model) {
            (6, 0xf | 0x19) | (7, 0x1b) => (true, true),
            (7, 0x3b) => (true, false),
            _ => (false, false),
        };
        if no_avx {
            self.unset(AVX);
            self.unset(AVX2);
            if slow_sse4_2 {
                self.prefer(Pref::SlowSse4_2);
            }
            self.unprefer(Pref::AvxFastUnalignedLoad);
        }
        (self.k.kind.zhaoxin, sig.family, model, 0)
    }

    /// Without OSXSAVE usable (or XSAVE and XSAVEC both off), nothing that
    /// needs XSAVE-managed state is usable.
    fn drop_xsave_features(&mut self) {
        let mut disable = false;
        if !self.usable(OSXSAVE) {
            for f in [XSAVE, XSAVEOPT, XSAVEC, XGETBV_ECX_1, XFD] {
                self.unset(f);
            }
            disable = true;
        }
        if disable || (!self.usable(XSAVE) && !self.usable(XSAVEC)) {
            self.c.xsave_state_size = 0;
            const NEED_XSAVE: [Feat; 30] = [
                AVX, AVX2, AVX_VNNI, FMA, VAES, VPCLMULQDQ, XOP, F16C, AVX512F, AVX512CD, AVX512ER, AVX512PF, AVX512VL, AVX512DQ,
                AVX512BW, AVX512_4FMAPS, AVX512_4VNNIW, AVX512_BITALG, AVX512_IFMA, AVX512_VBMI, AVX512_VBMI2, AVX512_VNNI,
                AVX512_VPOPCNTDQ, AVX512_VP2INTERSECT, AVX512_BF16, AVX512_FP16, AMX_BF16, AMX_TILE, AMX_INT8, FMA4,
            ];
            for f in NEED_XSAVE {
                self.unset(f);
            }
        }
    }

    /// GLRO(dl_hwcap) and GLRO(dl_platform) on x86_64.
    fn hwcap_platform(&self) -> CpuInit {
        let mut hwcap = self.k.hwcap_x86_64;
        let mut platform: Option<&'static [u8]> = None;
        if self.c.kind == self.k.kind.intel {
            if self.usable(AVX512CD) {
                if self.usable(AVX512ER) {
                    if self.usable(AVX512PF) {
                        platform = Some(b"xeon_phi\0");
                    }
                } else if self.usable(AVX512BW) && self.usable(AVX512DQ) && self.usable(AVX512VL) {
                    hwcap |= self.k.hwcap_avx512_1;
                }
            }
            if platform.is_none() && [AVX2, FMA, BMI1, BMI2, LZCNT, MOVBE, POPCNT].iter().all(|&f| self.usable(f)) {
                platform = Some(b"haswell\0");
            }
        }
        CpuInit { hwcap, platform, isa_level: 0 }
    }
}

/// ALIGN_UP(v, 64) in `unsigned int`.
fn align64(v: u32) -> u32 {
    v.wrapping_add(63) & !63
}

// ------------------------------------------------------ cpu-tunables.c ----

/// Features `-NAME` in glibc.cpu.hwcaps turns off.
const HWCAPS_OFF: [(&[u8], Feat); 29] = [
    (b"AVX", AVX),
    (b"CX8", CX8),
    (b"FMA", FMA),
    (b"HTT", HTT),
    (b"IBT", IBT),
    (b"RTM", RTM),
    (b"AVX2", AVX2),
    (b"BMI1", BMI1),
    (b"BMI2", BMI2),
    (b"CMOV", CMOV),
    (b"ERMS", ERMS),
    (b"FMA4", FMA4),
    (b"SSE2", SSE2),
    (b"LZCNT", LZCNT),
    (b"MOVBE", MOVBE),
    (b"SHSTK", SHSTK),
    (b"SSSE3", SSSE3),
    (b"XSAVE", XSAVE),
    (b"POPCNT", POPCNT),
    (b"SSE4_1", SSE4_1),
    (b"SSE4_2", SSE4_2),
    (b"AVX512F", AVX512F),
    (b"OSXSAVE", OSXSAVE),
    (b"AVX512CD", AVX512CD),
    (b"AVX512BW", AVX512BW),
    (b"AVX512DQ", AVX512DQ),
    (b"AVX512ER", AVX512ER),
    (b"AVX512PF", AVX512PF),
    (b"AVX512VL", AVX512VL),
];

/// Preferences glibc.cpu.hwcaps can only turn off.
const HWCAPS_PREF_OFF: [Pref; 2] = [Pref::I586, Pref::I686];

/// Preferences it turns on (NAME) or off (-NAME); on only where the
/// feature given is usable.
const HWCAPS_PREF: [(Pref, Option<Feat>); 13] = [
    (Pref::SlowBsf, None),
    (Pref::PreferErms, None),
    (Pref::PreferFsrm, None),
    (Pref::SlowSse4_2, Some(SSE4_2)),
    (Pref::FastRepString, None),
    (Pref::PreferNoAvx512, Some(AVX512F)),
    (Pref::FastCopyBackward, None),
    (Pref::FastUnalignedLoad, None),
    (Pref::FastUnalignedCopy, None),
    (Pref::PreferNoVzeroupper, Some(AVX)),
    (Pref::AvxFastUnalignedLoad, Some(AVX)),
    (Pref::MathVecPreferNoAvx512, Some(AVX512F)),
    (Pref::PreferPminubForStringop, Some(SSE2)),
];

impl State<'_> {
    /// TUNABLE_CALLBACK (set_hwcaps): `-NAME,NAME,...`, case-sensitive.
    /// glibc's loop reads on past the value's NUL into whatever follows it
    /// in the environment block until it meets an empty string; we stop at
    /// the end of the value.
    fn set_hwcaps(&mut self, value: &[u8]) {
        for item in value.split(|&c| c == b',') {
            let (disable, name) = match item.split_first() {
                Some((b'-', rest)) => (true, rest),
                _ => (false, item),
            };
            self.hwcap_item(name, disable);
        }
    }

    fn hwcap_item(&mut self, name: &[u8], disable: bool) {
        if disable {
            if let Some(&(_, f)) = HWCAPS_OFF.iter().find(|(n, _)| *n == name) {
                self.unset(f);
                return;
            }
            if name == b"XSAVEC" {
                // Back to the XSAVE state size.
                self.c.xsave_state_size = u64::from(self.c.xsave_state_full_size);
                self.unset(XSAVEC);
                return;
            }
            if let Some(&p) = HWCAPS_PREF_OFF.iter().find(|&&p| PREF_NAMES[p as usize].0.as_bytes() == name) {
                self.unprefer(p);
                return;
            }
        }
        if let Some(&(p, need)) = HWCAPS_PREF.iter().find(|(p, _)| PREF_NAMES[*p as usize].0.as_bytes() == name) {
            if disable {
                self.unprefer(p);
            } else if need.is_none_or(|f| self.usable(f)) {
                self.prefer(p);
            }
        }
    }
}

// ------------------------------------------------------ dl-cacheinfo.h ----

/// Which cache an Intel CPUID leaf 2 descriptor describes.
#[derive(Clone, Copy)]
enum Cache {
    L1i,
    L1d,
    L2,
    L3,
}

/// An Intel CPUID leaf 2 descriptor: (byte, ways, line size, cache, size).
#[derive(Clone, Copy)]
struct Descriptor {
    byte: u8,
    assoc: u8,
    linesize: u8,
    cache: Cache,
    size: u32,
}

const fn d(byte: u8, assoc: u8, linesize: u8, cache: Cache, size: u32) -> Descriptor {
    Descriptor { byte, assoc, linesize, cache, size }
}

/// The leaf 2 descriptors glibc knows (its intel_02_known; Intel SDM vol.
/// 2, table "Encoding of CPUID Leaf 2 Descriptors"), sorted by byte. A
/// unit test compares it with the build's own table.
const INTEL_02_KNOWN: [Descriptor; 68] = {
    use Cache::*;
    [
        d(0x06, 4, 32, L1i, 8192),
        d(0x08, 4, 32, L1i, 16384),
        d(0x09, 4, 32, L1i, 32768),
        d(0x0a, 2, 32, L1d, 8192),
        d(0x0c, 4, 32, L1d, 16384),
        d(0x0d, 4, 64, L1d, 16384),
        d(0x0e, 6, 64, L1d, 24576),
        d(0x21, 8, 64, L2, 262144),
        d(0x22, 4, 64, L3, 524288),
        d(0x23, 8, 64, L3, 1048576),
        d(0x25, 8, 64, L3, 2097152),
        d(0x29, 8, 64, L3, 4194304),
        d(0x2c, 8, 64, L1d, 32768),
        d(0x30, 8, 64, L1i, 32768),
        d(0x39, 4, 64, L2, 131072),
        d(0x3a, 6, 64, L2, 196608),
        d(0x3b, 2, 64, L2, 131072),
        d(0x3c, 4, 64, L2, 262144),
        d(0x3d, 6, 64, L2, 393216),
        d(0x3e, 4, 64, L2, 524288),
        d(0x3f, 2, 64, L2, 262144),
        d(0x41, 4, 32, L2, 131072),
        d(0x42, 4, 32, L2, 262144),
        d(0x43, 4, 32, L2, 524288),
        d(0x44, 4, 32, L2, 1048576),
        d(0x45, 4, 32, L2, 2097152),
        d(0x46, 4, 64, L3, 4194304),
        d(0x47, 8, 64, L3, 8388608),
        d(0x48, 12, 64, L2, 3145728),
        d(0x49, 16, 64, L2, 4194304),
        d(0x4a, 12, 64, L3, 6291456),
        d(0x4b, 16, 64, L3, 8388608),
        d(0x4c, 12, 64, L3, 12582912),
        d(0x4d, 16, 64, L3, 16777216),
        d(0x4e, 24, 64, L2, 6291456),
        d(0x60, 8, 64, L1d, 16384),
        d(0x66, 4, 64, L1d, 8192),
        d(0x67, 4, 64, L1d, 16384),
        d(0x68, 4, 64, L1d, 32768),
        d(0x78, 8, 64, L2, 1048576),
        d(0x79, 8, 64, L2, 131072),
        d(0x7a, 8, 64, L2, 262144),
        d(0x7b, 8, 64, L2, 524288),
        d(0x7c, 8, 64, L2, 1048576),
        d(0x7d, 8, 64, L2, 2097152),
        d(0x7f, 2, 64, L2, 524288),
        d(0x80, 8, 64, L2, 524288),
        d(0x82, 8, 32, L2, 262144),
        d(0x83, 8, 32, L2, 524288),
        d(0x84, 8, 32, L2, 1048576),
        d(0x85, 8, 32, L2, 2097152),
        d(0x86, 4, 64, L2, 524288),
        d(0x87, 8, 64, L2, 1048576),
        d(0xd0, 4, 64, L3, 524288),
        d(0xd1, 4, 64, L3, 1048576),
        d(0xd2, 4, 64, L3, 2097152),
        d(0xd6, 8, 64, L3, 1048576),
        d(0xd7, 8, 64, L3, 2097152),
        d(0xd8, 8, 64, L3, 4194304),
        d(0xdc, 12, 64, L3, 2097152),
        d(0xdd, 12, 64, L3, 4194304),
        d(0xde, 12, 64, L3, 8388608),
        d(0xe2, 16, 64, L3, 2097152),
        d(0xe3, 16, 64, L3, 4194304),
        d(0xe4, 16, 64, L3, 8388608),
        d(0xea, 24, 64, L3, 12582912),
        d(0xeb, 24, 64, L3, 18874368),
        d(0xec, 24, 64, L3, 25165824),
    ]
};

/// Cache sizes, one per `Sc` query, as glibc's `long int`s.
type Levels = [i64; SCS];

const ALL_SC: [Sc; SCS] =
    [Sc::L1iSize, Sc::L1iLinesize, Sc::L1dSize, Sc::L1dAssoc, Sc::L1dLinesize, Sc::L2Size, Sc::L2Assoc, Sc::L2Linesize, Sc::L3Size, Sc::L3Assoc, Sc::L3Linesize, Sc::L4Size];

/// Size, ways and line size of a CPUID leaf 4 (deterministic cache
/// parameters) answer; `offset` 0, 1, 2 picks one (glibc's _SC order).
fn leaf4_value(ebx: u32, ecx: u32, offset: i64) -> Option<i64> {
    let ways = (ebx >> 22) + 1;
    let line = (ebx & 0xfff) + 1;
    let v = match offset {
        0 => ways.wrapping_mul(((ebx >> 12) & 0x3ff) + 1).wrapping_mul(line).wrapping_mul(ecx.wrapping_add(1)),
        1 => ways,
        2 => line,
        _ => return None,
    };
    Some(i64::from(v))
}

/// A cache's level and type from leaf 4 EAX: 1 data, 2 instruction, 3 unified.
fn leaf4_matches(k: &Known, eax: u32, folded: i64, with_l4: bool) -> bool {
    let ty = eax & 0x1f;
    let level = (eax >> 5) & 0x7;
    (level == 1 && ty == 1 && folded == k.rel(k.sc(Sc::L1dSize)))
        || (level == 1 && ty == 2 && folded == k.rel(k.sc(Sc::L1iSize)))
        || (level == 2 && folded == k.rel(k.sc(Sc::L2Size)))
        || (level == 3 && folded == k.rel(k.sc(Sc::L3Size)))
        || (with_l4 && level == 4 && folded == k.rel(k.sc(Sc::L4Size)))
}

impl State<'_> {
    /// handle_intel: a cache query answered from CPUID leaf 2 (and 4).
    fn handle_intel(&self, name: i64) -> i64 {
        if (self.c.max_cpuid as u32) < 2 {
            return -1;
        }
        let mut no_level_2_or_3 = false;
        let [eax, ebx, ecx, edx] = self.cpuid(2, 0);
        // The low byte of EAX must be 1; otherwise use leaf 4.
        if eax & 0xff != 1 {
            return self.intel_check_word(name, 0xff, &mut no_level_2_or_3);
        }
        for word in [eax & 0xffff_ff00, ebx, ecx, edx] {
            let r = self.intel_check_word(name, word, &mut no_level_2_or_3);
            if r != 0 {
                return r;
            }
        }
        let k = self.k;
        if name >= k.sc(Sc::L2Size) && name <= k.sc(Sc::L3Linesize) && no_level_2_or_3 {
            return -1;
        }
        0
    }

    /// intel_check_word: look for the query in one register of leaf 2.
    fn intel_check_word(&self, mut name: i64, mut value: u32, no_level_2_or_3: &mut bool) -> i64 {
        let k = self.k;
        if value & 0x8000_0000 != 0 {
            return 0; // reserved
        }
        // The _SC names come in threes: SIZE, ASSOC, LINESIZE.
        let mut folded = k.rel(name) / 3 * 3;
        while value != 0 {
            let byte = (value & 0xff) as u8;
            if byte == 0x40 {
                *no_level_2_or_3 = true;
                if folded == k.rel(k.sc(Sc::L3Size)) {
                    break;
                }
            } else if byte == 0xff {
                return self.intel_leaf4(name, folded);
            } else {
                if byte == 0x49 && folded == k.rel(k.sc(Sc::L3Size)) && self.c.family == 15 && self.c.model == 6 {
                    // Descriptor 0x49 is the L3 on family 15 model 6.
                    name = k.sc(Sc::L2Size).wrapping_add(name.wrapping_sub(k.sc(Sc::L3Size)));
                    folded = k.rel(k.sc(Sc::L2Size));
                }
                if let Ok(i) = INTEL_02_KNOWN.binary_search_by_key(&byte, |d| d.byte) {
                    let found = INTEL_02_KNOWN[i];
                    if self.cache_rel(found.cache) == folded {
                        return match k.rel(name) - folded {
                            0 => i64::from(found.size),
                            1 => i64::from(found.assoc),
                            _ => i64::from(found.linesize),
                        };
                    }
                }
            }
            value >>= 8;
        }
        0
    }

    /// M(_SC_LEVELn_..._SIZE) of a descriptor's cache.
    fn cache_rel(&self, c: Cache) -> i64 {
        let sc = match c {
            Cache::L1i => Sc::L1iSize,
            Cache::L1d => Sc::L1dSize,
            Cache::L2 => Sc::L2Size,
            Cache::L3 => Sc::L3Size,
        };
        self.k.rel(self.k.sc(sc))
    }

    /// Descriptor 0xff: iterate CPUID leaf 4 for the query.
    fn intel_leaf4(&self, name: i64, folded: i64) -> i64 {
        for round in 0..MAX_SUBLEAVES {
            let [eax, ebx, ecx, _] = self.cpuid(4, round);
            if eax & 0x1f == 0 {
                break;
            }
            if leaf4_matches(self.k, eax, folded, true) {
                return leaf4_value(ebx, ecx, self.k.rel(name) - folded).unwrap_or(0);
            }
        }
        -1
    }

    /// handle_zhaoxin: a cache query answered from CPUID leaf 4.
    fn handle_zhaoxin(&self, name: i64) -> i64 {
        let folded = self.k.rel(name) / 3 * 3;
        for round in 0..MAX_SUBLEAVES {
            let [eax, ebx, ecx, _] = self.cpuid(4, round);
            if eax & 0x1f == 0 {
                break;
            }
            if leaf4_matches(self.k, eax, folded, false) {
                return leaf4_value(ebx, ecx, self.k.rel(name) - folded).unwrap_or(0);
            }
        }
        0
    }

    /// handle_amd: a cache query answered from CPUID 0x80000005/6.
    fn handle_amd(&self, name: i64) -> i64 {
        let k = self.k;
        let max = self.cpuid(0x8000_0000, 0)[0];
        if name > k.sc(Sc::L3Linesize) {
            return 0; // no level 4
        }
        let leaf = 0x8000_0005 + u32::from(name >= k.sc(Sc::L2Size));
        if max < leaf {
            return 0;
        }
        let [_, _, mut ecx, edx] = self.cpuid(leaf, 0);
        let mut name = name;
        if name < k.sc(Sc::L1dSize) {
            // L1 instruction cache: EDX, laid out as the data cache's ECX.
            name += k.sc(Sc::L1dSize) - k.sc(Sc::L1iSize);
            ecx = edx;
        }
        let v: u32 = match ALL_SC.iter().find(|&&s| k.sc(s) == name) {
            Some(Sc::L1dSize) => (ecx >> 14) & 0x3fc00,
            Some(Sc::L1dAssoc) => {
                let a = ecx >> 16;
                if a & 0xff == 0xff { (a << 2) & 0x3fc00 } else { a & 0xff }
            }
            Some(Sc::L1dLinesize) => ecx & 0xff,
            Some(Sc::L2Size) => {
                if ecx & 0xf000 == 0 { 0 } else { (ecx >> 6) & 0x3ff_fc00 }
            }
            Some(Sc::L2Assoc) => amd_assoc((ecx >> 12) & 0xf, (ecx >> 6) & 0x3ff_fc00, ecx & 0xff),
            Some(Sc::L2Linesize) => {
                if ecx & 0xf000 == 0 { 0 } else { ecx & 0xff }
            }
            Some(Sc::L3Size) => {
                if edx & 0xf000 == 0 { 0 } else { (edx & 0x3ffc_0000) << 1 }
            }
            Some(Sc::L3Assoc) => amd_assoc((edx >> 12) & 0xf, (edx & 0x3ffc_0000) << 1, edx & 0xff),
            Some(Sc::L3Linesize) => {
                if edx & 0xf000 == 0 { 0 } else { edx & 0xff }
            }
            // glibc asserts "cannot happen".
            _ => return -1,
        };
        i64::from(v)
    }

    /// get_common_cache_info (Intel, Zhaoxin): the threads sharing the
    /// highest cache level, the per-thread share, non-inclusive caches.
    /// Returns (shared, shared_per_thread, threads).
    fn common_cache_info(&self, mut shared: i64, mut shared_per_thread: i64, mut threads: u32, core: i64) -> (i64, i64, u32) {
        let k = self.k;
        let max_cpuid = self.c.max_cpuid;
        let (family, model) = (self.c.family, self.c.model);
        let intel = self.c.kind == k.kind.intel;
        let support_count_mask = !(self.c.kind == k.kind.zhaoxin && family == 6);
        let mut inclusive_cache = true;
        let mut level = 3;
        let (mut threads_l2, mut threads_l3): (i32, i32);
        if shared <= 0 {
            // No L3: use L2.
            level = 2;
            shared = core;
            shared_per_thread = core;
            threads_l2 = 0;
            threads_l3 = -1;
        } else {
            threads_l2 = 0;
            threads_l3 = 0;
        }
        if self.has(HTT) {
            let mut bug = max_cpuid < 4;
            if !bug {
                let s = self.leaf4_sharing(threads_l3 == 0);
                if let Some(l2) = s.l2 {
                    threads_l2 = l2;
                }
                if let Some((l3, incl)) = s.l3 {
                    threads_l3 = l3;
                    inclusive_cache = incl;
                }
                bug = s.bug;
            }
            if bug {
                // Assume all logical threads share the highest cache level.
                threads = (self.leaf_reg(Slot::L1, Reg::Ebx) >> 16) & 0xff;
            } else {
                if max_cpuid >= 11 && support_count_mask {
                    (threads_l2, threads_l3) = self.apply_count_mask(level, threads_l2, threads_l3);
                }
                if threads_l2 > 0 {
                    threads_l2 += 1;
                }
                if threads_l3 > 0 {
                    threads_l3 += 1;
                }
                if level == 2 {
                    if threads_l2 != 0 {
                        threads = threads_l2 as u32;
                        // Silvermont's L2 is shared by 2 cores.
                        if intel && threads > 2 && family == 6 && matches!(model, 0x37 | 0x4a | 0x4d | 0x5a | 0x5d) {
                            threads = 2;
                        }
                    }
                } else if threads_l3 != 0 {
                    threads = threads_l3 as u32;
                }
            }
            if shared_per_thread > 0 && threads > 0 {
                shared_per_thread /= i64::from(threads);
            }
        }
        if !inclusive_cache {
            let core_per_thread = if threads_l2 > 0 { core / i64::from(threads_l2) } else { core };
            shared_per_thread = shared_per_thread.wrapping_add(core_per_thread);
            shared = shared.wrapping_add(core);
        }
        (shared, shared_per_thread, threads)
    }

    /// CPUID leaf 4 until the L2 (and, if `want_l3`, L3) entries are seen.
    fn leaf4_sharing(&self, want_l3: bool) -> Sharing {
        let intel = self.c.kind == self.k.kind.intel;
        let mut check = 0x1 | u32::from(want_l3) << 1;
        let mut s = Sharing { l2: None, l3: None, bug: false };
        for i in 0..MAX_SUBLEAVES {
            if check == 0 {
                break;
            }
            let [eax, _, _, edx] = self.cpuid(4, i);
            if intel && eax & 0x1f == 0 {
                // What was read so far stays, as in glibc's goto.
                s.bug = true;
                break;
            }
            match (eax >> 5) & 0x7 {
                2 if check & 0x1 != 0 => {
                    s.l2 = Some(((eax >> 14) & 0x3ff) as i32);
                    check &= !0x1;
                }
                3 if check & 0x2 != 0 => {
                    // EDX bit 1: the cache is inclusive of lower levels.
                    s.l3 = Some((((eax >> 14) & 0x3ff) as i32, edx & 0x2 != 0));
                    check &= !0x2;
                }
                _ => {}
            }
        }
        s
    }

    /// With leaf 0xb, leaf 4's sharing counts are ID ranges: mask them with
    /// the logical processors per core (SMT level) or per package (core
    /// level).
    fn apply_count_mask(&self, level: u32, mut threads_l2: i32, mut threads_l3: i32) -> (i32, i32) {
        // SMT only with an L3; the core level always without one.
        let mut count = u32::from(threads_l2 > 0 && level == 3) | u32::from(threads_l3 > 0 || (threads_l2 > 0 && level == 2)) << 1;
        for i in 0..MAX_SUBLEAVES {
            if count == 0 {
                break;
            }
            let [_, ebx, ecx, _] = self.cpuid(11, i);
            let shipped = (ebx & 0xff) as i32;
            let ty = ecx & 0xff00;
            if shipped == 0 || ty == 0 {
                break;
            }
            if ty == 0x100 && count & 0x1 != 0 {
                threads_l2 = (shipped - 1) & count_mask(threads_l2);
                count &= !0x1;
            } else if ty == 0x200 && count & 0x2 != 0 {
                let t = if level == 2 { threads_l2 } else { threads_l3 };
                let t = (shipped - 1) & count_mask(t);
                if level == 2 {
                    threads_l2 = t;
                } else {
                    threads_l3 = t;
                }
                count &= !0x2;
            }
        }
        (threads_l2, threads_l3)
    }

    /// dl_init_cacheinfo: cache sizes and the string-function thresholds.
    fn init_cacheinfo(&mut self, t: &mut dyn CpuTunables) {
        let k = self.k;
        let kind = self.c.kind;
        let mut levels: Levels = [-1; SCS];
        let (mut data, mut shared, mut shared_per_thread, mut core) = (-1i64, -1i64, -1i64, -1i64);
        if kind == k.kind.intel || kind == k.kind.zhaoxin || kind == k.kind.amd {
            for (v, &s) in levels.iter_mut().zip(ALL_SC.iter()) {
                let name = k.sc(s);
                *v = if kind == k.kind.intel {
                    self.handle_intel(name)
                } else if s == Sc::L4Size {
                    -1 // glibc asks only Intel CPUs for an L4
                } else if kind == k.kind.zhaoxin {
                    self.handle_zhaoxin(name)
                } else {
                    self.handle_amd(name)
                };
            }
            data = levels[Sc::L1dSize as usize];
            core = levels[Sc::L2Size as usize];
            shared = levels[Sc::L3Size as usize];
            shared_per_thread = shared;
            if kind == k.kind.amd {
                (shared, shared_per_thread) = self.amd_shared(shared, core);
            } else {
                (shared, shared_per_thread, _) = self.common_cache_info(shared, shared_per_thread, 0, core);
            }
        }
        for (l, v) in self.c.level.iter_mut().zip(levels) {
            *l = v as u64;
        }
        self.thresholds(t, data, shared, shared_per_thread, core);
    }

    /// AMD: the threads sharing L3 and, on Zen, the L3 per CCX.
    /// Returns (shared, shared_per_thread).
    fn amd_shared(&self, mut shared: i64, core: i64) -> (i64, i64) {
        let mut shared_per_thread = shared;
        let max_ex = self.cpuid(0x8000_0000, 0)[0];
        if shared <= 0 {
            // No L3: all there is is the L2.
            return (core, core);
        }
        let mut threads: u32 = 0;
        if max_ex >= 0x8000_0008 {
            // The APIC ID width.
            threads = 1 << ((self.cpuid(0x8000_0008, 0)[2] >> 12) & 0x0f);
        }
        let zen = self.c.family >= 0x17;
        if threads == 0 || zen {
            let [_, ebx, _, edx] = self.cpuid(1, 0);
            if edx & (1 << 28) != 0 {
                threads = (ebx >> 16) & 0xff;
            }
        }
        if threads > 0 {
            shared_per_thread /= i64::from(threads);
        }
        if zen {
            // Threads sharing the L3 of a CCX (leaf 0x8000001D, L3 entry).
            let eax = self.cpuid(0x8000_001d, 3)[0];
            shared_per_thread = shared_per_thread.wrapping_mul(i64::from(((eax >> 14) & 0xfff) + 1));
        } else {
            // Exclusive L2 and L3.
            shared = shared.wrapping_add(core);
            shared_per_thread = shared_per_thread.wrapping_add(core);
        }
        (shared, shared_per_thread)
    }

    /// The thresholds, their tunables and the bounds glibc records.
    fn thresholds(&mut self, t: &mut dyn CpuTunables, mut data: i64, mut shared: i64, shared_per_thread: i64, core: i64) {
        // glibc 2.36 (with the 2.38 backports in this build's branch):
        // a quarter of the shared cache, at least 3/4 of a thread's share,
        // just the latter without ERMS, within [0x4040, SIZE_MAX >> 4].
        let mut non_temporal = (shared / 4) as u64;
        let low = (shared_per_thread.wrapping_mul(3) / 4) as u64;
        if non_temporal < low {
            non_temporal = low;
        }
        if !self.usable(ERMS) {
            non_temporal = low;
        }
        const MIN_NON_TEMPORAL: u64 = 0x4040;
        const MAX_NON_TEMPORAL: u64 = u64::MAX >> 4;
        non_temporal = non_temporal.clamp(MIN_NON_TEMPORAL, MAX_NON_TEMPORAL);
        // REP MOVSB from 4096 * (VEC_SIZE / 16) (2048 for 16-byte vectors),
        // 2112 with FSRM; never below VEC_SIZE * 8.
        let (mut rep_movsb, min_rep_movsb): (u64, u64) = if self.usable(AVX512F) && !self.preferred(Pref::PreferNoAvx512) {
            (4096 * (64 / 16), 64 * 8)
        } else if self.preferred(Pref::AvxFastUnalignedLoad) {
            (4096 * (32 / 16), 32 * 8)
        } else {
            (2048, 16 * 8) // 2048 * (16 / 16)
        };
        if self.usable(FSRM) {
            rep_movsb = 2112;
        }
        // The tunables; 0 (their default) leaves the cache sizes alone.
        if let Some(v) = t.num("glibc.cpu.x86_data_cache_size").filter(|&v| v != 0) {
            data = v as i64;
        }
        if let Some(v) = t.num("glibc.cpu.x86_shared_cache_size").filter(|&v| v != 0) {
            shared = v as i64;
        }
        if let Some(v) = t.num("glibc.cpu.x86_non_temporal_threshold").filter(|&v| v > MIN_NON_TEMPORAL && v <= MAX_NON_TEMPORAL) {
            non_temporal = v;
        }
        if let Some(v) = t.num("glibc.cpu.x86_rep_movsb_threshold").filter(|&v| v > min_rep_movsb) {
            rep_movsb = v;
        }
        // The tunable's default (dl-tunables.list) is the same 2048.
        let rep_stosb = t.num("glibc.cpu.x86_rep_stosb_threshold").unwrap_or(2048);
        t.set_bounds("glibc.cpu.x86_data_cache_size", data as u64, 0, u64::MAX);
        t.set_bounds("glibc.cpu.x86_shared_cache_size", shared as u64, 0, u64::MAX);
        t.set_bounds("glibc.cpu.x86_non_temporal_threshold", non_temporal, MIN_NON_TEMPORAL, MAX_NON_TEMPORAL);
        t.set_bounds("glibc.cpu.x86_rep_movsb_threshold", rep_movsb, min_rep_movsb, u64::MAX);
        t.set_bounds("glibc.cpu.x86_rep_stosb_threshold", rep_stosb, 1, u64::MAX);
        // AMD's ERMS is slow beyond the L2; elsewhere stop at non-temporal.
        self.c.rep_movsb_stop_threshold = if self.c.kind == self.k.kind.amd { core as u64 } else { non_temporal };
        self.c.data_cache_size = data as u64;
        self.c.shared_cache_size = shared as u64;
        self.c.non_temporal_threshold = non_temporal;
        self.c.rep_movsb_threshold = rep_movsb;
        self.c.rep_stosb_threshold = rep_stosb;
    }
}

/// What leaf 4 says of the caches' sharing: the maximum logical processor
/// IDs sharing L2 and L3 (and whether L3 includes L2); `bug`: Intel's
/// empty entry before they were seen ("no cache info").
struct Sharing {
    l2: Option<i32>,
    l3: Option<(i32, bool)>,
    bug: bool,
}

/// AMD's associativity encoding (CPUID 0x80000006): `size / line` for
/// "fully associative" (15); glibc divides by a zero line size, we give 0.
fn amd_assoc(code: u32, size: u32, line: u32) -> u32 {
    match code {
        0 | 1 | 2 | 4 => code,
        6 => 8,
        8 => 16,
        10 => 32,
        11 => 48,
        12 => 64,
        13 => 96,
        14 => 128,
        15 => size.checked_div(line).unwrap_or(0),
        _ => 0,
    }
}

/// ~(-1 << (bsr(t) + 1)): the bits up to `t`'s highest. glibc's BSR of 0
/// is undefined; it never reaches that (t > 0 there), and we take 0.
fn count_mask(t: i32) -> i32 {
    if t <= 0 {
        return 0;
    }
    let bsr = 31 - t.leading_zeros();
    !(-1i32).checked_shl(bsr + 1).unwrap_or(0)
}

// -------------------------------------------------------------- layout ----

/// The fields of `struct cpu_features` and `struct cpuid_feature_internal`
/// this module writes, from the generated layout.
struct Fields {
    size: usize,
    kind: At,
    max_cpuid: At,
    family: At,
    model: At,
    stepping: At,
    features: At,
    /// sizeof (struct cpuid_feature_internal).
    feature_size: usize,
    cpuid_array: At,
    active_array: At,
    /// sizeof (unsigned int) of the register arrays.
    reg_size: usize,
    preferred: At,
    isa_1: At,
    xsave_state_size: At,
    xsave_state_full_size: At,
    /// data_cache_size .. rep_stosb_threshold, in `Cpu`'s order.
    thresholds: [At; 6],
    level: [At; SCS],
}

const THRESHOLD_NAMES: [&str; 6] =
    ["data_cache_size", "shared_cache_size", "non_temporal_threshold", "rep_movsb_threshold", "rep_movsb_stop_threshold", "rep_stosb_threshold"];

const LEVEL_NAMES: [&str; SCS] = [
    "level1_icache_size",
    "level1_icache_linesize",
    "level1_dcache_size",
    "level1_dcache_assoc",
    "level1_dcache_linesize",
    "level2_cache_size",
    "level2_cache_assoc",
    "level2_cache_linesize",
    "level3_cache_size",
    "level3_cache_assoc",
    "level3_cache_linesize",
    "level4_cache_size",
];

fn missing(structure: &'static str, field: &'static str) -> Missing {
    Missing { structure, field }
}

impl Fields {
    fn of(b: &Build) -> Result<Fields, Missing> {
        let s = b.structure("struct cpu_features")?;
        let fi = b.structure("struct cpuid_feature_internal")?;
        let mut thresholds = [At { offset: 0, size: 0, bits: None }; 6];
        for (a, n) in thresholds.iter_mut().zip(THRESHOLD_NAMES) {
            *a = s.at(n)?;
        }
        let mut level = [At { offset: 0, size: 0, bits: None }; SCS];
        for (a, n) in level.iter_mut().zip(LEVEL_NAMES) {
            *a = s.at(n)?;
        }
        Ok(Fields {
            size: s.size,
            kind: s.at("basic.kind")?,
            max_cpuid: s.at("basic.max_cpuid")?,
            family: s.at("basic.family")?,
            model: s.at("basic.model")?,
            stepping: s.at("basic.stepping")?,
            features: s.at("features")?,
            feature_size: fi.size,
            cpuid_array: fi.at("cpuid_array")?,
            active_array: fi.at("active_array")?,
            reg_size: fi.at("cpuid.eax")?.size,
            preferred: s.at("preferred")?,
            isa_1: s.at("isa_1")?,
            xsave_state_size: s.at("xsave_state_size")?,
            xsave_state_full_size: s.at("xsave_state_full_size")?,
            thresholds,
            level,
        })
    }

    /// Register `reg` of `features[i]`'s `array` (cpuid_array or active_array).
    fn reg(&self, i: usize, array: At, reg: usize) -> Option<At> {
        self.features.element(i, self.feature_size)?.member(array)?.element(reg, self.reg_size)
    }

    /// `preferred[i]`.
    fn preferred(&self, i: usize) -> Option<At> {
        self.preferred.element(i, self.reg_size)
    }

    /// Lay `c` out into `buf`.
    fn store(&self, c: &Cpu, k: &Known, buf: &mut [u8]) -> Result<(), Missing> {
        let bad = |f: &'static str| missing("struct cpu_features (does not fit)", f);
        if buf.len() < self.size {
            return Err(bad("buffer"));
        }
        buf[..self.size].fill(0);
        let mut w = |a: Option<At>, v: u64, f: &'static str| if a.is_some_and(|a| put(buf, a, v)) { Ok(()) } else { Err(bad(f)) };
        w(Some(self.kind), c.kind.into(), "basic.kind")?;
        w(Some(self.max_cpuid), u64::from(c.max_cpuid as u32), "basic.max_cpuid")?;
        w(Some(self.family), c.family.into(), "basic.family")?;
        w(Some(self.model), c.model.into(), "basic.model")?;
        w(Some(self.stepping), c.stepping.into(), "basic.stepping")?;
        for i in 0..k.slots {
            for r in 0..4 {
                w(self.reg(i, self.cpuid_array, r), c.cpuid[i][r].into(), "features.cpuid_array")?;
                w(self.reg(i, self.active_array, r), c.active[i][r].into(), "features.active_array")?;
            }
        }
        for (i, &p) in c.preferred.iter().enumerate() {
            w(self.preferred(i), p.into(), "preferred")?;
        }
        w(Some(self.isa_1), c.isa_1.into(), "isa_1")?;
        w(Some(self.xsave_state_size), c.xsave_state_size, "xsave_state_size")?;
        w(Some(self.xsave_state_full_size), c.xsave_state_full_size.into(), "xsave_state_full_size")?;
        let values = [c.data_cache_size, c.shared_cache_size, c.non_temporal_threshold, c.rep_movsb_threshold, c.rep_movsb_stop_threshold, c.rep_stosb_threshold];
        for ((&a, v), n) in self.thresholds.iter().zip(values).zip(THRESHOLD_NAMES) {
            w(Some(a), v, n)?;
        }
        for ((&a, &v), n) in self.level.iter().zip(c.level.iter()).zip(LEVEL_NAMES) {
            w(Some(a), v, n)?;
        }
        Ok(())
    }
}

// --------------------------------------------------------- diagnostics ----

/// _dl_diagnostics_cpu's lines, read back from `cpu` through the layout.
pub fn write_diagnostics(build: &'static Build, cpu: &[u8], out: &mut dyn fmt::Write) -> fmt::Result {
    let (Ok(k), Ok(f)) = (Known::of(build), Fields::of(build)) else { return Ok(()) };
    let val = |a: Option<At>| a.and_then(|a| get(cpu, a)).ok_or(fmt::Error);
    let line = |out: &mut dyn fmt::Write, label: &str, v: u64| writeln!(out, "x86.cpu_features.{label}=0x{v:x}");
    line(out, "basic.kind", val(Some(f.kind))?)?;
    // An `int`, printed as a uint64_t.
    line(out, "basic.max_cpuid", val(Some(f.max_cpuid))? as u32 as i32 as i64 as u64)?;
    line(out, "basic.family", val(Some(f.family))?)?;
    line(out, "basic.model", val(Some(f.model))?)?;
    line(out, "basic.stepping", val(Some(f.stepping))?)?;
    for i in 0..k.slots {
        for (kind, array) in [("cpuid", f.cpuid_array), ("active", f.active_array)] {
            for r in 0..4 {
                writeln!(out, "x86.cpu_features.features[0x{i:x}].{kind}[0x{r:x}]=0x{:x}", val(f.reg(i, array, r))?)?;
            }
        }
    }
    for (&(i, mask), (name, _, _)) in k.pref.iter().zip(PREF_NAMES) {
        let on = val(f.preferred(i))? & u64::from(mask) != 0;
        writeln!(out, "x86.cpu_features.preferred.{name}=0x{:x}", u8::from(on))?;
    }
    line(out, "isa_1", val(Some(f.isa_1))?)?;
    line(out, "xsave_state_size", val(Some(f.xsave_state_size))?)?;
    line(out, "xsave_state_full_size", val(Some(f.xsave_state_full_size))?)?;
    for (&a, n) in f.thresholds.iter().zip(THRESHOLD_NAMES) {
        line(out, n, val(Some(a))?)?;
    }
    for (&a, n) in f.level.iter().zip(LEVEL_NAMES) {
        line(out, n, val(Some(a))?)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::glibc::debian12::BUILD;
    use alloc::string::String;
    use std::collections::HashMap;

    /// A recorded CPU: CPUID answers by (leaf, subleaf), zero elsewhere.
    struct Fake {
        leaves: HashMap<(u32, u32), [u32; 4]>,
        xcr0: u64,
    }

    impl CpuSource for Fake {
        fn cpuid(&self, leaf: u32, sub: u32) -> [u32; 4] {
            self.leaves.get(&(leaf, sub)).copied().unwrap_or_default()
        }
        fn xcr0(&self) -> u64 {
            self.xcr0
        }
        fn cet_status(&self) -> u32 {
            0
        }
    }

    /// No tunables set; the bounds recorded.
    #[derive(Default)]
    struct Recorded(Vec<(String, u64, u64, u64)>);

    impl CpuTunables for Recorded {
        fn num(&self, _: &str) -> Option<u64> {
            None
        }
        fn string(&self, _: &str) -> Option<&[u8]> {
            None
        }
        fn set_bounds(&mut self, name: &str, val: u64, min: u64, max: u64) {
            self.0.push((name.into(), val, min, max));
        }
    }

    fn bits(b: &[u8]) -> u32 {
        b.iter().fold(0, |a, &i| a | 1 << i)
    }

    /// The diagnostics lines of `cpu` run through `init_from`.
    fn run(cpu: &Fake) -> (String, CpuInit, Recorded) {
        let size = BUILD.structure("struct cpu_features").unwrap().size;
        let mut buf = vec![0u8; size];
        let mut t = Recorded::default();
        let init = init_from(&BUILD, &mut buf, &mut t, cpu).unwrap();
        let mut out = String::new();
        write_diagnostics(&BUILD, &buf, &mut out).unwrap();
        (out, init, t)
    }

    /// A Skylake-like Intel CPU (family 6, model 0x5e) described by CPUID
    /// leaf 4 (leaf 2 says 0xff) and leaf 0xb; values worked out by hand
    /// from glibc's code.
    fn skylake() -> Fake {
        let mut l = HashMap::new();
        l.insert((0, 0), [0x16, 0x756e_6547, 0x6c65_746e, 0x4965_6e69]);
        l.insert((1, 0), [0x0005_06e3, 0x0010_0800, bits(&[0, 9, 12, 13, 19, 20, 22, 23, 25, 26, 27, 28, 29]), bits(&[0, 4, 8, 15, 23, 24, 25, 26, 28])]);
        l.insert((2, 0), [0x00fe_ff01, 0, 0, 0]);
        l.insert((4, 0), [0x4021, 0x01c0_003f, 63, 0]);
        l.insert((4, 1), [0x4022, 0x01c0_003f, 63, 0]);
        l.insert((4, 2), [0x4043, 0x00c0_003f, 1023, 0]);
        l.insert((4, 3), [0x3c063, 0x03c0_003f, 8191, 2]);
        l.insert((7, 0), [0, bits(&[3, 4, 5, 8, 9, 11]), 0, 0]);
        l.insert((0xb, 0), [0, 2, 0x100, 0]);
        l.insert((0xb, 1), [0, 8, 0x201, 0]);
        l.insert((0xd, 0), [0, 0x340, 0, 0]);
        l.insert((0xd, 1), [3, 0, 0, 0]);
        l.insert((0xd, 2), [256, 576, 0, 0]);
        l.insert((0x8000_0000, 0), [0x8000_0008, 0, 0, 0]);
        l.insert((0x8000_0001, 0), [0, 0, bits(&[0, 5]), 0]);
        Fake { leaves: l, xcr0: 7 }
    }

    fn has_line(out: &str, line: &str) {
        assert!(out.lines().any(|l| l == line), "no {line:?} in\n{out}");
    }

    #[test]
    fn intel_leaf4_cpu() {
        let (out, init, t) = run(&skylake());
        for l in [
            "x86.cpu_features.basic.kind=0x1",
            "x86.cpu_features.basic.family=0x6",
            "x86.cpu_features.basic.model=0x5e",
            "x86.cpu_features.basic.stepping=0x3",
            // Model 0x5e: TSX off (HLE, RTM), RTM_ALWAYS_ABORT on.
            "x86.cpu_features.features[0x1].active[0x1]=0x328",
            "x86.cpu_features.features[0x1].active[0x3]=0x800",
            "x86.cpu_features.preferred.Fast_Rep_String=0x1",
            "x86.cpu_features.preferred.Prefer_PMINUB_for_stringop=0x1",
            "x86.cpu_features.preferred.AVX_Fast_Unaligned_Load=0x1",
            "x86.cpu_features.preferred.Prefer_No_AVX512=0x1",
            "x86.cpu_features.preferred.Prefer_No_VZEROUPPER=0x0",
            "x86.cpu_features.isa_1=0x7",
            "x86.cpu_features.xsave_state_size=0x380",
            "x86.cpu_features.xsave_state_full_size=0x380",
            "x86.cpu_features.data_cache_size=0x8000",
            "x86.cpu_features.shared_cache_size=0x800000",
            "x86.cpu_features.non_temporal_threshold=0x200000",
            "x86.cpu_features.rep_movsb_threshold=0x2000",
            "x86.cpu_features.rep_movsb_stop_threshold=0x200000",
            "x86.cpu_features.rep_stosb_threshold=0x800",
            "x86.cpu_features.level1_icache_size=0x8000",
            "x86.cpu_features.level1_dcache_assoc=0x8",
            "x86.cpu_features.level2_cache_size=0x40000",
            "x86.cpu_features.level2_cache_assoc=0x4",
            "x86.cpu_features.level3_cache_size=0x800000",
            "x86.cpu_features.level3_cache_assoc=0x10",
            "x86.cpu_features.level3_cache_linesize=0x40",
            "x86.cpu_features.level4_cache_size=0xffffffffffffffff",
        ] {
            has_line(&out, l);
        }
        assert_eq!(init.hwcap, 2);
        assert_eq!(init.platform, Some(&b"haswell\0"[..]));
        assert!(t.0.contains(&("glibc.cpu.x86_rep_movsb_threshold".into(), 0x2000, 256, u64::MAX)));
        assert!(t.0.contains(&("glibc.cpu.x86_non_temporal_threshold".into(), 0x200000, 0x4040, u64::MAX >> 4)));
    }

    #[test]
    fn intel_leaf2_descriptors() {
        // Leaf 2: 0x2c (L1d 32K), 0x30 (L1i 32K), 0x7d (L2 2M), 0xd8 (L3 4M).
        let mut cpu = skylake();
        cpu.leaves.insert((2, 0), [0x007d_3001, 0x0000_d82c, 0, 0]);
        cpu.leaves.retain(|k, _| k.0 != 4);
        let (out, _, _) = run(&cpu);
        for l in [
            "x86.cpu_features.level1_dcache_size=0x8000",
            "x86.cpu_features.level1_dcache_linesize=0x40",
            "x86.cpu_features.level1_icache_size=0x8000",
            "x86.cpu_features.level2_cache_size=0x200000",
            "x86.cpu_features.level2_cache_assoc=0x8",
            "x86.cpu_features.level3_cache_size=0x400000",
            "x86.cpu_features.level3_cache_assoc=0x8",
            "x86.cpu_features.level4_cache_size=0x0",
        ] {
            has_line(&out, l);
        }
    }

    #[test]
    fn unknown_vendor_has_no_leaf_1() {
        let mut cpu = skylake();
        cpu.leaves.insert((0, 0), [0x16, 1, 2, 3]);
        let (out, init, _) = run(&cpu);
        for l in [
            "x86.cpu_features.basic.kind=0x4",
            "x86.cpu_features.features[0x0].cpuid[0x0]=0x0",
            "x86.cpu_features.preferred.I686=0x0",
            "x86.cpu_features.xsave_state_size=0x0",
            "x86.cpu_features.data_cache_size=0xffffffffffffffff",
            "x86.cpu_features.non_temporal_threshold=0x4040",
            "x86.cpu_features.level2_cache_size=0xffffffffffffffff",
        ] {
            has_line(&out, l);
        }
        assert_eq!(init.platform, None);
    }

    #[test]
    fn zhaoxin_keeps_stepping_zero() {
        let mut cpu = skylake();
        cpu.leaves.insert((0, 0), [0x16, 0x746e_6543, 0x736c_7561, 0x4872_7561]);
        cpu.leaves.insert((1, 0), [0x0000_06f3, 0x0010_0800, bits(&[27, 28]), bits(&[28])]);
        let (out, _, _) = run(&cpu);
        for l in ["x86.cpu_features.basic.kind=0x3", "x86.cpu_features.basic.model=0xf", "x86.cpu_features.basic.stepping=0x0", "x86.cpu_features.preferred.Slow_SSE4_2=0x1", "x86.cpu_features.level3_cache_size=0x800000", "x86.cpu_features.level4_cache_size=0xffffffffffffffff"] {
            has_line(&out, l);
        }
    }

    /// Any CPUID answers, for every vendor: no panic, no hang.
    #[test]
    fn arbitrary_cpuid_answers() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u32
        };
        let vendors = [[0x756e_6547, 0x6c65_746e, 0x4965_6e69], [0x6874_7541, 0x444d_4163, 0x6974_6e65], [0x746e_6543, 0x736c_7561, 0x4872_7561], [1, 2, 3]];
        for round in 0..400 {
            let v = vendors[round % 4];
            let mut l = HashMap::new();
            l.insert((0, 0), [next() % 0x30, v[0], v[1], v[2]]);
            for leaf in [1, 2, 7, 0xb, 0xd, 0x14, 0x19, 0x8000_0000, 0x8000_0001, 0x8000_0005, 0x8000_0006, 0x8000_0008, 0x8000_001d] {
                for sub in 0..4 {
                    l.insert((leaf, sub), [next(), next(), next(), next()]);
                }
            }
            // Leaf 4 and 0xb never ending, sometimes.
            for sub in 0..if round % 3 == 0 { 300 } else { 3 } {
                l.insert((4, sub), [next() | 1, next(), next(), next()]);
                l.insert((0xb, sub), [next(), next() | 1, 0x300, next()]);
            }
            let _ = run(&Fake { leaves: l, xcr0: u64::from(next()) });
        }
    }

    #[test]
    fn hwcaps_items() {
        let k = Known::of(&BUILD).unwrap();
        let cpu = skylake();
        let mut s = State::new(&k, &cpu);
        s.init_cpu_features(&mut Recorded::default());
        assert!(s.usable(AVX2) && s.usable(ERMS));
        s.set_hwcaps(b"-AVX2,,-,-NOSUCH,ERMS,-ERMS,Slow_BSF,-Fast_Rep_String,MathVec_Prefer_No_AVX512,-XSAVEC");
        assert!(!s.usable(AVX2) && !s.usable(ERMS) && !s.usable(XSAVEC));
        assert!(s.preferred(Pref::SlowBsf) && !s.preferred(Pref::FastRepString));
        // Turned on only where AVX512F is usable.
        assert!(!s.preferred(Pref::MathVecPreferNoAvx512));
        assert_eq!(s.c.xsave_state_size, u64::from(s.c.xsave_state_full_size));
    }

    /// INTEL_02_KNOWN is this build's intel_02_known, entry for entry (gdb
    /// reads it from ld.so with its debug information; skipped without).
    #[test]
    fn intel_descriptors_are_the_builds() {
        let n = BUILD.constant("INTEL_02_KNOWN_LEN").unwrap() as usize;
        assert_eq!(n, INTEL_02_KNOWN.len());
        let out = std::process::Command::new("gdb").args(["-nx", "-batch", "-ex", "p/x intel_02_known", "/lib64/ld-linux-x86-64.so.2"]).output();
        let Ok(out) = out else { return };
        let text = String::from_utf8_lossy(&out.stdout);
        if !text.contains("idx = ") {
            return; // no debug information here
        }
        let k = Known::of(&BUILD).unwrap();
        let machine = Machine::new();
        let s = State::new(&k, &machine);
        let want: Vec<String> = INTEL_02_KNOWN
            .iter()
            .map(|d| format!("{{idx = {:#x}, assoc = {:#x}, linesize = {:#x}, rel_name = {:#x}, size = {:#x}}}", d.byte, d.assoc, d.linesize, s.cache_rel(d.cache), d.size))
            .collect();
        let got: Vec<String> = text.match_indices("{idx").map(|(i, _)| text[i..].split_inclusive('}').next().unwrap().to_string()).collect();
        assert_eq!(got, want);
    }
}
