//! Keeps the history table up to date from the watch caches: every environment once its
//! caches have synced, then each environment again whenever its view changes (and every
//! 30 seconds, in case a change did not alter what the pages show). What was recorded is
//! remembered per environment, so an unchanged view costs no database work.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;

use super::observe::{
    argo_entries, argo_failure, revisions, rollout, statefulset_revision, RolloutSeen,
};
use crate::context::ServerContext;

/// The keys recorded for one environment (revisions, Argo CD entries).
#[derive(Default)]
struct Known {
    revisions: HashSet<(String, String, String, i64)>,
    /// StatefulSets' current revisions (workload, name).
    sets: HashSet<(String, String)>,
    entries: HashSet<(String, String, i64)>,
    /// The failed Argo CD operation last recorded (application, start).
    failure: Option<(String, i64)>,
    /// How each workload's current rollout stood when last written.
    rollouts: HashSet<(String, i64, String)>,
}

/// What makes a rollout observation worth writing again.
fn rollout_key(r: &RolloutSeen) -> (String, i64, String) {
    let which = r.name.clone().unwrap_or_default();
    (format!("{}/{which}", r.workload), r.revision.unwrap_or(-1), r.outcome.word().to_owned())
}

const RESWEEP: Duration = Duration::from_secs(30);

/// What has been recorded per environment, so an unchanged view costs no database work.
#[derive(Default)]
pub struct Recorder {
    known: HashMap<usize, Known>,
}

impl Recorder {
    /// Records what is new in every environment, once: true when all of them could be
    /// recorded (false when one's caches have not synced yet or the database failed). The
    /// server does this on every change and every 30 s; tests do it when they need it.
    pub async fn record_once(&mut self, context: &ServerContext) -> bool {
        let mut all = true;
        for i in 0..context.live.watches().len() {
            all &= self.record(context, i).await;
        }
        all
    }

    async fn record(&mut self, context: &ServerContext, i: usize) -> bool {
        observe(context, i, self.known.entry(i).or_default()).await
    }
}

pub fn start(context: ServerContext) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let count = context.live.watches().len();
        let mut updates = context.live.subscribe();
        let mut recorder = Recorder::default();
        let mut due: BTreeSet<usize> = (0..count).collect();
        let mut last_sweep = tokio::time::Instant::now();
        loop {
            for i in std::mem::take(&mut due) {
                if !recorder.record(&context, i).await {
                    due.insert(i);
                }
            }
            let wait = if due.is_empty() { RESWEEP } else { Duration::from_secs(1) };
            tokio::select! {
                update = updates.recv() => match update {
                    Ok(update) => {
                        due.insert(update.environment);
                    }
                    Err(RecvError::Lagged(_)) => due.extend(0..count),
                    Err(RecvError::Closed) => return,
                },
                () = tokio::time::sleep(wait) => {}
            }
            if last_sweep.elapsed() >= RESWEEP {
                due.extend(0..count);
                last_sweep = tokio::time::Instant::now();
            }
        }
    })
}

/// Records what is new in environment `i`; false when it should be tried again (caches
/// not synced yet, or the database failed).
async fn observe(context: &ServerContext, i: usize, known: &mut Known) -> bool {
    let (Some(watch), Some(env)) = (context.live.watches().get(i), context.environments.get(i))
    else {
        return true;
    };
    if !watch.synced() {
        return false;
    }
    let mut seen = Vec::new();
    let mut rollouts = Vec::new();
    let now_ms = chrono::Utc::now().timestamp_millis();
    for deployment in watch.deployments() {
        rollouts.extend(rollout(&env.name, &deployment, now_ms));
        let sets: Vec<_> =
            watch.replicasets_of(&deployment).iter().map(|rs| rs.as_ref().clone()).collect();
        seen.extend(revisions(&env.name, &deployment, &sets));
    }
    let mut sets = Vec::new();
    for set in watch.statefulsets() {
        if let Some((observed, outcome)) = statefulset_revision(&env.name, &set, now_ms) {
            sets.push(observed);
            rollouts.push(outcome);
        }
    }
    let application = watch.application().and_then(|a| serde_json::to_value(a.as_ref()).ok());
    let entries = application.as_ref().map(|a| argo_entries(&env.name, a)).unwrap_or_default();
    let failure = application.as_ref().and_then(|a| argo_failure(&env.name, a));
    let new_failures: Vec<_> =
        failure.iter().filter(|f| known.failure != Some(f.key())).cloned().collect();
    let new_revisions: Vec<_> =
        seen.iter().filter(|r| !known.revisions.contains(&r.key())).cloned().collect();
    let new_entries: Vec<_> =
        entries.iter().filter(|e| !known.entries.contains(&e.key())).cloned().collect();
    let new_sets: Vec<_> =
        sets.iter().filter(|s| !known.sets.contains(&s.key())).cloned().collect();
    let anything =
        [new_revisions.len(), new_sets.len(), new_entries.len(), new_failures.len()] != [0; 4];
    if anything {
        let db = &context.db;
        let recorded =
            super::store::record(db, &new_revisions, &new_sets, &new_entries, &new_failures).await;
        context.records.wrote(&[crate::records::Topic::History]);
        match recorded {
            Ok(added) => {
                tracing::debug!(environment = %env.name, added, "history recorded");
            }
            Err(error) => {
                tracing::warn!(%error, environment = %env.name, "cannot record history; will retry");
                return false;
            }
        }
    }
    // After the revisions, so a rollout that just started has its row.
    let changed: Vec<_> =
        rollouts.iter().filter(|r| !known.rollouts.contains(&rollout_key(r))).cloned().collect();
    if !changed.is_empty() {
        let settled = super::store::settle(&context.db, &changed).await;
        context.records.wrote(&[crate::records::Topic::History]);
        if let Err(error) = settled {
            tracing::warn!(%error, environment = %env.name, "cannot record rollout outcomes; will retry");
            return false;
        }
    }
    known.rollouts = rollouts.iter().map(rollout_key).collect();
    // Only what the cluster still shows: what it pruned will not come back.
    known.revisions = seen.iter().map(|r| r.key()).collect();
    known.sets = sets.iter().map(|s| s.key()).collect();
    known.failure = failure.map(|f| f.key());
    known.entries = entries.iter().map(|e| e.key()).collect();
    true
}
