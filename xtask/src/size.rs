//! `cargo xtask size`: what the token engine costs in flash on the smallest device.
//!
//! Builds `firmware-core/boards/size-probe` once per variant (a cargo feature) and opt-level,
//! reads the section sizes from the ELF and reports every variant's flash size and its
//! delta over the baseline skeleton.

use crate::elf::{self, Sizes};
use crate::{cargo, flag_value, run_checked, target_dir, workspace_root};
use anyhow::{bail, Context, Result};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The probe is built for the Cortex-M0 (micro:bit), the tightest of the boards.
const TARGET: &str = "thumbv6m-none-eabi";
const PACKAGE: &str = "size-probe";
const OPT_LEVELS: [&str; 2] = ["s", "z"];

/// One build of the probe, selected by a cargo feature of `size-probe`.
#[derive(Debug)]
struct Variant {
    /// Cargo feature of `size-probe` (and the variant's name in the report).
    feature: &'static str,
    /// What the delta over the baseline measures, and its budget in bytes (None for the
    /// baseline itself).
    delta: Option<(&'static str, u64)>,
}

/// The variants, baseline first. To measure more of the firmware, add a feature to
/// `size-probe` and a row here; every row after the baseline gets its own delta line.
const VARIANTS: &[Variant] = &[
    Variant {
        feature: "baseline",
        delta: None,
    },
    Variant {
        feature: "decoder",
        delta: Some(("SipHash + decoder", 2 * 1024)),
    },
    // Next: `device` (PAYG state machine + storage + UART protocol), budget 4 KiB:
    // Variant { feature: "device", delta: Some(("decoder + PAYG + storage + protocol", 4 * 1024)) },
];

#[derive(Debug, Default)]
pub(crate) struct Options {
    json: bool,
    check: bool,
    symbols: usize,
}

impl Options {
    pub(crate) fn parse(args: &[String]) -> Result<Self> {
        let mut o = Options::default();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--json" => o.json = true,
                "--check" => o.check = true,
                "--symbols" => o.symbols = flag_value("--symbols", it.next())?,
                other => bail!("size: unknown option `{other}`"),
            }
        }
        Ok(o)
    }
}

#[derive(Debug)]
struct Image {
    variant: &'static Variant,
    opt: &'static str,
    elf: PathBuf,
    sizes: Sizes,
}

#[derive(Debug)]
struct Delta {
    label: &'static str,
    variant: &'static str,
    opt: &'static str,
    bytes: i64,
    budget: u64,
    smallest: bool,
}

pub(crate) fn run(opts: Options) -> Result<()> {
    let boards = workspace_root().join("firmware-core").join("boards");
    let out_dir = target_dir().join("boards");
    let keep = out_dir.join("size-probe-images");
    std::fs::create_dir_all(&keep).with_context(|| format!("creating {}", keep.display()))?;

    let mut images = Vec::new();
    for opt in OPT_LEVELS {
        for variant in VARIANTS {
            let mut cmd = cargo();
            cmd.current_dir(&boards)
                .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", opt)
                .args([
                    "build",
                    "--release",
                    "--package",
                    PACKAGE,
                    "--target",
                    TARGET,
                ])
                .args(["--no-default-features", "--features", variant.feature])
                .arg("--manifest-path")
                .arg(boards.join("Cargo.toml"))
                .arg("--target-dir")
                .arg(&out_dir);
            run_checked(&mut cmd)?;
            let built = out_dir.join(TARGET).join("release").join(PACKAGE);
            let elf = keep.join(format!("{}-{opt}.elf", variant.feature));
            std::fs::copy(&built, &elf)
                .with_context(|| format!("copying {} to {}", built.display(), elf.display()))?;
            let sizes = Sizes::of(&elf::sections(&elf)?);
            images.push(Image {
                variant,
                opt,
                elf,
                sizes,
            });
        }
    }

    let deltas = deltas(&images);
    let over: Vec<&Delta> = deltas
        .iter()
        .filter(|d| d.smallest && d.bytes > d.budget as i64)
        .collect();

    if opts.json {
        println!("{}", json(&images, &deltas));
    } else {
        print!("{}", table(&images, &deltas));
    }

    // Where the bytes go: the largest symbols of each over-budget (or requested) variant
    // that the baseline does not have, at the opt-level that came out smaller.
    let wanted = if opts.symbols > 0 { opts.symbols } else { 25 };
    for d in &deltas {
        let is_over = over.iter().any(|o| std::ptr::eq(*o, d));
        if !d.smallest || !(is_over || opts.symbols > 0) {
            continue;
        }
        let find = |feature: &str| {
            images
                .iter()
                .find(|i| i.variant.feature == feature && i.opt == d.opt)
                .map(|i| i.elf.as_path())
        };
        if let (Some(base), Some(this)) = (find("baseline"), find(d.variant)) {
            let listing = top_symbols(this, base, wanted)?;
            let out = format!(
                "\nlargest symbols of `{}` at opt-level \"{}\" not in the baseline:\n{listing}",
                d.variant, d.opt
            );
            if opts.json {
                eprint!("{out}");
            } else {
                print!("{out}");
            }
        }
    }

    if opts.check && !over.is_empty() {
        let names: Vec<String> = over
            .iter()
            .map(|d| format!("{} = {} B > {} B", d.label, d.bytes, d.budget))
            .collect();
        bail!("over budget: {}", names.join("; "));
    }
    Ok(())
}

fn deltas(images: &[Image]) -> Vec<Delta> {
    let mut out: Vec<Delta> = Vec::new();
    for variant in VARIANTS {
        let Some((label, budget)) = variant.delta else {
            continue;
        };
        let first = out.len();
        for opt in OPT_LEVELS {
            let flash = |feature: &str| {
                images
                    .iter()
                    .find(|i| i.variant.feature == feature && i.opt == opt)
                    .map(|i| i.sizes.flash as i64)
            };
            if let (Some(base), Some(this)) = (flash("baseline"), flash(variant.feature)) {
                out.push(Delta {
                    label,
                    variant: variant.feature,
                    opt,
                    bytes: this - base,
                    budget,
                    smallest: false,
                });
            }
        }
        let best = out
            .get(first..)
            .and_then(|ds| ds.iter().map(|d| d.bytes).min());
        if let Some(best) = best {
            if let Some(d) = out.iter_mut().skip(first).find(|d| d.bytes == best) {
                d.smallest = true;
            }
        }
    }
    out
}

fn table(images: &[Image], deltas: &[Delta]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\nsize-probe on {TARGET} (release: lto, codegen-units=1, panic=abort)\n\
         flash = .vector_table + .text + .rodata + .data; ram = .data + .bss (no stack)\n"
    );
    let _ = writeln!(
        s,
        "{:<10} {:>4} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}",
        "variant", "opt", ".vector", ".text", ".rodata", ".data", "flash", "ram"
    );
    for i in images {
        let z = &i.sizes;
        let _ = writeln!(
            s,
            "{:<10} {:>4} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}",
            i.variant.feature,
            format!("\"{}\"", i.opt),
            z.vector_table,
            z.text,
            z.rodata,
            z.data,
            z.flash,
            z.ram
        );
    }
    let mut label = "";
    for d in deltas {
        if d.label != label {
            label = d.label;
            let _ = writeln!(
                s,
                "\n{} ({} - baseline), budget {} B:",
                d.label, d.variant, d.budget
            );
        }
        let verdict = if d.bytes <= d.budget as i64 {
            "within budget"
        } else {
            "OVER BUDGET"
        };
        let _ = writeln!(
            s,
            "  opt-level \"{}\": {:>6} B  ({:.2} KiB, {verdict}){}",
            d.opt,
            d.bytes,
            d.bytes as f64 / 1024.0,
            if d.smallest { "  <- smaller" } else { "" }
        );
    }
    s
}

fn json(images: &[Image], deltas: &[Delta]) -> String {
    let imgs: Vec<String> = images
        .iter()
        .map(|i| {
            let z = &i.sizes;
            format!(
                "{{\"variant\":\"{}\",\"opt_level\":\"{}\",\"vector_table\":{},\"text\":{},\
                 \"rodata\":{},\"data\":{},\"bss\":{},\"flash\":{},\"ram\":{}}}",
                i.variant.feature,
                i.opt,
                z.vector_table,
                z.text,
                z.rodata,
                z.data,
                z.bss,
                z.flash,
                z.ram
            )
        })
        .collect();
    let ds: Vec<String> = deltas
        .iter()
        .map(|d| {
            format!(
                "{{\"label\":\"{}\",\"variant\":\"{}\",\"opt_level\":\"{}\",\"bytes\":{},\
                 \"budget\":{},\"within_budget\":{},\"smallest\":{}}}",
                d.label,
                d.variant,
                d.opt,
                d.bytes,
                d.budget,
                d.bytes <= d.budget as i64,
                d.smallest
            )
        })
        .collect();
    format!(
        "{{\"target\":\"{TARGET}\",\"images\":[{}],\"deltas\":[{}]}}",
        imgs.join(","),
        ds.join(",")
    )
}

/// `llvm-nm --size-sort` of `elf` less what `baseline` has too, largest first.
fn top_symbols(elf: &Path, baseline: &Path, n: usize) -> Result<String> {
    let nm = llvm_tool("llvm-nm")?;
    let read = |path: &Path| -> Result<Vec<(u64, char, String)>> {
        let out = Command::new(&nm)
            .args(["--print-size", "--size-sort", "--demangle", "--radix=d"])
            .arg(path)
            .output()
            .with_context(|| format!("running {}", nm.display()))?;
        if !out.status.success() {
            bail!("{} failed on {}", nm.display(), path.display());
        }
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                let mut f = l.splitn(4, ' ');
                let _addr = f.next()?;
                let size = f.next()?.parse().ok()?;
                let kind = f.next()?.chars().next()?;
                Some((size, kind, f.next()?.to_string()))
            })
            .collect())
    };
    let base: HashMap<String, u64> = read(baseline)?
        .into_iter()
        .map(|s| (strip_hash(&s.2).to_string(), s.0))
        .collect();
    // Symbols the baseline lacks, and those that grew (e.g. `main` with the decoder inlined).
    let mut syms: Vec<_> = read(elf)?
        .into_iter()
        // .bss symbols take RAM, not flash.
        .filter(|s| !matches!(s.1, 'b' | 'B'))
        .filter_map(|(size, kind, name)| {
            let before = base.get(strip_hash(&name)).copied();
            match before {
                Some(b) if b >= size => None,
                _ => Some((size - before.unwrap_or(0), kind, name, before)),
            }
        })
        .collect();
    syms.sort_by_key(|s| std::cmp::Reverse(s.0));
    let total: u64 = syms.iter().map(|s| s.0).sum();
    let mut s = String::new();
    for (size, kind, name, before) in syms.iter().take(n) {
        let grew = before.map_or_else(String::new, |b| format!("  (grew from {b} B)"));
        let _ = writeln!(s, "  {size:>6}  {kind}  {name}{grew}");
    }
    let _ = writeln!(
        s,
        "  ({} symbols, {total} B in all; t = code, r = constants, d = data)",
        syms.len()
    );
    Ok(s)
}

/// `foo::bar::h0123456789abcdef` without the hash, which differs between builds.
fn strip_hash(name: &str) -> &str {
    match name.rsplit_once("::h") {
        Some((head, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
            head
        }
        _ => name,
    }
}

/// A binary of the `llvm-tools` component of the active toolchain.
fn llvm_tool(name: &str) -> Result<PathBuf> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let query = |args: &[&str]| -> Result<String> {
        let out = Command::new(&rustc)
            .current_dir(workspace_root())
            .args(args)
            .output()
            .context("running rustc")?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let sysroot = query(&["--print", "sysroot"])?;
    let host = query(&["-vV"])?
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        .context("rustc -vV printed no host")?;
    let path = PathBuf::from(sysroot.trim())
        .join("lib/rustlib")
        .join(host.trim())
        .join("bin")
        .join(name);
    if !path.exists() {
        bail!(
            "{} not found: install it with `rustup component add llvm-tools`",
            path.display()
        );
    }
    Ok(path)
}
