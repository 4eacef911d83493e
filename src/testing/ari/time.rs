//! Clocks and identifiers for [`AriServer`](super::AriServer): Asterisk's
//! timestamps, HTTP dates and UUID-shaped ids, without a date crate.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds and milliseconds since the epoch (0 for a clock before 1970).
fn since_epoch(t: SystemTime) -> (u64, u32) {
    t.duration_since(UNIX_EPOCH)
        .map(|d| (d.as_secs(), d.subsec_millis()))
        .unwrap_or((0, 0))
}

/// (year, month 1-12, day 1-31) of a day count since 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

struct Parts {
    year: i64,
    month: u32,
    day: u32,
    hour: u64,
    min: u64,
    sec: u64,
    millis: u32,
    weekday: usize,
}

fn parts(t: SystemTime) -> Parts {
    let (secs, millis) = since_epoch(t);
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (year, month, day) = civil(days);
    Parts {
        year,
        month,
        day,
        hour: rem / 3_600,
        min: rem % 3_600 / 60,
        sec: rem % 60,
        millis,
        // 1970-01-01 was a Thursday.
        weekday: ((days + 4) % 7) as usize,
    }
}

/// Asterisk's JSON timestamp, in UTC: `2026-11-23T07:21:44.273+0000`.
pub(crate) fn timestamp(t: SystemTime) -> String {
    let p = parts(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}+0000",
        p.year, p.month, p.day, p.hour, p.min, p.sec, p.millis
    )
}

/// The current time as an Asterisk timestamp.
pub(crate) fn now() -> String {
    timestamp(SystemTime::now())
}

/// An HTTP `Date:` value: `Mon, 23 Nov 2026 07:21:44 GMT`.
pub(crate) fn http_date(t: SystemTime) -> String {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let p = parts(t);
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        DAYS[p.weekday],
        p.day,
        MONTHS[(p.month as usize).saturating_sub(1) % 12],
        p.year,
        p.hour,
        p.min,
        p.sec
    )
}

/// Seconds since the epoch, for Asterisk-style channel ids (`1795418504.10`).
pub(crate) fn unix_secs() -> u64 {
    since_epoch(SystemTime::now()).0
}

/// A small xorshift generator for ids that look like Asterisk's UUIDs.
#[derive(Debug)]
pub(crate) struct Ids(u64);

impl Ids {
    pub(crate) fn new() -> Ids {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x2545_F491);
        Ids(nanos | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A version-4-shaped UUID: `a4484879-2f8e-4a3b-97c1-a1a8238074e8`.
    pub(crate) fn uuid(&mut self) -> String {
        let a = self.next();
        let b = self.next();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | ((b >> 48) & 0x3fff),
            b & 0xffff_ffff_ffff
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_match_asterisk() {
        // 2026-11-23T07:21:44.273Z, the recordings' clock.
        let t = UNIX_EPOCH + Duration::from_millis(1_795_418_504_273);
        assert_eq!(timestamp(t), "2026-11-23T07:21:44.273+0000");
        assert_eq!(http_date(t), "Mon, 23 Nov 2026 07:21:44 GMT");
        assert_eq!(timestamp(UNIX_EPOCH), "1970-01-01T00:00:00.000+0000");
        assert_eq!(http_date(UNIX_EPOCH), "Thu, 01 Jan 1970 00:00:00 GMT");
    }

    #[test]
    fn uuids_are_shaped_right() {
        let mut ids = Ids::new();
        let u = ids.uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(u.as_bytes()[14], b'4');
        assert_ne!(u, ids.uuid());
    }
}
