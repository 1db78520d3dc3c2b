//! Gateway API durations (GEP-2257): `^([0-9]{1,5}(h|m|s|ms)){1,4}$`, summed like Go's
//! `time.ParseDuration` (`1h2m3s4ms`, `500ms`, `0s`; a unit may repeat: `1m1m` is two minutes).

/// A string that is not a Gateway API duration.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {0:?}")]
pub struct DurationError(pub String);

/// The duration `s` in milliseconds.
pub fn parse_duration_ms(s: &str) -> Result<u64, DurationError> {
    let err = || DurationError(s.to_owned());
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut groups = 0;
    let mut total: u64 = 0;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let digits = i - start;
        if digits == 0 || digits > 5 {
            return Err(err());
        }
        // At most 5 digits: always fits.
        let value: u64 = s[start..i].parse().map_err(|_| err())?;
        let unit_ms = match bytes.get(i) {
            Some(b'h') => {
                i += 1;
                3_600_000
            }
            Some(b'm') if bytes.get(i + 1) == Some(&b's') => {
                i += 2;
                1
            }
            Some(b'm') => {
                i += 1;
                60_000
            }
            Some(b's') => {
                i += 1;
                1_000
            }
            _ => return Err(err()),
        };
        groups += 1;
        if groups > 4 {
            return Err(err());
        }
        total += value * unit_ms;
    }
    if groups == 0 {
        return Err(err());
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gep_2257_examples() {
        assert_eq!(parse_duration_ms("0s"), Ok(0));
        assert_eq!(parse_duration_ms("500ms"), Ok(500));
        assert_eq!(parse_duration_ms("10s"), Ok(10_000));
        assert_eq!(parse_duration_ms("1h"), Ok(3_600_000));
        assert_eq!(parse_duration_ms("1h2m3s4ms"), Ok(3_723_004));
        assert_eq!(parse_duration_ms("1ms5s"), Ok(5_001));
        assert_eq!(parse_duration_ms("1m1m"), Ok(120_000));
        assert_eq!(parse_duration_ms("99999h"), Ok(99_999 * 3_600_000));
        for bad in [
            "",
            "1",
            "s",
            "1x",
            "1.5s",
            "-1s",
            "100000s",
            "1h1h1h1h1h",
            " 1s",
            "1s ",
            "1S",
            "1us",
            "1d",
            "ms",
        ] {
            assert!(parse_duration_ms(bad).is_err(), "{bad:?} must not parse");
        }
    }
}
