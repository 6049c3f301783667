//! What every board firmware shares: the UART receive ring filled by the receive
//! interrupt, the 1 kHz uptime clock, the stores (semihosting file or RAM), a nonce mixer
//! and the main loop around [`firmware_core::app::App`]. A board crate supplies only its
//! UART, clock and interrupt wiring through [`Board`].
#![no_std]

pub mod clock;
pub mod entropy;
pub mod mmio;
pub mod ram;
pub mod ring;
#[cfg(feature = "semihosting")]
pub mod semihosting;

use firmware_core::app::{App, RECORD_LEN, REPLY_MAX, SLOTS};
use firmware_core::storage::{Store, HEADER_LEN};

pub use ring::RxRing;

/// Store size for the device record: every slot holds a header and the record, rounded
/// up to 64 bytes per slot.
pub const STORE_BYTES: usize = SLOTS * (HEADER_LEN + RECORD_LEN).next_multiple_of(64);

/// The hardware a board gives the main loop.
pub trait Board {
    /// Whether [`Board::seconds`] keeps counting across resets and power loss (a
    /// battery-backed RTC). If not, the main loop continues from the last time the device
    /// persisted (see [`run`]).
    const CLOCK_SURVIVES_RESET: bool;

    /// Send `bytes` on the UART (may block until they are out).
    fn write(&mut self, bytes: &[u8]);

    /// Seconds from the board's clock.
    fn seconds(&mut self) -> u32;

    /// A fresh 64-bit nonce.
    fn entropy(&mut self) -> u64;

    /// Drive the load (relay, MOSFET, LED). Default: no load output.
    fn set_power(&mut self, on: bool) {
        let _ = on;
    }

    /// Wait for an interrupt (UART byte or clock tick).
    fn idle(&mut self) {
        cortex_m::asm::wfi();
    }
}

/// The device: boot the app from `store`, then forever feed it the bytes of `rx`, tick it
/// once per second and send its replies.
///
/// Time: `now` is [`Board::seconds`]. On a board whose clock restarts at zero with every
/// boot (the emulated ones), `now` is offset by the last-seen time stored in the record, so
/// the device never sees time go backwards (which the PAYG layer would treat as clock
/// tampering). The time the device was off, and up to one persistence period before that,
/// is then not charged against the credit: such a board cannot know it.
pub fn run<B: Board, S: Store, const N: usize>(
    board: &mut B,
    rx: &RxRing<N>,
    store: &mut S,
    firmware: &'static str,
) -> ! {
    let base = if B::CLOCK_SURVIVES_RESET {
        0
    } else {
        firmware_core::app::stored_last_seen(&mut *store).unwrap_or(0)
    };
    let clock = move |board: &mut B| base.saturating_add(board.seconds());
    let mut now = clock(board);
    // Built here and used in place: `App::boot` returns the started app, a 252-byte move.
    let mut app = App::new(&mut *store, firmware);
    let Ok(app) = &mut app else {
        // Only a store too small for two records gets here: a build error, not a field fault.
        loop {
            board.idle();
        }
    };
    app.start(now);
    board.set_power(app.power_on(now));
    let mut reply = [0u8; REPLY_MAX];
    loop {
        let t = clock(board);
        if t != now {
            now = t;
            let out = app.tick(now);
            board.set_power(out.power_on);
        }
        while let Some(byte) = rx.pop() {
            let now = clock(board);
            let mut entropy = || board.entropy();
            if let Some(n) = app.receive(byte, now, &mut entropy, &mut reply) {
                board.write(reply.get(..n).unwrap_or_default());
                board.set_power(app.power_on(now));
            }
        }
        board.idle();
    }
}
