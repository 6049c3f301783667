//! Flash-size probe for the nRF51 (Cortex-M0, 256K flash / 16K RAM).
//!
//! Never meant to run: each variant is a real cortex-m-rt image whose inputs come from
//! volatile reads of RAM and whose results go to volatile writes, so the optimiser can
//! neither constant-fold the token engine away nor drop it as dead code. The flash size of
//! a variant minus that of `baseline` is what the added code costs on the device.
#![no_std]
#![no_main]

#[cfg(not(any(feature = "baseline", feature = "decoder")))]
compile_error!("enable exactly one variant feature: `baseline` or `decoder`");
#[cfg(all(feature = "baseline", feature = "decoder"))]
compile_error!("the variant features `baseline` and `decoder` exclude each other");

use core::ptr::{addr_of, addr_of_mut, read_volatile, write_volatile};
use cortex_m_rt::entry;

/// What a device gets from outside: its provisioning, its persisted state and the typed
/// token text.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
struct Input {
    key: [u8; 16],
    starting_code: u32,
    count: u32,
    mask: u16,
    restricted: u8,
    len: u8,
    text: [u8; 20],
}

/// What the device keeps and reports.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
struct Output {
    result: u32,
    value: u32,
    count: u32,
    mask: u16,
}

#[no_mangle]
static mut INPUT: Input = Input {
    key: [0; 16],
    starting_code: 0,
    count: 0,
    mask: 0,
    restricted: 0,
    len: 0,
    text: [0; 20],
};

#[no_mangle]
static mut OUTPUT: Output = Output {
    result: 0,
    value: 0,
    count: 0,
    mask: 0,
};

fn read_input() -> Input {
    // SAFETY: single-threaded image without interrupt handlers touching INPUT; the
    // volatile read is what keeps the inputs opaque to the optimiser.
    unsafe { read_volatile(addr_of!(INPUT)) }
}

fn write_output(out: Output) {
    // SAFETY: as for `read_input`.
    unsafe { write_volatile(addr_of_mut!(OUTPUT), out) }
}

#[entry]
fn main() -> ! {
    loop {
        let input = read_input();
        write_output(step(&input));
    }
}

/// The baseline: touch every input and produce an output, nothing else.
#[cfg(feature = "baseline")]
fn step(input: &Input) -> Output {
    let mut acc = input.starting_code ^ u32::from(input.restricted) ^ u32::from(input.len);
    for chunk in input.key.chunks_exact(4).chain(input.text.chunks_exact(4)) {
        let mut w = [0u8; 4];
        w.copy_from_slice(chunk);
        acc ^= u32::from_le_bytes(w);
    }
    Output {
        result: acc,
        value: 0,
        count: input.count,
        mask: input.mask,
    }
}

#[cfg(feature = "decoder")]
mod decoder {
    use super::{addr_of, addr_of_mut, read_volatile, write_volatile, Input, Output};
    use firmware_core::token::{
        self, ChainPos, Checkpoint, Outcome, TokenKind, TokenType, UsedCounts,
    };

    /// Chain checkpoints persisted by the device (as many as the device will keep).
    const CHECKPOINTS: usize = 4;

    /// The checkpoints as the device stores them: per slot `[tag, field, count, code_lo,
    /// code_hi]` with tag 0 = empty, 1 = standard, 2 = extended. Zeroed (`.bss`), like
    /// state that a real device restores from its storage at boot. Restored and saved slot
    /// by slot, in place: whole-array copies would pull in `memcpy` (~0.8 KB on thumbv6m).
    #[no_mangle]
    static mut CHECKPOINT_STORE: [[u32; 5]; CHECKPOINTS] = [[0; 5]; CHECKPOINTS];

    fn load(checkpoints: &mut [Option<Checkpoint>; CHECKPOINTS]) {
        for (i, slot) in checkpoints.iter_mut().enumerate() {
            // SAFETY: single-threaded image; nothing else touches CHECKPOINT_STORE.
            let [tag, field, count, lo, hi] =
                unsafe { read_volatile(addr_of!(CHECKPOINT_STORE[i])) };
            let kind = match tag {
                1 => TokenKind::Standard,
                2 => TokenKind::Extended,
                _ => {
                    *slot = None;
                    continue;
                }
            };
            *slot = Some(Checkpoint {
                kind,
                field,
                pos: ChainPos {
                    count,
                    code: u64::from(lo) | u64::from(hi) << 32,
                },
            });
        }
    }

    fn save(checkpoints: &[Option<Checkpoint>; CHECKPOINTS]) {
        for (i, slot) in checkpoints.iter().enumerate() {
            let words = match slot {
                None => [0; 5],
                Some(c) => [
                    match c.kind {
                        TokenKind::Standard => 1,
                        TokenKind::Extended => 2,
                    },
                    c.field,
                    c.pos.count,
                    c.pos.code as u32,
                    (c.pos.code >> 32) as u32,
                ],
            };
            // SAFETY: as in `load`.
            unsafe { write_volatile(addr_of_mut!(CHECKPOINT_STORE[i]), words) };
        }
    }

    /// Parse the token text and decode it against the persisted state.
    pub(super) fn step(input: &Input) -> Output {
        let mut state = UsedCounts::from_parts(input.count, input.mask);
        let len = usize::from(input.len).min(input.text.len());
        let digits = input.text.get(..len).unwrap_or_default();
        let (result, value) = match token::parse(digits, input.restricted != 0) {
            Err(_) => (0xE0, 0),
            Ok((number, kind)) => {
                let mut checkpoints = [None; CHECKPOINTS];
                load(&mut checkpoints);
                let decoded = token::decode(
                    &input.key,
                    input.starting_code,
                    &mut state,
                    number,
                    kind,
                    &mut checkpoints,
                );
                save(&checkpoints);
                match decoded.outcome {
                    Outcome::Accepted {
                        token_type, value, ..
                    } => (
                        match token_type {
                            TokenType::AddTime => 1,
                            TokenType::SetTime => 2,
                            TokenType::DisablePayg => 3,
                            TokenType::CounterSync => 4,
                        },
                        value,
                    ),
                    Outcome::Invalid => (10, 0),
                    Outcome::AlreadyUsed => (11, 0),
                }
            }
        };
        Output {
            result,
            value,
            count: state.count(),
            mask: state.mask(),
        }
    }
}
#[cfg(feature = "decoder")]
use decoder::step;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {
        core::hint::spin_loop();
    }
}
