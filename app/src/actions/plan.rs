//! What a request will do, made from what the panel sees: a [`Plan`] records the state it
//! was made from (replicas, revision, template, Argo CD revision) and the state it leads
//! to. Plain functions over Kubernetes objects, so the same rules make the preview (from
//! the watch caches), re-check a request before it runs (from a fresh read) and tell,
//! after a crash, whether a change was made.

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::access::Action;
use crate::monitoring::alertmanager::{Matcher, Silence};

use crate::status::model::WorkloadKind;

pub use crate::status::derive::{
    PAUSED_AT, PAUSED_BY, PAUSED_POLICY, PAUSED_REASON, PAUSED_REQUEST,
};

/// The kubectl annotation a rollout restart sets on the pod template.
pub const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";
const TEMPLATE_HASH: &str = "pod-template-hash";
const REVISION: &str = "deployment.kubernetes.io/revision";

/// An Argo CD Application, by namespace and name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppRef {
    pub namespace: String,
    pub name: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bounds {
    pub min: i32,
    pub max: i32,
}

/// Exactly what a request will do, and what it saw when it was made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Plan {
    Scale {
        kind: WorkloadKind,
        workload: String,
        from: i32,
        to: i32,
    },
    /// The workload is scaled by an autoscaler: change its bounds instead of fighting it.
    ScaleAutoscaler {
        workload: String,
        autoscaler: String,
        from: Bounds,
        to: Bounds,
    },
    Restart {
        kind: WorkloadKind,
        workload: String,
        /// Fingerprint of the pod template seen.
        template: String,
        /// The Deployment's revision seen: the restart makes a newer one (History names
        /// the request on that one, never on this one). None for a StatefulSet, and in
        /// requests made before Gantry recorded it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        revision: Option<i64>,
    },
    Rollback {
        workload: String,
        from_revision: i64,
        to_revision: i64,
        from_images: Vec<String>,
        to_images: Vec<String>,
        /// Fingerprint of the target revision's template: once the Deployment's template
        /// has it, the rollback is done.
        template: String,
        /// The application auto-syncs: pause it, or Git undoes the rollback.
        pause_auto_sync: Option<AppRef>,
    },
    Sync {
        application: AppRef,
        /// The revision deployed now, and the target it will sync to.
        deployed: String,
        target: String,
    },
    ResumeAutoSync {
        application: AppRef,
        paused_by: String,
    },
    /// Silence the environment's alerts matching `matchers` (always the namespace's) in
    /// Alertmanager, for `minutes` from when it runs.
    Silence {
        matchers: Vec<Matcher>,
        minutes: u32,
    },
    /// Expire one of the environment's silences.
    ExpireSilence {
        id: String,
        matchers: Vec<Matcher>,
        ends_at: String,
    },
    /// Run the backup CronJob's job template now, as `kubectl create job --from` does, in
    /// a Job named after the request (see [`backup_job_name`]).
    Backup {
        cronjob: String,
    },
    /// Restore the dump `file` (checksum `sha256`, finished at `taken_ms`) into the new
    /// database `copy` beside the live one, by a Job made from the restore template
    /// `template`: nothing live changes.
    RestoreCopy {
        template: String,
        file: String,
        sha256: String,
        taken_ms: i64,
        copy: String,
    },
    Restore(InPlace),
}

/// Restore over the live database, step by step (see `actions::restore`): pause
/// Argo CD's auto-sync, stop `stop` (workload, replicas seen), a safety backup by a Job of
/// `backup_cronjob`, the restore of `file` by a Job of `template`, the workloads back to
/// the replicas seen, auto-sync resumed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InPlace {
    pub template: String,
    pub backup_cronjob: String,
    pub file: String,
    pub sha256: String,
    pub taken_ms: i64,
    pub stop: Vec<(String, i32)>,
    pub pause_auto_sync: Option<AppRef>,
}

/// A dump a restore may use: recorded as good and still kept by retention.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Restorable {
    pub file: String,
    pub sha256: String,
    pub finished_ms: i64,
}

/// The objects a plan is made from or checked against (from the caches or a fresh read).
#[derive(Clone, Debug, Default)]
pub struct Seen {
    pub deployment: Option<Deployment>,
    pub statefulset: Option<StatefulSet>,
    pub replicasets: Vec<ReplicaSet>,
    pub autoscaler: Option<HorizontalPodAutoscaler>,
    pub application: Option<Value>,
    /// Alertmanager's silences, for the plans about silences.
    pub silences: Option<Vec<Silence>>,
    /// The backup CronJob and the Jobs it owns, for a backup (for a restore: the restore
    /// template and its Jobs).
    pub cronjob: Option<CronJob>,
    pub jobs: Vec<Job>,
    /// The dumps a restore may use, newest first.
    pub restorable: Vec<Restorable>,
    /// For a restore: the replicas of the workloads it stops, as seen.
    pub workloads: Vec<(String, i32)>,
}

/// One line of a preview: what changes, from what, to what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub what: &'static str,
    pub from: String,
    pub to: String,
}

impl Plan {
    /// The workload revision current when the request was made, for changes that make a
    /// newer one (restart, rollback): what they cause is after it.
    pub fn revision_seen(&self) -> Option<i64> {
        match self {
            Plan::Restart { revision, .. } => *revision,
            Plan::Rollback { from_revision, .. } => Some(*from_revision),
            _ => None,
        }
    }

    /// The object acted on, as Kind/name.
    pub fn object(&self) -> String {
        match self {
            Plan::Scale { kind, workload, .. } | Plan::Restart { kind, workload, .. } => {
                format!("{}/{workload}", kind_name(*kind))
            }
            Plan::ScaleAutoscaler { autoscaler, .. } => {
                format!("HorizontalPodAutoscaler/{autoscaler}")
            }
            Plan::Rollback { workload, .. } => format!("Deployment/{workload}"),
            Plan::Sync { application, .. } | Plan::ResumeAutoSync { application, .. } => {
                format!("Application/{}", application.name)
            }
            Plan::Silence { matchers, .. } => format!("Silence/{}", silenced(matchers)),
            Plan::ExpireSilence { id, .. } => format!("Silence/{id}"),
            Plan::Backup { cronjob } => format!("CronJob/{cronjob}"),
            Plan::RestoreCopy { copy, .. } => format!("Database/{copy}"),
            Plan::Restore(_) => "Database/live".to_owned(),
        }
    }

    /// Whether it acts on Alertmanager rather than the cluster.
    pub fn is_silence(&self) -> bool {
        matches!(self, Plan::Silence { .. } | Plan::ExpireSilence { .. })
    }

    pub fn action(&self) -> Action {
        match self {
            Plan::Scale { .. } | Plan::ScaleAutoscaler { .. } => Action::Scale,
            Plan::Restart { .. } => Action::Restart,
            Plan::Rollback { .. } => Action::Rollback,
            Plan::Sync { .. } => Action::Sync,
            Plan::ResumeAutoSync { .. } => Action::ResumeAutoSync,
            Plan::Silence { .. } => Action::Silence,
            Plan::ExpireSilence { .. } => Action::ExpireSilence,
            Plan::Backup { .. } => Action::Backup,
            Plan::RestoreCopy { .. } | Plan::Restore(_) => Action::Restore,
        }
    }

    pub fn workload(&self) -> Option<&str> {
        match self {
            Plan::Scale { workload, .. }
            | Plan::ScaleAutoscaler { workload, .. }
            | Plan::Restart { workload, .. }
            | Plan::Rollback { workload, .. } => Some(workload),
            Plan::Sync { .. }
            | Plan::ResumeAutoSync { .. }
            | Plan::Silence { .. }
            | Plan::ExpireSilence { .. }
            | Plan::Backup { .. }
            | Plan::RestoreCopy { .. }
            | Plan::Restore(_) => None,
        }
    }

    /// From what to what, line by line.
    pub fn lines(&self) -> Vec<Line> {
        let line = |what, from: String, to: String| Line { what, from, to };
        match self {
            Plan::Scale { from, to, .. } => {
                vec![line("replicas", from.to_string(), to.to_string())]
            }
            Plan::ScaleAutoscaler { from, to, .. } => vec![
                line("autoscaler minimum", from.min.to_string(), to.min.to_string()),
                line("autoscaler maximum", from.max.to_string(), to.max.to_string()),
            ],
            Plan::Restart { .. } => {
                vec![line("pods", "running".into(), "replaced one by one".into())]
            }
            Plan::Rollback {
                from_revision,
                to_revision,
                from_images,
                to_images,
                pause_auto_sync,
                ..
            } => {
                let mut lines =
                    vec![line("revision", from_revision.to_string(), to_revision.to_string())];
                lines.push(line("image", from_images.join(", "), to_images.join(", ")));
                if pause_auto_sync.is_some() {
                    lines.push(line("Argo CD auto-sync", "on".into(), "paused (pinned)".into()));
                }
                lines
            }
            Plan::Sync { deployed, target, .. } => {
                vec![line("revision", short(deployed), target.clone())]
            }
            Plan::ResumeAutoSync { .. } => {
                vec![line("Argo CD auto-sync", "paused (pinned)".into(), "on".into())]
            }
            Plan::Silence { matchers, minutes } => vec![line(
                "alerts",
                format!("{} notified", silenced(matchers)),
                format!("silenced for {} from when it runs", duration_words(*minutes)),
            )],
            Plan::ExpireSilence { matchers, ends_at, .. } => vec![line(
                "silence",
                format!("{} silenced until {ends_at}", silenced(matchers)),
                "expired: notified again".into(),
            )],
            Plan::Backup { cronjob } => vec![line(
                "backup",
                "none running".into(),
                format!("a new dump of the database, by a Job made from the CronJob {cronjob}"),
            )],
            Plan::Restore(r) => backup::restore_lines(r),
            Plan::RestoreCopy { file, taken_ms, copy, .. } => vec![line(
                "database copy",
                "none".into(),
                format!(
                    "{copy}: the data as it was at {} (from {file}); the live database is not touched",
                    chrono::DateTime::from_timestamp_millis(*taken_ms)
                        .map(|t| t.format("%a %d %b %H:%M UTC").to_string())
                        .unwrap_or_default()
                ),
            )],
        }
    }

    /// The preview in one line ("replicas 3 → 5").
    pub fn summary(&self) -> String {
        self.lines()
            .iter()
            .map(|l| format!("{} {} → {}", l.what, l.from, l.to))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Identifies the plan: the form carries the one previewed, so a request is refused if
    /// what it would do changed in between.
    pub fn fingerprint(&self) -> String {
        fingerprint(&serde_json::to_value(self).unwrap_or_default())
    }

    /// The resourceVersion of the object the plan acts on, in `seen`.
    pub fn seen_version(&self, seen: &Seen) -> Option<String> {
        match self {
            Plan::Scale { .. } | Plan::Restart { .. } | Plan::Rollback { .. } => seen
                .deployment
                .as_ref()
                .map(|d| &d.metadata)
                .or(seen.statefulset.as_ref().map(|s| &s.metadata))
                .and_then(|m| m.resource_version.clone()),
            Plan::ScaleAutoscaler { .. } => {
                seen.autoscaler.as_ref().and_then(|h| h.metadata.resource_version.clone())
            }
            Plan::Sync { .. } | Plan::ResumeAutoSync { .. } => seen
                .application
                .as_ref()
                .and_then(|a| a.pointer("/metadata/resourceVersion"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            Plan::Silence { .. } | Plan::ExpireSilence { .. } => None,
            Plan::Backup { .. } | Plan::RestoreCopy { .. } | Plan::Restore(_) => {
                seen.cronjob.as_ref().and_then(|c| c.metadata.resource_version.clone())
            }
        }
    }
}

/// The `.operation.info` entry naming the Gantry request behind a sync.
pub const INFO_REQUEST: &str = "Gantry request";

pub fn kind_name(kind: WorkloadKind) -> &'static str {
    match kind {
        WorkloadKind::Deployment => "Deployment",
        WorkloadKind::StatefulSet => "StatefulSet",
    }
}

pub fn revision_of(
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
) -> Option<i64> {
    meta.annotations.as_ref()?.get(REVISION)?.parse().ok()
}

pub fn replicaset_of_revision(replicasets: &[ReplicaSet], revision: i64) -> Option<&ReplicaSet> {
    replicasets.iter().find(|rs| revision_of(&rs.metadata) == Some(revision))
}

fn replicas(now: &Seen) -> Option<i32> {
    match (&now.deployment, &now.statefulset) {
        (Some(d), _) => Some(d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)),
        (_, Some(s)) => Some(s.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)),
        _ => None,
    }
}

fn bounds(hpa: &HorizontalPodAutoscaler) -> Bounds {
    let spec = hpa.spec.as_ref();
    Bounds {
        min: spec.and_then(|s| s.min_replicas).unwrap_or(1),
        max: spec.map_or(0, |s| s.max_replicas),
    }
}

fn workload_template(now: &Seen) -> Option<PodTemplateSpec> {
    match (&now.deployment, &now.statefulset) {
        (Some(d), _) => d.spec.as_ref().map(|s| s.template.clone()),
        (_, Some(s)) => s.spec.as_ref().map(|s| s.template.clone()),
        _ => None,
    }
}

/// A pod template without the label the Deployment controller adds to each ReplicaSet's
/// copy: what `kubectl rollout undo` puts back.
pub fn template_for_rollback(rs: &ReplicaSet) -> Option<PodTemplateSpec> {
    let mut template = rs.spec.as_ref()?.template.clone()?;
    if let Some(labels) = template.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
        labels.remove(TEMPLATE_HASH);
    }
    Some(template)
}

pub fn template_fingerprint(template: &PodTemplateSpec) -> String {
    let mut template = template.clone();
    if let Some(labels) = template.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
        labels.remove(TEMPLATE_HASH);
    }
    fingerprint(&serde_json::to_value(&template).unwrap_or_default())
}

fn fingerprint(value: &Value) -> String {
    let digest = Sha256::digest(value.to_string().as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

fn images_of(template: Option<&PodTemplateSpec>) -> Vec<String> {
    template
        .and_then(|t| t.spec.as_ref())
        .map(|s| {
            s.containers
                .iter()
                .map(|c| {
                    let image = c.image.as_deref().unwrap_or("");
                    image.rsplit('/').next().unwrap_or(image).to_owned()
                })
                .collect()
        })
        .unwrap_or_default()
}

mod backup;
pub use backup::{backup_job_name, restore_job_name, running_backup};
mod checks;
mod make;
pub use make::make;
mod application;
pub use application::{auto_sync, operation_running};
use application::{short, text};
mod asked;
pub use asked::Asked;
mod silence;
use silence::silenced;
pub use silence::{duration_words, minutes, silence_marker, SILENCE_MINUTES};

#[cfg(test)]
mod tests;
