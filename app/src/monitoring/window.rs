//! What time range a chart covers and how finely: the step between points, the window each
//! `rate()` looks back over, and where the range ends. One rule for every query, so no chart
//! uses a fixed `[1m]` over a week or asks for more points than Prometheus allows:
//!
//! - about 240 points: `step = max(scrape, range / 240)`, rounded up to a whole second;
//! - `rate window = max(step + scrape, 4 × scrape)`: never shorter than the step (each
//!   point sees every sample since the last) and long enough for four scrapes (a `rate()`
//!   needs two, and one may be missed);
//! - the end rounded down to a multiple of the step, so two people asking in the same step
//!   ask the very same query (and the cache answers the second).

use std::time::Duration;

/// The points a chart aims for: enough for a phone's width and a desktop's, few enough to
/// render and send quickly.
pub const POINTS: u64 = 240;

/// Prometheus refuses a range query of more than 11,000 points.
pub const MOST_POINTS: u64 = 11_000;

/// The ranges offered on every chart, by name.
pub const RANGES: [(&str, Duration); 5] = [
    ("15m", Duration::from_secs(15 * 60)),
    ("1h", Duration::from_secs(3600)),
    ("6h", Duration::from_secs(6 * 3600)),
    ("24h", Duration::from_secs(24 * 3600)),
    ("7d", Duration::from_secs(7 * 24 * 3600)),
];

/// A chart's time axis, in Unix seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Window {
    pub start: i64,
    pub end: i64,
    pub step: Duration,
    /// The range `rate()` and `increase()` look back over, and `max_over_time()` for gauges.
    pub rate_window: Duration,
}

impl Window {
    /// The window of `range` ending at `now` (rounded down to the step), for series
    /// scraped every `scrape`.
    pub fn ending(now: i64, range: Duration, scrape: Duration) -> Window {
        let scrape_s = scrape.as_secs().max(1);
        let step_s = scrape_s.max(range.as_secs().div_ceil(POINTS));
        let step = i64::try_from(step_s).unwrap_or(i64::MAX);
        let end = now.div_euclid(step) * step;
        let range_s = i64::try_from(range.as_secs()).unwrap_or(i64::MAX);
        Window {
            start: end.saturating_sub(range_s),
            end,
            step: Duration::from_secs(step_s),
            rate_window: Duration::from_secs((step_s + scrape_s).max(4 * scrape_s)),
        }
    }

    /// How many points a range query over this window returns (both ends included).
    pub fn points(&self) -> u64 {
        let span = u64::try_from(self.end - self.start).unwrap_or(0);
        span / self.step.as_secs().max(1) + 1
    }

    /// The rate window as PromQL writes a duration (`2m`, `6m30s`, `42m30s`).
    pub fn rate_window_promql(&self) -> String {
        promql_duration(self.rate_window)
    }
}

/// The range named `name` (one of [`RANGES`]).
pub fn named(name: &str) -> Option<Duration> {
    RANGES.iter().find(|(n, _)| *n == name).map(|(_, d)| *d)
}

/// A duration as PromQL writes it: whole units, largest first (`1h30m`, `45s`).
pub fn promql_duration(d: Duration) -> String {
    let mut left = d.as_secs();
    if left == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if left >= size {
            out.push_str(&format!("{}{unit}", left / size));
            left %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCRAPE: Duration = Duration::from_secs(30);

    fn of(name: &str) -> Window {
        Window::ending(1_764_669_600, named(name).expect("an offered range"), SCRAPE)
    }

    #[test]
    fn steps_and_rate_windows_follow_the_rule_for_every_offered_range() {
        // With a 30 s scrape: step = max(30 s, range / 240), window = max(step + 30 s, 2 m).
        let expected = [
            ("15m", 30, "2m"),
            ("1h", 30, "2m"),
            ("6h", 90, "2m"),
            ("24h", 360, "6m30s"),
            ("7d", 2520, "42m30s"),
        ];
        for (name, step, window) in expected {
            let w = of(name);
            assert_eq!(w.step, Duration::from_secs(step), "{name}");
            assert_eq!(w.rate_window_promql(), window, "{name}");
            assert!(w.points() <= POINTS + 1 || w.step == SCRAPE, "{name}: {} points", w.points());
            assert!(w.points() < MOST_POINTS, "{name}");
        }
    }

    #[test]
    fn the_end_is_a_multiple_of_the_step_so_viewers_in_one_step_ask_the_same() {
        let range = named("24h").expect("an offered range");
        let a = Window::ending(1_764_669_600 + 10, range, SCRAPE);
        let b = Window::ending(1_764_669_600 + 350, range, SCRAPE);
        assert_eq!(a, b, "within the same 6-minute step");
        assert_eq!(a.end % 360, 0);
        assert_eq!(a.end - a.start, 24 * 3600);
        let next = Window::ending(1_764_669_600 + 360, range, SCRAPE);
        assert_eq!(next.end, a.end + 360, "the next step moves by one step");
    }

    #[test]
    fn a_slow_scrape_sets_the_floor_and_a_long_range_never_nears_the_point_limit() {
        let minute = Duration::from_secs(60);
        let short = Window::ending(0, named("15m").expect("an offered range"), minute);
        assert_eq!(short.step, minute, "never finer than the scrape");
        assert_eq!(short.rate_window, Duration::from_secs(240), "four scrapes");
        let year = Window::ending(1_764_669_600, Duration::from_secs(365 * 86_400), SCRAPE);
        assert_eq!(year.points(), POINTS + 1);
    }

    #[test]
    fn durations_are_written_as_promql_reads_them() {
        assert_eq!(promql_duration(Duration::from_secs(120)), "2m");
        assert_eq!(promql_duration(Duration::from_secs(390)), "6m30s");
        assert_eq!(promql_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(promql_duration(Duration::from_secs(90_061)), "1d1h1m1s");
        assert_eq!(promql_duration(Duration::ZERO), "0s");
        assert_eq!(named("2w"), None);
    }
}
