//! Puts this board's `memory.x` on the linker search path and links with cortex-m-rt's
//! `link.x`, so no `.cargo/config.toml` (which depends on the working directory) is needed.

use std::path::PathBuf;

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
    let memory = include_bytes!("memory.x");
    if let Err(e) = std::fs::write(out.join("memory.x"), memory) {
        println!("cargo::error=could not write memory.x to OUT_DIR: {e}");
        return;
    }
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rustc-link-arg-bins=-Tlink.x");
    println!("cargo:rerun-if-changed=memory.x");
    println!("cargo:rerun-if-changed=build.rs");
}
