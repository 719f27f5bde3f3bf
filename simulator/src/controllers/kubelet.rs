//! What the kubelets do, seen through the API: pods are scheduled on a node, start after a
//! delay, become ready, and — when a fault says so — fail to pull, crash-loop or never
//! become ready. Job pods run to completion.

use std::time::Duration;

use serde_json::{json, Value};

use super::events;
use super::util::{created, int, name, namespace, set_status};
use crate::faults::WorkloadFault;
use crate::resources::ids;
use crate::store::str_at;
use crate::Cluster;

/// Simulated time a Job's pod runs (a pg_dump of the demo database).
pub const JOB_RUNTIME: Duration = Duration::from_secs(40);
/// Simulated time between restarts of a crash-looping container.
const CRASH_PERIOD: i64 = 20;

pub fn reconcile(cluster: &Cluster) {
    let (pods, _) = cluster.store.list(ids::POD, None);
    let now = cluster.clock().now();
    let stamp = cluster.clock().timestamp();
    for pod in pods {
        let phase = str_at(&pod, "/status/phase");
        if phase == "Succeeded" || phase == "Failed" {
            continue;
        }
        let Some(born) = created(&pod) else { continue };
        let age = (now - born).num_seconds();
        let ns = namespace(&pod).to_owned();
        let workload = workload_name(&pod);
        let is_job = pod["metadata"]["ownerReferences"][0]["kind"] == "Job";
        let start = i64::try_from(cluster.options.pod_start.as_secs()).unwrap_or(4);
        let node = node_for(name(&pod));
        if str_at(&pod, "/spec/nodeName").is_empty() {
            // The scheduler's binding: the pod is placed on a node before it starts.
            super::util::modify(cluster, ids::POD, &pod, |p| p["spec"]["nodeName"] = json!(node));
        }
        let previous = &pod["status"];
        let started_at =
            previous["startTime"].as_str().map_or_else(|| stamp.clone(), str::to_owned);
        let fault = |f| cluster.faults.has(f, &ns, &workload);
        let was_ready = super::replicasets::is_ready(&pod);

        let status = if age < start {
            pending(&pod, &node, &started_at, "ContainerCreating", "")
        } else if fault(WorkloadFault::ImageNeverPulls) && !was_ready {
            let image = str_at(&pod, "/spec/containers/0/image").to_owned();
            let reason = if (age / 10) % 2 == 0 { "ErrImagePull" } else { "ImagePullBackOff" };
            if previous["containerStatuses"][0]["state"]["waiting"]["reason"] != reason {
                events::record(cluster, &pod, ids::POD, true, "Failed",
                    &format!("Failed to pull image \"{image}\": rpc error: code = NotFound desc = manifest unknown"));
            }
            pending(
                &pod,
                &node,
                &started_at,
                reason,
                &format!("Back-off pulling image \"{image}\""),
            )
        } else if is_job {
            let backup = super::backups::is_backup(&pod);
            let mut runtime = i64::try_from(JOB_RUNTIME.as_secs()).unwrap_or(40);
            if backup {
                runtime = super::backups::runtime(cluster, &ns, runtime);
            }
            if age >= start + runtime {
                let (succeeded, code, message) = if backup {
                    super::backups::finish(cluster, &pod, &stamp)
                } else if super::backups::is_verify(&pod) {
                    super::backups::verify(cluster, &pod)
                } else if super::backups::is_restore(&pod) {
                    super::backups::restore(cluster, &pod)
                } else {
                    (true, 0, String::new())
                };
                finished(&pod, &node, &started_at, succeeded, code, &message, &stamp)
            } else {
                running(&pod, &node, &started_at, false, 0, None, &stamp)
            }
        } else if fault(WorkloadFault::CrashLoop) {
            let restarts = ((age - start) / CRASH_PERIOD).max(0) + 1;
            if int(&previous["containerStatuses"][0]["restartCount"]) != restarts {
                events::record(
                    cluster,
                    &pod,
                    ids::POD,
                    true,
                    "BackOff",
                    "Back-off restarting failed container",
                );
            }
            // The latest crash: the run that started at the previous restart, 3 s in.
            let crashed =
                born + chrono::Duration::seconds(start + (restarts - 1) * CRASH_PERIOD + 3);
            let crashed = crashed.min(now).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            let crash = Some(("CrashLoopBackOff", crashed.as_str()));
            running(&pod, &node, &started_at, false, restarts, crash, &stamp)
        } else if fault(WorkloadFault::NeverReady) && !was_ready {
            if previous["phase"] != "Running" {
                events::record(
                    cluster,
                    &pod,
                    ids::POD,
                    true,
                    "Unhealthy",
                    "Readiness probe failed: HTTP probe failed with statuscode: 503",
                );
            }
            running(&pod, &node, &started_at, false, 0, None, &stamp)
        } else {
            running(
                &pod,
                &node,
                &started_at,
                true,
                int(&previous["containerStatuses"][0]["restartCount"]),
                None,
                &stamp,
            )
        };
        let mut status = status;
        keep_times(&mut status, previous);
        keep_last_state(&mut status, previous);
        set_status(cluster, ids::POD, &pod, status);
    }
}

/// The workload a pod belongs to, as faults name it: its `app` label, else its name prefix.
fn workload_name(pod: &Value) -> String {
    pod["metadata"]["labels"]["app"]
        .as_str()
        .map_or_else(|| name(pod).rsplit_once('-').map_or("", |(p, _)| p).to_owned(), str::to_owned)
}

fn node_for(pod_name: &str) -> String {
    let n = pod_name.bytes().fold(0_u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    format!("sim-node-{}", n % 3 + 1)
}

fn pod_ip(pod_name: &str) -> String {
    let n = pod_name.bytes().fold(7_u32, |h, b| h.wrapping_mul(131).wrapping_add(u32::from(b)));
    format!("10.244.{}.{}", n % 3 + 1, n % 250 + 2)
}

fn container_statuses(pod: &Value, state: &Value, ready: bool, restarts: i64) -> Value {
    let containers = pod["spec"]["containers"].as_array().cloned().unwrap_or_default();
    json!(containers
        .iter()
        .map(|c| json!({
            "name": c["name"],
            "image": c["image"],
            "imageID": format!("{}@sha256:{}", str_at(c, "/image").split(':').next().unwrap_or(""), "5d0f0a5e".repeat(8)),
            "containerID": format!("containerd://{}", super::util::template_hash(c).repeat(6)),
            "ready": ready,
            "started": state.get("running").is_some(),
            "restartCount": restarts,
            "state": state,
        }))
        .collect::<Vec<_>>())
}

fn conditions(ready: bool, stamp: &str) -> Value {
    let flag = |b: bool| if b { "True" } else { "False" };
    json!([
        {"type": "Initialized", "status": "True", "lastTransitionTime": stamp},
        {"type": "Ready", "status": flag(ready), "lastTransitionTime": stamp},
        {"type": "ContainersReady", "status": flag(ready), "lastTransitionTime": stamp},
        {"type": "PodScheduled", "status": "True", "lastTransitionTime": stamp},
    ])
}

fn pending(pod: &Value, node: &str, started: &str, reason: &str, message: &str) -> Value {
    let mut waiting = json!({"reason": reason});
    if !message.is_empty() {
        waiting["message"] = json!(message);
    }
    json!({
        "phase": "Pending",
        "conditions": conditions(false, started),
        "hostIP": "10.0.0.1", "nodeName": node,
        "startTime": started,
        "containerStatuses": container_statuses(pod, &json!({"waiting": waiting}), false, 0),
        "qosClass": "Burstable",
    })
}

fn running(
    pod: &Value,
    node: &str,
    started: &str,
    ready: bool,
    restarts: i64,
    // The reason a container waits, and when its last run ended.
    waiting: Option<(&str, &str)>,
    stamp: &str,
) -> Value {
    let state = match waiting {
        Some((reason, _)) => {
            json!({"waiting": {"reason": reason, "message": "back-off restarting failed container"}})
        }
        None => json!({"running": {"startedAt": started}}),
    };
    let mut statuses = container_statuses(pod, &state, ready, restarts);
    if let Some((_, ended)) = waiting {
        if let Some(list) = statuses.as_array_mut() {
            for s in list {
                let id = s["containerID"].clone();
                s["lastState"] = json!({"terminated": {"exitCode": 1, "reason": "Error",
                    "startedAt": ended, "finishedAt": ended, "containerID": id}});
            }
        }
    }
    json!({
        "phase": "Running",
        "conditions": conditions(ready, stamp),
        "hostIP": "10.0.0.1", "nodeName": node, "podIP": pod_ip(super::util::name(pod)),
        "startTime": started,
        "containerStatuses": statuses,
        "qosClass": "Burstable",
    })
}

/// A finished container: its exit code and, when it wrote one, its termination message
/// (as the kubelet reports it, trimmed to 4 KB).
fn finished(
    pod: &Value,
    node: &str,
    started: &str,
    succeeded: bool,
    code: i32,
    message: &str,
    stamp: &str,
) -> Value {
    let mut state = json!({"terminated": {"exitCode": code, "reason": if succeeded { "Completed" } else { "Error" },
        "startedAt": started, "finishedAt": stamp}});
    if !message.is_empty() {
        let cut = message
            .char_indices()
            .take_while(|(i, _)| *i < 4096)
            .map(|(_, c)| c)
            .collect::<String>();
        state["terminated"]["message"] = json!(cut);
    }
    json!({
        "phase": if succeeded { "Succeeded" } else { "Failed" },
        "conditions": conditions(false, stamp),
        "hostIP": "10.0.0.1", "nodeName": node, "podIP": pod_ip(super::util::name(pod)),
        "startTime": started,
        "containerStatuses": container_statuses(pod, &state, false, 0),
        "qosClass": "Burstable",
    })
}

/// A container that restarted keeps its last run's end (`lastState`) as the kubelet
/// does, also once it runs again.
fn keep_last_state(status: &mut Value, previous: &Value) {
    let Some(new) = status["containerStatuses"].as_array_mut() else { return };
    for c in new {
        if c.get("lastState").is_some() || int(&c["restartCount"]) == 0 {
            continue;
        }
        let old = previous["containerStatuses"]
            .as_array()
            .and_then(|cs| cs.iter().find(|o| o["name"] == c["name"]));
        if let Some(last) = old.and_then(|o| o.get("lastState")) {
            c["lastState"] = last.clone();
        }
    }
}

/// Transition times move only when a condition's status changes.
fn keep_times(status: &mut Value, previous: &Value) {
    let Some(new) = status["conditions"].as_array_mut() else { return };
    for c in new {
        if let Some(old) = previous["conditions"]
            .as_array()
            .and_then(|cs| cs.iter().find(|o| o["type"] == c["type"]))
        {
            if old["status"] == c["status"] {
                c["lastTransitionTime"] = old["lastTransitionTime"].clone();
            }
        }
    }
}
