//! Making a plan's change in the cluster, as kubectl and Argo CD do it (see the design's
//! "Cluster operations"): read the object fresh, check the plan still holds, write with
//! the resourceVersion just read as a precondition, and on a conflict (someone wrote in
//! between) read and check again.

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use kube::Client;
use serde_json::{json, Value};

use super::plan::{self, AppRef, Plan, Seen};
use crate::status::model::WorkloadKind;

/// How many times a write that met a conflict is re-read and tried again.
const ATTEMPTS: usize = 5;

/// The field manager Gantry's writes are recorded under.
const MANAGER: &str = "gantry";

/// How an execution ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Done: what was done, in words.
    Done(String),
    /// The target changed since the request: not run.
    Superseded(String),
    /// The cluster refused or could not be reached: the error in words.
    Failed(String),
}

/// Who runs the plan and why; recorded on what Gantry writes (Argo CD's `initiatedBy`, the
/// pinned state's annotations).
pub struct Context<'a> {
    pub namespace: &'a str,
    pub user_id: &'a str,
    pub name: &'a str,
    pub reason: &'a str,
    pub request_id: i64,
    /// When execution started (RFC 3339, seconds): a restart's restartedAt value.
    pub started_at: &'a str,
}

fn application_api(client: &Client, app: &AppRef) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), &app.namespace, &crate::cluster::application_resource())
}

/// Reads what `plan` acts on, fresh from the API.
pub async fn fetch(client: &Client, namespace: &str, plan: &Plan) -> Result<Seen, kube::Error> {
    let mut seen = Seen::default();
    match plan {
        Plan::Scale { kind, workload, .. } | Plan::Restart { kind, workload, .. } => match kind {
            WorkloadKind::Deployment => {
                seen.deployment = Api::<Deployment>::namespaced(client.clone(), namespace)
                    .get_opt(workload)
                    .await?;
            }
            WorkloadKind::StatefulSet => {
                seen.statefulset = Api::<StatefulSet>::namespaced(client.clone(), namespace)
                    .get_opt(workload)
                    .await?;
            }
        },
        Plan::ScaleAutoscaler { autoscaler, .. } => {
            seen.autoscaler = Api::<HorizontalPodAutoscaler>::namespaced(client.clone(), namespace)
                .get_opt(autoscaler)
                .await?;
        }
        Plan::Rollback { workload, pause_auto_sync, .. } => {
            let deployment =
                Api::<Deployment>::namespaced(client.clone(), namespace).get_opt(workload).await?;
            if let Some(d) = &deployment {
                seen.replicasets = replicasets_of(client, namespace, d).await?;
            }
            seen.deployment = deployment;
            if let Some(app) = pause_auto_sync {
                seen.application = read_application(client, app).await?;
            }
        }
        Plan::Sync { application, .. } | Plan::ResumeAutoSync { application, .. } => {
            seen.application = read_application(client, application).await?;
        }
        // Alertmanager's, read by `actions::silences`.
        Plan::Silence { .. } | Plan::ExpireSilence { .. } => {}
        Plan::Backup { cronjob } | Plan::RestoreCopy { template: cronjob, .. } => {
            return super::backup::fetch(client, namespace, cronjob).await
        }
        Plan::Restore(r) => {
            let mut seen = super::backup::fetch(client, namespace, &r.template).await?;
            let deployments = Api::<Deployment>::namespaced(client.clone(), namespace);
            for (workload, _) in &r.stop {
                if let Some(d) = deployments.get_opt(workload).await? {
                    let replicas = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
                    seen.workloads.push((workload.clone(), replicas));
                }
            }
            if let Some(app) = &r.pause_auto_sync {
                seen.application = read_application(client, app).await?;
            }
            return Ok(seen);
        }
    }
    Ok(seen)
}

async fn read_application(client: &Client, app: &AppRef) -> Result<Option<Value>, kube::Error> {
    let object = application_api(client, app).get_opt(&app.name).await?;
    Ok(object.and_then(|o| serde_json::to_value(o).ok()))
}

/// The Deployment's ReplicaSets, as `kubectl rollout undo` finds them: by its selector,
/// then by owner.
async fn replicasets_of(
    client: &Client,
    namespace: &str,
    deployment: &Deployment,
) -> Result<Vec<ReplicaSet>, kube::Error> {
    let selector = deployment
        .spec
        .as_ref()
        .and_then(|s| s.selector.match_labels.as_ref())
        .map(|labels| labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","))
        .unwrap_or_default();
    let list = Api::<ReplicaSet>::namespaced(client.clone(), namespace)
        .list(&ListParams::default().labels(&selector))
        .await?;
    let uid = deployment.metadata.uid.as_deref();
    Ok(list
        .items
        .into_iter()
        .filter(|rs| {
            rs.metadata.owner_references.iter().flatten().any(|o| Some(o.uid.as_str()) == uid)
        })
        .collect())
}

/// The Kubernetes error in words a person can act on.
pub fn words(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) => {
            format!("Kubernetes refused it: {} ({} {})", status.message, status.code, status.reason)
        }
        other => format!("The Kubernetes API could not be reached: {other}"),
    }
}

/// Whether a refused write lost a race with another writer (then: read again, retry).
/// A 409 says so; a JSON patch whose `test` of the resourceVersion failed gets a 422 that
/// does not say why, so the object is read again: it moved on since `seen` → a race.
async fn lost_race(
    client: &Client,
    namespace: &str,
    plan: &Plan,
    seen: &Seen,
    error: &kube::Error,
) -> bool {
    match error {
        kube::Error::Api(status) if status.code == 409 => true,
        kube::Error::Api(status) if status.code == 422 && matches!(plan, Plan::Rollback { .. }) => {
            let now = fetch(client, namespace, plan).await.ok();
            let version = |s: &Seen| s.deployment.as_ref().map(|d| resource_version(&d.metadata));
            now.is_some_and(|now| version(&now) != version(seen))
        }
        _ => false,
    }
}

fn resource_version(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> Value {
    json!(meta.resource_version.clone().unwrap_or_default())
}

fn app_version(app: &Value) -> Value {
    app["metadata"]["resourceVersion"].clone()
}

/// Runs `plan`: checks it still holds, writes, retries on conflicts.
pub async fn execute(client: &Client, plan: &Plan, cx: &Context<'_>) -> Outcome {
    for _ in 0..ATTEMPTS {
        let seen = match fetch(client, cx.namespace, plan).await {
            Ok(seen) => seen,
            Err(error) => return Outcome::Failed(words(&error)),
        };
        if let Err(changed) = plan.holds(&seen) {
            return Outcome::Superseded(changed);
        }
        match write(client, plan, &seen, cx).await {
            Ok(done) => return Outcome::Done(done),
            Err(Step::Refused(message)) => return Outcome::Failed(message),
            Err(Step::Kube(error)) => {
                if !lost_race(client, cx.namespace, plan, &seen, &error).await {
                    return Outcome::Failed(words(&error));
                }
                tracing::info!(request = cx.request_id, "conflict while writing; reading again");
            }
        }
    }
    Outcome::Failed(format!(
        "Kubernetes kept reporting conflicting changes ({ATTEMPTS} attempts): someone else is changing this object. Try again later."
    ))
}

pub(super) enum Step {
    Refused(String),
    Kube(kube::Error),
}

impl From<kube::Error> for Step {
    fn from(error: kube::Error) -> Self {
        Step::Kube(error)
    }
}

async fn write(
    client: &Client,
    plan: &Plan,
    seen: &Seen,
    cx: &Context<'_>,
) -> Result<String, Step> {
    let params = PatchParams { field_manager: Some(MANAGER.into()), ..PatchParams::default() };
    let ns = cx.namespace;
    match plan {
        Plan::Scale { kind, workload, from, to } => {
            let rv = workload_version(*kind, seen);
            let patch = Patch::Merge(
                json!({"metadata": {"resourceVersion": rv}, "spec": {"replicas": to}}),
            );
            patch_workload(client, ns, *kind, workload, true, &patch).await?;
            Ok(format!("{workload} scaled from {from} to {to} replicas"))
        }
        Plan::ScaleAutoscaler { autoscaler, to, .. } => {
            let rv =
                seen.autoscaler.as_ref().map(|h| resource_version(&h.metadata)).unwrap_or_default();
            let patch = Patch::Merge(json!({
                "metadata": {"resourceVersion": rv},
                "spec": {"minReplicas": to.min, "maxReplicas": to.max},
            }));
            Api::<HorizontalPodAutoscaler>::namespaced(client.clone(), ns)
                .patch(autoscaler, &params, &patch)
                .await?;
            Ok(format!(
                "the autoscaler {autoscaler} now keeps between {} and {} replicas",
                to.min, to.max
            ))
        }
        Plan::Restart { kind, workload, .. } => {
            // What `kubectl rollout restart` sends (a strategic merge patch of the
            // template annotation), guarded by the resourceVersion read.
            let rv = workload_version(*kind, seen);
            let patch = Patch::Strategic(json!({
                "metadata": {"resourceVersion": rv},
                "spec": {"template": {"metadata": {"annotations": {plan::RESTARTED_AT: cx.started_at}}}},
            }));
            patch_workload(client, ns, *kind, workload, false, &patch).await?;
            Ok(format!("{workload} is restarting: its pods are replaced one by one"))
        }
        Plan::Rollback { workload, to_revision, pause_auto_sync, .. } => {
            let mut paused = false;
            if let (Some(app), Some(object)) = (pause_auto_sync, &seen.application) {
                // Pause first: with auto-sync on, Argo CD would put Git's version back.
                if plan::auto_sync(object) {
                    pause(client, app, object, cx).await?;
                    paused = true;
                } else {
                    // Paused by this request on an attempt that then met a conflict.
                    let mine = object["metadata"]["annotations"][plan::PAUSED_REQUEST]
                        == cx.request_id.to_string().as_str();
                    paused = mine;
                }
            }
            let deployment = seen
                .deployment
                .as_ref()
                .ok_or_else(|| Step::Refused(format!("{workload} no longer exists")))?;
            let rs =
                plan::replicaset_of_revision(&seen.replicasets, *to_revision).ok_or_else(|| {
                    Step::Refused(format!("revision {to_revision} of {workload} no longer exists"))
                })?;
            let template = plan::template_for_rollback(rs).ok_or_else(|| {
                Step::Refused(format!("revision {to_revision} has no pod template"))
            })?;
            let patch = rollback_patch(deployment, rs, &template)?;
            Api::<Deployment>::namespaced(client.clone(), ns)
                .patch(workload, &params, &Patch::Json::<()>(patch))
                .await?;
            let mut done = format!("{workload} is rolling back to revision {to_revision}");
            if paused {
                done.push_str("; Argo CD auto-sync is paused (pinned) until someone resumes it");
            }
            Ok(done)
        }
        Plan::Sync { application, target, .. } => {
            let app = seen
                .application
                .as_ref()
                .ok_or_else(|| Step::Refused(format!("{} no longer exists", application.name)))?;
            if let Some(running) = plan::operation_running(app) {
                return Err(Step::Refused(format!(
                    "Argo CD is busy with {}: {running}.",
                    application.name
                )));
            }
            // What Argo CD's own sync sets, merged (the CRD takes no strategic patch),
            // guarded by the resourceVersion read so a concurrent operation is not lost.
            let patch = Patch::Merge(json!({
                "metadata": {"resourceVersion": app_version(app)},
                "operation": {
                    "sync": {"revision": target, "syncStrategy": {"hook": {}}},
                    "initiatedBy": {"username": format!("{} ({}) via Gantry", cx.name, cx.user_id)},
                    "info": [
                        {"name": "Reason", "value": cx.reason},
                        {"name": plan::INFO_REQUEST, "value": cx.request_id.to_string()},
                    ],
                },
            }));
            application_api(client, application).patch(&application.name, &params, &patch).await?;
            Ok(format!("Argo CD is syncing {} to {target}", application.name))
        }
        Plan::ResumeAutoSync { application, .. } => {
            let app = seen
                .application
                .as_ref()
                .ok_or_else(|| Step::Refused(format!("{} no longer exists", application.name)))?;
            let saved = app["metadata"]["annotations"][plan::PAUSED_POLICY]
                .as_str()
                .and_then(|s| serde_json::from_str::<Value>(s).ok())
                .filter(Value::is_object)
                .unwrap_or_else(|| json!({}));
            let cleared: serde_json::Map<String, Value> = [
                plan::PAUSED_BY,
                plan::PAUSED_AT,
                plan::PAUSED_REASON,
                plan::PAUSED_REQUEST,
                plan::PAUSED_POLICY,
            ]
            .iter()
            .map(|k| ((*k).to_owned(), Value::Null))
            .collect();
            let patch = Patch::Merge(json!({
                "metadata": {"resourceVersion": app_version(app), "annotations": cleared},
                "spec": {"syncPolicy": {"automated": saved}},
            }));
            application_api(client, application).patch(&application.name, &params, &patch).await?;
            Ok(format!("Argo CD auto-sync of {} is on again", application.name))
        }
        Plan::Silence { .. } | Plan::ExpireSilence { .. } => {
            Err(Step::Refused("a silence is made in Alertmanager, not in the cluster".into()))
        }
        Plan::Restore(_) => Err(Step::Refused(
            "a restore in place runs step by step (actions::restore), not as one write".into(),
        )),
        Plan::Backup { cronjob } => {
            let asker =
                super::backup::Asker { namespace: ns, request_id: cx.request_id, name: cx.name };
            super::backup::run(client, seen, &asker, "backup", &[])
                .await?
                .ok_or_else(|| Step::Refused(format!("the CronJob {cronjob} no longer exists")))
        }
        Plan::RestoreCopy { template, file, sha256, copy, .. } => {
            let asker =
                super::backup::Asker { namespace: ns, request_id: cx.request_id, name: cx.name };
            let settings = [
                ("BACKUP_FILE", file.clone()),
                ("EXPECTED_SHA256", sha256.clone()),
                ("RESTORE_COPY", copy.clone()),
            ];
            super::backup::run(client, seen, &asker, "restore", &settings)
                .await?
                .ok_or_else(|| Step::Refused(format!("the CronJob {template} no longer exists")))
        }
    }
}

/// The resourceVersion of the workload read, as the precondition of a write.
fn workload_version(kind: WorkloadKind, seen: &Seen) -> Value {
    let meta = match kind {
        WorkloadKind::Deployment => seen.deployment.as_ref().map(|d| &d.metadata),
        WorkloadKind::StatefulSet => seen.statefulset.as_ref().map(|s| &s.metadata),
    };
    meta.map(resource_version).unwrap_or_default()
}

/// Patches a Deployment or StatefulSet, or (`scale`) its scale subresource.
pub(super) async fn patch_workload(
    client: &Client,
    namespace: &str,
    kind: WorkloadKind,
    name: &str,
    scale: bool,
    patch: &Patch<Value>,
) -> Result<(), kube::Error> {
    let params = PatchParams { field_manager: Some(MANAGER.into()), ..PatchParams::default() };
    match (kind, scale) {
        (WorkloadKind::Deployment, true) => {
            Api::<Deployment>::namespaced(client.clone(), namespace)
                .patch_scale(name, &params, patch)
                .await?;
        }
        (WorkloadKind::Deployment, false) => {
            Api::<Deployment>::namespaced(client.clone(), namespace)
                .patch(name, &params, patch)
                .await?;
        }
        (WorkloadKind::StatefulSet, true) => {
            Api::<StatefulSet>::namespaced(client.clone(), namespace)
                .patch_scale(name, &params, patch)
                .await?;
        }
        (WorkloadKind::StatefulSet, false) => {
            Api::<StatefulSet>::namespaced(client.clone(), namespace)
                .patch(name, &params, patch)
                .await?;
        }
    }
    Ok(())
}

/// Turns the application's auto-sync off and says so on the application itself: by whom,
/// when, why, and what the policy was (restored on resume).
pub(super) async fn pause(
    client: &Client,
    app: &AppRef,
    object: &Value,
    cx: &Context<'_>,
) -> Result<(), Step> {
    let policy = object["spec"]["syncPolicy"]["automated"].to_string();
    let patch = Patch::Merge(json!({
        "metadata": {
            "resourceVersion": app_version(object),
            "annotations": {
                plan::PAUSED_BY: format!("{} ({})", cx.name, cx.user_id),
                plan::PAUSED_AT: cx.started_at,
                plan::PAUSED_REASON: cx.reason,
                plan::PAUSED_REQUEST: cx.request_id.to_string(),
                plan::PAUSED_POLICY: policy,
            },
        },
        "spec": {"syncPolicy": {"automated": null}},
    }));
    let params = PatchParams { field_manager: Some(MANAGER.into()), ..PatchParams::default() };
    application_api(client, app).patch(&app.name, &params, &patch).await?;
    Ok(())
}

/// The annotations `kubectl rollout undo` leaves on the Deployment are the revision's own
/// plus these of the Deployment's, which describe the Deployment itself.
const KEPT_ANNOTATIONS: [&str; 6] = [
    "kubectl.kubernetes.io/last-applied-configuration",
    "deployment.kubernetes.io/revision",
    "deployment.kubernetes.io/revision-history",
    "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas",
    "deprecated.deployment.rollback.to",
];

/// The JSON patch `kubectl rollout undo --to-revision` sends, preceded by a test of the
/// resourceVersion read (so a change in between is a conflict, not overwritten).
fn rollback_patch(
    deployment: &Deployment,
    rs: &ReplicaSet,
    template: &k8s_openapi::api::core::v1::PodTemplateSpec,
) -> Result<json_patch::Patch, Step> {
    let mut annotations = serde_json::Map::new();
    let own = deployment.metadata.annotations.clone().unwrap_or_default();
    for key in KEPT_ANNOTATIONS {
        if let Some(v) = own.get(key) {
            annotations.insert(key.to_owned(), json!(v));
        }
    }
    for (k, v) in rs.metadata.annotations.iter().flatten() {
        if !KEPT_ANNOTATIONS.contains(&k.as_str()) {
            annotations.insert(k.clone(), json!(v));
        }
    }
    let operations = json!([
        {"op": "test", "path": "/metadata/resourceVersion", "value": resource_version(&deployment.metadata)},
        {"op": "replace", "path": "/spec/template", "value": template},
        {"op": "add", "path": "/metadata/annotations", "value": annotations},
    ]);
    serde_json::from_value(operations)
        .map_err(|e| Step::Refused(format!("cannot build the rollback patch: {e}")))
}
