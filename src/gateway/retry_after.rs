//! The `Retry-After` header: delay-seconds or an HTTP date (RFC 9110 §10.2.3).

use std::time::Duration;

/// A parsed `Retry-After`. A date needs the caller's clock to become a delay, so it is kept as
/// it was sent and resolved with [`RetryAfter::delay`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAfter {
    /// Wait this many seconds.
    Seconds(u64),
    /// Wait until this Unix time (seconds).
    At(i64),
}

impl RetryAfter {
    /// Parses the header value: a non-negative integer, or an HTTP date in any of the three
    /// forms RFC 9110 requires recipients to accept (IMF-fixdate, RFC 850, asctime). `None` for
    /// anything else.
    pub fn parse(value: &str) -> Option<RetryAfter> {
        let value = value.trim();
        if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
            // A huge number still means "a long time": saturate rather than reject.
            return Some(RetryAfter::Seconds(value.parse().unwrap_or(u64::MAX)));
        }
        parse_http_date(value).map(RetryAfter::At)
    }

    /// How long to wait from `now` (Unix seconds); a date in the past means no wait.
    pub fn delay(&self, now: i64) -> Duration {
        match *self {
            RetryAfter::Seconds(s) => Duration::from_secs(s),
            RetryAfter::At(at) => Duration::from_secs(at.saturating_sub(now).max(0) as u64),
        }
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Parses an HTTP date to Unix seconds.
///
/// IMF-fixdate `Sun, 06 Nov 1994 08:49:37 GMT`, RFC 850 `Sunday, 06-Nov-94 08:49:37 GMT`,
/// asctime `Sun Nov  6 08:49:37 1994`. The weekday is not cross-checked.
pub fn parse_http_date(value: &str) -> Option<i64> {
    let mut parts = value.split([' ', ',', '-']).filter(|p| !p.is_empty());
    let _weekday = parts.next()?;
    let first = parts.next()?;
    let (day, month, year, time) = if first.bytes().all(|b| b.is_ascii_digit()) {
        let (month, year, time) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next()? != "GMT" {
            return None;
        }
        (first, month, year, time)
    } else {
        let (day, time, year) = (parts.next()?, parts.next()?, parts.next()?);
        (day, first, year, time)
    };
    if parts.next().is_some() {
        return None;
    }
    let day: u32 = number(day, 1, 2)?;
    let month = MONTHS.iter().position(|m| *m == month)? as u32 + 1;
    let mut year: i64 = number(year, 2, 4)?;
    if year < 100 {
        // RFC 850 two-digit years: pick the century that is not far in the future.
        year += if year < 70 { 2000 } else { 1900 };
    }
    let mut hms = time.split(':');
    let h: i64 = number(hms.next()?, 2, 2)?;
    let m: i64 = number(hms.next()?, 2, 2)?;
    let s: i64 = number(hms.next()?, 2, 2)?;
    if hms.next().is_some()
        || h > 23
        || m > 59
        || s > 60
        || day == 0
        || day > days_in_month(year, month)
    {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + s)
}

fn number<T: std::str::FromStr>(s: &str, min_len: usize, max_len: usize) -> Option<T> {
    if s.len() < min_len || s.len() > max_len || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's civil algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    const RFC_EXAMPLE: i64 = 784_111_777; // Sun, 06 Nov 1994 08:49:37 GMT

    #[wasm_bindgen_test(unsupported = test)]
    fn parses_all_three_http_date_forms_to_the_same_instant() {
        for v in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert_eq!(
                RetryAfter::parse(v),
                Some(RetryAfter::At(RFC_EXAMPLE)),
                "{v}"
            );
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn turns_seconds_and_dates_into_delays_from_now() {
        assert_eq!(
            RetryAfter::parse(" 120 ").unwrap().delay(0),
            Duration::from_secs(120)
        );
        let at = RetryAfter::parse("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(at.delay(RFC_EXAMPLE - 30), Duration::from_secs(30));
        assert_eq!(at.delay(RFC_EXAMPLE + 30), Duration::ZERO);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn rejects_negative_fractional_and_malformed_values() {
        for v in [
            "-5",
            "1.5",
            "",
            "soon",
            "Sun, 31 Feb 2026 00:00:00 GMT",
            "Sun, 06 Nov 1994 25:00:00 GMT",
            "Sun, 06 Nov 1994 08:49:37 PST",
        ] {
            assert_eq!(RetryAfter::parse(v), None, "{v}");
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn handles_leap_days_and_recent_dates() {
        assert_eq!(
            parse_http_date("Thu, 29 Feb 2024 00:00:00 GMT"),
            Some(1_709_164_800)
        );
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
    }
}
