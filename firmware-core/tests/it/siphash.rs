//! SipHash-2-4 reference values (spec §2) and the chain step worked examples.

use firmware_core::token::{next12, next9, siphash24, starting_code_from_key};

const KEY: [u8; 16] = [
    0xa2, 0x9a, 0xb8, 0x2e, 0xdc, 0x5f, 0xbb, 0xc4, 0x1e, 0xc9, 0x53, 0x0f, 0x6d, 0xac, 0x86, 0xb1,
];

#[test]
fn siphash_reference_vectors() {
    let key: [u8; 16] = core::array::from_fn(|i| i as u8);
    assert_eq!(siphash24(&key, &[]), 0x726f_db47_dd0e_0e31);
    let msg: [u8; 8] = core::array::from_fn(|i| i as u8);
    assert_eq!(siphash24(&key, &msg), 0x93f5_f579_9a93_2462);
}

#[test]
fn next9_worked_examples() {
    assert_eq!(next9(&KEY, 123_456_789), 173_775_492);
    // Above 999 999 999 the step subtracts 73 741 825.
    assert_eq!(next9(&KEY, 397_526_550), 961_926_541);
}

#[test]
fn next12_worked_example() {
    assert_eq!(next12(&KEY, 123_580_245), 547_926_240_092);
    assert_eq!(next12(&KEY, 547_926_240_092), 963_686_985_640);
}

#[test]
fn starting_code_derived_from_key() {
    assert_eq!(starting_code_from_key(&KEY), 573_664_003);
}

/// The hand-written SipHash-2-4 (one shared round loop, for flash size) against the
/// `siphasher` crate, for every message length up to 40 and assorted keys; and the chain
/// steps' 8-byte fast path against hashing their message bytes.
#[test]
fn siphash_matches_siphasher() {
    use core::hash::Hasher;
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..64 {
        let key: [u8; 16] = core::array::from_fn(|_| next() as u8);
        let msg: [u8; 40] = core::array::from_fn(|_| next() as u8);
        for len in 0..=msg.len() {
            let m = &msg[..len];
            let mut h = siphasher::sip::SipHasher24::new_with_key(&key);
            h.write(m);
            assert_eq!(
                siphash24(&key, m),
                h.finish(),
                "round {round}, length {len}"
            );
        }
        let x = next();
        let b = (x as u32).to_be_bytes();
        let m9 = [b[0], b[1], b[2], b[3], b[0], b[1], b[2], b[3]];
        let h = siphash24(&key, &m9);
        let f = ((h >> 32) ^ (h & 0xFFFF_FFFF)) as u32 >> 2;
        let expect9 = if f > 999_999_999 { f - 73_741_825 } else { f };
        assert_eq!(next9(&key, x as u32), expect9);
        let t = siphash24(&key, &x.to_be_bytes()) >> 24;
        let expect12 = if t > 999_999_999_999 {
            t - 99_511_627_777
        } else {
            t
        };
        assert_eq!(next12(&key, x), expect12);
    }
}
