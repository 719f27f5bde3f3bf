//! Each chart as drawn, for everyone who looks at it over the same window. A chart's SVG
//! and value table depend on its query, the window, Prometheus' answer and the panel's
//! changes in that window — never on who looks (the tabs and action links around them
//! do). Drawing sixteen charts is most of a Metrics page's cost; with the answers kept
//! once per step (`cache`), the drawings are too, so a page view between steps only
//! assembles strings.
//!
//! An answer is known by its `Arc`: the cache hands every viewer of a step the same one,
//! and a drawing holds a clone of it, so the address it is known by cannot be reused by
//! another answer while the drawing is kept.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::cache::Fetched;
use super::chart::Marker;
use super::prometheus::Series;
use super::window::Window;

/// Drawings kept at most, and their bytes at most; past either, the ones older than
/// [`OLD`] go, then (if still full) all.
const MOST_ENTRIES: usize = 2_048;
const MOST_BYTES: usize = 32 * 1024 * 1024;
/// Older than this, a drawing is of a window no one asks for any more (the longest step
/// of the ranges offered is under this).
const OLD: Duration = Duration::from_secs(15 * 60);

/// Everything a drawing depends on.
#[derive(Hash, PartialEq, Eq)]
pub struct Key {
    chart: &'static str,
    expr: String,
    limit: Option<String>,
    start: i64,
    end: i64,
    step: u64,
    rate_window: u64,
    series: usize,
    limit_series: Option<usize>,
    failure: Option<String>,
    stale_since: Option<i64>,
    limit_failed: bool,
    markers: u64,
}

struct Drawn {
    /// Keeps the answers the key names by address alive as long as the drawing.
    _answers: (Arc<Vec<Series>>, Option<Arc<Vec<Series>>>),
    html: Arc<str>,
    made: Instant,
}

/// The markers of a page as one number, computed once per page.
pub fn fingerprint(markers: &[Marker]) -> u64 {
    let mut hasher = DefaultHasher::new();
    for m in markers {
        m.at.hash(&mut hasher);
        m.kind.hash(&mut hasher);
        m.text.hash(&mut hasher);
    }
    hasher.finish()
}

/// One chart's inputs on a page.
pub struct Inputs<'a> {
    pub chart: &'static str,
    pub expr: &'a str,
    pub limit: Option<&'a str>,
    pub window: &'a Window,
    pub series: &'a Fetched,
    pub limit_series: Option<&'a Fetched>,
    pub markers: u64,
}

impl Inputs<'_> {
    fn key(&self) -> Key {
        Key {
            chart: self.chart,
            expr: self.expr.to_owned(),
            limit: self.limit.map(str::to_owned),
            start: self.window.start,
            end: self.window.end,
            step: self.window.step.as_secs(),
            rate_window: self.window.rate_window.as_secs(),
            series: Arc::as_ptr(&self.series.series) as usize,
            limit_series: self.limit_series.map(|l| Arc::as_ptr(&l.series) as usize),
            failure: self.series.failure.as_ref().map(ToString::to_string),
            stale_since: self.series.stale_since,
            limit_failed: self.limit_series.is_some_and(|l| l.failure.is_some()),
            markers: self.markers,
        }
    }
}

#[derive(Default)]
pub struct Drawings {
    entries: Mutex<HashMap<Key, Drawn>>,
}

impl Drawings {
    /// The chart drawn for `inputs`: the kept drawing, or `draw()`'s, kept for the next.
    pub fn figure(&self, inputs: &Inputs<'_>, draw: impl FnOnce() -> String) -> Arc<str> {
        let key = inputs.key();
        if let Some(hit) = self.lock().get(&key) {
            return Arc::clone(&hit.html);
        }
        // Drawn outside the lock: two viewers drawing the same chart at once both draw it
        // (the same result), neither waits for the other.
        let html: Arc<str> = Arc::from(draw());
        let answers =
            (Arc::clone(&inputs.series.series), inputs.limit_series.map(|l| Arc::clone(&l.series)));
        let mut entries = self.lock();
        let bytes = |e: &HashMap<Key, Drawn>| e.values().map(|d| d.html.len()).sum::<usize>();
        if entries.len() >= MOST_ENTRIES || bytes(&entries) + html.len() > MOST_BYTES {
            entries.retain(|_, d| d.made.elapsed() < OLD);
        }
        if entries.len() >= MOST_ENTRIES || bytes(&entries) + html.len() > MOST_BYTES {
            entries.clear();
        }
        entries.insert(
            key,
            Drawn { _answers: answers, html: Arc::clone(&html), made: Instant::now() },
        );
        html
    }

    /// How many drawings are kept.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Drawn>> {
        // A poisoned map is still a good map: nothing in it is left half-made.
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fetched(series: Vec<Series>) -> Fetched {
        Fetched { series: Arc::new(series), failure: None, stale_since: None }
    }

    #[test]
    fn a_chart_is_drawn_once_per_answer_and_again_for_new_answers_or_markers() {
        let drawings = Drawings::default();
        let window =
            Window::ending(1_796_117_400, Duration::from_secs(3600), Duration::from_secs(15));
        let answer = fetched(Vec::new());
        let mut drawn = 0;
        let mut draw = |inputs: &Inputs<'_>| {
            drawings.figure(inputs, || {
                drawn += 1;
                format!("drawing {drawn}")
            })
        };
        let inputs = |series, markers| Inputs {
            chart: "latency",
            expr: "sum(rate(x[1m]))",
            limit: None,
            window: &window,
            series,
            limit_series: None,
            markers,
        };
        assert_eq!(&*draw(&inputs(&answer, 1)), "drawing 1");
        assert_eq!(&*draw(&inputs(&answer, 1)), "drawing 1", "the same answer is not drawn again");
        assert_eq!(&*draw(&inputs(&answer, 2)), "drawing 2", "a new change on it is");
        let next = fetched(Vec::new());
        assert_eq!(&*draw(&inputs(&next, 2)), "drawing 3", "a new answer is");
        assert_eq!(drawings.len(), 3);
    }
}
