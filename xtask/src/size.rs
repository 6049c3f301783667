//! `cargo xtask size`: what the token engine and the device logic cost on the smallest device.
//!
//! Builds `firmware-core/boards/size-probe` once per variant (a cargo feature) and opt-level,
//! reads the section sizes from the ELF and reports every variant's flash size, its delta
//! over the baseline skeleton, and for the `device` variant its RAM state and whether any
//! `core::fmt` code was linked.
//!
//! `--check` fails only on an *enforced* budget (one that has been reached and must stay
//! reached): SipHash + decoder ≤ 2 KiB at the smaller of the two opt-levels. The device
//! budgets (4 KiB flash, 256 B RAM state) are targets: reported, never failing.

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

/// A size limit for the flash delta of a variant over the baseline.
#[derive(Debug)]
struct Budget {
    /// What the delta measures.
    label: &'static str,
    bytes: u64,
    /// Whether `--check` fails when the smaller of the opt-levels exceeds it. Only for
    /// budgets that are met and must stay met; the others are targets, reported only.
    enforced: bool,
}

/// The RAM state of a variant: a `.bss` symbol whose size is the state, and its target.
#[derive(Debug)]
struct State {
    symbol: &'static str,
    what: &'static str,
    target: u64,
}

/// One build of the probe, selected by a cargo feature of `size-probe`.
#[derive(Debug)]
struct Variant {
    /// Cargo feature of `size-probe` (and the variant's name in the report).
    feature: &'static str,
    /// The budget of the delta over the baseline (None for the baseline itself).
    delta: Option<Budget>,
    state: Option<State>,
    /// Report the `core::fmt` and `core::panicking` symbols linked into this variant (the
    /// device should have none: no formatting, no reachable panic).
    no_fmt: bool,
}

/// The variants, baseline first. To measure more of the firmware, add a feature to
/// `size-probe` and a row here; every row after the baseline gets its own delta line.
const VARIANTS: &[Variant] = &[
    Variant {
        feature: "baseline",
        delta: None,
        state: None,
        no_fmt: false,
    },
    Variant {
        feature: "decoder",
        delta: Some(Budget {
            label: "SipHash + decoder",
            bytes: 2 * 1024,
            enforced: true,
        }),
        state: None,
        no_fmt: false,
    },
    Variant {
        feature: "device",
        delta: Some(Budget {
            label: "device logic (decoder + PAYG + storage + protocol)",
            bytes: 4 * 1024,
            enforced: false,
        }),
        state: Some(State {
            symbol: "APP",
            what: "size_of::<App<Eeprom>>()",
            target: 256,
        }),
        no_fmt: true,
    },
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
    /// Size of the variant's state symbol, when it has one.
    state: Option<u64>,
    /// `core::fmt` and `core::panicking` symbols linked in (only looked for when the
    /// variant asks).
    fmt: Vec<String>,
}

#[derive(Debug)]
struct Delta {
    label: &'static str,
    variant: &'static str,
    opt: &'static str,
    bytes: i64,
    budget: u64,
    enforced: bool,
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
            let (state, fmt) = if variant.state.is_some() || variant.no_fmt {
                let syms = nm(&elf)?;
                let state = variant.state.as_ref().and_then(|st| {
                    syms.iter()
                        .find(|(_, _, name)| name == st.symbol)
                        .map(|s| s.0)
                });
                let fmt = syms
                    .iter()
                    .filter(|(_, kind, name)| {
                        // Formatting code, and the panic entry points (a linked panic path
                        // means some input-reachable check can panic).
                        (name.contains("core::fmt") || name.contains("core::panicking"))
                            && !matches!(kind, 'b' | 'B')
                    })
                    .map(|(size, _, name)| format!("{size} B {name}"))
                    .collect();
                (state, if variant.no_fmt { fmt } else { Vec::new() })
            } else {
                (None, Vec::new())
            };
            images.push(Image {
                variant,
                opt,
                elf,
                sizes,
                state,
                fmt,
            });
        }
    }

    let deltas = deltas(&images);
    let over: Vec<&Delta> = deltas
        .iter()
        .filter(|d| d.smallest && d.bytes > d.budget as i64)
        .collect();
    let failing: Vec<&Delta> = over.iter().copied().filter(|d| d.enforced).collect();

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

    if opts.check && !failing.is_empty() {
        let names: Vec<String> = failing
            .iter()
            .map(|d| format!("{} = {} B > {} B", d.label, d.bytes, d.budget))
            .collect();
        bail!("over an enforced budget: {}", names.join("; "));
    }
    Ok(())
}

fn deltas(images: &[Image]) -> Vec<Delta> {
    let mut out: Vec<Delta> = Vec::new();
    for variant in VARIANTS {
        let Some(Budget {
            label,
            bytes: budget,
            enforced,
        }) = variant.delta
        else {
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
                    enforced,
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
                "\n{} ({} - baseline), {} {} B:",
                d.label,
                d.variant,
                if d.enforced { "budget" } else { "target" },
                d.budget
            );
        }
        let verdict = match (d.bytes <= d.budget as i64, d.enforced) {
            (true, true) => "within budget",
            (true, false) => "target met",
            (false, true) => "OVER BUDGET",
            (false, false) => "over target",
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
    for i in images
        .iter()
        .filter(|i| i.variant.state.is_some() || i.variant.no_fmt)
    {
        let _ = writeln!(
            s,
            "\n{} at opt-level \"{}\": whole image {} B flash ({:.2} KiB: cortex-m-rt + \
             device logic, no HAL or drivers), {} B static RAM (.data + .bss, probe buffers \
             included)",
            i.variant.feature,
            i.opt,
            i.sizes.flash,
            i.sizes.flash as f64 / 1024.0,
            i.sizes.ram
        );
        if let Some(st) = &i.variant.state {
            match i.state {
                Some(bytes) => {
                    let verdict = if bytes <= st.target {
                        "target met"
                    } else {
                        "over target"
                    };
                    let _ = writeln!(
                        s,
                        "  RAM state {} = {bytes} B (target {} B, {verdict})",
                        st.what, st.target
                    );
                }
                None => {
                    let _ = writeln!(s, "  RAM state: symbol `{}` not found", st.symbol);
                }
            }
        }
        if i.variant.no_fmt {
            if i.fmt.is_empty() {
                let _ = writeln!(s, "  core::fmt / core::panicking symbols: none");
            } else {
                let _ = writeln!(
                    s,
                    "  core::fmt / core::panicking symbols: {}",
                    i.fmt.join(", ")
                );
            }
        }
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
                 \"rodata\":{},\"data\":{},\"bss\":{},\"flash\":{},\"ram\":{},\
                 \"state\":{},\"fmt_symbols\":{}}}",
                i.variant.feature,
                i.opt,
                z.vector_table,
                z.text,
                z.rodata,
                z.data,
                z.bss,
                z.flash,
                z.ram,
                i.state
                    .map_or_else(|| "null".to_string(), |b| b.to_string()),
                i.fmt.len()
            )
        })
        .collect();
    let ds: Vec<String> = deltas
        .iter()
        .map(|d| {
            format!(
                "{{\"label\":\"{}\",\"variant\":\"{}\",\"opt_level\":\"{}\",\"bytes\":{},\
                 \"budget\":{},\"enforced\":{},\"within_budget\":{},\"smallest\":{}}}",
                d.label,
                d.variant,
                d.opt,
                d.bytes,
                d.budget,
                d.enforced,
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

/// `llvm-nm --print-size` of `elf`: (size, kind, demangled name) per sized symbol.
fn nm(path: &Path) -> Result<Vec<(u64, char, String)>> {
    let nm = llvm_tool("llvm-nm")?;
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
}

/// `llvm-nm --size-sort` of `elf` less what `baseline` has too, largest first.
fn top_symbols(elf: &Path, baseline: &Path, n: usize) -> Result<String> {
    let base: HashMap<String, u64> = nm(baseline)?
        .into_iter()
        .map(|s| (strip_hash(&s.2).to_string(), s.0))
        .collect();
    // Symbols the baseline lacks, and those that grew (e.g. `main` with the decoder inlined).
    let mut syms: Vec<_> = nm(elf)?
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
