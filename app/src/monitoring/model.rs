//! What a Metrics page is asked for and what it got: shared by the address reader
//! (`routes`) and the page (`page`), which depend on this and not on each other.

use std::time::Duration;

use super::cache::Fetched;
use super::queries::Chart;
use super::window::{named, Window};

/// What the address asks for, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Asked {
    pub environment: String,
    pub workload: Option<String>,
    /// The range's name, or `None` for a custom one.
    pub range: Option<&'static str>,
    /// The custom range's ends (Unix seconds), as typed back into the form.
    pub custom: Option<(i64, i64)>,
}

impl Asked {
    /// The chart window this asks for, at `now`.
    pub fn window(&self, now: i64, scrape: Duration) -> Window {
        match (self.custom, self.range.and_then(named)) {
            (Some((from, to)), _) => Window::ending(
                to,
                Duration::from_secs(u64::try_from(to - from).unwrap_or(0)),
                scrape,
            ),
            (None, Some(range)) => Window::ending(now, range, scrape),
            (None, None) => Window::ending(now, Duration::from_secs(3600), scrape),
        }
    }
}

/// One chart's answers: its series and, if it has one, its limit.
pub struct Answered {
    pub chart: Chart,
    pub series: Fetched,
    pub limit: Option<Fetched>,
}
