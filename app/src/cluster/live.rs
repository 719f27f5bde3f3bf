//! The live view: one derived status per environment, re-derived when its watches see a
//! change, and one broadcast that every open page's stream listens to. Page renders read
//! the latest snapshot (an `Arc` clone); streams filter the broadcast by environment. So
//! neither the number of page views nor the number of open pages adds work for the
//! Kubernetes API, and a status is derived and serialized once per change, not per viewer.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use super::EnvironmentWatch;
use crate::backups::model::BackupGlance;
use crate::config::EnvironmentConfig;
use crate::environment::model::{EnvironmentDetail, PageHtml};
use crate::overview::model::EnvironmentCard;
use crate::status::model::{Attention, EnvironmentStatus, Figures};

/// Bursts of watch events within this window are derived once. Short against the
/// 500 ms change-to-screen target; long enough that a rollout's dozens of events in a few
/// milliseconds make one update, not dozens.
const COALESCE: Duration = Duration::from_millis(25);

/// Staleness is a matter of time passing without a successful watch, not of an event:
/// re-check this often so the "stale since" banner appears within seconds of an outage.
const RECHECK: Duration = Duration::from_secs(1);

/// How many updates a slow stream may fall behind before it skips to the latest state.
const BACKLOG: usize = 256;

/// One environment's latest status, in each form a page or a stream asks for, each
/// serialized once.
#[derive(Clone)]
pub struct Snapshot {
    pub status: Arc<EnvironmentStatus>,
    /// The environment and workload pages' content.
    pub detail: Arc<EnvironmentDetail>,
    /// The same pages rendered at the change (a view only brings their ages to its time).
    pub pages: Arc<PageHtml>,
    /// The overview's card.
    pub card: Arc<EnvironmentCard>,
    /// JSON of the status, the pages' HTML (rendered at the change) and the card, in the
    /// order of [`View`].
    pub json: [Arc<str>; 3],
    /// Bumped at each change; lets a stream skip what it has already sent.
    pub version: u64,
    /// Whether every watch of the environment had listed once when this was derived.
    pub synced: bool,
}

/// The forms a stream can carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    /// The whole derived status (for scripts and tools).
    Status,
    /// The environment and workload pages, as HTML.
    Detail,
    /// What the overview shows.
    Card,
}

impl View {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "status" => Some(View::Status),
            "detail" => Some(View::Detail),
            "card" => Some(View::Card),
            _ => None,
        }
    }

    /// The event name on the stream.
    pub fn name(self) -> &'static str {
        match self {
            View::Status => "status",
            View::Detail => "detail",
            View::Card => "card",
        }
    }
}

impl Snapshot {
    pub fn json(&self, view: View) -> &Arc<str> {
        &self.json[view as usize]
    }
}

/// A change to one environment, as broadcast to the streams.
#[derive(Clone)]
pub struct Update {
    /// Index of the environment in configuration order.
    pub environment: usize,
    pub snapshot: Snapshot,
}

pub struct Live {
    present: Present,
    watches: Vec<EnvironmentWatch>,
    configs: Vec<EnvironmentConfig>,
    snapshots: Vec<RwLock<Snapshot>>,
    /// Per environment, what waits for people (from the database, set by the actions'
    /// sweeper); merged into each status so pages and streams carry it.
    attention: Vec<RwLock<Attention>>,
    /// Per environment, the backend's last minutes and the alerts (from Prometheus, set
    /// by `monitoring::summary`).
    figures: Vec<RwLock<Option<Figures>>>,
    backups: Vec<RwLock<Option<BackupGlance>>>,
    updates: broadcast::Sender<Update>,
    tasks: RwLock<Vec<JoinHandle<()>>>,
    /// Turns true when the server stops: open streams end so shutdown is not held up.
    closing: tokio::sync::watch::Sender<bool>,
}

/// What the pages make of one status, once per change: the environment and workload
/// pages' content, the overview's card, and the pages' HTML, as such for the page views
/// and as JSON for the streams.
pub struct Presented {
    pub detail: EnvironmentDetail,
    pub card: EnvironmentCard,
    pub pages: Arc<PageHtml>,
    pub pages_json: Arc<str>,
}

/// How a status is presented. Given by the server at start (the pages' own function), so
/// the live view — an adapter over the watches — does not depend on the pages above it,
/// and a test can start one with any presentation.
pub type Present = fn(&EnvironmentStatus, &EnvironmentConfig) -> Presented;

pub fn to_json(value: &impl serde::Serialize) -> Arc<str> {
    serde_json::to_string(value).unwrap_or_else(|_| "{}".into()).into()
}

fn snapshot(
    present: Present,
    status: EnvironmentStatus,
    config: &EnvironmentConfig,
    version: u64,
    synced: bool,
) -> Snapshot {
    let Presented { detail, card, pages, pages_json } = present(&status, config);
    Snapshot {
        json: [to_json(&status), pages_json, to_json(&card)],
        status: Arc::new(status),
        detail: Arc::new(detail),
        pages,
        card: Arc::new(card),
        version,
        synced,
    }
}

impl Live {
    /// Takes over the environments' watches (in the order of `configs`) and starts
    /// deriving their status, each change presented by `present`.
    pub fn start(
        watches: Vec<EnvironmentWatch>,
        configs: Vec<EnvironmentConfig>,
        present: Present,
    ) -> Arc<Self> {
        let snapshots = watches
            .iter()
            .zip(&configs)
            .map(|(w, c)| RwLock::new(snapshot(present, w.status(), c, 0, false)))
            .collect();
        let (updates, _) = broadcast::channel(BACKLOG);
        let attention = watches.iter().map(|_| RwLock::new(Attention::default())).collect();
        let figures = watches.iter().map(|_| RwLock::new(None)).collect();
        let backups = watches.iter().map(|_| RwLock::new(None)).collect();
        let live = Arc::new(Self {
            present,
            watches,
            configs,
            snapshots,
            attention,
            figures,
            backups,
            updates,
            tasks: RwLock::new(Vec::new()),
            closing: tokio::sync::watch::Sender::new(false),
        });
        let tasks: Vec<JoinHandle<()>> = (0..live.watches.len())
            .map(|i| tokio::spawn(follow(Arc::downgrade(&live), i)))
            .collect();
        if let Ok(mut slot) = live.tasks.write() {
            *slot = tasks;
        }
        live
    }

    pub fn watches(&self) -> &[EnvironmentWatch] {
        &self.watches
    }

    /// The latest snapshot of environment `i`, if it exists. Derived again first when the
    /// watches have synced since it was made: the follower re-derives a few milliseconds
    /// after a change (coalescing bursts), and in that moment a server that has just
    /// started would otherwise serve the empty view it began with — every card without
    /// its version — while `/ready` already says it is ready.
    pub fn snapshot(&self, i: usize) -> Option<Snapshot> {
        let current = self.snapshots.get(i)?.read().ok().map(|s| s.clone())?;
        if current.synced || !self.watches.get(i).is_some_and(EnvironmentWatch::synced) {
            return Some(current);
        }
        self.refresh(i);
        self.snapshots.get(i)?.read().ok().map(|s| s.clone())
    }

    /// Every environment's snapshot version: any change a page could show moves one.
    pub fn versions(&self) -> Vec<u64> {
        self.snapshots.iter().map(|s| s.read().map_or(u64::MAX, |s| s.version)).collect()
    }

    /// Receives every later change, for all environments (callers filter).
    pub fn subscribe(&self) -> broadcast::Receiver<Update> {
        self.updates.subscribe()
    }

    /// Ends every open stream (the server is stopping).
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Resolves once [`Live::close`] has been called.
    pub fn closed(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut closing = self.closing.subscribe();
        async move {
            // An error means the sender is gone: the server is gone too.
            let _ = closing.wait_for(|closed| *closed).await;
        }
    }

    /// Open streams right now (each holds one receiver).
    pub fn listeners(&self) -> usize {
        self.updates.receiver_count()
    }

    /// Re-derives environment `i`; publishes if anything a page shows has changed.
    fn refresh(&self, i: usize) {
        let (Some(watch), Some(slot), Some(config)) =
            (self.watches.get(i), self.snapshots.get(i), self.configs.get(i))
        else {
            return;
        };
        // Read before the status: a sync in between then makes the next look derive again.
        let synced = watch.synced();
        let mut status = watch.status();
        status.attention =
            self.attention.get(i).and_then(|a| a.read().ok().map(|a| *a)).unwrap_or_default();
        status.figures = self.figures.get(i).and_then(|f| f.read().ok().and_then(|f| f.clone()));
        status.backups = self.backups.get(i).and_then(|b| b.read().ok().and_then(|b| b.clone()));
        let Ok(mut current) = slot.write() else { return };
        if *current.status == status {
            current.synced |= synced;
            return;
        }
        *current = snapshot(self.present, status, config, current.version + 1, synced);
        // No receivers is fine: nobody has a page open.
        let _ = self.updates.send(Update { environment: i, snapshot: current.clone() });
    }
}

impl Live {
    /// Sets what waits for people per environment — (name, pending requests,
    /// unacknowledged break-glass runs) — and updates the pages of those that changed.
    pub fn set_attention(&self, counts: &[(String, i64, i64)]) {
        for (i, config) in self.configs.iter().enumerate() {
            let (pending, unacknowledged) = counts
                .iter()
                .find(|(name, _, _)| *name == config.name)
                .map_or((0, 0), |(_, p, u)| (*p, *u));
            let next = Attention {
                pending: u32::try_from(pending).unwrap_or(u32::MAX),
                unacknowledged: u32::try_from(unacknowledged).unwrap_or(u32::MAX),
            };
            let changed = match self.attention.get(i).and_then(|a| a.write().ok()) {
                Some(mut slot) if *slot != next => {
                    *slot = next;
                    true
                }
                _ => false,
            };
            if changed {
                self.refresh(i);
            }
        }
    }
}

impl Live {
    /// Sets an environment's figures from Prometheus, and updates its pages when a shown
    /// figure changed.
    pub fn set_figures(&self, environment: &str, figures: Figures) {
        let Some(i) = self.configs.iter().position(|c| c.name == environment) else { return };
        let changed = match self.figures.get(i).and_then(|f| f.write().ok()) {
            Some(mut slot) if slot.as_ref() != Some(&figures) => {
                *slot = Some(figures);
                true
            }
            _ => false,
        };
        if changed {
            self.refresh(i);
        }
    }
}

impl Live {
    /// Sets an environment's backups at a glance, and updates its pages when it changed.
    pub fn set_backups(&self, environment: &str, glance: BackupGlance) {
        let Some(i) = self.configs.iter().position(|c| c.name == environment) else { return };
        let changed = match self.backups.get(i).and_then(|b| b.write().ok()) {
            Some(mut slot) if slot.as_ref() != Some(&glance) => {
                *slot = Some(glance);
                true
            }
            _ => false,
        };
        if changed {
            self.refresh(i);
        }
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        if let Ok(tasks) = self.tasks.read() {
            for task in tasks.iter() {
                task.abort();
            }
        }
    }
}

/// Keeps environment `i`'s snapshot current until the live view is dropped.
async fn follow(live: std::sync::Weak<Live>, i: usize) {
    let Some(changed) =
        live.upgrade().and_then(|l| l.watches.get(i).map(EnvironmentWatch::changed))
    else {
        return;
    };
    loop {
        let woken = tokio::time::timeout(RECHECK, changed.notified()).await.is_ok();
        if woken {
            tokio::time::sleep(COALESCE).await;
        }
        let Some(live) = live.upgrade() else { return };
        live.refresh(i);
    }
}
