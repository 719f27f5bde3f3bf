//! The StatefulSet controller: pods `<name>-0..n-1` started in order (each after the
//! previous is ready), updated from the highest ordinal down on a template change.

use serde_json::json;

use super::replicasets::{create_pod, is_ready};
use super::util::{int, name, namespace, owned, set_status, template_hash, uid};
use crate::resources::ids;
use crate::Cluster;

pub fn reconcile(cluster: &Cluster) {
    let (sets, _) = cluster.store.list(ids::STATEFULSET, None);
    for sts in sets {
        let ns = namespace(&sts).to_owned();
        let want = int(&sts["spec"]["replicas"]);
        let revision = format!("{}-{}", name(&sts), template_hash(&sts["spec"]["template"]));
        let pods = owned(cluster, ids::POD, &ns, uid(&sts));
        let pod_at = |i: i64| pods.iter().find(|p| name(p) == format!("{}-{i}", name(&sts)));
        // Scale up in order: the next ordinal only when all before it are ready.
        for i in 0..want {
            match pod_at(i) {
                Some(p) if is_ready(p) => {}
                Some(_) => break,
                None => {
                    let mut template_owner = (*sts).clone();
                    template_owner["spec"]["template"]["metadata"]["labels"]
                        ["controller-revision-hash"] = json!(revision);
                    template_owner["spec"]["template"]["metadata"]["labels"]
                        ["statefulset.kubernetes.io/pod-name"] =
                        json!(format!("{}-{i}", name(&sts)));
                    create_pod(
                        cluster,
                        &template_owner,
                        ids::STATEFULSET,
                        &format!("{}-{i}", name(&sts)),
                    );
                    break;
                }
            }
        }
        // Scale down from the highest ordinal.
        for p in &pods {
            let ordinal: i64 = name(p).rsplit('-').next().and_then(|n| n.parse().ok()).unwrap_or(0);
            if ordinal >= want {
                let _ = cluster.store.delete(ids::POD, &ns, name(p));
            }
        }
        // Rolling update: replace the highest-ordinal outdated pod once all are ready.
        let all_ready = pods.iter().all(|p| is_ready(p));
        if all_ready {
            let outdated = pods
                .iter()
                .filter(|p| {
                    p["metadata"]["labels"]["controller-revision-hash"] != revision.as_str()
                })
                .max_by_key(|p| {
                    name(p).rsplit('-').next().and_then(|n| n.parse::<i64>().ok()).unwrap_or(0)
                });
            if let Some(p) = outdated {
                let _ = cluster.store.delete(ids::POD, &ns, name(p));
            }
        }
        let pods = owned(cluster, ids::POD, &ns, uid(&sts));
        let ready = pods.iter().filter(|p| is_ready(p)).count();
        let updated = pods
            .iter()
            .filter(|p| p["metadata"]["labels"]["controller-revision-hash"] == revision.as_str())
            .count();
        set_status(
            cluster,
            ids::STATEFULSET,
            &sts,
            json!({
                "observedGeneration": sts["metadata"]["generation"],
                "replicas": pods.len(),
                "readyReplicas": ready,
                "availableReplicas": ready,
                "currentReplicas": updated,
                "updatedReplicas": updated,
                "currentRevision": revision,
                "updateRevision": revision,
                "collisionCount": 0,
            }),
        );
    }
}
