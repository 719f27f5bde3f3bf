//! Argo CD, as the panel sees it through Application objects: a sync operation
//! (`.operation.sync`) runs, records `operationState` Running → Succeeded/Failed, applies
//! the Git revision's images to the destination namespace, appends to `status.history`
//! (ten kept) and clears `.operation`. Sync status compares the live images with Git;
//! automated applications sync by themselves when Git moves or (with selfHeal) the live
//! state drifts — which is what undoes a plain rollback.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use super::util::{int, modify, name, parse_time};
use crate::faults::WorkloadFault;
use crate::resources::ids;
use crate::store::str_at;
use crate::Cluster;

/// Simulated time a sync operation takes.
pub const SYNC_TIME: Duration = Duration::from_secs(6);
/// Argo CD keeps this many history entries per application.
const HISTORY_LIMIT: usize = 10;

/// Images per workload (Deployment name → image of its main container).
pub type Manifests = BTreeMap<String, String>;

/// The simulated Git repository behind the applications: branches and tags point at
/// commits, and each commit holds the images it deploys per application.
#[derive(Clone, Default)]
pub struct GitRepo {
    inner: Arc<Mutex<GitState>>,
}

#[derive(Default)]
struct GitState {
    /// (application, branch or tag) → commit.
    refs: HashMap<(String, String), String>,
    /// commit → manifests.
    commits: HashMap<String, Manifests>,
}

impl GitRepo {
    fn lock(&self) -> std::sync::MutexGuard<'_, GitState> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records `manifests` at `commit` and points `reference` of `application` at it.
    pub fn commit(&self, application: &str, reference: &str, commit: &str, manifests: Manifests) {
        let mut git = self.lock();
        git.commits.insert(commit.to_owned(), manifests);
        git.refs.insert((application.to_owned(), reference.to_owned()), commit.to_owned());
    }

    /// A new commit on `reference` that changes some images; returns its id.
    pub fn push(&self, application: &str, reference: &str, changes: &Manifests) -> Option<String> {
        let base = self.resolve(application, reference)?.1;
        let mut manifests = base;
        manifests.extend(changes.iter().map(|(k, v)| (k.clone(), v.clone())));
        let commit = format!("{:040x}", rand::random::<u128>());
        self.commit(application, reference, &commit, manifests);
        Some(commit)
    }

    /// A branch, tag or commit id → (commit, manifests).
    pub fn resolve(&self, application: &str, revision: &str) -> Option<(String, Manifests)> {
        let git = self.lock();
        let commit = git
            .refs
            .get(&(application.to_owned(), revision.to_owned()))
            .cloned()
            .unwrap_or_else(|| revision.to_owned());
        git.commits.get(&commit).map(|m| (commit, m.clone()))
    }
}

pub fn reconcile(cluster: &Cluster) {
    let (apps, _) = cluster.store.list(ids::APPLICATION, None);
    for app in apps {
        reconcile_one(cluster, &app);
    }
}

fn live_images(cluster: &Cluster, namespace: &str) -> Manifests {
    let (deployments, _) = cluster.store.list(ids::DEPLOYMENT, Some(namespace));
    deployments
        .iter()
        .map(|d| {
            (name(d).to_owned(), str_at(d, "/spec/template/spec/containers/0/image").to_owned())
        })
        .collect()
}

fn reconcile_one(cluster: &Cluster, app: &Arc<Value>) {
    let app_name = name(app).to_owned();
    let destination = str_at(app, "/spec/destination/namespace").to_owned();
    let target = str_at(app, "/spec/source/targetRevision").to_owned();
    let now = cluster.clock().now();
    let stamp = cluster.clock().timestamp();
    let operation = app.get("operation").cloned().filter(|o| !o.is_null());
    let state = &app["status"]["operationState"];
    let running = state["phase"] == "Running";

    // 1. Start a requested operation.
    if let Some(op) = &operation {
        if !running || state["operation"] != *op {
            modify(cluster, ids::APPLICATION, app, |next| {
                next["status"]["operationState"] = json!({
                    "operation": op, "phase": "Running", "message": "one or more tasks are running",
                    "startedAt": stamp,
                });
            });
            return;
        }
    }
    // 2. Finish a running one.
    if running {
        let started = parse_time(str_at(state, "/startedAt")).unwrap_or(now);
        let took = chrono::Duration::from_std(SYNC_TIME).unwrap_or(chrono::Duration::seconds(6));
        if now - started >= took {
            finish(cluster, app, &app_name, &destination, &target, &stamp);
        }
        return;
    }
    // 3. Compare with Git; 4. automated sync; 5. health.
    let git = cluster.git.resolve(&app_name, &target);
    let live = live_images(cluster, &destination);
    let in_sync = git
        .as_ref()
        .is_some_and(|(_, wanted)| wanted.iter().all(|(w, image)| live.get(w) == Some(image)));
    let revision = git.as_ref().map(|(c, _)| c.clone()).unwrap_or_default();
    let automated = app["spec"]["syncPolicy"]["automated"].is_object();
    let self_heal = app["spec"]["syncPolicy"]["automated"]["selfHeal"] == true;
    let last_failed_same =
        state["phase"] == "Failed" && state["syncResult"]["revision"] == revision.as_str();
    let deployed = str_at(app, "/status/sync/revision") == revision;
    if automated
        && !in_sync
        && !revision.is_empty()
        && !last_failed_same
        && (!deployed || self_heal)
    {
        modify(cluster, ids::APPLICATION, app, |next| {
            next["operation"] = json!({
                "initiatedBy": {"automated": true},
                "sync": {"revision": revision, "prune": true},
                "retry": {"limit": 5},
            });
        });
        return;
    }
    let health = health(cluster, &destination);
    let sync_status = if in_sync { "Synced" } else { "OutOfSync" };
    let images: Vec<&String> = live.values().collect();
    let mut status = app["status"].clone();
    status["sync"]["status"] = json!(sync_status);
    status["sync"]["comparedTo"] =
        json!({"source": app["spec"]["source"], "destination": app["spec"]["destination"]});
    if !revision.is_empty() && status["sync"]["revision"].is_null() {
        status["sync"]["revision"] = json!(revision);
    }
    status["health"] = health;
    status["summary"]["images"] = json!(images);
    if status != app["status"] {
        modify(cluster, ids::APPLICATION, app, |next| next["status"] = status);
    }
}

fn finish(
    cluster: &Cluster,
    app: &Arc<Value>,
    app_name: &str,
    destination: &str,
    target: &str,
    stamp: &str,
) {
    let state = &app["status"]["operationState"];
    let op = state["operation"].clone();
    let requested =
        op["sync"]["revision"].as_str().filter(|r| !r.is_empty()).unwrap_or(target).to_owned();
    let resolved = cluster.git.resolve(app_name, &requested);
    let failing = cluster.faults.has(WorkloadFault::FailingSync, destination, "");
    let (phase, message, commit) = match (&resolved, failing) {
        (None, _) => ("Failed", format!("rpc error: unable to resolve '{requested}' to a commit SHA"), requested),
        (Some((commit, _)), true) => (
            "Failed",
            "one or more objects failed to apply, reason: admission webhook \"validate.kyverno.svc\" denied the request".to_owned(),
            commit.clone(),
        ),
        (Some((commit, manifests)), false) => {
            apply(cluster, destination, manifests);
            ("Succeeded", "successfully synced (all tasks run)".to_owned(), commit.clone())
        }
    };
    let started = state["startedAt"].clone();
    modify(cluster, ids::APPLICATION, app, |next| {
        next["status"]["operationState"] = json!({
            "operation": op, "phase": phase, "message": message,
            "startedAt": started, "finishedAt": stamp,
            "syncResult": {"revision": commit, "source": next["spec"]["source"]},
        });
        if phase == "Succeeded" {
            let mut history = next["status"]["history"].as_array().cloned().unwrap_or_default();
            let id = history.iter().map(|h| int(&h["id"])).max().unwrap_or(0) + 1;
            history.push(json!({
                "id": id, "revision": commit, "deployedAt": stamp, "deployStartedAt": started,
                "source": next["spec"]["source"], "initiatedBy": op["initiatedBy"],
            }));
            let excess = history.len().saturating_sub(HISTORY_LIMIT);
            history.drain(..excess);
            next["status"]["history"] = json!(history);
            next["status"]["sync"]["revision"] = json!(commit);
            next["status"]["sync"]["status"] = json!("Synced");
        }
        if let Some(o) = next.as_object_mut() {
            o.remove("operation");
        }
    });
}

/// Writes Git's images into the destination's Deployments (what `kubectl apply` of the
/// rendered manifests changes for these apps).
fn apply(cluster: &Cluster, namespace: &str, manifests: &Manifests) {
    for (workload, image) in manifests {
        let Ok(deployment) = cluster.store.get(ids::DEPLOYMENT, namespace, workload) else {
            continue;
        };
        if str_at(&deployment, "/spec/template/spec/containers/0/image") == image {
            continue;
        }
        let version = image.rsplit(':').next().unwrap_or("").to_owned();
        modify(cluster, ids::DEPLOYMENT, &deployment, |next| {
            next["spec"]["template"]["spec"]["containers"][0]["image"] = json!(image);
            if next["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/version"]
                .is_string()
            {
                next["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/version"] =
                    json!(version);
            }
            next["metadata"]["annotations"]["kubernetes.io/change-cause"] =
                json!(format!("argocd sync {workload} {version}"));
        });
    }
}

fn health(cluster: &Cluster, namespace: &str) -> Value {
    let (deployments, _) = cluster.store.list(ids::DEPLOYMENT, Some(namespace));
    let mut worst = ("Healthy", String::new());
    for d in &deployments {
        let conditions = d["status"]["conditions"].as_array().cloned().unwrap_or_default();
        let stalled = conditions.iter().any(|c| c["reason"] == "ProgressDeadlineExceeded");
        let desired = int(&d["spec"]["replicas"]);
        let settled = int(&d["status"]["updatedReplicas"]) == desired
            && int(&d["status"]["availableReplicas"]) == desired;
        if stalled {
            worst =
                ("Degraded", format!("Deployment \"{}\" exceeded its progress deadline", name(d)));
        } else if !settled && worst.0 == "Healthy" {
            worst = ("Progressing", format!("Waiting for rollout of \"{}\" to finish", name(d)));
        }
    }
    if worst.1.is_empty() {
        json!({"status": worst.0})
    } else {
        json!({"status": worst.0, "message": worst.1})
    }
}
