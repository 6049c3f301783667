//! Bytes from the UART into the whole device application: the protocol's own invariants
//! (via `protocol::fuzz_parse`), then the same bytes fed to an `App` over a mock EEPROM.
//! Nothing may panic; a device that was blank stays blank unless a checksummed `PROV` line
//! went through; every reply is a well-formed, checksummed line.

use firmware_core::app::{App, REPLY_MAX};
use firmware_core::protocol::{fuzz_parse, parse_response};
use firmware_core::storage::MockStore;

/// The fuzz body.
pub fn run(data: &[u8]) {
    if let Err(why) = fuzz_parse(data) {
        panic!("protocol invariant broken: {why}");
    }
    let Ok(mut app) = App::boot(MockStore::<512>::new(), "fuzz", 1_000) else {
        panic!("a blank 512-byte store must boot");
    };
    let mut reply = [0u8; REPLY_MAX];
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut entropy = move || {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        seed
    };
    let mut now = 1_000u32;
    for (i, &b) in data.iter().enumerate() {
        // Time moves a little with every byte, sometimes a lot (and sometimes backwards).
        now = match i % 97 {
            0 => now.wrapping_add(u32::from(b) * 3_600),
            1 if b == 0xEE => now.wrapping_sub(500),
            _ => now.wrapping_add(1),
        };
        if let Some(n) = app.receive(b, now, &mut entropy, &mut reply) {
            let line = reply.get(..n).unwrap_or_default();
            assert!(line.ends_with(b"\n"), "reply without terminator: {line:?}");
            assert!(
                parse_response(line).is_ok(),
                "device wrote an unparsable reply: {:?}",
                String::from_utf8_lossy(line)
            );
        }
        if i % 13 == 0 {
            let _ = app.tick(now);
        }
    }
    if !data.windows(5).any(|w| w.eq_ignore_ascii_case(b"PROV ")) {
        assert!(!app.provisioned(), "provisioned without a PROV line");
    }
}

#[cfg(test)]
mod tests {
    use super::run;

    #[test]
    fn provisioning_and_garbage_do_not_panic() {
        run(b"ID\nSTATUS\n\x00\xff\nPROV A 1 00112233445566778899aabbccddeeff 1 0 1*00\nTOKEN 123456789*00\n");
        let mut long = vec![b'9'; 500];
        long.push(b'\n');
        run(&long);
    }

    #[test]
    fn pseudo_random_inputs() {
        let mut x = 1u64;
        for len in 0..300usize {
            let data: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    // Mostly protocol-ish bytes, some noise.
                    b"ID STATUS TOKEN PROV CHAL NONCE RESET 0123456789abcdef*\n-"[(x % 56) as usize]
                })
                .collect();
            run(&data);
        }
    }
}
