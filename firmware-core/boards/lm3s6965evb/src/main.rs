//! OpenPAYGO device firmware for the TI Stellaris LM3S6965 evaluation board (Cortex-M3)
//! and QEMU's `lm3s6965evb` machine.
//!
//! * UART0 (ARM PL011 at 0x4000_C000) at 115200 8N1 on PA0/PA1; received bytes go from the
//!   RX and RX-timeout interrupts (IRQ 5) into a ring buffer, the main loop feeds them to
//!   the app and sends replies by polling the TX FIFO.
//! * SysTick at 1 kHz from the core clock (12.5 MHz under QEMU): seconds since boot.
//! * Nonces: the chip has no RNG; a counter mixer seeded from the host time (semihosting)
//!   and the SysTick phase (see `board_common::entropy`).
//! * EEPROM: `eeprom.bin` via semihosting (feature `semihosting`, default), else RAM.
#![no_std]
#![no_main]

use board_common::clock::Uptime;
use board_common::entropy::Mixer;
use board_common::{Board, RxRing};
use cortex_m::peripheral::{NVIC, SYST};
use cortex_m_rt::{entry, exception};

const FIRMWARE: &str = concat!(env!("CARGO_PKG_VERSION"), "+lm3s6965");
/// Core clock as QEMU runs it (SysTick measured at 12.5 MHz).
const CORE_HZ: u32 = 12_500_000;
/// UART0 interrupt number.
const UART0_IRQ: u16 = 5;

static RX: RxRing<256> = RxRing::new();
static UPTIME: Uptime = Uptime::new();

/// The PL011 UART0 registers and the clock gating / pin muxing it needs.
mod regs {
    use board_common::mmio::Reg;

    const UART0: usize = 0x4000_C000;
    // SAFETY (all constants): registers of the LM3S6965 data sheet (UART0 = PL011,
    // system control, GPIO port A).
    pub const DR: Reg = unsafe { Reg::at(UART0) };
    pub const FR: Reg = unsafe { Reg::at(UART0 + 0x18) };
    pub const IBRD: Reg = unsafe { Reg::at(UART0 + 0x24) };
    pub const FBRD: Reg = unsafe { Reg::at(UART0 + 0x28) };
    pub const LCRH: Reg = unsafe { Reg::at(UART0 + 0x2C) };
    pub const CTL: Reg = unsafe { Reg::at(UART0 + 0x30) };
    pub const IM: Reg = unsafe { Reg::at(UART0 + 0x38) };
    pub const ICR: Reg = unsafe { Reg::at(UART0 + 0x44) };
    pub const RCGC1: Reg = unsafe { Reg::at(0x400F_E104) };
    pub const RCGC2: Reg = unsafe { Reg::at(0x400F_E108) };
    pub const GPIOA_AFSEL: Reg = unsafe { Reg::at(0x4000_4420) };
    pub const GPIOA_DEN: Reg = unsafe { Reg::at(0x4000_451C) };

    pub const FR_RXFE: u32 = 1 << 4;
    pub const FR_TXFF: u32 = 1 << 5;
    /// Receive and receive-timeout interrupts.
    pub const INT_RX: u32 = 1 << 4 | 1 << 6;
    /// 8 data bits, FIFOs on.
    pub const LCRH_8N1_FIFO: u32 = 0b11 << 5 | 1 << 4;
    /// UARTEN | TXE | RXE.
    pub const CTL_ENABLE: u32 = 0x301;
}

#[derive(Clone, Copy)]
struct Irq(u16);

// SAFETY: `Irq` values are only built from `UART0_IRQ`, a valid LM3S6965 interrupt number.
unsafe impl cortex_m::interrupt::InterruptNumber for Irq {
    fn number(self) -> u16 {
        self.0
    }
}

struct Lm3s {
    mixer: Mixer,
}

impl Board for Lm3s {
    const CLOCK_SURVIVES_RESET: bool = false;

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            // Bounded: a wedged transmitter must not stop the device.
            for _ in 0..100_000 {
                if regs::FR.read() & regs::FR_TXFF == 0 {
                    break;
                }
            }
            regs::DR.write(u32::from(b));
        }
    }

    fn seconds(&mut self) -> u32 {
        UPTIME.seconds()
    }

    fn entropy(&mut self) -> u64 {
        let jitter = u64::from(SYST::get_current()) ^ u64::from(UPTIME.millis()) << 24;
        self.mixer.next(jitter)
    }
}

#[entry]
fn main() -> ! {
    let Some(mut cp) = cortex_m::Peripherals::take() else {
        loop {
            cortex_m::asm::wfi();
        }
    };

    regs::RCGC1.modify(|v| v | 1); // UART0 clock
    regs::RCGC2.modify(|v| v | 1); // GPIO port A clock
    regs::GPIOA_AFSEL.modify(|v| v | 0b11); // PA0/PA1 = U0RX/U0TX
    regs::GPIOA_DEN.modify(|v| v | 0b11);
    regs::CTL.write(0);
    // 115200 baud from 12.5 MHz: 12.5e6 / (16 * 115200) = 6.78 -> 6 + 50/64.
    regs::IBRD.write(6);
    regs::FBRD.write(50);
    regs::LCRH.write(regs::LCRH_8N1_FIFO);
    regs::ICR.write(0x7FF);
    regs::IM.write(regs::INT_RX);
    regs::CTL.write(regs::CTL_ENABLE);
    // SAFETY: the UART0 handler only touches the RX ring's producer side and UART0's
    // RX/interrupt registers, which nothing else uses; unmasking it breaks no critical section.
    unsafe { NVIC::unmask(Irq(UART0_IRQ)) };
    Uptime::start(&mut cp.SYST, CORE_HZ);

    #[cfg(feature = "semihosting")]
    let seed = u64::from(board_common::semihosting::host_time());
    #[cfg(not(feature = "semihosting"))]
    let seed = 0;
    let mut board = Lm3s {
        mixer: Mixer::new(seed),
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

/// UART0 interrupt: clear the RX interrupts *before* draining the FIFO (the other order
/// loses a byte that arrives in between), then read until the FIFO is empty.
extern "C" fn uart0_handler() {
    regs::ICR.write(regs::INT_RX);
    while regs::FR.read() & regs::FR_RXFE == 0 {
        RX.push(regs::DR.read() as u8);
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

/// The LM3S6965's interrupt vectors (table sized for 64): UART0 (5) is ours, the rest go
/// to `DefaultHandler`.
#[link_section = ".vector_table.interrupts"]
#[no_mangle]
#[used]
static __INTERRUPTS: [unsafe extern "C" fn(); 64] = {
    let mut v = [DefaultHandler as unsafe extern "C" fn(); 64];
    v[UART0_IRQ as usize] = uart0_handler;
    v
};

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {
        cortex_m::asm::wfi();
    }
}
