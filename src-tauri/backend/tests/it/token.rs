//! Host-side token helpers: keys, days, dividers, grouping.

use paygo::token::{clean_token_text, group_digits, parse_key, parse_used, scale_days};

#[test]
fn days_are_scaled_half_to_even_like_the_reference() {
    assert_eq!(scale_days(0.625, 4).ok(), Some(2)); // 2.5 → 2
    assert_eq!(scale_days(0.875, 4).ok(), Some(4)); // 3.5 → 4
    assert_eq!(scale_days(0.5, 1).ok(), Some(0));
    assert_eq!(scale_days(1.5, 1).ok(), Some(2));
    assert_eq!(scale_days(30.0, 1).ok(), Some(30));
    assert!(scale_days(-0.1, 1).is_err());
    assert!(scale_days(f64::INFINITY, 1).is_err());
    assert!(scale_days(1e12, 255).is_err());
}

#[test]
fn keys_are_exactly_16_hex_bytes() {
    let key = parse_key("A29AB82EDC5FBBC41EC9530F6DAC86B1").expect("upper case");
    assert_eq!(key[0], 0xa2);
    assert_eq!(key[15], 0xb1);
    for bad in [
        "",
        "a29ab82edc5fbbc41ec9530f6dac86b",
        "a29ab82edc5fbbc41ec9530f6dac86b1ff",
        "g29ab82edc5fbbc41ec9530f6dac86b1",
        "é29ab82edc5fbbc41ec9530f6dac86b",
    ] {
        assert!(parse_key(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn token_text_for_humans() {
    assert_eq!(group_digits("662486790"), "662 486 790");
    assert_eq!(group_digits("963686580245"), "963 686 580 245");
    assert_eq!(group_digits("324244134441123"), "324 244 134 441 123");
    assert_eq!(
        group_digits("43112311141321111222"),
        "4311 2311 1413 2111 1222"
    );
    assert_eq!(clean_token_text(" 662-486 790 "), "662486790");
}

#[test]
fn used_lists_accept_reference_style_negatives() {
    assert_eq!(parse_used("-2;-1;0;2").ok(), Some(vec![0, 2]));
    assert_eq!(parse_used("").ok(), Some(vec![]));
    assert!(parse_used("1,x").is_err());
}
