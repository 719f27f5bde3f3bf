//! The status as the pages show it, built once per change on the server: tables of plain
//! cells, facts, sentences. Pure functions of the status and the configuration, tested
//! here; the browser only displays the result.

use super::model::{EnvironmentDetail, Fact, WorkloadDetail};
use super::table::{col, num, Cell, Row, Table, AGE};
use crate::config::{EnvironmentConfig, WorkloadConfig};
use crate::status::model::{
    ArgoStatus, EnvironmentStatus, JobOutcome, PodInfo, Revision, Rollout, ScheduledJob,
    WarningEvent, WorkloadKind, WorkloadStatus,
};
use crate::status::words;

fn kind_label(kind: WorkloadKind) -> &'static str {
    match kind {
        WorkloadKind::Deployment => "Deployment",
        WorkloadKind::StatefulSet => "StatefulSet",
    }
}

/// Image tags of a workload, "1.8.2" or "backend 1.8.2, proxy 1.27".
pub fn tags(images: &[crate::status::model::Image]) -> String {
    match images {
        [one] => one.tag.clone(),
        many => {
            many.iter().map(|i| format!("{} {}", i.container, i.tag)).collect::<Vec<_>>().join(", ")
        }
    }
}

/// A workload's state for operators: replicas and rollout.
pub fn technical(w: &WorkloadStatus) -> String {
    let mut text =
        format!("{}/{} ready · {}", w.ready, w.desired, words::rollout_words(&w.rollout));
    if let Some(a) = &w.autoscaler {
        text.push_str(&format!(" · autoscaled {}–{} (wants {})", a.min, a.max, a.desired));
    }
    text
}

/// The configured scaling bounds, in words.
pub fn bounds(config: Option<&WorkloadConfig>) -> String {
    match config {
        Some(c) if c.min_replicas == c.max_replicas => {
            format!("always {} (configured)", c.min_replicas)
        }
        Some(c) => format!("scalable {}–{}", c.min_replicas, c.max_replicas),
        None => "not configured: the panel will not scale it".to_owned(),
    }
}

/// Workloads, problems first: plain words next to the technical state.
pub fn workloads_table(
    env: &str,
    workloads: &[WorkloadStatus],
    config: &EnvironmentConfig,
) -> Table {
    let rows = workloads
        .iter()
        .map(|w| {
            let health = words::workload_health(w);
            let progress = match w.rollout {
                Rollout::Progressing { percent } => Some(percent),
                _ => None,
            };
            Row {
                key: w.name.clone(),
                health: Some(health.css().to_owned()),
                cells: vec![
                    Cell::text(&w.name)
                        .link(format!("/environments/{env}/workloads/{}", w.name))
                        .note(kind_label(w.kind)),
                    Cell::text(words::workload_plain(w))
                        .class(format!("health-{}", health.css()))
                        .note(technical(w))
                        .note(bounds(config.workload(&w.name)))
                        .progress(progress),
                    Cell::text(tags(&w.images)).class("mono"),
                    Cell::number(w.restarts),
                ],
            }
        })
        .collect();
    Table {
        name: "workloads".into(),
        columns: vec![col("Workload"), col("State"), col("Version"), num("Restarts")],
        rows,
        empty: "No Deployments or StatefulSets in this namespace.".into(),
    }
}

fn short_revision(revision: &str) -> String {
    revision.chars().take(7).collect()
}

/// Pods as `kubectl get pods` shows them, with their workload and revision.
pub fn pods_table(env: &str, pods: &[&PodInfo], show_workload: bool) -> Table {
    let rows = pods
        .iter()
        .map(|p| {
            let mut state = Cell::text(&p.state);
            if let Some(problem) = &p.problem {
                state = state.class("health-degraded").note(problem.message.clone());
            }
            // Each pod's own page: why it does not run, its logs.
            let mut cells = vec![Cell::text(&p.name)
                .class("mono")
                .link(format!("/environments/{env}/pods/{}", p.name))];
            if show_workload {
                cells.push(Cell::text(p.workload.clone().unwrap_or_default()));
            }
            let ready = Cell::text(format!("{}/{}", p.ready_containers, p.containers)).numeric();
            cells.extend([
                state,
                if p.ready_containers == p.containers { ready } else { ready.class("warn") },
                Cell::number(p.restarts),
                Cell::age(p.created_ms),
                Cell::text(p.revision.map(|r| r.to_string()).unwrap_or_default()).numeric(),
                Cell::text(p.node.clone().unwrap_or_default()).class("mono small"),
            ]);
            Row { key: p.name.clone(), health: None, cells }
        })
        .collect();
    let mut columns = vec![col("Pod")];
    if show_workload {
        columns.push(col("Workload"));
    }
    columns.extend([
        col("State"),
        num("Ready"),
        num("Restarts"),
        num("Age"),
        num("Revision"),
        col("Node"),
    ]);
    Table { name: "pods".into(), columns, rows, empty: "No pods.".into() }
}

/// A Deployment's ReplicaSets: the revisions it can roll back to.
pub fn revisions_table(revisions: &[&Revision]) -> Table {
    let rows = revisions
        .iter()
        .map(|r| Row {
            key: r.revision.to_string(),
            health: None,
            cells: vec![
                Cell::text(if r.current {
                    format!("{} (current)", r.revision)
                } else {
                    r.revision.to_string()
                })
                .numeric(),
                Cell::text(tags(&r.images)).class("mono"),
                Cell::text(&r.replicaset).class("mono small"),
                Cell::text(format!("{}/{}", r.ready, r.desired)).numeric(),
                Cell::age(r.created_ms),
            ],
        })
        .collect();
    Table {
        name: "revisions".into(),
        columns: vec![num("Revision"), col("Version"), col("ReplicaSet"), num("Ready"), num("Age")],
        rows,
        empty: "No ReplicaSets: revisions exist for Deployments only.".into(),
    }
}

/// CronJobs (backups, clean-ups) with their last run.
pub fn jobs_table(jobs: &[ScheduledJob]) -> Table {
    let rows = jobs
        .iter()
        .map(|j| {
            let last = match &j.last_run {
                None => Cell::text("never ran"),
                Some(run) => {
                    let outcome = match run.outcome {
                        JobOutcome::Running => "running",
                        JobOutcome::Succeeded => "succeeded",
                        JobOutcome::Failed => "FAILED",
                    };
                    let cell = match run.finished_ms.or(run.started_ms) {
                        Some(t) => Cell::with_age(format!("{outcome}, {AGE} ago"), t),
                        None => Cell::text(outcome),
                    };
                    if run.outcome == JobOutcome::Failed {
                        cell.class("health-degraded")
                    } else {
                        cell
                    }
                }
            };
            let name = if j.suspended { format!("{} (suspended)", j.name) } else { j.name.clone() };
            Row {
                key: j.name.clone(),
                health: None,
                cells: vec![
                    Cell::text(name),
                    Cell::text(&j.schedule).class("mono"),
                    last,
                    j.last_success_ms.map_or_else(
                        || Cell::text("never"),
                        |t| Cell::with_age(format!("{AGE} ago"), t),
                    ),
                ],
            }
        })
        .collect();
    Table {
        name: "jobs".into(),
        columns: vec![col("CronJob"), col("Schedule"), col("Last run"), col("Last success")],
        rows,
        empty: "No CronJobs in this namespace.".into(),
    }
}

/// Warning events, newest first.
pub fn events_table(events: &[&WarningEvent]) -> Table {
    let rows = events
        .iter()
        .map(|e| Row {
            key: e.object.clone(),
            health: None,
            cells: vec![
                Cell::age(e.last_ms),
                Cell::text(&e.object).class("mono small"),
                Cell::text(&e.reason),
                Cell::text(if e.count > 1 {
                    format!("{} (×{})", e.message, e.count)
                } else {
                    e.message.clone()
                }),
            ],
        })
        .collect();
    Table {
        name: "events".into(),
        columns: vec![num("When"), col("Object"), col("Reason"), col("Message")],
        rows,
        empty: "No warnings.".into(),
    }
}

fn fact(label: &str, value: String, class: &str) -> Fact {
    Fact { label: label.to_owned(), value, notes: Vec::new(), class: class.to_owned() }
}

/// The Argo CD Application as facts.
pub fn argo_facts(a: &ArgoStatus) -> Vec<Fact> {
    let mode = if a.auto_sync { "auto-sync on" } else { "manual sync" };
    let mut facts = vec![
        fact("Application", a.application.clone(), "mono"),
        fact("Sync", format!("{} · {mode}", a.sync), ""),
        fact("Health", a.health.clone(), ""),
        fact(
            "Revision",
            format!("{} (tracking {})", short_revision(&a.revision), a.target_revision),
            "mono",
        ),
    ];
    if let Some(op) = &a.last_operation {
        let when = words::when(op.finished_at.as_deref().unwrap_or(&op.started_at));
        let mut f = fact(
            "Last operation",
            format!("{} · by {} · {when}", op.phase, op.initiated_by),
            &format!("op-{}", op.phase.to_lowercase()),
        );
        if !op.message.is_empty() {
            f.notes.push(op.message.clone());
        }
        facts.push(f);
    }
    facts
}

/// One workload's page.
pub fn workload_detail(
    status: &EnvironmentStatus,
    w: &WorkloadStatus,
    config: Option<&WorkloadConfig>,
) -> WorkloadDetail {
    let name = w.name.as_str();
    let pods: Vec<&PodInfo> =
        status.pods.iter().filter(|p| p.workload.as_deref() == Some(name)).collect();
    let revisions: Vec<&Revision> =
        status.revisions.iter().filter(|r| r.workload == name).collect();
    // Events about the workload itself, its ReplicaSets or its pods (their names start
    // with the workload's).
    let events: Vec<&WarningEvent> = status
        .events
        .iter()
        .filter(|e| e.object.split_once('/').is_some_and(|(_, n)| n.starts_with(name)))
        .collect();
    let mut images = fact("Images", String::new(), "mono small");
    images.notes =
        w.images.iter().map(|i| format!("{}: {}:{}", i.container, i.repository, i.tag)).collect();
    let mut facts = vec![
        fact("State", technical(w), ""),
        fact("Version", tags(&w.images), "mono"),
        images,
        fact("Scaling", bounds(config), ""),
    ];
    if let Some(c) = config {
        facts.push(fact("Metrics selector", format!("{{{}}}", c.prometheus_selector), "mono"));
    }
    WorkloadDetail {
        name: w.name.clone(),
        health: words::workload_health(w),
        plain: words::workload_plain(w),
        problems: w
            .problems
            .iter()
            .map(|p| {
                let sentence = words::sentence(&words::problem_words(name, p));
                if p.message.is_empty() {
                    sentence
                } else {
                    format!("{sentence}: {}", p.message)
                }
            })
            .collect(),
        facts,
        grafana_url: config.and_then(|c| c.grafana_url.clone()),
        pods: pods_table(&status.name, &pods, false),
        revisions: revisions_table(&revisions),
        events: events_table(&events),
        metrics: status.figures.as_ref().and_then(|f| pod_figures(&pods, &f.pods)),
    }
}

/// A workload's pods in Prometheus' figures, in one line: "Memory: up to 290 MiB per
/// pod, of 512 MiB (57 %) · CPU: 0.13 cores in all · 3 of 3 pods reporting".
fn pod_figures(pods: &[&PodInfo], figures: &[crate::status::model::PodFigures]) -> Option<String> {
    let mine: Vec<_> = figures.iter().filter(|f| pods.iter().any(|p| p.name == f.pod)).collect();
    if mine.is_empty() {
        return None;
    }
    let mut parts = Vec::new();
    if let Some(peak) = mine.iter().filter(|f| f.memory_mib.is_some()).max_by_key(|f| f.memory_mib)
    {
        let used = peak.memory_mib.unwrap_or_default();
        parts.push(match peak.limit_mib.filter(|l| *l > 0) {
            Some(limit) => format!(
                "Memory: up to {used} MiB per pod, of {limit} MiB ({} %)",
                used * 100 / limit
            ),
            None => format!("Memory: up to {used} MiB per pod (no limit)"),
        });
    }
    let cpu: Vec<i64> = mine.iter().filter_map(|f| f.cpu_milli).collect();
    if !cpu.is_empty() {
        let total = cpu.iter().sum::<i64>();
        parts.push(format!("CPU: {}.{:02} cores in all", total / 1000, total % 1000 / 10));
    }
    parts.push(format!("{} of {} pods reporting", mine.len(), pods.len()));
    Some(parts.join(" · "))
}

/// Everything the environment page and its workload pages show.
pub fn detail(status: &EnvironmentStatus, config: &EnvironmentConfig) -> EnvironmentDetail {
    let health = status.verdict.health;
    let pods: Vec<&PodInfo> = status.pods.iter().collect();
    let events: Vec<&WarningEvent> = status.events.iter().collect();
    EnvironmentDetail {
        name: status.name.clone(),
        namespace: status.namespace.clone(),
        health,
        plain: format!(
            "{}. {}.",
            words::health_plain(health),
            words::sentence(&status.verdict.reason)
        ),
        stale_since: status.stale_since.as_deref().map(words::when),
        stale_reason: status.stale_reason.clone(),
        grafana_url: config.grafana_url.clone(),
        argo: status.argo.as_ref().map(argo_facts),
        workloads: workloads_table(&status.name, &status.workloads, config),
        pods: pods_table(&status.name, &pods, true),
        jobs: jobs_table(&status.jobs),
        events: events_table(&events),
        workload_pages: status
            .workloads
            .iter()
            .map(|w| workload_detail(status, w, config.workload(&w.name)))
            .collect(),
        metrics: status.figures.as_ref().map(words::figures),
        backup: status.backups.as_ref().map(|b| {
            let running = status
                .jobs
                .iter()
                .find(|j| j.name == config.backups.cronjob)
                .and_then(|j| j.last_run.as_ref())
                .filter(|r| r.outcome == crate::status::model::JobOutcome::Running)
                .map(|r| r.name.clone());
            (b.state.word().to_owned(), crate::backups::model::glance_words(b), running)
        }),
    }
}

#[cfg(test)]
mod tests;

/// The live view's presentation of a status (see `cluster::live::Present`): the pages'
/// content, the overview card, and the pages' HTML rendered once for every view and
/// every stream.
#[cfg(feature = "ssr")]
pub fn for_live(
    status: &EnvironmentStatus,
    config: &EnvironmentConfig,
) -> crate::cluster::live::Presented {
    let detail = detail(status, config);
    let pages = std::sync::Arc::new(super::pages(&detail, chrono::Utc::now().timestamp_millis()));
    let pages_json = crate::cluster::live::to_json(&*pages);
    crate::cluster::live::Presented {
        card: crate::overview::card(status),
        detail,
        pages,
        pages_json,
    }
}
