//! The pods' logs as the kubelet keeps them: per container, the lines of its current run
//! and of the run before it (what `--previous` reads), each bounded as log rotation
//! bounds a file. Followers are woken as lines arrive and told when a run ends.
//! `writer` writes what the workloads would say; `serve` answers `pods/{name}/log`.

pub mod control;
mod lines;
mod serve;
mod writer;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tokio::sync::watch;

pub use lines::Request;
pub use serve::serve;
pub use writer::write;

/// Lines one run keeps (the oldest go first), and bytes.
const MAX_LINES: usize = 1_000;
const MAX_BYTES: usize = 256 * 1024;
/// The container runtime splits longer lines; the simulator cuts them.
const MAX_LINE: usize = 16 * 1024;
/// Runs kept per container: the current one and the two before.
const KEPT_RUNS: usize = 3;

#[derive(Clone, Debug)]
pub struct Line {
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub text: Arc<[u8]>,
}

#[derive(Default)]
struct RunState {
    lines: VecDeque<Line>,
    bytes: usize,
    next_seq: u64,
    ended: bool,
}

/// One run of a container: from its start to its exit.
pub struct Run {
    /// The container's restart count when it started.
    pub index: i64,
    state: Mutex<RunState>,
    /// Bumped on every line and at the end.
    changed: watch::Sender<u64>,
}

impl Run {
    fn new(index: i64) -> Self {
        Self { index, state: Mutex::default(), changed: watch::channel(0).0 }
    }

    pub fn append(&self, at: DateTime<Utc>, text: &[u8]) {
        let Ok(mut state) = self.state.lock() else { return };
        if state.ended {
            return;
        }
        let text: Arc<[u8]> = Arc::from(&text[..text.len().min(MAX_LINE)]);
        let seq = state.next_seq;
        state.next_seq += 1;
        state.bytes += text.len();
        state.lines.push_back(Line { seq, at, text });
        while state.lines.len() > MAX_LINES || state.bytes > MAX_BYTES {
            match state.lines.pop_front() {
                Some(old) => state.bytes -= old.text.len(),
                None => break,
            }
        }
        drop(state);
        self.changed.send_modify(|n| *n += 1);
    }

    pub fn end(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.ended = true;
        }
        self.changed.send_modify(|n| *n += 1);
    }

    pub fn ended(&self) -> bool {
        self.state.lock().map(|s| s.ended).unwrap_or(true)
    }

    /// Lines from `seq` on (at most `most`), and whether the run has ended.
    pub fn from(&self, seq: u64, most: usize) -> (Vec<Line>, bool) {
        let Ok(state) = self.state.lock() else { return (Vec::new(), true) };
        let lines = state.lines.iter().filter(|l| l.seq >= seq).take(most).cloned().collect();
        (lines, state.ended)
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }
}

/// What the writer remembers of a container between passes.
struct Container {
    runs: VecDeque<Arc<Run>>,
    /// Until when chatter has been written, and the fraction of a line carried over.
    chatter_until: Option<DateTime<Utc>>,
    carry: f64,
}

type Key = (String, String, String);

/// Every container's logs in the cluster.
#[derive(Clone, Default)]
pub struct LogBook {
    containers: Arc<Mutex<HashMap<Key, Container>>>,
}

fn key(namespace: &str, pod: &str, container: &str) -> Key {
    (namespace.to_owned(), pod.to_owned(), container.to_owned())
}

impl LogBook {
    /// The container's runs, oldest first.
    pub fn runs(&self, namespace: &str, pod: &str, container: &str) -> Vec<Arc<Run>> {
        let Ok(all) = self.containers.lock() else { return Vec::new() };
        all.get(&key(namespace, pod, container))
            .map(|c| c.runs.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Starts run `index` of a container (ending the one before).
    pub fn start(&self, namespace: &str, pod: &str, container: &str, index: i64) -> Arc<Run> {
        let run = Arc::new(Run::new(index));
        if let Ok(mut all) = self.containers.lock() {
            let entry = all.entry(key(namespace, pod, container)).or_insert_with(|| Container {
                runs: VecDeque::new(),
                chatter_until: None,
                carry: 0.0,
            });
            if let Some(last) = entry.runs.back() {
                last.end();
            }
            entry.runs.push_back(Arc::clone(&run));
            while entry.runs.len() > KEPT_RUNS {
                entry.runs.pop_front();
            }
            entry.chatter_until = None;
            entry.carry = 0.0;
        }
        run
    }

    /// Writes `text` (one line per line) into the container's running run, now.
    pub fn write_now(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        at: DateTime<Utc>,
        text: &str,
    ) -> bool {
        let runs = self.runs(namespace, pod, container);
        let Some(run) = runs.last().filter(|r| !r.ended()) else { return false };
        for line in text.lines() {
            run.append(at, line.as_bytes());
        }
        true
    }

    /// How many lines of chatter are due for a running container since the last pass
    /// (`rate` lines per second), remembering the fraction.
    fn due(&self, k: &Key, now: DateTime<Utc>, rate: f64) -> usize {
        let Ok(mut all) = self.containers.lock() else { return 0 };
        let Some(c) = all.get_mut(k) else { return 0 };
        let since = c.chatter_until.replace(now).unwrap_or(now);
        let seconds = (now - since).num_milliseconds().max(0) as f64 / 1000.0;
        let owed = c.carry + seconds * rate;
        // A fast clock or a long pause would owe thousands: a pass writes a few.
        let lines = owed.floor().min(20.0);
        c.carry = (owed - owed.floor()).min(1.0);
        lines as usize
    }

    /// Ends and forgets the logs of pods that no longer exist.
    fn forget_missing(&self, present: &HashSet<(String, String)>) {
        let Ok(mut all) = self.containers.lock() else { return };
        all.retain(|(ns, pod, _), c| {
            let keep = present.contains(&(ns.clone(), pod.clone()));
            if !keep {
                for run in &c.runs {
                    run.end();
                }
            }
            keep
        });
    }
}
