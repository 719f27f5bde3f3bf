//! Watch caches per environment (server side): one kube-rs reflector per kind, kept up to
//! date by watches, so pages read memory and never call the Kubernetes API. Each cache
//! knows whether it has synced once and since when it has been failing (stale).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Event, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DynamicObject};
use kube::discovery::ApiResource;
use kube::runtime::reflector::{self, Store};
use kube::runtime::watcher;
use kube::{Client, Resource};
use serde::de::DeserializeOwned;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use reconnect::{CappedBackoff, Reconnect, MAX_RETRY};

pub mod live;
pub mod reconnect;
mod view;

/// Which environment to watch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchTarget {
    pub name: String,
    pub namespace: String,
    /// Argo CD application (namespace, name), when the environment has one.
    pub application: Option<(String, String)>,
}

/// How long a failed watch's retry may take to fail in turn.
const RETRY_MARGIN: Duration = Duration::from_secs(2);

/// How the watches of one environment are doing.
/// A kind whose watch fails: since when, the latest failure, and what it said.
struct Failing {
    kind: &'static str,
    since: DateTime<Utc>,
    latest: DateTime<Utc>,
    error: String,
}

#[derive(Default)]
struct Freshness {
    /// Kinds whose first list has completed.
    synced: Vec<&'static str>,
    /// Kinds whose watch has failed: (kind, first failure, latest failure).
    failing: Vec<Failing>,
    /// Kinds whose first attempt has ended, listed or failed.
    attempted: Vec<&'static str>,
}

impl Freshness {
    /// Forgets failures not repeated for longer than a retry takes: the retry worked.
    fn settle(&mut self, now: DateTime<Utc>) {
        // The next retry comes at most MAX_RETRY after a failure; the margin lets that
        // request itself fail (a slow API) before the kind counts as fresh.
        let quiet = chrono::Duration::from_std(MAX_RETRY + RETRY_MARGIN)
            .unwrap_or(chrono::Duration::seconds(5));
        self.failing.retain(|f| now - f.latest < quiet);
    }
}

pub struct EnvironmentWatch {
    target: WatchTarget,
    /// The client the watches use; actions on this environment use it too.
    client: Client,
    deployments: Store<Deployment>,
    statefulsets: Store<StatefulSet>,
    replicasets: Store<ReplicaSet>,
    pods: Store<Pod>,
    autoscalers: Store<HorizontalPodAutoscaler>,
    cronjobs: Store<CronJob>,
    jobs: Store<Job>,
    events: Store<Event>,
    applications: Store<DynamicObject>,
    freshness: Arc<Mutex<Freshness>>,
    /// Woken on every change any watch sees (and on failures): the live view re-derives.
    changed: Arc<Notify>,
    tasks: Vec<JoinHandle<()>>,
}

/// How many kinds each environment watches (one watch each).
pub const KINDS: usize = 9;

pub fn application_resource() -> ApiResource {
    ApiResource {
        group: "argoproj.io".into(),
        version: "v1alpha1".into(),
        api_version: "argoproj.io/v1alpha1".into(),
        kind: "Application".into(),
        plural: "applications".into(),
    }
}

impl EnvironmentWatch {
    /// Starts the watches; they run until the value is dropped.
    pub fn start(client: &Client, target: WatchTarget) -> Self {
        Self::start_sharing(client, target, &Arc::default())
    }

    /// [`EnvironmentWatch::start`], for environments sharing one client: one prober tells
    /// all their watches when the API is back after an outage.
    pub fn start_sharing(client: &Client, target: WatchTarget, reconnect: &Arc<Reconnect>) -> Self {
        let freshness = Arc::new(Mutex::new(Freshness::default()));
        let changed = Arc::new(Notify::new());
        let ns = target.namespace.clone();
        let mut tasks = Vec::new();
        let mut spawn = |task| tasks.push(task);
        let follows = Follows { freshness: &freshness, changed: &changed, client, reconnect };
        let all = watcher::Config::default;
        let deployments =
            follows.watch("deployments", Api::namespaced(client.clone(), &ns), all(), &mut spawn);
        let statefulsets =
            follows.watch("statefulsets", Api::namespaced(client.clone(), &ns), all(), &mut spawn);
        let replicasets =
            follows.watch("replicasets", Api::namespaced(client.clone(), &ns), all(), &mut spawn);
        let pods = follows.watch("pods", Api::namespaced(client.clone(), &ns), all(), &mut spawn);
        let autoscalers =
            follows.watch("autoscalers", Api::namespaced(client.clone(), &ns), all(), &mut spawn);
        let cronjobs =
            follows.watch("cronjobs", Api::namespaced(client.clone(), &ns), all(), &mut spawn);
        let jobs = follows.watch("jobs", Api::namespaced(client.clone(), &ns), all(), &mut spawn);
        // Only warnings: normal events are the bulk of a busy namespace and say nothing
        // the workload status does not.
        let events = follows.watch(
            "events",
            Api::namespaced(client.clone(), &ns),
            all().fields("type=Warning"),
            &mut spawn,
        );
        let applications = match &target.application {
            Some((app_ns, app)) => {
                let api: Api<DynamicObject> =
                    Api::namespaced_with(client.clone(), app_ns, &application_resource());
                let config = all().fields(&format!("metadata.name={app}"));
                let writer = reflector::store::Writer::new(application_resource());
                let reader = writer.as_reader();
                let stream = reflector::reflector(writer, reconnect::relisting(api, config));
                spawn(tokio::spawn(follows.follow("applications", stream)));
                reader
            }
            None => {
                // Nothing to watch: count the kind as synced for good.
                if let Ok(mut f) = freshness.lock() {
                    f.synced.push("applications");
                }
                reflector::store::Writer::<DynamicObject>::new(application_resource()).as_reader()
            }
        };
        Self {
            target,
            client: client.clone(),
            deployments,
            statefulsets,
            replicasets,
            pods,
            autoscalers,
            cronjobs,
            jobs,
            events,
            applications,
            freshness,
            changed,
            tasks,
        }
    }

    pub fn name(&self) -> &str {
        &self.target.name
    }

    pub fn target(&self) -> &WatchTarget {
        &self.target
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Every cached Deployment.
    pub fn deployments(&self) -> Vec<Arc<Deployment>> {
        self.deployments.state()
    }

    /// The cached Deployment called `name` (what a preview is made from).
    pub fn deployment(&self, name: &str) -> Option<Arc<Deployment>> {
        self.deployments.state().into_iter().find(|d| d.metadata.name.as_deref() == Some(name))
    }

    /// Every cached StatefulSet.
    pub fn statefulsets(&self) -> Vec<Arc<StatefulSet>> {
        self.statefulsets.state()
    }

    pub fn statefulset(&self, name: &str) -> Option<Arc<StatefulSet>> {
        self.statefulsets.state().into_iter().find(|s| s.metadata.name.as_deref() == Some(name))
    }

    /// The cached ReplicaSets the Deployment controls (its revisions).
    pub fn replicasets_of(&self, deployment: &Deployment) -> Vec<Arc<ReplicaSet>> {
        self.replicasets
            .state()
            .into_iter()
            .filter(|rs| owned_by(&rs.metadata, "Deployment", &deployment.metadata))
            .collect()
    }

    /// The cached HorizontalPodAutoscaler scaling `kind`/`name`, if one does.
    pub fn autoscaler_for(&self, kind: &str, name: &str) -> Option<Arc<HorizontalPodAutoscaler>> {
        self.autoscalers.state().into_iter().find(|h| {
            h.spec
                .as_ref()
                .is_some_and(|s| s.scale_target_ref.kind == kind && s.scale_target_ref.name == name)
        })
    }

    /// The cached CronJob called `name`.
    pub fn cronjob(&self, name: &str) -> Option<Arc<CronJob>> {
        self.cronjobs.state().into_iter().find(|c| c.metadata.name.as_deref() == Some(name))
    }

    /// The cached Jobs `cronjob` owns (scheduled runs, and manual ones made from it as
    /// `kubectl create job --from` makes them), each with the pods it made.
    pub fn runs_of(&self, cronjob: &CronJob) -> Vec<(Arc<Job>, Vec<Arc<Pod>>)> {
        let pods = self.pods.state();
        self.jobs
            .state()
            .into_iter()
            .filter(|j| owned_by(&j.metadata, "CronJob", &cronjob.metadata))
            .map(|j| {
                let mine = pods
                    .iter()
                    .filter(|p| owned_by(&p.metadata, "Job", &j.metadata))
                    .cloned()
                    .collect();
                (j, mine)
            })
            .collect()
    }

    /// The cached pod called `name`.
    pub fn pod(&self, name: &str) -> Option<Arc<Pod>> {
        self.pods.state().into_iter().find(|p| p.metadata.name.as_deref() == Some(name))
    }

    /// The cached warnings about `kind`/`name` ("Pod", "backend-7c9f…"), newest first.
    pub fn warnings_about(
        &self,
        kind: &str,
        name: &str,
    ) -> Vec<crate::status::model::WarningEvent> {
        let mut mine: Vec<_> = self
            .events
            .state()
            .iter()
            .filter(|e| {
                e.involved_object.kind.as_deref() == Some(kind)
                    && e.involved_object.name.as_deref() == Some(name)
            })
            .filter_map(|e| crate::status::derive::warning(e))
            .collect();
        mine.sort_by_key(|w| std::cmp::Reverse(w.last_ms));
        mine
    }

    /// The cached Argo CD Application, when the environment has one.
    pub fn application(&self) -> Option<Arc<DynamicObject>> {
        self.applications.state().into_iter().next()
    }

    /// Whether every kind has been listed once.
    pub fn synced(&self) -> bool {
        self.freshness.lock().map(|f| f.synced.len() >= KINDS).unwrap_or(false)
    }

    /// Whether every kind has been tried once: listed, or failed (then the environment
    /// shows as stale with the reason, and the rest of the panel serves on).
    pub fn settled(&self) -> bool {
        self.freshness
            .lock()
            .map(|f| {
                let failed_first = f.attempted.iter().filter(|k| !f.synced.contains(k)).count();
                f.synced.len() + failed_first >= KINDS
            })
            .unwrap_or(false)
    }

    /// What the failing watches last said, as "kind: error" (why the view is stale, or
    /// why it has not synced yet: a missing permission, a resource the cluster does not
    /// serve, an unreachable API).
    pub fn failures(&self) -> Vec<String> {
        let Ok(mut freshness) = self.freshness.lock() else { return Vec::new() };
        freshness.settle(Utc::now());
        freshness.failing.iter().map(|f| format!("{}: {}", f.kind, f.error)).collect()
    }

    /// Since when the view has been failing to refresh, if it is.
    pub fn stale_since(&self) -> Option<DateTime<Utc>> {
        let mut freshness = self.freshness.lock().ok()?;
        freshness.settle(Utc::now());
        freshness.failing.iter().map(|f| f.since).min()
    }

    /// Woken whenever a watch sees a change or fails.
    pub fn changed(&self) -> Arc<Notify> {
        Arc::clone(&self.changed)
    }
}

/// The label linking a Deployment's pods to the ReplicaSet (revision) that made them.
const TEMPLATE_HASH: &str = "pod-template-hash";

/// Whether `meta` names `owner` (of `kind`) as its controller.
fn owned_by(meta: &ObjectMeta, kind: &str, owner: &ObjectMeta) -> bool {
    meta.owner_references.iter().flatten().any(|r| {
        r.kind == kind
            && match &owner.uid {
                Some(uid) => &r.uid == uid,
                None => Some(&r.name) == owner.name.as_ref(),
            }
    })
}

impl Drop for EnvironmentWatch {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// What every watch of an environment reports to.
struct Follows<'a> {
    freshness: &'a Arc<Mutex<Freshness>>,
    changed: &'a Arc<Notify>,
    client: &'a Client,
    reconnect: &'a Arc<Reconnect>,
}

impl Follows<'_> {
    /// Starts one reflector; `spawn` keeps its task so dropping the environment stops it.
    fn watch<K>(
        &self,
        kind: &'static str,
        api: Api<K>,
        config: watcher::Config,
        spawn: &mut impl FnMut(JoinHandle<()>),
    ) -> Store<K>
    where
        K: Resource<DynamicType = ()>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug
            + Send
            + Sync
            + 'static,
    {
        let (reader, writer) = reflector::store();
        let stream = reflector::reflector(writer, reconnect::relisting(api, config));
        spawn(tokio::spawn(self.follow(kind, stream)));
        reader
    }

    /// What one watch's task runs (the watcher itself retries at once: the wait between
    /// attempts is [`follow`]'s).
    fn follow<K: Send + 'static>(
        &self,
        kind: &'static str,
        stream: impl futures_util::Stream<Item = Result<watcher::Event<K>, watcher::Error>>
            + Send
            + 'static,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        follow(
            kind,
            stream,
            Arc::clone(self.freshness),
            Arc::clone(self.changed),
            (self.client.clone(), Arc::clone(self.reconnect)),
        )
    }
}

/// Drives one reflector and records whether its watch is healthy; after a failure, waits
/// (backing off, or until the API is back) before the watcher tries again.
async fn follow<K>(
    kind: &'static str,
    stream: impl futures_util::Stream<Item = Result<watcher::Event<K>, watcher::Error>>,
    freshness: Arc<Mutex<Freshness>>,
    changed: Arc<Notify>,
    (client, reconnect): (Client, Arc<Reconnect>),
) {
    futures_util::pin_mut!(stream);
    let mut backoff = CappedBackoff::default();
    while let Some(event) = stream.next().await {
        // Coalesces: a burst of events wakes the live view once.
        changed.notify_one();
        let failed = event.is_err();
        if !record(kind, event, &freshness) {
            return;
        }
        if failed {
            let delay = backoff.next().unwrap_or(MAX_RETRY);
            reconnect.wait(&client, delay).await;
        } else {
            backoff = CappedBackoff::default();
        }
    }
}

/// Notes what one watch event says of its kind's health; false when the record is gone.
fn record<K>(
    kind: &'static str,
    event: Result<watcher::Event<K>, watcher::Error>,
    freshness: &Mutex<Freshness>,
) -> bool {
    let Ok(mut f) = freshness.lock() else { return false };
    match event {
        Ok(event) => {
            f.failing.retain(|failing| failing.kind != kind);
            if matches!(event, watcher::Event::InitDone) && !f.synced.contains(&kind) {
                f.synced.push(kind);
            }
        }
        Err(error) => {
            if !f.attempted.contains(&kind) {
                f.attempted.push(kind);
            }
            let now = Utc::now();
            match f.failing.iter_mut().find(|failing| failing.kind == kind) {
                Some(entry) => {
                    entry.latest = now;
                    entry.error = error.to_string();
                }
                None => {
                    tracing::warn!(kind, %error, "cluster watch failing; showing the last known state");
                    f.failing.push(Failing {
                        kind,
                        since: now,
                        latest: now,
                        error: error.to_string(),
                    });
                }
            }
        }
    }
    true
}
