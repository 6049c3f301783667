//! OpenPAYGO device firmware for the BBC micro:bit v1 (nRF51822, Cortex-M0 at 16 MHz) and
//! QEMU's `microbit` machine.
//!
//! * UART0 at 115200 8N1 on P0.24 (TX) / P0.25 (RX), the micro:bit's USB-serial bridge;
//!   received bytes go from the RXDRDY interrupt (IRQ 2) into a ring buffer, the main loop
//!   feeds them to the app and sends replies by polling TXDRDY.
//! * SysTick at 1 kHz from the 16 MHz core clock: seconds since boot.
//! * Nonces: the RNG peripheral (0x4000_D000, which QEMU models too) XOR a counter mixer.
//! * EEPROM: `eeprom.bin` via semihosting (feature `semihosting`, default), else RAM.
#![no_std]
#![no_main]

use board_common::clock::Uptime;
use board_common::entropy::Mixer;
use board_common::{Board, RxRing};
use cortex_m::peripheral::{NVIC, SYST};
use cortex_m_rt::{entry, exception};

const FIRMWARE: &str = concat!(env!("CARGO_PKG_VERSION"), "+microbit");
const CORE_HZ: u32 = 16_000_000;
/// UART0 interrupt number.
const UART0_IRQ: u16 = 2;

static RX: RxRing<256> = RxRing::new();
static UPTIME: Uptime = Uptime::new();

/// nRF51 UART0 registers (offsets from 0x4000_2000).
mod uart {
    use board_common::mmio::Reg;

    const BASE: usize = 0x4000_2000;
    // SAFETY (all constants): UART0 registers of the nRF51822 reference manual.
    pub const STARTRX: Reg = unsafe { Reg::at(BASE) };
    pub const STARTTX: Reg = unsafe { Reg::at(BASE + 0x008) };
    pub const EVENTS_RXDRDY: Reg = unsafe { Reg::at(BASE + 0x108) };
    pub const EVENTS_TXDRDY: Reg = unsafe { Reg::at(BASE + 0x11C) };
    pub const INTENSET: Reg = unsafe { Reg::at(BASE + 0x304) };
    pub const ENABLE: Reg = unsafe { Reg::at(BASE + 0x500) };
    pub const PSELTXD: Reg = unsafe { Reg::at(BASE + 0x50C) };
    pub const PSELRXD: Reg = unsafe { Reg::at(BASE + 0x514) };
    pub const RXD: Reg = unsafe { Reg::at(BASE + 0x518) };
    pub const TXD: Reg = unsafe { Reg::at(BASE + 0x51C) };
    pub const BAUDRATE: Reg = unsafe { Reg::at(BASE + 0x524) };

    pub const BAUD_115200: u32 = 0x01D7_E000;
    pub const INT_RXDRDY: u32 = 1 << 2;
    pub const ENABLE_UART: u32 = 4;
}

/// nRF51 RNG registers (offsets from 0x4000_D000).
mod rng {
    use board_common::mmio::Reg;

    const BASE: usize = 0x4000_D000;
    // SAFETY (all constants): RNG registers of the nRF51822 reference manual.
    pub const START: Reg = unsafe { Reg::at(BASE) };
    pub const EVENTS_VALRDY: Reg = unsafe { Reg::at(BASE + 0x100) };
    pub const CONFIG: Reg = unsafe { Reg::at(BASE + 0x504) };
    pub const VALUE: Reg = unsafe { Reg::at(BASE + 0x508) };
}

#[derive(Clone, Copy)]
struct Irq(u16);

// SAFETY: `Irq` values are only built from `UART0_IRQ`, a valid nRF51 interrupt number.
unsafe impl cortex_m::interrupt::InterruptNumber for Irq {
    fn number(self) -> u16 {
        self.0
    }
}

struct Microbit {
    mixer: Mixer,
    rng_ok: bool,
}

impl Microbit {
    /// One RNG byte, or `None` if the peripheral does not answer (polls a bounded time).
    fn rng_byte(&self) -> Option<u8> {
        for _ in 0..10_000 {
            if rng::EVENTS_VALRDY.read() != 0 {
                rng::EVENTS_VALRDY.write(0);
                return Some(rng::VALUE.read() as u8);
            }
        }
        None
    }
}

impl Board for Microbit {
    const CLOCK_SURVIVES_RESET: bool = false;

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            uart::EVENTS_TXDRDY.write(0);
            uart::TXD.write(u32::from(b));
            // Bounded: a wedged transmitter must not stop the device.
            for _ in 0..100_000 {
                if uart::EVENTS_TXDRDY.read() != 0 {
                    break;
                }
            }
        }
    }

    fn seconds(&mut self) -> u32 {
        UPTIME.seconds()
    }

    fn entropy(&mut self) -> u64 {
        let jitter = u64::from(SYST::get_current()) ^ u64::from(UPTIME.millis()) << 24;
        let mut hw = 0u64;
        if self.rng_ok {
            for _ in 0..8 {
                match self.rng_byte() {
                    Some(b) => hw = hw << 8 | u64::from(b),
                    None => {
                        self.rng_ok = false;
                        break;
                    }
                }
            }
        }
        self.mixer.next(jitter) ^ hw
    }
}

#[entry]
fn main() -> ! {
    let Some(mut cp) = cortex_m::Peripherals::take() else {
        loop {
            cortex_m::asm::wfi();
        }
    };

    uart::PSELTXD.write(24);
    uart::PSELRXD.write(25);
    uart::BAUDRATE.write(uart::BAUD_115200);
    uart::ENABLE.write(uart::ENABLE_UART);
    uart::EVENTS_RXDRDY.write(0);
    uart::INTENSET.write(uart::INT_RXDRDY);
    uart::STARTRX.write(1);
    uart::STARTTX.write(1);
    // SAFETY: the UART0 handler only touches the RX ring's producer side and UART0's RX
    // registers, which nothing else uses; unmasking it cannot break a critical section.
    unsafe { NVIC::unmask(Irq(UART0_IRQ)) };
    Uptime::start(&mut cp.SYST, CORE_HZ);

    rng::CONFIG.write(1); // bias correction
    rng::START.write(1); // generate continuously

    #[cfg(feature = "semihosting")]
    let seed = u64::from(board_common::semihosting::host_time());
    #[cfg(not(feature = "semihosting"))]
    let seed = 0;
    let mut board = Microbit {
        mixer: Mixer::new(seed),
        rng_ok: true,
    };

    #[cfg(feature = "semihosting")]
    let Ok(mut store) =
        board_common::semihosting::SemihostingStore::open(c"eeprom.bin", board_common::STORE_BYTES)
    else {
        loop {
            cortex_m::asm::wfi();
        }
    };
    #[cfg(not(feature = "semihosting"))]
    let mut store = board_common::ram::RamStore::<{ board_common::STORE_BYTES }>::new();

    board_common::run(&mut board, &RX, &mut store, FIRMWARE)
}

/// UART0 receive interrupt: acknowledge RXDRDY *before* reading RXD (the other order can
/// lose a byte that arrives in between), and repeat while bytes keep arriving.
extern "C" fn uart0_handler() {
    while uart::EVENTS_RXDRDY.read() != 0 {
        uart::EVENTS_RXDRDY.write(0);
        RX.push(uart::RXD.read() as u8);
    }
}

#[exception]
fn SysTick() {
    UPTIME.on_systick();
}

extern "C" {
    /// cortex-m-rt's default interrupt handler.
    fn DefaultHandler();
}

/// The nRF51's 32 interrupt vectors: UART0 (2) is ours, the rest go to `DefaultHandler`.
#[link_section = ".vector_table.interrupts"]
#[no_mangle]
#[used]
static __INTERRUPTS: [unsafe extern "C" fn(); 32] = {
    let mut v = [DefaultHandler as unsafe extern "C" fn(); 32];
    v[UART0_IRQ as usize] = uart0_handler;
    v
};

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {
        cortex_m::asm::wfi();
    }
}
