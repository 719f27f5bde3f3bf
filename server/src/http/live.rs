//! `GET /api/live`: the status stream open pages listen to (server-sent events).
//!
//! Each stream is a filtered view of the one broadcast the live view publishes: it first
//! sends the current status of the environments asked for (so a page that reconnects is
//! up to date at once), then every change to them. `?env=prod&env=staging` limits the
//! environments (without it: all of them); `?view=` picks the form: `status` (the
//! derived status, the default), `detail` (the environment page's data) or `card` (the
//! overview's). The event's name is the view's.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};

use axum::routing::get;
use axum::{Extension, Router};
use futures_util::Stream;
use gantry_app::access::server::{record_denial, Caller};
use gantry_app::access::{check, Action, Decision, Denial};
use gantry_app::cluster::live::{Snapshot, Update, View};
use tokio::sync::broadcast::error::RecvError;

use gantry_app::error::AppError;

use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/live", get(stream))
}

/// Proxies close idle connections; a comment line every so often keeps the stream open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// How often an open stream checks that its session still holds (signed out here or on
/// another replica, expired, or a role lost): it ends within this much.
const RECHECK: Duration = Duration::from_secs(2);
/// Streams one session may hold open (a page holds one; a person has a few tabs).
pub const MOST_PER_SESSION: usize = 16;
/// Streams this replica holds open in all (memory is measured at 500: README).
pub const MOST_IN_ALL: usize = 2_000;

/// What one stream still has to send and what it has sent.
struct Feed {
    updates: tokio::sync::broadcast::Receiver<Update>,
    pending: VecDeque<(usize, Snapshot)>,
    /// Per environment (configuration order): the version last sent, if wanted at all.
    sent: Vec<Option<u64>>,
    names: Vec<String>,
    view: View,
    live: std::sync::Arc<gantry_app::cluster::live::Live>,
    /// Whose stream this is, checked again every [`RECHECK`].
    watcher: Watcher,
    _held: super::streams::Held,
}

struct Watcher {
    state: AppState,
    session: Option<tower_sessions::session::Id>,
    recheck: tokio::time::Interval,
}

impl Watcher {
    /// Whether the stream may go on: its session still signed in, still allowed to see
    /// every environment it carries.
    async fn still_allowed(&self, sent: &[Option<u64>]) -> bool {
        let Some(id) = &self.session else { return false };
        let Some(principal) = self.state.auth.still_signed_in(id).await else { return false };
        let caller = Caller { principal: Some(principal), ..Caller::default() };
        self.state
            .context
            .environments
            .iter()
            .zip(sent)
            .filter(|(_, s)| s.is_some())
            .all(|(env, _)| check(caller.principal(), env, Action::View).is_allowed())
    }
}

impl Feed {
    fn queue_current(&mut self) {
        for (i, sent) in self.sent.iter().enumerate() {
            if sent.is_some() {
                if let Some(snapshot) = self.live.snapshot(i) {
                    self.pending.push_back((i, snapshot));
                }
            }
        }
    }

    /// The next event to send; waits for a change when nothing is pending.
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some((i, snapshot)) = self.pending.pop_front() {
                let Some(Some(sent)) = self.sent.get_mut(i) else { continue };
                // Already sent (the first snapshot and a broadcast can overlap).
                if snapshot.version < *sent {
                    continue;
                }
                *sent = snapshot.version + 1;
                let name = self.names.get(i).map_or("", String::as_str);
                return Some(
                    Event::default()
                        .event(self.view.name())
                        .id(format!("{name}:{}", snapshot.version))
                        .data(&**snapshot.json(self.view)),
                );
            }
            let received = tokio::select! {
                received = self.updates.recv() => received,
                _ = self.watcher.recheck.tick() => {
                    if !self.watcher.still_allowed(&self.sent).await {
                        tracing::debug!("live stream ended: signed out, expired or no longer allowed");
                        return None;
                    }
                    continue;
                }
            };
            match received {
                Ok(update) => {
                    if matches!(self.sent.get(update.environment), Some(Some(_))) {
                        self.pending.push_back((update.environment, update.snapshot));
                    }
                }
                // Fell behind: skip to the latest state rather than replay stale ones.
                Err(RecvError::Lagged(missed)) => {
                    tracing::debug!(missed, "live stream fell behind; sending the latest state");
                    self.queue_current();
                }
                Err(RecvError::Closed) => return None,
            }
        }
    }
}

/// Refuses the stream, recording why.
async fn refuse(
    state: &AppState,
    caller: &Caller,
    environment: Option<&str>,
    denial: &Denial,
) -> AppError {
    let reason = match (denial, caller.principal()) {
        (Denial::NoRole { .. }, Some(principal)) if environment.is_none() => {
            gantry_app::access::server::no_access_reason(principal)
        }
        _ => denial.reason(Action::View),
    };
    record_denial(&state.context, caller, environment, Action::View, &reason).await;
    denial.refusal_with(reason)
}

async fn stream(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    session: tower_sessions::Session,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, AppError> {
    let names: Vec<String> = state.context.environments.iter().map(|e| e.name.clone()).collect();
    let asked: Vec<&String> = query.iter().filter(|(k, _)| k == "env").map(|(_, v)| v).collect();
    let view = match query.iter().rev().find(|(k, _)| k == "view") {
        None => View::Status,
        Some((_, v)) => View::parse(v).ok_or_else(|| {
            AppError::Invalid(format!("view={v:?} is not one of status, detail, card"))
        })?,
    };
    // Each environment asked for must be visible to the caller; without a list, the
    // stream carries every environment they may see.
    let decisions: Vec<Decision> = state
        .context
        .environments
        .iter()
        .map(|env| check(caller.principal(), env, Action::View))
        .collect();
    let mut wanted = vec![false; names.len()];
    for name in &asked {
        let i = names.iter().position(|n| n == *name).ok_or_else(|| {
            AppError::NotFound(format!(
                "there is no environment named {name:?}; known environments: {}",
                names.join(", ")
            ))
        })?;
        if let Decision::Denied(denial) = &decisions[i] {
            return Err(refuse(&state, &caller, Some(name.as_str()), denial).await);
        }
        wanted[i] = true;
    }
    if asked.is_empty() {
        for (slot, decision) in wanted.iter_mut().zip(&decisions) {
            *slot = decision.is_allowed();
        }
        if !wanted.contains(&true) {
            let denial = match caller.principal() {
                None => Denial::SignInRequired,
                Some(_) => Denial::NoRole { environment: String::new() },
            };
            return Err(refuse(&state, &caller, None, &denial).await);
        }
    }
    let session_id = session.id();
    let held = state.streams.hold(
        &session_id.map(|id| id.to_string()).unwrap_or_default(),
        &format!("You have {MOST_PER_SESSION} live pages open already; close some tabs of Gantry and reload this one."),
        "Gantry has as many live pages open as it serves; this page will not update by itself. Reload it in a minute.",
    )?;
    let mut recheck = tokio::time::interval(RECHECK);
    recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick is at once; the session was checked just now.
    recheck.reset();
    let watcher = Watcher { state: state.clone(), session: session_id, recheck };
    let live = std::sync::Arc::clone(&state.context.live);
    // Subscribe before reading the snapshots: a change in between is then not lost.
    let updates = live.subscribe();
    let closed = live.closed();
    let mut feed = Feed {
        updates,
        pending: VecDeque::new(),
        sent: wanted.into_iter().map(|w| w.then_some(0)).collect(),
        names,
        view,
        live,
        watcher,
        _held: held,
    };
    feed.queue_current();
    let events = futures_util::stream::unfold(feed, |mut feed| async move {
        feed.next().await.map(|event| (Ok(event), feed))
    });
    // Ends when the server stops, so open pages do not hold up a graceful shutdown.
    let events = futures_util::StreamExt::take_until(events, closed);
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}
