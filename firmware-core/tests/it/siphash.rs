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
