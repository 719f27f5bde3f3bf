//! Status derivation: pure functions from Kubernetes objects to what the panel shows.
//! No cluster, no database: everything here is unit-tested on hand-made objects.

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Container, Event, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::Value;

use super::model::{
    ArgoStatus, Autoscaler, Health, Image, JobOutcome, JobRun, Operation, Pinned, PodInfo,
    PodProblem, ProblemKind, Revision, Rollout, ScheduledJob, Verdict, WarningEvent, WorkloadKind,
    WorkloadStatus,
};
use super::words::problem_words;

/// The annotation Deployments and their ReplicaSets carry with the revision number.
const REVISION: &str = "deployment.kubernetes.io/revision";

/// `registry/app:tag` → (repository, tag). Without a tag: the digest shortened like an
/// image id ("sha256:" and 12 hex digits), or `latest`.
pub fn split_image(image: &str) -> (String, String) {
    let (name, digest) = image.split_once('@').map_or((image, None), |(n, d)| (n, Some(d)));
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    match name[last_slash..].rfind(':') {
        Some(colon) => {
            (name[..last_slash + colon].to_owned(), name[last_slash + colon + 1..].to_owned())
        }
        None => (
            name.to_owned(),
            digest.map_or_else(|| "latest".to_owned(), |d| d.chars().take(19).collect()),
        ),
    }
}

fn images(containers: &[Container]) -> Vec<Image> {
    containers
        .iter()
        .map(|c| {
            let (repository, tag) = split_image(c.image.as_deref().unwrap_or(""));
            Image { container: c.name.clone(), repository, tag }
        })
        .collect()
}

/// What is wrong with a pod, if anything a person should look at.
pub fn pod_problem(pod: &Pod) -> Option<PodProblem> {
    let name = pod.metadata.name.clone().unwrap_or_default();
    let status = pod.status.as_ref()?;
    let restarts: i32 = status.container_statuses.iter().flatten().map(|c| c.restart_count).sum();
    for c in status.container_statuses.iter().flatten() {
        let waiting = c.state.as_ref().and_then(|s| s.waiting.as_ref());
        let reason = waiting.and_then(|w| w.reason.as_deref()).unwrap_or("");
        let message = waiting.and_then(|w| w.message.clone()).unwrap_or_default();
        match reason {
            "CrashLoopBackOff" => {
                return Some(PodProblem {
                    pod: name,
                    kind: ProblemKind::CrashLoop,
                    restarts,
                    message,
                })
            }
            "ErrImagePull" | "ImagePullBackOff" | "InvalidImageName" => {
                return Some(PodProblem {
                    pod: name,
                    kind: ProblemKind::ImagePull,
                    restarts,
                    message,
                })
            }
            _ => {}
        }
    }
    let conditions = status.conditions.iter().flatten();
    for c in conditions {
        if c.type_ == "PodScheduled"
            && c.status == "False"
            && c.reason.as_deref() == Some("Unschedulable")
        {
            let message = c.message.clone().unwrap_or_default();
            return Some(PodProblem {
                pod: name,
                kind: ProblemKind::Unschedulable,
                restarts,
                message,
            });
        }
    }
    None
}

/// The rollout phase of a Deployment, as `kubectl rollout status` would judge it.
pub fn deployment_rollout(d: &Deployment) -> Rollout {
    let spec = d.spec.as_ref();
    if spec.and_then(|s| s.paused) == Some(true) {
        return Rollout::Paused;
    }
    let desired = spec.and_then(|s| s.replicas).unwrap_or(1);
    let status = d.status.clone().unwrap_or_default();
    let stalled = status.conditions.iter().flatten().find(|c| {
        c.type_ == "Progressing"
            && c.status == "False"
            && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
    });
    if let Some(c) = stalled {
        return Rollout::Stalled {
            reason: c.message.clone().unwrap_or_else(|| "progress deadline exceeded".into()),
        };
    }
    let observed = status.observed_generation.unwrap_or(0) >= d.metadata.generation.unwrap_or(0);
    let updated = status.updated_replicas.unwrap_or(0);
    let available = status.available_replicas.unwrap_or(0);
    let total = status.replicas.unwrap_or(0);
    if observed && updated == desired && available == desired && total == desired {
        return Rollout::Complete;
    }
    Rollout::Progressing { percent: percent(updated.min(available), desired) }
}

fn percent(part: i32, whole: i32) -> u8 {
    if whole <= 0 {
        return 100;
    }
    u8::try_from((i64::from(part.clamp(0, whole)) * 100) / i64::from(whole)).unwrap_or(100)
}

fn autoscaler(hpa: Option<&HorizontalPodAutoscaler>) -> Option<Autoscaler> {
    let hpa = hpa?;
    let spec = hpa.spec.as_ref()?;
    let status = hpa.status.clone().unwrap_or_default();
    Some(Autoscaler {
        min: spec.min_replicas.unwrap_or(1),
        max: spec.max_replicas,
        current: status.current_replicas.unwrap_or(0),
        desired: status.desired_replicas,
    })
}

/// A Deployment with its pods (already selected by the caller) and its autoscaler.
pub fn deployment(
    d: &Deployment,
    pods: &[&Pod],
    hpa: Option<&HorizontalPodAutoscaler>,
) -> WorkloadStatus {
    let spec = d.spec.as_ref();
    let status = d.status.clone().unwrap_or_default();
    let containers =
        spec.and_then(|s| s.template.spec.as_ref()).map(|s| s.containers.as_slice()).unwrap_or(&[]);
    WorkloadStatus {
        name: d.metadata.name.clone().unwrap_or_default(),
        kind: WorkloadKind::Deployment,
        desired: spec.and_then(|s| s.replicas).unwrap_or(1),
        ready: status.ready_replicas.unwrap_or(0),
        updated: status.updated_replicas.unwrap_or(0),
        available: status.available_replicas.unwrap_or(0),
        rollout: deployment_rollout(d),
        images: images(containers),
        restarts: restarts(pods),
        problems: pods.iter().filter_map(|p| pod_problem(p)).collect(),
        autoscaler: autoscaler(hpa),
    }
}

pub fn statefulset(s: &StatefulSet, pods: &[&Pod]) -> WorkloadStatus {
    let spec = s.spec.as_ref();
    let status = s.status.clone().unwrap_or_default();
    let desired = spec.and_then(|s| s.replicas).unwrap_or(1);
    let updated = status.updated_replicas.unwrap_or(0);
    let ready = status.ready_replicas.unwrap_or(0);
    let rollout = if updated == desired && ready == desired && status.replicas == desired {
        Rollout::Complete
    } else {
        Rollout::Progressing { percent: percent(updated.min(ready), desired) }
    };
    let containers =
        spec.and_then(|s| s.template.spec.as_ref()).map(|s| s.containers.as_slice()).unwrap_or(&[]);
    WorkloadStatus {
        name: s.metadata.name.clone().unwrap_or_default(),
        kind: WorkloadKind::StatefulSet,
        desired,
        ready,
        updated,
        available: status.available_replicas.unwrap_or(ready),
        rollout,
        images: images(containers),
        restarts: restarts(pods),
        problems: pods.iter().filter_map(|p| pod_problem(p)).collect(),
        autoscaler: None,
    }
}

fn restarts(pods: &[&Pod]) -> i32 {
    pods.iter()
        .flat_map(|p| p.status.iter().flat_map(|s| s.container_statuses.iter().flatten()))
        .map(|c| c.restart_count)
        .sum()
}

fn text(v: &Value, pointer: &str) -> String {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("").to_owned()
}

/// An Argo CD Application (its JSON) as the panel shows it.
pub fn argo(application: &Value) -> ArgoStatus {
    let state = &application["status"]["operationState"];
    let last_operation = state.get("phase").and_then(Value::as_str).map(|phase| {
        let by = &state["operation"]["initiatedBy"];
        let initiated_by = if by["automated"] == true {
            "automated sync".to_owned()
        } else {
            by["username"].as_str().unwrap_or("unknown").to_owned()
        };
        Operation {
            phase: phase.to_owned(),
            message: text(state, "/message"),
            started_at: text(state, "/startedAt"),
            finished_at: state["finishedAt"].as_str().map(str::to_owned),
            initiated_by,
        }
    });
    let sync = text(application, "/status/sync/status");
    let health = text(application, "/status/health/status");
    ArgoStatus {
        application: text(application, "/metadata/name"),
        sync: if sync.is_empty() { "Unknown".into() } else { sync },
        health: if health.is_empty() { "Unknown".into() } else { health },
        revision: text(application, "/status/sync/revision"),
        target_revision: text(application, "/spec/source/targetRevision"),
        auto_sync: application["spec"]["syncPolicy"]["automated"].is_object(),
        last_operation,
        pinned: pinned(application),
    }
}

/// The annotations Gantry puts on an Argo CD Application whose auto-sync it paused: the
/// pinned state is then visible in Argo CD too, and does not depend on Gantry's database.
pub const PAUSED_BY: &str = "gantry/auto-sync-paused-by";
pub const PAUSED_AT: &str = "gantry/auto-sync-paused-at";
pub const PAUSED_REASON: &str = "gantry/auto-sync-paused-reason";
pub const PAUSED_REQUEST: &str = "gantry/auto-sync-paused-request";
/// The `automated` sync policy as it was, restored by "resume auto-sync".
pub const PAUSED_POLICY: &str = "gantry/auto-sync-paused-policy";

/// The pinned state Gantry wrote on the Application when it paused auto-sync.
fn pinned(application: &Value) -> Option<Pinned> {
    let annotations = &application["metadata"]["annotations"];
    let by = annotations.get(PAUSED_BY)?.as_str()?.to_owned();
    let field = |key: &str| annotations[key].as_str().unwrap_or_default().to_owned();
    Some(Pinned { by, since: field(PAUSED_AT), reason: field(PAUSED_REASON) })
}

/// The environment's health and the reason in words, worst finding first.
pub fn verdict(workloads: &[WorkloadStatus], argo: Option<&ArgoStatus>) -> Verdict {
    let mut findings: Vec<(Health, String)> = Vec::new();
    for w in workloads {
        if w.desired > 0 && w.available == 0 {
            findings.push((
                Health::Down,
                format!("{} has no available pods (0 of {})", w.name, w.desired),
            ));
        }
        if let Rollout::Stalled { reason } = &w.rollout {
            findings
                .push((Health::Degraded, format!("the rollout of {} is stuck: {reason}", w.name)));
        }
        if let Some(p) = w.problems.first() {
            findings.push((Health::Degraded, problem_words(&w.name, p)));
        }
        let rolling = matches!(w.rollout, Rollout::Progressing { .. });
        if !rolling && w.available < w.desired && w.available > 0 {
            findings.push((
                Health::Degraded,
                format!("{} runs {} of {} pods", w.name, w.available, w.desired),
            ));
        }
    }
    if let Some(a) = argo {
        if a.health == "Degraded" {
            findings
                .push((Health::Degraded, format!("Argo CD reports {} as degraded", a.application)));
        }
        if let Some(op) =
            a.last_operation.as_ref().filter(|op| op.phase == "Failed" || op.phase == "Error")
        {
            findings
                .push((Health::Degraded, format!("the last Argo CD sync failed: {}", op.message)));
        }
    }
    findings.sort_by_key(|f| std::cmp::Reverse(f.0));
    match findings.into_iter().next() {
        Some((health, reason)) => Verdict { health, reason },
        None => {
            let rolling: Vec<&str> = workloads
                .iter()
                .filter(|w| matches!(w.rollout, Rollout::Progressing { .. }))
                .map(|w| w.name.as_str())
                .collect();
            let reason = if rolling.is_empty() {
                "all workloads are running and available".to_owned()
            } else {
                format!("healthy; rolling out {}", rolling.join(", "))
            };
            Verdict { health: Health::Healthy, reason }
        }
    }
}

fn millis(t: Option<&Time>) -> Option<i64> {
    t.map(|t| t.0.as_millisecond())
}

/// A pod's line on the pages: state as `kubectl get pods` words it, readiness, restarts.
pub fn pod_info(pod: &Pod, workload: Option<&str>, revision: Option<i64>) -> PodInfo {
    let status = pod.status.clone().unwrap_or_default();
    let containers = status.container_statuses.as_deref().unwrap_or(&[]);
    let waiting = containers
        .iter()
        .filter_map(|c| c.state.as_ref()?.waiting.as_ref()?.reason.clone())
        .find(|r| r != "ContainerCreating" || containers.len() == 1);
    let terminated = containers
        .iter()
        .filter_map(|c| c.state.as_ref()?.terminated.as_ref()?.reason.clone())
        .next();
    let phase = status.phase.clone().unwrap_or_else(|| "Pending".into());
    let state = if pod.metadata.deletion_timestamp.is_some() {
        "Terminating".to_owned()
    } else {
        waiting.or(terminated).unwrap_or(phase)
    };
    let spec_containers = pod.spec.as_ref().map_or(0, |s| s.containers.len());
    PodInfo {
        name: pod.metadata.name.clone().unwrap_or_default(),
        workload: workload.map(str::to_owned),
        state,
        ready_containers: i32::try_from(containers.iter().filter(|c| c.ready).count())
            .unwrap_or(i32::MAX),
        containers: i32::try_from(spec_containers.max(containers.len())).unwrap_or(i32::MAX),
        restarts: containers.iter().map(|c| c.restart_count).sum(),
        created_ms: millis(pod.metadata.creation_timestamp.as_ref()).unwrap_or(0),
        node: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
        revision,
        problem: pod_problem(pod),
    }
}

/// The revision number a Deployment or ReplicaSet carries, if any.
pub fn revision_of(
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
) -> Option<i64> {
    meta.annotations.as_ref()?.get(REVISION)?.parse().ok()
}

/// A ReplicaSet as one revision of `workload`; `current` is the Deployment's revision.
pub fn revision(rs: &ReplicaSet, workload: &str, current: Option<i64>) -> Revision {
    let spec = rs.spec.as_ref();
    let containers = spec
        .and_then(|s| s.template.as_ref())
        .and_then(|t| t.spec.as_ref())
        .map(|s| s.containers.as_slice())
        .unwrap_or(&[]);
    let number = revision_of(&rs.metadata).unwrap_or(0);
    Revision {
        workload: workload.to_owned(),
        replicaset: rs.metadata.name.clone().unwrap_or_default(),
        revision: number,
        images: images(containers),
        desired: spec.and_then(|s| s.replicas).unwrap_or(0),
        ready: rs.status.as_ref().and_then(|s| s.ready_replicas).unwrap_or(0),
        created_ms: millis(rs.metadata.creation_timestamp.as_ref()).unwrap_or(0),
        current: current == Some(number),
    }
}

/// How a Job stands: finished (by its Complete/Failed condition) or still running.
pub fn job_run(job: &Job) -> JobRun {
    let status = job.status.clone().unwrap_or_default();
    let finished = |kind: &str| {
        status.conditions.iter().flatten().any(|c| c.type_ == kind && c.status == "True")
    };
    let outcome = if finished("Complete") {
        JobOutcome::Succeeded
    } else if finished("Failed") {
        JobOutcome::Failed
    } else {
        JobOutcome::Running
    };
    let failed_at = status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Failed" && c.status == "True")
        .and_then(|c| millis(c.last_transition_time.as_ref()));
    JobRun {
        name: job.metadata.name.clone().unwrap_or_default(),
        outcome,
        started_ms: millis(status.start_time.as_ref()),
        finished_ms: millis(status.completion_time.as_ref()).or(failed_at),
    }
}

/// A CronJob with the latest of its Jobs (`jobs`: those it owns, in any order).
pub fn scheduled_job(cron: &CronJob, jobs: &[&Job]) -> ScheduledJob {
    let spec = cron.spec.as_ref();
    let latest = jobs
        .iter()
        .max_by_key(|j| (millis(j.metadata.creation_timestamp.as_ref()), j.metadata.name.clone()));
    ScheduledJob {
        name: cron.metadata.name.clone().unwrap_or_default(),
        schedule: spec.map(|s| s.schedule.clone()).unwrap_or_default(),
        suspended: spec.and_then(|s| s.suspend).unwrap_or(false),
        last_run: latest.map(|j| job_run(j)),
        last_success_ms: millis(cron.status.as_ref().and_then(|s| s.last_successful_time.as_ref())),
    }
}

/// A Warning event as the pages list it; None for other event types.
pub fn warning(event: &Event) -> Option<WarningEvent> {
    if event.type_.as_deref() != Some("Warning") {
        return None;
    }
    let o = &event.involved_object;
    let last = millis(event.last_timestamp.as_ref())
        .or_else(|| event.event_time.as_ref().map(|t| t.0.as_millisecond()))
        .or_else(|| millis(event.first_timestamp.as_ref()))
        .or_else(|| millis(event.metadata.creation_timestamp.as_ref()))
        .unwrap_or(0);
    Some(WarningEvent {
        object: format!(
            "{}/{}",
            o.kind.as_deref().unwrap_or("Object"),
            o.name.as_deref().unwrap_or("?")
        ),
        reason: event.reason.clone().unwrap_or_default(),
        message: event.message.clone().unwrap_or_default(),
        count: event.count.unwrap_or(1),
        last_ms: last,
    })
}

#[cfg(test)]
mod tests;
