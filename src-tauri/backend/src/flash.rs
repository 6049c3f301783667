//! Debug probes, chips and firmware images: flash a device at the factory bench.
//!
//! A thin, typed layer over probe-rs for the `paygo` CLI and the desktop app:
//! - [`list_probes`]: the debug probes on USB (ST-Link, J-Link, CMSIS-DAP, ...);
//! - [`chip_info`] / [`search_chips`]: probe-rs's built-in chip registry (flash regions, sectors,
//!   RAM), loaded once per process;
//! - [`load_image`] / [`check_fits`]: read a firmware ELF and check it against a chip *before*
//!   anything touches the hardware;
//! - [`flash`]: erase, program, verify and reset, with [`FlashProgress`] events and a cancel flag.
//!
//! Every failure is a [`FlashError`] with a stable [`code`](FlashError::code).

use object::elf::{FileHeader32, EM_ARM, PF_R, PF_W, PF_X, PT_LOAD};
use object::read::elf::{FileHeader, ProgramHeader};
use object::Endianness;
use probe_rs::config::{MemoryRegion, Registry, RegistryError};
use probe_rs::flashing::{
    DownloadOptions, ElfLoader, ElfOptions, FlashLayout, FlashProgress as ProbeRsProgress,
    ProgressEvent, ProgressOperation,
};
use probe_rs::probe::list::{Accessibility, Lister, ProbeListItem};
use probe_rs::probe::{DebugProbeInfo, DebugProbeSelector, Probe};
use probe_rs::{Permissions, Session, Target};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

/// Hint shown whenever no probe can be found.
pub const NO_PROBE_HINT: &str = "connect an ST-Link, J-Link or CMSIS-DAP debug probe by USB; \
     on Linux, check that the probe-rs udev rules are installed and re-plug the probe";

/// Flashing errors. Each has a stable [`code`](FlashError::code).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FlashError {
    /// No debug probe is connected (or none is visible to this user).
    #[error("no debug probe found: {NO_PROBE_HINT}")]
    NoProbe,
    /// Probes are connected, but none matches the selector.
    #[error("no debug probe matches {selector} (connected: {available})")]
    ProbeNotFound {
        /// The selector as the user gave it.
        selector: String,
        /// The connected probes, for the message.
        available: String,
    },
    /// Several probes are connected and none was chosen.
    #[error("{count} debug probes are connected; choose one by serial (connected: {available})")]
    ProbeAmbiguous {
        /// How many probes are connected.
        count: usize,
        /// The connected probes, for the message.
        available: String,
    },
    /// The probe was found but could not be opened.
    #[error("cannot open probe {probe}: {message} (is another program using it? on Linux, check the udev rules)")]
    ProbeOpen {
        /// The probe.
        probe: String,
        /// What probe-rs said.
        message: String,
    },
    /// The probe is open but the chip did not answer.
    #[error("cannot attach to {chip}: {message} (is the board powered and are SWDIO, SWCLK and GND wired?)")]
    Attach {
        /// Chip name.
        chip: String,
        /// What probe-rs said.
        message: String,
    },
    /// No chip of that name in the registry.
    #[error("unknown chip {name:?}{}", suggest(.suggestions))]
    UnknownChip {
        /// The name asked for.
        name: String,
        /// Close names, if any.
        suggestions: Vec<String>,
    },
    /// The name is a prefix of several chips.
    #[error("chip name {name:?} is ambiguous: {candidates}")]
    AmbiguousChip {
        /// The name asked for.
        name: String,
        /// The matching chips, for the message.
        candidates: String,
    },
    /// The file is not a usable firmware image.
    #[error("{}: not a usable firmware image: {reason}", .path.display())]
    BadImage {
        /// The image file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A segment of the image lies outside the chip's flash.
    #[error("{} does not fit {chip}: {reason}", .path.display())]
    DoesNotFit {
        /// The image file.
        path: PathBuf,
        /// Chip name.
        chip: String,
        /// Which segment and where the flash is.
        reason: String,
    },
    /// Erasing or programming failed.
    #[error("flashing failed: {0}")]
    FlashFailed(String),
    /// The flash content read back differs from the image.
    #[error("verification failed: the flash content differs from the image")]
    VerifyFailed,
    /// The chip was programmed but could not be reset.
    #[error("the chip was programmed but the reset failed: {0}")]
    ResetFailed(String),
    /// The caller cancelled.
    #[error("cancelled {0}")]
    Cancelled(&'static str),
}

fn suggest(names: &[String]) -> String {
    if names.is_empty() {
        " (try `paygo chips NAME` to search)".into()
    } else {
        format!(" (did you mean {}?)", names.join(", "))
    }
}

impl FlashError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            FlashError::NoProbe => "NO_PROBE",
            FlashError::ProbeNotFound { .. } => "PROBE_NOT_FOUND",
            FlashError::ProbeAmbiguous { .. } => "PROBE_AMBIGUOUS",
            FlashError::ProbeOpen { .. } => "PROBE_OPEN",
            FlashError::Attach { .. } => "ATTACH_FAILED",
            FlashError::UnknownChip { .. } => "UNKNOWN_CHIP",
            FlashError::AmbiguousChip { .. } => "AMBIGUOUS_CHIP",
            FlashError::BadImage { .. } => "BAD_IMAGE",
            FlashError::DoesNotFit { .. } => "IMAGE_DOES_NOT_FIT",
            FlashError::FlashFailed(_) => "FLASH_FAILED",
            FlashError::VerifyFailed => "VERIFY_FAILED",
            FlashError::ResetFailed(_) => "RESET_FAILED",
            FlashError::Cancelled(_) => "CANCELLED",
        }
    }
}

type Result<T, E = FlashError> = std::result::Result<T, E>;

// ---------------------------------------------------------------------------------------------
// Probes

/// A connected debug probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProbeInfo {
    /// Product name as the probe reports it.
    pub identifier: String,
    /// USB vendor id.
    pub vid: u16,
    /// USB product id.
    pub pid: u16,
    /// USB serial number, when the probe has one.
    pub serial: Option<String>,
    /// Driver family (e.g. "ST-LINK", "J-Link", "CMSIS-DAP"); for people, not for matching.
    pub kind: String,
    /// False when the OS denies this user access (on Linux: the udev rules are missing).
    pub accessible: bool,
}

impl ProbeInfo {
    fn from_probe_rs(item: &ProbeListItem) -> Self {
        let info: &DebugProbeInfo = &item.info;
        ProbeInfo {
            identifier: info.identifier.clone(),
            vid: info.vendor_id,
            pid: info.product_id,
            serial: info.serial_number.clone(),
            kind: info.probe_type(),
            accessible: item.accessibility == Accessibility::Accessible,
        }
    }
}

impl std::fmt::Display for ProbeInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {:04x}:{:04x}", self.identifier, self.vid, self.pid)?;
        if let Some(s) = &self.serial {
            write!(f, " serial {s}")?;
        }
        Ok(())
    }
}

/// Which probe to use.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeSelector {
    /// The only connected probe (an error if there are several).
    #[default]
    Any,
    /// The probe with this USB serial number.
    Serial(String),
    /// The n-th probe of [`list_probes`] (0-based).
    Index(usize),
}

impl std::fmt::Display for ProbeSelector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProbeSelector::Any => write!(f, "any probe"),
            ProbeSelector::Serial(s) => write!(f, "serial {s:?}"),
            ProbeSelector::Index(i) => write!(f, "probe #{i}"),
        }
    }
}

/// The debug probes on USB, in probe-rs's order. Never fails: an empty list means none.
pub fn list_probes() -> Vec<ProbeInfo> {
    list_probes_with(&Lister::new())
}

/// [`list_probes`] through a given lister (probe-rs's `Lister::with_lister` takes a custom
/// `integration::ProbeLister`, e.g. one serving fake probes in tests).
pub fn list_probes_with(lister: &Lister) -> Vec<ProbeInfo> {
    lister
        .list_all_with_access()
        .iter()
        .map(ProbeInfo::from_probe_rs)
        .collect()
}

/// Pick one probe of `probes` by `selector`: its index in the list, or the typed error.
pub fn select_probe(probes: &[ProbeInfo], selector: &ProbeSelector) -> Result<usize> {
    if probes.is_empty() {
        return Err(FlashError::NoProbe);
    }
    let available = || {
        probes
            .iter()
            .enumerate()
            .map(|(i, p)| format!("#{i} {p}"))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let not_found = || FlashError::ProbeNotFound {
        selector: selector.to_string(),
        available: available(),
    };
    match selector {
        ProbeSelector::Any if probes.len() == 1 => Ok(0),
        ProbeSelector::Any => Err(FlashError::ProbeAmbiguous {
            count: probes.len(),
            available: available(),
        }),
        ProbeSelector::Index(i) if *i < probes.len() => Ok(*i),
        ProbeSelector::Index(_) => Err(not_found()),
        ProbeSelector::Serial(s) => probes
            .iter()
            .position(|p| {
                p.serial
                    .as_deref()
                    .is_some_and(|x| x.eq_ignore_ascii_case(s))
            })
            .ok_or_else(not_found),
    }
}

/// Find and open the selected probe.
pub fn open_probe(selector: &ProbeSelector) -> Result<(Probe, ProbeInfo)> {
    open_probe_with(&Lister::new(), selector)
}

/// [`open_probe`] through a given lister.
pub fn open_probe_with(lister: &Lister, selector: &ProbeSelector) -> Result<(Probe, ProbeInfo)> {
    let raw = lister.list_all_with_access();
    let infos: Vec<ProbeInfo> = raw.iter().map(ProbeInfo::from_probe_rs).collect();
    let index = select_probe(&infos, selector)?;
    let info = infos[index].clone();
    if !info.accessible {
        return Err(FlashError::ProbeOpen {
            probe: info.to_string(),
            message: "the operating system denies access to it (install the probe-rs udev \
                      rules, then re-plug the probe)"
                .into(),
        });
    }
    let probe = lister
        .open(DebugProbeSelector::from(&raw[index].info))
        .map_err(|e| FlashError::ProbeOpen {
            probe: info.to_string(),
            message: error_chain(&e),
        })?;
    Ok((probe, info))
}

// ---------------------------------------------------------------------------------------------
// Chips

/// probe-rs's built-in chip registry, decoded once per process (~4,400 chips, 0.1-0.2 s).
pub fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(Registry::from_builtin_families)
}

/// What the factory needs to know about a chip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChipInfo {
    /// Full name in the registry (e.g. "STM32F103C8").
    pub name: String,
    /// Chip family (e.g. "STM32F1 Series").
    pub family: String,
    /// CPU cores, e.g. ["armv7m"].
    pub cores: Vec<String>,
    /// Programmable flash (non-volatile) regions, aliases left out.
    pub flash: Vec<FlashRegion>,
    /// RAM regions.
    pub ram: Vec<Region>,
}

impl ChipInfo {
    /// Total programmable flash in bytes.
    pub fn flash_bytes(&self) -> u64 {
        self.flash.iter().map(|r| r.end - r.start).sum()
    }
}

/// A range of addresses, `start..end` (end exclusive).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Region {
    /// Region name in the chip description, if any.
    pub name: Option<String>,
    /// First address.
    pub start: u64,
    /// One past the last address.
    pub end: u64,
}

/// A flash region with its erase geometry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlashRegion {
    /// Region name in the chip description, if any.
    pub name: Option<String>,
    /// First address.
    pub start: u64,
    /// One past the last address.
    pub end: u64,
    /// Erase sector size at `start` (bytes); see `sectors` when sizes vary.
    pub sector_size: Option<u64>,
    /// Groups of equal sectors: from `start`, sectors of `size` bytes until the next group.
    pub sectors: Vec<SectorGroup>,
    /// Program page size (bytes), when a flash algorithm covers the region.
    pub page_size: Option<u32>,
}

/// From `start` on, sectors of `size` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SectorGroup {
    /// Absolute address of the first sector of the group.
    pub start: u64,
    /// Sector size in bytes.
    pub size: u64,
}

fn target(name: &str) -> Result<Target> {
    registry().get_target_by_name(name).map_err(|e| match e {
        RegistryError::ChipNotUnique(..) => {
            let all: Vec<String> = search_chips(name)
                .into_iter()
                .filter(|c| {
                    c.to_ascii_lowercase()
                        .starts_with(&name.to_ascii_lowercase())
                })
                .collect();
            let mut candidates = all.iter().take(8).cloned().collect::<Vec<_>>().join(", ");
            if all.len() > 8 {
                candidates.push_str(&format!(" and {} more", all.len() - 8));
            }
            FlashError::AmbiguousChip {
                name: name.to_string(),
                candidates,
            }
        }
        _ => FlashError::UnknownChip {
            name: name.to_string(),
            suggestions: search_chips(&name.chars().take(7).collect::<String>())
                .into_iter()
                .take(5)
                .collect(),
        },
    })
}

fn family_of(target_name: &str) -> String {
    registry()
        .families()
        .iter()
        .find(|f| {
            f.variants.iter().any(|c| {
                c.name.eq_ignore_ascii_case(target_name)
                    || c.package_variants
                        .iter()
                        .any(|p| p.eq_ignore_ascii_case(target_name))
            })
        })
        .map(|f| f.name.clone())
        .unwrap_or_default()
}

/// Flash regions, RAM and sector sizes of a chip, by name (case-insensitive; a unique
/// prefix such as "nRF51822_xxAA" or "STM32F103C8" is enough).
pub fn chip_info(name: &str) -> Result<ChipInfo> {
    let target = target(name)?;
    Ok(describe(&target))
}

fn describe(target: &Target) -> ChipInfo {
    let mut flash = Vec::new();
    let mut ram = Vec::new();
    for region in &target.memory_map {
        match region {
            MemoryRegion::Nvm(nvm) if !nvm.is_alias => {
                let range = &nvm.range;
                // The flash algorithm covering this region holds the erase geometry.
                let algo = target
                    .flash_algorithms
                    .iter()
                    .filter(|a| {
                        let r = &a.flash_properties.address_range;
                        r.start <= range.start && range.start < r.end
                    })
                    .max_by_key(|a| a.default);
                let (sectors, page_size) = match algo {
                    Some(a) => {
                        let base = a.flash_properties.address_range.start;
                        let mut groups: Vec<SectorGroup> = a
                            .flash_properties
                            .sectors
                            .iter()
                            .map(|s| SectorGroup {
                                start: base + s.address,
                                size: s.size,
                            })
                            .collect();
                        groups.sort_by_key(|g| g.start);
                        // Keep the groups that apply inside this region; the one in force at
                        // `start` is the last one starting at or before it.
                        let first = groups
                            .iter()
                            .rposition(|g| g.start <= range.start)
                            .unwrap_or(0);
                        let groups: Vec<SectorGroup> = groups
                            .into_iter()
                            .skip(first)
                            .filter(|g| g.start < range.end)
                            .map(|g| SectorGroup {
                                start: g.start.max(range.start),
                                size: g.size,
                            })
                            .collect();
                        (groups, Some(a.flash_properties.page_size))
                    }
                    None => (Vec::new(), None),
                };
                flash.push(FlashRegion {
                    name: nvm.name.clone(),
                    start: range.start,
                    end: range.end,
                    sector_size: sectors.first().map(|g| g.size),
                    sectors,
                    page_size,
                });
            }
            MemoryRegion::Ram(r) if !r.is_alias => ram.push(Region {
                name: r.name.clone(),
                start: r.range.start,
                end: r.range.end,
            }),
            _ => {}
        }
    }
    ChipInfo {
        name: target.name.clone(),
        family: family_of(&target.name),
        cores: target
            .cores
            .iter()
            .map(|c| format!("{:?}", c.core_type).to_lowercase())
            .collect(),
        flash,
        ram,
    }
}

/// Chip names for a picker: case-insensitive, names starting with `query` first, then names
/// containing it; each name once. An empty query lists every chip.
pub fn search_chips(query: &str) -> Vec<String> {
    let q = query.trim().to_ascii_lowercase();
    let mut prefix = Vec::new();
    let mut inside = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for family in registry().families() {
        for chip in &family.variants {
            let lower = chip.name.to_ascii_lowercase();
            if !seen.insert(lower.clone()) {
                continue;
            }
            if lower.starts_with(&q) {
                prefix.push(chip.name.clone());
            } else if lower.contains(&q) {
                inside.push(chip.name.clone());
            }
        }
    }
    prefix.sort_unstable();
    inside.sort_unstable();
    prefix.extend(inside);
    prefix
}

// ---------------------------------------------------------------------------------------------
// Images

/// A firmware image read from an ELF file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Image {
    /// The file.
    pub path: PathBuf,
    /// Entry point (reset handler address, Thumb bit included).
    pub entry: u64,
    /// Loadable segments with file content, in file order.
    pub segments: Vec<Segment>,
}

impl Image {
    /// Bytes to program (sum of the segments' file sizes).
    pub fn bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.size).sum()
    }
}

/// One `PT_LOAD` segment: `size` bytes of the file go to `address` (the load address).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Segment {
    /// Load (physical) address: where the bytes are programmed.
    pub address: u64,
    /// Run (virtual) address; differs from `address` for initialised RAM data.
    pub vaddr: u64,
    /// Bytes in the file, i.e. to program.
    pub size: u64,
    /// Bytes in memory (≥ size; the rest is zeroed at start-up).
    pub mem_size: u64,
    /// "r", "w", "x" or "-" for each permission.
    pub flags: String,
}

impl Segment {
    /// One past the last programmed address.
    pub fn end(&self) -> u64 {
        self.address + self.size
    }
}

/// Read and check a firmware ELF: a 32-bit ARM executable with at least one loadable
/// segment whose bytes are all inside the file. Never panics, whatever the bytes.
pub fn load_image(path: impl AsRef<Path>) -> Result<Image> {
    let path = path.as_ref();
    let bad = |reason: String| FlashError::BadImage {
        path: path.to_path_buf(),
        reason,
    };
    let data = std::fs::read(path).map_err(|e| bad(format!("cannot read it: {e}")))?;
    parse_image(path, &data).map_err(bad)
}

/// [`load_image`] on bytes already in memory (`path` is only for messages).
pub fn parse_image(path: &Path, data: &[u8]) -> Result<Image, String> {
    const ELF_MAGIC: &[u8] = b"\x7fELF";
    if !data.starts_with(ELF_MAGIC) {
        return Err(
            "not an ELF file (build the firmware and pass the ELF, not a .bin or .hex)".into(),
        );
    }
    if data.get(4) == Some(&2) {
        return Err("64-bit ELF: expected a 32-bit ARM Cortex-M image".into());
    }
    let header =
        FileHeader32::<Endianness>::parse(data).map_err(|e| format!("damaged ELF header: {e}"))?;
    let endian = header
        .endian()
        .map_err(|e| format!("damaged ELF header: {e}"))?;
    let machine = header.e_machine(endian);
    if machine != EM_ARM {
        return Err(format!(
            "ELF for machine {machine} ({}), expected ARM (40)",
            machine_name(machine)
        ));
    }
    let phdrs = header
        .program_headers(endian, data)
        .map_err(|e| format!("damaged program headers: {e}"))?;
    let mut segments = Vec::new();
    for ph in phdrs {
        if ph.p_type(endian) != PT_LOAD || ph.p_filesz(endian) == 0 {
            continue;
        }
        // Checks the segment's bytes lie inside the file.
        ph.data(endian, data).map_err(|()| {
            format!(
                "segment at {:#010x} runs past the end of the file (truncated?)",
                ph.p_paddr(endian)
            )
        })?;
        let address = u64::from(ph.p_paddr(endian));
        let size = u64::from(ph.p_filesz(endian));
        if address + size > 1 << 32 {
            return Err(format!(
                "segment at {address:#010x} of {size} bytes wraps the 32-bit address space"
            ));
        }
        let f = ph.p_flags(endian);
        let flag = |bit, c| if f & bit != 0 { c } else { '-' };
        segments.push(Segment {
            address,
            vaddr: u64::from(ph.p_vaddr(endian)),
            size,
            mem_size: u64::from(ph.p_memsz(endian)),
            flags: [flag(PF_R, 'r'), flag(PF_W, 'w'), flag(PF_X, 'x')]
                .iter()
                .collect(),
        });
    }
    if segments.is_empty() {
        return Err("no loadable segment with content (an object file, or an empty link?)".into());
    }
    Ok(Image {
        path: path.to_path_buf(),
        entry: u64::from(header.e_entry(endian)),
        segments,
    })
}

fn machine_name(machine: u16) -> &'static str {
    match machine {
        object::elf::EM_386 => "x86",
        object::elf::EM_X86_64 => "x86-64",
        object::elf::EM_AARCH64 => "AArch64",
        object::elf::EM_RISCV => "RISC-V",
        object::elf::EM_XTENSA => "Xtensa",
        _ => "other",
    }
}

/// Check that every segment of `image` lies inside one flash region of `chip`.
pub fn check_fits(image: &Image, chip: &ChipInfo) -> Result<()> {
    let regions = chip
        .flash
        .iter()
        .map(|r| format!("{:#010x}..{:#010x}", r.start, r.end))
        .collect::<Vec<_>>()
        .join(", ");
    for s in &image.segments {
        let (start, end) = (s.address, s.end());
        if chip.flash.iter().any(|r| r.start <= start && end <= r.end) {
            continue;
        }
        let reason = match chip.flash.iter().find(|r| r.start <= start && start < r.end) {
            Some(r) => format!(
                "segment {start:#010x}..{end:#010x} ({} bytes) ends {} bytes past the end of flash at {:#010x}",
                s.size,
                end - r.end,
                r.end
            ),
            None => format!(
                "segment {start:#010x}..{end:#010x} ({} bytes) is not in flash ({regions}); was it linked for another chip?",
                s.size
            ),
        };
        return Err(FlashError::DoesNotFit {
            path: image.path.clone(),
            chip: chip.name.clone(),
            reason,
        });
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Flashing

/// What to flash, where (the desktop app deserialises it from the UI's request).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FlashRequest {
    /// Which probe.
    pub probe: ProbeSelector,
    /// Chip name as in [`chip_info`].
    pub chip: String,
    /// Firmware ELF.
    pub image: PathBuf,
    /// Read the flash back and compare.
    pub verify: bool,
    /// Reset the chip afterwards so the new firmware runs.
    pub reset: bool,
}

/// A phase of flashing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Reading back flash to keep bytes the image does not cover.
    Fill,
    /// Erasing sectors.
    Erase,
    /// Writing pages.
    Program,
    /// Reading back and comparing.
    Verify,
}

impl Phase {
    fn from_probe_rs(op: ProgressOperation) -> Self {
        match op {
            ProgressOperation::Fill => Phase::Fill,
            ProgressOperation::Erase => Phase::Erase,
            ProgressOperation::Program => Phase::Program,
            ProgressOperation::Verify => Phase::Verify,
        }
    }

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Fill => "fill",
            Phase::Erase => "erase",
            Phase::Program => "program",
            Phase::Verify => "verify",
        }
    }
}

/// Where a phase is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseState {
    /// Began.
    Started,
    /// Made progress.
    Progress,
    /// Ended well.
    Finished,
    /// Ended badly.
    Failed,
}

/// A progress event, for a progress bar (the desktop app forwards these as events).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum FlashProgress {
    /// Probe open and chip attached.
    Attached {
        /// The probe used.
        probe: String,
        /// The chip.
        chip: String,
    },
    /// The plan: what will be erased and programmed.
    Layout {
        /// Sectors to erase.
        sectors: usize,
        /// Bytes to erase.
        erase_bytes: u64,
        /// Pages to program.
        pages: usize,
        /// Bytes to program (whole pages).
        program_bytes: u64,
    },
    /// A phase moved.
    Phase {
        /// Which.
        phase: Phase,
        /// Where it is.
        state: PhaseState,
        /// Bytes done in this phase so far.
        done: u64,
        /// Bytes the phase will cover, when known.
        total: Option<u64>,
    },
    /// A message from the flash algorithm.
    Message {
        /// The text.
        text: String,
    },
    /// The chip was reset and runs the new firmware.
    Reset,
}

/// What was done.
#[derive(Debug, Clone, Serialize)]
pub struct FlashReport {
    /// The probe used.
    pub probe: Option<ProbeInfo>,
    /// The chip.
    pub chip: String,
    /// The image.
    pub image: PathBuf,
    /// Image bytes (segments' file sizes).
    pub image_bytes: u64,
    /// Bytes erased.
    pub erased_bytes: u64,
    /// Bytes programmed (whole pages).
    pub programmed_bytes: u64,
    /// Verified by read-back.
    pub verified: bool,
    /// Reset afterwards.
    pub reset: bool,
    /// Wall time from attach to the end.
    pub seconds: f64,
}

/// Flash `request.image` into `request.chip` through the selected probe.
///
/// The image is read and checked against the chip before the probe is touched. `cancel` is
/// honoured before the probe is opened, before erasing starts and before the reset; once
/// erasing has begun probe-rs runs to the end of programming (stopping half-way would leave
/// a blank chip anyway).
pub fn flash(
    request: &FlashRequest,
    progress: &mut dyn FnMut(FlashProgress),
    cancel: &AtomicBool,
) -> Result<FlashReport> {
    flash_with_lister(&Lister::new(), request, progress, cancel)
}

/// [`flash`] through a given lister.
pub fn flash_with_lister(
    lister: &Lister,
    request: &FlashRequest,
    progress: &mut dyn FnMut(FlashProgress),
    cancel: &AtomicBool,
) -> Result<FlashReport> {
    let (image, target) = prepare(request)?;
    check_cancel(cancel, "before opening the probe")?;
    let (probe, info) = open_probe_with(lister, &request.probe)?;
    run(probe, Some(info), target, &image, request, progress, cancel)
}

/// [`flash`] with a probe the caller opened (e.g. probe-rs's `integration::FakeProbe` in
/// tests); `request.probe` is ignored.
pub fn flash_with_probe(
    probe: Probe,
    request: &FlashRequest,
    progress: &mut dyn FnMut(FlashProgress),
    cancel: &AtomicBool,
) -> Result<FlashReport> {
    let (image, target) = prepare(request)?;
    run(probe, None, target, &image, request, progress, cancel)
}

fn prepare(request: &FlashRequest) -> Result<(Image, Target)> {
    let image = load_image(&request.image)?;
    let target = target(&request.chip)?;
    check_fits(&image, &describe(&target))?;
    Ok((image, target))
}

fn check_cancel(cancel: &AtomicBool, when: &'static str) -> Result<()> {
    if cancel.load(Ordering::Relaxed) {
        Err(FlashError::Cancelled(when))
    } else {
        Ok(())
    }
}

/// Running totals for one phase.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    done: u64,
    total: Option<u64>,
}

fn slot(phase: Phase) -> usize {
    match phase {
        Phase::Fill => 0,
        Phase::Erase => 1,
        Phase::Program => 2,
        Phase::Verify => 3,
    }
}

/// (sectors, erase bytes, pages, program bytes) of probe-rs's flash layouts.
fn layout_totals(layouts: &[FlashLayout]) -> (usize, u64, usize, u64) {
    let mut t = (0, 0, 0, 0);
    for l in layouts {
        t.0 += l.sectors().len();
        t.1 += l.sectors().iter().map(|s| s.size()).sum::<u64>();
        t.2 += l.pages().len();
        t.3 += l.pages().iter().map(|p| p.size() as u64).sum::<u64>();
    }
    t
}

/// Turn a probe-rs progress event into ours, keeping per-phase byte counts in `tallies`.
fn translate(event: ProgressEvent, tallies: &mut [Tally; 4]) -> Option<FlashProgress> {
    let phase_event = |phase: Phase, state, t: &Tally| FlashProgress::Phase {
        phase,
        state,
        done: t.done,
        total: t.total,
    };
    Some(match event {
        ProgressEvent::FlashLayoutReady { flash_layout } => {
            let (sectors, erase_bytes, pages, program_bytes) = layout_totals(&flash_layout);
            FlashProgress::Layout {
                sectors,
                erase_bytes,
                pages,
                program_bytes,
            }
        }
        ProgressEvent::AddProgressBar { operation, total } => {
            // One bar per flash algorithm: add the totals up; announce nothing yet.
            let t = &mut tallies[slot(Phase::from_probe_rs(operation))];
            t.total = match (t.total, total) {
                (Some(a), Some(b)) => Some(a + b),
                (a, b) => a.or(b),
            };
            return None;
        }
        ProgressEvent::Started(op) => {
            let p = Phase::from_probe_rs(op);
            phase_event(p, PhaseState::Started, &tallies[slot(p)])
        }
        ProgressEvent::Progress {
            operation, size, ..
        } => {
            let p = Phase::from_probe_rs(operation);
            let t = &mut tallies[slot(p)];
            t.done += size;
            phase_event(p, PhaseState::Progress, t)
        }
        ProgressEvent::Finished(op) => {
            let p = Phase::from_probe_rs(op);
            phase_event(p, PhaseState::Finished, &tallies[slot(p)])
        }
        ProgressEvent::Failed(op) => {
            let p = Phase::from_probe_rs(op);
            phase_event(p, PhaseState::Failed, &tallies[slot(p)])
        }
        ProgressEvent::DiagnosticMessage { message } => FlashProgress::Message { text: message },
    })
}

/// Run `f`, turning a panic inside probe-rs into a typed error: a driver bug must not take
/// the desktop app down.
fn guarded<T>(what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let msg = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        Err(FlashError::FlashFailed(format!(
            "probe-rs failed unexpectedly while {what}: {msg}"
        )))
    })
}

fn run(
    probe: Probe,
    info: Option<ProbeInfo>,
    target: Target,
    image: &Image,
    request: &FlashRequest,
    progress: &mut dyn FnMut(FlashProgress),
    cancel: &AtomicBool,
) -> Result<FlashReport> {
    let started = Instant::now();
    let chip = target.name.clone();
    let probe_name = info
        .as_ref()
        .map_or_else(|| "(caller's probe)".to_string(), ToString::to_string);
    let mut session: Session = guarded("attaching", || {
        probe
            .attach(target, Permissions::default())
            .map_err(|e| FlashError::Attach {
                chip: chip.clone(),
                message: e.to_string(),
            })
    })?;
    progress(FlashProgress::Attached {
        probe: probe_name,
        chip: chip.clone(),
    });

    let loader = guarded("reading the image", || {
        let mut loader = session.target().flash_loader();
        let mut file = std::fs::File::open(&image.path).map_err(|e| FlashError::BadImage {
            path: image.path.clone(),
            reason: format!("cannot read it: {e}"),
        })?;
        loader
            .load_image(
                &mut session,
                &mut file,
                ElfLoader(ElfOptions::default()),
                None,
            )
            .map_err(|e| FlashError::BadImage {
                path: image.path.clone(),
                reason: e.to_string(),
            })?;
        Ok(loader)
    })?;

    check_cancel(cancel, "before erasing (the chip was not changed)")?;
    let mut tallies = [Tally::default(); 4];
    let mut layout = (0usize, 0u64, 0usize, 0u64);
    {
        let mut handler = |event: ProgressEvent| {
            if let ProgressEvent::FlashLayoutReady { flash_layout } = &event {
                layout = layout_totals(flash_layout);
            }
            if let Some(e) = translate(event, &mut tallies) {
                progress(e);
            }
        };
        let mut options = DownloadOptions::default();
        options.verify = request.verify;
        options.progress = ProbeRsProgress::new(&mut handler);
        guarded("flashing", || {
            loader.commit(&mut session, options).map_err(|e| match e {
                probe_rs::flashing::FlashError::Verify => FlashError::VerifyFailed,
                other => FlashError::FlashFailed(error_chain(&other)),
            })
        })?;
    }

    if request.reset {
        check_cancel(cancel, "before the reset (the chip is programmed)")?;
        guarded("resetting", || {
            session
                .core(0)
                .and_then(|mut core| core.reset())
                .map_err(|e| FlashError::ResetFailed(error_chain(&e)))
        })?;
        progress(FlashProgress::Reset);
    }

    Ok(FlashReport {
        probe: info,
        chip,
        image: image.path.clone(),
        image_bytes: image.bytes(),
        erased_bytes: layout.1,
        programmed_bytes: layout.3,
        verified: request.verify,
        reset: request.reset,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// An error and its sources, "outer: inner: innermost".
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            while text.ends_with('.') {
                text.pop();
            }
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(serial: Option<&str>) -> ProbeInfo {
        ProbeInfo {
            identifier: "STLink V2".into(),
            vid: 0x0483,
            pid: 0x3748,
            serial: serial.map(String::from),
            kind: "ST-LINK".into(),
            accessible: true,
        }
    }

    #[test]
    fn probe_selection() {
        let none: [ProbeInfo; 0] = [];
        assert_eq!(
            select_probe(&none, &ProbeSelector::Any).unwrap_err().code(),
            "NO_PROBE"
        );
        assert_eq!(
            select_probe(&none, &ProbeSelector::Serial("X".into()))
                .unwrap_err()
                .code(),
            "NO_PROBE"
        );
        let one = [probe(Some("ABC123"))];
        assert_eq!(select_probe(&one, &ProbeSelector::Any).ok(), Some(0));
        assert_eq!(
            select_probe(&one, &ProbeSelector::Serial("abc123".into())).ok(),
            Some(0)
        );
        let e = select_probe(&one, &ProbeSelector::Serial("NOPE".into())).unwrap_err();
        assert_eq!(e.code(), "PROBE_NOT_FOUND");
        assert!(e.to_string().contains("ABC123"), "{e}");
        assert_eq!(
            select_probe(&one, &ProbeSelector::Index(1))
                .unwrap_err()
                .code(),
            "PROBE_NOT_FOUND"
        );
        let two = [probe(Some("A")), probe(None)];
        assert_eq!(
            select_probe(&two, &ProbeSelector::Any).unwrap_err().code(),
            "PROBE_AMBIGUOUS"
        );
        assert_eq!(select_probe(&two, &ProbeSelector::Index(1)).ok(), Some(1));
    }

    #[test]
    fn progress_totals_add_up_per_phase() {
        let mut t = [Tally::default(); 4];
        assert!(translate(
            ProgressEvent::AddProgressBar {
                operation: ProgressOperation::Program,
                total: Some(1024)
            },
            &mut t
        )
        .is_none());
        let _ = translate(
            ProgressEvent::AddProgressBar {
                operation: ProgressOperation::Program,
                total: Some(1024),
            },
            &mut t,
        );
        let mut last = None;
        for _ in 0..3 {
            last = translate(
                ProgressEvent::Progress {
                    operation: ProgressOperation::Program,
                    size: 256,
                    time: std::time::Duration::ZERO,
                },
                &mut t,
            );
        }
        assert_eq!(
            last,
            Some(FlashProgress::Phase {
                phase: Phase::Program,
                state: PhaseState::Progress,
                done: 768,
                total: Some(2048)
            })
        );
    }
}
