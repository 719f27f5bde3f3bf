//! The Deployment controller, as its effects are seen from outside: ReplicaSets per
//! template with revision numbers (reused on rollback, with revision-history), rolling
//! updates bounded by maxSurge/maxUnavailable, status counts and the Available and
//! Progressing conditions (ProgressDeadlineExceeded when a rollout stalls), and pruning
//! of old ReplicaSets beyond revisionHistoryLimit.

use std::sync::Arc;

use serde_json::{json, Value};

use super::events;
use super::util::{
    bare_template, condition, created, int, int_or_percent, modify, name, namespace, owned,
    owner_reference, parse_time, set_status, template_hash, uid,
};
use crate::admission;
use crate::resources::ids;
use crate::store::str_at;
use crate::Cluster;

const REVISION: &str = "deployment.kubernetes.io/revision";
const REVISION_HISTORY: &str = "deployment.kubernetes.io/revision-history";

pub fn reconcile(cluster: &Cluster) {
    let (deployments, _) = cluster.store.list(ids::DEPLOYMENT, None);
    for deployment in deployments {
        reconcile_one(cluster, &deployment);
    }
}

fn revision(rs: &Value) -> i64 {
    str_at(rs, &format!("/metadata/annotations/{}", REVISION.replace('/', "~1")))
        .parse()
        .unwrap_or(0)
}

fn reconcile_one(cluster: &Cluster, deployment: &Arc<Value>) {
    let ns = namespace(deployment).to_owned();
    let mut sets = owned(cluster, ids::REPLICASET, &ns, uid(deployment));
    let template = bare_template(&deployment["spec"]["template"]);
    let max_revision = sets.iter().map(|rs| revision(rs)).max().unwrap_or(0);
    let current =
        sets.iter().find(|rs| bare_template(&rs["spec"]["template"]) == template).cloned();
    let new_rs = match current {
        Some(rs) if revision(&rs) == max_revision => rs,
        // An older template again (a rollback): its ReplicaSet becomes the newest revision.
        Some(rs) => {
            let Some(updated) = modify(cluster, ids::REPLICASET, &rs, |next| {
                let old = revision(&rs);
                let annotations = &mut next["metadata"]["annotations"];
                let history = annotations[REVISION_HISTORY].as_str().unwrap_or("").to_owned();
                let history =
                    if history.is_empty() { old.to_string() } else { format!("{history},{old}") };
                annotations[REVISION_HISTORY] = json!(history);
                annotations[REVISION] = json!((max_revision + 1).to_string());
            }) else {
                return;
            };
            updated
        }
        None => match create_replica_set(cluster, deployment, max_revision + 1) {
            Some(rs) => rs,
            None => return,
        },
    };
    sets.retain(|rs| uid(rs) != uid(&new_rs));
    let new_revision = revision(&new_rs).to_string();
    if str_at(deployment, &format!("/metadata/annotations/{}", REVISION.replace('/', "~1")))
        != new_revision
    {
        modify(cluster, ids::DEPLOYMENT, deployment, |next| {
            next["metadata"]["annotations"][REVISION] = json!(new_revision);
        });
    }
    if deployment["spec"]["paused"] != true {
        roll(cluster, deployment, &new_rs, &sets);
    }
    prune(cluster, deployment, &sets);
    // Re-read what the steps above wrote before computing status.
    let sets_now = owned(cluster, ids::REPLICASET, &ns, uid(deployment));
    update_status(cluster, deployment, &new_rs, &sets_now);
}

fn create_replica_set(cluster: &Cluster, deployment: &Value, revision: i64) -> Option<Arc<Value>> {
    let mut template = deployment["spec"]["template"].clone();
    let hash = template_hash(&template);
    template["metadata"]["labels"]["pod-template-hash"] = json!(hash);
    let mut selector = deployment["spec"]["selector"].clone();
    selector["matchLabels"]["pod-template-hash"] = json!(hash);
    let mut annotations = json!({
        REVISION: revision.to_string(),
        "deployment.kubernetes.io/desired-replicas": int(&deployment["spec"]["replicas"]).to_string(),
    });
    if let Some(cause) =
        deployment["metadata"]["annotations"]["kubernetes.io/change-cause"].as_str()
    {
        annotations["kubernetes.io/change-cause"] = json!(cause);
    }
    let rs = json!({
        "metadata": {
            "name": format!("{}-{hash}", name(deployment)),
            "namespace": namespace(deployment),
            "labels": template["metadata"]["labels"],
            "annotations": annotations,
            "ownerReferences": owner_reference(deployment, ids::DEPLOYMENT),
        },
        "spec": {"replicas": 0, "selector": selector, "template": template},
    });
    let rs = admission::prepare_create(ids::REPLICASET, namespace(deployment), rs).ok()?;
    let created = cluster.store.create(ids::REPLICASET, rs).ok()?;
    events::record(
        cluster,
        deployment,
        ids::DEPLOYMENT,
        false,
        "ScalingReplicaSet",
        &format!("Created new replica set \"{}\"", name(&created)),
    );
    Some(created)
}

fn scale(cluster: &Cluster, deployment: &Value, rs: &Value, replicas: i64) {
    let from = int(&rs["spec"]["replicas"]);
    if from == replicas {
        return;
    }
    modify(cluster, ids::REPLICASET, rs, |next| {
        next["spec"]["replicas"] = json!(replicas);
        next["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] =
            json!(int(&deployment["spec"]["replicas"]).to_string());
    });
    let verb = if replicas > from { "up" } else { "down" };
    events::record(
        cluster,
        deployment,
        ids::DEPLOYMENT,
        false,
        "ScalingReplicaSet",
        &format!("Scaled {verb} replica set {} from {from} to {replicas}", name(rs)),
    );
}

fn roll(cluster: &Cluster, deployment: &Value, new_rs: &Value, old: &[Arc<Value>]) {
    let desired = int(&deployment["spec"]["replicas"]);
    let strategy = &deployment["spec"]["strategy"];
    if strategy["type"] == "Recreate" {
        let old_running: i64 = old.iter().map(|rs| int(&rs["status"]["replicas"])).sum();
        for rs in old {
            scale(cluster, deployment, rs, 0);
        }
        if old_running == 0 {
            scale(cluster, deployment, new_rs, desired);
        }
        return;
    }
    let surge = int_or_percent(&strategy["rollingUpdate"]["maxSurge"], desired, true);
    let mut unavailable =
        int_or_percent(&strategy["rollingUpdate"]["maxUnavailable"], desired, false);
    if surge == 0 && unavailable == 0 {
        unavailable = 1;
    }
    let old_active: Vec<&Arc<Value>> =
        old.iter().filter(|rs| int(&rs["spec"]["replicas"]) > 0).collect();
    if old_active.is_empty() {
        // Not rolling: follow scale changes directly.
        scale(cluster, deployment, new_rs, desired);
        return;
    }
    let total: i64 = int(&new_rs["spec"]["replicas"])
        + old_active.iter().map(|rs| int(&rs["spec"]["replicas"])).sum::<i64>();
    let new_target =
        (int(&new_rs["spec"]["replicas"]) + (desired + surge - total).max(0)).min(desired);
    scale(cluster, deployment, new_rs, new_target);

    let available: i64 = int(&new_rs["status"]["availableReplicas"])
        + old_active.iter().map(|rs| int(&rs["status"]["availableReplicas"])).sum::<i64>();
    let min_available = desired - unavailable;
    let mut budget = (available - min_available).max(0);
    // Oldest revisions first, and unavailable old pods can go without touching the budget.
    let mut ordered = old_active.clone();
    ordered.sort_by_key(|rs| revision(rs));
    for rs in ordered {
        let replicas = int(&rs["spec"]["replicas"]);
        let unhealthy = (replicas - int(&rs["status"]["availableReplicas"])).max(0);
        let removable = (unhealthy + budget).min(replicas);
        if removable > 0 {
            budget -= (removable - unhealthy).max(0);
            scale(cluster, deployment, rs, replicas - removable);
        }
    }
}

fn prune(cluster: &Cluster, deployment: &Value, old: &[Arc<Value>]) {
    let limit = deployment["spec"]["revisionHistoryLimit"].as_i64().unwrap_or(10);
    let mut idle: Vec<&Arc<Value>> = old
        .iter()
        .filter(|rs| int(&rs["spec"]["replicas"]) == 0 && int(&rs["status"]["replicas"]) == 0)
        .collect();
    let excess = i64::try_from(idle.len()).unwrap_or(0) - limit;
    if excess <= 0 {
        return;
    }
    idle.sort_by_key(|rs| revision(rs));
    for rs in idle.into_iter().take(usize::try_from(excess).unwrap_or(0)) {
        let _ = cluster.store.delete(ids::REPLICASET, namespace(rs), name(rs));
    }
}

fn update_status(cluster: &Cluster, deployment: &Value, new_rs: &Value, sets: &[Arc<Value>]) {
    let desired = int(&deployment["spec"]["replicas"]);
    let new_now = sets
        .iter()
        .find(|rs| uid(rs) == uid(new_rs))
        .map_or_else(|| new_rs.clone(), |rs| (**rs).clone());
    let sum = |field: &str| sets.iter().map(|rs| int(&rs["status"][field])).sum::<i64>();
    let replicas = sum("replicas");
    let ready = sum("readyReplicas");
    let available = sum("availableReplicas");
    let updated = int(&new_now["status"]["replicas"]);
    let new_available = int(&new_now["status"]["availableReplicas"]);
    let strategy = &deployment["spec"]["strategy"]["rollingUpdate"];
    let max_unavailable = int_or_percent(&strategy["maxUnavailable"], desired, false);
    let now = cluster.clock().timestamp();
    let previous = &deployment["status"]["conditions"];
    let complete = updated == desired && new_available == desired && replicas == desired;

    let available_condition = if available >= desired - max_unavailable {
        condition(
            "Available",
            true,
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
            &now,
            previous,
        )
    } else {
        condition(
            "Available",
            false,
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
            &now,
            previous,
        )
    };
    let rs_name = name(&new_now);
    let deadline = deployment["spec"]["progressDeadlineSeconds"].as_i64().unwrap_or(600);
    let old_progress =
        previous.as_array().and_then(|cs| cs.iter().find(|c| c["type"] == "Progressing")).cloned();
    // Progress = any count moved since the last status this controller wrote.
    let old = &deployment["status"];
    let progressed = [
        int(&old["updatedReplicas"]),
        int(&old["readyReplicas"]),
        int(&old["availableReplicas"]),
        int(&old["replicas"]),
    ] != [updated, ready, available, replicas];
    let progressing = if complete {
        condition(
            "Progressing",
            true,
            "NewReplicaSetAvailable",
            &format!("ReplicaSet \"{rs_name}\" has successfully progressed."),
            &now,
            previous,
        )
    } else {
        let last_progress = old_progress
            .as_ref()
            .filter(|c| c["reason"] == "ReplicaSetUpdated" && !progressed)
            .and_then(|c| parse_time(c["lastUpdateTime"].as_str().unwrap_or("")))
            .or_else(|| created(&new_now));
        let stalled = old_progress
            .as_ref()
            .is_some_and(|c| c["reason"] == "ProgressDeadlineExceeded")
            || last_progress.is_some_and(|t| (cluster.clock().now() - t).num_seconds() > deadline);
        if stalled && !progressed {
            condition(
                "Progressing",
                false,
                "ProgressDeadlineExceeded",
                &format!("ReplicaSet \"{rs_name}\" has timed out progressing."),
                &now,
                previous,
            )
        } else {
            let mut c = condition(
                "Progressing",
                true,
                "ReplicaSetUpdated",
                &format!("ReplicaSet \"{rs_name}\" is progressing."),
                &now,
                previous,
            );
            if progressed {
                c["lastUpdateTime"] = json!(now);
            }
            c
        }
    };
    if progressing["reason"] == "ProgressDeadlineExceeded"
        && old_progress.as_ref().is_none_or(|c| c["reason"] != "ProgressDeadlineExceeded")
    {
        events::record(
            cluster,
            deployment,
            ids::DEPLOYMENT,
            true,
            "ProgressDeadlineExceeded",
            &format!("Deployment \"{}\" has timed out progressing.", name(deployment)),
        );
    }
    let mut status = json!({
        "observedGeneration": deployment["metadata"]["generation"],
        "replicas": replicas,
        "updatedReplicas": updated,
        "readyReplicas": ready,
        "availableReplicas": available,
        "conditions": [available_condition, progressing],
    });
    let unavailable = (desired - available).max(0);
    if unavailable > 0 {
        status["unavailableReplicas"] = json!(unavailable);
    }
    set_status(cluster, ids::DEPLOYMENT, deployment, status);
}
