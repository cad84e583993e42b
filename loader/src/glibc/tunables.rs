//! GLIBC_TUNABLES, as glibc 2.36's ld.so parses and serves them
//! (`__tunable_get_val`). Skeleton: being written.

use super::Build;

/// The tunables of one process.
pub struct Tunables {
    pub build: &'static Build,
}

impl Tunables {
    /// Parse `GLIBC_TUNABLES` (its value, if set) for `build`.
    pub fn new(build: &'static Build, env: Option<&[u8]>, secure: bool) -> Tunables {
        let _ = (env, secure);
        Tunables { build }
    }

    /// Print them as `ld.so --list-tunables` does.
    pub fn print_list(&self) {}
}

impl super::cpu::CpuTunables for Tunables {
    fn num(&self, _name: &str) -> Option<u64> {
        None
    }
    fn string(&self, _name: &str) -> Option<&[u8]> {
        None
    }
    fn set_bounds(&mut self, _name: &str, _val: u64, _min: u64, _max: u64) {}
}
