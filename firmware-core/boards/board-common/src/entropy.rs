//! Nonce source for boards without a usable hardware RNG.
//!
//! **Not a random number generator.** A 64-bit counter, seeded at boot from whatever the
//! board has that differs between boots (host time under QEMU, the RTC and the chip's unique
//! ID on the STM32), mixed with the SysTick phase at every call and scrambled with the
//! SplitMix64 finaliser. The `NONCE` of the reset handshake only needs values that do not
//! repeat across requests and resets; it does not need secrecy (the MAC over it is keyed).
//! Real hardware should seed from (or replace this with) its RNG peripheral where it has one.

/// The counter and its seed.
#[derive(Debug, Clone)]
pub struct Mixer {
    state: u64,
}

impl Mixer {
    /// Start from `seed` (something that differs from boot to boot).
    pub const fn new(seed: u64) -> Self {
        Mixer { state: seed }
    }

    /// The next value; `jitter` (e.g. the SysTick counter) is folded in.
    pub fn next(&mut self, jitter: u64) -> u64 {
        self.state = self
            .state
            .wrapping_add(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(jitter << 32);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}
