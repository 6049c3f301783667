//! Just enough of ELF32 (little endian, as on Cortex-M) to add up section sizes.

use anyhow::{bail, Context, Result};
use std::path::Path;

const SHT_NOBITS: u32 = 8;
const SHF_ALLOC: u32 = 0x2;

/// One section: name, size and whether it is loaded / takes space in the image.
#[derive(Debug, Clone)]
pub(crate) struct Section {
    pub name: String,
    pub size: u64,
    /// Occupies memory at run time (`SHF_ALLOC`).
    pub alloc: bool,
    /// Has contents in the file (not `.bss`-like): for an allocated section, flash bytes.
    pub progbits: bool,
}

/// The sizes that matter for a microcontroller image.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Sizes {
    pub vector_table: u64,
    pub text: u64,
    pub rodata: u64,
    pub data: u64,
    pub bss: u64,
    /// Every allocated section with contents: what is programmed into flash
    /// (vector table, code, constants and the initial values of `.data`).
    pub flash: u64,
    /// `.data` + `.bss` + `.uninit`: static RAM (stack not included).
    pub ram: u64,
}

impl Sizes {
    pub(crate) fn of(sections: &[Section]) -> Self {
        let mut s = Sizes::default();
        for sec in sections.iter().filter(|s| s.alloc) {
            match sec.name.as_str() {
                ".vector_table" => s.vector_table += sec.size,
                ".text" => s.text += sec.size,
                ".rodata" => s.rodata += sec.size,
                ".data" => s.data += sec.size,
                ".bss" => s.bss += sec.size,
                _ => {}
            }
            if sec.progbits {
                s.flash += sec.size;
            }
            if matches!(sec.name.as_str(), ".data" | ".bss" | ".uninit") {
                s.ram += sec.size;
            }
        }
        s
    }
}

pub(crate) fn sections(path: &Path) -> Result<Vec<Section>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    parse_sections(&bytes).with_context(|| format!("parsing ELF {}", path.display()))
}

fn parse_sections(b: &[u8]) -> Result<Vec<Section>> {
    if b.get(..4) != Some(b"\x7fELF".as_slice()) {
        bail!("not an ELF file");
    }
    if b.get(4) != Some(&1) || b.get(5) != Some(&1) {
        bail!("only 32-bit little-endian ELF is supported");
    }
    let shoff = u32_at(b, 32)? as usize;
    let shentsize = u16_at(b, 46)? as usize;
    let shnum = u16_at(b, 48)? as usize;
    let shstrndx = u16_at(b, 50)? as usize;
    if shentsize < 40 {
        bail!("unexpected section header size {shentsize}");
    }
    let header = |i: usize| shoff + i * shentsize;
    let strtab = u32_at(b, header(shstrndx) + 16)? as usize;
    let mut out = Vec::with_capacity(shnum);
    for i in 0..shnum {
        let h = header(i);
        let name_off = u32_at(b, h)? as usize;
        let kind = u32_at(b, h + 4)?;
        let flags = u32_at(b, h + 8)?;
        let size = u64::from(u32_at(b, h + 20)?);
        out.push(Section {
            name: c_str(b, strtab + name_off)?,
            size,
            alloc: flags & SHF_ALLOC != 0,
            progbits: kind != SHT_NOBITS,
        });
    }
    Ok(out)
}

fn u16_at(b: &[u8], at: usize) -> Result<u16> {
    match b.get(at..at + 2) {
        Some(&[x, y]) => Ok(u16::from_le_bytes([x, y])),
        _ => bail!("truncated at offset {at}"),
    }
}

fn u32_at(b: &[u8], at: usize) -> Result<u32> {
    match b.get(at..at + 4) {
        Some(&[w, x, y, z]) => Ok(u32::from_le_bytes([w, x, y, z])),
        _ => bail!("truncated at offset {at}"),
    }
}

fn c_str(b: &[u8], at: usize) -> Result<String> {
    let Some(tail) = b.get(at..) else {
        bail!("string offset {at} out of range");
    };
    let end = tail.iter().position(|&c| c == 0).unwrap_or(tail.len());
    Ok(String::from_utf8_lossy(tail.get(..end).unwrap_or_default()).into_owned())
}
