//! Watch caches per environment (server side): one kube-rs reflector per kind, kept up to
//! date by watches, so pages read memory and never call the Kubernetes API. Each cache
//! knows whether it has synced once and since when it has been failing (stale).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DynamicObject};
use kube::discovery::ApiResource;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{watcher, WatchStreamExt};
use kube::{Client, Resource};
use serde::de::DeserializeOwned;
use tokio::task::JoinHandle;

use crate::status::derive;
use crate::status::model::{EnvironmentStatus, Health, Verdict, WorkloadStatus};

/// Which environment to watch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchTarget {
    pub name: String,
    pub namespace: String,
    /// Argo CD application (namespace, name), when the environment has one.
    pub application: Option<(String, String)>,
}

/// Longest wait between two attempts of a failing watch. A kind counts as fresh again once
/// this much (plus a margin) has passed without an error: a retry has then succeeded.
const MAX_RETRY: Duration = Duration::from_secs(3);

/// Retry delays for failing watches: 250 ms doubling up to `MAX_RETRY`. Short on purpose:
/// the panel must notice both an outage and its end within seconds.
struct CappedBackoff {
    next: Duration,
}

impl Default for CappedBackoff {
    fn default() -> Self {
        Self { next: Duration::from_millis(250) }
    }
}

impl Iterator for CappedBackoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let current = self.next;
        self.next = (self.next * 2).min(MAX_RETRY);
        Some(current)
    }
}

impl kube::runtime::utils::Backoff for CappedBackoff {
    fn reset(&mut self) {
        *self = Self::default();
    }
}

/// How the watches of one environment are doing.
#[derive(Default)]
struct Freshness {
    /// Kinds whose first list has completed.
    synced: Vec<&'static str>,
    /// Kinds whose watch has failed: (kind, first failure, latest failure).
    failing: Vec<(&'static str, DateTime<Utc>, DateTime<Utc>)>,
}

impl Freshness {
    /// Forgets failures not repeated for longer than a retry takes: the retry worked.
    fn settle(&mut self, now: DateTime<Utc>) {
        let quiet =
            chrono::Duration::from_std(MAX_RETRY * 2).unwrap_or(chrono::Duration::seconds(6));
        self.failing.retain(|(_, _, latest)| now - *latest < quiet);
    }
}

pub struct EnvironmentWatch {
    target: WatchTarget,
    deployments: Store<Deployment>,
    statefulsets: Store<StatefulSet>,
    pods: Store<Pod>,
    autoscalers: Store<HorizontalPodAutoscaler>,
    applications: Store<DynamicObject>,
    freshness: Arc<Mutex<Freshness>>,
    tasks: Vec<JoinHandle<()>>,
}

const KINDS: usize = 5;

fn application_resource() -> ApiResource {
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
        let freshness = Arc::new(Mutex::new(Freshness::default()));
        let ns = target.namespace.clone();
        let mut tasks = Vec::new();
        let (deployments, t) = watch(
            "deployments",
            Api::namespaced(client.clone(), &ns),
            watcher::Config::default(),
            &freshness,
        );
        tasks.push(t);
        let (statefulsets, t) = watch(
            "statefulsets",
            Api::namespaced(client.clone(), &ns),
            watcher::Config::default(),
            &freshness,
        );
        tasks.push(t);
        let (pods, t) = watch(
            "pods",
            Api::namespaced(client.clone(), &ns),
            watcher::Config::default(),
            &freshness,
        );
        tasks.push(t);
        let (autoscalers, t) = watch(
            "autoscalers",
            Api::namespaced(client.clone(), &ns),
            watcher::Config::default(),
            &freshness,
        );
        tasks.push(t);
        let (applications, t) = match &target.application {
            Some((app_ns, app)) => {
                let api: Api<DynamicObject> =
                    Api::namespaced_with(client.clone(), app_ns, &application_resource());
                let config = watcher::Config::default().fields(&format!("metadata.name={app}"));
                let writer = reflector::store::Writer::new(application_resource());
                let reader = writer.as_reader();
                let stream = reflector::reflector(
                    writer,
                    watcher::watcher(api, config).backoff(CappedBackoff::default()),
                );
                (reader, tokio::spawn(follow("applications", stream, Arc::clone(&freshness))))
            }
            None => {
                // Nothing to watch: count the kind as synced for good.
                if let Ok(mut f) = freshness.lock() {
                    f.synced.push("applications");
                }
                let reader = reflector::store::Writer::<DynamicObject>::new(application_resource())
                    .as_reader();
                (reader, tokio::spawn(async {}))
            }
        };
        tasks.push(t);
        Self {
            target,
            deployments,
            statefulsets,
            pods,
            autoscalers,
            applications,
            freshness,
            tasks,
        }
    }

    pub fn name(&self) -> &str {
        &self.target.name
    }

    /// Whether every kind has been listed once.
    pub fn synced(&self) -> bool {
        self.freshness.lock().map(|f| f.synced.len() >= KINDS).unwrap_or(false)
    }

    /// Since when the view has been failing to refresh, if it is.
    pub fn stale_since(&self) -> Option<DateTime<Utc>> {
        let mut freshness = self.freshness.lock().ok()?;
        freshness.settle(Utc::now());
        freshness.failing.iter().map(|(_, since, _)| *since).min()
    }

    /// The environment as the panel shows it, from memory.
    pub fn status(&self) -> EnvironmentStatus {
        let pods = self.pods.state();
        let autoscalers = self.autoscalers.state();
        let selects = |selector: Option<&std::collections::BTreeMap<String, String>>, pod: &Pod| {
            let labels = pod.metadata.labels.clone().unwrap_or_default();
            selector
                .is_some_and(|s| !s.is_empty() && s.iter().all(|(k, v)| labels.get(k) == Some(v)))
        };
        let mut workloads: Vec<WorkloadStatus> = Vec::new();
        for d in self.deployments.state() {
            let selector = d.spec.as_ref().and_then(|s| s.selector.match_labels.as_ref());
            let mine: Vec<&Pod> =
                pods.iter().map(AsRef::as_ref).filter(|p| selects(selector, p)).collect();
            let hpa = autoscalers.iter().map(AsRef::as_ref).find(|h| {
                h.spec.as_ref().is_some_and(|s| {
                    s.scale_target_ref.kind == "Deployment"
                        && Some(&s.scale_target_ref.name) == d.metadata.name.as_ref()
                })
            });
            workloads.push(derive::deployment(&d, &mine, hpa));
        }
        for s in self.statefulsets.state() {
            let selector = s.spec.as_ref().and_then(|s| s.selector.match_labels.as_ref());
            let mine: Vec<&Pod> =
                pods.iter().map(AsRef::as_ref).filter(|p| selects(selector, p)).collect();
            workloads.push(derive::statefulset(&s, &mine));
        }
        workloads.sort_by(|a, b| a.name.cmp(&b.name));
        let argo = self
            .applications
            .state()
            .first()
            .map(|a| derive::argo(&serde_json::to_value(a.as_ref()).unwrap_or_default()));
        let verdict = if self.synced() {
            derive::verdict(&workloads, argo.as_ref())
        } else {
            Verdict {
                health: Health::Unknown,
                reason: "waiting for the first view of the cluster".into(),
            }
        };
        EnvironmentStatus {
            name: self.target.name.clone(),
            namespace: self.target.namespace.clone(),
            verdict,
            workloads,
            argo,
            stale_since: self
                .stale_since()
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        }
    }
}

impl Drop for EnvironmentWatch {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

fn watch<K>(
    kind: &'static str,
    api: Api<K>,
    config: watcher::Config,
    freshness: &Arc<Mutex<Freshness>>,
) -> (Store<K>, JoinHandle<()>)
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
    let stream = reflector::reflector(
        writer,
        watcher::watcher(api, config).backoff(CappedBackoff::default()),
    );
    (reader, tokio::spawn(follow(kind, stream, Arc::clone(freshness))))
}

/// Drives one reflector and records whether its watch is healthy.
async fn follow<K>(
    kind: &'static str,
    stream: impl futures_util::Stream<Item = Result<watcher::Event<K>, watcher::Error>>,
    freshness: Arc<Mutex<Freshness>>,
) {
    futures_util::pin_mut!(stream);
    while let Some(event) = stream.next().await {
        let Ok(mut f) = freshness.lock() else { return };
        match event {
            Ok(event) => {
                f.failing.retain(|(k, _, _)| *k != kind);
                if matches!(event, watcher::Event::InitDone) && !f.synced.contains(&kind) {
                    f.synced.push(kind);
                }
            }
            Err(error) => {
                let now = Utc::now();
                match f.failing.iter_mut().find(|(k, _, _)| *k == kind) {
                    Some(entry) => entry.2 = now,
                    None => {
                        tracing::warn!(kind, %error, "cluster watch failing; showing the last known state");
                        f.failing.push((kind, now, now));
                    }
                }
            }
        }
    }
}
