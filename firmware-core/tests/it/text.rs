//! Token text: formatting and strict parsing.

use firmware_core::token::{parse, TokenKind, TokenText};
use firmware_core::Error;

#[test]
fn restricted_examples_from_the_spec() {
    let t = TokenText::new(662_486_790, TokenKind::Standard, true);
    assert_eq!(t.as_str(), "324244134441123");
    assert_eq!(
        parse(t.as_bytes(), true),
        Ok((662_486_790, TokenKind::Standard))
    );
    let t = TokenText::new(963_686_580_245, TokenKind::Extended, true);
    assert_eq!(t.as_str(), "43112311141321111222");
    assert_eq!(
        parse(t.as_bytes(), true),
        Ok((963_686_580_245, TokenKind::Extended))
    );
}

#[test]
fn decimal_tokens_keep_leading_zeros() {
    assert_eq!(
        TokenText::new(86_389_788, TokenKind::Standard, false).as_str(),
        "086389788"
    );
    assert_eq!(
        parse(b"086389788", false),
        Ok((86_389_788, TokenKind::Standard))
    );
    assert_eq!(parse(b"000000000012", false), Ok((12, TokenKind::Extended)));
}

#[test]
fn malformed_tokens_are_typed_errors() {
    let cases: &[(&[u8], bool, Error)] = &[
        (b"", false, Error::BadLength),
        (b"12345678", false, Error::BadLength),
        (b"1234567890", false, Error::BadLength),
        (b"1234567890123", false, Error::BadLength),
        (b"12345678x", false, Error::NotADigit),
        (b"1234 5678", false, Error::NotADigit),
        (b"123456789", true, Error::BadLength),
        (b"324244134441125", true, Error::RestrictedDigit),
        (b"324244134441120", true, Error::RestrictedDigit),
        (b"32424413444112a", true, Error::NotADigit),
        ("12345678\u{e9}".as_bytes(), false, Error::NotADigit),
    ];
    for (text, restricted, err) in cases {
        assert_eq!(
            parse(text, *restricted),
            Err(*err),
            "{:?}",
            String::from_utf8_lossy(text)
        );
    }
}
