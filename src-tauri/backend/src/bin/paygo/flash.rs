//! `paygo probes`, `paygo chips`, `paygo flash`: put firmware on a board with a debug probe.

use crate::print_json;
use clap::Args;
use paygo::flash::{self, FlashProgress, FlashRequest, PhaseState, ProbeSelector};
use paygo::Error;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

#[derive(Args)]
pub struct ChipsArgs {
    /// Part of a chip name, any case (e.g. stm32f103, nrf51822); empty lists every chip.
    #[arg(default_value = "")]
    search: String,
    /// Treat SEARCH as one chip's name and show its flash regions, sectors and RAM.
    #[arg(long)]
    info: bool,
}

#[derive(Args)]
pub struct FlashArgs {
    /// Chip name (see `paygo chips`), e.g. nRF51822_xxAA or STM32F103C8.
    #[arg(long)]
    chip: String,
    /// Firmware ELF (e.g. target/firmware/<board>.elf).
    #[arg(long)]
    image: PathBuf,
    /// USB serial number of the probe (see `paygo probes`); needed when several are connected.
    #[arg(long, conflicts_with = "probe_index")]
    probe: Option<String>,
    /// Position of the probe in `paygo probes` (0-based), instead of --probe.
    #[arg(long)]
    probe_index: Option<usize>,
    /// Skip reading the flash back.
    #[arg(long)]
    no_verify: bool,
    /// Leave the chip halted instead of resetting it into the new firmware.
    #[arg(long)]
    no_reset: bool,
    /// Only read the image and check it fits the chip; touch no probe.
    #[arg(long)]
    check: bool,
}

pub fn probes(json: bool) -> Result<(), Error> {
    let list = flash::list_probes();
    if json {
        print_json(&serde_json::json!({ "probes": list }));
    } else if list.is_empty() {
        println!("no debug probe found: {}", flash::NO_PROBE_HINT);
    } else {
        for (i, p) in list.iter().enumerate() {
            println!(
                "#{i} {} [{}] {:04x}:{:04x} serial {}{}",
                p.identifier,
                p.kind,
                p.vid,
                p.pid,
                p.serial.as_deref().unwrap_or("(none)"),
                if p.accessible {
                    ""
                } else {
                    " (access denied: install the probe-rs udev rules)"
                }
            );
        }
    }
    Ok(())
}

pub fn chips(args: ChipsArgs, json: bool) -> Result<(), Error> {
    if args.info {
        let info = flash::chip_info(&args.search)?;
        if json {
            print_json(&info);
        } else {
            println!(
                "{} ({}), cores {}",
                info.name,
                info.family,
                info.cores.join(", ")
            );
            for r in &info.flash {
                let sectors = r
                    .sectors
                    .iter()
                    .map(|g| format!("{} B from {:#010x}", g.size, g.start))
                    .collect::<Vec<_>>()
                    .join(", ");
                println!(
                    "flash {:#010x}..{:#010x} {} KiB, sectors {}",
                    r.start,
                    r.end,
                    (r.end - r.start) / 1024,
                    if sectors.is_empty() {
                        "unknown".into()
                    } else {
                        sectors
                    }
                );
            }
            for r in &info.ram {
                println!(
                    "ram   {:#010x}..{:#010x} {} KiB",
                    r.start,
                    r.end,
                    (r.end - r.start) / 1024
                );
            }
        }
        return Ok(());
    }
    let found = flash::search_chips(&args.search);
    if json {
        print_json(&serde_json::json!({ "query": args.search, "chips": found }));
    } else if found.is_empty() {
        println!("no chip matches {:?}", args.search);
    } else {
        for name in &found {
            println!("{name}");
        }
    }
    Ok(())
}

pub fn run(args: FlashArgs, json: bool) -> Result<(), Error> {
    let request = FlashRequest {
        probe: match (args.probe, args.probe_index) {
            (Some(serial), _) => ProbeSelector::Serial(serial),
            (None, Some(i)) => ProbeSelector::Index(i),
            (None, None) => ProbeSelector::Any,
        },
        chip: args.chip,
        image: args.image,
        verify: !args.no_verify,
        reset: !args.no_reset,
    };
    if args.check {
        let image = flash::load_image(&request.image)?;
        let chip = flash::chip_info(&request.chip)?;
        flash::check_fits(&image, &chip)?;
        if json {
            print_json(&serde_json::json!({ "image": image, "chip": chip.name, "fits": true }));
        } else {
            println!(
                "{}: {} bytes in {} segment(s), entry {:#010x}; fits {} ({} KiB flash)",
                image.path.display(),
                image.bytes(),
                image.segments.len(),
                image.entry,
                chip.name,
                chip.flash_bytes() / 1024
            );
        }
        return Ok(());
    }

    let cancel = Arc::new(AtomicBool::new(false));
    let presses = Arc::new(AtomicUsize::new(0));
    {
        let (cancel, presses) = (Arc::clone(&cancel), Arc::clone(&presses));
        ctrlc::set_handler(move || {
            if presses.fetch_add(1, Ordering::Relaxed) == 0 {
                cancel.store(true, Ordering::Relaxed);
                eprintln!("\ncancelling after the current step (Ctrl-C again to abort now)");
            } else {
                std::process::exit(130);
            }
        })
        .map_err(|e| Error::io("installing the signal handler", e))?;
    }

    let mut bar = Bar::new(json);
    let report = flash::flash(&request, &mut |event| bar.show(&event), &cancel);
    bar.end();
    let report = report?;
    if json {
        print_json(&report);
    } else {
        println!(
            "flashed {} ({} bytes) into {}{}{} in {:.1} s",
            report.image.display(),
            report.image_bytes,
            report.chip,
            if report.verified { ", verified" } else { "" },
            if report.reset { ", reset" } else { "" },
            report.seconds
        );
    }
    Ok(())
}

/// Progress on stderr: JSON lines with --json; a redrawn bar on a terminal; else one line per
/// phase start and end.
struct Bar {
    json: bool,
    tty: bool,
    open: bool,
}

impl Bar {
    fn new(json: bool) -> Self {
        Bar {
            json,
            tty: std::io::stderr().is_terminal(),
            open: false,
        }
    }

    fn show(&mut self, event: &FlashProgress) {
        let mut err = std::io::stderr().lock();
        if self.json {
            if let Ok(line) = serde_json::to_string(event) {
                let _ = writeln!(err, "{line}");
            }
            return;
        }
        if self.open && !matches!(event, FlashProgress::Phase { .. }) {
            let _ = writeln!(err);
            self.open = false;
        }
        match event {
            FlashProgress::Attached { probe, chip } => {
                let _ = writeln!(err, "attached to {chip} through {probe}");
            }
            FlashProgress::Layout {
                sectors,
                erase_bytes,
                pages,
                program_bytes,
            } => {
                let _ = writeln!(
                    err,
                    "plan: erase {sectors} sector(s) ({erase_bytes} B), program {pages} page(s) ({program_bytes} B)"
                );
            }
            FlashProgress::Phase {
                phase,
                state,
                done,
                total,
            } => {
                let name = phase.name();
                if self.tty {
                    let line = match total {
                        Some(t) if *t > 0 => {
                            let filled = ((done * 30) / t).min(30) as usize;
                            format!(
                                "{name:<8}[{}{}] {:>3}% {done}/{t} B",
                                "#".repeat(filled),
                                "-".repeat(30 - filled),
                                (done * 100 / t).min(100)
                            )
                        }
                        _ => format!("{name:<8}{done} B"),
                    };
                    let _ = write!(err, "\r{line}");
                    self.open = true;
                    if matches!(state, PhaseState::Finished | PhaseState::Failed) {
                        let mark = if *state == PhaseState::Failed {
                            " FAILED"
                        } else {
                            ""
                        };
                        let _ = writeln!(err, "{mark}");
                        self.open = false;
                    }
                } else {
                    match state {
                        PhaseState::Started => {
                            let _ = writeln!(err, "{name}...");
                        }
                        PhaseState::Finished => {
                            let _ = writeln!(err, "{name} done ({done} B)");
                        }
                        PhaseState::Failed => {
                            let _ = writeln!(err, "{name} FAILED after {done} B");
                        }
                        PhaseState::Progress => {}
                    }
                }
            }
            FlashProgress::Message { text } => {
                let _ = writeln!(err, "flash algorithm: {text}");
            }
            FlashProgress::Reset => {
                let _ = writeln!(err, "reset: the new firmware is running");
            }
        }
    }

    fn end(&mut self) {
        if self.open {
            eprintln!();
            self.open = false;
        }
    }
}
