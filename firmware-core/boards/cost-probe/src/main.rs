//! Decoder cost on the micro:bit's Cortex-M0, under `qemu-system-arm -icount shift=0`
//! (one instruction = one virtual nanosecond). SysTick counts the 16 MHz core clock, so one
//! tick is 62.5 instructions. Prints one line per case on the semihosting console:
//! `cost <case> <count> <hash steps> <systick ticks>` and exits. A measuring tool, not
//! device firmware: it may use `core::fmt`.
#![no_std]
#![no_main]

use board_common::semihosting::{exit, write0};
use core::fmt::Write;
use cortex_m_rt::entry;
use firmware_core::token::{
    decode, generate, Checkpoint, Decoded, TokenKind, TokenType, UsedCounts,
};

const KEY: [u8; 16] = *b"cost-model-key-1";
const SC: u32 = 123_456_789;

const SYST_CSR: *mut u32 = 0xE000_E010 as *mut u32;
const SYST_RVR: *mut u32 = 0xE000_E014 as *mut u32;
const SYST_CVR: *mut u32 = 0xE000_E018 as *mut u32;

fn systick() -> u32 {
    // SAFETY: SysTick's current-value register is always readable on Cortex-M.
    unsafe { SYST_CVR.read_volatile() }
}

/// Run `f` and return its result with the SysTick ticks it took (the counter counts down).
fn timed(f: impl FnOnce() -> Decoded) -> (Decoded, u32) {
    let t0 = systick();
    let d = f();
    let t1 = systick();
    (d, t0.wrapping_sub(t1) & 0x00FF_FFFF)
}

struct Line {
    buf: [u8; 96],
    len: usize,
}

impl Write for Line {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for b in s.bytes() {
            // Keep the last byte for the NUL terminator.
            if self.len + 1 < self.buf.len() {
                self.buf[self.len] = b;
                self.len += 1;
            }
        }
        Ok(())
    }
}

fn report(case: &str, count: u32, d: Decoded, ticks: u32) {
    let mut line = Line {
        buf: [0; 96],
        len: 0,
    };
    let _ = writeln!(line, "cost {case} {count} {} {ticks}", d.steps);
    if let Ok(text) = core::ffi::CStr::from_bytes_until_nul(&line.buf) {
        write0(text);
    }
}

fn add(last: u32) -> u64 {
    generate(
        &KEY,
        SC,
        last,
        TokenType::AddTime,
        Some(7),
        TokenKind::Standard,
        None,
    )
    .map_or(0, |g| g.number)
}

#[entry]
fn main() -> ! {
    // SAFETY: SysTick setup: full 24-bit reload, core clock, no interrupt.
    unsafe {
        SYST_RVR.write_volatile(0x00FF_FFFF);
        SYST_CVR.write_volatile(0);
        SYST_CSR.write_volatile(0b101);
    }
    for count in [10u32, 60_000] {
        let mut primed = UsedCounts::new(count - 2);
        let mut slots: [Option<Checkpoint>; 2] = [None; 2];
        let _ = decode(
            &KEY,
            SC,
            &mut primed,
            add(count - 2),
            TokenKind::Standard,
            &mut slots,
        );
        let far = add(count + 62);

        let (mut s, mut cps) = (primed, slots);
        let (d, t) = timed(|| decode(&KEY, SC, &mut s, far, TokenKind::Standard, &mut cps));
        report("valid_jump64_checkpointed", count, d, t);

        let mut s = primed;
        let (d, t) = timed(|| decode(&KEY, SC, &mut s, far, TokenKind::Standard, &mut []));
        report("valid_jump64_uncached", count, d, t);

        let (mut s, mut cps) = (primed, slots);
        let (d, t) = timed(|| decode(&KEY, SC, &mut s, 111_111_111, TokenKind::Standard, &mut cps));
        report("invalid", count, d, t);
    }
    exit()
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    exit()
}
