//! An environment's backups as the watch caches show them: the backup CronJob (schedule,
//! suspended, last scheduled) and its Jobs, each read into a run from its pod's
//! termination message. Memory only; no new permission (pods and Jobs are watched
//! already) and no mount of the backup volume.

use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::model::Outcome;
use super::report::{read, read_restore, read_verification, Ended, Verified};
use crate::cluster::EnvironmentWatch;

/// Set on Jobs `kubectl create job --from=cronjob/…` makes, and on Gantry's.
pub const INSTANTIATE: &str = "cronjob.kubernetes.io/instantiate";
/// The request a Job was made for, and who asked (Gantry's "Back up now").
pub const REQUEST: &str = "gantry/request";
pub const REQUESTED_BY: &str = "gantry/requested-by";

/// The CronJob as the Backups page describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    pub name: String,
    pub schedule: String,
    pub time_zone: Option<String>,
    pub suspended: bool,
    pub last_scheduled_ms: Option<i64>,
}

/// One run as the cluster shows it now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    pub job: String,
    pub uid: String,
    pub manual: bool,
    pub request_id: Option<i64>,
    pub requested_by: Option<String>,
    pub started_ms: Option<i64>,
    pub finished_ms: Option<i64>,
    pub outcome: Outcome,
}

/// What the caches show of an environment's backups; `None` before they have synced.
pub struct Observed {
    pub schedule: Option<Schedule>,
    pub runs: Vec<Seen>,
}

fn millis(t: Option<&Time>) -> Option<i64> {
    t.map(|t| t.0.as_millisecond())
}

pub fn observe(watch: &EnvironmentWatch, cronjob: &str) -> Option<Observed> {
    if !watch.synced() {
        return None;
    }
    let Some(cron) = watch.cronjob(cronjob) else {
        return Some(Observed { schedule: None, runs: Vec::new() });
    };
    let mut runs: Vec<Seen> = watch.runs_of(&cron).iter().map(|(j, pods)| run(j, pods)).collect();
    runs.sort_by(|a, b| (b.started_ms, &b.job).cmp(&(a.started_ms, &a.job)));
    Some(Observed { schedule: Some(schedule(&cron)), runs })
}

fn schedule(cron: &CronJob) -> Schedule {
    let spec = cron.spec.as_ref();
    Schedule {
        name: cron.metadata.name.clone().unwrap_or_default(),
        schedule: spec.map(|s| s.schedule.clone()).unwrap_or_default(),
        time_zone: spec.and_then(|s| s.time_zone.clone()),
        suspended: spec.and_then(|s| s.suspend).unwrap_or(false),
        last_scheduled_ms: millis(cron.status.as_ref().and_then(|s| s.last_schedule_time.as_ref())),
    }
}

/// The newest finished run of the verification CronJob.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verification {
    pub job: String,
    pub finished_ms: Option<i64>,
    pub result: Result<Verified, String>,
}

/// The last verification the caches show (`None`: none finished, or no such CronJob).
pub fn verification(watch: &EnvironmentWatch, cronjob: &str) -> Option<Verification> {
    let cron = watch.cronjob(cronjob)?;
    watch
        .runs_of(&cron)
        .iter()
        .filter_map(|(job, pods)| {
            let (ended, message, code, failure) = ending(job, pods);
            let result = read_verification(ended, message.as_deref(), code, failure.as_deref())?;
            let finished_ms = millis(job.status.as_ref().and_then(|s| s.completion_time.as_ref()))
                .or_else(|| millis(job.status.as_ref().and_then(|s| s.start_time.as_ref())));
            Some(Verification {
                job: job.metadata.name.clone().unwrap_or_default(),
                finished_ms,
                result,
            })
        })
        .max_by_key(|v| (v.finished_ms, v.job.clone()))
}

/// One restore the cluster shows: its Job, who asked, when, and how it ended (`None`:
/// running; `Ok((file, database))`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Restore {
    pub job: String,
    pub requested_by: Option<String>,
    pub started_ms: Option<i64>,
    pub result: Option<Result<(String, String), String>>,
}

/// The restores made from `template`, newest first.
pub fn restores(watch: &EnvironmentWatch, template: &str) -> Vec<Restore> {
    let Some(cron) = watch.cronjob(template) else { return Vec::new() };
    let mut out: Vec<Restore> = watch
        .runs_of(&cron)
        .iter()
        .map(|(job, pods)| {
            let (ended, message, code, failure) = ending(job, pods);
            Restore {
                job: job.metadata.name.clone().unwrap_or_default(),
                requested_by: job
                    .metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get(REQUESTED_BY).cloned()),
                started_ms: millis(job.status.as_ref().and_then(|s| s.start_time.as_ref()))
                    .or_else(|| millis(job.metadata.creation_timestamp.as_ref())),
                result: read_restore(ended, message.as_deref(), code, failure.as_deref()),
            }
        })
        .collect();
    out.sort_by(|a, b| (b.started_ms, &b.job).cmp(&(a.started_ms, &a.job)));
    out
}

/// How a Job ended, and what its newest pod's container said: (ended, termination
/// message, exit code, the Job's failure message).
fn ending(
    job: &Job,
    pods: &[std::sync::Arc<Pod>],
) -> (Ended, Option<String>, Option<i32>, Option<String>) {
    let status = job.status.clone().unwrap_or_default();
    let condition = |kind: &str| {
        status.conditions.iter().flatten().find(|c| c.type_ == kind && c.status == "True").cloned()
    };
    let failed = condition("Failed");
    let ended = if condition("Complete").is_some() {
        Ended::Complete
    } else if failed.is_some() {
        Ended::Failed
    } else {
        Ended::Not
    };
    let pod = pods
        .iter()
        .max_by_key(|p| (millis(p.metadata.creation_timestamp.as_ref()), p.metadata.name.clone()));
    let terminated = pod
        .and_then(|p| p.status.as_ref())
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|cs| cs.first())
        .and_then(|c| c.state.as_ref())
        .and_then(|s| s.terminated.as_ref());
    (
        ended,
        terminated.and_then(|t| t.message.clone()),
        terminated.map(|t| t.exit_code),
        failed.and_then(|c| c.message),
    )
}

/// One Job and its pods as a run: the newest pod's container says how it went.
pub fn run(job: &Job, pods: &[std::sync::Arc<Pod>]) -> Seen {
    let status = job.status.clone().unwrap_or_default();
    let (ended, message, exit_code, job_failure) = ending(job, pods);
    let outcome = read(ended, message.as_deref(), exit_code, job_failure.as_deref());
    let failed_at = status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Failed" && c.status == "True")
        .and_then(|c| millis(c.last_transition_time.as_ref()));
    let finished_at = pods
        .iter()
        .filter_map(|p| p.status.as_ref()?.container_statuses.as_ref()?.first()?.state.clone())
        .filter_map(|s| s.terminated.and_then(|t| millis(t.finished_at.as_ref())))
        .max();
    let annotations = job.metadata.annotations.clone().unwrap_or_default();
    let finished_ms = millis(status.completion_time.as_ref())
        .or(failed_at)
        .or(finished_at)
        .filter(|_| ended != Ended::Not);
    Seen {
        job: job.metadata.name.clone().unwrap_or_default(),
        uid: job.metadata.uid.clone().unwrap_or_default(),
        manual: annotations.get(INSTANTIATE).is_some_and(|v| v == "manual"),
        request_id: annotations.get(REQUEST).and_then(|v| v.parse().ok()),
        requested_by: annotations.get(REQUESTED_BY).cloned(),
        started_ms: millis(status.start_time.as_ref())
            .or_else(|| millis(job.metadata.creation_timestamp.as_ref())),
        finished_ms,
        outcome,
    }
}
