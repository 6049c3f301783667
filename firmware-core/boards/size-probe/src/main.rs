//! Flash-size probe for the nRF51 (Cortex-M0, 256K flash / 16K RAM).
//!
//! Never meant to run: each variant is a real cortex-m-rt image whose inputs come from
//! volatile reads of RAM and whose results go to volatile writes, so the optimiser can
//! neither constant-fold the token engine away nor drop it as dead code. The flash size of
//! a variant minus that of `baseline` is what the added code costs on the device.
#![no_std]
#![no_main]

#[cfg(not(any(feature = "baseline", feature = "decoder", feature = "device")))]
compile_error!("enable exactly one variant feature: `baseline`, `decoder` or `device`");
#[cfg(any(
    all(feature = "baseline", feature = "decoder"),
    all(feature = "baseline", feature = "device"),
    all(feature = "decoder", feature = "device"),
))]
compile_error!("the variant features `baseline`, `decoder` and `device` exclude each other");

use core::ptr::{addr_of, addr_of_mut, read_volatile, write_volatile};
use cortex_m_rt::entry;

#[cfg(not(feature = "device"))]
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

#[cfg(not(feature = "device"))]
/// What the device keeps and reports.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
struct Output {
    result: u32,
    value: u32,
    count: u32,
    mask: u16,
}

#[cfg(not(feature = "device"))]
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

#[cfg(not(feature = "device"))]
#[no_mangle]
static mut OUTPUT: Output = Output {
    result: 0,
    value: 0,
    count: 0,
    mask: 0,
};

#[cfg(not(feature = "device"))]
fn read_input() -> Input {
    // SAFETY: single-threaded image without interrupt handlers touching INPUT; the
    // volatile read is what keeps the inputs opaque to the optimiser.
    unsafe { read_volatile(addr_of!(INPUT)) }
}

#[cfg(not(feature = "device"))]
fn write_output(out: Output) {
    // SAFETY: as for `read_input`.
    unsafe { write_volatile(addr_of_mut!(OUTPUT), out) }
}

#[cfg(not(feature = "device"))]
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

/// The whole device logic: `firmware_core::app::App` (token decoder + PAYG state machine +
/// record store + UART protocol) over an in-RAM "EEPROM", fed with opaque events.
#[cfg(feature = "device")]
mod device {
    use super::{addr_of, addr_of_mut, read_volatile, write_volatile};
    use core::mem::MaybeUninit;
    use firmware_core::app::{App, REPLY_MAX};
    use firmware_core::payg::{Keypress, Output};
    use firmware_core::storage::Store;
    use firmware_core::Error;

    /// Bytes of the simulated EEPROM: two record slots of 128 bytes (a record is 104).
    const EEPROM_LEN: usize = 256;

    /// The simulated EEPROM. Zeroed (`.bss`): an all-zero slot reads as blank. Not device
    /// state: a real board has the bytes in its EEPROM or flash, not in RAM.
    #[no_mangle]
    static mut EEPROM: [u8; EEPROM_LEN] = [0; EEPROM_LEN];

    /// The EEPROM driver: zero-sized, so that `App<Eeprom>` is exactly the device state.
    /// Volatile byte accesses, like a memory-mapped EEPROM, so nothing folds.
    #[derive(Debug)]
    struct Eeprom;

    fn range(offset: usize, len: usize) -> Result<core::ops::Range<usize>, Error> {
        match offset.checked_add(len) {
            Some(end) if end <= EEPROM_LEN => Ok(offset..end),
            _ => Err(Error::StorageIo),
        }
    }

    impl Store for Eeprom {
        fn capacity(&self) -> usize {
            EEPROM_LEN
        }

        fn read(&mut self, offset: usize, buf: &mut [u8]) -> Result<(), Error> {
            for (i, b) in range(offset, buf.len())?.zip(buf) {
                // SAFETY: `i < EEPROM_LEN` (checked by `range`); single-threaded image.
                *b = unsafe { read_volatile(addr_of!(EEPROM).cast::<u8>().add(i)) };
            }
            Ok(())
        }

        fn write(&mut self, offset: usize, data: &[u8]) -> Result<(), Error> {
            for (i, b) in range(offset, data.len())?.zip(data) {
                // SAFETY: as in `read`.
                unsafe { write_volatile(addr_of_mut!(EEPROM).cast::<u8>().add(i), *b) };
            }
            Ok(())
        }
    }

    /// One event from the outside world: what happened (`op`: 0 = UART byte, 1 = tick,
    /// 2 = key press), its byte and the clock.
    #[derive(Debug, Clone, Copy)]
    #[repr(C)]
    struct Event {
        op: u8,
        byte: u8,
        now: u32,
    }

    #[no_mangle]
    static mut EVENT: Event = Event {
        op: 0,
        byte: 0,
        now: 0,
    };

    /// The hardware RNG's output register.
    #[no_mangle]
    static mut RNG: u64 = 0;

    /// As large as the application, the device's RAM state: `cargo xtask size` reports the
    /// size of this symbol as `size_of::<App<Eeprom>>()`. Kept in `.bss` so that the `ram`
    /// column counts the state, although the app itself lives on `run`'s stack frame.
    #[used]
    #[no_mangle]
    static mut APP: MaybeUninit<App<Eeprom>> = MaybeUninit::uninit();

    /// Where the UART transmitter takes replies from.
    #[no_mangle]
    static mut REPLY: [u8; REPLY_MAX] = [0; REPLY_MAX];

    /// What the board acts on: reply length (0 = none), the load switch, the event output.
    #[no_mangle]
    static mut REPLY_LEN: usize = 0;
    #[no_mangle]
    static mut POWER: bool = false;
    /// What a board does with an event's `Output`: the LED pattern (LED + 1, count; 0 =
    /// none), and the tamper flag for its log. Field by field: a volatile write of the whole
    /// 24-byte `Output` is a `memcpy` call.
    #[no_mangle]
    static mut EVENT_OUTPUT: [u8; 3] = [0; 3];

    fn shown(out: &Output) -> [u8; 3] {
        let (led, count) = out
            .feedback
            .blinks()
            .map_or((0, 0), |b| (b.led as u8 + 1, b.count));
        [led, count, u8::from(out.tamper)]
    }

    fn event() -> Event {
        // SAFETY: single-threaded image without interrupt handlers.
        unsafe { read_volatile(addr_of!(EVENT)) }
    }

    pub(super) fn run() -> ! {
        // The app is built on this stack frame and used there, as the boards do: a
        // `static` (or `App::boot`, which returns the started app) costs a 252-byte move.
        let mut app = App::new(Eeprom, "size-probe");
        let Ok(app) = &mut app else {
            loop {
                core::hint::spin_loop();
            }
        };
        app.start(event().now);
        let mut entropy = || {
            // SAFETY: as in `event`.
            unsafe { read_volatile(addr_of!(RNG)) }
        };
        loop {
            let ev = event();
            let out = match ev.op {
                0 => {
                    // The reply goes straight into the transmit buffer, which the optimiser
                    // must assume is read (the pointer escapes through `black_box`).
                    // SAFETY: single-threaded; the one reference lives for this call.
                    let reply = unsafe { &mut *core::hint::black_box(addr_of_mut!(REPLY)) };
                    let len = app.receive(ev.byte, ev.now, &mut entropy, reply);
                    // SAFETY: as in `event`.
                    unsafe { write_volatile(addr_of_mut!(REPLY_LEN), len.unwrap_or(0)) };
                    None
                }
                1 => Some(app.tick(ev.now)),
                _ => Keypress::from_ascii(ev.byte).map(|k| app.key(k, ev.now)),
            };
            // SAFETY: as in `event`.
            unsafe {
                if let Some(out) = out {
                    write_volatile(addr_of_mut!(EVENT_OUTPUT), shown(&out));
                }
                write_volatile(addr_of_mut!(POWER), app.power_on(ev.now));
            }
        }
    }
}

#[cfg(feature = "device")]
#[entry]
fn main() -> ! {
    device::run()
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {
        core::hint::spin_loop();
    }
}
