//! Linker setup shared by all boards: see `../link.rs`.

include!("../link.rs");
