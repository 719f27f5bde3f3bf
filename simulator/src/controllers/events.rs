//! Kubernetes Events as controllers and kubelets write them: repeated ones are counted,
//! not duplicated, and old ones age out.

use serde_json::{json, Value};

use super::util::{name, namespace, uid};
use crate::admission;
use crate::resources::{ids, RESOURCES};
use crate::store::str_at;
use crate::Cluster;

/// Most events kept per namespace (the apiserver keeps them for an hour by default).
const KEEP: usize = 200;

pub fn record(
    cluster: &Cluster,
    involved: &Value,
    resource: usize,
    warning: bool,
    reason: &str,
    message: &str,
) {
    let ns = namespace(involved).to_owned();
    let now = cluster.clock().timestamp();
    let (existing, _) = cluster.store.list(ids::EVENT, Some(&ns));
    if let Some(same) = existing.iter().find(|e| {
        e["involvedObject"]["uid"] == uid(involved)
            && e["reason"] == reason
            && e["message"] == message
    }) {
        let _ = cluster.store.update(ids::EVENT, &ns, name(same), None, |current| {
            let mut next = current.clone();
            next["count"] = json!(current["count"].as_i64().unwrap_or(1) + 1);
            next["lastTimestamp"] = json!(now);
            Ok(next)
        });
        return;
    }
    let r = &RESOURCES[resource];
    let event = json!({
        "metadata": {"name": format!("{}.{}", name(involved), admission::random_suffix(10)), "namespace": ns},
        "involvedObject": {
            "kind": r.kind, "apiVersion": r.api_version(), "namespace": ns,
            "name": name(involved), "uid": uid(involved),
            "resourceVersion": str_at(involved, "/metadata/resourceVersion"),
        },
        "reason": reason,
        "message": message,
        "type": if warning { "Warning" } else { "Normal" },
        "count": 1,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "source": {"component": source(resource)},
        "reportingComponent": source(resource),
    });
    if let Ok(event) = admission::prepare_create(ids::EVENT, &ns, event) {
        let _ = cluster.store.create(ids::EVENT, event);
    }
    if existing.len() >= KEEP {
        let mut by_age: Vec<_> = existing.iter().collect();
        by_age.sort_by(|a, b| str_at(a, "/lastTimestamp").cmp(str_at(b, "/lastTimestamp")));
        for old in by_age.iter().take(existing.len() + 1 - KEEP) {
            let _ = cluster.store.delete(ids::EVENT, &ns, name(old));
        }
    }
}

fn source(resource: usize) -> &'static str {
    match resource {
        ids::POD => "kubelet",
        ids::DEPLOYMENT => "deployment-controller",
        ids::REPLICASET => "replicaset-controller",
        ids::STATEFULSET => "statefulset-controller",
        ids::JOB => "job-controller",
        ids::CRONJOB => "cronjob-controller",
        ids::HPA => "horizontal-pod-autoscaler",
        _ => "gantry-simulator",
    }
}
