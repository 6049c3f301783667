/// Everything that can go wrong in firmware-core. Small, `Copy`, no strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Error {
    /// The scaled value is above the maximum for the token kind (995, or 999 999 extended).
    ValueTooHigh,
    /// A value was given for DISABLE_PAYG or COUNTER_SYNC, which carry fixed values.
    ValueNotAllowed,
    /// The next count would not fit in 32 bits.
    CountOverflow,
    /// Token text of a length that is no token (9/12 digits, or 15/20 restricted).
    BadLength,
    /// Token text holds something other than a decimal digit.
    NotADigit,
    /// A restricted-digit token holds a digit outside 1-4.
    RestrictedDigit,
    /// A buffer supplied by the caller is too small.
    BufferTooSmall,
    // payg
    /// Persisted PAYG state bytes hold an out-of-range field.
    CorruptState,
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Error::ValueTooHigh => "value too high for this token kind",
            Error::ValueNotAllowed => "this token type carries no value",
            Error::CountOverflow => "token count overflow",
            Error::BadLength => "wrong token length",
            Error::NotADigit => "token contains a character that is not a digit",
            Error::RestrictedDigit => "restricted-digit token contains a digit outside 1-4",
            Error::BufferTooSmall => "buffer too small",
            Error::CorruptState => "corrupt PAYG state",
        })
    }
}

impl core::error::Error for Error {}
