//! When a CronJob runs next: its five-field schedule (and the `@daily` shorthands) read as
//! the CronJob controller reads it, in the CronJob's `timeZone` when it names one.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};

/// Which values each field allows, as bit sets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cron {
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    /// Both day fields restricted: either may match (cron's rule); else both must.
    either_day: bool,
}

fn field(text: &str, low: u32, high: u32, names: &[&str]) -> Result<u64, String> {
    let mut bits = 0_u64;
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().map_err(|_| format!("bad step in {part:?}"))?),
            None => (part, 1),
        };
        if step == 0 {
            return Err(format!("a step of 0 in {part:?}"));
        }
        let value = |v: &str| -> Result<u32, String> {
            if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(v)) {
                return Ok(low + u32::try_from(i).unwrap_or(0));
            }
            v.parse::<u32>().map_err(|_| format!("{v:?} is not a number"))
        };
        let (from, to) = match range {
            "*" => (low, high),
            r => match r.split_once('-') {
                Some((a, b)) => (value(a)?, value(b)?),
                None if step > 1 => (value(r)?, high),
                None => (value(r)?, value(r)?),
            },
        };
        // Sunday may be written 7.
        let to = if high == 6 && to == 7 { 6 } else { to };
        let from = if high == 6 && from == 7 { 0 } else { from };
        if from < low || to > high || from > to {
            return Err(format!("{part:?} is outside {low}-{high}"));
        }
        let mut v = from;
        while v <= to {
            bits |= 1 << v;
            v += step;
        }
    }
    Ok(bits)
}

impl Cron {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = match text.trim() {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            other => other,
        };
        let parts: Vec<&str> = text.split_whitespace().collect();
        let [m, h, dom, mon, dow] = parts[..] else {
            return Err(format!("{text:?} has {} fields, not 5", parts.len()));
        };
        const MONTHS: [&str; 12] =
            ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
        const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
        Ok(Self {
            minutes: field(m, 0, 59, &[])?,
            hours: field(h, 0, 23, &[])?,
            days: field(dom, 1, 31, &[])?,
            months: field(mon, 1, 12, &MONTHS)?,
            weekdays: field(dow, 0, 6, &DAYS)?,
            either_day: !dom.starts_with('*') && !dow.starts_with('*'),
        })
    }

    fn day_matches(&self, day: NaiveDate) -> bool {
        let month = self.months & (1 << day.month()) != 0;
        let dom = self.days & (1 << day.day()) != 0;
        let dow = self.weekdays & (1 << day.weekday().num_days_from_sunday()) != 0;
        month && if self.either_day { dom || dow } else { dom && dow }
    }

    /// The first run after `after`, in `zone`, within about a year (none: the schedule
    /// names a day that never comes, such as 31 February).
    pub fn next_after<Z: TimeZone>(&self, after: DateTime<Utc>, zone: &Z) -> Option<DateTime<Utc>> {
        let local = after.with_timezone(zone);
        let start = local.date_naive();
        for offset in 0..=400 {
            let day = start + Duration::days(offset);
            if !self.day_matches(day) {
                continue;
            }
            for hour in (0..24).filter(|h| self.hours & (1 << h) != 0) {
                for minute in (0..60).filter(|m| self.minutes & (1 << m) != 0) {
                    let Some(naive) = day.and_hms_opt(hour, minute, 0) else { continue };
                    // A time skipped by a clock change does not run; a repeated one runs once.
                    let Some(at) = zone.from_local_datetime(&naive).earliest() else { continue };
                    let at = at.with_timezone(&Utc);
                    if at > after {
                        return Some(at);
                    }
                }
            }
        }
        None
    }
}

/// The next run of `schedule` after `now`, in the CronJob's time zone (UTC when it names
/// none, as the controller does); `None` when either cannot be read.
pub fn next_run(
    schedule: &str,
    time_zone: Option<&str>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let cron = Cron::parse(schedule).ok()?;
    match time_zone {
        None => cron.next_after(now, &Utc),
        Some(name) => {
            let zone: chrono_tz::Tz = name.parse().ok()?;
            cron.next_after(now, &zone)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).expect("a valid time").with_timezone(&Utc)
    }

    #[test]
    fn the_next_nightly_run_is_found_in_its_time_zone() {
        let now = at("2026-12-02T16:00:00Z");
        assert_eq!(next_run("0 2 * * *", None, now), Some(at("2026-12-03T02:00:00Z")));
        // 02:00 in Zurich is 01:00 UTC in winter, 00:00 UTC in summer.
        assert_eq!(
            next_run("0 2 * * *", Some("Europe/Zurich"), now),
            Some(at("2026-12-03T01:00:00Z"))
        );
        assert_eq!(
            next_run("0 2 * * *", Some("Europe/Zurich"), at("2026-07-01T12:00:00Z")),
            Some(at("2026-07-02T00:00:00Z"))
        );
    }

    #[test]
    fn steps_lists_names_and_either_day() {
        let now = at("2026-12-02T16:07:00Z"); // a Wednesday
        assert_eq!(next_run("*/15 * * * *", None, now), Some(at("2026-12-02T16:15:00Z")));
        assert_eq!(next_run("30 1 * * sun", None, now), Some(at("2026-12-06T01:30:00Z")));
        assert_eq!(next_run("0 0 1 * 5", None, now), Some(at("2026-12-04T00:00:00Z")));
        assert_eq!(next_run("@hourly", None, now), Some(at("2026-12-02T17:00:00Z")));
        assert_eq!(next_run("0 0 31 2 *", None, now), None);
        assert!(Cron::parse("0 2 * *").is_err());
        assert!(Cron::parse("61 2 * * *").is_err());
        assert_eq!(next_run("0 2 * * *", Some("Mars/Olympus"), now), None);
    }
}
