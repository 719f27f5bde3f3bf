//! What the panel knows about an environment, as sent to the browser. Derived on the
//! server from the cluster (see `derive`); plain data here so both sides share it.

use serde::{Deserialize, Serialize};

/// The one-word roll-up of an environment's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Health {
    Healthy,
    Degraded,
    Down,
    Unknown,
}

impl Health {
    pub fn label(self) -> &'static str {
        match self {
            Health::Healthy => "Healthy",
            Health::Degraded => "Degraded",
            Health::Down => "Down",
            Health::Unknown => "Unknown",
        }
    }

    pub fn css(self) -> &'static str {
        match self {
            Health::Healthy => "healthy",
            Health::Degraded => "degraded",
            Health::Down => "down",
            Health::Unknown => "unknown",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WorkloadKind {
    Deployment,
    StatefulSet,
}

/// Where a workload's rollout stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Rollout {
    /// Every replica runs the current template and is available.
    Complete,
    /// Moving to the current template; `percent` of the desired replicas are updated and
    /// available.
    Progressing { percent: u8 },
    /// Not moving: the reason as Kubernetes gives it (e.g. the progress deadline).
    Stalled { reason: String },
    /// Rollouts are paused on this workload.
    Paused,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    pub container: String,
    pub repository: String,
    pub tag: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProblemKind {
    CrashLoop,
    ImagePull,
    Unschedulable,
    NotReady,
}

/// A pod in trouble, named so people can find it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodProblem {
    pub pod: String,
    pub kind: ProblemKind,
    pub restarts: i32,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Autoscaler {
    pub min: i32,
    pub max: i32,
    pub current: i32,
    pub desired: i32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkloadStatus {
    pub name: String,
    pub kind: WorkloadKind,
    pub desired: i32,
    pub ready: i32,
    pub updated: i32,
    pub available: i32,
    pub rollout: Rollout,
    pub images: Vec<Image>,
    pub restarts: i32,
    pub problems: Vec<PodProblem>,
    pub autoscaler: Option<Autoscaler>,
}

/// The last Argo CD operation on the environment's application.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    pub phase: String,
    pub message: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub initiated_by: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArgoStatus {
    pub application: String,
    pub sync: String,
    pub health: String,
    pub revision: String,
    pub target_revision: String,
    pub auto_sync: bool,
    pub last_operation: Option<Operation>,
    /// Auto-sync paused by Gantry (a rollback pinned the environment), if it is.
    pub pinned: Option<Pinned>,
}

/// Who paused auto-sync, when and why (read from the Application's annotations).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pinned {
    pub by: String,
    pub since: String,
    pub reason: String,
}

/// What waits for people on an environment: requests pending approval, and break-glass
/// runs nobody else has acknowledged yet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attention {
    pub pending: u32,
    pub unacknowledged: u32,
}

/// The backend's last five minutes from Prometheus and the environment's alerts, as the
/// overview card shows them. Whole numbers (thousandths, millionths, milliseconds), so a
/// status stays comparable and the card changes only when a shown figure does.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    /// Requests per second × 1000; `None`: no such series.
    pub requests_milli: Option<i64>,
    /// Share of server errors × 1,000,000; `None` without traffic.
    pub errors_ppm: Option<i64>,
    /// 95th percentile latency in milliseconds; `None` without traffic.
    pub p95_ms: Option<i64>,
    pub firing: u32,
    pub pending: u32,
    /// Why the figures could not be read, in words.
    pub unreadable: Option<String>,
    /// Each pod's memory and CPU over the same minutes (the workload pages' figures).
    pub pods: Vec<PodFigures>,
}

/// One pod's peak memory working set against its limit, and its CPU use, over the last
/// five minutes; rounded (MiB, tens of millicores) so pages change only when a shown
/// figure does.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodFigures {
    pub pod: String,
    pub memory_mib: Option<i64>,
    pub limit_mib: Option<i64>,
    pub cpu_milli: Option<i64>,
}

/// One environment's roll-up: health with the reason in words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub health: Health,
    pub reason: String,
}

/// A pod as the environment and workload pages list it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodInfo {
    pub name: String,
    /// The workload whose selector matches it, if any.
    pub workload: Option<String>,
    /// Kubernetes' phase (Pending, Running, Succeeded, Failed) or the waiting reason of a
    /// container when one is stuck (e.g. CrashLoopBackOff), as `kubectl get pods` shows.
    pub state: String,
    pub ready_containers: i32,
    pub containers: i32,
    pub restarts: i32,
    /// Creation time, milliseconds since the Unix epoch.
    pub created_ms: i64,
    pub node: Option<String>,
    /// The ReplicaSet revision it belongs to, for Deployment pods.
    pub revision: Option<i64>,
    pub problem: Option<PodProblem>,
}

/// One ReplicaSet of a Deployment: a revision that can be rolled back to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revision {
    pub workload: String,
    pub replicaset: String,
    pub revision: i64,
    pub images: Vec<Image>,
    pub desired: i32,
    pub ready: i32,
    pub created_ms: i64,
    /// The revision the Deployment's template currently asks for.
    pub current: bool,
}

/// How a Job ended, or that it still runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobOutcome {
    Running,
    Succeeded,
    Failed,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRun {
    pub name: String,
    pub outcome: JobOutcome,
    pub started_ms: Option<i64>,
    pub finished_ms: Option<i64>,
}

/// A CronJob (backups, clean-ups) with its latest run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduledJob {
    pub name: String,
    pub schedule: String,
    pub suspended: bool,
    pub last_run: Option<JobRun>,
    pub last_success_ms: Option<i64>,
}

/// A recent Warning event, newest first on the pages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarningEvent {
    /// "Pod/backend-7c9f…", as kubectl names objects.
    pub object: String,
    pub reason: String,
    pub message: String,
    pub count: i32,
    pub last_ms: i64,
}

/// Everything the panel shows about one environment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvironmentStatus {
    pub name: String,
    pub namespace: String,
    pub verdict: Verdict,
    /// Problems first, then by name.
    pub workloads: Vec<WorkloadStatus>,
    pub argo: Option<ArgoStatus>,
    /// When the view stopped being refreshed (the API is unreachable), if it has.
    pub stale_since: Option<String>,
    /// What the first failing watch said ("pods: …"), while stale.
    pub stale_reason: Option<String>,
    pub pods: Vec<PodInfo>,
    pub revisions: Vec<Revision>,
    pub jobs: Vec<ScheduledJob>,
    /// The most recent warnings (at most `MAX_EVENTS`), newest first.
    pub events: Vec<WarningEvent>,
    pub attention: Attention,
    /// From Prometheus, when one is configured.
    #[serde(default)]
    pub figures: Option<Figures>,
    /// The database backups at a glance (from the recorded runs).
    #[serde(default)]
    pub backups: Option<crate::backups::model::BackupGlance>,
}

/// How many warning events an environment's status carries.
pub const MAX_EVENTS: usize = 25;
