//! Puts this board's `memory.x` and `device.x` on the linker search path and links with
//! cortex-m-rt's `link.x`, so no `.cargo/config.toml` (which depends on the working
//! directory) is needed.

use std::path::PathBuf;

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
    for (name, bytes) in [
        ("memory.x", include_bytes!("memory.x").as_slice()),
        ("device.x", include_bytes!("device.x").as_slice()),
    ] {
        if let Err(e) = std::fs::write(out.join(name), bytes) {
            println!("cargo::error=could not write {name} to OUT_DIR: {e}");
            return;
        }
        println!("cargo:rerun-if-changed={name}");
    }
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rustc-link-arg-bins=-Tlink.x");
    println!("cargo:rerun-if-changed=build.rs");
}
