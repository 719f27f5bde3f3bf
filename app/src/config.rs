//! The environments as configured (`[[environments]]`): what every page, rule and adapter
//! reads about them. A leaf: it names only the model types it is made of, so anything may
//! import it without pulling in the server's state.

use serde::{Deserialize, Serialize};

use crate::status::model::WorkloadKind;

/// One environment as configured (`[[environments]]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvironmentConfig {
    pub name: String,
    pub namespace: String,
    /// The Argo CD Application deploying it, if any.
    pub argocd_application: Option<String>,
    /// Where Argo CD keeps its Applications.
    pub argocd_namespace: String,
    /// The kubeconfig context its cluster is reached through, when not the default one.
    pub cluster_context: Option<String>,
    /// PromQL label matchers selecting its series (no braces).
    pub prometheus_selector: String,
    /// Its Grafana dashboard, if any.
    pub grafana_url: Option<String>,
    /// The workloads the panel may act on, with their scaling bounds.
    pub workloads: Vec<WorkloadConfig>,
    /// How each change is allowed here (direct, after approvals, or not at all).
    pub policy: crate::access::model::EnvironmentPolicy,
    /// Its database backups (`[environments.backups]`).
    pub backups: BackupConfig,
}

/// Where an environment's backups are made and how old the last good one may be.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupConfig {
    /// The backup CronJob in the environment's namespace ("Back up now" runs its template).
    pub cronjob: String,
    /// The CronJob verifying the backups (its last run is shown).
    pub verify_cronjob: String,
    /// The (suspended) CronJob holding the restore Job's template.
    pub restore_cronjob: String,
    /// The workloads that write to the database: stopped during a restore in place.
    pub stop_during_restore: Vec<String>,
    /// Older than this, the last good backup is stale.
    pub max_age_hours: u32,
    /// While it is stale: Sync and Roll back are held (break-glass can still run them).
    pub hold_changes: bool,
}

impl Default for BackupConfig {
    fn default() -> Self {
        Self {
            cronjob: "db-backup".into(),
            verify_cronjob: "db-verify".into(),
            restore_cronjob: "db-restore".into(),
            stop_during_restore: vec!["backend".into(), "celery-worker".into()],
            max_age_hours: 26,
            hold_changes: false,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkloadConfig {
    pub name: String,
    pub kind: WorkloadKind,
    /// Scaling bounds: the panel never scales outside them.
    pub min_replicas: i32,
    pub max_replicas: i32,
    pub prometheus_selector: String,
    pub grafana_url: Option<String>,
}

impl EnvironmentConfig {
    pub fn workload(&self, name: &str) -> Option<&WorkloadConfig> {
        self.workloads.iter().find(|w| w.name == name)
    }
}

/// Where the metrics are (`[prometheus]`), and how the backend's series are labelled.
/// Absent: the Metrics pages say that no Prometheus is configured.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrometheusConfig {
    /// Its base URL, without `/api/v1`.
    pub url: String,
    /// How often it scrapes the application's targets: the shortest step and the unit of
    /// every rate window.
    pub scrape_interval_secs: u64,
    /// The backend's label naming the endpoint (`handler` for
    /// prometheus-fastapi-instrumentator, `endpoint` in some setups).
    pub handler_label: String,
    /// The backend's label holding the HTTP status.
    pub status_label: String,
    /// A regular expression matching the status values that are server errors (`5..` for
    /// `status="500"`, `5xx` for grouped statuses).
    pub error_status: String,
}
