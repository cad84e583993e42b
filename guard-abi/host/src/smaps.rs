//! smaps VmFlags per VMA (the `gu` flag: 6.19, 6.18.37+).

use crate::proc_path;
use guard_abi::smaps_vmas;
use std::collections::HashMap;
use std::io;

/// VMA start -> its VmFlags mnemonics, for the VMAs that have a VmFlags line.
pub fn parse_vm_flags(text: &[u8]) -> HashMap<u64, Vec<String>> {
    smaps_vmas(text)
        .filter_map(|v| {
            let flags = v
                .flags?
                .iter()
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect();
            Some((v.entry.start, flags))
        })
        .collect()
}

/// `/proc/PID/smaps`, as [`parse_vm_flags`].
pub fn read_vm_flags(pid: u32) -> io::Result<HashMap<u64, Vec<String>>> {
    Ok(parse_vm_flags(&std::fs::read(proc_path(pid, "smaps"))?))
}
