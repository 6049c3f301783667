//! Little-endian fields of the persisted byte layouts, out of line.
//!
//! The Cortex-M0 has no unaligned loads, so an inlined `u32::from_le_bytes` of four bytes
//! is a dozen instructions; the records have a dozen such fields. One shared copy of each
//! accessor keeps every field access to a call.

/// The little-endian u32 at `at` (bytes past the end of `b` read as zero).
#[inline(never)]
pub(crate) fn get32(b: &[u8], at: usize) -> u32 {
    b.iter()
        .skip(at)
        .take(4)
        .rev()
        .fold(0, |v, &x| v << 8 | u32::from(x))
}

/// Store `v` little-endian at `at` (bytes past the end of `b` are dropped). Narrower
/// fields are written as u32 in layout order, each write overwriting the previous one's
/// zero high bytes.
#[inline(never)]
pub(crate) fn put32(b: &mut [u8], at: usize, v: u32) {
    let mut v = v;
    for d in b.iter_mut().skip(at).take(4) {
        *d = v as u8;
        v >>= 8;
    }
}
