//! Why a pod does not run as it should, in words, with the next step: what an operator
//! would conclude from `kubectl describe pod` and its events. From the pod's status only
//! (the watch cache), so a page view costs no API call.

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::{Container, ContainerStatus, Pod};

/// One problem and what to do about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub problem: String,
    pub next: String,
}

fn ago(at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    at.map_or_else(
        || "recently".to_owned(),
        |t| crate::backups::page::distance(t.timestamp_millis(), now.timestamp_millis()),
    )
}

fn time(t: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t?.0.as_second(), 0)
}

fn spec_of<'a>(pod: &'a Pod, name: &str) -> Option<&'a Container> {
    pod.spec.as_ref()?.containers.iter().find(|c| c.name == name)
}

fn resource(container: Option<&Container>, kind: &str, name: &str) -> Option<String> {
    let r = container?.resources.as_ref()?;
    let list = if kind == "limits" { r.limits.as_ref() } else { r.requests.as_ref() };
    list?.get(name).map(|q| q.0.clone())
}

/// The image's tag (or digest) and the rest: `registry/app/backend:1.9.1` → ("…/backend", "1.9.1").
pub fn split_image(image: &str) -> (&str, &str) {
    if let Some((repo, digest)) = image.split_once('@') {
        return (repo, digest);
    }
    match image.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo, tag),
        _ => (image, "latest"),
    }
}

/// Every problem of the pod, most telling first; empty when it runs as it should.
pub fn diagnose(pod: &Pod, now: DateTime<Utc>) -> Vec<Finding> {
    let mut found = Vec::new();
    let Some(status) = pod.status.as_ref() else { return found };
    for c in status.conditions.iter().flatten() {
        if c.type_ == "PodScheduled" && c.status == "False" {
            found.push(unschedulable(pod, c.message.as_deref().unwrap_or("")));
        }
    }
    for cs in status.container_statuses.iter().flatten() {
        if let Some(f) = container(pod, cs, now) {
            found.push(f);
        }
    }
    let ready = status.conditions.iter().flatten().find(|c| c.type_ == "Ready");
    let all_running = status
        .container_statuses
        .iter()
        .flatten()
        .all(|c| c.state.as_ref().is_some_and(|s| s.running.is_some()));
    if found.is_empty()
        && all_running
        && ready.is_some_and(|r| r.status == "False")
        && pod.metadata.deletion_timestamp.is_none()
    {
        found.push(not_ready(pod));
    }
    found
}

fn unschedulable(pod: &Pod, message: &str) -> Finding {
    let first = pod.spec.as_ref().and_then(|s| s.containers.first());
    let said = format!("(the scheduler says: {})", message.trim_end_matches('.'));
    let lower = message.to_lowercase();
    if lower.contains("insufficient memory") {
        let asked = resource(first, "requests", "memory")
            .unwrap_or_else(|| "the memory it requests".into());
        return Finding {
            problem: format!(
                "No node has {asked} of memory free for it, so it cannot start {said}."
            ),
            next: "Lower the memory request, or ask the platform team for capacity.".into(),
        };
    }
    if lower.contains("insufficient cpu") {
        let asked =
            resource(first, "requests", "cpu").unwrap_or_else(|| "the CPU it requests".into());
        return Finding {
            problem: format!("No node has {asked} of CPU free for it, so it cannot start {said}."),
            next: "Lower the CPU request, or ask the platform team for capacity.".into(),
        };
    }
    if lower.contains("taint") {
        return Finding {
            problem: format!("Every node carries a taint this pod does not tolerate {said}."),
            next:
                "Add the toleration the nodes ask for, or ask the platform team which nodes to use."
                    .into(),
        };
    }
    if lower.contains("affinity") || lower.contains("selector") {
        return Finding {
            problem: format!("No node matches the pod's node selector or affinity {said}."),
            next: "Check the nodeSelector and affinity in the workload's manifest.".into(),
        };
    }
    if lower.contains("persistentvolumeclaim") {
        return Finding {
            problem: format!("Its volume claim is not bound to a volume yet {said}."),
            next: "Check the PersistentVolumeClaim and its storage class.".into(),
        };
    }
    Finding {
        problem: format!("The scheduler finds no node for it {said}."),
        next: "Read the scheduler's message; ask the platform team if it names the cluster's capacity.".into(),
    }
}

fn container(pod: &Pod, cs: &ContainerStatus, now: DateTime<Utc>) -> Option<Finding> {
    let name = &cs.name;
    let waiting = cs.state.as_ref().and_then(|s| s.waiting.as_ref());
    let reason = waiting.and_then(|w| w.reason.as_deref()).unwrap_or("");
    let message = waiting.and_then(|w| w.message.as_deref()).unwrap_or("");
    let last = cs.last_state.as_ref().and_then(|s| s.terminated.as_ref());
    match reason {
        "ErrImagePull" | "ImagePullBackOff" => Some(image_pull(cs, message, pod)),
        "InvalidImageName" => Some(Finding {
            problem: format!("The image name {} of container {name} is not valid.", cs.image),
            next: "Fix the image reference in the workload's manifest.".into(),
        }),
        "CreateContainerConfigError" | "CreateContainerError" => Some(Finding {
            problem: format!("Container {name} cannot be created: {}", crate::error::AppError::sentence(message)),
            next: "A Secret or ConfigMap it refers to is usually missing: create it or fix the reference.".into(),
        }),
        _ => {
            let last = last?;
            let when = ago(time(last.finished_at.as_ref()), now);
            let restarts = cs.restart_count;
            let times = if restarts == 1 { "restart" } else { "restarts" };
            let looping = reason == "CrashLoopBackOff";
            let recent = time(last.finished_at.as_ref()).is_some_and(|t| now - t < chrono::TimeDelta::hours(1));
            if !looping && !recent {
                return None;
            }
            let ended = last.reason.as_deref().unwrap_or("Error");
            if ended == "OOMKilled" {
                let limit = resource(spec_of(pod, name), "limits", "memory").map_or_else(String::new, |l| format!(" ({l})"));
                return Some(Finding {
                    problem: format!(
                        "Container {name} was killed for using more memory than its limit{limit}: OOMKilled {when}, exit {}, {restarts} {times}.",
                        last.exit_code
                    ),
                    next: "Raise the memory limit, or find what uses the memory (the Metrics page shows it per pod).".into(),
                });
            }
            let problem = if looping {
                format!(
                    "Container {name} keeps crashing and Kubernetes waits longer before each restart (CrashLoopBackOff): it ended with {ended} {when}, exit code {}, {restarts} {times}.",
                    last.exit_code
                )
            } else {
                format!("Container {name} restarted: it ended with {ended} {when}, exit code {}.", last.exit_code)
            };
            Some(Finding {
                problem,
                next: "Its last lines before the crash are in the previous run's log below; a recent change of image or configuration is the usual cause: compare with the last good revision, or roll back.".into(),
            })
        }
    }
}

fn image_pull(cs: &ContainerStatus, message: &str, pod: &Pod) -> Finding {
    // The image the spec asks for (the status may already name a resolved one).
    let image =
        spec_of(pod, &cs.name).and_then(|c| c.image.clone()).unwrap_or_else(|| cs.image.clone());
    let (repository, tag) = split_image(&image);
    let lower = message.to_lowercase();
    if lower.contains("unauthorized")
        || lower.contains("denied")
        || lower.contains("authentication required")
        || lower.contains("403")
    {
        return Finding {
            problem: format!("The registry refuses to give Kubernetes the image {image}."),
            next: "Check the pull secret (imagePullSecrets) of the pod or of the namespace's service account.".into(),
        };
    }
    if lower.contains("no such host")
        || lower.contains("i/o timeout")
        || lower.contains("connection refused")
    {
        return Finding {
            problem: format!("The registry of {repository} cannot be reached from the cluster."),
            next: "Check the registry's address, or ask the platform team whether the cluster can reach it.".into(),
        };
    }
    Finding {
        problem: format!("The image tag {tag} does not exist in the registry {repository} (or cannot be read), so container {} cannot start.", cs.name),
        next: "Check the tag, or the pull secret if the registry hides images from anonymous pulls.".into(),
    }
}

fn not_ready(pod: &Pod) -> Finding {
    let probe = pod
        .spec
        .as_ref()
        .and_then(|s| s.containers.iter().find_map(|c| c.readiness_probe.as_ref()))
        .and_then(|p| {
            let get = p.http_get.as_ref()?;
            let port = match &get.port {
                k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(n) => n.to_string(),
                k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(s) => s.clone(),
            };
            Some(format!(" (HTTP GET {} on port {port})", get.path.as_deref().unwrap_or("/")))
        })
        .unwrap_or_default();
    Finding {
        problem: format!(
            "It runs but is not ready: its readiness probe{probe} fails, so it gets no traffic."
        ),
        next: "Its logs say why; check what the probe asks for, and the services it depends on."
            .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(value: serde_json::Value) -> Pod {
        serde_json::from_value(value).expect("a pod")
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-01T12:00:00Z").map(|t| t.to_utc()).unwrap_or_default()
    }

    #[test]
    fn an_oom_kill_says_when_the_limit_and_what_to_do() {
        let p = pod(serde_json::json!({
            "metadata": {"name": "backend-1"},
            "spec": {"containers": [{"name": "backend", "image": "r/backend:1.9.0", "resources": {"limits": {"memory": "512Mi"}}}]},
            "status": {"containerStatuses": [{"name": "backend", "image": "r/backend:1.9.0", "imageID": "", "ready": true, "restartCount": 2,
                "state": {"running": {"startedAt": "2026-12-01T11:56:10Z"}},
                "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled", "finishedAt": "2026-12-01T11:56:00Z"}}}]}
        }));
        let found = diagnose(&p, now());
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].problem, "Container backend was killed for using more memory than its limit (512Mi): OOMKilled 4 minutes ago, exit 137, 2 restarts.");
        assert!(found[0].next.starts_with("Raise the memory limit"));
    }

    #[test]
    fn a_missing_tag_and_a_full_cluster_are_named() {
        let pull = pod(serde_json::json!({
            "metadata": {"name": "backend-2"},
            "spec": {"containers": [{"name": "backend", "image": "registry.example.org/co2/backend:1.9.1"}]},
            "status": {"containerStatuses": [{"name": "backend", "image": "registry.example.org/co2/backend:1.9.1", "imageID": "", "ready": false, "restartCount": 0,
                "state": {"waiting": {"reason": "ImagePullBackOff", "message": "rpc error: code = NotFound desc = manifest unknown"}}}]}
        }));
        let f = &diagnose(&pull, now())[0];
        assert!(f.problem.starts_with("The image tag 1.9.1 does not exist in the registry registry.example.org/co2/backend"), "{f:?}");
        assert!(f.next.contains("pull secret"));
        let full = pod(serde_json::json!({
            "metadata": {"name": "backend-3"},
            "spec": {"containers": [{"name": "backend", "image": "b:1", "resources": {"requests": {"memory": "512Mi"}}}]},
            "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                "message": "0/3 nodes are available: 3 Insufficient memory."}]}
        }));
        let f = &diagnose(&full, now())[0];
        assert!(f.problem.starts_with("No node has 512Mi of memory free for it"), "{f:?}");
        assert_eq!(f.next, "Lower the memory request, or ask the platform team for capacity.");
    }

    #[test]
    fn a_healthy_pod_has_nothing_to_say_and_images_split_at_the_tag() {
        let fine = pod(serde_json::json!({
            "metadata": {"name": "web-1"},
            "spec": {"containers": [{"name": "web", "image": "w:1"}]},
            "status": {"conditions": [{"type": "Ready", "status": "True"}], "containerStatuses": [{"name": "web", "image": "w:1", "imageID": "", "ready": true, "restartCount": 0, "state": {"running": {}}}]}
        }));
        assert!(diagnose(&fine, now()).is_empty());
        assert_eq!(split_image("localhost:5000/app:2.1"), ("localhost:5000/app", "2.1"));
        assert_eq!(split_image("localhost:5000/app"), ("localhost:5000/app", "latest"));
        assert_eq!(split_image("app@sha256:abc"), ("app", "sha256:abc"));
    }
}
