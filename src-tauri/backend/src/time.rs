//! UTC timestamps as text, without a date-time dependency.

/// Unix seconds → (year, month, day, hour, minute, second), proleptic Gregorian calendar
/// computed in 400-year eras.
fn civil(secs: i64) -> (i64, i64, i64, i64, i64, i64) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day, rem / 3_600, rem % 3_600 / 60, rem % 60)
}

/// The calendar year (UTC) of Unix seconds `secs`.
pub fn year_utc(secs: i64) -> i64 {
    civil(secs).0
}

/// Unix seconds → `YYYY-MM-DDTHH:MM:SSZ`.
pub fn iso_utc(secs: i64) -> String {
    let (y, mo, d, h, mi, s) = civil(secs);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// Unix seconds and milliseconds → `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn iso_utc_millis(secs: i64, millis: u32) -> String {
    let (y, mo, d, h, mi, s) = civil(secs);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{millis:03}Z")
}

#[cfg(test)]
mod tests {
    use super::{iso_utc, iso_utc_millis, year_utc};

    #[test]
    fn known_dates() {
        assert_eq!(iso_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso_utc(1_795_910_399), "2026-11-28T23:59:59Z");
        assert_eq!(iso_utc(-1), "1969-12-31T23:59:59Z");
        assert_eq!(iso_utc_millis(86_400, 7), "1970-01-02T00:00:00.007Z");
        assert_eq!(year_utc(1_795_910_399), 2026);
        assert_eq!(year_utc(1_795_910_399 + 3 * 86_400 + 1), 2026);
        assert_eq!(year_utc(1_798_761_600), 2027);
        assert_eq!(year_utc(-1), 1969);
    }
}
