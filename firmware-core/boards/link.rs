// The build script every board crate shares (each `build.rs` is `include!("../link.rs")`):
// put the crate's `memory.x` (and `device.x`, where the crate has one rather than a PAC
// providing it) on the linker search path and link with cortex-m-rt's `link.x`, so no
// `.cargo/config.toml` (which depends on the working directory) is needed.

use std::path::PathBuf;

fn main() {
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
    for name in ["memory.x", "device.x"] {
        let src = dir.join(name);
        println!("cargo:rerun-if-changed={name}");
        if !src.exists() && name == "device.x" {
            continue;
        }
        if let Err(e) = std::fs::copy(&src, out.join(name)) {
            println!("cargo::error=could not copy {} to OUT_DIR: {e}", src.display());
            return;
        }
    }
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rustc-link-arg-bins=-Tlink.x");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=../link.rs");
}
