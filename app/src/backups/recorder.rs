//! Keeps the backup runs in PostgreSQL up to date from the watch caches — each
//! environment once its caches have synced, again whenever its view changes, and every
//! 30 seconds — and keeps in memory when each environment's last good backup finished,
//! for the overview cards, the guard and the metrics endpoint (read from the database
//! once, then moved by what is recorded).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;

use super::model::Outcome;
use super::observe::observe;
use super::store;
use crate::context::ServerContext;

const RESWEEP: Duration = Duration::from_secs(30);

/// What was recorded per environment: each run's uid and state.
#[derive(Default)]
pub struct Recorder {
    recorded: HashMap<usize, HashSet<(String, &'static str)>>,
}

impl Recorder {
    /// Records what is new in every environment, once: true when all of them could be
    /// (false when one's caches have not synced or the database failed). The server does
    /// this on every change and every 30 s; tests do it when they need it.
    pub async fn record_once(&mut self, context: &ServerContext) -> bool {
        let mut all = true;
        for i in 0..context.live.watches().len() {
            all &= self.record(context, i).await;
        }
        publish(context);
        all
    }

    async fn record(&mut self, context: &ServerContext, i: usize) -> bool {
        let (Some(watch), Some(env)) = (context.live.watches().get(i), context.environments.get(i))
        else {
            return true;
        };
        let Some(observed) = observe(watch, &env.backups.cronjob) else { return false };
        let now: HashSet<(String, &'static str)> =
            observed.runs.iter().map(|r| (r.uid.clone(), r.outcome.word())).collect();
        let recorded = self.recorded.get(&i);
        if recorded == Some(&now) {
            return true;
        }
        let new: Vec<_> = observed
            .runs
            .iter()
            .filter(|r| !recorded.is_some_and(|k| k.contains(&(r.uid.clone(), r.outcome.word()))))
            .cloned()
            .collect();
        let present: Vec<String> = observed.runs.iter().map(|r| r.uid.clone()).collect();
        let written = async {
            store::record(&context.db, &env.name, &env.backups.cronjob, &new).await?;
            let vanished = store::settle_vanished(&context.db, &env.name, &present).await?;
            // Most passes write nothing: the kept record pages are told only when one did.
            if !new.is_empty() || vanished > 0 {
                context.records.wrote(&[crate::records::Topic::Backups]);
            }
            context.backups.refresh(&context.db).await
        };
        match written.await {
            Ok(()) => {
                let ended = new.iter().filter(|r| r.outcome != Outcome::Running).count();
                if ended > 0 {
                    tracing::info!(environment = %env.name, ended, "backup runs recorded");
                }
                self.recorded.insert(i, now);
                true
            }
            Err(error) => {
                tracing::warn!(environment = %env.name, %error, "backup runs could not be recorded");
                false
            }
        }
    }
}

/// Puts each environment's backups at a glance, as of now, on its pages (they change only
/// when a state or the last good backup does).
pub fn publish(context: &ServerContext) {
    let now_ms = chrono::Utc::now().timestamp_millis();
    for env in context.environments.iter() {
        let glance = context.backups.glance(&env.name, env.backups.max_age_hours, now_ms);
        context.live.set_backups(&env.name, glance);
    }
}

pub fn start(context: ServerContext) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let count = context.live.watches().len();
        let mut updates = context.live.subscribe();
        let mut recorder = Recorder::default();
        let mut due: BTreeSet<usize> = (0..count).collect();
        loop {
            if !context.backups.is_read() {
                if let Err(error) = context.backups.refresh(&context.db).await {
                    tracing::warn!(%error, "the last good backups could not be read");
                }
            }
            for i in std::mem::take(&mut due) {
                if !recorder.record(&context, i).await {
                    due.insert(i);
                }
            }
            // Also when nothing was recorded: time alone turns a fresh backup stale.
            publish(&context);
            let wait = if due.is_empty() { RESWEEP } else { Duration::from_secs(1) };
            tokio::select! {
                update = updates.recv() => match update {
                    Ok(update) => {
                        due.insert(update.environment);
                    }
                    Err(RecvError::Lagged(_)) => due.extend(0..count),
                    Err(RecvError::Closed) => return,
                },
                () = tokio::time::sleep(wait) => due.extend(0..count),
            }
        }
    })
}
