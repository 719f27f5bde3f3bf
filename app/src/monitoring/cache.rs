//! One Prometheus answer per (query, window) for everyone who looks: the window's end is
//! aligned to its step, so every viewer within a step asks the very same question, and the
//! first one's answer serves the rest (those asking while it is on its way wait for it,
//! they do not ask again). A page view costs no Prometheus request while its step lasts,
//! however many people look — the same principle as the watch caches for Kubernetes.
//!
//! When Prometheus fails, the last good answer for the same chart and range stays on
//! screen, said to be stale since its end; and for a few seconds after it was unreachable
//! or slow, queries fail at once instead of each waiting out the timeout again.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

use super::alertmanager::{Alertmanager, Held, Silence};
use super::prometheus::{Alert, Failure, Prometheus, Rule, Series};
use super::window::Window;

/// How long a failed answer is kept before the next viewer asks again, and how long an
/// unreachable or slow Prometheus is not asked at all.
pub const RETRY: Duration = Duration::from_secs(5);

/// Answers kept at most (charts × ranges × environments × workloads is far below this);
/// past it the oldest windows go first.
const MOST_ENTRIES: usize = 4_096;

#[derive(Clone, Debug, Hash, PartialEq, Eq)]
struct Key {
    expr: String,
    start: i64,
    end: i64,
    step: u64,
}

type Answer = Result<Arc<Vec<Series>>, (Failure, Instant)>;

/// The newest good answer of a query over a range length: its end and its series.
type Good = (i64, Arc<Vec<Series>>);

/// What a chart gets: the series to draw, and when they are not the current ones, why and
/// since when.
#[derive(Clone, Debug)]
pub struct Fetched {
    pub series: Arc<Vec<Series>>,
    /// The failure of the current query, if it failed.
    pub failure: Option<Failure>,
    /// With a failure: the end (Unix seconds) of the older data shown instead, if any.
    pub stale_since: Option<i64>,
}

/// Prometheus' alerts and alerting rules, as one listing (both change together).
#[derive(Clone, Debug, Default)]
pub struct Alerting {
    pub alerts: Vec<Alert>,
    pub rules: Vec<Rule>,
    /// With an Alertmanager configured: its silences and what it holds back, or why they
    /// could not be read (the alerts from Prometheus are shown either way).
    pub alertmanager: Option<Result<Suppressions, String>>,
}

/// What Alertmanager says about the alerts.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Suppressions {
    pub silences: Vec<Silence>,
    pub held: Vec<Held>,
}

/// What the alert panels get: the listing, and when it is not the current one, why and
/// since when.
#[derive(Clone, Debug)]
pub struct AlertsNow {
    pub alerting: Option<Arc<Alerting>>,
    pub failure: Option<Failure>,
    /// With a failure: when (Unix seconds) the listing shown was fetched, if any.
    pub stale_since: Option<i64>,
}

struct Listing {
    at: Instant,
    answer: Result<Arc<Alerting>, Failure>,
    /// The newest good listing and when it was fetched (Unix seconds).
    good: Option<(i64, Arc<Alerting>)>,
}

pub struct Cache {
    prometheus: Prometheus,
    alertmanager: Option<Alertmanager>,
    /// Held while it is being fetched: those asking meanwhile wait for that answer.
    alerting: tokio::sync::Mutex<Option<Listing>>,
    entries: Mutex<HashMap<Key, Arc<OnceCell<Answer>>>>,
    /// The newest good answer per (query, range length): shown when the current one fails.
    last_good: Mutex<HashMap<(String, i64), Good>>,
    /// Set while Prometheus is taken to be down: until when, and why.
    down: Mutex<Option<(Instant, Failure)>>,
    asked: AtomicU64,
    /// Counts the alert listings read (and forgotten): kept pages showing alerts are
    /// made again when it moves.
    generation: AtomicU64,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Nothing here can be left half-done by a panic: a poisoned map is still a good map.
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Cache {
    pub fn new(prometheus: Prometheus, alertmanager: Option<Alertmanager>) -> Self {
        Self {
            prometheus,
            alertmanager,
            alerting: tokio::sync::Mutex::new(None),
            entries: Mutex::new(HashMap::new()),
            last_good: Mutex::new(HashMap::new()),
            down: Mutex::new(None),
            asked: AtomicU64::new(0),
            generation: AtomicU64::new(0),
        }
    }

    /// The client itself, for the few queries that are not charts (the cards' figures,
    /// asked once per interval by the server, not per viewer).
    pub fn client(&self) -> &Prometheus {
        &self.prometheus
    }

    /// The Alertmanager client, when one is configured.
    pub fn alertmanager(&self) -> Option<&Alertmanager> {
        self.alertmanager.as_ref()
    }

    /// Reads the listing afresh at the next call (after a silence was made or expired:
    /// the person who made it sees it at once).
    pub async fn forget_alerting(&self) {
        *self.alerting.lock().await = None;
        self.generation.fetch_add(1, Ordering::Relaxed);
    }

    /// Moves whenever the alert listing is read again or forgotten.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Relaxed)
    }

    /// How many queries this cache has sent to Prometheus since it was made.
    pub fn asked(&self) -> u64 {
        self.asked.load(Ordering::Relaxed)
    }

    /// `expr` over `window`, from the cache when another viewer asked it in this step.
    pub async fn range(&self, expr: &str, window: &Window) -> Fetched {
        let key = Key {
            expr: expr.to_owned(),
            start: window.start,
            end: window.end,
            step: window.step.as_secs(),
        };
        let cell = self.cell(&key);
        let answer = cell
            .get_or_init(|| async {
                if let Some(failure) = self.still_down() {
                    return Err((failure, Instant::now()));
                }
                self.asked.fetch_add(1, Ordering::Relaxed);
                let answer = self.prometheus.range(expr, window).await;
                if let Err(failure @ (Failure::Unreachable { .. } | Failure::TimedOut { .. })) =
                    &answer
                {
                    *lock(&self.down) = Some((Instant::now() + RETRY, failure.clone()));
                }
                answer.map(Arc::new).map_err(|f| (f, Instant::now()))
            })
            .await
            .clone();
        let range = window.end - window.start;
        match answer {
            Ok(series) => {
                let mut good = lock(&self.last_good);
                let newer =
                    good.get(&(key.expr.clone(), range)).is_none_or(|(end, _)| *end <= window.end);
                if newer {
                    // Custom ranges make new queries without end: a full map starts over.
                    if good.len() >= MOST_ENTRIES {
                        good.clear();
                    }
                    good.insert((key.expr, range), (window.end, Arc::clone(&series)));
                }
                Fetched { series, failure: None, stale_since: None }
            }
            Err((failure, _)) => {
                let good = lock(&self.last_good).get(&(key.expr, range)).cloned();
                match good {
                    Some((end, series)) => {
                        Fetched { series, failure: Some(failure), stale_since: Some(end) }
                    }
                    None => Fetched {
                        series: Arc::new(Vec::new()),
                        failure: Some(failure),
                        stale_since: None,
                    },
                }
            }
        }
    }

    /// The alerts and rules, asked at most once per `fresh_for` (the scrape interval:
    /// rules are evaluated about that often) whoever looks.
    pub async fn alerting(&self, fresh_for: Duration) -> AlertsNow {
        let mut listing = self.alerting.lock().await;
        let fresh = listing.as_ref().is_some_and(|l| {
            let wait = if l.answer.is_ok() { fresh_for } else { RETRY.min(fresh_for) };
            l.at.elapsed() < wait
        });
        if !fresh {
            let answer = match self.still_down() {
                Some(failure) => Err(failure),
                None => {
                    self.asked.fetch_add(2, Ordering::Relaxed);
                    let both = futures_util::future::try_join(
                        self.prometheus.alerts(),
                        self.prometheus.rules(),
                    );
                    let (both, alertmanager) =
                        futures_util::future::join(both, self.suppressions()).await;
                    if let Err(failure @ (Failure::Unreachable { .. } | Failure::TimedOut { .. })) =
                        &both
                    {
                        *lock(&self.down) = Some((Instant::now() + RETRY, failure.clone()));
                    }
                    both.map(|(alerts, rules)| Arc::new(Alerting { alerts, rules, alertmanager }))
                }
            };
            let good = match &answer {
                Ok(alerting) => Some((chrono::Utc::now().timestamp(), Arc::clone(alerting))),
                Err(_) => listing.as_ref().and_then(|l| l.good.clone()),
            };
            *listing = Some(Listing { at: Instant::now(), answer, good });
            self.generation.fetch_add(1, Ordering::Relaxed);
        }
        match listing.as_ref() {
            Some(Listing { answer: Ok(alerting), .. }) => {
                AlertsNow { alerting: Some(Arc::clone(alerting)), failure: None, stale_since: None }
            }
            Some(Listing { answer: Err(failure), good, .. }) => AlertsNow {
                alerting: good.as_ref().map(|(_, a)| Arc::clone(a)),
                failure: Some(failure.clone()),
                stale_since: good.as_ref().map(|(at, _)| *at),
            },
            None => AlertsNow { alerting: None, failure: None, stale_since: None },
        }
    }

    async fn suppressions(&self) -> Option<Result<Suppressions, String>> {
        let alertmanager = self.alertmanager.as_ref()?;
        let both =
            futures_util::future::try_join(alertmanager.silences(), alertmanager.alerts()).await;
        Some(both.map(|(silences, held)| Suppressions { silences, held }))
    }

    /// Takes Prometheus to be down for a while: a page waited out its time limit for it
    /// (the queries it dropped never got to fail by themselves).
    pub fn trip(&self, failure: Failure) {
        *lock(&self.down) = Some((Instant::now() + RETRY, failure));
    }

    fn still_down(&self) -> Option<Failure> {
        let mut down = lock(&self.down);
        match &*down {
            Some((until, failure)) if Instant::now() < *until => Some(failure.clone()),
            Some(_) => {
                *down = None;
                None
            }
            None => None,
        }
    }

    /// The cell for `key`: the one in the map unless it holds a failure older than
    /// [`RETRY`] (then a new one, so the next viewer asks again).
    fn cell(&self, key: &Key) -> Arc<OnceCell<Answer>> {
        let mut entries = lock(&self.entries);
        if let Some(cell) = entries.get(key) {
            let expired = matches!(cell.get(), Some(Err((_, at))) if at.elapsed() >= RETRY);
            if !expired {
                return Arc::clone(cell);
            }
        }
        if entries.len() >= MOST_ENTRIES {
            // A window whose end is older than the newest one of its query is past: keep
            // the newest per query, then, if still full, drop the oldest ends.
            let mut newest: HashMap<&str, i64> = HashMap::new();
            for k in entries.keys() {
                let end = newest.entry(k.expr.as_str()).or_insert(k.end);
                *end = (*end).max(k.end);
            }
            let newest: HashMap<String, i64> =
                newest.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            entries.retain(|k, _| newest.get(&k.expr).is_some_and(|end| *end == k.end));
            if entries.len() >= MOST_ENTRIES {
                let mut ends: Vec<i64> = entries.keys().map(|k| k.end).collect();
                ends.sort_unstable();
                let cut = ends[ends.len() / 2];
                entries.retain(|k, _| k.end > cut);
            }
        }
        let cell = Arc::new(OnceCell::new());
        entries.insert(key.clone(), Arc::clone(&cell));
        cell
    }
}
