//! Timestamps as text: seconds with a fixed number of decimals, and UTC dates
//! (computed here, so output never depends on the machine's time zone).

use std::fmt;

use crate::source::Timestamp;

/// Signed seconds from nanoseconds with `digits` decimals (6 or 9), without floats,
/// so large epochs keep every digit.
pub struct Secs {
    pub nanos: i128,
    pub digits: u8,
}

impl fmt::Display for Secs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let neg = self.nanos < 0;
        let n = self.nanos.unsigned_abs();
        let (s, frac) = (n / 1_000_000_000, n % 1_000_000_000);
        let sign = if neg { "-" } else { "" };
        let body = if self.digits >= 9 {
            format_args!("{sign}{s}.{frac:09}")
        } else {
            format_args!("{sign}{s}.{:06}", frac / 1000)
        };
        f.pad(&body.to_string())
    }
}

/// `2026-11-22 16:45:20.123456` in UTC.
pub struct Utc {
    pub ts: Timestamp,
    pub digits: u8,
    /// ISO 8601 with `T` and `Z` (for JSON) instead of tshark's space form.
    pub iso: bool,
}

impl fmt::Display for Utc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.ts.secs();
        let days = (secs / 86_400) as i64;
        let rem = secs % 86_400;
        let (y, m, d) = civil_from_days(days);
        let (hh, mm, ss) = (rem / 3600, rem % 3600 / 60, rem % 60);
        let sep = if self.iso { 'T' } else { ' ' };
        write!(f, "{y:04}-{m:02}-{d:02}{sep}{hh:02}:{mm:02}:{ss:02}")?;
        let ns = self.ts.subsec_nanos();
        if self.digits >= 9 {
            write!(f, ".{ns:09}")?;
        } else {
            write!(f, ".{:06}", ns / 1000)?;
        }
        if self.iso {
            f.write_str("Z")?;
        }
        Ok(())
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        let t = Utc { ts: Timestamp(1_700_000_000_123_456_789), digits: 6, iso: false };
        assert_eq!(t.to_string(), "2023-11-14 22:13:20.123456");
        let t = Utc { ts: Timestamp(1_700_000_000_123_456_789), digits: 9, iso: true };
        assert_eq!(t.to_string(), "2023-11-14T22:13:20.123456789Z");
    }

    #[test]
    fn seconds() {
        assert_eq!(Secs { nanos: 1_500_000_000, digits: 6 }.to_string(), "1.500000");
        assert_eq!(Secs { nanos: -1_000, digits: 9 }.to_string(), "-0.000001000");
        assert_eq!(format!("{:>10}", Secs { nanos: 0, digits: 6 }), "  0.000000");
    }
}
