//! Status derivation: pure functions from Kubernetes objects to what the panel shows.
//! No cluster, no database: everything here is unit-tested on hand-made objects.

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{Container, Pod};
use serde_json::Value;

use super::model::{
    ArgoStatus, Autoscaler, Health, Image, Operation, PodProblem, ProblemKind, Rollout, Verdict,
    WorkloadKind, WorkloadStatus,
};

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
    }
}

fn problem_words(workload: &str, p: &PodProblem) -> String {
    match p.kind {
        ProblemKind::CrashLoop => {
            format!("{workload} is crash-looping (pod {} restarted {} times)", p.pod, p.restarts)
        }
        ProblemKind::ImagePull => format!("{workload} cannot pull its image (pod {})", p.pod),
        ProblemKind::Unschedulable => {
            format!("{workload} has a pod that cannot be scheduled ({})", p.pod)
        }
        ProblemKind::NotReady => format!("{workload} has a pod that is not ready ({})", p.pod),
    }
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

#[cfg(test)]
mod tests;
