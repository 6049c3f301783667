//! EEPROM emulation on the last flash pages of the STM32F103C8.
//!
//! # Flash-page mapping
//!
//! | store offset | flash address | page | record-store slot |
//! | --- | --- | --- | --- |
//! | 0x000 - 0x3FF | 0x0800_F800 - 0x0800_FBFF | 62 | 0 |
//! | 0x400 - 0x7FF | 0x0800_FC00 - 0x0800_FFFF | 63 | 1 |
//!
//! `memory.x` ends FLASH at 62K so no code or constant is linked there. One 1 KiB page per
//! slot: `RecordStore` erases a whole slot before every save ([`Store::erase`] → page
//! erase) and then programs each byte once (payload at 16, header at 0, both even-aligned,
//! even-length), which maps onto half-word programming. A record is 16 + 88 bytes, so most
//! of each page is unused; the price of power-loss safety with page erases. Wear: every
//! changed save erases one page, pages alternate; at the app's once-an-hour persistence
//! that is ~4 400 erases per page per year against the 10 000 cycles the data sheet
//! guarantees: about 2 years of continuous hourly changes. Idle devices do not wear (an
//! unchanged record is not rewritten), but a product expecting years of hourly changes
//! should spread the slots over more pages (see `firmware_core::storage`, "Wear").

use firmware_core::storage::Store;
use firmware_core::Error;
use stm32f1::stm32f103::FLASH;

/// First byte of the emulated EEPROM (page 62).
pub const BASE: usize = 0x0800_F800;
/// Flash page size of the medium-density STM32F103 (C8/CB).
pub const PAGE: usize = 1024;
/// Pages used (one per record-store slot).
pub const PAGES: usize = 2;

const KEY1: u32 = 0x4567_0123;
const KEY2: u32 = 0xCDEF_89AB;

/// The last [`PAGES`] flash pages as a byte store.
#[derive(Debug)]
pub struct FlashEeprom {
    flash: FLASH,
}

impl FlashEeprom {
    /// Takes the flash controller (it is only used here).
    pub fn new(flash: FLASH) -> Self {
        FlashEeprom { flash }
    }

    fn range(offset: usize, len: usize) -> Result<usize, Error> {
        match offset.checked_add(len) {
            Some(end) if end <= PAGES * PAGE => Ok(BASE + offset),
            _ => Err(Error::StorageIo),
        }
    }

    fn unlock(&mut self) {
        if self.flash.cr.read().lock().bit_is_set() {
            // SAFETY: the documented unlock sequence; KEYR accepts any 32-bit value (a wrong
            // one locks the controller until reset, which these constants do not).
            self.flash.keyr.write(|w| unsafe { w.key().bits(KEY1) });
            // SAFETY: as above.
            self.flash.keyr.write(|w| unsafe { w.key().bits(KEY2) });
        }
    }

    fn lock(&mut self) {
        self.flash.cr.modify(|_, w| w.lock().set_bit());
    }

    /// Wait for the operation in progress, then check and clear its status flags.
    fn finish(&mut self) -> Result<(), Error> {
        while self.flash.sr.read().bsy().bit_is_set() {}
        let sr = self.flash.sr.read();
        let failed = sr.pgerr().bit_is_set() || sr.wrprterr().bit_is_set();
        // The flags are cleared by writing 1.
        self.flash
            .sr
            .write(|w| w.eop().set_bit().pgerr().set_bit().wrprterr().set_bit());
        if failed {
            Err(Error::StorageIo)
        } else {
            Ok(())
        }
    }

    fn read_half(addr: usize) -> u16 {
        // SAFETY: `addr` is an even address inside the EEPROM pages (checked by the callers
        // through `range`): readable flash that no Rust object occupies.
        unsafe { core::ptr::read_volatile(addr as *const u16) }
    }

    fn program_half(&mut self, addr: usize, value: u16) -> Result<(), Error> {
        // SAFETY: `addr` is an even address inside the EEPROM pages (checked by the caller)
        // and PG is set: the flash controller turns this 16-bit write into a programming
        // operation. No Rust object lives in these pages.
        unsafe { core::ptr::write_volatile(addr as *mut u16, value) };
        self.finish()
    }

    fn write_halves(&mut self, start: usize, data: &[u8]) -> Result<(), Error> {
        let end = start + data.len();
        let mut addr = start & !1;
        while addr < end {
            let old = Self::read_half(addr);
            let mut bytes = old.to_le_bytes();
            for (i, b) in bytes.iter_mut().enumerate() {
                let a = addr + i;
                if a >= start && a < end {
                    if let Some(v) = data.get(a - start) {
                        *b = *v;
                    }
                }
            }
            let new = u16::from_le_bytes(bytes);
            if new != old {
                if old != 0xFFFF {
                    // Programming needs an erased half-word; the record store never asks
                    // for this (it erases the slot first).
                    return Err(Error::StorageIo);
                }
                self.program_half(addr, new)?;
            }
            addr += 2;
        }
        Ok(())
    }
}

impl Store for FlashEeprom {
    fn capacity(&self) -> usize {
        PAGES * PAGE
    }

    fn read(&mut self, offset: usize, buf: &mut [u8]) -> Result<(), Error> {
        let start = Self::range(offset, buf.len())?;
        for (i, b) in buf.iter_mut().enumerate() {
            // SAFETY: inside the EEPROM pages (`range`): readable flash, no Rust object.
            *b = unsafe { core::ptr::read_volatile((start + i) as *const u8) };
        }
        Ok(())
    }

    fn write(&mut self, offset: usize, data: &[u8]) -> Result<(), Error> {
        let start = Self::range(offset, data.len())?;
        self.unlock();
        self.flash.cr.modify(|_, w| w.pg().set_bit());
        let result = self.write_halves(start, data);
        self.flash.cr.modify(|_, w| w.pg().clear_bit());
        self.lock();
        result
    }

    fn erase(&mut self, offset: usize, len: usize) -> Result<(), Error> {
        let start = Self::range(offset, len)?;
        if !offset.is_multiple_of(PAGE) || !len.is_multiple_of(PAGE) {
            return Err(Error::StorageGeometry);
        }
        self.unlock();
        let mut result = Ok(());
        for page in (start..start + len).step_by(PAGE) {
            self.flash.cr.modify(|_, w| w.per().set_bit());
            // SAFETY: AR takes any address; this one is the start of an EEPROM page.
            self.flash
                .ar
                .write(|w| unsafe { w.far().bits(page as u32) });
            self.flash.cr.modify(|_, w| w.strt().set_bit());
            result = self.finish();
            self.flash.cr.modify(|_, w| w.per().clear_bit());
            if result.is_err() {
                break;
            }
        }
        self.lock();
        result
    }
}
