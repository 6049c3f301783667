//! Memory-mapped 32-bit registers for the few peripherals the boards drive by hand.

use core::ptr::{read_volatile, write_volatile};

/// One 32-bit memory-mapped register.
#[derive(Debug, Clone, Copy)]
pub struct Reg(usize);

impl Reg {
    /// The register at `addr`.
    ///
    /// # Safety
    /// `addr` must be a 4-byte aligned peripheral register of the chip the firmware runs on,
    /// for which any volatile 32-bit read and write is defined behaviour (it may have side
    /// effects on the peripheral, never on Rust-visible memory).
    pub const unsafe fn at(addr: usize) -> Self {
        Reg(addr)
    }

    /// The register `offset` bytes further on (in the same peripheral block).
    ///
    /// # Safety
    /// As for [`Reg::at`], for the resulting address.
    pub const unsafe fn offset(self, offset: usize) -> Self {
        Reg(self.0 + offset)
    }

    /// Volatile read.
    #[inline]
    pub fn read(self) -> u32 {
        // SAFETY: `Reg::at`'s contract: a valid MMIO register, not Rust memory.
        unsafe { read_volatile(self.0 as *const u32) }
    }

    /// Volatile write.
    #[inline]
    pub fn write(self, value: u32) {
        // SAFETY: as for `read`.
        unsafe { write_volatile(self.0 as *mut u32, value) }
    }

    /// Read, apply `f`, write back (not atomic: callers own the register).
    #[inline]
    pub fn modify(self, f: impl FnOnce(u32) -> u32) {
        self.write(f(self.read()));
    }
}
