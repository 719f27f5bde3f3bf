//! Times as the pages write them (the record pages' rows, the overview's "Loaded …"), made
//! without a format string: chrono's `format("%Y-%m-%d %H:%M:%S UTC")` reads its format
//! string again for every row, which was a few per cent of an Audit or History page read
//! with a filter no one asked before.

use std::fmt::Write as _;

use chrono::{DateTime, Datelike, Timelike, Utc};

/// `2026-12-07 09:30:05 UTC`
pub fn to_second(t: &DateTime<Utc>) -> String {
    let mut out = to_minute_without_zone(t);
    let _ = write!(out, ":{:02} UTC", t.second());
    out
}

/// `2026-12-07 09:30 UTC`
pub fn to_minute(t: &DateTime<Utc>) -> String {
    let mut out = to_minute_without_zone(t);
    out.push_str(" UTC");
    out
}

fn to_minute_without_zone(t: &DateTime<Utc>) -> String {
    if !(0..=9999).contains(&t.year()) {
        // Outside four digits chrono writes a sign; no recorded time is there.
        return t.format("%Y-%m-%d %H:%M").to_string();
    }
    let mut out = String::with_capacity(24);
    let _ = write!(
        out,
        "{:04}-{:02}-{:02} {:02}:{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute()
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_as_chronos_format_string() {
        let times = [0_i64, 59, 1_796_117_405, 951_782_400, -62_135_596_800, 253_402_300_799];
        for seconds in times.into_iter().chain((0..500).map(|i| i * 7_919_993)) {
            let t = DateTime::from_timestamp(seconds, 0).expect("in range");
            assert_eq!(to_second(&t), t.format("%Y-%m-%d %H:%M:%S UTC").to_string(), "{seconds}");
            assert_eq!(to_minute(&t), t.format("%Y-%m-%d %H:%M UTC").to_string(), "{seconds}");
        }
        let before = DateTime::from_timestamp(-62_135_596_801, 0).expect("in range");
        assert_eq!(to_minute(&before), before.format("%Y-%m-%d %H:%M UTC").to_string());
    }
}
