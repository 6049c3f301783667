//! Power-loss-safe, CRC-checked, versioned record store for the device state.
//!
//! The device state is an opaque payload of `N` bytes (the PAYG state machine serializes
//! itself into it). [`RecordStore`] keeps it in two or more *slots* of a byte-writable
//! [`Store`] (EEPROM) and guarantees that a power cut at any byte of a save leaves either
//! the previous or the new payload loadable, never a mix and never an error.
//!
//! # On-media format (format version 1)
//!
//! The store is split into `slots` equal slots of `stride = capacity / slots` bytes;
//! slot `i` starts at byte `i * stride`. A slot holds one record, all integers little-endian:
//!
//! | offset | size | field                                                        |
//! |-------:|-----:|--------------------------------------------------------------|
//! |      0 |    2 | magic [`MAGIC`] = `"OP"` (`0x4F 0x50`)                       |
//! |      2 |    1 | format version [`FORMAT_VERSION`]                            |
//! |      3 |    1 | reserved: written 0, covered by the CRC, otherwise ignored   |
//! |      4 |    4 | sequence number (u32, wrapping)                              |
//! |      8 |    2 | payload length in bytes (u16)                                |
//! |     10 |    2 | reserved: written 0, covered by the CRC, otherwise ignored   |
//! |     12 |    4 | CRC-32 ([`crc32`]) of bytes 0..12 followed by the payload    |
//! |     16 |  len | payload                                                      |
//!
//! Slot bytes past `16 + N` are not written (a flash backend erases them with the slot) and
//! only read to check the CRC of a longer record. Future format versions must keep the
//! magic, version, length and CRC fields and the CRC coverage, so that this firmware
//! recognizes their records and reports [`Error::StorageVersion`] instead of corruption.
//!
//! # Saving: write order and power loss
//!
//! A save never touches the slot holding the newest valid record. It writes the record with
//! sequence number `newest + 1` into the *next* slot (round robin: `(newest_slot + 1) %
//! slots`, slot 0 when nothing is valid): [`Store::erase`] of the whole slot (nothing to do
//! on EEPROM), then the payload at 16, then the 16-byte header in one write whose last four
//! bytes are the CRC: the CRC lands **last**, as the commit marker. Until its last byte lands,
//! the slot's CRC does not match its content (except with probability about 2^-32), so a cut
//! at any byte leaves the previous newest record in charge. After the writes, the slot is
//! read back and checked; a mismatch is [`Error::StorageIo`].
//!
//! If the payload is byte-for-byte equal to the newest valid record, nothing is written
//! ([`Saved::Unchanged`]), which spares EEPROM wear for periodic saves of an idle device.
//!
//! # Loading
//!
//! Every slot is classified as *valid* (magic and CRC match), *blank* (the `16 + N` bytes
//! all 0xFF or all 0x00: erased EEPROM or flash), *torn* (the CRC field holds the first
//! `j` = 0-3 bytes of the correct CRC, then any byte, then erased bytes: an interrupted
//! first save, the cut byte itself possibly garbage) or *corrupt* (anything else).
//!
//! * Some slot valid: the one with the highest sequence number wins, compared wrapping
//!   (`a` is newer than `b` when `a.wrapping_sub(b) as i32 > 0`). If that record has another
//!   format version, [`Error::StorageVersion`]; another payload length, [`Error::StorageLength`].
//!   Neither falls back to an older record, which would silently roll the device state back.
//! * No slot valid, none corrupt and at most one torn: `Ok(None)`, a fresh device (a blank
//!   store, or one whose very first save was interrupted).
//! * Otherwise [`Error::StorageCorrupt`]: state existed but is lost; the device should
//!   report it. Saving still works and starts over at slot 0, sequence 0.
//!
//! After a failed or interrupted save, the next save (or a reboot) simply retries; the
//! interrupted slot is overwritten.
//!
//! # Wear
//!
//! Each save writes every byte of one slot once (`16 + N` bytes), and slots take turns.
//! Saving every hour is 8 766 saves a year, so `8 766 / slots` writes per slot per year:
//! 4 383 with two slots. With an MCU data EEPROM rated 100 000 cycles that is ~22 years;
//! with a 24Cxx-class external EEPROM (1 000 000 cycles) centuries. On NOR flash pages rated
//! 10 000 erase cycles two pages last only ~2.3 years at one save an hour: use more slots
//! (8 slots ≈ 9 years) or save less often. Unchanged payloads cost no wear at all.
//!
//! # Backends
//!
//! [`Store`] models byte-writable EEPROM. Requirements: a write only changes the bytes it
//! addresses, and slots must not share a physical write page/row (make `stride` a multiple of
//! the page size), so a torn write to one slot cannot damage the other. A torn byte may hold
//! any value; the CRC catches it.
//!
//! A flash backend (erase before write) maps one erase page (or several) per slot:
//! `capacity = slots * k * page_size`, so every slot starts on a page boundary and spans
//! whole pages. It implements [`Store::erase`] by erasing the pages of the range (and rejects
//! a range that is not page-aligned with [`Error::StorageGeometry`]) and [`Store::write`] by
//! programming. Every save erases its target slot first, then programs each byte exactly
//! once: `N` payload bytes at slot offset 16, then 16 header bytes at offset 0. With 8-byte
//! program granularity (e.g. STM32G0) both writes are aligned when `N` is a multiple of 8
//! (otherwise the backend pads the last unit with 0xFF). A cut during the erase leaves the
//! slot half-erased: invalid, the other slot is untouched. An erased page reads as blank.
//!
//! # Limits
//!
//! * A damaged record is accepted only if its CRC-32 still matches: probability about 2^-32.
//! * Damage to the newest record falls back to the previous one (one save older); that is
//!   also what a power cut does, and the PAYG layer must tolerate it (e.g. by never storing
//!   credit it cannot afford to replay). An *unknown version* never falls back.
//! * A lone record damaged only in its last CRC byte looks like an interrupted first save
//!   and loads as fresh; any other damage to a lone record is [`Error::StorageCorrupt`].
//! * A slot that keeps failing its read-back (worn out) makes every changed save return
//!   [`Error::StorageIo`]; the previous record stays loadable.
//!
//! # Cost
//!
//! Measured on thumbv6m at opt-level "z" with a 64-byte payload: `load` + `save` take about
//! 1.3 KiB of flash (bitwise CRC-32, no table) and at most ~390 bytes of stack (about
//! `N + 330`, plus the backend's). A [`RecordStore`] is its backend plus 24 bytes (32-bit).

use crate::le::{get32, put32};
use crate::Error;

/// Magic bytes at the start of every record.
pub const MAGIC: [u8; 2] = *b"OP";
/// The on-media format version written by this code.
pub const FORMAT_VERSION: u8 = 1;
/// Length of the record header that precedes the payload.
pub const HEADER_LEN: usize = 16;
/// Largest payload a record can describe (the length field is a u16).
pub const MAX_PAYLOAD: usize = u16::MAX as usize;

/// Offset of the CRC field inside the header; bytes before it are covered by the CRC.
const CRC_AT: usize = 12;
/// Bytes read from the store at once while checking a slot (stack buffer).
const CHUNK: usize = 16;

/// A byte-addressable, byte-writable persistent store (EEPROM or an adapter over flash).
pub trait Store {
    /// Size of the store in bytes.
    fn capacity(&self) -> usize;
    /// Reads `buf.len()` bytes starting at `offset`.
    fn read(&mut self, offset: usize, buf: &mut [u8]) -> Result<(), Error>;
    /// Writes `data` starting at `offset`, changing no other byte.
    fn write(&mut self, offset: usize, data: &[u8]) -> Result<(), Error>;
    /// Prepares `len` bytes at `offset` to be rewritten; called before every record write
    /// with a whole slot. EEPROM: nothing to do (the default). Flash: erase those pages.
    fn erase(&mut self, offset: usize, len: usize) -> Result<(), Error> {
        let _ = (offset, len);
        Ok(())
    }
}

impl<S: Store + ?Sized> Store for &mut S {
    fn capacity(&self) -> usize {
        (**self).capacity()
    }
    fn read(&mut self, offset: usize, buf: &mut [u8]) -> Result<(), Error> {
        (**self).read(offset, buf)
    }
    fn write(&mut self, offset: usize, data: &[u8]) -> Result<(), Error> {
        (**self).write(offset, data)
    }
    fn erase(&mut self, offset: usize, len: usize) -> Result<(), Error> {
        (**self).erase(offset, len)
    }
}

/// Feeds `data` into a running (not yet inverted) CRC-32 register.
///
/// Bitwise, reflected polynomial 0xEDB88320: no table in flash (a nibble table was 64 bytes
/// of `.rodata` for ~100-byte records, where speed does not matter).
fn crc_update(mut crc: u32, data: &[u8]) -> u32 {
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    crc
}

/// CRC-32 (IEEE 802.3 / zlib: reflected, polynomial 0x04C11DB7, init and final XOR
/// 0xFFFFFFFF). `crc32(b"123456789") == 0xCBF4_3926`.
pub fn crc32(data: &[u8]) -> u32 {
    !crc_update(!0, data)
}

/// What [`RecordStore::save`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    /// A new record was written and read back.
    Written,
    /// The payload equals the newest record; nothing was written.
    Unchanged,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Blank,
    Torn,
    Corrupt,
    Valid,
}

/// What one slot holds.
#[derive(Clone, Copy)]
struct SlotInfo {
    kind: Kind,
    seq: u32,
    version: u8,
    len: usize,
}

/// Power-loss-safe store of one `N`-byte payload in `slots` slots of a [`Store`].
///
/// RAM: the backend plus 24 bytes (32-bit). See the [module docs](self) for the format, the
/// recovery rules and the costs.
#[derive(Debug)]
pub struct RecordStore<S, const N: usize> {
    store: S,
    slots: usize,
    stride: usize,
    /// Whether `newest` reflects the media (set by a scan or a successful save).
    known: bool,
    /// Slot and sequence number of the newest valid record.
    newest: Option<(usize, u32)>,
}

impl<S: Store, const N: usize> RecordStore<S, N> {
    /// Splits `store` into `slots` (at least 2) equal slots, each large enough for
    /// [`HEADER_LEN`]` + N` bytes; otherwise [`Error::StorageGeometry`]. Reads nothing.
    pub fn new(store: S, slots: usize) -> Result<Self, Error> {
        let stride = store.capacity().checked_div(slots).unwrap_or(0);
        if slots < 2 || N > MAX_PAYLOAD || stride < HEADER_LEN + N {
            return Err(Error::StorageGeometry);
        }
        Ok(Self {
            store,
            slots,
            stride,
            known: false,
            newest: None,
        })
    }

    /// Loads the newest valid payload: `Ok(None)` for a fresh device. See the module docs
    /// for [`Error::StorageCorrupt`], [`Error::StorageVersion`] and [`Error::StorageLength`].
    pub fn load(&mut self) -> Result<Option<[u8; N]>, Error> {
        let mut out = [0u8; N];
        Ok(self.load_into(&mut out)?.then_some(out))
    }

    /// [`Self::load`] into the caller's buffer (no payload-sized copy on the way out):
    /// `Ok(true)` when `out` holds the newest payload, `Ok(false)` for a fresh device.
    /// Otherwise `out` holds scratch bytes.
    pub fn load_into(&mut self, out: &mut [u8; N]) -> Result<bool, Error> {
        if !self.scan(out)? {
            return Err(Error::StorageCorrupt);
        }
        let Some((slot, seq)) = self.newest else {
            return Ok(false);
        };
        let n = self.inspect(slot, out)?;
        if n.kind != Kind::Valid || n.seq != seq {
            // The media changed between two reads: an unreliable backend.
            return Err(Error::StorageIo);
        }
        if n.version != FORMAT_VERSION {
            return Err(Error::StorageVersion);
        }
        if n.len != N {
            return Err(Error::StorageLength);
        }
        Ok(true)
    }

    /// Stores `payload` as the new newest record, power-loss safe (see the module docs).
    /// Works whatever the media holds (fresh, corrupt, unknown version): that is how a
    /// device starts over.
    pub fn save(&mut self, payload: &[u8; N]) -> Result<Saved, Error> {
        let mut cur = [0u8; N];
        if !self.known {
            // Corrupt media is no obstacle to saving.
            self.scan(&mut cur)?;
        }
        let (slot, seq) = match self.newest {
            Some((slot, seq)) => {
                let info = self.inspect(slot, &mut cur)?;
                if info.kind == Kind::Valid
                    && info.seq == seq
                    && info.version == FORMAT_VERSION
                    && info.len == N
                    && cur == *payload
                {
                    return Ok(Saved::Unchanged);
                }
                let next = slot + 1;
                (
                    if next < self.slots { next } else { 0 },
                    seq.wrapping_add(1),
                )
            }
            None => (0, 0),
        };
        let base = slot * self.stride;
        let mut head = [0u8; HEADER_LEN];
        put32(
            &mut head,
            0,
            u32::from_le_bytes([MAGIC[0], MAGIC[1], FORMAT_VERSION, 0]),
        );
        put32(&mut head, 4, seq);
        // `N` ≤ `MAX_PAYLOAD` (checked by `new`): the length fits its u16 field.
        put32(&mut head, 8, u32::from(N as u16));
        let crc = !crc_update(crc_update(!0, head.get(..CRC_AT).unwrap_or(&[])), payload);
        put32(&mut head, CRC_AT, crc);
        self.store.erase(base, self.stride)?;
        self.store.write(base + HEADER_LEN, payload)?;
        // The CRC is the last four bytes of this write: the commit marker.
        self.store.write(base, &head)?;
        let check = self.inspect(slot, &mut cur)?;
        if check.kind != Kind::Valid || check.seq != seq || cur != *payload {
            return Err(Error::StorageIo);
        }
        self.newest = Some((slot, seq));
        self.known = true;
        Ok(Saved::Written)
    }

    /// Sequence number of the newest valid record, once known (after a load or save).
    pub fn sequence(&self) -> Option<u32> {
        self.newest.map(|(_, seq)| seq)
    }

    /// Number of slots.
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// The backend, e.g. to share the rest of the store.
    pub fn store_mut(&mut self) -> &mut S {
        // The caller may change the media: forget what we know.
        self.known = false;
        &mut self.store
    }

    /// Gives the backend back.
    pub fn into_inner(self) -> S {
        self.store
    }

    /// Classifies all slots (using `scratch` as the payload buffer) and records the newest
    /// valid one. `Ok(false)`: no valid record and the media is not fresh (corrupt).
    fn scan(&mut self, scratch: &mut [u8; N]) -> Result<bool, Error> {
        let mut best: Option<(usize, u32)> = None;
        let mut torn = 0usize;
        let mut corrupt = false;
        for slot in 0..self.slots {
            let info = self.inspect(slot, scratch)?;
            match info.kind {
                Kind::Blank => {}
                Kind::Torn => torn += 1,
                Kind::Corrupt => corrupt = true,
                Kind::Valid => {
                    if best.is_none_or(|(_, seq)| (info.seq.wrapping_sub(seq) as i32) > 0) {
                        best = Some((slot, info.seq));
                    }
                }
            }
        }
        self.newest = best;
        self.known = true;
        Ok(best.is_some() || !(corrupt || torn > 1))
    }

    /// Reads and classifies one slot; its first `N` payload bytes land in `out`.
    fn inspect(&mut self, slot: usize, out: &mut [u8; N]) -> Result<SlotInfo, Error> {
        let base = slot * self.stride;
        let mut h = [0u8; HEADER_LEN];
        self.store.read(base, &mut h)?;
        self.store.read(base + HEADER_LEN, out)?;
        let [m0, m1, version, ..] = h;
        let seq = get32(&h, 4);
        let len = (get32(&h, 8) & 0xFFFF) as usize;
        let stored = get32(&h, CRC_AT);

        let (any, all) = or_and(or_and((0, 0xFF), &h), out);
        let kind = if any == 0 || all == 0xFF {
            Kind::Blank
        } else {
            let sane = [m0, m1] == MAGIC && len <= self.stride - HEADER_LEN;
            let mut crc = crc_update(!0, h.get(..CRC_AT).unwrap_or(&[]));
            crc = crc_update(crc, out.get(..len).unwrap_or(out));
            // A record longer than ours: read the rest for the CRC only.
            let mut pos = N;
            while sane && pos < len {
                let mut buf = [0u8; CHUNK];
                let n = (len - pos).min(CHUNK);
                let chunk = buf.get_mut(..n).unwrap_or(&mut []);
                self.store.read(base + HEADER_LEN + pos, chunk)?;
                crc = crc_update(crc, chunk);
                pos += n;
            }
            let crc = !crc;
            if sane && stored == crc {
                Kind::Valid
            } else if is_torn(stored, crc) {
                Kind::Torn
            } else {
                Kind::Corrupt
            }
        };
        Ok(SlotInfo {
            kind,
            seq,
            version,
            len,
        })
    }
}

/// The OR and the AND of `bytes`, folded into `acc` (blank detection).
#[inline(never)]
fn or_and(acc: (u8, u8), bytes: &[u8]) -> (u8, u8) {
    bytes.iter().fold(acc, |(any, all), &b| (any | b, all & b))
}

/// The CRC field of an interrupted first save: its first `j < 4` bytes (little-endian, so
/// the low bits) are those of the right CRC, byte `j` was being written (any value: a torn
/// byte) and the bytes after it are still erased (all 0xFF or all 0x00).
fn is_torn(stored: u32, crc: u32) -> bool {
    let mut low = 0u32;
    for _ in 0..4 {
        let next = (low << 8) | 0xFF;
        let high = !next;
        if (stored ^ crc) & low == 0 && (stored & high == high || stored & high == 0) {
            return true;
        }
        low = next;
    }
    false
}

/// In-memory [`Store`] for tests: a byte array that can lose power mid-write.
///
/// Test API behind the semver-exempt `_test` feature.
#[cfg(any(test, feature = "_test"))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockStore<const C: usize> {
    mem: [u8; C],
    /// Bytes that may still be written before power fails; `None` = unlimited.
    budget: Option<usize>,
    powered: bool,
    bytes_written: usize,
    /// Value left in the byte being written when power fails (`None`: left unchanged).
    torn: Option<u8>,
}

#[cfg(any(test, feature = "_test"))]
impl<const C: usize> Default for MockStore<C> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(any(test, feature = "_test"))]
impl<const C: usize> MockStore<C> {
    /// A blank (all 0xFF, erased EEPROM) store.
    pub fn new() -> Self {
        Self::filled(0xFF)
    }

    /// A store with every byte set to `byte`.
    pub fn filled(byte: u8) -> Self {
        Self {
            mem: [byte; C],
            budget: None,
            powered: true,
            bytes_written: 0,
            torn: None,
        }
    }

    /// After `n` more bytes are written, power fails: the write that reaches past them
    /// writes its first bytes up to the budget and returns [`Error::StoragePowerLoss`], and
    /// every later read or write fails the same way until [`restore_power`](Self::restore_power).
    /// A write ending exactly at the budget succeeds.
    pub fn cut_power_after(&mut self, n: usize) {
        self.budget = Some(n);
    }

    /// Makes a power cut leave `byte` in the byte that was being written (a torn EEPROM
    /// byte), instead of leaving it unchanged. `None` restores the default.
    pub fn tear_with(&mut self, byte: Option<u8>) {
        self.torn = byte;
    }

    /// Powers the store back on with an unlimited write budget.
    pub fn restore_power(&mut self) {
        self.budget = None;
        self.powered = true;
    }

    /// Whether power is on.
    pub fn is_powered(&self) -> bool {
        self.powered
    }

    /// Total bytes written so far (for wear checks).
    pub fn bytes_written(&self) -> usize {
        self.bytes_written
    }

    /// The raw contents.
    pub fn bytes(&self) -> &[u8; C] {
        &self.mem
    }

    /// The raw contents, to corrupt at will.
    pub fn bytes_mut(&mut self) -> &mut [u8; C] {
        &mut self.mem
    }

    /// XORs the byte at `offset` with `mask` (out of range: nothing).
    pub fn flip(&mut self, offset: usize, mask: u8) {
        if let Some(b) = self.mem.get_mut(offset) {
            *b ^= mask;
        }
    }
}

#[cfg(any(test, feature = "_test"))]
impl<const C: usize> Store for MockStore<C> {
    fn capacity(&self) -> usize {
        C
    }

    fn read(&mut self, offset: usize, buf: &mut [u8]) -> Result<(), Error> {
        if !self.powered {
            return Err(Error::StoragePowerLoss);
        }
        let end = offset.checked_add(buf.len()).ok_or(Error::StorageIo)?;
        let src = self.mem.get(offset..end).ok_or(Error::StorageIo)?;
        buf.copy_from_slice(src);
        Ok(())
    }

    fn write(&mut self, offset: usize, data: &[u8]) -> Result<(), Error> {
        if !self.powered {
            return Err(Error::StoragePowerLoss);
        }
        let end = offset.checked_add(data.len()).ok_or(Error::StorageIo)?;
        let dst = self.mem.get_mut(offset..end).ok_or(Error::StorageIo)?;
        let allowed = self.budget.map_or(data.len(), |b| b.min(data.len()));
        for (d, &s) in dst.iter_mut().zip(data).take(allowed) {
            *d = s;
        }
        self.bytes_written += allowed;
        if let Some(b) = self.budget.as_mut() {
            *b -= allowed;
        }
        if allowed < data.len() {
            self.powered = false;
            if let (Some(t), Some(d)) = (self.torn, dst.get_mut(allowed)) {
                *d = t;
            }
            return Err(Error::StoragePowerLoss);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn torn_patterns() {
        let crc = u32::from_le_bytes([1, 2, 3, 4]);
        let t = |b| is_torn(u32::from_le_bytes(b), crc);
        assert!(t([0xFF; 4]));
        assert!(t([0; 4]));
        assert!(t([1, 0xFF, 0xFF, 0xFF]));
        assert!(t([1, 2, 0xFF, 0xFF]));
        assert!(t([1, 2, 3, 0]));
        // A torn byte at the cut.
        assert!(t([9, 0xFF, 0xFF, 0xFF]));
        assert!(t([1, 2, 0x5A, 0]));
        assert!(t([1, 2, 3, 5]));
        assert!(!t([9, 9, 0xFF, 0xFF]));
        assert!(!t([1, 2, 9, 9]));
        assert!(!t([1, 9, 3, 0xFF]));
        assert!(!t([0xFF, 0, 0xFF, 0]));
    }
}
