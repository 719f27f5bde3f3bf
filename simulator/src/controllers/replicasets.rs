//! The ReplicaSet controller: as many pods as `spec.replicas`, named after the set,
//! removing not-ready and newest pods first when scaling down.

use std::sync::Arc;

use serde_json::{json, Value};

use super::events;
use super::util::{int, name, namespace, owned, owner_reference, set_status, uid};
use crate::admission;
use crate::resources::ids;
use crate::store::str_at;
use crate::Cluster;

pub fn reconcile(cluster: &Cluster) {
    let (sets, _) = cluster.store.list(ids::REPLICASET, None);
    for rs in sets {
        let ns = namespace(&rs).to_owned();
        let mut pods = owned(cluster, ids::POD, &ns, uid(&rs));
        let want = int(&rs["spec"]["replicas"]);
        let have = i64::try_from(pods.len()).unwrap_or(0);
        for _ in have..want {
            if let Some(pod) = create_pod(
                cluster,
                &rs,
                ids::REPLICASET,
                &format!("{}-{}", name(&rs), admission::random_suffix(5)),
            ) {
                pods.push(pod);
            }
        }
        if have > want {
            pods.sort_by(|a, b| {
                let ready = |p: &Value| is_ready(p);
                ready(a).cmp(&ready(b)).then_with(|| {
                    str_at(b, "/metadata/creationTimestamp")
                        .cmp(str_at(a, "/metadata/creationTimestamp"))
                })
            });
            let excess = usize::try_from(have - want).unwrap_or(0);
            for pod in pods.drain(..excess) {
                let _ = cluster.store.delete(ids::POD, &ns, name(&pod));
                events::record(
                    cluster,
                    &rs,
                    ids::REPLICASET,
                    false,
                    "SuccessfulDelete",
                    &format!("Deleted pod: {}", name(&pod)),
                );
            }
        }
        let ready = pods.iter().filter(|p| is_ready(p)).count();
        set_status(
            cluster,
            ids::REPLICASET,
            &rs,
            json!({
                "replicas": pods.len(),
                "fullyLabeledReplicas": pods.len(),
                "readyReplicas": ready,
                "availableReplicas": ready,
                "observedGeneration": rs["metadata"]["generation"],
            }),
        );
    }
}

pub fn is_ready(pod: &Value) -> bool {
    pod["status"]["conditions"]
        .as_array()
        .is_some_and(|cs| cs.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
}

/// A pod from the owner's template, as a ReplicaSet, StatefulSet or Job controller makes it.
pub fn create_pod(
    cluster: &Cluster,
    owner: &Value,
    owner_resource: usize,
    pod_name: &str,
) -> Option<Arc<Value>> {
    let template = &owner["spec"]["template"];
    let pod = json!({
        "metadata": {
            "name": pod_name,
            "namespace": namespace(owner),
            "labels": template["metadata"]["labels"],
            "annotations": template["metadata"]["annotations"],
            "ownerReferences": owner_reference(owner, owner_resource),
        },
        "spec": template["spec"],
    });
    let pod = admission::prepare_create(ids::POD, namespace(owner), pod).ok()?;
    let created = cluster.store.create(ids::POD, pod).ok()?;
    events::record(
        cluster,
        owner,
        owner_resource,
        false,
        "SuccessfulCreate",
        &format!("Created pod: {pod_name}"),
    );
    Some(created)
}
