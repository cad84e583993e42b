//! x86 CPU feature detection and cache thresholds, as glibc 2.36's ld.so
//! computes them into `_rtld_global_ro._dl_x86_cpu_features` (libc's IFUNC
//! resolvers and memcpy's thresholds read them). Skeleton: being written.

use super::Build;
use super::layout::Missing;

/// What CPU initialisation reads from and writes back to the tunables
/// (glibc.cpu.*), implemented by `tunables::Tunables`.
pub trait CpuTunables {
    /// The value of a numeric tunable the user set (None: not set).
    fn num(&self, name: &str) -> Option<u64>;
    /// The value of a string tunable the user set.
    fn string(&self, name: &str) -> Option<&[u8]>;
    /// TUNABLE_SET_WITH_BOUNDS: record the value and bounds in effect.
    fn set_bounds(&mut self, name: &str, val: u64, min: u64, max: u64);
}

/// What init_cpu_features sets outside cpu_features.
pub struct CpuInit {
    /// GLRO(dl_hwcap).
    pub hwcap: u64,
    /// GLRO(dl_platform), NUL-terminated, if glibc would set one.
    pub platform: Option<&'static [u8]>,
}

/// Fill `cpu` (a `struct cpu_features` of `build`) as glibc's
/// init_cpu_features does.
pub fn init(build: &'static Build, cpu: &mut [u8], t: &mut dyn CpuTunables) -> Result<CpuInit, Missing> {
    let _ = (build, cpu, t);
    Ok(CpuInit { hwcap: 0, platform: None })
}

/// Print the `x86.cpu_features.*` lines of `ld.so --list-diagnostics`.
pub fn print_diagnostics(build: &'static Build, cpu: &[u8]) {
    let _ = (build, cpu);
}
