//! ELF: raw layouts (`pod`, the only place bytes become structs) and
//! bounds-checked views built on them.
pub mod dynamic;
pub mod header;
pub mod image;
pub mod pod;
pub mod symbols;
