//! OpenPAYGO device firmware for the STM32F103C8 ("blue pill"; Cortex-M3, 64K flash,
//! 20K RAM), flashable with probe-rs (`probe-rs run --chip STM32F103C8 <elf>`).
//!
//! * Clock: the 8 MHz HSI after reset (no PLL: plenty for a line protocol, least power).
//! * USART1 at 115200 8N1 on PA9 (TX) / PA10 (RX); bytes go from the RXNE interrupt into a
//!   ring buffer, the main loop feeds them to the app and sends replies by polling TXE.
//! * Time: the RTC in the backup domain, clocked by the 32.768 kHz LSE crystal with a
//!   prescaler of 32768, counts seconds. With a backup battery on VBAT it keeps counting
//!   while main power is off, so credit runs out in calendar time. If the backup domain is
//!   lost (battery removed), the counter restarts at 0 and the app's rollback policy
//!   applies (see `firmware_core::payg`). The RTC second interrupt wakes the main loop.
//! * EEPROM: the last two flash pages (see [`eeprom`]).
//! * Load output: PC13 (the board's LED, active low) mirrors "power on".
//! * Nonces: the F103 has no RNG; a counter mixer seeded from the RTC and the 96-bit unique
//!   device ID, with the RTC prescaler phase as jitter (see `board_common::entropy`).
#![no_std]
#![no_main]

mod eeprom;

use board_common::entropy::Mixer;
use board_common::{Board, RxRing};
use cortex_m::peripheral::NVIC;
use cortex_m_rt::entry;
use stm32f1::stm32f103::{self as pac, interrupt, Interrupt};

const FIRMWARE: &str = concat!(env!("CARGO_PKG_VERSION"), "+stm32f103");
/// Base of the 96-bit unique device ID.
const UID: usize = 0x1FFF_F7E8;
/// LSE start-up time is up to a few seconds: poll this many times before giving up.
const LSE_TIMEOUT: u32 = 8_000_000;

static RX: RxRing<256> = RxRing::new();

struct BluePill {
    usart: pac::USART1,
    rtc: pac::RTC,
    gpioc: pac::GPIOC,
    mixer: Mixer,
}

impl Board for BluePill {
    /// The LSE-driven RTC keeps counting on the backup battery.
    const CLOCK_SURVIVES_RESET: bool = true;

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            while self.usart.sr.read().txe().bit_is_clear() {}
            self.usart.dr.write(|w| w.dr().bits(u16::from(b)));
        }
    }

    fn seconds(&mut self) -> u32 {
        rtc_counter(&self.rtc)
    }

    fn entropy(&mut self) -> u64 {
        let phase = self.rtc.divl.read().bits() ^ self.rtc.divh.read().bits() << 16;
        self.mixer.next(u64::from(phase))
    }

    fn set_power(&mut self, on: bool) {
        // PC13 low = LED on.
        if on {
            self.gpioc.bsrr.write(|w| w.br13().set_bit());
        } else {
            self.gpioc.bsrr.write(|w| w.bs13().set_bit());
        }
    }
}

/// The 32-bit seconds counter (read high, low, high again: the halves are not latched).
fn rtc_counter(rtc: &pac::RTC) -> u32 {
    loop {
        let high = rtc.cnth.read().bits();
        let low = rtc.cntl.read().bits();
        if rtc.cnth.read().bits() == high {
            return (high & 0xFFFF) << 16 | (low & 0xFFFF);
        }
    }
}

/// Wait until the previous write to an RTC register has completed (RTOFF = 1).
fn rtc_wait(rtc: &pac::RTC) {
    while rtc.crl.read().rtoff().bit_is_clear() {}
}

/// Bring up the backup domain and the RTC. On the very first power-up (RTC not yet
/// enabled) start the LSE, select it and set the 1 Hz prescaler; later boots find the RTC
/// running and only wait for the register synchronisation.
fn rtc_init(rcc: &pac::RCC, pwr: &pac::PWR, rtc: &pac::RTC) {
    rcc.apb1enr
        .modify(|_, w| w.pwren().set_bit().bkpen().set_bit());
    pwr.cr.modify(|_, w| w.dbp().set_bit());
    if rcc.bdcr.read().rtcen().bit_is_clear() {
        rcc.bdcr.modify(|_, w| w.lseon().on());
        let mut lse = false;
        for _ in 0..LSE_TIMEOUT {
            if rcc.bdcr.read().lserdy().is_ready() {
                lse = true;
                break;
            }
        }
        // Without a working crystal fall back to the ~40 kHz LSI (±50 %: a fault to fix,
        // but better than a device that never counts time).
        let prescaler: u32 = if lse {
            rcc.bdcr.modify(|_, w| w.rtcsel().lse().rtcen().enabled());
            32_768 - 1
        } else {
            rcc.csr.modify(|_, w| w.lsion().set_bit());
            while rcc.csr.read().lsirdy().bit_is_clear() {}
            rcc.bdcr.modify(|_, w| w.rtcsel().lsi().rtcen().enabled());
            40_000 - 1
        };
        rtc_wait(rtc);
        rtc.crl.modify(|_, w| w.cnf().enter());
        rtc.prlh.write(|w| w.prlh().bits((prescaler >> 16) as u8));
        rtc.prll.write(|w| w.prll().bits(prescaler as u16));
        rtc.crl.modify(|_, w| w.cnf().exit());
        rtc_wait(rtc);
    }
    // After a reset the APB view of the RTC registers is stale until RSF is set again.
    rtc.crl.modify(|_, w| w.rsf().clear_bit());
    while rtc.crl.read().rsf().bit_is_clear() {}
    rtc_wait(rtc);
    rtc.crh.modify(|_, w| w.secie().set_bit());
    rtc_wait(rtc);
}

fn unique_id() -> u64 {
    let mut id = 0u64;
    for i in 0..3 {
        // SAFETY: the unique device ID is three readable 32-bit words in system memory.
        let word = unsafe { core::ptr::read_volatile((UID + 4 * i) as *const u32) };
        id = id.rotate_left(21) ^ u64::from(word);
    }
    id
}

#[entry]
fn main() -> ! {
    let Some(dp) = pac::Peripherals::take() else {
        loop {
            cortex_m::asm::wfi();
        }
    };

    dp.RCC
        .apb2enr
        .modify(|_, w| w.iopaen().set_bit().iopcen().set_bit().usart1en().set_bit());
    // PA9 = USART1_TX (alternate push-pull, 50 MHz); PA10 = RX stays a floating input.
    dp.GPIOA
        .crh
        .modify(|_, w| w.mode9().output50().cnf9().alt_push_pull());
    // PC13 = load/LED output, off (high) until the app says otherwise.
    dp.GPIOC.bsrr.write(|w| w.bs13().set_bit());
    dp.GPIOC
        .crh
        .modify(|_, w| w.mode13().output2().cnf13().push_pull());

    // 115200 baud from PCLK2 = 8 MHz: 8e6 / (16 * 115200) = 4.34 -> 4 + 5/16 (+0.6 %).
    dp.USART1
        .brr
        .write(|w| w.div_mantissa().bits(4).div_fraction().bits(5));
    dp.USART1.cr1.write(|w| {
        w.ue()
            .set_bit()
            .te()
            .set_bit()
            .re()
            .set_bit()
            .rxneie()
            .set_bit()
    });

    rtc_init(&dp.RCC, &dp.PWR, &dp.RTC);

    // SAFETY: the handlers only touch the RX ring's producer side, USART1's receive path and
    // the RTC's second flag; nothing in `main` relies on these interrupts being masked.
    unsafe {
        NVIC::unmask(Interrupt::USART1);
        NVIC::unmask(Interrupt::RTC);
    }

    let seed = unique_id() ^ u64::from(rtc_counter(&dp.RTC)) << 32;
    let mut board = BluePill {
        usart: dp.USART1,
        rtc: dp.RTC,
        gpioc: dp.GPIOC,
        mixer: Mixer::new(seed),
    };
    let mut store = eeprom::FlashEeprom::new(dp.FLASH);
    board_common::run(&mut board, &RX, &mut store, FIRMWARE)
}

#[interrupt]
fn USART1() {
    // SAFETY: this handler owns USART1's receive path (SR/DR reads); `main` only writes DR
    // to transmit and reads SR.TXE, which these reads do not disturb.
    let usart = unsafe { &*pac::USART1::ptr() };
    loop {
        let sr = usart.sr.read();
        if sr.rxne().bit_is_clear() && sr.ore().bit_is_clear() {
            break;
        }
        // Reading DR after SR clears RXNE and an overrun (ORE) alike.
        let byte = usart.dr.read().dr().bits() as u8;
        if sr.rxne().bit_is_set() {
            RX.push(byte);
        }
    }
}

#[interrupt]
fn RTC() {
    // SAFETY: this handler only clears the second flag in CRL, a flag `main` never uses.
    let rtc = unsafe { &*pac::RTC::ptr() };
    rtc.crl.modify(|_, w| w.secf().clear_bit());
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {
        cortex_m::asm::wfi();
    }
}
