//! What a log stream reads, resolved from the cluster's view before anything is asked
//! of the API: the pod's container (kubectl's default), whether its previous run is shown
//! (by default right after a crash), or a workload's pods. A wrong name is refused at
//! once, in words.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};

use super::ask::{Ask, Target};
use crate::cluster::live::Live;
use crate::error::AppError;

/// A container that has just restarted shows its previous run by default for this long.
const JUST_RESTARTED: chrono::TimeDelta = chrono::TimeDelta::minutes(10);

/// One container to read.
#[derive(Clone, Debug)]
pub struct Source {
    pub pod: String,
    pub container: String,
    pub previous: bool,
}

/// What a stream reads, resolved from the cluster's view before anything is asked of
/// the API (so a wrong name is refused at once, in words).
#[derive(Clone, Debug)]
pub struct Plan {
    pub namespace: String,
    pub sources: Vec<Source>,
    /// The pod's containers, for the choice (pod streams).
    pub containers: Vec<String>,
    /// Why the previous run is shown, when the panel chose it.
    pub previous_note: Option<String>,
}

pub(super) fn status_of<'a>(pod: &'a Pod, container: &str) -> Option<&'a ContainerStatus> {
    pod.status.as_ref()?.container_statuses.as_ref()?.iter().find(|c| c.name == container)
}

/// The container kubectl would pick: the one its annotation names, else the first.
pub fn default_container(pod: &Pod) -> Option<String> {
    let names: Vec<&str> = pod
        .spec
        .as_ref()
        .map(|s| s.containers.iter().map(|c| c.name.as_str()).collect())
        .unwrap_or_default();
    let annotated = pod
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get("kubectl.kubernetes.io/default-container"))
        .filter(|a| names.contains(&a.as_str()));
    annotated.cloned().or_else(|| names.first().map(|n| (*n).to_owned()))
}

/// Whether the container ran before (`lastState.terminated`), and when that run ended.
fn last_run_end(pod: &Pod, container: &str) -> Option<Option<DateTime<Utc>>> {
    let terminated = status_of(pod, container)?.last_state.as_ref()?.terminated.as_ref()?;
    Some(terminated.finished_at.as_ref().and_then(|t| DateTime::from_timestamp(t.0.as_second(), 0)))
}

/// The previous run is what a person wants after a crash: while the container waits to
/// restart, or when it restarted minutes ago.
fn just_restarted(pod: &Pod, container: &str, now: DateTime<Utc>) -> Option<String> {
    let ended = last_run_end(pod, container)?;
    let state = status_of(pod, container)?.state.as_ref()?;
    let recent = ended.is_some_and(|t| now - t < JUST_RESTARTED);
    (state.waiting.is_some() || recent).then(|| {
        let when = ended
            .map(|t| crate::backups::page::distance(t.timestamp_millis(), now.timestamp_millis()))
            .unwrap_or_else(|| "recently".into());
        format!("Showing the run before the last restart (it ended {when}): its last lines say why it stopped.")
    })
}

pub fn plan(live: &Live, index: usize, ask: &Ask, namespace: &str) -> Result<Plan, AppError> {
    let watch = live.watches().get(index).ok_or_else(|| {
        AppError::Unavailable("No cluster is configured, so there are no logs to read.".into())
    })?;
    let now = Utc::now();
    match &ask.target {
        Target::Pod(name) => {
            let pod = watch.pod(name).ok_or_else(|| {
                AppError::NotFound(format!(
                    "There is no pod named “{name}” in {}. Pods of a Deployment get new names when they are replaced; open the current ones from the environment's page.",
                    ask.env
                ))
            })?;
            let containers: Vec<String> = pod
                .spec
                .as_ref()
                .map(|s| s.containers.iter().map(|c| c.name.clone()).collect())
                .unwrap_or_default();
            let container = match &ask.container {
                Some(c) if containers.contains(c) => c.clone(),
                Some(c) => {
                    return Err(AppError::Invalid(format!(
                        "The pod {name} has no container “{c}”; its containers: {}.",
                        containers.join(", ")
                    )))
                }
                None => default_container(&pod).ok_or_else(|| {
                    AppError::Invalid(format!("The pod {name} has no containers."))
                })?,
            };
            let suggested = just_restarted(&pod, &container, now);
            let previous = ask.previous.unwrap_or(suggested.is_some());
            if previous && last_run_end(&pod, &container).is_none() {
                return Err(AppError::Invalid(format!(
                    "The container {container} of {name} has not restarted, so there is no previous run to show."
                )));
            }
            Ok(Plan {
                namespace: namespace.to_owned(),
                sources: vec![Source { pod: name.clone(), container, previous }],
                containers,
                previous_note: suggested.filter(|_| ask.previous.is_none()),
            })
        }
        Target::Workload(workload) => {
            let status = live.snapshot(index).map(|s| s.status);
            let known =
                status.as_ref().is_some_and(|s| s.workloads.iter().any(|w| &w.name == workload));
            if !known {
                return Err(AppError::NotFound(format!(
                    "There is no workload named “{workload}” in {}.",
                    ask.env
                )));
            }
            let previous = ask.previous.unwrap_or(false);
            let sources = pods_of(live, index, workload)
                .into_iter()
                .filter_map(|pod| {
                    let name = pod.metadata.name.clone()?;
                    let container = match &ask.container {
                        Some(c) => c.clone(),
                        None => default_container(&pod)?,
                    };
                    let ran = last_run_end(&pod, &container).is_some();
                    (!previous || ran).then_some(Source { pod: name, container, previous })
                })
                .collect();
            Ok(Plan {
                namespace: namespace.to_owned(),
                sources,
                containers: Vec::new(),
                previous_note: None,
            })
        }
    }
}

/// The workload's pods as the cluster's view has them now.
pub(super) fn pods_of(live: &Live, index: usize, workload: &str) -> Vec<Arc<Pod>> {
    let (Some(watch), Some(snapshot)) = (live.watches().get(index), live.snapshot(index)) else {
        return Vec::new();
    };
    snapshot
        .status
        .pods
        .iter()
        .filter(|p| p.workload.as_deref() == Some(workload))
        .filter_map(|p| watch.pod(&p.name))
        .collect()
}
