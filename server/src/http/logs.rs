//! `GET /api/logs?env=…&pod=…|workload=…&…`: a pod's or a workload's logs as server-sent
//! events, for the logs panel: `lines` events carry rows (HTML rendered and escaped here,
//! their id the last line's time, so a reconnecting browser goes on after it), an `end`
//! event says why the stream is over. `GET /api/logs.txt?…`: the same lines as a text
//! file, never following. The other parameters are the panel's (see
//! `gantry_app::logs::ask`). Both need the environment's `logs` role, are audited
//! (`log_read`), count against the per-person and total caps, and a stream ends within
//! seconds of its session's sign-out.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use chrono::{DateTime, Utc};
use futures_util::Stream;
use gantry_app::access::server::{authorize_for, Caller};
use gantry_app::access::{check, Action};
use gantry_app::error::AppError;
use gantry_app::logs::ask::{Ask, Target};
use gantry_app::logs::follow::{self, Out, Reading};
use gantry_app::logs::line::LogLine;
use gantry_app::logs::render;

use super::streams::Held;
use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/logs", get(stream)).route("/api/logs.txt", get(download))
}

/// Proxies close idle connections; a comment line every so often keeps the stream open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// How often an open stream checks that its session still holds and may still read.
const RECHECK: Duration = Duration::from_secs(2);
/// Rows sent in one event at most.
const BATCH: usize = 200;

/// Everything a read needs, checked: who, where, what, and a place among the streams.
struct Admitted {
    ask: Ask,
    reading: Reading,
    workload: bool,
    held: Held,
    /// The environment, in configuration order.
    index: usize,
}

async fn admit(
    state: &AppState,
    caller: &Caller,
    query: &[(String, String)],
    resume: Option<DateTime<Utc>>,
    follow_allowed: bool,
) -> Result<Admitted, AppError> {
    let context = &state.context;
    let env = query
        .iter()
        .find(|(k, _)| k == "env")
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| AppError::Invalid("Name the environment (env=…).".into()))?;
    authorize_for(context, caller, &env, Action::View).await?;
    authorize_for(context, caller, &env, Action::ReadLogs).await?;
    let mut ask = Ask::parse(&env, None, query, Utc::now())?;
    if !follow_allowed {
        ask.follow = false;
    }
    let index =
        context.environments.iter().position(|e| e.name == env).ok_or(AppError::Internal)?;
    let environment = &context.environments[index];
    let plan = follow::plan(&context.live, index, &ask, &environment.namespace)?;
    let principal = caller.principal().ok_or(AppError::Internal)?;
    let per = state.log_streams.per_key();
    let held = state.log_streams.hold(
        &principal.user_id,
        &format!("You have {per} log streams open already; close some of Gantry's logs tabs and reload this one."),
        "Gantry has as many log streams open as it serves; reload this page in a minute.",
    )?;
    let previous = plan.sources.first().is_some_and(|s| s.previous);
    let object = match &ask.target {
        Target::Pod(p) => format!("Pod/{p}"),
        Target::Workload(w) => format!("Workload/{w}"),
    };
    let summary = ask.summary(previous);
    let event = gantry_app::audit::NewEvent {
        kind: "log_read",
        user_id: Some(&principal.user_id),
        display_name: Some(&principal.name),
        environment: Some(&env),
        object: Some(&object),
        action: Some(Action::ReadLogs.as_str()),
        outcome: "ok",
        reason: Some(&summary),
        request: Some(caller.request.as_str()).filter(|r| !r.is_empty()),
        client_addr: caller.client_addr.as_deref(),
        forwarded_for: caller.forwarded_for.as_deref(),
        ..gantry_app::audit::NewEvent::default()
    };
    // A read that cannot be recorded is not made.
    let appended = gantry_app::audit::append(&context.db, &event).await;
    context.records.wrote(&[gantry_app::records::Topic::Audit]);
    appended.map_err(|e| AppError::internal("cannot record a log read in the audit log", &e))?;
    let client = context
        .live
        .watches()
        .get(index)
        .map(|w| w.client().clone())
        .ok_or_else(|| AppError::Unavailable("No cluster is configured.".into()))?;
    let workload = matches!(ask.target, Target::Workload(_));
    let reading =
        follow::start(client, std::sync::Arc::clone(&context.live), index, plan, &ask, resume);
    Ok(Admitted { ask, reading, workload, held, index })
}

/// The time of the last line a reconnecting browser had.
fn resume_from(headers: &HeaderMap) -> Option<DateTime<Utc>> {
    let id = headers.get("last-event-id")?.to_str().ok()?;
    DateTime::parse_from_rfc3339(id).ok().map(|t| t.to_utc())
}

/// One stream's state between events.
struct Feed {
    admitted: Admitted,
    state: AppState,
    session: Option<tower_sessions::session::Id>,
    recheck: tokio::time::Interval,
    done: bool,
    buffer: Vec<Out>,
    /// A pod stream sends the pod's state again when it changes (`pod` events).
    pod: Option<PodState>,
}

struct PodState {
    updates: tokio::sync::broadcast::Receiver<gantry_app::cluster::live::Update>,
    /// What the page shows now (see `gantry_app::pods::routes::details`).
    fingerprint: String,
}

impl Feed {
    /// Whether the session still holds and may still read these logs.
    async fn still_allowed(&self) -> bool {
        let Some(id) = &self.session else { return false };
        let Some(principal) = self.state.auth.still_signed_in(id).await else { return false };
        let env = self.state.context.environments.iter().find(|e| e.name == self.admitted.ask.env);
        env.is_some_and(|env| check(Some(&principal), env, Action::ReadLogs).is_allowed())
    }

    fn end(&mut self, words: &str) -> Option<Event> {
        self.done = true;
        Some(Event::default().event("end").data(words))
    }

    async fn next(&mut self) -> Option<Event> {
        if self.done {
            return None;
        }
        loop {
            if self.admitted.reading.cut.load(std::sync::atomic::Ordering::SeqCst) {
                return self.end(&format!(
                    "Gantry stopped this stream: the page left {} lines unread for {} seconds. Reload to read on from now.",
                    follow::BACKLOG,
                    follow::PATIENCE.as_secs()
                ));
            }
            let changed = async {
                match &mut self.pod {
                    Some(p) => p.updates.recv().await.map(|u| u.environment).ok(),
                    None => std::future::pending().await,
                }
            };
            let received = tokio::select! {
                n = self.admitted.reading.rx.recv_many(&mut self.buffer, BATCH) => n,
                Some(environment) = changed => {
                    match self.pod_event(environment) {
                        Some(event) => return Some(event),
                        None => continue,
                    }
                }
                _ = self.recheck.tick() => {
                    if !self.still_allowed().await {
                        tracing::debug!("log stream ended: signed out, expired or no longer allowed");
                        return self.end("The stream stopped: you are signed out, or may no longer read these logs.");
                    }
                    continue;
                }
            };
            if received == 0 {
                return self.end("The stream is over.");
            }
            return Some(self.event());
        }
    }

    /// The pod's state, when its environment changed and what the page shows did too.
    fn pod_event(&mut self, environment: usize) -> Option<Event> {
        let index = self.admitted.index;
        if environment != index {
            return None;
        }
        let Target::Pod(name) = &self.admitted.ask.target else { return None };
        let live = &self.state.context.live;
        let pod = live.watches().get(index)?.pod(name)?;
        let fingerprint = gantry_app::pods::routes::fingerprint(live, index, &pod);
        let state = self.pod.as_mut()?;
        if state.fingerprint == fingerprint {
            return None;
        }
        state.fingerprint = fingerprint;
        // Only someone who may read these logs holds this stream.
        let html =
            gantry_app::pods::routes::details(live, index, &self.admitted.ask.env, &pod, true)?;
        Some(Event::default().event("pod").data(html))
    }

    /// The buffered output as one event (rows and notes in order; an end last).
    fn event(&mut self) -> Event {
        let mut html = String::new();
        let mut lines: Vec<LogLine> = Vec::new();
        let mut last: Option<DateTime<Utc>> = None;
        let mut ended = None;
        let (ask, workload) = (&self.admitted.ask, self.admitted.workload);
        for out in self.buffer.drain(..) {
            match out {
                Out::Line(line) => {
                    last = line.at.max(last);
                    lines.push(line);
                }
                Out::Note(words) => {
                    html.push_str(&render::rows(&lines, ask, workload));
                    lines.clear();
                    html.push_str(&render::note(&words));
                }
                Out::End(words) | Out::Failed(words) => ended = Some(words),
            }
        }
        // A workload's pods write at once: their lines in one event, in time order.
        lines.sort_by_key(|l| l.at);
        html.push_str(&render::rows(&lines, ask, workload));
        if let Some(words) = ended {
            if html.is_empty() {
                self.done = true;
                return Event::default().event("end").data(words);
            }
            // The rows first; the end comes as the next event.
            self.buffer.push(Out::End(words));
        }
        let mut event = Event::default().event("lines").data(html);
        if let Some(at) = last {
            event = event.id(at.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true));
        }
        event
    }
}

async fn stream(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    session: tower_sessions::Session,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, AppError> {
    let admitted = admit(&state, &caller, &query, resume_from(&headers), true).await?;
    let mut recheck = tokio::time::interval(RECHECK);
    recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    recheck.reset();
    let closed = state.context.live.closed();
    // Subscribed before the pod is read: a change in between is not lost.
    let pod = match &admitted.ask.target {
        Target::Pod(name) => {
            let live = &state.context.live;
            let updates = live.subscribe();
            let fingerprint = live
                .watches()
                .get(admitted.index)
                .and_then(|w| w.pod(name))
                .map(|p| gantry_app::pods::routes::fingerprint(live, admitted.index, &p))
                .unwrap_or_default();
            Some(PodState { updates, fingerprint })
        }
        Target::Workload(_) => None,
    };
    let session = session.id();
    let feed = Feed { admitted, state, session, recheck, done: false, buffer: Vec::new(), pod };
    let events = futures_util::stream::unfold(feed, |mut feed| async move {
        let event = match feed.buffer.pop() {
            // An end held back behind the rows it followed.
            Some(Out::End(words)) => feed.end(&words),
            Some(other) => {
                feed.buffer.push(other);
                feed.next().await
            }
            None => feed.next().await,
        };
        event.map(|e| (Ok(e), feed))
    });
    // Ends when the server stops, so open pages do not hold up a graceful shutdown.
    let events = futures_util::StreamExt::take_until(events, closed);
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

async fn download(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let mut admitted = admit(&state, &caller, &query, None, false).await?;
    // The API's refusal is the answer, before anything is sent.
    let first = admitted.reading.rx.recv().await;
    if let Some(Out::Failed(words)) = &first {
        return Err(AppError::Unavailable(words.clone()));
    }
    let name = match &admitted.ask.target {
        Target::Pod(p) => p.clone(),
        Target::Workload(w) => format!("{w}-all-pods"),
    };
    let workload = admitted.workload;
    let body = futures_util::stream::unfold(
        (admitted, first),
        move |(mut admitted, mut pending)| async move {
            let _ = &admitted.held;
            loop {
                let out = match pending.take() {
                    Some(out) => out,
                    None => admitted.reading.rx.recv().await?,
                };
                match out {
                    Out::Line(line) => {
                        let text = render::text(std::slice::from_ref(&line), workload);
                        return Some((Ok::<_, Infallible>(text), (admitted, None)));
                    }
                    Out::Note(_) => continue,
                    Out::End(_) | Out::Failed(_) => return None,
                }
            }
        },
    );
    let mut response = axum::body::Body::from_stream(body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    // The name is a validated Kubernetes name: nothing in it needs quoting.
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}.log\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}
