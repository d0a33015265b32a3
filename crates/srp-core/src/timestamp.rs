//! Cognito's `TIMESTAMP`: `Tue Nov 3 07:04:05 UTC 2026`.
//!
//! English weekday and month abbreviations from fixed tables (never the
//! locale), the day of the month **without** zero padding, the time
//! zero-padded, the literal `UTC`, a four-digit year. srp-core never reads the
//! clock: the caller passes the Unix time.

use core::fmt;

use crate::error::Error;
use crate::fixed::FixedStr;

const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// Seconds from 1970-01-01 to 10000-01-01: the format has four-digit years.
const MAX_UNIX_SECONDS: u64 = 253_402_300_800;

/// A formatted Cognito TIMESTAMP (at most 28 ASCII characters).
///
/// ```
/// use srp_core::Timestamp;
/// let ts = Timestamp::from_unix_seconds(1_793_689_445).unwrap();
/// assert_eq!(ts.as_str(), "Tue Nov 3 07:04:05 UTC 2026");
/// assert_eq!(Timestamp::parse("Tue Nov 3 07:04:05 UTC 2026").unwrap().unix_seconds(), 1_793_689_445);
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Timestamp {
    text: FixedStr<32>,
    unix: u64,
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({:?})", self.text.as_str())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Days since 1970-01-01 to (year, month 1..=12, day 1..=31), proleptic Gregorian.
const fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
    (year, month, day)
}

/// (year, month, day) to days since 1970-01-01.
const fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn push_two_digits(out: &mut FixedStr<32>, n: u32) {
    out.push(b'0' + (n / 10) as u8);
    out.push(b'0' + (n % 10) as u8);
}

impl Timestamp {
    /// Formats a Unix time (seconds since 1970-01-01 UTC).
    ///
    /// Fails with [`Error::TimeOutOfRange`] after the year 9999.
    pub fn from_unix_seconds(unix: u64) -> Result<Self, Error> {
        if unix >= MAX_UNIX_SECONDS {
            return Err(Error::TimeOutOfRange);
        }
        let days = (unix / 86_400) as i64;
        let secs = (unix % 86_400) as u32;
        let (year, month, day) = civil_from_days(days);
        let weekday = (days + 4).rem_euclid(7) as usize; // 1970-01-01 was a Thursday
        let mut text = FixedStr::new();
        text.push_str(WEEKDAYS[weekday]);
        text.push(b' ');
        text.push_str(MONTHS[(month - 1) as usize]);
        text.push(b' ');
        if day >= 10 {
            text.push(b'0' + (day / 10) as u8);
        }
        text.push(b'0' + (day % 10) as u8);
        text.push(b' ');
        push_two_digits(&mut text, secs / 3600);
        text.push(b':');
        push_two_digits(&mut text, secs / 60 % 60);
        text.push(b':');
        push_two_digits(&mut text, secs % 60);
        text.push_str(" UTC ");
        let year = year as u32;
        for divisor in [1000, 100, 10, 1] {
            text.push(b'0' + (year / divisor % 10) as u8);
        }
        Ok(Self { text, unix })
    }

    /// Parses a TIMESTAMP, as a server does to check a claim's freshness.
    ///
    /// Strict about the shape (names, separators, `UTC`, ranges, the weekday
    /// matching the date), lenient only about a zero-padded day (`Nov 03`),
    /// which no client sends but which is unambiguous.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let err = Error::InvalidTimestamp;
        let mut parts = text.split(' ');
        let mut next = || parts.next().ok_or(err);
        let weekday_text = next()?;
        let weekday = WEEKDAYS.iter().position(|&w| w == weekday_text).ok_or(err)?;
        let month_text = next()?;
        let month = MONTHS.iter().position(|&m| m == month_text).ok_or(err)? as u32 + 1;
        let day = parse_digits(next()?, 1, 2).ok_or(err)?;
        let time = next()?.as_bytes();
        if next()? != "UTC" {
            return Err(err);
        }
        let year = parse_digits(next()?, 4, 4).ok_or(err)?;
        if parts.next().is_some() || time.len() != 8 || time[2] != b':' || time[5] != b':' {
            return Err(err);
        }
        let field = |range: core::ops::Range<usize>| {
            core::str::from_utf8(&time[range]).ok().and_then(|s| parse_digits(s, 2, 2))
        };
        let (h, m, s) = (field(0..2).ok_or(err)?, field(3..5).ok_or(err)?, field(6..8).ok_or(err)?);
        if year < 1970 || h > 23 || m > 59 || s > 59 || day == 0 || day > days_in_month(year, month) {
            return Err(err);
        }
        let days = days_from_civil(i64::from(year), month, day);
        if (days + 4).rem_euclid(7) as usize != weekday {
            return Err(err);
        }
        let unix = days as u64 * 86_400 + u64::from(h * 3600 + m * 60 + s);
        Self::from_unix_seconds(unix)
    }

    /// The text exactly as it goes into the signature and on the wire.
    pub fn as_str(&self) -> &str {
        self.text.as_str()
    }

    /// The Unix time this TIMESTAMP denotes.
    pub fn unix_seconds(&self) -> u64 {
        self.unix
    }
}

fn parse_digits(s: &str, min: usize, max: usize) -> Option<u32> {
    if s.len() < min || s.len() > max || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.bytes().try_fold(0u32, |acc, b| Some(acc * 10 + u32::from(b - b'0')))
}

const fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => {
            if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) {
                29
            } else {
                28
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        let cases = [
            (0, "Thu Jan 1 00:00:00 UTC 1970"),
            (1_793_689_445, "Tue Nov 3 07:04:05 UTC 2026"),
            (1_754_384_587, "Tue Aug 5 09:03:07 UTC 2025"),
            (1_835_481_599, "Tue Feb 29 23:59:59 UTC 2028"),
            (2_147_483_648, "Tue Jan 19 03:14:08 UTC 2038"),
            (253_402_300_799, "Fri Dec 31 23:59:59 UTC 9999"),
        ];
        for (unix, text) in cases {
            let ts = Timestamp::from_unix_seconds(unix).unwrap();
            assert_eq!(ts.as_str(), text);
            assert_eq!(Timestamp::parse(text).unwrap().unix_seconds(), unix);
        }
        assert_eq!(Timestamp::from_unix_seconds(253_402_300_800), Err(Error::TimeOutOfRange));
    }

    #[test]
    fn parse_rejects_malformed_text() {
        for bad in [
            "",
            "Tue Nov 3 07:04:05 UTC",
            "Wed Nov 3 07:04:05 UTC 2026",
            "Tue Nov 3 07:04:05 GMT 2026",
            "Tue Nov 3 7:04:05 UTC 2026",
            "Tue Nov 3 07:04:60 UTC 2026",
            "Tue Nov 31 07:04:05 UTC 2026",
            "Tue Nov  3 07:04:05 UTC 2026",
            "tue Nov 3 07:04:05 UTC 2026",
            "Tue Nov 3 07:04:05 UTC 2026 ",
            "Tue Nov 003 07:04:05 UTC 2026",
        ] {
            assert_eq!(Timestamp::parse(bad), Err(Error::InvalidTimestamp), "{bad:?}");
        }
        assert!(Timestamp::parse("Tue Nov 03 07:04:05 UTC 2026").is_ok());
    }
}
