//! Time parsing and formatting, shared by data files and command-line flags: timestamp
//! text ⇄ UTC milliseconds, fast: the common fixed formats are parsed by hand (10 M timestamps must parse in well under a second); anything else falls back to chrono.
//!
//! Accepted (all read as UTC unless they carry an offset):
//! - `YYYY-MM-DD`
//! - `YYYY-MM-DD HH:MM[:SS[.fff…]]`, with `T` or a space between date and time, optionally
//!   followed by `Z` or an offset `±HH`, `±HHMM`, `±HH:MM`
//! - an integer: epoch milliseconds; 16 to 18 digits are read as microseconds (Binance's spot
//!   dumps since 2025) and 19 digits as nanoseconds
//! - via chrono: RFC 3339, RFC 2822, `YYYY/MM/DD[ HH:MM:SS]`
//!
//! Fractions below a millisecond are truncated. Years are limited to 0000–9999.

const MS_PER_DAY: i64 = 86_400_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date (year, month, day) of a day count since 1970-01-01 (H. Hinnant's
/// `civil_from_days`).
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Day of the week of a UTC timestamp: 0 = Monday … 6 = Sunday.
pub(crate) fn weekday(ts_ms: i64) -> u32 {
    // 1970-01-01 was a Thursday (3).
    (ts_ms.div_euclid(MS_PER_DAY) + 3).rem_euclid(7) as u32
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

#[inline]
fn digits(b: &[u8]) -> Option<u32> {
    let mut v = 0u32;
    for &c in b {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + u32::from(d);
    }
    Some(v)
}

/// Trim ASCII whitespace from both ends.
#[inline]
pub(crate) fn trim(b: &[u8]) -> &[u8] {
    b.trim_ascii()
}

/// Parse a time given as text (any format of the module doc: `2024-01-01`,
/// `2024-01-01T12:00:00Z`, epoch ms, …) into UTC milliseconds; `None` if it is not one.
pub fn parse_time(s: &str) -> Option<i64> {
    parse_ts(s.as_bytes())
}

/// Parse a timestamp (see the module doc) into UTC milliseconds; `None` if it is not one.
pub(crate) fn parse_ts(field: &[u8]) -> Option<i64> {
    let b = trim(field);
    if b.is_empty() {
        return None;
    }
    if let Some(v) = parse_epoch(b) {
        return Some(v);
    }
    if let Some(v) = parse_iso(b) {
        return Some(v);
    }
    parse_chrono(std::str::from_utf8(b).ok()?)
}

fn parse_epoch(b: &[u8]) -> Option<i64> {
    let (neg, body) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        _ => (false, b),
    };
    if body.is_empty() || body.len() > 19 || !body.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: i64 = 0;
    for &c in body {
        v = v.checked_mul(10)?.checked_add(i64::from(c - b'0'))?;
    }
    let v = match body.len() {
        19 => v / 1_000_000,
        16..=18 => v / 1_000,
        _ => v,
    };
    Some(if neg { -v } else { v })
}

fn parse_iso(b: &[u8]) -> Option<i64> {
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y = i64::from(digits(&b[0..4])?);
    let m = digits(&b[5..7])?;
    let d = digits(&b[8..10])?;
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    let day_ms = days_from_civil(y, m, d) * MS_PER_DAY;
    if b.len() == 10 {
        return Some(day_ms);
    }
    if b[10] != b'T' && b[10] != b' ' {
        return None;
    }
    let t = &b[11..];
    if t.len() < 5 || t[2] != b':' {
        return None;
    }
    let h = digits(&t[0..2])?;
    let mi = digits(&t[3..5])?;
    let mut rest = &t[5..];
    let mut s = 0;
    if rest.first() == Some(&b':') {
        if rest.len() < 3 {
            return None;
        }
        s = digits(&rest[1..3])?;
        rest = &rest[3..];
    }
    if h > 23 || mi > 59 || s > 59 {
        return None;
    }
    let mut frac_ms = 0i64;
    if rest.first() == Some(&b'.') {
        let n = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        let f = &rest[1..=n];
        for i in 0..3 {
            frac_ms = frac_ms * 10 + f.get(i).map_or(0, |c| i64::from(c - b'0'));
        }
        rest = &rest[1 + n..];
    }
    let offset_min: i64 = match rest {
        [] | [b'Z'] | [b'z'] => 0,
        [sign @ (b'+' | b'-'), tz @ ..] => {
            let (oh, om) = match tz {
                [a, b] => (digits(&[*a, *b])?, 0),
                [a, b, c, d] => (digits(&[*a, *b])?, digits(&[*c, *d])?),
                [a, b, b':', c, d] => (digits(&[*a, *b])?, digits(&[*c, *d])?),
                _ => return None,
            };
            if oh > 23 || om > 59 {
                return None;
            }
            let o = i64::from(oh * 60 + om);
            if *sign == b'-' { -o } else { o }
        }
        _ => return None,
    };
    let secs = i64::from(h * 3600 + mi * 60 + s) - offset_min * 60;
    Some(day_ms + secs * 1000 + frac_ms)
}

fn parse_chrono(s: &str) -> Option<i64> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_millis());
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc2822(s) {
        return Some(t.timestamp_millis());
    }
    for f in ["%Y/%m/%d %H:%M:%S%.f", "%Y/%m/%d %H:%M"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, f) {
            return Some(t.and_utc().timestamp_millis());
        }
    }
    chrono::NaiveDate::parse_from_str(s, "%Y/%m/%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_millis())
}

/// How [`write_ts`] prints a file's timestamps; chosen once per file so that every value
/// reads back exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TsStyle {
    /// `YYYY-MM-DD` (every timestamp at midnight).
    Date,
    /// `YYYY-MM-DDTHH:MM:SSZ` (whole seconds).
    Seconds,
    /// `YYYY-MM-DDTHH:MM:SS.fffZ`.
    Millis,
    /// Integer epoch ms (a year outside 0000–9999).
    Epoch,
}

impl TsStyle {
    /// The shortest style that prints every timestamp in `ts` exactly.
    pub(crate) fn for_all(ts: &[i64]) -> TsStyle {
        // year 0000-01-01 and 9999-12-31T23:59:59.999
        const MIN: i64 = -62_167_219_200_000;
        const MAX: i64 = 253_402_300_799_999;
        if ts.iter().any(|t| !(MIN..=MAX).contains(t)) {
            TsStyle::Epoch
        } else if ts.iter().all(|t| t.rem_euclid(MS_PER_DAY) == 0) {
            TsStyle::Date
        } else if ts.iter().all(|t| t.rem_euclid(1000) == 0) {
            TsStyle::Seconds
        } else {
            TsStyle::Millis
        }
    }
}

fn push_num(out: &mut Vec<u8>, v: u32, width: usize) {
    let mut buf = [b'0'; 10];
    let mut v = v;
    for i in (0..width).rev() {
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
    out.extend_from_slice(&buf[..width]);
}

/// Append `ts_ms` to `out` in `style`.
pub(crate) fn write_ts(out: &mut Vec<u8>, ts_ms: i64, style: TsStyle) {
    if style == TsStyle::Epoch {
        out.extend_from_slice(ts_ms.to_string().as_bytes());
        return;
    }
    let (y, m, d) = civil_from_days(ts_ms.div_euclid(MS_PER_DAY));
    push_num(out, y as u32, 4);
    out.push(b'-');
    push_num(out, m, 2);
    out.push(b'-');
    push_num(out, d, 2);
    if style == TsStyle::Date {
        return;
    }
    let ms = ts_ms.rem_euclid(MS_PER_DAY) as u32;
    out.push(b'T');
    push_num(out, ms / 3_600_000, 2);
    out.push(b':');
    push_num(out, ms / 60_000 % 60, 2);
    out.push(b':');
    push_num(out, ms / 1000 % 60, 2);
    if style == TsStyle::Millis {
        out.push(b'.');
        push_num(out, ms % 1000, 3);
    }
    out.push(b'Z');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Option<i64> {
        parse_ts(s.as_bytes())
    }

    #[test]
    fn dates_and_times_parse_to_utc_ms() {
        // 2024-01-01 is 19723 days after 1970-01-01 (54 years, 13 leap days).
        assert_eq!(p("2024-01-01"), Some(19_723 * MS_PER_DAY));
        assert_eq!(
            p("2024-01-01 01:02:03"),
            Some(19_723 * MS_PER_DAY + 3_723_000)
        );
        assert_eq!(
            p("2024-01-01T01:02:03Z"),
            Some(19_723 * MS_PER_DAY + 3_723_000)
        );
        assert_eq!(p("2024-01-01T01:02"), Some(19_723 * MS_PER_DAY + 3_720_000));
        assert_eq!(
            p("2024-01-01T01:02:03.25Z"),
            Some(19_723 * MS_PER_DAY + 3_723_250)
        );
        assert_eq!(p("1970-01-01"), Some(0));
        assert_eq!(p("1969-12-31"), Some(-MS_PER_DAY));
    }

    #[test]
    fn offsets_shift_to_utc() {
        // 09:30 at -05:00 is 14:30 UTC
        let utc = p("2024-01-02T14:30:00Z");
        assert_eq!(p("2024-01-02 09:30:00-05:00"), utc);
        assert_eq!(p("2024-01-02T09:30:00-0500"), utc);
        assert_eq!(p("2024-01-02T15:30:00+01"), utc);
        assert_eq!(p("2024-01-02T14:30:00+00:00"), utc);
    }

    #[test]
    fn epoch_integers_are_ms_or_us() {
        assert_eq!(p("1502942400000"), Some(1_502_942_400_000));
        assert_eq!(p("1735689600000000"), Some(1_735_689_600_000));
        assert_eq!(p("1735689600000000000"), Some(1_735_689_600_000));
        assert_eq!(p("-1000"), Some(-1000));
    }

    #[test]
    fn bad_timestamps_are_rejected() {
        for s in [
            "",
            "2024-13-01",
            "2023-02-29",
            "2024-01-01X",
            "2024-01-01 25:00:00",
            "yesterday",
            "2024-01-01T00:00:00+2",
            "20240101x",
        ] {
            assert_eq!(p(s), None, "{s}");
        }
        assert_eq!(p("2024-02-29"), Some(19_782 * MS_PER_DAY));
    }

    #[test]
    fn chrono_fallback_reads_slashes_and_rfc2822() {
        assert_eq!(p("2024/01/01"), p("2024-01-01"));
        assert_eq!(p("Mon, 01 Jan 2024 00:00:00 +0000"), p("2024-01-01"));
    }

    #[test]
    fn civil_round_trips_and_weekday() {
        for z in [-800_000, -1, 0, 1, 19_723, 2_932_896] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(weekday(19_723 * MS_PER_DAY), 0); // 2024-01-01 was a Monday
        assert_eq!(weekday(0), 3); // Thursday
    }

    #[test]
    fn styles_print_exactly() {
        let t = 19_723 * MS_PER_DAY + 3_723_250;
        let mut out = Vec::new();
        write_ts(&mut out, t, TsStyle::Millis);
        assert_eq!(out, b"2024-01-01T01:02:03.250Z");
        assert_eq!(TsStyle::for_all(&[0, MS_PER_DAY]), TsStyle::Date);
        assert_eq!(TsStyle::for_all(&[0, 1000]), TsStyle::Seconds);
        assert_eq!(TsStyle::for_all(&[0, 1]), TsStyle::Millis);
        assert_eq!(TsStyle::for_all(&[i64::MAX]), TsStyle::Epoch);
    }
}
