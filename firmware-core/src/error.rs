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
    // storage
    /// The store cannot hold the requested number of slots of this payload size.
    StorageGeometry,
    /// The storage backend failed, was accessed out of range, or a write did not read back.
    StorageIo,
    /// Power was lost during a write (the mock store, or a backend with brown-out detection).
    StoragePowerLoss,
    /// Records are present but none is valid: the stored state is lost.
    StorageCorrupt,
    /// The newest record was written in an unknown storage format version.
    StorageVersion,
    /// The newest record holds a payload of another length than expected.
    StorageLength,
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
            Error::StorageGeometry => "store too small for the requested slots",
            Error::StorageIo => "storage access failed",
            Error::StoragePowerLoss => "power lost during a storage write",
            Error::StorageCorrupt => "stored state is corrupt",
            Error::StorageVersion => "stored record has an unknown format version",
            Error::StorageLength => "stored record has an unexpected payload length",
        })
    }
}

impl core::error::Error for Error {}
