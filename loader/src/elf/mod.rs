//! ELF: raw layouts (`pod`, the only place bytes become structs) and
//! bounds-checked views built on them.
pub mod dynamic;
pub mod header;
/// Bounded views of mapped objects: the only reads and writes of their memory.
pub mod image;
pub mod note;
/// The only casts from bytes to structs.
pub mod pod;
pub mod symbols;
