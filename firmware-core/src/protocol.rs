//! The service line protocol spoken over the device UART (normative text: `docs/protocol.md`).
//!
//! ASCII lines of at most [`MAX_LINE`] bytes, ended by CR, LF or CRLF:
//!
//! ```text
//! request:  CMD arg arg*XX        (XX = CRC-8 of the bytes before '*', two hex digits)
//! reply:    OK CMD field field*XX  |  ERR CODE*XX  |  ERR LOCKED seconds*XX
//! ```
//!
//! The checksum is required on the requests that change persistent state (`TOKEN`, `PROV`,
//! `RESET`) and optional on the others, so a technician can type `ID` or `STATUS` in a
//! terminal. Replies always carry it.
//!
//! Both sides live here, without allocation or `core::fmt`:
//!
//! * device: [`LineBuffer`] (bytes in, lines out); `app::App` matches the command word in
//!   the command table (the first checks of [`parse_request`], shared), parses each
//!   command's arguments straight into place and writes its reply into the TX buffer with
//!   the same writer as [`Reply::write`], without building a [`Request`] or [`Reply`];
//! * host: [`Request::write`], [`parse_response`], [`challenge_mac`], [`reset_mac`];
//!   [`parse_request`] and [`Reply::write`] for tests, simulators and fuzzing.
//!
//! Nothing here touches the PAYG state or storage: the device glue fills [`StatusReport`],
//! [`TokenReport`] and [`IdReport`] from its own state.
//!
//! A fuzz target can call [`fuzz_parse`], which feeds arbitrary bytes through the device
//! path and checks the protocol's invariants.

use crate::token::{siphash24, Key, Outcome, TokenText, TokenType};
use crate::Error;

/// Protocol version reported by `ID`. Bumped only for incompatible changes.
pub const PROTOCOL_VERSION: u32 = 1;
/// Longest line in either direction, terminator excluded.
pub const MAX_LINE: usize = 96;
/// Longest serial number.
pub const SERIAL_MAX: usize = 16;
/// Longest firmware version text in an `ID` reply (longer text is cut).
pub const FIRMWARE_MAX: usize = 24;
/// Domain tag of the challenge MAC (protocol 1).
pub const CHALLENGE_TAG: &[u8; 8] = b"OPGCHAL1";
/// Domain tag of the factory-reset MAC (protocol 1).
pub const RESET_TAG: &[u8; 8] = b"OPGRST01";
/// Bytes of a host challenge nonce (sent as 32 hex digits).
pub const CHALLENGE_NONCE_LEN: usize = 16;

/// CRC-8 (polynomial 0x07, initial value 0, no reflection, no final XOR; "CRC-8/SMBUS").
///
/// Bitwise on purpose: no table in flash. `crc8(b"123456789") == 0xF4`.
pub fn crc8(bytes: &[u8]) -> u8 {
    let mut crc = 0u8;
    for &b in bytes {
        crc ^= b;
        for _ in 0..8 {
            crc = if crc & 0x80 != 0 {
                (crc << 1) ^ 0x07
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// The wire error codes (`ERR <CODE> ...`). Also the error type of the parsers, so that a
/// parse failure maps one-to-one onto the reply the device sends.
///
/// The codes are stable: they are never renamed or reused; new ones may be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProtoError {
    /// `TOO_LONG`: the line exceeded [`MAX_LINE`] bytes; it was discarded whole.
    TooLong,
    /// `BAD_CHAR`: the line holds a byte that is not printable ASCII (NUL, binary noise).
    BadChar,
    /// `BAD_CHECKSUM`: the `*XX` suffix is malformed or does not match.
    BadChecksum,
    /// `CHECKSUM_REQUIRED`: a state-changing command came without `*XX`.
    ChecksumRequired,
    /// `UNKNOWN_CMD`: the first word is no command (or, host side, no reply).
    UnknownCmd,
    /// `BAD_ARG`: wrong number of arguments or a malformed argument.
    BadArg,
    /// `NOT_PROVISIONED`: the command needs a provisioned device.
    NotProvisioned,
    /// `ALREADY_PROVISIONED`: provisioning is one-time; reset first.
    AlreadyProvisioned,
    /// `LOCKED`: token entry is locked after failed attempts (see [`Reply::Locked`]).
    Locked,
    /// `NO_NONCE`: `RESET` without a pending `NONCE` (nonces are single-use).
    NoNonce,
    /// `BAD_AUTH`: the reset MAC does not verify.
    BadAuth,
    /// `INTERNAL`: the device failed to carry out a valid request (e.g. storage write).
    Internal,
    /// `OTHER`: host side only: an error code this version does not know.
    Other,
}

impl ProtoError {
    /// Every code, in wire order (for tables and tests).
    pub const ALL: [ProtoError; 13] = [
        ProtoError::TooLong,
        ProtoError::BadChar,
        ProtoError::BadChecksum,
        ProtoError::ChecksumRequired,
        ProtoError::UnknownCmd,
        ProtoError::BadArg,
        ProtoError::NotProvisioned,
        ProtoError::AlreadyProvisioned,
        ProtoError::Locked,
        ProtoError::NoNonce,
        ProtoError::BadAuth,
        ProtoError::Internal,
        ProtoError::Other,
    ];

    /// The code as sent on the wire.
    pub const fn code(self) -> &'static str {
        match self {
            ProtoError::TooLong => "TOO_LONG",
            ProtoError::BadChar => "BAD_CHAR",
            ProtoError::BadChecksum => "BAD_CHECKSUM",
            ProtoError::ChecksumRequired => "CHECKSUM_REQUIRED",
            ProtoError::UnknownCmd => "UNKNOWN_CMD",
            ProtoError::BadArg => "BAD_ARG",
            ProtoError::NotProvisioned => "NOT_PROVISIONED",
            ProtoError::AlreadyProvisioned => "ALREADY_PROVISIONED",
            ProtoError::Locked => "LOCKED",
            ProtoError::NoNonce => "NO_NONCE",
            ProtoError::BadAuth => "BAD_AUTH",
            ProtoError::Internal => "INTERNAL",
            ProtoError::Other => "OTHER",
        }
    }

    /// A short human explanation, for host-side messages. The device does not send it:
    /// the code words are readable on their own and the text would cost flash.
    pub const fn reason(self) -> &'static str {
        match self {
            ProtoError::TooLong => "line too long",
            ProtoError::BadChar => "non-printable byte",
            ProtoError::BadChecksum => "checksum mismatch",
            ProtoError::ChecksumRequired => "checksum required",
            ProtoError::UnknownCmd => "unknown command",
            ProtoError::BadArg => "bad argument",
            ProtoError::NotProvisioned => "not provisioned",
            ProtoError::AlreadyProvisioned => "already provisioned",
            ProtoError::Locked => "token entry locked",
            ProtoError::NoNonce => "no pending nonce",
            ProtoError::BadAuth => "authentication failed",
            ProtoError::Internal => "internal error",
            ProtoError::Other => "unknown error",
        }
    }

    /// The code for its wire name (exact, upper case).
    pub fn from_code(code: &[u8]) -> Option<Self> {
        ProtoError::ALL
            .iter()
            .copied()
            .find(|e| e.code().as_bytes() == code)
    }
}

// Wire words packed for the device: each word after its length byte, in one string.
// Replies pick them by index, where a `match` returning `&str` compiles to a table of
// `(pointer, length)` pairs (8 bytes of flash per word) next to the text. Each list is
// checked against its `&str` source at compile time.

/// The `i`-th word of a packed list (empty past its end).
#[inline(never)]
pub(crate) fn packed(list: &'static [u8], i: usize) -> &'static [u8] {
    let mut rest = list;
    for _ in 0..i {
        let len = rest.first().map_or(0, |&n| usize::from(n));
        rest = rest.get(1 + len..).unwrap_or(&[]);
    }
    let len = rest.first().map_or(0, |&n| usize::from(n));
    rest.get(1..1 + len).unwrap_or(&[])
}

/// `list` after its first word, if that word is `word` (for the compile-time checks).
const fn strip_word<'a>(list: &'a [u8], word: &str) -> Option<&'a [u8]> {
    let word = word.as_bytes();
    let [len, tail @ ..] = list else {
        return None;
    };
    if *len as usize != word.len() || tail.len() < word.len() {
        return None;
    }
    let (head, rest) = tail.split_at(word.len());
    let (mut a, mut b) = (head, word);
    while let ([x, xs @ ..], [y, ys @ ..]) = (a, b) {
        if *x != *y {
            return None;
        }
        (a, b) = (xs, ys);
    }
    Some(rest)
}

/// Whether `list` packs exactly `words` (compile-time check).
const fn packs(list: &[u8], words: &[&str]) -> bool {
    let (mut list, mut words) = (list, words);
    while let [word, more @ ..] = words {
        match strip_word(list, word) {
            Some(rest) => list = rest,
            None => return false,
        }
        words = more;
    }
    list.is_empty()
}

/// [`ProtoError::code`] of every [`ProtoError::ALL`], in order.
pub(crate) const PACKED_CODES: &[u8] =
    b"\x08TOO_LONG\x08BAD_CHAR\x0cBAD_CHECKSUM\x11CHECKSUM_REQUIRED\
\x0bUNKNOWN_CMD\x07BAD_ARG\x0fNOT_PROVISIONED\x13ALREADY_PROVISIONED\x06LOCKED\x08NO_NONCE\
\x08BAD_AUTH\x08INTERNAL\x05OTHER";

const _: () = {
    let (mut all, mut list, mut i): (&[ProtoError], _, usize) = (&ProtoError::ALL, PACKED_CODES, 0);
    while let [e, more @ ..] = all {
        assert!(*e as usize == i);
        let rest = strip_word(list, e.code());
        assert!(rest.is_some());
        if let Some(rest) = rest {
            list = rest;
        }
        (all, i) = (more, i + 1);
    }
    assert!(list.is_empty());
};

const _: () = {
    let (mut all, mut list, mut i): (&[PaygState], _, usize) =
        (&PaygState::ALL, PaygState::PACKED, 0);
    while let [state, more @ ..] = all {
        assert!(*state as usize == i);
        let rest = strip_word(list, state.name());
        assert!(rest.is_some());
        if let Some(rest) = rest {
            list = rest;
        }
        (all, i) = (more, i + 1);
    }
    assert!(list.is_empty());

    let (mut all, mut list, mut i): (&[TokenResult], _, usize) =
        (&TokenResult::ALL, TokenResult::PACKED, 0);
    while let [result, more @ ..] = all {
        assert!(TokenResult::index(Some(*result)) == i);
        let rest = strip_word(list, result.name());
        assert!(rest.is_some());
        if let Some(rest) = rest {
            list = rest;
        }
        (all, i) = (more, i + 1);
    }
    assert!(TokenResult::index(None) == i);
    assert!(TokenResult::NO_RESULT as usize == i);
    assert!(packs(list, &["NONE"]));
    // `outcome_index` agrees with `index` (token types are numbered in `ALL` order).
    let types = [
        TokenType::AddTime,
        TokenType::SetTime,
        TokenType::DisablePayg,
        TokenType::CounterSync,
    ];
    let mut all: &[TokenType] = &types;
    while let [token_type, more @ ..] = all {
        let outcome = Outcome::Accepted {
            token_type: *token_type,
            value: 0,
            count: 0,
        };
        let result = Some(TokenResult::Accepted(*token_type));
        assert!(TokenResult::outcome_index(&outcome) as usize == TokenResult::index(result));
        all = more;
    }
    let invalid = Some(TokenResult::Invalid);
    assert!(TokenResult::outcome_index(&Outcome::Invalid) as usize == TokenResult::index(invalid));
    let used = Some(TokenResult::AlreadyUsed);
    assert!(TokenResult::outcome_index(&Outcome::AlreadyUsed) as usize == TokenResult::index(used));
};

impl core::fmt::Display for ProtoError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.code())?;
        f.write_str(": ")?;
        f.write_str(self.reason())
    }
}

impl core::error::Error for ProtoError {}

// ---------------------------------------------------------------------------------------
// Framing

/// What [`LineBuffer::push`] produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineEvent<'a> {
    /// A complete, non-empty line without its terminator (not yet validated).
    Line(&'a [u8]),
    /// A line longer than the buffer ended; its bytes were discarded. Reply `TOO_LONG`.
    TooLong,
}

/// Assembles lines from single bytes (e.g. drained from an RX interrupt ring).
///
/// CR and LF both end a line, so CRLF, LF and CR endings all work (the empty line between
/// CR and LF is skipped, as are all empty lines). Backspace (0x08) and DEL (0x7F) remove
/// the last byte, for terminal users. A line longer than `N` bytes is reported once as
/// [`LineEvent::TooLong`] at its terminator; nothing of it is ever yielded as a line.
/// Other bytes are stored as they come; [`parse_request`] rejects non-printable ones.
#[derive(Debug, Clone)]
pub struct LineBuffer<const N: usize = MAX_LINE> {
    buf: [u8; N],
    /// 16 bits (`N` ≤ 65 535, checked in `new`): the buffer is part of the device's RAM.
    len: u16,
    overflow: bool,
}

impl<const N: usize> Default for LineBuffer<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> LineBuffer<N> {
    /// An empty buffer.
    pub const fn new() -> Self {
        const { assert!(N <= u16::MAX as usize) };
        LineBuffer {
            buf: [0; N],
            len: 0,
            overflow: false,
        }
    }

    /// Drop any partial line (e.g. after an inter-byte timeout or a UART framing error).
    pub fn clear(&mut self) {
        self.len = 0;
        self.overflow = false;
    }

    /// Bytes held of the current partial line.
    pub fn pending(&self) -> usize {
        usize::from(self.len)
    }

    /// Take one received byte; returns an event when it completes a line.
    #[inline(never)]
    pub fn push(&mut self, byte: u8) -> Option<LineEvent<'_>> {
        match byte {
            b'\r' | b'\n' => {
                let len = usize::from(self.len);
                let overflow = self.overflow;
                self.clear();
                if overflow {
                    Some(LineEvent::TooLong)
                } else if len == 0 {
                    None
                } else {
                    self.buf.get(..len).map(LineEvent::Line)
                }
            }
            0x08 | 0x7F => {
                if !self.overflow {
                    self.len = self.len.saturating_sub(1);
                }
                None
            }
            _ => {
                if !self.overflow {
                    match self.buf.get_mut(usize::from(self.len)) {
                        Some(slot) => {
                            *slot = byte;
                            self.len += 1;
                        }
                        None => self.overflow = true,
                    }
                }
                None
            }
        }
    }
}

/// Strip trailing CR/LF, check length and characters, check and strip the checksum.
/// Returns the body (before `*`) and whether a checksum was present.
#[inline(never)]
fn frame(line: &[u8]) -> Result<(&[u8], bool), ProtoError> {
    let mut line = line;
    while let [rest @ .., b'\r' | b'\n'] = line {
        line = rest;
    }
    if line.len() > MAX_LINE {
        return Err(ProtoError::TooLong);
    }
    if line.iter().any(|&b| !matches!(b, 0x20..=0x7E)) {
        return Err(ProtoError::BadChar);
    }
    let Some(star) = line.iter().position(|&b| b == b'*') else {
        return Ok((line, false));
    };
    let (body, suffix) = line.split_at(star);
    match suffix {
        [b'*', hi, lo] if hex_array::<1>(&[*hi, *lo]) == Some([crc8(body)]) => Ok((body, true)),
        _ => Err(ProtoError::BadChecksum),
    }
}

/// Space-separated words of a body (runs of spaces count as one separator).
pub(crate) struct Words<'a> {
    rest: &'a [u8],
}

impl<'a> Words<'a> {
    fn new(body: &'a [u8]) -> Self {
        Words { rest: body }
    }

    /// What is left after the words taken so far, leading spaces removed.
    pub(crate) fn rest(&self) -> &'a [u8] {
        let skip = self.rest.iter().take_while(|&&b| b == b' ').count();
        self.rest.get(skip..).unwrap_or(&[])
    }

    /// The one remaining word: `None` when there is none or more than one.
    pub(crate) fn only(&mut self) -> Option<&'a [u8]> {
        let word = self.next()?;
        self.next().is_none().then_some(word)
    }

    /// No word left (a command without arguments).
    pub(crate) fn done(&mut self) -> Option<()> {
        self.next().is_none().then_some(())
    }

    /// The next word, or `BAD_ARG` when there is none (host-side parsing).
    fn arg(&mut self) -> Result<&'a [u8], ProtoError> {
        self.next().ok_or(ProtoError::BadArg)
    }
}

impl<'a> Iterator for Words<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = self.rest();
        if rest.is_empty() {
            self.rest = rest;
            return None;
        }
        let len = rest.iter().take_while(|&&b| b != b' ').count();
        // `len <= rest.len()`; the checked split keeps a panic path out of the image.
        let (word, tail) = rest.split_at_checked(len).unwrap_or((rest, &[]));
        self.rest = tail;
        Some(word)
    }
}

fn nibble(b: u8) -> Option<u8> {
    // Either case: `| 0x20` lowers letters (and maps no other byte onto a-f).
    let digit = b.wrapping_sub(b'0');
    let letter = (b | 0x20).wrapping_sub(b'a');
    if digit < 10 {
        Some(digit)
    } else if letter < 6 {
        Some(letter + 10)
    } else {
        None
    }
}

// The argument helpers return `Option`: every argument error is `BAD_ARG`, and a plain
// `None` keeps the error paths small on the device.

/// Exactly `2 * L` hex digits (either case) to bytes.
fn hex_array<const L: usize>(text: &[u8]) -> Option<[u8; L]> {
    let mut out = [0u8; L];
    hex_into(text, &mut out)?;
    Some(out)
}

/// Exactly `2 * out.len()` hex digits into `out` (one out-of-line copy for every size).
#[inline(never)]
pub(crate) fn hex_into(text: &[u8], out: &mut [u8]) -> Option<()> {
    if text.len() != 2 * out.len() {
        return None;
    }
    for (o, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
        let [hi, lo] = pair else {
            return None;
        };
        *o = nibble(*hi)? << 4 | nibble(*lo)?;
    }
    Some(())
}

/// 16 hex digits to a u64 (most significant digit first).
pub(crate) fn hex_u64(text: &[u8]) -> Option<u64> {
    hex_array::<8>(text).map(u64::from_be_bytes)
}

/// 1 to 10 decimal digits, at most `max`.
pub(crate) fn decimal(text: &[u8], max: u32) -> Option<u32> {
    if text.is_empty() || text.len() > 10 {
        return None;
    }
    let mut n: u32 = 0;
    for &d in text {
        let d = d.wrapping_sub(b'0');
        // n * 10 + d must stay below 2^32 (no checked_mul: it pulls in a 64-bit multiply).
        if d > 9 || n > 429_496_729 || (n == 429_496_729 && d > 5) {
            return None;
        }
        n = n * 10 + u32::from(d);
    }
    (n <= max).then_some(n)
}

pub(crate) fn flag(text: &[u8]) -> Option<bool> {
    match text {
        b"0" => Some(false),
        b"1" => Some(true),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// Data carried by the protocol

/// A serial number: 1 to 16 of `A-Z a-z 0-9 -`, starting with a letter or digit (a lone
/// `-` means "no serial" on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Serial<'a>(&'a [u8]);

impl<'a> Serial<'a> {
    /// Validate a serial number.
    pub fn new(text: &'a [u8]) -> Result<Self, ProtoError> {
        Self::parse(text).ok_or(ProtoError::BadArg)
    }

    pub(crate) fn parse(text: &'a [u8]) -> Option<Self> {
        // One pass: every byte alphanumeric or `-`, and the first one not `-`.
        let ok = text.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'-');
        let first_ok = text.first().is_some_and(|&b| b != b'-');
        (ok && first_ok && text.len() <= SERIAL_MAX).then_some(Serial(text))
    }

    /// A serial the caller validated before (the device's stored one).
    pub(crate) const fn checked(text: &'a [u8]) -> Self {
        Serial(text)
    }

    /// The serial's bytes.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// The serial as text.
    pub fn as_str(&self) -> &'a str {
        // Validated ASCII.
        core::str::from_utf8(self.0).unwrap_or("")
    }
}

/// Token digits as entered: 9, 12, 15 or 20 ASCII digits (separators removed).
///
/// Whether the digits form a valid token for the device (restricted mode, digits 1-4) is
/// decided by [`crate::token::parse`] in the glue, which knows the device's mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenDigits {
    buf: [u8; 20],
    len: u8,
}

impl TokenDigits {
    /// Digits with optional spaces and dashes between them (`123-456 789`).
    pub fn new(text: &[u8]) -> Result<Self, ProtoError> {
        Self::parse(text).ok_or(ProtoError::BadArg)
    }

    fn parse(text: &[u8]) -> Option<Self> {
        let mut buf = [0u8; 20];
        let len = digits_into(text, &mut buf)?;
        Some(TokenDigits {
            buf,
            len: len as u8,
        })
    }

    /// The digits of a generated token.
    pub fn from_text(text: &TokenText) -> Self {
        let mut buf = [0u8; 20];
        let digits = text.as_bytes();
        for (o, d) in buf.iter_mut().zip(digits) {
            *o = *d;
        }
        TokenDigits {
            buf,
            len: digits.len().min(20) as u8,
        }
    }

    /// The digits, ready for [`crate::token::parse`].
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..usize::from(self.len)).unwrap_or(&[])
    }
}

/// Token digits with optional spaces and dashes into `buf`; the number of digits (9, 12,
/// 15 or 20), `None` otherwise.
pub(crate) fn digits_into(text: &[u8], buf: &mut [u8; 20]) -> Option<usize> {
    let mut len = 0usize;
    for &b in text {
        match b {
            b' ' | b'-' => {}
            b'0'..=b'9' => {
                *buf.get_mut(len)? = b;
                len += 1;
            }
            _ => return None,
        }
    }
    matches!(len, 9 | 12 | 15 | 20).then_some(len)
}

/// Factory provisioning data (`PROV`). Its `Debug` output leaves the key out, so that a
/// logged request does not leak it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Provision<'a> {
    /// Serial number.
    pub serial: Serial<'a>,
    /// Starting code, 0 to 999 999 999.
    pub starting_code: u32,
    /// The device key.
    pub key: Key,
    /// Initial token count.
    pub count: u32,
    /// Restricted-digit mode (keypads with keys 1-4 only).
    pub restricted: bool,
    /// Time divider, 1 to 255.
    pub divider: u8,
}

impl core::fmt::Debug for Provision<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Provision")
            .field("serial", &self.serial.as_str())
            .field("starting_code", &self.starting_code)
            .field("key", &"<redacted>")
            .field("count", &self.count)
            .field("restricted", &self.restricted)
            .field("divider", &self.divider)
            .finish()
    }
}

/// A parsed request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request<'a> {
    /// `ID`: identify.
    Id,
    /// `STATUS`: PAYG status.
    Status,
    /// `TOKEN <digits>`: enter a token.
    Token(TokenDigits),
    /// `PROV <serial> <starting code> <key> <count> <restricted> <divider>`.
    Prov(Provision<'a>),
    /// `CHAL <nonce>`: prove possession of the key.
    Chal([u8; CHALLENGE_NONCE_LEN]),
    /// `NONCE`: ask for a fresh factory-reset nonce.
    Nonce,
    /// `RESET <mac>`: factory reset, authorised by [`reset_mac`].
    Reset(u64),
}

impl Request<'_> {
    /// The command word.
    pub const fn name(&self) -> &'static str {
        match self {
            Request::Id => "ID",
            Request::Status => "STATUS",
            Request::Token(_) => "TOKEN",
            Request::Prov(_) => "PROV",
            Request::Chal(_) => "CHAL",
            Request::Nonce => "NONCE",
            Request::Reset(_) => "RESET",
        }
    }

    /// Whether the request changes persistent state and therefore needs a checksum.
    pub const fn changes_state(&self) -> bool {
        matches!(
            self,
            Request::Token(_) | Request::Prov(_) | Request::Reset(_)
        )
    }

    /// Host side: write the request line, checksum and `\n` included. Returns the length.
    pub fn write(&self, out: &mut [u8]) -> Result<usize, Error> {
        let mut w = Out::new(out);
        w.word(self.name());
        match self {
            Request::Id | Request::Status | Request::Nonce => {}
            Request::Token(digits) => w.word_bytes(digits.as_bytes()),
            Request::Prov(p) => {
                w.word_bytes(p.serial.as_bytes());
                w.num(p.starting_code);
                w.hex(&p.key);
                w.num(p.count);
                w.flag(p.restricted);
                w.num(u32::from(p.divider));
            }
            Request::Chal(nonce) => w.hex(nonce),
            Request::Reset(mac) => w.hex(&mac.to_be_bytes()),
        }
        w.finish()
    }
}

/// Command words; those from [`FIRST_CHECKED`] on change persistent state. Replies
/// (`OK <command> ...`) name their command with the same words.
const COMMANDS: [&str; 7] = ["ID", "STATUS", "NONCE", "CHAL", "TOKEN", "PROV", "RESET"];
/// [`COMMANDS`], packed.
pub(crate) const PACKED_COMMANDS: &[u8] =
    b"\x02ID\x06STATUS\x05NONCE\x04CHAL\x05TOKEN\x04PROV\x05RESET";
const _: () = assert!(packs(PACKED_COMMANDS, &COMMANDS));
/// Number of arguments of each command (`TOKEN` takes the rest of the line instead).
const ARITY: [usize; 7] = [0, 0, 0, 1, 0, 6, 1];
const FIRST_CHECKED: usize = 4;
/// Indices into [`COMMANDS`].
pub(crate) const ID: usize = 0;
pub(crate) const STATUS: usize = 1;
pub(crate) const NONCE: usize = 2;
pub(crate) const CHAL: usize = 3;
pub(crate) const TOKEN: usize = 4;
pub(crate) const PROV: usize = 5;
pub(crate) const RESET: usize = 6;

/// Framing, command word and checksum presence: the command's index in [`COMMANDS`] and
/// its argument words (the first checks of [`parse_request`], shared with the device).
pub(crate) fn command(line: &[u8]) -> Result<(usize, Words<'_>), ProtoError> {
    let (body, checked) = frame(line)?;
    let mut words = Words::new(body);
    let cmd = words.next().unwrap_or(&[]);
    let index = (0..COMMANDS.len())
        .position(|i| cmd.eq_ignore_ascii_case(packed(PACKED_COMMANDS, i)))
        .ok_or(ProtoError::UnknownCmd)?;
    if index >= FIRST_CHECKED && !checked {
        return Err(ProtoError::ChecksumRequired);
    }
    Ok((index, words))
}

/// Device side: parse one request line (a trailing CR/LF is ignored).
///
/// Order of checks: length, characters, checksum (if present), command word, checksum
/// presence for state-changing commands, arguments. The error is the code to reply with.
#[inline(never)]
pub fn parse_request(line: &[u8]) -> Result<Request<'_>, ProtoError> {
    let (index, words) = command(line)?;
    if index == TOKEN {
        // Spaces are allowed between token digits: the rest of the line is the token.
        return TokenDigits::parse(words.rest())
            .map(Request::Token)
            .ok_or(ProtoError::BadArg);
    }
    let mut args: [&[u8]; 6] = [&[]; 6];
    let mut n = 0;
    for word in words {
        *args.get_mut(n).ok_or(ProtoError::BadArg)? = word;
        n += 1;
    }
    if ARITY.get(index) != Some(&n) {
        return Err(ProtoError::BadArg);
    }
    let [a, ..] = args;
    let request = match index {
        0 => Some(Request::Id),
        1 => Some(Request::Status),
        2 => Some(Request::Nonce),
        3 => hex_array(a).map(Request::Chal),
        5 => {
            let mut p = Provision {
                serial: Serial(&[]),
                starting_code: 0,
                key: [0; 16],
                count: 0,
                restricted: false,
                divider: 1,
            };
            provision(&args, &mut p).map(|()| Request::Prov(p))
        }
        _ => hex_u64(a).map(Request::Reset),
    };
    request.ok_or(ProtoError::BadArg)
}

/// The six `PROV` arguments, parsed in place (building the key in a temporary and moving
/// it costs a byte-by-byte reassembly on the Cortex-M0).
#[inline(never)]
fn provision<'a>(args: &[&'a [u8]; 6], out: &mut Provision<'a>) -> Option<()> {
    let [serial, starting_code, key, count, restricted, divider] = *args;
    if starting_code.len() > 9 {
        return None;
    }
    out.serial = Serial::parse(serial)?;
    out.starting_code = decimal(starting_code, 999_999_999)?;
    hex_into(key, &mut out.key)?;
    out.count = decimal(count, u32::MAX)?;
    out.restricted = flag(restricted)?;
    out.divider = decimal(divider, 255).filter(|d| *d != 0)? as u8;
    Some(())
}

// ---------------------------------------------------------------------------------------
// Replies

/// PAYG state as `STATUS` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaygState {
    /// `ACTIVE`: PAYG on and credit left (output enabled).
    Active,
    /// `INACTIVE`: PAYG on and no credit (output disabled).
    Inactive,
    /// `UNLOCKED`: PAYG disabled for good (DISABLE_PAYG token).
    Unlocked,
}

impl PaygState {
    const ALL: [PaygState; 3] = [PaygState::Active, PaygState::Inactive, PaygState::Unlocked];
    /// The names, packed, by `state as usize`.
    pub(crate) const PACKED: &[u8] = b"\x06ACTIVE\x08INACTIVE\x08UNLOCKED";

    /// The wire name.
    pub const fn name(self) -> &'static str {
        match self {
            PaygState::Active => "ACTIVE",
            PaygState::Inactive => "INACTIVE",
            PaygState::Unlocked => "UNLOCKED",
        }
    }
}

/// The result of a token entry, as `TOKEN` and `STATUS` report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenResult {
    /// Accepted token of this type.
    Accepted(TokenType),
    /// `INVALID`.
    Invalid,
    /// `ALREADY_USED`.
    AlreadyUsed,
}

impl TokenResult {
    /// The names of [`TokenResult::ALL`] and `NONE` (no result), packed, by
    /// [`TokenResult::index`].
    pub(crate) const PACKED: &[u8] =
        b"\x08ADD_TIME\x08SET_TIME\x0cDISABLE_PAYG\x0cCOUNTER_SYNC\x07INVALID\x0cALREADY_USED\x04NONE";

    /// [`TokenResult::index`] of no result.
    pub(crate) const NO_RESULT: u8 = 6;

    /// [`TokenResult::index`] of a decoder outcome's result, without the `TokenResult`.
    pub(crate) const fn outcome_index(outcome: &Outcome) -> u8 {
        match outcome {
            Outcome::Accepted { token_type, .. } => *token_type as u8,
            Outcome::Invalid => 4,
            Outcome::AlreadyUsed => 5,
        }
    }

    /// The result at [`TokenResult::index`] `i` (`None` for [`TokenResult::NO_RESULT`]).
    pub(crate) fn from_index(i: u8) -> Option<TokenResult> {
        TokenResult::ALL.get(usize::from(i)).copied()
    }

    /// The position in [`TokenResult::PACKED`] of a result or of none.
    pub(crate) const fn index(result: Option<TokenResult>) -> usize {
        match result {
            Some(TokenResult::Accepted(TokenType::AddTime)) => 0,
            Some(TokenResult::Accepted(TokenType::SetTime)) => 1,
            Some(TokenResult::Accepted(TokenType::DisablePayg)) => 2,
            Some(TokenResult::Accepted(TokenType::CounterSync)) => 3,
            Some(TokenResult::Invalid) => 4,
            Some(TokenResult::AlreadyUsed) => 5,
            None => 6,
        }
    }

    const ALL: [TokenResult; 6] = [
        TokenResult::Accepted(TokenType::AddTime),
        TokenResult::Accepted(TokenType::SetTime),
        TokenResult::Accepted(TokenType::DisablePayg),
        TokenResult::Accepted(TokenType::CounterSync),
        TokenResult::Invalid,
        TokenResult::AlreadyUsed,
    ];

    /// The wire name (`ADD_TIME`, ..., `INVALID`, `ALREADY_USED`).
    pub const fn name(self) -> &'static str {
        match self {
            TokenResult::Accepted(t) => t.name(),
            TokenResult::Invalid => "INVALID",
            TokenResult::AlreadyUsed => "ALREADY_USED",
        }
    }

    /// The result of a decoder outcome.
    pub const fn from_outcome(outcome: &Outcome) -> Self {
        match outcome {
            Outcome::Accepted { token_type, .. } => TokenResult::Accepted(*token_type),
            Outcome::Invalid => TokenResult::Invalid,
            Outcome::AlreadyUsed => TokenResult::AlreadyUsed,
        }
    }

    fn from_name(name: &[u8]) -> Option<Self> {
        TokenResult::ALL
            .iter()
            .copied()
            .find(|r| r.name().as_bytes() == name)
    }
}

/// `OK ID` fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdReport<'a> {
    /// Protocol version ([`PROTOCOL_VERSION`] on the device).
    pub protocol: u32,
    /// Firmware version text. The writer replaces bytes outside `A-Z a-z 0-9 . + _ -` by
    /// `_` and cuts it to [`FIRMWARE_MAX`] bytes; empty text is sent as `-`.
    pub firmware: &'a str,
    /// Serial number; `None` (and provisioned = 0) on a blank device.
    pub serial: Option<Serial<'a>>,
    /// Restricted-digit mode.
    pub restricted: bool,
}

impl<'a> IdReport<'a> {
    /// A report for this protocol version.
    pub const fn new(firmware: &'a str, serial: Option<Serial<'a>>, restricted: bool) -> Self {
        IdReport {
            protocol: PROTOCOL_VERSION,
            firmware,
            serial,
            restricted,
        }
    }

    /// Whether the device is provisioned (it has a serial).
    pub const fn provisioned(&self) -> bool {
        self.serial.is_some()
    }
}

/// `OK STATUS` fields, filled in by the device glue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusReport {
    /// The decoder's count.
    pub count: u32,
    /// PAYG state.
    pub state: PaygState,
    /// Seconds of credit left (0 when inactive; the glue's choice when unlocked).
    pub credit_seconds: u32,
    /// Seconds until token entry unlocks (0 when not locked).
    pub lockout_seconds: u32,
    /// Result of the last token entered since boot or provisioning (`NONE` if none).
    pub last: Option<TokenResult>,
}

/// `OK TOKEN` fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenReport {
    /// What the token did.
    pub result: TokenResult,
    /// Raw embedded value of an accepted token (`-` on the wire otherwise).
    pub value: Option<u32>,
    /// The matched count if accepted, otherwise the device's unchanged count.
    pub count: u32,
}

impl TokenReport {
    /// The report for a decoder outcome; `device_count` is used when it was rejected.
    pub const fn from_outcome(outcome: &Outcome, device_count: u32) -> Self {
        match *outcome {
            Outcome::Accepted {
                token_type,
                value,
                count,
            } => TokenReport {
                result: TokenResult::Accepted(token_type),
                value: Some(value),
                count,
            },
            Outcome::Invalid | Outcome::AlreadyUsed => TokenReport {
                result: TokenResult::from_outcome(outcome),
                value: None,
                count: device_count,
            },
        }
    }
}

/// A reply line: written by the device ([`Reply::write`]), parsed by the host
/// ([`parse_response`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply<'a> {
    /// `OK ID <protocol> <firmware> <serial|-> <provisioned 0|1> <restricted 0|1>`.
    Id(IdReport<'a>),
    /// `OK STATUS <count> <state> <credit s> <lockout s> <last result|NONE>`.
    Status(StatusReport),
    /// `OK TOKEN <result> <value|-> <count>`.
    Token(TokenReport),
    /// `OK PROV <serial>`: provisioned (the key is never echoed).
    Prov(Serial<'a>),
    /// `OK CHAL <mac>`: [`challenge_mac`] as 16 hex digits.
    Chal(u64),
    /// `OK NONCE <nonce>`: the pending factory-reset nonce as 16 hex digits.
    Nonce(u64),
    /// `OK RESET`: the device is blank again.
    Reset,
    /// `ERR LOCKED <seconds>`: token entry locked for that many more seconds.
    Locked(u32),
    /// `ERR <CODE>`.
    Error(ProtoError),
}

impl Reply<'_> {
    /// Device side: write the reply line, checksum and `\n` included. Returns the length
    /// (at most [`MAX_LINE`] + 1; a buffer of that size always suffices).
    #[inline(never)]
    pub fn write(&self, out: &mut [u8]) -> Result<usize, Error> {
        let mut w = Out::new(out);
        match self {
            Reply::Id(id) => {
                w.word("OK ID");
                w.num(id.protocol);
                w.firmware(id.firmware);
                w.word_bytes(id.serial.map_or(b"-", |s| s.as_bytes()));
                w.flag(id.provisioned());
                w.flag(id.restricted);
            }
            Reply::Status(s) => {
                w.word("OK STATUS");
                w.num(s.count);
                w.word(s.state.name());
                w.num(s.credit_seconds);
                w.num(s.lockout_seconds);
                w.word(s.last.map_or("NONE", TokenResult::name));
            }
            Reply::Token(t) => {
                w.word("OK TOKEN");
                w.word(t.result.name());
                match t.value {
                    Some(v) => w.num(v),
                    None => w.word("-"),
                }
                w.num(t.count);
            }
            Reply::Prov(serial) => {
                w.word("OK PROV");
                w.word_bytes(serial.as_bytes());
            }
            Reply::Chal(mac) => {
                w.word("OK CHAL");
                w.hex(&mac.to_be_bytes());
            }
            Reply::Nonce(nonce) => {
                w.word("OK NONCE");
                w.hex(&nonce.to_be_bytes());
            }
            Reply::Reset => w.word("OK RESET"),
            Reply::Locked(seconds) => {
                w.word("ERR LOCKED");
                w.num(*seconds);
            }
            Reply::Error(e) => {
                w.word("ERR");
                w.word(e.code());
            }
        }
        w.finish()
    }
}

/// Host side: parse one reply line (a trailing CR/LF is ignored). The checksum is required.
///
/// Extra trailing fields after the documented ones are ignored (a newer device may append
/// fields without bumping the protocol version); an unknown error code parses as
/// [`ProtoError::Other`].
pub fn parse_response(line: &[u8]) -> Result<Reply<'_>, ProtoError> {
    let (body, checked) = frame(line)?;
    if !checked {
        return Err(ProtoError::ChecksumRequired);
    }
    let mut words = Words::new(body);
    match words.next() {
        Some(b"OK") => {}
        Some(b"ERR") => {
            let code = words.arg()?;
            let code = ProtoError::from_code(code).unwrap_or(ProtoError::Other);
            if code == ProtoError::Locked {
                if let Some(seconds) = words.next().and_then(|w| decimal(w, u32::MAX)) {
                    return Ok(Reply::Locked(seconds));
                }
            }
            return Ok(Reply::Error(code));
        }
        _ => return Err(ProtoError::UnknownCmd),
    }
    let what = words.arg()?;
    let index = REPLIES
        .iter()
        .position(|r| what == *r)
        .ok_or(ProtoError::UnknownCmd)?;
    reply_fields(index, words).ok_or(ProtoError::BadArg)
}

/// Words after `OK`.
const REPLIES: [&[u8]; 7] = [
    b"ID", b"STATUS", b"TOKEN", b"PROV", b"CHAL", b"NONCE", b"RESET",
];

/// The fields of reply `OK REPLIES[index]`; `None` is `BAD_ARG`.
fn reply_fields(index: usize, mut words: Words<'_>) -> Option<Reply<'_>> {
    let reply = match index {
        0 => {
            let protocol = decimal(words.next()?, u32::MAX)?;
            let firmware = core::str::from_utf8(words.next()?).ok()?;
            let serial = match words.next()? {
                b"-" => None,
                s => Some(Serial::parse(s)?),
            };
            let provisioned = flag(words.next()?)?;
            let restricted = flag(words.next()?)?;
            if provisioned != serial.is_some() {
                return None;
            }
            Reply::Id(IdReport {
                protocol,
                firmware,
                serial,
                restricted,
            })
        }
        1 => {
            let count = decimal(words.next()?, u32::MAX)?;
            let state = words.next()?;
            let state = PaygState::ALL
                .iter()
                .copied()
                .find(|s| s.name().as_bytes() == state)?;
            let credit_seconds = decimal(words.next()?, u32::MAX)?;
            let lockout_seconds = decimal(words.next()?, u32::MAX)?;
            let last = match words.next()? {
                b"NONE" => None,
                name => Some(TokenResult::from_name(name)?),
            };
            Reply::Status(StatusReport {
                count,
                state,
                credit_seconds,
                lockout_seconds,
                last,
            })
        }
        2 => {
            let result = TokenResult::from_name(words.next()?)?;
            let value = match words.next()? {
                b"-" => None,
                v => Some(decimal(v, u32::MAX)?),
            };
            let count = decimal(words.next()?, u32::MAX)?;
            if value.is_some() != matches!(result, TokenResult::Accepted(_)) {
                return None;
            }
            Reply::Token(TokenReport {
                result,
                value,
                count,
            })
        }
        3 => Reply::Prov(Serial::parse(words.next()?)?),
        4 => Reply::Chal(hex_u64(words.next()?)?),
        5 => Reply::Nonce(hex_u64(words.next()?)?),
        _ => Reply::Reset,
    };
    Some(reply)
}

// ---------------------------------------------------------------------------------------
// Key proofs

/// `SipHash-2-4(key, tag || a || serial)`; at most 8 + 16 + 16 bytes.
fn mac(key: &Key, tag: &[u8; 8], a: &[u8], serial: &Serial<'_>) -> u64 {
    let mut msg = [0u8; 8 + CHALLENGE_NONCE_LEN + SERIAL_MAX];
    let parts = tag.iter().chain(a).chain(serial.as_bytes());
    let mut len = 0;
    for (o, b) in msg.iter_mut().zip(parts) {
        *o = *b;
        len += 1;
    }
    siphash24(key, msg.get(..len).unwrap_or(&[]))
}

/// The challenge answer: `SipHash-2-4(key, "OPGCHAL1" || nonce || serial)`.
///
/// The device computes it for `CHAL`; the host computes the same to verify the reply.
pub fn challenge_mac(key: &Key, nonce: &[u8; CHALLENGE_NONCE_LEN], serial: &Serial<'_>) -> u64 {
    mac(key, CHALLENGE_TAG, nonce, serial)
}

/// The factory-reset authorisation: `SipHash-2-4(key, "OPGRST01" || nonce_be || serial)`
/// over the device's pending `NONCE` (8 bytes, big-endian).
pub fn reset_mac(key: &Key, device_nonce: u64, serial: &Serial<'_>) -> u64 {
    mac(key, RESET_TAG, &device_nonce.to_be_bytes(), serial)
}

/// Device side: check a `RESET` MAC against the pending nonce, consuming the nonce
/// whatever the result (one try per nonce).
pub fn verify_reset(
    key: &Key,
    pending: &mut Option<u64>,
    serial: &Serial<'_>,
    mac: u64,
) -> Result<(), ProtoError> {
    let nonce = pending.take().ok_or(ProtoError::NoNonce)?;
    // No early exit on the first differing byte.
    if reset_mac(key, nonce, serial) ^ mac == 0 {
        Ok(())
    } else {
        Err(ProtoError::BadAuth)
    }
}

// ---------------------------------------------------------------------------------------
// Writing without core::fmt

const POW10: [u32; 10] = [
    1_000_000_000,
    100_000_000,
    10_000_000,
    1_000_000,
    100_000,
    10_000,
    1_000,
    100,
    10,
    1,
];

/// A line being written into a caller's buffer; overflow is reported once at the end.
pub(crate) struct Out<'a> {
    buf: &'a mut [u8],
    len: usize,
    full: bool,
}

impl<'a> Out<'a> {
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        Out {
            buf,
            len: 0,
            full: false,
        }
    }

    /// Start over (an error reply replaces whatever was written).
    pub(crate) fn clear(&mut self) {
        self.len = 0;
        self.full = false;
    }

    #[inline(never)]
    fn byte(&mut self, b: u8) {
        match self.buf.get_mut(self.len) {
            Some(slot) => {
                *slot = b;
                self.len += 1;
            }
            None => self.full = true,
        }
    }

    /// A space before every field but the first.
    fn sep(&mut self) {
        if self.len > 0 {
            self.byte(b' ');
        }
    }

    /// A field of bytes. (The helpers are out of line: inlined, their loops would be
    /// repeated at every call site, which costs flash on the device.)
    #[inline(never)]
    pub(crate) fn word_bytes(&mut self, bytes: &[u8]) {
        self.sep();
        for &b in bytes {
            self.byte(b);
        }
    }

    /// The `i`-th word of a packed list.
    pub(crate) fn packed(&mut self, list: &'static [u8], i: usize) {
        self.word_bytes(packed(list, i));
    }

    pub(crate) fn word(&mut self, text: &str) {
        self.word_bytes(text.as_bytes());
    }

    pub(crate) fn flag(&mut self, on: bool) {
        self.sep();
        self.byte(b'0' + u8::from(on));
    }

    /// A decimal field without leading zeros, by repeated subtraction: the Cortex-M0 has
    /// no divide instruction and a software division routine costs more flash.
    #[inline(never)]
    pub(crate) fn num(&mut self, mut n: u32) {
        self.sep();
        let mut started = false;
        for &p in &POW10 {
            let mut digit = b'0';
            while n >= p {
                n -= p;
                digit += 1;
            }
            started |= digit != b'0' || p == 1;
            if started {
                self.byte(digit);
            }
        }
    }

    fn hex_byte(&mut self, b: u8) {
        for nib in [b >> 4, b & 0xF] {
            // Upper-case digits without a table.
            self.byte(if nib < 10 {
                b'0' + nib
            } else {
                b'A' - 10 + nib
            });
        }
    }

    /// A field of hex digits, two per byte.
    #[inline(never)]
    pub(crate) fn hex(&mut self, bytes: &[u8]) {
        self.sep();
        for &b in bytes {
            self.hex_byte(b);
        }
    }

    pub(crate) fn firmware(&mut self, text: &str) {
        if text.is_empty() {
            return self.word("-");
        }
        self.sep();
        for &b in text.as_bytes().iter().take(FIRMWARE_MAX) {
            let ok = b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'_' | b'-');
            self.byte(if ok { b } else { b'_' });
        }
    }

    pub(crate) fn finish(mut self) -> Result<usize, Error> {
        let crc = crc8(self.buf.get(..self.len).unwrap_or(&[]));
        self.byte(b'*');
        self.hex_byte(crc);
        self.byte(b'\n');
        if self.full {
            Err(Error::BufferTooSmall)
        } else {
            Ok(self.len)
        }
    }
}

// ---------------------------------------------------------------------------------------
// Fuzzing entry point

/// Whether `line` ends in `*XX` with XX the CRC-8 of everything before it (checked here
/// without the parser's framing code).
fn ends_in_right_checksum(line: &[u8]) -> bool {
    match line {
        [body @ .., b'*', hi, lo] => hex_array::<1>(&[*hi, *lo]) == Some([crc8(body)]),
        _ => false,
    }
}

/// Feed arbitrary bytes through the device path and check the protocol invariants; for a
/// cargo-fuzz target (`fuzz_parse(data).unwrap()`-style) and the property tests.
///
/// Checks: no line longer than [`MAX_LINE`] comes out of [`LineBuffer`]; a state-changing
/// request is only ever parsed from a line with a correct checksum; every parsed request
/// written back by [`Request::write`] parses to the same request; every error reply the
/// device would send fits a line and parses back to the same code. Also runs
/// [`parse_request`] and [`parse_response`] on the raw bytes. Returns the first violated
/// invariant.
pub fn fuzz_parse(bytes: &[u8]) -> Result<(), &'static str> {
    let mut lines = LineBuffer::<MAX_LINE>::new();
    let mut out = [0u8; MAX_LINE + 1];
    for &b in bytes {
        let reply = match lines.push(b) {
            None => continue,
            Some(LineEvent::TooLong) => Reply::Error(ProtoError::TooLong),
            Some(LineEvent::Line(line)) => {
                if line.len() > MAX_LINE {
                    return Err("LineBuffer yielded an over-long line");
                }
                let _ = parse_response(line);
                match parse_request(line) {
                    Ok(request) => {
                        if request.changes_state() && !ends_in_right_checksum(line) {
                            return Err("state-changing request without a valid checksum");
                        }
                        let n = request.write(&mut out).map_err(|_| "request did not fit")?;
                        let written = out.get(..n).unwrap_or(&[]);
                        if parse_request(written) != Ok(request) {
                            return Err("request did not round-trip");
                        }
                        continue;
                    }
                    Err(e) => Reply::Error(e),
                }
            }
        };
        let n = reply
            .write(&mut out)
            .map_err(|_| "error reply did not fit")?;
        if parse_response(out.get(..n).unwrap_or(&[])) != Ok(reply) {
            return Err("error reply did not round-trip");
        }
    }
    let _ = parse_request(bytes);
    let _ = parse_response(bytes);
    Ok(())
}
