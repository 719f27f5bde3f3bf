//! Reading the logs of a pod, or of every pod of a workload merged by time, and
//! following them: first the last lines (each pod's tail, merged and cut to the number
//! asked), then each new line as Kubernetes sends it. A container that stops is waited
//! for and followed again in its next run; a workload's new pods are followed as they
//! appear. Everything goes through one bounded channel: a page that does not keep up is
//! cut off rather than held in memory.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::ask::{Ask, Target};
use super::line::{Filter, LogLine};
pub use super::plan::{default_container, plan, Plan, Source};
use super::plan::{pods_of, status_of};
use super::read::{next_line, open, Open};
use crate::cluster::live::Live;

/// Lines held for one page between Kubernetes and the browser.
pub const BACKLOG: usize = 256;
/// How long a page may leave a full backlog unread before it is cut off.
pub const PATIENCE: Duration = Duration::from_secs(10);
/// Streams cut off since the server started (exported as a metric).
pub static CUT_OFF: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

#[derive(Debug)]
pub enum Out {
    Line(LogLine),
    /// Something the reader should know (a pod started, a container stopped).
    Note(String),
    /// The stream is over, and why.
    End(String),
    /// The API refused the log before any line (the words say why).
    Failed(String),
}

/// A started reading: its output, and its tasks (stopped when this is dropped).
pub struct Reading {
    pub rx: mpsc::Receiver<Out>,
    /// Set when the page fell too far behind.
    pub cut: Arc<AtomicBool>,
    _tasks: JoinSet<()>,
}

/// Everything a reading's tasks share.
#[derive(Clone)]
struct Shared {
    client: Client,
    live: Arc<Live>,
    index: usize,
    namespace: String,
    filter: Filter,
    tx: mpsc::Sender<Out>,
    cut: Arc<AtomicBool>,
}

impl Shared {
    /// Sends, waiting at most [`PATIENCE`] for room; false when the stream is over.
    async fn send(&self, out: Out) -> bool {
        send_or_cut(&self.tx, out, &self.cut).await
    }

    fn pod(&self, name: &str) -> Option<Arc<Pod>> {
        self.live.watches().get(self.index)?.pod(name)
    }
}

/// Sends `out`, waiting at most [`PATIENCE`] for room: a page that leaves the backlog
/// full that long is cut off (`cut` set, counted once). False when the stream is over.
async fn send_or_cut(tx: &mpsc::Sender<Out>, out: Out, cut: &AtomicBool) -> bool {
    match tx.send_timeout(out, PATIENCE).await {
        Ok(()) => true,
        Err(mpsc::error::SendTimeoutError::Timeout(_)) => {
            if !cut.swap(true, Ordering::SeqCst) {
                CUT_OFF.fetch_add(1, Ordering::Relaxed);
            }
            false
        }
        Err(mpsc::error::SendTimeoutError::Closed(_)) => false,
    }
}

/// Starts reading `plan` as `ask` says; `resume` (a reconnecting page's last line) skips
/// the tail and goes on after it.
pub fn start(
    client: Client,
    live: Arc<Live>,
    index: usize,
    plan: Plan,
    ask: &Ask,
    resume: Option<DateTime<Utc>>,
) -> Reading {
    let (tx, rx) = mpsc::channel(BACKLOG);
    let cut = Arc::new(AtomicBool::new(false));
    let shared = Shared {
        client,
        live,
        index,
        namespace: plan.namespace.clone(),
        filter: ask.filter.clone(),
        tx,
        cut: Arc::clone(&cut),
    };
    let mut tasks = JoinSet::new();
    let ask = ask.clone();
    tasks.spawn(async move {
        // The followers live in this set: dropping the reading stops them with it.
        let mut followers = JoinSet::new();
        run(shared, plan, ask, resume, &mut followers).await;
        while followers.join_next().await.is_some() {}
    });
    Reading { rx, cut, _tasks: tasks }
}

async fn run(
    shared: Shared,
    plan: Plan,
    ask: Ask,
    resume: Option<DateTime<Utc>>,
    followers: &mut JoinSet<()>,
) {
    let workload = matches!(ask.target, Target::Workload(_));
    if let Some(note) = &plan.previous_note {
        shared.send(Out::Note(note.clone())).await;
    }
    // The tail: each pod's last lines, merged by time, the newest `tail` of them.
    let mut last_seen: Vec<Option<DateTime<Utc>>> = vec![resume; plan.sources.len()];
    if resume.is_none() {
        let tails =
            futures_util::future::join_all(plan.sources.iter().map(|s| tail(&shared, s, &ask)))
                .await;
        let mut merged = Vec::new();
        for (i, result) in tails.into_iter().enumerate() {
            match result {
                Ok(lines) => {
                    last_seen[i] = lines.iter().filter_map(|l| l.at).max();
                    merged.extend(lines);
                }
                Err(words) if !workload => {
                    shared.send(Out::Failed(words)).await;
                    return;
                }
                Err(words) => {
                    shared.send(Out::Note(words)).await;
                }
            }
        }
        merged.sort_by_key(|l| l.at);
        let skip = merged.len().saturating_sub(usize::try_from(ask.tail).unwrap_or(usize::MAX));
        for line in merged.into_iter().skip(skip).filter(|l| shared.filter.keeps(l)) {
            if !shared.send(Out::Line(line)).await {
                return;
            }
        }
    }
    let previous = plan.sources.first().is_some_and(|s| s.previous);
    if !ask.follow || previous {
        let why = if previous {
            "That is the whole of the previous run: it has ended, so there is nothing to follow."
        } else {
            "Not following: these were the last lines. Switch follow on to see new ones."
        };
        shared.send(Out::End(why.into())).await;
        return;
    }
    if plan.sources.is_empty() && !workload {
        shared.send(Out::End("Nothing to follow.".into())).await;
        return;
    }
    let mut following: HashSet<String> = HashSet::new();
    for (source, since) in plan.sources.iter().zip(last_seen) {
        following.insert(source.pod.clone());
        followers.spawn(follow(shared.clone(), source.clone(), since, true));
    }
    if let Target::Workload(name) = &ask.target {
        if following.is_empty() {
            shared
                .send(Out::Note(format!(
                    "No pod of {name} runs now; its pods' lines follow when they start."
                )))
                .await;
        }
        // New pods of the workload are followed as they appear (a scale-up, a rollout).
        let mut updates = shared.live.subscribe();
        loop {
            match updates.recv().await {
                Ok(update) if update.environment != shared.index => continue,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
            for pod in pods_of(&shared.live, shared.index, name) {
                let Some(pod_name) = pod.metadata.name.clone() else { continue };
                if following.contains(&pod_name) {
                    continue;
                }
                let Some(container) = ask.container.clone().or_else(|| default_container(&pod))
                else {
                    continue;
                };
                following.insert(pod_name.clone());
                if !shared
                    .send(Out::Note(format!("Pod {pod_name} started; its lines follow.")))
                    .await
                {
                    return;
                }
                let source = Source { pod: pod_name, container, previous: false };
                followers.spawn(follow(shared.clone(), source, None, false));
            }
        }
    }
    while followers.join_next().await.is_some() {}
    shared
        .send(Out::End(
            "The pod's container has ended and the pod is gone: nothing more to follow.".into(),
        ))
        .await;
}

/// The last lines of one container, read whole (never following).
async fn tail(shared: &Shared, source: &Source, ask: &Ask) -> Result<Vec<LogLine>, String> {
    let o = Open {
        namespace: &shared.namespace,
        pod: &source.pod,
        container: &source.container,
        previous: source.previous,
        tail: Some(ask.tail),
        since: ask.since,
        follow: false,
    };
    let mut lines = open(&shared.client, &o).await?;
    let pod: Arc<str> = Arc::from(source.pod.as_str());
    let mut out = Vec::new();
    let mut buf = Vec::new();
    loop {
        match next_line(&mut lines, &mut buf).await {
            Ok(Some(cut)) => out.push(LogLine::read(Arc::clone(&pod), &buf, cut)),
            Ok(None) => return Ok(out),
            Err(error) => return Err(format!("The log of {} broke off: {error}.", source.pod)),
        }
    }
}

/// Follows one container from `since` (lines at or before it were shown), through its
/// restarts, until its pod is gone or the stream is over. `from_start`: a pod seen
/// before (its tail was shown); else a new pod, read from its beginning.
async fn follow(
    shared: Shared,
    source: Source,
    mut since: Option<DateTime<Utc>>,
    from_start: bool,
) {
    let pod: Arc<str> = Arc::from(source.pod.as_str());
    let mut buf = Vec::new();
    let mut seen_start = from_start;
    loop {
        let opened = std::time::Instant::now();
        let o = Open {
            namespace: &shared.namespace,
            pod: &source.pod,
            container: &source.container,
            previous: false,
            // Nothing old twice: after the tail, only what comes after it.
            tail: if seen_start && since.is_none() { Some(0) } else { None },
            since,
            follow: true,
        };
        match open(&shared.client, &o).await {
            Ok(mut lines) => {
                while let Ok(Some(cut)) = next_line(&mut lines, &mut buf).await {
                    let line = LogLine::read(Arc::clone(&pod), &buf, cut);
                    // Kubernetes' since is in whole seconds: skip what was shown.
                    if let (Some(at), Some(last)) = (line.at, since) {
                        if at <= last {
                            continue;
                        }
                    }
                    since = line.at.or(since);
                    if shared.filter.keeps(&line) && !shared.send(Out::Line(line)).await {
                        return;
                    }
                }
            }
            Err(words) => {
                if shared.pod(&source.pod).is_none() {
                    shared.send(Out::Note(format!("Pod {} is gone.", source.pod))).await;
                    return;
                }
                if !waiting_to_start(&shared, &source) {
                    shared.send(Out::Note(words)).await;
                    return;
                }
            }
        }
        seen_start = true;
        // The run ended (or the connection did): wait for the next one, or the pod's end.
        let Some(pod_now) = shared.pod(&source.pod) else {
            shared.send(Out::Note(format!("Pod {} is gone.", source.pod))).await;
            return;
        };
        let phase = pod_now.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("");
        if phase == "Succeeded" || phase == "Failed" {
            shared
                .send(Out::Note(format!(
                    "The container {} of {} has ended ({phase}).",
                    source.container, source.pod
                )))
                .await;
            return;
        }
        if pod_now.metadata.deletion_timestamp.is_some() {
            shared.send(Out::Note(format!("Pod {} is shutting down.", source.pod))).await;
        } else if !running(&pod_now, &source.container) {
            let said = format!(
                "The container {} of {} stopped; its next run follows when it starts.",
                source.container, source.pod
            );
            if !shared.send(Out::Note(said)).await {
                return;
            }
        }
        if !until_running(&shared, &source).await {
            shared.send(Out::Note(format!("Pod {} is gone.", source.pod))).await;
            return;
        }
        // A log that keeps breaking off at once is asked again at most once a second.
        if let Some(rest) = Duration::from_secs(1).checked_sub(opened.elapsed()) {
            tokio::time::sleep(rest).await;
        }
    }
}

fn running(pod: &Pod, container: &str) -> bool {
    status_of(pod, container).and_then(|c| c.state.as_ref()).is_some_and(|s| s.running.is_some())
}

/// A container that waits (to be pulled, created, restarted) has no log yet.
fn waiting_to_start(shared: &Shared, source: &Source) -> bool {
    shared
        .pod(&source.pod)
        .and_then(|p| status_of(&p, &source.container).and_then(|c| c.state.clone()))
        .is_some_and(|s| s.waiting.is_some())
}

/// Waits until the container runs again (true) or the pod is gone (false), looking at
/// each change the cluster's view sees and at least every few seconds.
async fn until_running(shared: &Shared, source: &Source) -> bool {
    let mut updates = shared.live.subscribe();
    loop {
        match shared.pod(&source.pod) {
            None => return false,
            Some(pod)
                if running(&pod, &source.container)
                    && pod.metadata.deletion_timestamp.is_none() =>
            {
                return true
            }
            Some(_) => {}
        }
        // A change to the environment, or a look again after a while in any case.
        let _ = tokio::time::timeout(Duration::from_secs(5), updates.recv()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_page_that_leaves_its_backlog_full_is_cut_off_after_the_patience() {
        let (tx, mut rx) = mpsc::channel(2);
        let cut = AtomicBool::new(false);
        for _ in 0..2 {
            assert!(send_or_cut(&tx, Out::Note("a line".into()), &cut).await);
        }
        // Read one: room again, and nothing is cut.
        assert!(rx.recv().await.is_some());
        assert!(send_or_cut(&tx, Out::Note("a line".into()), &cut).await);
        let started = tokio::time::Instant::now();
        assert!(!send_or_cut(&tx, Out::Note("one too many".into()), &cut).await);
        assert!(cut.load(Ordering::SeqCst));
        assert_eq!(started.elapsed(), PATIENCE);
        // A page gone (its receiver dropped) ends the reading without a cut.
        drop(rx);
        let other = AtomicBool::new(false);
        assert!(!send_or_cut(&tx, Out::Note("after".into()), &other).await);
        assert!(!other.load(Ordering::SeqCst));
    }
}
