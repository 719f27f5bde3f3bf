//! What the panel records of a cluster's history, read from the watch caches as plain
//! functions: each ReplicaSet revision of each Deployment, and each Argo CD history entry.

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, StatefulSet};
use serde_json::Value;

use crate::actions::plan::revision_of;

/// One revision of a workload, as its ReplicaSet shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObservedRevision {
    pub environment: String,
    pub workload: String,
    pub revision: i64,
    pub replicaset: String,
    pub template_hash: String,
    /// "container=image:tag", one per container.
    pub images: Vec<String>,
    pub change_cause: Option<String>,
    pub created_ms: i64,
    pub template: Value,
    /// Desired replicas, as the Deployment controller last wrote them on the ReplicaSet.
    pub replicas: Option<i32>,
}

impl ObservedRevision {
    /// What makes it the same observation again (the table's unique key).
    pub fn key(&self) -> (String, String, String, i64) {
        (self.environment.clone(), self.workload.clone(), self.replicaset.clone(), self.revision)
    }
}

/// One Argo CD history entry: a sync that completed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArgoEntry {
    pub environment: String,
    pub application: String,
    pub id: i64,
    pub revision: String,
    pub deployed_ms: i64,
    pub started_ms: Option<i64>,
    /// The person, or "automated sync".
    pub initiated_by: String,
}

impl ArgoEntry {
    pub fn key(&self) -> (String, String, i64) {
        (self.environment.clone(), self.application.clone(), self.id)
    }
}

fn millis(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text).ok().map(|t| t.timestamp_millis())
}

/// The revisions of `deployment`, one per ReplicaSet it owns that carries a revision.
pub fn revisions(
    environment: &str,
    deployment: &Deployment,
    replicasets: &[ReplicaSet],
) -> Vec<ObservedRevision> {
    let workload = deployment.metadata.name.clone().unwrap_or_default();
    replicasets
        .iter()
        .filter_map(|rs| {
            let revision = revision_of(&rs.metadata)?;
            let template = rs.spec.as_ref()?.template.clone()?;
            let images = images_of(&template);
            let labels = rs.metadata.labels.clone().unwrap_or_default();
            let annotations = rs.metadata.annotations.clone().unwrap_or_default();
            Some(ObservedRevision {
                environment: environment.to_owned(),
                workload: workload.clone(),
                revision,
                replicaset: rs.metadata.name.clone().unwrap_or_default(),
                template_hash: labels.get("pod-template-hash").cloned().unwrap_or_default(),
                images,
                change_cause: annotations.get("kubernetes.io/change-cause").cloned(),
                created_ms: rs
                    .metadata
                    .creation_timestamp
                    .as_ref()
                    .map_or(0, |t| t.0.as_millisecond()),
                template: serde_json::to_value(&template).unwrap_or_default(),
                replicas: annotations
                    .get("deployment.kubernetes.io/desired-replicas")
                    .and_then(|r| r.parse().ok()),
            })
        })
        .collect()
}

/// Where the rollout of a Deployment's current revision stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Progressing,
    /// Every replica runs the revision and is available, since `at_ms`.
    Completed {
        at_ms: i64,
    },
    /// Past its progress deadline since `at_ms`, in Kubernetes' words.
    Failed {
        at_ms: i64,
        reason: String,
    },
}

impl Outcome {
    /// As the history table stores it.
    pub fn word(&self) -> &'static str {
        match self {
            Outcome::Progressing => "progressing",
            Outcome::Completed { .. } => "completed",
            Outcome::Failed { .. } => "failed",
        }
    }
}

/// The outcome of one workload's current revision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RolloutSeen {
    pub environment: String,
    pub workload: String,
    /// Kubernetes' revision number (a Deployment's)…
    pub revision: Option<i64>,
    /// …or the revision's name (a StatefulSet's updateRevision), numbered by the record.
    pub name: Option<String>,
    pub outcome: Outcome,
    /// Whether the outcome's time is Kubernetes' own. When it is not (StatefulSets have no
    /// Progressing condition), a revision first seen finished gets no outcome: the panel
    /// cannot say how long it took.
    pub timed: bool,
}

/// A StatefulSet's revision, as its status names it (`updateRevision`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObservedSet {
    pub environment: String,
    pub workload: String,
    /// The revision's name, e.g. `redis-5d8f7c9b4`.
    pub name: String,
    pub images: Vec<String>,
    pub template: Value,
    pub replicas: Option<i32>,
}

impl ObservedSet {
    pub fn key(&self) -> (String, String) {
        (self.workload.clone(), self.name.clone())
    }
}

fn images_of(template: &k8s_openapi::api::core::v1::PodTemplateSpec) -> Vec<String> {
    template
        .spec
        .as_ref()
        .map(|s| {
            s.containers
                .iter()
                .map(|c| format!("{}={}", c.name, c.image.as_deref().unwrap_or("")))
                .collect()
        })
        .unwrap_or_default()
}

/// The StatefulSet's revision being rolled out (or in place), and how that stands: complete
/// when every replica is updated and ready and the current revision is the update's.
pub fn statefulset_revision(
    environment: &str,
    set: &StatefulSet,
    now_ms: i64,
) -> Option<(ObservedSet, RolloutSeen)> {
    use crate::status::model::Rollout;
    let status = set.status.as_ref()?;
    let name = status.update_revision.clone()?;
    let spec = set.spec.as_ref()?;
    let workload = set.metadata.name.clone().unwrap_or_default();
    let observed = status.observed_generation.unwrap_or(0) >= set.metadata.generation.unwrap_or(0);
    let settled = status.current_revision.as_deref() == Some(name.as_str());
    let outcome = match crate::status::derive::statefulset(set, &[]).rollout {
        Rollout::Complete if observed && settled => Outcome::Completed { at_ms: now_ms },
        _ => Outcome::Progressing,
    };
    Some((
        ObservedSet {
            environment: environment.to_owned(),
            workload: workload.clone(),
            name: name.clone(),
            images: images_of(&spec.template),
            template: serde_json::to_value(&spec.template).unwrap_or_default(),
            replicas: spec.replicas,
        },
        RolloutSeen {
            environment: environment.to_owned(),
            workload,
            revision: None,
            name: Some(name),
            outcome,
            timed: false,
        },
    ))
}

/// The Deployment's current revision and how its rollout stands; None while rollouts are
/// paused or before the controller has numbered a revision. Times come from the
/// Progressing condition (its lastUpdateTime is when the reason last changed), so a rollout
/// that finished while the panel was not looking still gets its own time; `now_ms` only
/// when the condition has none.
pub fn rollout(environment: &str, deployment: &Deployment, now_ms: i64) -> Option<RolloutSeen> {
    use crate::status::model::Rollout;
    let revision = revision_of(&deployment.metadata)?;
    let progressing = deployment
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "Progressing"));
    let at_ms = progressing
        .and_then(|c| c.last_update_time.as_ref().or(c.last_transition_time.as_ref()))
        .map_or(now_ms, |t| t.0.as_millisecond());
    let outcome = match crate::status::derive::deployment_rollout(deployment) {
        Rollout::Complete => Outcome::Completed { at_ms },
        Rollout::Stalled { reason } => Outcome::Failed { at_ms, reason },
        Rollout::Progressing { .. } => Outcome::Progressing,
        Rollout::Paused => return None,
    };
    Some(RolloutSeen {
        environment: environment.to_owned(),
        workload: deployment.metadata.name.clone().unwrap_or_default(),
        revision: Some(revision),
        name: None,
        outcome,
        timed: true,
    })
}

/// Who started an Argo CD operation: the person, or "automated sync".
fn initiated_by(by: &Value) -> String {
    if by["automated"] == true {
        "automated sync".to_owned()
    } else {
        by["username"].as_str().unwrap_or("unknown").to_owned()
    }
}

/// An Argo CD sync operation that ended Failed or Error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArgoFailure {
    pub environment: String,
    pub application: String,
    pub started_ms: i64,
    pub finished_ms: Option<i64>,
    pub phase: String,
    pub revision: String,
    pub message: String,
    pub initiated_by: String,
}

impl ArgoFailure {
    pub fn key(&self) -> (String, i64) {
        (self.application.clone(), self.started_ms)
    }
}

/// The Application's last operation, when it ended without success.
pub fn argo_failure(environment: &str, application: &Value) -> Option<ArgoFailure> {
    let state = &application["status"]["operationState"];
    let phase = state["phase"].as_str().filter(|p| matches!(*p, "Failed" | "Error"))?;
    let revision = state["syncResult"]["revision"]
        .as_str()
        .or_else(|| state["operation"]["sync"]["revision"].as_str())
        .unwrap_or_default();
    Some(ArgoFailure {
        environment: environment.to_owned(),
        application: application["metadata"]["name"].as_str().unwrap_or_default().to_owned(),
        started_ms: millis(state["startedAt"].as_str()?)?,
        finished_ms: state["finishedAt"].as_str().and_then(millis),
        phase: phase.to_owned(),
        revision: revision.to_owned(),
        message: state["message"].as_str().unwrap_or_default().to_owned(),
        initiated_by: initiated_by(&state["operation"]["initiatedBy"]),
    })
}

/// The Application's history entries (Argo CD keeps the last ten).
pub fn argo_entries(environment: &str, application: &Value) -> Vec<ArgoEntry> {
    let name = application["metadata"]["name"].as_str().unwrap_or_default();
    application["status"]["history"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .filter_map(|h| {
                    Some(ArgoEntry {
                        environment: environment.to_owned(),
                        application: name.to_owned(),
                        id: h["id"].as_i64()?,
                        revision: h["revision"].as_str().unwrap_or_default().to_owned(),
                        deployed_ms: millis(h["deployedAt"].as_str()?)?,
                        started_ms: h["deployStartedAt"].as_str().and_then(millis),
                        initiated_by: initiated_by(&h["initiatedBy"]),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn each_replica_set_with_a_revision_is_one_observation() {
        let deployment: Deployment =
            serde_json::from_value(json!({"metadata": {"name": "backend"}})).expect("a Deployment");
        let rs = |name: &str, revision: Option<&str>, image: &str| -> ReplicaSet {
            let mut annotations = json!({"kubernetes.io/change-cause": "release"});
            if let Some(r) = revision {
                annotations["deployment.kubernetes.io/revision"] = json!(r);
            }
            serde_json::from_value(json!({
                "metadata": {"name": name, "creationTimestamp": "2026-11-20T09:30:00Z",
                             "labels": {"pod-template-hash": "abc"}, "annotations": annotations},
                "spec": {"selector": {}, "template": {"spec": {"containers": [{"name": "backend", "image": image}]}}},
            }))
            .expect("a ReplicaSet")
        };
        let seen = revisions(
            "prod",
            &deployment,
            &[
                rs("backend-1", Some("1"), "reg/backend:1.8.2"),
                rs("backend-x", None, "reg/backend:0"),
            ],
        );
        assert_eq!(seen.len(), 1, "a ReplicaSet without a revision is not one");
        let r = &seen[0];
        assert_eq!(
            (r.workload.as_str(), r.revision, r.template_hash.as_str()),
            ("backend", 1, "abc")
        );
        assert_eq!(r.images, ["backend=reg/backend:1.8.2"]);
        assert_eq!(r.change_cause.as_deref(), Some("release"));
        assert_eq!(r.created_ms, 1_795_167_000_000);
    }

    #[test]
    fn argo_history_entries_name_who_started_them() {
        let app = json!({"metadata": {"name": "co2-prod"}, "status": {"history": [
            {"id": 1, "revision": "9e8d", "deployedAt": "2026-11-20T09:30:00Z", "initiatedBy": {"username": "alice"}},
            {"id": 2, "revision": "a1b2", "deployedAt": "2026-11-21T09:30:00Z",
             "deployStartedAt": "2026-11-21T09:29:50Z", "initiatedBy": {"automated": true}},
            {"revision": "no id"},
        ]}});
        let entries = argo_entries("prod", &app);
        assert_eq!(entries.len(), 2);
        assert_eq!((entries[0].id, entries[0].initiated_by.as_str()), (1, "alice"));
        assert_eq!(entries[1].initiated_by, "automated sync");
        assert_eq!(entries[1].started_ms, Some(entries[1].deployed_ms - 10_000));
    }

    fn deployment(paused: bool, status: &serde_json::Value) -> Deployment {
        serde_json::from_value(json!({
            "metadata": {"name": "backend", "generation": 4,
                         "annotations": {"deployment.kubernetes.io/revision": "7"}},
            "spec": {"replicas": 3, "paused": paused, "selector": {}, "template": {}},
            "status": status,
        }))
        .expect("a Deployment")
    }

    fn progressing(reason: &str, status: &str) -> serde_json::Value {
        json!({"type": "Progressing", "status": status, "reason": reason, "message": "ReplicaSet \"backend-7\" has timed out progressing.",
               "lastUpdateTime": "2026-11-20T09:31:15Z", "lastTransitionTime": "2026-11-20T09:30:00Z"})
    }

    #[test]
    fn a_rollout_is_complete_failed_or_under_way_with_the_time_kubernetes_gives() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-20T09:31:15Z")
            .expect("time")
            .timestamp_millis();
        let done = deployment(
            false,
            &json!({"observedGeneration": 4, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 3,
            "conditions": [progressing("NewReplicaSetAvailable", "True")]}),
        );
        let seen = rollout("prod", &done, 1).expect("an outcome");
        assert_eq!((seen.workload.as_str(), seen.revision, seen.timed), ("backend", Some(7), true));
        assert_eq!(seen.outcome, Outcome::Completed { at_ms: at });

        let stalled = deployment(
            false,
            &json!({"observedGeneration": 4, "replicas": 4, "updatedReplicas": 1, "availableReplicas": 3,
            "conditions": [progressing("ProgressDeadlineExceeded", "False")]}),
        );
        let Some(RolloutSeen { outcome: Outcome::Failed { at_ms, reason }, .. }) =
            rollout("prod", &stalled, 1)
        else {
            panic!("a failed rollout")
        };
        assert_eq!(
            (at_ms, reason.as_str()),
            (at, "ReplicaSet \"backend-7\" has timed out progressing.")
        );

        let moving = deployment(
            false,
            &json!({"observedGeneration": 4, "replicas": 4, "updatedReplicas": 2, "availableReplicas": 3,
            "conditions": [progressing("ReplicaSetUpdated", "True")]}),
        );
        assert_eq!(rollout("prod", &moving, 1).map(|s| s.outcome), Some(Outcome::Progressing));
        // Complete without a condition (a controller that writes none): the panel's time.
        let bare = deployment(
            false,
            &json!({"observedGeneration": 4, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 3}),
        );
        assert_eq!(
            rollout("prod", &bare, 42).map(|s| s.outcome),
            Some(Outcome::Completed { at_ms: 42 })
        );
        assert_eq!(
            rollout("prod", &deployment(true, &json!({})), 1),
            None,
            "paused: nothing to say"
        );
    }
}
