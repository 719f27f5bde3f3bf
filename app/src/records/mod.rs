//! The newest rows of the record pages (approvals, a request, history, audit, backups, the
//! Metrics page's deploy markers), kept in memory between two writes, so a page view reads
//! no database while nothing changed.
//!
//! What invalidates them: every write to a recorded table notifies `gantry_records` on
//! commit (a trigger, see the migration `record_notifications`), and [`listen`] bumps the
//! version of that table's topic on every server — a change made through another replica,
//! or by hand, shows here within the notification's delay. A write made by this server
//! also bumps the version itself as soon as it commits ([`Versions::wrote`]), so the page
//! that follows an action shows that action without waiting for the notification. While
//! the listener is not connected nothing is kept: every view reads the database, as it
//! would without this.

pub mod clock;
pub mod listen;

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// What a page's rows depend on: each topic is one or more tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Topic {
    /// `action_request`, `action_decision`.
    Requests,
    /// `audit_event`.
    Audit,
    /// `observed_revision`, `argo_history`, `argo_failed_sync`.
    History,
    /// `backup_run`.
    Backups,
}

const TOPICS: usize = 4;

impl Topic {
    fn index(self) -> usize {
        self as usize
    }

    /// The topic of a table a notification names; `None` for a table this version does
    /// not know (a newer version's), which then invalidates everything.
    pub fn of_table(table: &str) -> Option<Topic> {
        match table {
            "action_request" | "action_decision" => Some(Topic::Requests),
            "audit_event" => Some(Topic::Audit),
            "observed_revision" | "argo_history" | "argo_failed_sync" => Some(Topic::History),
            "backup_run" => Some(Topic::Backups),
            _ => None,
        }
    }
}

/// One counter per topic, moved on every write, and whether the notifications are heard.
#[derive(Default)]
pub struct Versions {
    topics: [AtomicU64; TOPICS],
    /// Moved whenever hearing starts or stops: what was kept across is dropped.
    epoch: AtomicU64,
    listening: AtomicBool,
}

impl Versions {
    /// The version of what depends on `topics`, or `None` while notifications are not
    /// heard (then nothing may be kept). Every counter only grows, so their sum changes
    /// whenever one of them does.
    pub fn stamp(&self, topics: &[Topic]) -> Option<u64> {
        if !self.listening.load(Ordering::Acquire) {
            return None;
        }
        let sum = topics.iter().map(|t| self.topics[t.index()].load(Ordering::Acquire));
        Some(sum.fold(self.epoch.load(Ordering::Acquire), u64::wrapping_add))
    }

    /// A write to `topics` has committed (or may have: a failed write bumps too, which
    /// costs one reading).
    pub fn wrote(&self, topics: &[Topic]) {
        for topic in topics {
            self.topics[topic.index()].fetch_add(1, Ordering::AcqRel);
        }
    }

    /// A notification named `table`.
    pub fn notified(&self, table: &str) {
        match Topic::of_table(table) {
            Some(topic) => self.wrote(&[topic]),
            None => {
                self.epoch.fetch_add(1, Ordering::AcqRel);
            }
        }
    }

    /// Notifications are heard from now on; what a missed one would have changed is
    /// dropped by moving the epoch.
    pub fn hearing(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.listening.store(true, Ordering::Release);
    }

    /// Notifications are no longer heard (the listener's connection was lost).
    pub fn deaf(&self) {
        self.listening.store(false, Ordering::Release);
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }
}

/// How many different readings one page keeps (filters, people's scopes); past that the
/// outdated ones go, and if all are current, all go (the next views read again).
const MOST_KEPT: usize = 64;

/// The rows one page read, per key (what was asked, and the reader's scope), each with the
/// version it was read at.
pub struct Kept<V> {
    topics: &'static [Topic],
    rows: Mutex<HashMap<String, (u64, Arc<V>)>>,
    /// The readings under way, per key: the views that miss together (64 at once, right
    /// after a write) wait for one reading instead of each making its own.
    reading: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// How many times the database was read for it (tests and benchmarks say how often).
    loads: AtomicU64,
}

impl<V> Kept<V> {
    pub fn new(topics: &'static [Topic]) -> Self {
        Kept {
            topics,
            rows: Mutex::new(HashMap::new()),
            reading: Mutex::new(HashMap::new()),
            loads: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (u64, Arc<V>)>> {
        // A poisoned map only ever held whole entries.
        self.rows.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn current(&self, key: &str, stamp: Option<u64>) -> Option<Arc<V>> {
        let stamp = stamp?;
        let kept = self.lock();
        let (at, rows) = kept.get(key)?;
        (*at == stamp).then(|| Arc::clone(rows))
    }

    /// The rows kept for `key` if nothing they depend on was written since, else `load`'s,
    /// kept for the next view. The version is taken before reading, so a write that lands
    /// during the reading leaves what was read outdated.
    pub async fn get<E, F>(&self, versions: &Versions, key: String, load: F) -> Result<Arc<V>, E>
    where
        F: Future<Output = Result<V, E>>,
    {
        let Some(stamp) = versions.stamp(self.topics) else {
            // Not hearing: nothing would be kept for the others to find, so each view reads
            // at once, as it would without this.
            self.loads.fetch_add(1, Ordering::Relaxed);
            return load.await.map(Arc::new);
        };
        if let Some(rows) = self.current(&key, Some(stamp)) {
            return Ok(rows);
        }
        // One reading per key at a time; who waited finds it kept.
        let gate = {
            let mut reading =
                self.reading.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if reading.len() >= MOST_KEPT && !reading.contains_key(&key) {
                reading.retain(|_, gate| Arc::strong_count(gate) > 1);
            }
            Arc::clone(reading.entry(key.clone()).or_default())
        };
        let _turn = gate.lock().await;
        let stamp = versions.stamp(self.topics);
        if let Some(rows) = self.current(&key, stamp) {
            return Ok(rows);
        }
        self.loads.fetch_add(1, Ordering::Relaxed);
        let rows = Arc::new(load.await?);
        if let Some(stamp) = stamp {
            let mut kept = self.lock();
            if kept.len() >= MOST_KEPT && !kept.contains_key(&key) {
                kept.retain(|_, (at, _)| *at == stamp);
                if kept.len() >= MOST_KEPT {
                    kept.clear();
                }
            }
            kept.insert(key, (stamp, Arc::clone(&rows)));
        }
        Ok(rows)
    }

    /// How many times the rows were read from the database.
    pub fn loads(&self) -> u64 {
        self.loads.load(Ordering::Relaxed)
    }

    /// How many readings are kept (tests).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

type Requests = Vec<crate::actions::store::Stored>;

/// The kept readings of every record page, and their versions.
pub struct Records {
    pub versions: Versions,
    /// The approvals page's newest requests, per set of environments.
    pub recent_requests: Kept<Requests>,
    /// One request, per id (`None`: there is none).
    pub request: Kept<Option<crate::actions::store::Stored>>,
    /// The History timeline, per set of environments and filter (the page and exports).
    pub timeline: Kept<Vec<crate::history::timeline::Entry>>,
    /// The same rendered, per set of environments, filter and where one may roll back.
    pub timeline_rows: Kept<crate::history::page::Timeline>,
    /// One page of the audit log, rendered, per scope and filter.
    pub audit: Kept<crate::audit::page::Events>,
    /// The Metrics page's deploy and scaling markers, per environment, workload and window.
    pub markers: Kept<Vec<crate::monitoring::chart::Marker>>,
    /// An environment's newest backup runs.
    pub backup_runs: Kept<Vec<crate::backups::store::Run>>,
}

impl Default for Records {
    fn default() -> Self {
        use Topic::*;
        Records {
            versions: Versions::default(),
            recent_requests: Kept::new(&[Requests]),
            request: Kept::new(&[Requests]),
            // The timeline names the request that caused each change.
            timeline: Kept::new(&[History, Requests]),
            timeline_rows: Kept::new(&[History, Requests]),
            audit: Kept::new(&[Audit]),
            backup_runs: Kept::new(&[Backups]),
            markers: Kept::new(&[History, Requests]),
        }
    }
}

impl Records {
    /// This server wrote to `topics` (see [`Versions::wrote`]).
    pub fn wrote(&self, topics: &[Topic]) {
        self.versions.wrote(topics);
    }
}

#[cfg(test)]
mod tests;
