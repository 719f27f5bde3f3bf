//! The background side of actions, one per server: expires requests nobody decided, runs
//! approved ones nobody claimed, and settles what a stopped server left `executing` by
//! looking at the cluster — never by running it again.

use std::time::Duration;

use super::{environment, notify, refresh_attention, refresh_attention_soon, run};
use crate::actions::apply;
use crate::actions::lifecycle::State;
use crate::actions::plan::Seen;
use crate::actions::store;
use crate::context::ServerContext;

/// After a crash: settles a request left `executing` by what the cluster shows.
pub async fn reconcile(context: &ServerContext, id: i64) {
    let host = context.actions.host.clone();
    let Ok(Some(stored)) = store::load(&context.db, id).await else { return };
    let Ok((index, env)) = environment(context, &stored.environment) else { return };
    let seen = if stored.plan.is_silence() {
        match crate::actions::silences::fresh(context).await {
            Ok(silences) => Seen { silences: Some(silences), ..Seen::default() },
            Err(error) => {
                tracing::warn!(%error, id, "cannot reconcile yet: Alertmanager is not reachable");
                return;
            }
        }
    } else {
        let Some(watch) = context.live.watches().get(index) else { return };
        match apply::fetch(watch.client(), &env.namespace, &stored.plan).await {
            Ok(seen) => seen,
            Err(error) => {
                tracing::warn!(%error, id, "cannot reconcile yet: the cluster is not reachable");
                return;
            }
        }
    };
    let started = stored
        .started_ms
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default();
    let executor = stored.executor.clone().unwrap_or_default();
    if let (crate::actions::plan::Plan::Restore(_), Some(watch)) =
        (&stored.plan, context.live.watches().get(index))
    {
        let cx = apply::Context {
            namespace: &env.namespace,
            user_id: &stored.requested_by,
            name: &stored.requested_by_name,
            reason: &stored.reason,
            request_id: id,
            started_at: &started,
        };
        let Some((restored, result)) =
            crate::actions::restore::settle(watch.client(), &stored.plan, &cx).await
        else {
            tracing::info!(id, "an interrupted restore is still running; settled when it ends");
            return;
        };
        let state = if restored { State::Succeeded } else { State::Failed };
        if let Err(error) =
            super::wrote(context, store::finish(&context.db, id, &host, state, &result).await)
        {
            tracing::error!(%error, id, "cannot record a reconciled restore");
        }
        refresh_attention_soon(context);
        return;
    }
    let (state, result) = if stored.plan.done(&seen, &started, id) {
        (
            State::Succeeded,
            format!("reconciled after {executor} stopped while running it: the change is in place"),
        )
    } else {
        (
            State::Failed,
            format!("interrupted: {executor} stopped before the change was made; not run again — ask again if it is still wanted"),
        )
    };
    tracing::warn!(id, state = state.as_str(), "reconciled an interrupted action");
    if let Err(error) =
        super::wrote(context, store::finish(&context.db, id, &host, state, &result).await)
    {
        tracing::error!(%error, id, "cannot record a reconciled action");
    }
    refresh_attention_soon(context);
}

/// How often the sweeper looks for work.
const SWEEP: Duration = Duration::from_secs(2);

/// When the sweeper takes over someone else's work.
#[derive(Clone, Copy, Debug)]
pub struct Patience {
    /// An approved request not claimed for this long is claimed by the sweeper (its
    /// server stopped between approving and claiming).
    pub unclaimed_seconds: i64,
    /// A request executing for this long on another server is taken as abandoned.
    pub abandoned_seconds: i64,
}

impl Patience {
    /// What a running server waits.
    pub const SERVER: Patience = Patience { unclaimed_seconds: 10, abandoned_seconds: 300 };
    /// No waiting: what a test asks for when it runs one sweep itself.
    pub const NONE: Patience = Patience { unclaimed_seconds: 0, abandoned_seconds: 0 };
}

/// At start: settles what this server (by host name) left executing, then keeps sweeping.
pub fn start(context: ServerContext) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        settle_own(&context).await;
        let mut tick = tokio::time::interval(SWEEP);
        loop {
            tick.tick().await;
            sweep_once(&context, Patience::SERVER).await;
        }
    })
}

/// Settles what this server (by host name) left executing when it last stopped.
pub async fn settle_own(context: &ServerContext) {
    let host = context.actions.host.clone();
    // Fresh reads from the API, not the caches: this can run before they have synced.
    match store::stuck(&context.db, State::Executing, 0, Some(&host)).await {
        Ok(left) => {
            for id in left {
                reconcile(context, id).await;
            }
        }
        Err(error) => tracing::error!(%error, "cannot look for interrupted actions"),
    }
}

/// One pass of the sweeper: expires what nobody decided in time, runs what was approved
/// but not claimed within `patience`, settles what another server abandoned, and refreshes
/// what waits for people. The server runs it every 2 s; tests run it when they need it.
pub async fn sweep_once(context: &ServerContext, patience: Patience) {
    // Most passes expire nothing: the kept record pages are told only when one did.
    match store::expire_due(&context.db).await {
        Ok(expired) => {
            if !expired.is_empty() {
                super::wrote(context, ());
            }
            for id in &expired {
                if let Ok(Some(stored)) = store::load(&context.db, *id).await {
                    notify(context, &stored, "expired");
                }
            }
        }
        Err(error) => tracing::warn!(%error, "cannot expire requests"),
    }
    if let Ok(waiting) =
        store::stuck(&context.db, State::Approved, patience.unclaimed_seconds, None).await
    {
        for id in waiting {
            let _ = run(context.clone(), id).await;
        }
    }
    if let Ok(abandoned) =
        store::stuck(&context.db, State::Executing, patience.abandoned_seconds, None).await
    {
        for id in abandoned {
            reconcile(context, id).await;
        }
    }
    // Also picks up what other replicas changed.
    refresh_attention(context).await;
}
