//! The tables and panels the environment and workload pages are made of.

use leptos::prelude::*;

use crate::context::{EnvironmentConfig, WorkloadConfig};
use crate::status::model::{
    ArgoStatus, JobOutcome, PodInfo, Revision, Rollout, ScheduledJob, WarningEvent, WorkloadKind,
    WorkloadStatus,
};
use crate::status::words;

/// The error boundary's panel: what went wrong, in words.
pub fn error_panel(errors: ArcRwSignal<Errors>) -> impl IntoView {
    view! {
        <section class="panel error" role="alert">
            <h2>"Cannot show this page"</h2>
            <ul>
                {move || {
                    errors.get().into_iter().map(|(_, e)| view! { <li>{e.to_string()}</li> }).collect_view()
                }}
            </ul>
            <p><a href="/">"Back to the environments"</a></p>
        </section>
    }
}

/// Shown while the cluster cannot be reached: the page keeps the last known state.
#[component]
pub fn StaleBanner(since: Option<String>) -> impl IntoView {
    since.map(|since| {
        view! {
            <p class="stale banner" role="alert" id="stale-banner">
                "Stale since " {words::when(&since)} ": the Kubernetes API cannot be reached. "
                "This is the last known state; it updates by itself when the API is back."
            </p>
        }
    })
}

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

#[component]
pub fn WorkloadsTable(
    env: String,
    workloads: Vec<WorkloadStatus>,
    config: EnvironmentConfig,
) -> impl IntoView {
    if workloads.is_empty() {
        return view! { <p class="muted">"No Deployments or StatefulSets in this namespace."</p> }
            .into_any();
    }
    let rows = workloads
        .into_iter()
        .map(move |w| {
            let health = words::workload_health(&w);
            let href = format!("/environments/{env}/workloads/{}", w.name);
            let progress = match w.rollout {
                Rollout::Progressing { percent } => Some(view! {
                    <progress max="100" value=percent aria-label=format!("rollout of {}", w.name)></progress>
                }),
                _ => None,
            };
            view! {
                <tr data-workload=w.name.clone() data-health=health.css()>
                    <td><a href=href>{w.name.clone()}</a><div class="muted small">{kind_label(w.kind)}</div></td>
                    <td>
                        <span class=format!("health-{}", health.css())>{words::workload_plain(&w)}</span>
                        <div class="muted small">{technical(&w)}</div>
                        <div class="muted small">{bounds(config.workload(&w.name))}</div>
                        {progress}
                    </td>
                    <td class="mono">{tags(&w.images)}</td>
                    <td class="num">{w.restarts}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="table">
            <thead><tr><th>"Workload"</th><th>"State"</th><th>"Version"</th><th class="num">"Restarts"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

fn short_revision(revision: &str) -> String {
    revision.chars().take(7).collect()
}

#[component]
pub fn ArgoPanel(argo: Option<ArgoStatus>) -> impl IntoView {
    let Some(a) = argo else {
        return view! {
            <section class="panel"><h2>"Argo CD"</h2><p class="muted">"No Argo CD application is configured for this environment."</p></section>
        }
        .into_any();
    };
    let operation = a.last_operation.map(|op| {
        let when = words::when(op.finished_at.as_deref().unwrap_or(&op.started_at));
        let phase_class = format!("op-{}", op.phase.to_lowercase());
        view! {
            <dt>"Last operation"</dt>
            <dd>
                <span class=phase_class>{op.phase}</span>
                " · by " {op.initiated_by} " · " {when}
                <div class="muted small">{op.message}</div>
            </dd>
        }
    });
    view! {
        <section class="panel" id="argo">
            <h2>"Argo CD"</h2>
            <dl class="facts">
                <dt>"Application"</dt><dd class="mono">{a.application}</dd>
                <dt>"Sync"</dt><dd>{a.sync} " · " {if a.auto_sync { "auto-sync on" } else { "manual sync" }}</dd>
                <dt>"Health"</dt><dd>{a.health}</dd>
                <dt>"Revision"</dt>
                <dd class="mono" title=a.revision.clone()>{short_revision(&a.revision)} " (tracking " {a.target_revision} ")"</dd>
                {operation}
            </dl>
        </section>
    }
    .into_any()
}

#[component]
pub fn PodsTable(pods: Vec<PodInfo>, now: i64, show_workload: bool) -> impl IntoView {
    if pods.is_empty() {
        return view! { <p class="muted">"No pods."</p> }.into_any();
    }
    let rows = pods
        .into_iter()
        .map(|p| {
            let ready_class = if p.ready_containers == p.containers { "" } else { "warn" };
            let problem = p.problem.as_ref().map(|pr| view! { <div class="muted small">{pr.message.clone()}</div> });
            let workload = show_workload.then(|| view! { <td>{p.workload.clone().unwrap_or_default()}</td> });
            let state_class = if p.problem.is_some() { "health-degraded" } else { "" };
            view! {
                <tr data-pod=p.name.clone()>
                    <td class="mono">{p.name.clone()}</td>
                    {workload}
                    <td><span class=state_class>{p.state.clone()}</span>{problem}</td>
                    <td class=format!("num {ready_class}")>{p.ready_containers} "/" {p.containers}</td>
                    <td class="num">{p.restarts}</td>
                    <td class="num">{words::age(p.created_ms, now)}</td>
                    <td class="num">{p.revision.map(|r| r.to_string()).unwrap_or_default()}</td>
                    <td class="mono small">{p.node.clone().unwrap_or_default()}</td>
                </tr>
            }
        })
        .collect_view();
    let workload_head = show_workload.then(|| view! { <th>"Workload"</th> });
    view! {
        <table class="table">
            <thead>
                <tr>
                    <th>"Pod"</th>{workload_head}<th>"State"</th><th class="num">"Ready"</th>
                    <th class="num">"Restarts"</th><th class="num">"Age"</th><th class="num">"Revision"</th><th>"Node"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

#[component]
pub fn RevisionsTable(revisions: Vec<Revision>, now: i64) -> impl IntoView {
    if revisions.is_empty() {
        return view! { <p class="muted">"No ReplicaSets: revisions exist for Deployments only."</p> }.into_any();
    }
    let rows = revisions
        .into_iter()
        .map(|r| {
            let current = r.current.then(|| view! { <span class="badge">"current"</span> });
            view! {
                <tr data-revision=r.revision>
                    <td class="num">{r.revision} " " {current}</td>
                    <td class="mono">{tags(&r.images)}</td>
                    <td class="mono small">{r.replicaset.clone()}</td>
                    <td class="num">{r.ready} "/" {r.desired}</td>
                    <td class="num">{words::age(r.created_ms, now)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="table">
            <thead><tr><th class="num">"Revision"</th><th>"Version"</th><th>"ReplicaSet"</th><th class="num">"Ready"</th><th class="num">"Age"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

#[component]
pub fn JobsTable(jobs: Vec<ScheduledJob>, now: i64) -> impl IntoView {
    if jobs.is_empty() {
        return view! { <p class="muted">"No CronJobs in this namespace."</p> }.into_any();
    }
    let rows = jobs
        .into_iter()
        .map(|j| {
            let last = match &j.last_run {
                None => "never ran".to_owned(),
                Some(run) => {
                    let outcome = match run.outcome {
                        JobOutcome::Running => "running",
                        JobOutcome::Succeeded => "succeeded",
                        JobOutcome::Failed => "FAILED",
                    };
                    let when = run
                        .finished_ms
                        .or(run.started_ms)
                        .map(|t| format!(", {} ago", words::age(t, now)));
                    format!("{outcome}{}", when.unwrap_or_default())
                }
            };
            let failed = j.last_run.as_ref().is_some_and(|r| r.outcome == JobOutcome::Failed);
            let success = j
                .last_success_ms
                .map_or_else(|| "never".to_owned(), |t| format!("{} ago", words::age(t, now)));
            view! {
                <tr data-job=j.name>
                    <td>{j.name.clone()} {j.suspended.then_some(" (suspended)")}</td>
                    <td class="mono">{j.schedule.clone()}</td>
                    <td class=if failed { "health-degraded" } else { "" }>{last}</td>
                    <td>{success}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="table">
            <thead><tr><th>"CronJob"</th><th>"Schedule"</th><th>"Last run"</th><th>"Last success"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

#[component]
pub fn EventsTable(events: Vec<WarningEvent>, now: i64) -> impl IntoView {
    if events.is_empty() {
        return view! { <p class="muted">"No warnings."</p> }.into_any();
    }
    let rows = events
        .into_iter()
        .map(|e| {
            view! {
                <tr>
                    <td class="num">{words::age(e.last_ms, now)}</td>
                    <td class="mono small">{e.object}</td>
                    <td>{e.reason}</td>
                    <td>{e.message} {(e.count > 1).then(|| format!(" (×{})", e.count))}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="table">
            <thead><tr><th class="num">"When"</th><th>"Object"</th><th>"Reason"</th><th>"Message"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}
