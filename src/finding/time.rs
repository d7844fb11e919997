//! Times as records give them, normalised to RFC 3339 in UTC for `@timestamp`.

/// `eventTime` as RFC 3339 in UTC (`2022-09-29T22:28:40Z`), from the forms records come in:
/// RFC 3339 / ISO 8601 with `T` or a space between date and time, with or without fractional
/// seconds (kept as given, up to nine digits), with `Z`, an offset (`+02:00`, `+0200`, `+02`)
/// or no zone at all (read as UTC: CloudTrail writes UTC, and exports that drop the `Z`, such
/// as Panther's test records, keep UTC values). `None` when the text is none of these, or not
/// a real date and time.
pub fn normalize_time(text: &str) -> Option<String> {
    let b = text.trim().as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let digits = b.get(from..from + len)?;
        digits.iter().try_fold(0i64, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + i64::from(d - b'0'))
        })
    };
    let year = num(0, 4)?;
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let (month, day) = (num(5, 2)?, num(8, 2)?);
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    let (hour, minute) = (num(11, 2)?, num(14, 2)?);
    if b.get(13) != Some(&b':') || b.get(16) != Some(&b':') {
        return None;
    }
    let second = num(17, 2)?;
    let mut at = 19;
    let mut fraction = "";
    if matches!(b.get(at), Some(b'.' | b',')) {
        let start = at + 1;
        let mut end = start;
        while b.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
        if end == start {
            return None;
        }
        // ASCII digits: the slice is valid UTF-8.
        fraction = std::str::from_utf8(&b[start..end.min(start + 9)]).ok()?;
        at = end;
    }
    let offset_minutes = match &b[at..] {
        [] | [b'Z' | b'z'] => 0,
        [b' ', rest @ ..] if rest.eq_ignore_ascii_case(b"UTC") || rest == b"Z" => 0,
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let (h, m) = match rest {
                [h1, h2] => (two(*h1, *h2)?, 0),
                [h1, h2, b':', m1, m2] | [h1, h2, m1, m2] => (two(*h1, *h2)?, two(*m1, *m2)?),
                _ => return None,
            };
            if h > 23 || m > 59 {
                return None;
            }
            let minutes = h * 60 + m;
            if *sign == b'-' {
                -minutes
            } else {
                minutes
            }
        }
        _ => return None,
    };
    // Four digits and two: the year and month fit.
    let last_day = days_in_month(u16::try_from(year).ok()?, u8::try_from(month).ok()?)?;
    if day < 1 || day > i64::from(last_day) || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second
        - offset_minutes * 60;
    let (days, rest) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    if !(0..=9999).contains(&year) {
        return None;
    }
    let mut out = format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    );
    if !fraction.is_empty() {
        out.push('.');
        out.push_str(fraction);
    }
    out.push('Z');
    Some(out)
}

/// A time given in seconds since the Unix epoch, as RFC 3339 in UTC (`@timestamp` of what the
/// audit observed now).
pub fn rfc3339_of_epoch(seconds: u64) -> String {
    let seconds = i64::try_from(seconds).unwrap_or(i64::MAX / 2);
    let (days, rest) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Milliseconds since the Unix epoch of a time as [`normalize_time`] writes it
/// (`2022-09-29T22:28:40.123Z`; digits past the millisecond dropped): OCSF's `time`. `None`
/// for any other text, or a time before 1970.
pub fn epoch_ms_of(text: &str) -> Option<u64> {
    let normalized = normalize_time(text)?;
    let b = normalized.as_bytes();
    let num = |from: usize, len: usize| -> i64 {
        b[from..from + len]
            .iter()
            .fold(0, |n, &d| n * 10 + i64::from(d - b'0'))
    };
    // normalize_time wrote `YYYY-MM-DDTHH:MM:SS`, then `.digits` or not, then `Z`.
    let seconds = days_from_civil(num(0, 4), num(5, 2), num(8, 2)) * 86_400
        + num(11, 2) * 3600
        + num(14, 2) * 60
        + num(17, 2);
    let fraction = &normalized[19..normalized.len() - 1];
    let digits = fraction.trim_start_matches('.');
    let millis = format!("{digits:0<3}")[..3].parse::<i64>().ok()?;
    u64::try_from(seconds * 1000 + millis).ok()
}

fn two(a: u8, b: u8) -> Option<i64> {
    (a.is_ascii_digit() && b.is_ascii_digit())
        .then(|| i64::from(a - b'0') * 10 + i64::from(b - b'0'))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// The days of `month` (1 to 12) of `year`, proleptic Gregorian; `None` for another month.
/// The one calendar rule of the crate: `eventTime` here, the day prefixes of trail keys in `cli::layout`.
pub(crate) fn days_in_month(year: u16, month: u8) -> Option<u8> {
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => Some(31),
        4 | 6 | 9 | 11 => Some(30),
        2 if leap => Some(29),
        2 => Some(28),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_have_their_days() {
        let days: Vec<Option<u8>> = (0..=13).map(|m| days_in_month(2023, m)).collect();
        let mut want = vec![None];
        want.extend([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31].map(Some));
        want.push(None);
        assert_eq!(days, want);
        // Leap years: every fourth, but not centuries, except every fourth century.
        for (year, february) in [(2024, 29), (2100, 28), (1900, 28), (2000, 29), (0, 29)] {
            assert_eq!(days_in_month(year, 2), Some(february), "{year}");
        }
    }

    #[test]
    fn epoch_milliseconds_of_a_timestamp() {
        // `date -d 2022-07-20T21:06:11Z +%s` is 1658351171.
        assert_eq!(epoch_ms_of("2022-07-20T21:06:11Z"), Some(1_658_351_171_000));
        assert_eq!(
            epoch_ms_of("2022-07-20T21:06:11.5Z"),
            Some(1_658_351_171_500)
        );
        assert_eq!(
            epoch_ms_of("2022-07-20T21:06:11.123456Z"),
            Some(1_658_351_171_123)
        );
        assert_eq!(epoch_ms_of("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(epoch_ms_of("1969-12-31T23:59:59Z"), None);
        assert_eq!(epoch_ms_of("yesterday"), None);
    }
}
