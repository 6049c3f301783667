//! Record store: format, recovery rules and power loss at every byte.

use firmware_core::storage::{
    crc32, MockStore, RecordStore, Saved, Store, FORMAT_VERSION, HEADER_LEN, MAGIC,
};
use firmware_core::Error;
use proptest::prelude::*;

/// Payload size used by most tests (the PAYG state is in this range).
const N: usize = 64;
/// One record.
const REC: usize = HEADER_LEN + N;
/// Two slots of exactly one record each.
const CAP: usize = 2 * REC;

/// A payload that encodes a counter and changes in every byte from one counter to the next.
fn payload(i: u32) -> [u8; N] {
    let mut p = [0u8; N];
    p[..4].copy_from_slice(&i.to_le_bytes());
    for (j, b) in p.iter_mut().enumerate().skip(4) {
        *b = (i as u8).wrapping_mul(31).wrapping_add(j as u8 ^ 0x5A);
    }
    p
}

fn open<S: Store>(store: S, slots: usize) -> RecordStore<S, N> {
    RecordStore::new(store, slots).unwrap()
}

fn load<S: Store>(store: S, slots: usize) -> Result<Option<[u8; N]>, Error> {
    open(store, slots).load()
}

/// Writes a record by hand, following the documented on-media format.
fn put_record<const C: usize>(
    mock: &mut MockStore<C>,
    offset: usize,
    seq: u32,
    version: u8,
    body: &[u8],
) {
    let mut rec = Vec::new();
    rec.extend_from_slice(&MAGIC);
    rec.push(version);
    rec.push(0);
    rec.extend_from_slice(&seq.to_le_bytes());
    rec.extend_from_slice(&(body.len() as u16).to_le_bytes());
    rec.extend_from_slice(&[0, 0]);
    let mut covered = rec.clone();
    covered.extend_from_slice(body);
    rec.extend_from_slice(&crc32(&covered).to_le_bytes());
    rec.extend_from_slice(body);
    mock.bytes_mut()[offset..offset + rec.len()].copy_from_slice(&rec);
}

#[test]
fn crc32_standard_check_value() {
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    assert_eq!(crc32(b""), 0);
    assert_eq!(crc32(b"a"), 0xE8B7_BE43);
}

#[test]
fn geometry_is_checked() {
    let mut mock = MockStore::<CAP>::new();
    assert!(RecordStore::<_, N>::new(&mut mock, 2).is_ok());
    assert_eq!(
        RecordStore::<_, N>::new(&mut mock, 1).err(),
        Some(Error::StorageGeometry)
    );
    assert_eq!(
        RecordStore::<_, N>::new(&mut mock, 3).err(),
        Some(Error::StorageGeometry)
    );
    assert_eq!(
        RecordStore::<_, { N + 1 }>::new(&mut mock, 2).err(),
        Some(Error::StorageGeometry)
    );
}

#[test]
fn blank_store_is_fresh() {
    for byte in [0xFF, 0x00] {
        let mut mock = MockStore::<CAP>::filled(byte);
        let mut rs = open(&mut mock, 2);
        assert_eq!(rs.load(), Ok(None));
        assert_eq!(rs.sequence(), None);
    }
}

#[test]
fn round_trip() {
    let mut mock = MockStore::<CAP>::new();
    let mut rs = open(&mut mock, 2);
    assert_eq!(rs.save(&payload(1)), Ok(Saved::Written));
    assert_eq!(rs.sequence(), Some(0));
    assert_eq!(load(&mut mock, 2), Ok(Some(payload(1))));

    let mut rs = open(&mut mock, 2);
    assert_eq!(rs.load(), Ok(Some(payload(1))));
    assert_eq!(rs.save(&payload(2)), Ok(Saved::Written));
    assert_eq!(rs.save(&payload(3)), Ok(Saved::Written));
    assert_eq!(rs.sequence(), Some(2));
    assert_eq!(rs.load(), Ok(Some(payload(3))));
    assert_eq!(load(&mut mock, 2), Ok(Some(payload(3))));
}

#[test]
fn on_media_layout_is_as_documented() {
    let mut mock = MockStore::<CAP>::new();
    let mut rs = open(&mut mock, 2);
    rs.save(&payload(7)).unwrap();
    rs.save(&payload(8)).unwrap();
    let mut expected = MockStore::<CAP>::new();
    put_record(&mut expected, 0, 0, FORMAT_VERSION, &payload(7));
    put_record(&mut expected, REC, 1, FORMAT_VERSION, &payload(8));
    assert_eq!(mock.bytes(), expected.bytes());
}

#[test]
fn unchanged_payload_is_not_rewritten() {
    let mut mock = MockStore::<CAP>::new();
    let mut rs = open(&mut mock, 2);
    assert_eq!(rs.save(&payload(1)), Ok(Saved::Written));
    assert_eq!(rs.save(&payload(1)), Ok(Saved::Unchanged));
    let written = mock.bytes_written();
    assert_eq!(written, REC);
    // Also after a reboot.
    assert_eq!(open(&mut mock, 2).save(&payload(1)), Ok(Saved::Unchanged));
    assert_eq!(mock.bytes_written(), written);
    assert_eq!(open(&mut mock, 2).save(&payload(2)), Ok(Saved::Written));
    assert_eq!(mock.bytes_written(), 2 * REC);
}

#[test]
fn damaged_newest_is_rewritten_even_if_equal() {
    let mut mock = MockStore::<CAP>::new();
    open(&mut mock, 2).save(&payload(1)).unwrap();
    open(&mut mock, 2).save(&payload(2)).unwrap();
    mock.flip(REC + HEADER_LEN + 5, 0x10); // newest (slot 1) payload
    let mut rs = open(&mut mock, 2);
    assert_eq!(rs.load(), Ok(Some(payload(1))));
    assert_eq!(rs.save(&payload(1)), Ok(Saved::Unchanged));
    assert_eq!(rs.save(&payload(2)), Ok(Saved::Written));
    assert_eq!(load(&mut mock, 2), Ok(Some(payload(2))));
}

#[test]
fn owned_backend_and_cache_invalidation() {
    let mut rs = RecordStore::<_, N>::new(MockStore::<CAP>::new(), 2).unwrap();
    assert_eq!(rs.slots(), 2);
    rs.save(&payload(1)).unwrap(); // slot 0
    rs.save(&payload(2)).unwrap(); // slot 1
                                   // Someone else saves through store_mut: slot 0 now holds the newest record.
    let mut other = RecordStore::<_, N>::new(rs.store_mut(), 2).unwrap();
    other.save(&payload(3)).unwrap();
    // rs must not trust its cache: the newest record (slot 0) stays untouched.
    assert_eq!(rs.save(&payload(4)), Ok(Saved::Written));
    assert_eq!(rs.sequence(), Some(3));
    let mut mock = rs.into_inner();
    assert_eq!(&mock.bytes()[HEADER_LEN..REC], &payload(3));
    assert_eq!(load(&mut mock, 2), Ok(Some(payload(4))));
}

#[test]
fn sequence_wraps_around() {
    let mut mock = MockStore::<CAP>::new();
    put_record(&mut mock, 0, u32::MAX - 1, FORMAT_VERSION, &payload(10));
    put_record(&mut mock, REC, u32::MAX, FORMAT_VERSION, &payload(11));
    let mut rs = open(&mut mock, 2);
    assert_eq!(rs.load(), Ok(Some(payload(11))));
    assert_eq!(rs.sequence(), Some(u32::MAX));
    assert_eq!(rs.save(&payload(12)), Ok(Saved::Written));
    assert_eq!(rs.sequence(), Some(0));
    // Slot 0 now holds sequence 0, which is newer than u32::MAX in slot 1.
    assert_eq!(&mock.bytes()[4..8], &0u32.to_le_bytes());
    assert_eq!(load(&mut mock, 2), Ok(Some(payload(12))));
    let mut rs = open(&mut mock, 2);
    assert_eq!(rs.save(&payload(13)), Ok(Saved::Written));
    assert_eq!(rs.sequence(), Some(1));
    assert_eq!(load(&mut mock, 2), Ok(Some(payload(13))));

    // Either slot order.
    let mut mock = MockStore::<CAP>::new();
    put_record(&mut mock, 0, 3, FORMAT_VERSION, &payload(20));
    put_record(&mut mock, REC, u32::MAX - 5, FORMAT_VERSION, &payload(21));
    assert_eq!(load(&mut mock, 2), Ok(Some(payload(20))));
}

#[test]
fn corrupt_newer_slot_falls_back_to_older() {
    // Damage in the payload, the header or the CRC of the newer record.
    for offset in [HEADER_LEN + 1, HEADER_LEN + N - 1, 0, 2, 5, 8, 12, 15] {
        let mut mock = MockStore::<CAP>::new();
        let mut rs = open(&mut mock, 2);
        rs.save(&payload(1)).unwrap();
        rs.save(&payload(2)).unwrap();
        mock.flip(REC + offset, 0x01);
        let mut rs = open(&mut mock, 2);
        assert_eq!(rs.load(), Ok(Some(payload(1))), "offset {offset}");
        // The next save goes over the damaged slot and wins.
        assert_eq!(rs.save(&payload(3)), Ok(Saved::Written));
        assert_eq!(load(&mut mock, 2), Ok(Some(payload(3))));
        assert_eq!(&mock.bytes()[HEADER_LEN..REC], &payload(1));
    }
}

#[test]
fn both_slots_corrupt_is_reported() {
    let mut mock = MockStore::<CAP>::new();
    let mut rs = open(&mut mock, 2);
    rs.save(&payload(1)).unwrap();
    rs.save(&payload(2)).unwrap();
    mock.flip(HEADER_LEN + 3, 0x80);
    mock.flip(REC + 13, 0x04);
    assert_eq!(load(&mut mock, 2), Err(Error::StorageCorrupt));
    // The device can start over.
    let mut rs = open(&mut mock, 2);
    assert_eq!(rs.save(&payload(9)), Ok(Saved::Written));
    assert_eq!(load(&mut mock, 2), Ok(Some(payload(9))));
}

#[test]
fn lone_record_rotting_is_reported_not_fresh() {
    let mut mock = MockStore::<CAP>::new();
    open(&mut mock, 2).save(&payload(1)).unwrap();
    mock.flip(HEADER_LEN + 40, 0x02);
    assert_eq!(load(&mut mock, 2), Err(Error::StorageCorrupt));

    // Garbage that was never a record is not a blank device either.
    let mut mock = MockStore::<CAP>::filled(0x5A);
    assert_eq!(load(&mut mock, 2), Err(Error::StorageCorrupt));
}

#[test]
fn interrupted_first_save_is_fresh() {
    for blank in [0xFF, 0x00] {
        for k in 0..REC {
            let mut mock = MockStore::<CAP>::filled(blank);
            mock.cut_power_after(k);
            assert_eq!(
                open(&mut mock, 2).save(&payload(1)),
                Err(Error::StoragePowerLoss)
            );
            mock.restore_power();
            assert_eq!(load(&mut mock, 2), Ok(None), "blank {blank:#x}, k {k}");
        }
    }
}

#[test]
fn two_interrupted_saves_are_corrupt_not_fresh() {
    // Only slot 0 is ever written while nothing is valid, so two uncommitted records (CRC
    // field still erased) cannot come from power cuts alone.
    let mut mock = MockStore::<CAP>::new();
    put_record(&mut mock, 0, 0, FORMAT_VERSION, &payload(1));
    mock.bytes_mut()[12..16].fill(0xFF);
    assert_eq!(load(&mut mock, 2), Ok(None));
    put_record(&mut mock, REC, 0, FORMAT_VERSION, &payload(2));
    mock.bytes_mut()[REC + 12..REC + 16].fill(0xFF);
    assert_eq!(load(&mut mock, 2), Err(Error::StorageCorrupt));
}

#[test]
fn unknown_version_is_rejected() {
    let mut mock = MockStore::<CAP>::new();
    put_record(&mut mock, 0, 5, FORMAT_VERSION, &payload(1));
    put_record(&mut mock, REC, 6, FORMAT_VERSION + 1, &payload(2));
    assert_eq!(load(&mut mock, 2), Err(Error::StorageVersion));
    // An old record of unknown version is simply superseded.
    let mut mock = MockStore::<CAP>::new();
    put_record(&mut mock, 0, 7, FORMAT_VERSION, &payload(1));
    put_record(&mut mock, REC, 6, FORMAT_VERSION + 1, &payload(2));
    assert_eq!(load(&mut mock, 2), Ok(Some(payload(1))));
    // Saving replaces the unknown record.
    let mut mock = MockStore::<CAP>::new();
    put_record(&mut mock, 0, 6, 0, &payload(2));
    assert_eq!(load(&mut mock, 2), Err(Error::StorageVersion));
    open(&mut mock, 2).save(&payload(3)).unwrap();
    assert_eq!(load(&mut mock, 2), Ok(Some(payload(3))));
}

#[test]
fn wrong_length_is_rejected() {
    let mut mock = MockStore::<CAP>::new();
    open(&mut mock, 2).save(&payload(1)).unwrap();
    // Same store read by firmware with a 32-byte state.
    let mut short = RecordStore::<_, 32>::new(&mut mock, 2).unwrap();
    assert_eq!(short.load(), Err(Error::StorageLength));
    let mut rs = RecordStore::<_, 32>::new(&mut mock, 2).unwrap();
    assert_eq!(rs.save(&[7; 32]), Ok(Saved::Written));
    assert_eq!(rs.load(), Ok(Some([7; 32])));
    assert_eq!(load(&mut mock, 2), Err(Error::StorageLength));

    // A length field larger than the slot is corruption, not a length mismatch.
    let mut mock = MockStore::<CAP>::new();
    put_record(&mut mock, 0, 1, FORMAT_VERSION, &payload(1));
    mock.bytes_mut()[8..10].copy_from_slice(&1000u16.to_le_bytes());
    assert_eq!(load(&mut mock, 2), Err(Error::StorageCorrupt));
}

#[test]
fn more_slots_take_turns() {
    const C3: usize = 3 * REC + 7;
    let mut mock = MockStore::<C3>::new();
    let stride = C3 / 3;
    for i in 0..7u32 {
        let mut rs = open(&mut mock, 3);
        assert_eq!(rs.save(&payload(i)), Ok(Saved::Written));
        let slot = (i % 3) as usize;
        let at = slot * stride;
        assert_eq!(&mock.bytes()[at + HEADER_LEN..at + REC], &payload(i));
        assert_eq!(load(&mut mock, 3), Ok(Some(payload(i))));
    }
}

#[test]
fn mock_store_loses_power_mid_write() {
    let mut mock = MockStore::<8>::filled(0);
    mock.cut_power_after(3);
    assert_eq!(mock.write(0, &[1, 2]), Ok(()));
    assert_eq!(mock.write(2, &[3, 4, 5]), Err(Error::StoragePowerLoss));
    assert!(!mock.is_powered());
    assert_eq!(mock.write(6, &[9]), Err(Error::StoragePowerLoss));
    let mut buf = [0u8; 1];
    assert_eq!(mock.read(0, &mut buf), Err(Error::StoragePowerLoss));
    mock.restore_power();
    assert_eq!(mock.bytes(), &[1, 2, 3, 0, 0, 0, 0, 0]);
    assert_eq!(mock.bytes_written(), 3);
    assert_eq!(mock.write(7, &[1, 2]), Err(Error::StorageIo));
    assert_eq!(mock.read(usize::MAX, &mut buf), Err(Error::StorageIo));
    mock.flip(1, 0xFF);
    assert_eq!(mock.bytes()[1], 0xFD);
    // A torn byte at the cut.
    mock.tear_with(Some(0x99));
    mock.cut_power_after(1);
    assert_eq!(mock.write(4, &[7, 7, 7]), Err(Error::StoragePowerLoss));
    mock.restore_power();
    assert_eq!(&mock.bytes()[4..7], &[7, 0x99, 0]);
    mock.tear_with(None);
    // A write ending exactly at the budget succeeds; the next byte fails.
    mock.cut_power_after(2);
    assert_eq!(mock.write(0, &[7, 7]), Ok(()));
    assert_eq!(mock.write(0, &[]), Ok(()));
    assert_eq!(mock.write(0, &[7]), Err(Error::StoragePowerLoss));
}

/// A backend that fails every access.
struct Broken;

impl Store for Broken {
    fn capacity(&self) -> usize {
        CAP
    }
    fn read(&mut self, _: usize, _: &mut [u8]) -> Result<(), Error> {
        Err(Error::StorageIo)
    }
    fn write(&mut self, _: usize, _: &[u8]) -> Result<(), Error> {
        Err(Error::StorageIo)
    }
}

#[test]
fn backend_errors_propagate() {
    let mut rs = open(Broken, 2);
    assert_eq!(rs.load(), Err(Error::StorageIo));
    assert_eq!(rs.save(&payload(0)), Err(Error::StorageIo));
}

/// A store whose power can be cut after a number of operations (bytes written; pages erased).
trait Cuttable: Store + Clone {
    /// Operations in one complete save.
    fn ops(&self) -> usize;
    fn cut_power_after(&mut self, n: usize);
    fn restore_power(&mut self);
}

impl<const C: usize> Cuttable for MockStore<C> {
    fn ops(&self) -> usize {
        REC
    }
    fn cut_power_after(&mut self, n: usize) {
        MockStore::cut_power_after(self, n)
    }
    fn restore_power(&mut self) {
        MockStore::restore_power(self)
    }
}

/// NOR flash in the style of an STM32G0: erase pages of `PAGE` bytes, programming in aligned
/// 8-byte units, only into erased bytes. Power loss can hit an erase (the page is left half
/// erased) or a program (a prefix is written, the next byte is half programmed).
#[derive(Clone)]
struct MockFlash<const PAGE: usize> {
    mem: Vec<u8>,
    budget: Option<usize>,
    powered: bool,
    /// Pages per slot (for the operation count of a save).
    slot_pages: usize,
}

impl<const PAGE: usize> MockFlash<PAGE> {
    fn new(pages: usize, slot_pages: usize) -> Self {
        Self {
            mem: vec![0xFF; pages * PAGE],
            budget: None,
            powered: true,
            slot_pages,
        }
    }

    /// Takes one unit of budget; false (and power off) when there is none.
    fn spend(&mut self) -> bool {
        match &mut self.budget {
            Some(0) => {
                self.powered = false;
                false
            }
            Some(b) => {
                *b -= 1;
                true
            }
            None => true,
        }
    }
}

impl<const PAGE: usize> Store for MockFlash<PAGE> {
    fn capacity(&self) -> usize {
        self.mem.len()
    }

    fn read(&mut self, offset: usize, buf: &mut [u8]) -> Result<(), Error> {
        if !self.powered {
            return Err(Error::StoragePowerLoss);
        }
        let src = self.mem.get(offset..offset + buf.len());
        buf.copy_from_slice(src.ok_or(Error::StorageIo)?);
        Ok(())
    }

    fn write(&mut self, offset: usize, data: &[u8]) -> Result<(), Error> {
        assert!(self.powered);
        assert!(offset.is_multiple_of(8), "unaligned program at {offset}");
        assert!(
            data.len().is_multiple_of(8),
            "program of {} bytes",
            data.len()
        );
        for (i, &b) in data.iter().enumerate() {
            assert_eq!(self.mem[offset + i], 0xFF, "program over unerased byte");
            if !self.spend() {
                self.mem[offset + i] = b | 0x5A;
                return Err(Error::StoragePowerLoss);
            }
            self.mem[offset + i] = b;
        }
        Ok(())
    }

    fn erase(&mut self, offset: usize, len: usize) -> Result<(), Error> {
        assert!(self.powered);
        if !offset.is_multiple_of(PAGE) || !len.is_multiple_of(PAGE) {
            return Err(Error::StorageGeometry);
        }
        for page in (offset..offset + len).step_by(PAGE) {
            if !self.spend() {
                self.mem[page..page + PAGE / 2].fill(0xFF);
                return Err(Error::StoragePowerLoss);
            }
            self.mem[page..page + PAGE].fill(0xFF);
        }
        Ok(())
    }
}

impl<const PAGE: usize> Cuttable for MockFlash<PAGE> {
    /// The page erases of one slot, then every byte.
    fn ops(&self) -> usize {
        self.slot_pages + REC
    }
    fn cut_power_after(&mut self, n: usize) {
        self.budget = Some(n);
    }
    fn restore_power(&mut self) {
        self.budget = None;
        self.powered = true;
    }
}

/// The key property: saves of changing payloads, each one cut by a power loss after every
/// possible number of bytes. After the cut the store must load the previous or the new
/// payload (never an error, never anything else) and keep working. The main line goes on
/// from whatever the cut left, checked against a model of what must be loaded.
fn power_cut_scenario<M: Cuttable>(
    mut mock: M,
    slots: usize,
    first: u32,
    saves: u32,
    mut model: Option<[u8; N]>,
) -> Option<u32> {
    let mut completed = 0;
    let ops = mock.ops();
    for i in first..first + saves {
        let new = payload(i);
        assert_ne!(Some(new), model);
        for k in 0..=ops {
            let mut m = mock.clone();
            m.cut_power_after(k);
            let mut rs = open(&mut m, slots);
            if k % 2 == 0 {
                // Boot, load, then save; or save straight away.
                assert_eq!(rs.load(), Ok(model), "save {i}, k {k}");
            }
            let saved = rs.save(&new);
            if k < ops {
                assert_eq!(saved, Err(Error::StoragePowerLoss), "save {i}, k {k}");
            } else {
                assert_eq!(saved, Ok(Saved::Written), "save {i}, k {k}");
            }
            m.restore_power();
            let got = load(&mut m, slots);
            assert!(
                got == Ok(model) || got == Ok(Some(new)),
                "save {i}, cut after {k} bytes: loaded {got:?}"
            );
            if k == ops {
                assert_eq!(got, Ok(Some(new)));
            }
            // And the device carries on from there.
            let next = payload(i.wrapping_add(1_000_000));
            assert_eq!(open(&mut m, slots).save(&next), Ok(Saved::Written));
            assert_eq!(load(&mut m, slots), Ok(Some(next)));
        }

        // Main line: every fourth save completes, the others die at varying bytes.
        let k = if i % 4 == 3 {
            ops
        } else {
            (i as usize * 37 + 11) % ops
        };
        mock.cut_power_after(k);
        let mut rs = open(&mut mock, slots);
        assert_eq!(rs.load(), Ok(model));
        let _ = rs.save(&new);
        mock.restore_power();
        let got = load(&mut mock, slots).unwrap();
        assert!(got == model || got == Some(new), "main line save {i}");
        if got == Some(new) {
            completed += 1;
        }
        model = got;
    }
    assert!(completed >= saves / 4);
    assert!(model.is_some());
    let mut rs = open(&mut mock, slots);
    assert_eq!(rs.load(), Ok(model));
    rs.sequence()
}

#[test]
fn power_cut_at_every_byte_of_200_saves() {
    let seq = power_cut_scenario(MockStore::<CAP>::new(), 2, 0, 200, None);
    assert!(seq >= Some(49));
}

#[test]
fn power_cut_at_every_byte_on_zeroed_store_with_three_slots() {
    let seq = power_cut_scenario(MockStore::<{ 3 * REC }>::filled(0), 3, 0, 60, None);
    assert!(seq >= Some(14));
}

#[test]
fn power_cut_at_every_byte_across_sequence_wrap() {
    let mut mock = MockStore::<CAP>::new();
    let (a, b) = (payload(4_000_000), payload(4_000_001));
    put_record(&mut mock, 0, u32::MAX - 10, FORMAT_VERSION, &a);
    put_record(&mut mock, REC, u32::MAX - 9, FORMAT_VERSION, &b);
    let seq = power_cut_scenario(mock, 2, 0, 120, Some(b));
    // At least 30 saves completed: the sequence number went through zero.
    assert!(seq >= Some(20) && seq < Some(1000), "{seq:?}");
}

#[test]
fn power_cut_at_every_byte_with_torn_bytes() {
    for torn in [0x00, 0xFF, 0xA5] {
        let blank = if torn == 0xFF { 0x00 } else { 0xFF };
        let mut mock = MockStore::<CAP>::filled(blank);
        mock.tear_with(Some(torn));
        let seq = power_cut_scenario(mock, 2, 0, 40, None);
        assert!(seq >= Some(9));
    }
}

#[test]
fn power_cut_at_every_byte_on_paged_flash() {
    // One 128-byte page per slot; the record (80 bytes) fits in it.
    let seq = power_cut_scenario(MockFlash::<128>::new(2, 1), 2, 0, 100, None);
    assert!(seq >= Some(24));
    // Four pages, two per slot: a slot erases both.
    let seq = power_cut_scenario(MockFlash::<64>::new(4, 2), 2, 0, 40, None);
    assert!(seq >= Some(9));
}

#[test]
fn flash_erase_must_be_page_aligned() {
    // Three slots over two pages would straddle pages: the backend refuses to erase.
    let mut flash = MockFlash::<128>::new(2, 1);
    let stride = 256 / 3;
    assert!(stride >= REC);
    let mut rs = open(&mut flash, 3);
    assert_eq!(rs.save(&payload(1)), Err(Error::StorageGeometry));
    assert_eq!(rs.load(), Ok(None));
}

proptest! {
    /// Random damage inside one slot never panics and never produces a payload that was not
    /// saved: the other slot still holds a good record.
    #[test]
    fn corruption_in_one_slot_never_yields_unsaved_payload(
        saves in 2u32..7,
        slot in 0usize..2,
        hits in prop::collection::vec((0usize..REC, 1u8..=255), 1..10),
    ) {
        let mut mock = MockStore::<CAP>::new();
        let mut rs = open(&mut mock, 2);
        for i in 0..saves {
            rs.save(&payload(i)).unwrap();
        }
        for (offset, mask) in hits {
            mock.flip(slot * REC + offset, mask);
        }
        match load(&mut mock, 2) {
            Ok(Some(p)) => prop_assert!((0..saves).any(|i| payload(i) == p)),
            Ok(None) => prop_assert!(false, "a good slot remains: not fresh"),
            Err(_) => {} // a typed error (only with a CRC collision)
        }
        // Saving always recovers.
        let mut rs = open(&mut mock, 2);
        prop_assert_eq!(rs.save(&payload(99)), Ok(Saved::Written));
        prop_assert_eq!(load(&mut mock, 2), Ok(Some(payload(99))));
    }

    /// Arbitrary media content: load never panics, and a save afterwards always works.
    #[test]
    fn arbitrary_media_never_panics(
        bytes in prop::collection::vec(any::<u8>(), 4 * REC),
        slots in 2usize..=4,
    ) {
        let mut mock = MockStore::<{ 4 * REC }>::new();
        mock.bytes_mut().copy_from_slice(&bytes);
        let _ = load(&mut mock, slots);
        let mut rs = open(&mut mock, slots);
        prop_assert_eq!(rs.save(&payload(5)), Ok(Saved::Written));
        prop_assert_eq!(load(&mut mock, slots), Ok(Some(payload(5))));
    }

    /// Forged records with a valid CRC anywhere in the header fields: still no panic.
    #[test]
    fn forged_headers_never_panic(
        seq in any::<u32>(),
        version in any::<u8>(),
        len in 0usize..=(2 * REC - HEADER_LEN),
        at in 0usize..2,
    ) {
        let mut mock = MockStore::<{ 4 * REC }>::new();
        let body = vec![0xA5; len];
        put_record(&mut mock, at * 2 * REC, seq, version, &body);
        let got = load(&mut mock, 2);
        if version != FORMAT_VERSION {
            prop_assert_eq!(got, Err(Error::StorageVersion));
        } else if len != N {
            prop_assert_eq!(got, Err(Error::StorageLength));
        } else {
            prop_assert_eq!(got, Ok(Some([0xA5; N])));
        }
    }
}
