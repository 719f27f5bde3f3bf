use serde::{Deserialize, Serialize};

pub use crate::status::model::{Attention, Health};
#[cfg(feature = "ssr")]
use crate::status::model::{EnvironmentStatus, Rollout};
#[cfg(feature = "ssr")]
use crate::status::words;

/// What the overview page shows, as sent from the server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overview {
    pub environments: Vec<EnvironmentCard>,
    /// When the server assembled this view, already formatted for people (UTC).
    pub generated_at: String,
    /// How many times this server has answered the overview; lets a client tell a fresh
    /// answer from a cached one.
    pub refresh_count: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvironmentCard {
    pub name: String,
    pub namespace: String,
    pub health: Health,
    /// The health in plain language, for stakeholders.
    pub plain: String,
    /// The reason for the health, as a sentence.
    pub summary: String,
    /// Every problem found (pods named), worst first; the card lists them before the rest.
    pub problems: Vec<String>,
    /// The application version running there (the most common image tag), if known.
    pub version: Option<String>,
    /// Argo CD's view: "Synced", "OutOfSync"…, with auto-sync on or off.
    pub sync: Option<(String, bool)>,
    /// Rollouts in progress: workload and percent done.
    pub rollouts: Vec<(String, u8)>,
    /// Workloads running normally, out of all.
    pub healthy_workloads: (usize, usize),
    /// Replicas ready, out of those asked for, over all workloads.
    pub replicas: (i32, i32),
    /// Set when the view is no longer refreshed: since when (RFC 3339).
    pub stale_since: Option<String>,
    /// Requests waiting for approval, and break-glass runs not yet acknowledged.
    pub attention: Attention,
    /// "auto-sync paused by … since …: reason" while a rollback pins the environment.
    pub pinned: Option<String>,
    /// The backend's last five minutes and the alerts firing, when Prometheus is
    /// configured.
    pub figures: Option<CardFigures>,
    /// The backups' state ("fresh", "stale", "never", "unknown") and a line saying it.
    #[serde(default)]
    pub backup: Option<(String, String)>,
    /// The card as the overview shows it (`tile`), rendered with the rest (empty until
    /// then).
    #[serde(default)]
    pub html: String,
}

/// The overview card's metrics line, ready to show.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardFigures {
    /// "11/s · 9.09 % errors · p95 2 s".
    pub line: String,
    /// For stakeholders: "fast and error-free", "slow, and 1 in 11 requests fails".
    pub words: String,
    pub firing: u32,
}

#[cfg(feature = "ssr")]
impl EnvironmentCard {
    /// A card for an environment without a cluster to look at.
    pub fn unconfigured(name: &str, namespace: &str) -> Self {
        Self {
            name: name.to_owned(),
            namespace: namespace.to_owned(),
            health: Health::Unknown,
            plain: words::health_plain(Health::Unknown).to_owned(),
            summary: "No cluster is configured: set cluster.source to see this environment."
                .to_owned(),
            problems: Vec::new(),
            version: None,
            sync: None,
            rollouts: Vec::new(),
            healthy_workloads: (0, 0),
            replicas: (0, 0),
            stale_since: None,
            attention: Attention::default(),
            pinned: None,
            figures: None,
            backup: None,
            html: String::new(),
        }
    }
}

/// The overview's card for one environment's status, built on the server once per change
/// (the browser receives cards ready to show).
#[cfg(feature = "ssr")]
pub fn card(status: &EnvironmentStatus) -> EnvironmentCard {
    // The version people talk about: the tag most workloads run.
    let mut tags: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for w in &status.workloads {
        if let Some(image) = w.images.first() {
            *tags.entry(image.tag.as_str()).or_default() += 1;
        }
    }
    let version = tags.iter().max_by_key(|(_, n)| **n).map(|(tag, _)| (*tag).to_owned());
    let rollouts = status
        .workloads
        .iter()
        .filter_map(|w| match w.rollout {
            Rollout::Progressing { percent } => Some((w.name.clone(), percent)),
            _ => None,
        })
        .collect();
    // Workloads come problems first, so these do too.
    let problems = status
        .workloads
        .iter()
        .filter(|w| words::workload_health(w) != Health::Healthy)
        .map(|w| match w.problems.first() {
            Some(p) => words::sentence(&words::problem_words(&w.name, p)),
            None => format!("{}: {}", w.name, words::workload_plain(w).to_lowercase()),
        })
        .collect();
    let healthy =
        status.workloads.iter().filter(|w| words::workload_health(w) == Health::Healthy).count();
    EnvironmentCard {
        name: status.name.clone(),
        namespace: status.namespace.clone(),
        health: status.verdict.health,
        plain: words::health_plain(status.verdict.health).to_owned(),
        summary: words::sentence(&status.verdict.reason),
        problems,
        version,
        sync: status.argo.as_ref().map(|a| (a.sync.clone(), a.auto_sync)),
        rollouts,
        healthy_workloads: (healthy, status.workloads.len()),
        replicas: (
            status.workloads.iter().map(|w| w.ready).sum(),
            status.workloads.iter().map(|w| w.desired).sum(),
        ),
        stale_since: status.stale_since.clone(),
        attention: status.attention,
        pinned: status.argo.as_ref().and_then(|a| a.pinned.as_ref()).map(words::pinned),
        figures: status.figures.as_ref().map(words::figures),
        backup: status
            .backups
            .as_ref()
            .map(|b| (b.state.word().to_owned(), crate::backups::model::glance_words(b))),
        html: String::new(),
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use crate::overview::model::card;
    use crate::status::model::{
        EnvironmentStatus, Health, Image, PodProblem, ProblemKind, Rollout, Verdict, WorkloadKind,
        WorkloadStatus,
    };

    fn workload(name: &str, tag: &str, rollout: Rollout) -> WorkloadStatus {
        WorkloadStatus {
            name: name.into(),
            kind: WorkloadKind::Deployment,
            desired: 2,
            ready: 2,
            updated: 2,
            available: 2,
            rollout,
            images: vec![Image {
                container: name.into(),
                repository: format!("r/{name}"),
                tag: tag.into(),
            }],
            restarts: 0,
            problems: vec![],
            autoscaler: None,
        }
    }

    fn status(workloads: Vec<WorkloadStatus>, health: Health, reason: &str) -> EnvironmentStatus {
        EnvironmentStatus {
            name: "prod".into(),
            namespace: "co2-calculator-prod".into(),
            verdict: Verdict { health, reason: reason.into() },
            workloads,
            argo: None,
            stale_since: None,
            stale_reason: None,
            pods: vec![],
            revisions: vec![],
            jobs: vec![],
            events: vec![],
            attention: Default::default(),
            figures: None,
            backups: None,
        }
    }

    #[test]
    fn the_card_names_the_common_version_and_the_rollouts_in_progress() {
        let c = card(&status(
            vec![
                workload("backend", "1.8.3", Rollout::Progressing { percent: 33 }),
                workload("celery-worker", "1.8.2", Rollout::Complete),
                workload("frontend", "1.8.2", Rollout::Complete),
                workload("redis", "7.2.5-alpine", Rollout::Complete),
            ],
            Health::Healthy,
            "healthy; rolling out backend",
        ));
        assert_eq!(c.version.as_deref(), Some("1.8.2"));
        assert_eq!(c.rollouts, vec![("backend".to_owned(), 33)]);
        assert_eq!(c.summary, "Healthy; rolling out backend");
        assert_eq!(c.plain, "Working normally");
        assert_eq!(c.healthy_workloads, (4, 4));
        assert_eq!(c.replicas, (8, 8));
        assert!(c.problems.is_empty());
        assert!(c.sync.is_none());
    }

    #[test]
    fn the_card_lists_problems_naming_pods() {
        let mut crashing = workload("backend", "1.8.2", Rollout::Complete);
        crashing.available = 1;
        crashing.problems.push(PodProblem {
            pod: "backend-7c9f-x2".into(),
            kind: ProblemKind::CrashLoop,
            restarts: 6,
            message: String::new(),
        });
        let mut short = workload("frontend", "1.8.2", Rollout::Complete);
        short.available = 1;
        let c = card(&status(
            vec![crashing, short, workload("redis", "7", Rollout::Complete)],
            Health::Degraded,
            "backend is crash-looping",
        ));
        assert_eq!(c.plain, "Working, with problems");
        assert_eq!(
            c.problems,
            vec![
                "Backend is crash-looping (pod backend-7c9f-x2 restarted 6 times)".to_owned(),
                "frontend: running with fewer copies than planned (1 of 2)".to_owned(),
            ]
        );
        assert_eq!(c.healthy_workloads, (1, 3));
    }
}
