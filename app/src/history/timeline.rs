//! The History timeline's entries, from the recorded rows: each revision and Argo CD sync
//! in words, how it went and how long it took, and the Gantry request that caused it.

use super::observe::ArgoFailure;
use super::store::{RevisionRow, SyncRow};
use crate::actions::lifecycle::State;
use crate::actions::store::Stored;

/// One line of the timeline.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Entry {
    /// Stable anchor: the entry's permalink is `/history#<id>`.
    pub id: String,
    pub at_ms: i64,
    pub environment: String,
    /// The workload, or the Argo CD application for a sync.
    pub object: String,
    /// What changed, in words.
    pub what: String,
    /// Who caused it and why, when known.
    pub who: String,
    /// How it went, in one word or two: completed, failed, superseded, rolled back, in
    /// progress, synced; empty when the panel did not see it.
    pub outcome: String,
    /// The outcome in words, with the duration ("completed in 42 s").
    pub outcome_words: String,
    /// From the start of the rollout (or sync) to its end, when both are known.
    pub duration_ms: Option<i64>,
    /// For a workload revision: its number and the one before (diff, roll back).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<(i64, Option<i64>)>,
    /// For a workload revision: Deployment or StatefulSet (only a Deployment's revision can
    /// be rolled back to from here).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

fn tag(image: &str) -> &str {
    let image = image.split_once('=').map_or(image, |(_, i)| i);
    image.rsplit('/').next().unwrap_or(image)
}

/// "backend 1.8.2 → 1.8.3" for the containers whose image changed.
pub fn image_change(previous: Option<&[String]>, now: &[String]) -> String {
    let Some(previous) = previous else {
        let list: Vec<&str> = now.iter().map(|i| tag(i)).collect();
        return format!("first recorded: {}", list.join(", "));
    };
    let changed: Vec<String> = now
        .iter()
        .filter_map(|image| {
            let container = image.split_once('=').map_or("", |(c, _)| c);
            let before =
                previous.iter().find(|p| p.split_once('=').map(|(c, _)| c) == Some(container));
            match before {
                Some(b) if b == image => None,
                Some(b) => Some(format!("{} → {}", tag(b), tag(image))),
                None => Some(format!("{} added", tag(image))),
            }
        })
        .collect();
    if changed.is_empty() {
        "same images (template changed: restart or configuration)".to_owned()
    } else {
        changed.join(", ")
    }
}

/// A request is taken as the cause of a change that follows its start within this time…
pub const CAUSE_WINDOW_MS: i64 = 120_000;
/// …or precedes it by at most this much (the clocks of the cluster and the panel differ).
pub const CAUSE_GRACE_MS: i64 = 5_000;

/// "42 s", "3 min 5 s", "2 h 10 min".
pub fn duration(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..60 => format!("{s} s"),
        60..3600 if s % 60 == 0 => format!("{} min", s / 60),
        60..3600 => format!("{} min {} s", s / 60, s % 60),
        _ if s % 3600 < 60 => format!("{} h", s / 3600),
        _ => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

/// How a revision's rollout went: (word, words, duration).
fn outcome(r: &RevisionRow) -> (String, String, Option<i64>) {
    let took = r.finished_ms.map(|f| f - r.created_ms);
    let length = took.map(duration).unwrap_or_default();
    let (word, mut words) = match r.outcome.as_deref() {
        Some("completed") => ("completed", format!("completed in {length}")),
        Some("failed") => {
            let reason = r.outcome_reason.as_deref().unwrap_or("progress deadline exceeded");
            ("failed", format!("failed after {length}: {reason}"))
        }
        Some("superseded") => {
            ("superseded", format!("replaced by a newer revision after {length}, unfinished"))
        }
        Some("progressing") => ("in progress", "rolling out".to_owned()),
        _ => ("", String::new()),
    };
    let word = match r.rolled_back_by {
        Some(by) => {
            let then = if words.is_empty() { String::new() } else { format!("{words}, then ") };
            words = format!("{then}rolled back (revision {by})");
            "rolled back"
        }
        None => word,
    };
    (word.to_owned(), words, took)
}

/// A change a request may have caused: where, on what (a workload, or None for an Argo CD
/// sync), and when it happened.
struct Change<'a> {
    environment: &'a str,
    workload: Option<&'a str>,
    at_ms: i64,
    /// Orders changes of one thing made in the same second (a revision number, an Argo
    /// CD history id): Kubernetes' times have a second's precision, so the revision a
    /// restart makes and the one it restarted can carry the same time.
    newer: i64,
}

/// Which change each request that ran caused: the change of its kind in its environment
/// closest to its start, between [`CAUSE_GRACE_MS`] before and [`CAUSE_WINDOW_MS`] after.
/// A request explains at most one change (a revision made just before it, e.g. the release
/// it is about to restart, is not its doing), and a change at most one request (the
/// closest). Keyed by the change's index.
fn causes<'a>(requests: &'a [Stored], changes: &[Change<'_>]) -> Vec<Option<&'a Stored>> {
    let mut best: Vec<Option<(i64, &'a Stored)>> = vec![None; changes.len()];
    // A request still executing may already have made its change (its success is written
    // after the cluster answers): it is the cause as much as a finished one.
    let ran = |r: &&Stored| matches!(r.state, State::Executing | State::Succeeded);
    for request in requests.iter().filter(ran) {
        let Some(started) = request.started_ms else { continue };
        // Only these actions make a revision or an Argo CD history entry.
        let workload = match request.action.as_str() {
            "sync" => None,
            "restart" | "rollback" => match request.plan.workload() {
                Some(w) => Some(w),
                None => continue,
            },
            _ => continue,
        };
        // A restart or rollback makes a revision newer than the one it saw: never that one
        // or an older one, however close in time (on a slow cluster the new ReplicaSet may
        // come seconds later than the one the request was made on).
        let seen = request.plan.revision_seen().filter(|_| workload.is_some());
        let closest = changes
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                c.environment == request.environment
                    && c.workload == workload
                    && c.at_ms >= started - CAUSE_GRACE_MS
                    && c.at_ms - started <= CAUSE_WINDOW_MS
                    && seen.is_none_or(|seen| c.newer > seen)
            })
            // Equally close: the newer one (a request makes a change, it does not
            // explain the one before it).
            .min_by_key(|(_, c)| ((c.at_ms - started).abs(), std::cmp::Reverse(c.newer)));
        if let Some((i, c)) = closest {
            let distance = (c.at_ms - started).abs();
            if best[i].is_none_or(|(d, _)| distance < d) {
                best[i] = Some((distance, request));
            }
        }
    }
    best.into_iter().map(|b| b.map(|(_, r)| r)).collect()
}

fn by_request(request: &Stored) -> String {
    let approvers: Vec<&str> =
        request.decisions.iter().filter(|d| d.approve).map(|d| d.display_name.as_str()).collect();
    let mut text = format!("{} by {}", request.action.replace('_', " "), request.requested_by_name);
    if !approvers.is_empty() {
        text.push_str(&format!(", approved by {}", approvers.join(" and ")));
    }
    if request.break_glass {
        text.push_str(" (break-glass)");
    }
    if !request.reason.is_empty() {
        text.push_str(&format!(": “{}”", request.reason));
    }
    text.push_str(&format!(" — request {}", request.id));
    text
}

/// A Git commit as its first seven characters; anything else as it is.
fn short(revision: &str) -> &str {
    revision.get(..7).filter(|_| revision.len() == 40).unwrap_or(revision)
}

/// The timeline from the recorded rows, newest first.
pub fn entries(
    revisions: &[RevisionRow],
    syncs: &[SyncRow],
    failed: &[ArgoFailure],
    requests: &[Stored],
) -> Vec<Entry> {
    let changes: Vec<Change<'_>> = revisions
        .iter()
        .map(|r| Change {
            environment: &r.environment,
            workload: Some(&r.workload),
            at_ms: r.created_ms,
            newer: r.revision,
        })
        .chain(syncs.iter().map(|s| Change {
            environment: &s.environment,
            workload: None,
            at_ms: s.started_ms.unwrap_or(s.deployed_ms),
            newer: s.id,
        }))
        .chain(failed.iter().map(|f| Change {
            environment: &f.environment,
            workload: None,
            at_ms: f.started_ms,
            newer: 0,
        }))
        .collect();
    let causes = causes(requests, &changes);
    let (revision_causes, rest) = causes.split_at(revisions.len());
    let (sync_causes, failed_causes) = rest.split_at(syncs.len());
    let mut out: Vec<Entry> = revisions
        .iter()
        .zip(revision_causes)
        .map(|(r, cause)| {
            let (outcome, outcome_words, duration_ms) = outcome(r);
            let rollback =
                r.rollback_of.map(|of| format!(" (back to revision {of})")).unwrap_or_default();
            Entry {
                id: format!("rev-{}-{}-{}", r.environment, r.workload, r.revision),
                at_ms: r.created_ms,
                environment: r.environment.clone(),
                object: r.workload.clone(),
                what: format!(
                    "revision {}{rollback}: {}",
                    r.revision,
                    image_change(r.previous_images.as_deref(), &r.images)
                ),
                who: cause.map(by_request).or_else(|| r.change_cause.clone()).unwrap_or_default(),
                outcome,
                outcome_words,
                duration_ms,
                revision: Some((r.revision, r.previous_revision)),
                kind: Some(r.kind.clone()),
            }
        })
        .collect();
    out.extend(syncs.iter().zip(sync_causes).map(|(s, cause)| {
        let short = short(&s.revision);
        Entry {
            id: format!("sync-{}-{}", s.environment, s.id),
            at_ms: s.deployed_ms,
            environment: s.environment.clone(),
            object: s.application.clone(),
            what: format!("Argo CD synced to {short}"),
            who: cause.map(by_request).unwrap_or_else(|| format!("by {}", s.initiated_by)),
            outcome: "synced".to_owned(),
            outcome_words: match s.started_ms {
                Some(started) => format!("synced in {}", duration(s.deployed_ms - started)),
                None => "synced".to_owned(),
            },
            duration_ms: s.started_ms.map(|started| s.deployed_ms - started),
            revision: None,
            kind: None,
        }
    }));
    out.extend(failed.iter().zip(failed_causes).map(|(f, cause)| {
        let took = f.finished_ms.map(|end| end - f.started_ms);
        let after = took.map(|t| format!(" after {}", duration(t))).unwrap_or_default();
        Entry {
            id: format!("syncfail-{}-{}", f.environment, f.started_ms),
            at_ms: f.started_ms,
            environment: f.environment.clone(),
            object: f.application.clone(),
            what: format!("Argo CD sync to {} did not complete", short(&f.revision)),
            who: cause.map(by_request).unwrap_or_else(|| format!("by {}", f.initiated_by)),
            outcome: "failed".to_owned(),
            outcome_words: format!("{}{after}: {}", f.phase.to_lowercase(), f.message),
            duration_ms: took,
            revision: None,
            kind: None,
        }
    }));
    // Times have a second's precision: within one second, the higher revision is newer.
    let number = |e: &Entry| e.revision.map_or(0, |(n, _)| n);
    out.sort_by(|a, b| {
        (b.at_ms, number(b)).cmp(&(a.at_ms, number(a))).then_with(|| a.id.cmp(&b.id))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A succeeded restart of dev's backend, request 7, started at 10.4 s.
    fn tie_break_request() -> Stored {
        Stored {
            id: 7,
            environment: "dev".into(),
            action: "restart".into(),
            object: "Deployment/backend".into(),
            requested_by: "dana".into(),
            requested_by_name: "Dana Developer".into(),
            reason: "new config".into(),
            plan: crate::actions::plan::Plan::Restart {
                kind: crate::status::model::WorkloadKind::Deployment,
                workload: "backend".into(),
                template: String::new(),
                revision: None,
            },
            preview: String::new(),
            approvals_needed: 0,
            state: State::Succeeded,
            break_glass: false,
            requested_ms: 10_400,
            expires_ms: None,
            updated_ms: 10_500,
            executor: None,
            started_ms: Some(10_400),
            finished_ms: Some(10_500),
            result: None,
            acknowledged_by_name: None,
            acknowledged_ms: None,
            seen_resource_version: None,
            decisions: Vec::new(),
        }
    }

    #[test]
    fn a_change_names_the_containers_whose_image_moved() {
        let before = vec!["backend=reg/backend:1.8.2".to_owned(), "sidecar=reg/proxy:2".to_owned()];
        let after = vec!["backend=reg/backend:1.8.3".to_owned(), "sidecar=reg/proxy:2".to_owned()];
        assert_eq!(image_change(Some(&before), &after), "backend:1.8.2 → backend:1.8.3");
        assert_eq!(
            image_change(Some(&after), &after),
            "same images (template changed: restart or configuration)"
        );
        assert_eq!(image_change(None, &after), "first recorded: backend:1.8.3, proxy:2");
    }

    fn row(
        outcome: Option<&str>,
        finished_after_s: Option<i64>,
        rolled_back_by: Option<i64>,
    ) -> RevisionRow {
        RevisionRow {
            environment: "prod".into(),
            workload: "backend".into(),
            kind: "Deployment".into(),
            revision: 3,
            replicaset: "backend-3".into(),
            images: vec![],
            previous_images: None,
            previous_revision: Some(2),
            change_cause: None,
            created_ms: 1_000_000,
            outcome: outcome.map(str::to_owned),
            finished_ms: finished_after_s.map(|s| 1_000_000 + s * 1000),
            outcome_reason: outcome.filter(|o| *o == "failed").map(|_| "timed out".to_owned()),
            rollback_of: None,
            rolled_back_by,
        }
    }

    #[test]
    fn outcomes_say_how_it_went_and_how_long_it_took() {
        let words = |r: RevisionRow| {
            let (word, words, took) = outcome(&r);
            (word, words, took)
        };
        assert_eq!(
            words(row(Some("completed"), Some(42), None)),
            ("completed".into(), "completed in 42 s".into(), Some(42_000))
        );
        assert_eq!(
            words(row(Some("failed"), Some(600), Some(4))),
            (
                "rolled back".into(),
                "failed after 10 min: timed out, then rolled back (revision 4)".into(),
                Some(600_000)
            )
        );
        assert_eq!(
            words(row(Some("superseded"), Some(65), None)).1,
            "replaced by a newer revision after 1 min 5 s, unfinished"
        );
        assert_eq!(words(row(Some("progressing"), None, None)).0, "in progress");
        assert_eq!(words(row(None, None, None)), (String::new(), String::new(), None), "not seen");
        assert_eq!(duration(7_380_000), "2 h 3 min");
        assert_eq!(duration(7_200_000), "2 h");
    }

    #[test]
    fn a_restart_explains_the_revision_it_made_even_in_the_same_second_as_the_one_before() {
        let restart = tie_break_request();
        // Both revisions carry 10 s (Kubernetes' second precision): the seed's revision 1
        // made at 10.1 s and the restart's revision 2 at 10.45 s.
        let change =
            |newer| Change { environment: "dev", workload: Some("backend"), at_ms: 10_000, newer };
        for changes in [vec![change(1), change(2)], vec![change(2), change(1)]] {
            let causes = causes(std::slice::from_ref(&restart), &changes);
            let explained: Vec<i64> = changes
                .iter()
                .zip(&causes)
                .filter(|(_, c)| c.is_some())
                .map(|(c, _)| c.newer)
                .collect();
            assert_eq!(explained, [2], "in either order");
        }
    }

    #[test]
    fn a_restart_explains_the_revision_after_the_one_it_saw_though_that_one_is_closer() {
        // A slow cluster: the restart started at 12 s, on revision 1 made at 10 s; its own
        // revision 2 came at 16 s. Revision 1 is nearer in time, and not its doing.
        let mut restart = tie_break_request();
        restart.started_ms = Some(12_000);
        restart.plan = crate::actions::plan::Plan::Restart {
            kind: crate::status::model::WorkloadKind::Deployment,
            workload: "backend".into(),
            template: String::new(),
            revision: Some(1),
        };
        let change =
            |newer, at_ms| Change { environment: "dev", workload: Some("backend"), at_ms, newer };
        let changes = [change(1, 10_000), change(2, 16_000)];
        let found = causes(std::slice::from_ref(&restart), &changes);
        assert!(found[0].is_none(), "the revision it was made on");
        assert_eq!(found[1].map(|r| r.id), Some(7));
        // Without the revision seen (requests recorded before it was), the nearest wins.
        restart.plan = crate::actions::plan::Plan::Restart {
            kind: crate::status::model::WorkloadKind::Deployment,
            workload: "backend".into(),
            template: String::new(),
            revision: None,
        };
        let found = causes(std::slice::from_ref(&restart), &changes);
        assert_eq!(found[0].map(|r| r.id), Some(7));
    }
}
