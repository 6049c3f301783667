//! The service line protocol: golden lines, round trips, every error path, properties.
//!
//! Golden checksums and MACs were computed independently of this crate (a few lines of
//! Python for CRC-8/SMBUS and SipHash-2-4), so they pin the wire format, not the code.

use firmware_core::app::{App, REPLY_MAX};
use firmware_core::protocol::{
    challenge_mac, crc8, fuzz_parse, parse_request, parse_response, reset_mac, verify_reset,
    IdReport, LineBuffer, LineEvent, PaygState, ProtoError, Provision, Reply, Request, Serial,
    StatusReport, TokenDigits, TokenReport, TokenResult, MAX_LINE, PROTOCOL_VERSION,
};
use firmware_core::storage::MockStore;
use firmware_core::token::{
    decode, Outcome, TokenKind, TokenText, TokenType, UsedCounts, VALUE_DISABLE_PAYG,
};
use firmware_core::Error;
use proptest::prelude::*;

const KEY: [u8; 16] = [
    0xa2, 0x9a, 0xb8, 0x2e, 0xdc, 0x5f, 0xbb, 0xc4, 0x1e, 0xc9, 0x53, 0x0f, 0x6d, 0xac, 0x86, 0xb1,
];
const KEY_HEX: &str = "A29AB82EDC5FBBC41EC9530F6DAC86B1";
const NONCE: [u8; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

fn serial(s: &str) -> Serial<'_> {
    Serial::new(s.as_bytes()).unwrap()
}

fn digits(s: &str) -> TokenDigits {
    TokenDigits::new(s.as_bytes()).unwrap()
}

fn prov(sn: &str, starting_code: u32, count: u32, restricted: bool, divider: u8) -> Request<'_> {
    Request::Prov(Provision {
        serial: serial(sn),
        starting_code,
        key: KEY,
        count,
        restricted,
        divider,
    })
}

fn write_request(r: &Request<'_>) -> String {
    let mut out = [0u8; MAX_LINE + 1];
    let n = r.write(&mut out).unwrap();
    String::from_utf8(out[..n].to_vec()).unwrap()
}

fn write_reply(r: &Reply<'_>) -> String {
    let mut out = [0u8; MAX_LINE + 1];
    let n = r.write(&mut out).unwrap();
    String::from_utf8(out[..n].to_vec()).unwrap()
}

#[test]
fn crc8_is_crc8_smbus() {
    assert_eq!(crc8(b"123456789"), 0xF4);
    assert_eq!(crc8(b""), 0);
    assert_eq!(crc8(b"ID"), 0x3D);
    // Transposed digits change the checksum (an XOR checksum would not notice).
    assert_ne!(crc8(b"TOKEN 662486790"), crc8(b"TOKEN 626486790"));
}

/// Canonical request lines (as the host builder writes them) and what the device parses.
#[test]
fn golden_requests() {
    let table: Vec<(&str, Request<'_>)> = vec![
        ("ID*3D", Request::Id),
        ("STATUS*17", Request::Status),
        ("TOKEN 662486790*35", Request::Token(digits("662486790"))),
        (
            "PROV SN-0001 123456789 A29AB82EDC5FBBC41EC9530F6DAC86B1 0 0 1*24",
            prov("SN-0001", 123_456_789, 0, false, 1),
        ),
        (
            "CHAL 000102030405060708090A0B0C0D0E0F*45",
            Request::Chal(NONCE),
        ),
        ("NONCE*C1", Request::Nonce),
        (
            "RESET 0123456789ABCDEF*A2",
            Request::Reset(0x0123_4567_89AB_CDEF),
        ),
    ];
    for (line, request) in &table {
        assert_eq!(parse_request(line.as_bytes()), Ok(*request), "{line}");
        assert_eq!(write_request(request), format!("{line}\n"), "{line}");
    }
}

/// Lines a human (or a lenient host) may type, and what they mean.
#[test]
fn tolerated_request_spellings() {
    let table: Vec<(&str, Request<'_>)> =
        vec![
        // Read-only commands without checksum, any case.
        ("ID", Request::Id),
        ("id", Request::Id),
        ("Status", Request::Status),
        ("  STATUS  ", Request::Status),
        ("NONCE", Request::Nonce),
        ("CHAL 000102030405060708090a0b0c0d0e0f", Request::Chal(NONCE)),
        // Lower-case checksum digits; trailing CR/LF left by a caller.
        ("id*73", Request::Id),
        ("ID*3D\r\n", Request::Id),
        // Token separators: dashes and spaces.
        ("TOKEN 662-486-790*BD", Request::Token(digits("662486790"))),
        ("TOKEN  662 486 790 *D2", Request::Token(digits("662486790"))),
        ("TOKEN 123456789012*31", Request::Token(digits("123456789012"))),
        (
            "TOKEN 324244134441123*4B",
            Request::Token(digits("324244134441123")),
        ),
        (
            "TOKEN 43112311141321111222*37",
            Request::Token(digits("43112311141321111222")),
        ),
        // Extremes of every PROV field, lower-case key.
        (
            "PROV ABCDEFGHIJKLMNOP 999999999 a29ab82edc5fbbc41ec9530f6dac86b1 4294967295 1 255*9F",
            prov("ABCDEFGHIJKLMNOP", 999_999_999, u32::MAX, true, 255),
        ),
    ];
    for (line, request) in &table {
        assert_eq!(parse_request(line.as_bytes()), Ok(*request), "{line:?}");
    }
}

#[test]
fn request_error_paths() {
    let long = format!("ID {}", "X".repeat(MAX_LINE));
    let table: Vec<(&[u8], ProtoError)> = vec![
        (long.as_bytes(), ProtoError::TooLong),
        (b"ID\0", ProtoError::BadChar),
        (b"\xff\xfeID", ProtoError::BadChar),
        (b"ID\tX", ProtoError::BadChar),
        ("T\u{c9}KEN".as_bytes(), ProtoError::BadChar),
        // Checksum: wrong, short, long, not hex, empty, stray star.
        (b"ID*3E", ProtoError::BadChecksum),
        (b"ID*3", ProtoError::BadChecksum),
        (b"ID*3D0", ProtoError::BadChecksum),
        (b"ID*G0", ProtoError::BadChecksum),
        (b"ID*", ProtoError::BadChecksum),
        (b"ID*3D*3D", ProtoError::BadChecksum),
        (b"*00", ProtoError::UnknownCmd),
        (b"TOKEN 662486790*34", ProtoError::BadChecksum),
        // A transposition in a checksummed line is caught.
        (b"TOKEN 626486790*35", ProtoError::BadChecksum),
        // State-changing commands need the checksum.
        (b"TOKEN 662486790", ProtoError::ChecksumRequired),
        (b"token 662486790", ProtoError::ChecksumRequired),
        (
            b"PROV SN-0001 123456789 A29AB82EDC5FBBC41EC9530F6DAC86B1 0 0 1",
            ProtoError::ChecksumRequired,
        ),
        (b"RESET 0123456789ABCDEF", ProtoError::ChecksumRequired),
        (b"RESET", ProtoError::ChecksumRequired),
        // Unknown commands, with and without checksum.
        (b"FOO", ProtoError::UnknownCmd),
        (b"FOO*89", ProtoError::UnknownCmd),
        (b"   ", ProtoError::UnknownCmd),
        (b"IDX", ProtoError::UnknownCmd),
        // Arguments.
        (b"STATUS extra*DD", ProtoError::BadArg),
        (b"ID 1", ProtoError::BadArg),
        (b"CHAL", ProtoError::BadArg),
        (b"CHAL 00*E9", ProtoError::BadArg),
        (b"CHAL 000102030405060708090A0B0C0D0E0G", ProtoError::BadArg),
        (b"TOKEN 66248679*56", ProtoError::BadArg),
        (b"TOKEN 66248679x*CA", ProtoError::BadArg),
        (b"RESET 0123456789ABCDE*11", ProtoError::BadArg),
        (
            b"PROV SN-0001 123456789 A29AB82EDC5FBBC41EC9530F6DAC86B1 0 0*9C",
            ProtoError::BadArg,
        ),
        (
            b"PROV SN-0001 123456789 A29AB82EDC5FBBC41EC9530F6DAC86B1 0 0 1 9*FB",
            ProtoError::BadArg,
        ),
        (
            b"PROV -SN 123456789 A29AB82EDC5FBBC41EC9530F6DAC86B1 0 0 1*64",
            ProtoError::BadArg,
        ),
        (
            b"PROV SN_1 123456789 A29AB82EDC5FBBC41EC9530F6DAC86B1 0 0 1*BE",
            ProtoError::BadArg,
        ),
        (
            b"PROV ABCDEFGHIJKLMNOPQ 123456789 A29AB82EDC5FBBC41EC9530F6DAC86B1 0 0 1*5D",
            ProtoError::BadArg,
        ),
        (
            b"PROV SN-0001 1234567890 A29AB82EDC5FBBC41EC9530F6DAC86B1 0 0 1*1B",
            ProtoError::BadArg,
        ),
        (
            b"PROV SN-0001 123456789 A29AB82EDC5FBBC41EC9530F6DAC86B 0 0 1*5D",
            ProtoError::BadArg,
        ),
        (
            b"PROV SN-0001 123456789 A29AB82EDC5FBBC41EC9530F6DAC86B1 4294967296 0 1*E0",
            ProtoError::BadArg,
        ),
        (
            b"PROV SN-0001 123456789 A29AB82EDC5FBBC41EC9530F6DAC86B1 0 2 1*F2",
            ProtoError::BadArg,
        ),
        (
            b"PROV SN-0001 123456789 A29AB82EDC5FBBC41EC9530F6DAC86B1 0 0 0*23",
            ProtoError::BadArg,
        ),
        (
            b"PROV SN-0001 123456789 A29AB82EDC5FBBC41EC9530F6DAC86B1 0 0 256*7D",
            ProtoError::BadArg,
        ),
    ];
    for (line, err) in &table {
        assert_eq!(
            parse_request(line),
            Err(*err),
            "{:?}",
            String::from_utf8_lossy(line)
        );
    }
}

/// Device replies: the line the writer produces and what the host parses back.
#[test]
fn golden_replies() {
    let status = StatusReport {
        count: 4,
        state: PaygState::Active,
        credit_seconds: 2_592_000,
        lockout_seconds: 0,
        last: Some(TokenResult::Accepted(TokenType::AddTime)),
    };
    let blank = StatusReport {
        count: 0,
        state: PaygState::Inactive,
        credit_seconds: 0,
        lockout_seconds: 120,
        last: None,
    };
    let table: Vec<(Reply<'_>, &str)> = vec![
        (
            Reply::Id(IdReport::new("0.1.0", Some(serial("SN-0001")), false)),
            "OK ID 1 0.1.0 SN-0001 1 0*B2",
        ),
        (
            Reply::Id(IdReport::new("0.1.0", None, false)),
            "OK ID 1 0.1.0 - 0 0*C0",
        ),
        (
            Reply::Status(status),
            "OK STATUS 4 ACTIVE 2592000 0 ADD_TIME*9E",
        ),
        (Reply::Status(blank), "OK STATUS 0 INACTIVE 0 120 NONE*E7"),
        (
            Reply::Token(TokenReport {
                result: TokenResult::Accepted(TokenType::AddTime),
                value: Some(1),
                count: 2,
            }),
            "OK TOKEN ADD_TIME 1 2*02",
        ),
        (
            Reply::Token(TokenReport {
                result: TokenResult::Invalid,
                value: None,
                count: 2,
            }),
            "OK TOKEN INVALID - 2*A0",
        ),
        (Reply::Prov(serial("SN-0001")), "OK PROV SN-0001*BD"),
        (
            Reply::Chal(0x3D52_7C85_40D9_D88F),
            "OK CHAL 3D527C8540D9D88F*98",
        ),
        (
            Reply::Nonce(0x0123_4567_89AB_CDEF),
            "OK NONCE 0123456789ABCDEF*78",
        ),
        (Reply::Nonce(1), "OK NONCE 0000000000000001*DC"),
        (Reply::Reset, "OK RESET*0C"),
        (Reply::Locked(3600), "ERR LOCKED 3600*10"),
        (Reply::Error(ProtoError::BadChecksum), "ERR BAD_CHECKSUM*D3"),
        (Reply::Error(ProtoError::UnknownCmd), "ERR UNKNOWN_CMD*A4"),
    ];
    for (reply, line) in &table {
        assert_eq!(write_reply(reply), format!("{line}\n"));
        assert_eq!(parse_response(line.as_bytes()), Ok(*reply), "{line}");
    }
}

/// CRC-8 catches every swap of two different printable characters anywhere in a line
/// (the undetectable swaps need bytes whose XOR is 0xFD, i.e. a byte above 0x7F).
#[test]
fn checksum_catches_every_swap() {
    let line = b"PROV SN-0001 123456789 A29AB82EDC5FBBC41EC9530F6DAC86B1 0 0 1*24";
    let body = &line[..line.len() - 3];
    for i in 0..body.len() {
        for j in i + 1..body.len() {
            if body[i] != body[j] {
                let mut swapped = line.to_vec();
                swapped.swap(i, j);
                assert!(parse_request(&swapped).is_err(), "{i} {j}");
            }
        }
    }
}

#[test]
fn longest_lines() {
    let request = prov("ABCDEFGHIJKLMNOP", 999_999_999, u32::MAX, true, 255);
    assert_eq!(write_request(&request).len() - 1, 84);
    let status = Reply::Status(StatusReport {
        count: u32::MAX,
        state: PaygState::Inactive,
        credit_seconds: u32::MAX,
        lockout_seconds: u32::MAX,
        last: Some(TokenResult::AlreadyUsed),
    });
    assert_eq!(write_reply(&status).len() - 1, 67);
}

#[test]
fn request_round_trips() {
    let text = TokenText::new(662_486_790, TokenKind::Standard, true);
    let requests = [
        Request::Id,
        Request::Status,
        Request::Nonce,
        Request::Token(digits("000000001")),
        Request::Token(TokenDigits::from_text(&text)),
        Request::Token(TokenDigits::from_text(&TokenText::new(
            999_999_999_999,
            TokenKind::Extended,
            false,
        ))),
        prov("A", 0, 0, false, 1),
        prov("ABCDEFGHIJKLMNOP", 999_999_999, u32::MAX, true, 255),
        Request::Chal([0xFF; 16]),
        Request::Reset(0),
        Request::Reset(u64::MAX),
    ];
    for request in &requests {
        let line = write_request(request);
        assert!(line.len() <= MAX_LINE + 1, "{line}");
        assert_eq!(parse_request(line.as_bytes()), Ok(*request), "{line}");
        // A checksum is always written, so even a read-only request is protected.
        assert!(line.trim_end().rsplit_once('*').is_some());
    }
    assert_eq!(
        TokenDigits::from_text(&text).as_bytes(),
        b"324244134441123".as_slice()
    );
}

#[test]
fn reply_round_trips_and_fit_a_line() {
    let longest_serial = serial("ABCDEFGHIJKLMNOP");
    let mut replies = vec![
        Reply::Id(IdReport {
            protocol: u32::MAX,
            firmware: "123456789012345678901234",
            serial: Some(longest_serial),
            restricted: true,
        }),
        Reply::Prov(longest_serial),
        Reply::Chal(u64::MAX),
        Reply::Nonce(0),
        Reply::Reset,
        Reply::Locked(u32::MAX),
        Reply::Locked(0),
    ];
    for state in [PaygState::Active, PaygState::Inactive, PaygState::Unlocked] {
        for last in [
            None,
            Some(TokenResult::Accepted(TokenType::AddTime)),
            Some(TokenResult::Accepted(TokenType::SetTime)),
            Some(TokenResult::Accepted(TokenType::DisablePayg)),
            Some(TokenResult::Accepted(TokenType::CounterSync)),
            Some(TokenResult::Invalid),
            Some(TokenResult::AlreadyUsed),
        ] {
            replies.push(Reply::Status(StatusReport {
                count: u32::MAX,
                state,
                credit_seconds: u32::MAX,
                lockout_seconds: u32::MAX,
                last,
            }));
        }
    }
    for t in [
        TokenType::AddTime,
        TokenType::SetTime,
        TokenType::DisablePayg,
        TokenType::CounterSync,
    ] {
        replies.push(Reply::Token(TokenReport {
            result: TokenResult::Accepted(t),
            value: Some(u32::MAX),
            count: u32::MAX,
        }));
    }
    for e in ProtoError::ALL {
        replies.push(Reply::Error(e));
    }
    for reply in &replies {
        let line = write_reply(reply);
        assert!(line.len() <= MAX_LINE + 1, "{line}");
        assert_eq!(parse_response(line.as_bytes()), Ok(*reply), "{line}");
    }
}

#[test]
fn error_codes_are_stable_and_unique() {
    let codes: Vec<&str> = ProtoError::ALL.iter().map(|e| e.code()).collect();
    assert_eq!(
        codes,
        [
            "TOO_LONG",
            "BAD_CHAR",
            "BAD_CHECKSUM",
            "CHECKSUM_REQUIRED",
            "UNKNOWN_CMD",
            "BAD_ARG",
            "NOT_PROVISIONED",
            "ALREADY_PROVISIONED",
            "LOCKED",
            "NO_NONCE",
            "BAD_AUTH",
            "INTERNAL",
            "OTHER",
        ]
    );
    for e in ProtoError::ALL {
        assert_eq!(ProtoError::from_code(e.code().as_bytes()), Some(e));
        assert!(!e.reason().contains('*'));
    }
    assert_eq!(ProtoError::from_code(b"bad_arg"), None);
    assert_eq!(
        ProtoError::AlreadyProvisioned.to_string(),
        "ALREADY_PROVISIONED: already provisioned"
    );
}

#[test]
fn host_parser_is_forward_compatible_but_strict() {
    // Fields a newer device appends are ignored.
    assert_eq!(parse_response(b"OK RESET extra 1*F0"), Ok(Reply::Reset));
    // Text after the code (an older or chattier device) is ignored.
    let line = format!("ERR BAD_ARG key*{:02X}", crc8(b"ERR BAD_ARG key"));
    assert_eq!(
        parse_response(line.as_bytes()),
        Ok(Reply::Error(ProtoError::BadArg))
    );
    // An error code this host does not know.
    let line = format!("ERR NEW_THING x*{:02X}", crc8(b"ERR NEW_THING x"));
    assert_eq!(
        parse_response(line.as_bytes()),
        Ok(Reply::Error(ProtoError::Other))
    );
    // LOCKED without seconds is still LOCKED.
    let line = format!("ERR LOCKED soon*{:02X}", crc8(b"ERR LOCKED soon"));
    assert_eq!(
        parse_response(line.as_bytes()),
        Ok(Reply::Error(ProtoError::Locked))
    );
    let bad: Vec<(String, ProtoError)> = [
        ("OK ID 1 0.1.0 - 1 0", ProtoError::BadArg),
        ("OK ID 1 0.1.0 SN-1 0 0", ProtoError::BadArg),
        ("OK ID 1 0.1.0 SN-1 1", ProtoError::BadArg),
        ("OK TOKEN INVALID 5 2", ProtoError::BadArg),
        ("OK TOKEN ADD_TIME - 2", ProtoError::BadArg),
        ("OK TOKEN MAYBE 1 2", ProtoError::BadArg),
        ("OK STATUS 1 ASLEEP 0 0 NONE", ProtoError::BadArg),
        ("OK STATUS 1 ACTIVE 0 0 LOCKED", ProtoError::BadArg),
        ("OK CHAL 12", ProtoError::BadArg),
        ("OK FOO", ProtoError::UnknownCmd),
        ("OK", ProtoError::BadArg),
        ("ERR", ProtoError::BadArg),
        ("HELLO", ProtoError::UnknownCmd),
        ("ok RESET", ProtoError::UnknownCmd),
    ]
    .iter()
    .map(|(body, e)| (format!("{body}*{:02X}", crc8(body.as_bytes())), *e))
    .collect();
    for (line, err) in &bad {
        assert_eq!(parse_response(line.as_bytes()), Err(*err), "{line}");
    }
    // Replies must carry a correct checksum.
    assert_eq!(
        parse_response(b"OK RESET"),
        Err(ProtoError::ChecksumRequired)
    );
    assert_eq!(parse_response(b"OK RESET*0D"), Err(ProtoError::BadChecksum));
    assert_eq!(parse_response(b"OK RESET*0C\0"), Err(ProtoError::BadChar));
}

#[test]
fn writers_report_small_buffers() {
    let request = prov("ABCDEFGHIJKLMNOP", 999_999_999, u32::MAX, true, 255);
    let reply = Reply::Id(IdReport::new(
        "0.1.0",
        Some(serial("ABCDEFGHIJKLMNOP")),
        true,
    ));
    let full_request = write_request(&request).len();
    let full_reply = write_reply(&reply).len();
    for size in 0..full_request {
        let mut out = vec![0u8; size];
        assert_eq!(
            request.write(&mut out),
            Err(Error::BufferTooSmall),
            "{size}"
        );
    }
    for size in 0..full_reply {
        let mut out = vec![0u8; size];
        assert_eq!(reply.write(&mut out), Err(Error::BufferTooSmall), "{size}");
    }
    let mut exact = vec![0u8; full_reply];
    assert_eq!(reply.write(&mut exact), Ok(full_reply));
}

#[test]
fn firmware_text_is_sanitised() {
    let reply = Reply::Id(IdReport::new("1.2 beta*x\u{e9}", None, false));
    let line = write_reply(&reply);
    assert!(line.starts_with("OK ID 1 1.2_beta_x__ - 0 0*"), "{line}");
    let long = "v".repeat(40);
    let line = write_reply(&Reply::Id(IdReport::new(&long, None, false)));
    assert!(
        line.starts_with(&format!("OK ID 1 {} -", "v".repeat(24))),
        "{line}"
    );
    let line = write_reply(&Reply::Id(IdReport::new("", None, false)));
    assert!(line.starts_with("OK ID 1 - - 0 0*"), "{line}");
    assert_eq!(PROTOCOL_VERSION, 1);
}

#[test]
fn debug_output_hides_the_key() {
    let text = format!("{:?}", prov("SN-0001", 1, 2, false, 1));
    assert!(
        text.contains("SN-0001") && text.contains("redacted"),
        "{text}"
    );
    assert!(
        !text.contains("162") && !text.to_uppercase().contains("A29A"),
        "{text}"
    );
}

#[test]
fn serial_rules() {
    for ok in ["A", "0", "SN-0001", "a-b-c", "ABCDEFGHIJKLMNOP"] {
        assert_eq!(serial(ok).as_str(), ok);
    }
    for bad in [
        "",
        "-",
        "-A",
        "A B",
        "A_B",
        "A*",
        "ABCDEFGHIJKLMNOPQ",
        "\u{e9}",
    ] {
        assert_eq!(
            Serial::new(bad.as_bytes()),
            Err(ProtoError::BadArg),
            "{bad:?}"
        );
    }
}

#[test]
fn token_digits_rules() {
    assert_eq!(digits("12-34 56-789").as_bytes(), b"123456789".as_slice());
    for bad in [
        "",
        "12345678",
        "1234567890",
        "12345678901234567890 1",
        "12345678a",
        "+123456789",
    ] {
        assert_eq!(
            TokenDigits::new(bad.as_bytes()),
            Err(ProtoError::BadArg),
            "{bad:?}"
        );
    }
}

// ----------------------------------------------------------------------------------------
// LineBuffer

/// Every event a byte stream produces, lines as strings.
fn events<const N: usize>(lb: &mut LineBuffer<N>, bytes: &[u8]) -> Vec<Result<Vec<u8>, ()>> {
    let mut out = Vec::new();
    for &b in bytes {
        match lb.push(b) {
            Some(LineEvent::Line(l)) => out.push(Ok(l.to_vec())),
            Some(LineEvent::TooLong) => out.push(Err(())),
            None => {}
        }
    }
    out
}

fn line(s: &str) -> Result<Vec<u8>, ()> {
    Ok(s.as_bytes().to_vec())
}

#[test]
fn line_endings() {
    let mut lb = LineBuffer::<MAX_LINE>::new();
    assert_eq!(
        events(&mut lb, b"ID\nSTATUS\r\nNONCE\rCHAL\n\r\n\n\r\r"),
        vec![line("ID"), line("STATUS"), line("NONCE"), line("CHAL")]
    );
    assert_eq!(lb.pending(), 0);
}

#[test]
fn partial_lines_wait_for_their_terminator() {
    let mut lb = LineBuffer::<MAX_LINE>::new();
    assert!(events(&mut lb, b"TOKEN 66248").is_empty());
    assert_eq!(lb.pending(), 11);
    // A partial line followed by a newline is just a (broken) line: never a command.
    let got = events(&mut lb, b"\n");
    assert_eq!(got, vec![line("TOKEN 66248")]);
    assert_eq!(
        parse_request(b"TOKEN 66248"),
        Err(ProtoError::ChecksumRequired)
    );
    // Noise before a real command corrupts only that line.
    let got = events(&mut lb, b"\x00\x7e~TOKEN 662486790*35\n");
    assert_eq!(got.len(), 1);
    assert_eq!(
        parse_request(got[0].as_ref().unwrap()),
        Err(ProtoError::BadChar)
    );
    // clear() drops a partial line (e.g. after an inter-byte timeout).
    events(&mut lb, b"garbage");
    lb.clear();
    assert_eq!(events(&mut lb, b"ID*3D\n"), vec![line("ID*3D")]);
}

#[test]
fn too_long_lines_become_one_error() {
    let mut lb = LineBuffer::<8>::new();
    // Exactly N bytes fit.
    assert_eq!(events(&mut lb, b"12345678\n"), vec![line("12345678")]);
    // N + 1 bytes: one TOO_LONG at the terminator, however much more comes.
    let mut long = vec![b'x'; 1000];
    long.extend_from_slice(b"\r\nID\n");
    assert_eq!(events(&mut lb, &long), vec![Err(()), line("ID")]);
    // Backspace does not un-overflow a line.
    assert_eq!(events(&mut lb, b"123456789\x08\x08\n"), vec![Err(())]);
}

#[test]
fn backspace_edits_the_line() {
    let mut lb = LineBuffer::<MAX_LINE>::new();
    assert_eq!(events(&mut lb, b"IX\x08D\n"), vec![line("ID")]);
    assert_eq!(
        events(&mut lb, b"\x7f\x7fSTATUS\x7f\x7f\x7f\x7f\x7f\x7f\n"),
        vec![]
    );
    assert_eq!(events(&mut lb, b"STATS\x08US\n"), vec![line("STATUS")]);
}

#[test]
fn binary_garbage_gives_errors_not_commands() {
    let mut lb = LineBuffer::<MAX_LINE>::new();
    let garbage: Vec<u8> = (0u8..=255).filter(|b| *b != b'\n' && *b != b'\r').collect();
    let mut stream = garbage.clone();
    stream.push(b'\n');
    stream.extend_from_slice(&garbage[..40]);
    stream.push(b'\n');
    let got = events(&mut lb, &stream);
    // 254 bytes: too long; then 40 bytes holding NUL and control bytes: BAD_CHAR.
    assert_eq!(got.len(), 2);
    assert_eq!(got[0], Err(()));
    assert_eq!(
        parse_request(got[1].as_ref().unwrap()),
        Err(ProtoError::BadChar)
    );
    assert_eq!(fuzz_parse(&stream), Ok(()));
}

// ----------------------------------------------------------------------------------------
// Key proofs and token reports

#[test]
fn challenge_and_reset_macs() {
    let sn = serial("SN-0001");
    // Computed independently: SipHash-2-4(key, "OPGCHAL1" || 00..0F || "SN-0001").
    assert_eq!(challenge_mac(&KEY, &NONCE, &sn), 0x3D52_7C85_40D9_D88F);
    assert_eq!(
        reset_mac(&KEY, 0x0123_4567_89AB_CDEF, &sn),
        0xEF8F_791E_7067_B1D2
    );
    // The serial and the nonce are bound in; the two tags separate the two uses.
    assert_ne!(
        challenge_mac(&KEY, &NONCE, &serial("SN-0002")),
        0x3D52_7C85_40D9_D88F
    );
    let mut other = NONCE;
    other[15] ^= 1;
    assert_ne!(challenge_mac(&KEY, &other, &sn), 0x3D52_7C85_40D9_D88F);

    // The full exchange as lines.
    let Ok(Request::Chal(nonce)) = parse_request(b"CHAL 000102030405060708090A0B0C0D0E0F") else {
        panic!("CHAL")
    };
    let answer = write_reply(&Reply::Chal(challenge_mac(&KEY, &nonce, &sn)));
    assert_eq!(answer, "OK CHAL 3D527C8540D9D88F*98\n");
    assert_eq!(
        parse_response(answer.as_bytes()),
        Ok(Reply::Chal(challenge_mac(&KEY, &NONCE, &sn)))
    );
}

#[test]
fn reset_nonce_is_single_use() {
    let sn = serial("SN-0001");
    let nonce = 0x0123_4567_89AB_CDEF;
    let good = reset_mac(&KEY, nonce, &sn);
    assert_eq!(
        parse_request(b"RESET EF8F791E7067B1D2*72"),
        Ok(Request::Reset(good))
    );

    let mut pending = None;
    assert_eq!(
        verify_reset(&KEY, &mut pending, &sn, good),
        Err(ProtoError::NoNonce)
    );
    pending = Some(nonce);
    assert_eq!(
        verify_reset(&KEY, &mut pending, &sn, good ^ 1),
        Err(ProtoError::BadAuth)
    );
    // The failed try used the nonce up: the right MAC is now too late.
    assert_eq!(pending, None);
    assert_eq!(
        verify_reset(&KEY, &mut pending, &sn, good),
        Err(ProtoError::NoNonce)
    );
    pending = Some(nonce);
    assert_eq!(verify_reset(&KEY, &mut pending, &sn, good), Ok(()));
    assert_eq!(pending, None);
    // A MAC for another serial or under another key does not verify.
    pending = Some(nonce);
    let other = reset_mac(&KEY, nonce, &serial("SN-0002"));
    assert_eq!(
        verify_reset(&KEY, &mut pending, &sn, other),
        Err(ProtoError::BadAuth)
    );
    pending = Some(nonce);
    let mut key2 = KEY;
    key2[0] ^= 1;
    let wrong_key = reset_mac(&key2, nonce, &sn);
    assert_eq!(
        verify_reset(&KEY, &mut pending, &sn, wrong_key),
        Err(ProtoError::BadAuth)
    );
    // A challenge answer (same device, nonce chosen to match) is no reset MAC.
    let mut chal_nonce = [0u8; 16];
    chal_nonce[..8].copy_from_slice(&nonce.to_be_bytes());
    assert_ne!(challenge_mac(&KEY, &chal_nonce, &sn), good);
}

/// The spec's §11 walk-through, driven through the protocol: line in, decoder, line out.
#[test]
fn token_lines_through_the_decoder() {
    let starting_code = 123_456_789;
    let mut state = UsedCounts::new(0);
    let steps = [
        ("123456789", "OK TOKEN ALREADY_USED - 0"),
        ("662-486-790", "OK TOKEN ADD_TIME 1 2"),
        ("662486790", "OK TOKEN ALREADY_USED - 2"),
        ("927 706 818", "OK TOKEN ADD_TIME 29 4"),
        ("942433796", "OK TOKEN SET_TIME 7 5"),
        ("650975787", "OK TOKEN DISABLE_PAYG 998 7"),
        ("592185789", "OK TOKEN SET_TIME 0 9"),
        ("000000000", "OK TOKEN INVALID - 9"),
    ];
    for (entered, expected) in steps {
        let body = format!("TOKEN {entered}");
        let line = format!("{body}*{:02X}", crc8(body.as_bytes()));
        let Ok(Request::Token(d)) = parse_request(line.as_bytes()) else {
            panic!("{line}")
        };
        let (number, kind) = firmware_core::token::parse(d.as_bytes(), false).unwrap();
        let outcome = decode(&KEY, starting_code, &mut state, number, kind, &mut []).outcome;
        let reply = Reply::Token(TokenReport::from_outcome(&outcome, state.count()));
        let written = write_reply(&reply);
        assert_eq!(
            written.split('*').next(),
            Some(expected),
            "{entered}: {written}"
        );
        assert_eq!(parse_response(written.as_bytes()), Ok(reply));
    }
    let unlocked = Outcome::Accepted {
        token_type: TokenType::DisablePayg,
        value: VALUE_DISABLE_PAYG,
        count: 7,
    };
    assert_eq!(
        TokenResult::from_outcome(&unlocked),
        TokenResult::Accepted(TokenType::DisablePayg)
    );
}

// ----------------------------------------------------------------------------------------
// Properties

/// Bytes biased towards the protocol's alphabet so that lines often get deep into parsing.
fn protocol_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"ID".to_vec()),
        Just(b"STATUS".to_vec()),
        Just(b"TOKEN ".to_vec()),
        Just(b"PROV ".to_vec()),
        Just(b"RESET ".to_vec()),
        Just(b"CHAL ".to_vec()),
        Just(b"NONCE".to_vec()),
        Just(b"SN-1 123456789 ".to_vec()),
        Just(KEY_HEX.as_bytes().to_vec()),
        Just(b" 0 1 1".to_vec()),
        Just(b"662486790".to_vec()),
        Just(b"*".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r".to_vec()),
        Just(b"\x08".to_vec()),
        prop::collection::vec("[0-9A-F -]".prop_map(|s: String| s.into_bytes()[0]), 1..4),
        prop::collection::vec(any::<u8>(), 1..4),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

/// Lines assembled from protocol pieces, most of them with a right checksum, so that
/// state-changing requests do get through and their argument parsing is exercised.
fn protocol_lines() -> impl Strategy<Value = Vec<u8>> {
    let word = prop_oneof![
        Just("TOKEN".to_string()),
        Just("PROV".to_string()),
        Just("RESET".to_string()),
        Just("CHAL".to_string()),
        Just("ID".to_string()),
        Just("SN-1".to_string()),
        Just(KEY_HEX.to_string()),
        Just("0123456789ABCDEF".to_string()),
        "[0-9]{1,12}",
        "[0-9a-fA-F]{1,33}",
        "[ -~]{0,6}",
    ];
    let valid = prop_oneof![
        "TOKEN [0-9]{9}",
        "TOKEN [0-9]{3}-[0-9]{3}-[0-9]{3}",
        "TOKEN [1-4]{20}",
        "PROV [A-Z0-9][A-Za-z0-9-]{0,15} [0-9]{1,9} [0-9A-F]{32} [0-9]{1,10} [01] [0-9]{1,3}",
        "RESET [0-9a-fA-F]{16}",
        "CHAL [0-9a-fA-F]{32}",
    ];
    let body = prop_oneof![
        valid,
        prop::collection::vec(word, 1..8).prop_map(|words| words.join(" ")),
    ];
    let line = (body, 0u8..4).prop_map(|(body, how)| match how {
        0 => body,
        1 => format!("{body}*{:02X}", crc8(body.as_bytes()) ^ 1),
        _ => format!("{body}*{:02X}", crc8(body.as_bytes())),
    });
    prop::collection::vec(line, 1..6).prop_map(|lines| (lines.join("\n") + "\n").into_bytes())
}

/// The generator does produce accepted state-changing requests.
#[test]
fn protocol_lines_reach_state_changing_requests() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut changed = 0;
    for _ in 0..3000 {
        let bytes = protocol_lines().new_tree(&mut runner).unwrap().current();
        for line in bytes.split(|b| *b == b'\n') {
            if parse_request(line).is_ok_and(|r| r.changes_state()) {
                changed += 1;
            }
        }
    }
    assert!(changed > 10, "{changed}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn protocol_lines_never_break_the_invariants(bytes in protocol_lines()) {
        prop_assert_eq!(fuzz_parse(&bytes), Ok(()));
    }


    #[test]
    fn arbitrary_bytes_never_break_the_invariants(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        prop_assert_eq!(fuzz_parse(&bytes), Ok(()));
    }

    #[test]
    fn protocol_like_bytes_never_break_the_invariants(bytes in protocol_bytes()) {
        prop_assert_eq!(fuzz_parse(&bytes), Ok(()));
    }

    /// Checked here without the module's framing code: every state-changing request comes
    /// from a line that ends in `*XX` with XX the CRC-8 of everything before the star.
    #[test]
    fn state_changing_requests_only_with_a_right_checksum(
        bytes in prop_oneof![protocol_bytes(), protocol_lines()],
    ) {
        let mut lb = LineBuffer::<MAX_LINE>::new();
        for l in events(&mut lb, &bytes).into_iter().flatten() {
            if let Ok(r) = parse_request(&l) {
                if r.changes_state() {
                    let text = String::from_utf8(l.clone()).unwrap();
                    let (body, sum) = text.rsplit_once('*').unwrap();
                    prop_assert_eq!(sum.to_uppercase(), format!("{:02X}", crc8(body.as_bytes())));
                }
            }
        }
    }

    /// A correct line with one byte changed is never taken as a command.
    #[test]
    fn corrupted_state_changing_lines_are_refused(pos in 0usize..100, flip in 1u8..=255) {
        let line = b"PROV SN-0001 123456789 A29AB82EDC5FBBC41EC9530F6DAC86B1 0 0 1*24";
        let mut bad = line.to_vec();
        let i = pos % bad.len();
        bad[i] ^= flip;
        // CRC-8 catches every single-byte change; a changed '*' loses the checksum.
        prop_assert!(parse_request(&bad).is_err(), "{:?}", String::from_utf8_lossy(&bad));
    }

    /// Built requests come through the line buffer with any of the three line endings.
    #[test]
    fn built_requests_survive_framing(
        serial_len in 1usize..=16,
        starting_code in 0u32..=999_999_999,
        count in any::<u32>(),
        restricted in any::<bool>(),
        divider in 1u8..=255,
        ending in 0usize..3,
    ) {
        let sn = "S".repeat(serial_len);
        let request = prov(&sn, starting_code, count, restricted, divider);
        let mut bytes = write_request(&request).into_bytes();
        bytes.pop();
        bytes.extend_from_slice([&b"\n"[..], b"\r", b"\r\n"][ending]);
        let mut lb = LineBuffer::<MAX_LINE>::new();
        let got = events(&mut lb, &bytes);
        prop_assert_eq!(got.len(), 1);
        let l = got[0].clone().unwrap();
        prop_assert_eq!(parse_request(&l), Ok(request));
    }

    #[test]
    fn status_replies_round_trip(
        count in any::<u32>(),
        credit in any::<u32>(),
        lockout in any::<u32>(),
        state in 0usize..3,
        last in 0usize..7,
    ) {
        let state = [PaygState::Active, PaygState::Inactive, PaygState::Unlocked][state];
        let last = [
            None,
            Some(TokenResult::Accepted(TokenType::AddTime)),
            Some(TokenResult::Accepted(TokenType::SetTime)),
            Some(TokenResult::Accepted(TokenType::DisablePayg)),
            Some(TokenResult::Accepted(TokenType::CounterSync)),
            Some(TokenResult::Invalid),
            Some(TokenResult::AlreadyUsed),
        ][last];
        let reply = Reply::Status(StatusReport { count, state, credit_seconds: credit, lockout_seconds: lockout, last });
        let line = write_reply(&reply);
        prop_assert_eq!(parse_response(line.as_bytes()), Ok(reply));
    }
}

/// Well-formed requests of every command, as sent or with a word added or dropped, with a
/// right checksum: lines that get to the argument checks of each command.
fn near_valid_lines() -> impl Strategy<Value = Vec<u8>> {
    let valid = prop_oneof![
        Just("ID".to_string()),
        Just("status".to_string()),
        Just("NONCE".to_string()),
        "TOKEN [0-9]{9}",
        "TOKEN [0-9]{12}",
        "TOKEN [1-4]{15}",
        "PROV [A-Z0-9][A-Za-z0-9-]{0,15} [0-9]{1,9} [0-9A-F]{32} [0-9]{1,10} [01] [0-9]{1,3}",
        "RESET [0-9a-fA-F]{16}",
        "CHAL [0-9a-fA-F]{32}",
    ];
    (valid, 0u8..3, "[!-~]{1,4}").prop_map(|(body, how, extra)| {
        let body = match how {
            0 => body,
            1 => format!("{body} {extra}"),
            _ => body
                .rsplit_once(' ')
                .map_or(body.clone(), |(head, _)| head.to_string()),
        };
        format!("{body}*{:02X}\n", crc8(body.as_bytes())).into_bytes()
    })
}

/// The reply `App` sends to one line (the line buffer's output, so without terminator).
fn device_reply(app: &mut App<MockStore<512>>, line: &[u8]) -> Reply<'static> {
    let mut out = [0u8; REPLY_MAX];
    let mut entropy = || 0x0123_4567_89AB_CDEF_u64;
    let mut reply = None;
    for &b in line.iter().chain(b"\n") {
        if let Some(n) = app.receive(b, 1_000, &mut entropy, &mut out) {
            assert!(reply.is_none(), "two replies to one line");
            reply = Some(out[..n].to_vec());
        }
    }
    let text: &'static [u8] = reply.expect("every line gets a reply").leak();
    parse_response(text).expect("the device's reply parses")
}

/// The command a successful reply answers.
fn answered(reply: &Reply<'_>) -> Option<&'static str> {
    Some(match reply {
        Reply::Id(_) => "ID",
        Reply::Status(_) => "STATUS",
        Reply::Token(_) => "TOKEN",
        Reply::Prov(_) => "PROV",
        Reply::Chal(_) => "CHAL",
        Reply::Nonce(_) => "NONCE",
        Reply::Reset => "RESET",
        Reply::Locked(_) | Reply::Error(_) => return None,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// The device's request path (`App`, which matches the command table and parses the
    /// arguments in place, without a `Request`) agrees with the host-side `parse_request`
    /// on every line: the same code for a refused line; for an accepted one, an answer to
    /// the same command or an error only the device's state explains.
    #[test]
    fn device_and_host_parsers_agree(
        bytes in prop_oneof![near_valid_lines(), protocol_lines(), protocol_bytes()],
        provisioned in any::<bool>(),
    ) {
        let mut lb = LineBuffer::<MAX_LINE>::new();
        for line in events(&mut lb, &bytes).into_iter().flatten() {
            let mut app = App::boot(MockStore::<512>::new(), "t-1", 1_000).unwrap();
            if provisioned {
                let prov = format!("PROV SN-1 123456789 {KEY_HEX} 0 0 1");
                let prov = format!("{prov}*{:02X}", crc8(prov.as_bytes()));
                prop_assert!(matches!(device_reply(&mut app, prov.as_bytes()), Reply::Prov(_)));
            }
            let got = device_reply(&mut app, &line);
            let text = String::from_utf8_lossy(&line).into_owned();
            match parse_request(&line) {
                Err(e) => prop_assert_eq!(got, Reply::Error(e), "{}", text),
                Ok(request) => match got {
                    Reply::Error(e) => prop_assert!(
                        match (e, &request) {
                            (ProtoError::NotProvisioned, Request::Id) => false,
                            (ProtoError::NotProvisioned, Request::Prov(_)) => false,
                            (ProtoError::NotProvisioned, _) => !provisioned,
                            (ProtoError::AlreadyProvisioned, Request::Prov(_)) => provisioned,
                            // Digits that do not fit the device's (restricted or not) mode.
                            (ProtoError::BadArg, Request::Token(_)) => true,
                            (ProtoError::NoNonce, Request::Reset(_)) => true,
                            _ => false,
                        },
                        "{} -> {:?}", text, e
                    ),
                    Reply::Locked(_) => prop_assert!(matches!(request, Request::Token(_))),
                    answer => prop_assert_eq!(answered(&answer), Some(request.name()), "{}", text),
                },
            }
        }
    }
}
