//! Writes what each container would say, from what the kubelet controller made of its
//! pod: startup lines when a run starts, chatter while it runs, the traceback when it
//! crashes, a Job's script from start to end. Runs once per controller pass.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::lines::{self, Program};
use super::{key, LogBook};
use crate::controllers::util::parse_time;
use crate::resources::ids;
use crate::store::str_at;
use crate::Cluster;

pub fn write(cluster: &Cluster) {
    let (pods, _) = cluster.store.list(ids::POD, None);
    let now = cluster.clock().now();
    let book = &cluster.logs;
    let mut present = HashSet::new();
    for pod in &pods {
        let ns = str_at(pod, "/metadata/namespace");
        let name = str_at(pod, "/metadata/name");
        present.insert((ns.to_owned(), name.to_owned()));
        let job = pod["metadata"]["ownerReferences"][0]["kind"] == "Job";
        let job_name = pod["metadata"]["ownerReferences"][0]["name"].as_str().unwrap_or(name);
        let app = str_at(pod, "/metadata/labels/app");
        let version = str_at(pod, "/metadata/labels/app.kubernetes.io~1version");
        let ip = pod["status"]["podIP"].as_str().unwrap_or("10.244.0.1");
        for status in pod["status"]["containerStatuses"].as_array().into_iter().flatten() {
            let container = str_at(status, "/name");
            let program = Program::of(app, container, job);
            let c = Seen { book, ns, pod: name, container, program, now };
            let restarts = status["restartCount"].as_i64().unwrap_or(0);
            let state = &status["state"];
            if state.get("running").is_some() {
                let started = time(&state["running"]["startedAt"]).unwrap_or(now);
                c.running(restarts, started, version, job_name, ip);
            } else if let Some(terminated) = state.get("terminated") {
                let ok = terminated["exitCode"].as_i64() == Some(0);
                c.terminated(
                    restarts,
                    time(&terminated["finishedAt"]).unwrap_or(now),
                    ok,
                    job_name,
                );
            } else if let Some(last) = status["lastState"].get("terminated") {
                c.crashed(restarts, time(&last["finishedAt"]).unwrap_or(now), version);
            }
        }
    }
    book.forget_missing(&present);
}

fn time(value: &Value) -> Option<DateTime<Utc>> {
    value.as_str().and_then(parse_time)
}

/// One container as this pass sees it.
struct Seen<'a> {
    book: &'a LogBook,
    ns: &'a str,
    pod: &'a str,
    container: &'a str,
    program: Program,
    now: DateTime<Utc>,
}

impl Seen<'_> {
    fn newest(&self) -> Option<std::sync::Arc<super::Run>> {
        self.book.runs(self.ns, self.pod, self.container).pop()
    }

    fn running(&self, index: i64, started: DateTime<Utc>, version: &str, job: &str, ip: &str) {
        let run = match self.newest().filter(|r| r.index == index && !r.ended()) {
            Some(run) => run,
            None => {
                let run = self.book.start(self.ns, self.pod, self.container, index);
                let first = match self.program {
                    Program::Script => lines::script_start(job, started),
                    program => lines::startup(program, started, version),
                };
                for line in first {
                    run.append(started, line.as_bytes());
                }
                run
            }
        };
        let k = key(self.ns, self.pod, self.container);
        for _ in 0..self.book.due(&k, self.now, self.program.rate()) {
            for line in lines::chatter(self.program, self.now, ip) {
                run.append(self.now, line.as_bytes());
            }
        }
    }

    /// A container that ran to its end (a Job's).
    fn terminated(&self, index: i64, finished: DateTime<Utc>, succeeded: bool, job: &str) {
        let run = match self.newest() {
            Some(run) if run.ended() => return,
            Some(run) => run,
            None => {
                let run = self.book.start(self.ns, self.pod, self.container, index);
                if self.program == Program::Script {
                    for line in lines::script_start(job, finished) {
                        run.append(finished, line.as_bytes());
                    }
                }
                run
            }
        };
        if self.program == Program::Script {
            run.append(finished, lines::script_end(job, finished, succeeded).as_bytes());
        }
        run.end();
    }

    /// A container waiting to be restarted after a crash: its last run, written whole
    /// if this pass has not seen it yet.
    fn crashed(&self, index: i64, finished: DateTime<Utc>, version: &str) {
        if self.newest().is_some_and(|r| r.index == index && r.ended()) {
            return;
        }
        let started = finished - chrono::Duration::seconds(3);
        let run = self.book.start(self.ns, self.pod, self.container, index);
        // It got as far as saying it starts.
        for line in lines::startup(self.program, started, version).into_iter().take(1) {
            run.append(started, line.as_bytes());
        }
        for line in lines::crash(self.program, finished) {
            run.append(finished, line.as_bytes());
        }
        run.end();
    }
}
