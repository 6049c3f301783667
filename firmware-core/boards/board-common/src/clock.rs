//! Time since boot, kept by the SysTick interrupt at 1 kHz.

use core::sync::atomic::{AtomicU32, Ordering};
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::SYST;

/// Seconds and milliseconds since boot. Written only by [`Uptime::on_systick`] (the SysTick
/// handler), so plain loads and stores suffice (the Cortex-M0 has no atomic read-modify-write).
/// Seconds are counted separately so they do not wrap with the milliseconds after 49 days.
#[derive(Debug)]
pub struct Uptime {
    ms: AtomicU32,
    secs: AtomicU32,
}

impl Default for Uptime {
    fn default() -> Self {
        Self::new()
    }
}

impl Uptime {
    /// Zero.
    pub const fn new() -> Self {
        Uptime {
            ms: AtomicU32::new(0),
            secs: AtomicU32::new(0),
        }
    }

    /// Start SysTick from the core clock (`core_hz`) with one interrupt per millisecond.
    pub fn start(syst: &mut SYST, core_hz: u32) {
        syst.set_clock_source(SystClkSource::Core);
        syst.set_reload(core_hz / 1000 - 1);
        syst.clear_current();
        syst.enable_interrupt();
        syst.enable_counter();
    }

    /// Call from the SysTick exception handler, once per millisecond.
    pub fn on_systick(&self) {
        let ms = self.ms.load(Ordering::Relaxed) + 1;
        if ms >= 1000 {
            let s = self.secs.load(Ordering::Relaxed);
            self.secs.store(s.wrapping_add(1), Ordering::Relaxed);
            self.ms.store(0, Ordering::Relaxed);
        } else {
            self.ms.store(ms, Ordering::Relaxed);
        }
    }

    /// Whole seconds since boot.
    pub fn seconds(&self) -> u32 {
        self.secs.load(Ordering::Relaxed)
    }

    /// Milliseconds into the current second (for mixing into entropy).
    pub fn millis(&self) -> u32 {
        self.ms.load(Ordering::Relaxed)
    }
}
