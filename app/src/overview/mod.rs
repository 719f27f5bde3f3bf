//! The overview: every environment side by side, the screen an operator keeps open.

mod api;
pub mod model;

pub use api::{get_overview, GetOverview};
#[cfg(feature = "ssr")]
pub use model::card;
pub use model::{EnvironmentCard, Health, Overview};

use leptos::prelude::*;
use leptos_meta::Title;

use crate::live::{self, LiveIndicator};

#[component]
pub fn OverviewPage() -> impl IntoView {
    // Bumped by the refresh button; the resource re-runs the server function.
    let refreshes = RwSignal::new(0_u32);
    let overview = Resource::new(move || refreshes.get(), |_| get_overview());
    // Cards pushed by the server since the page loaded; they replace the loaded ones.
    let pushed: RwSignal<Vec<EnvironmentCard>> = RwSignal::new(Vec::new());
    let connection = live::follow(live::View::Card, Vec::new, move |fresh: EnvironmentCard| {
        pushed.update(|cards| match cards.iter_mut().find(|c| c.name == fresh.name) {
            Some(slot) => *slot = fresh,
            None => cards.push(fresh),
        });
    });

    view! {
        <Title text="Environments"/>
        <header class="page-header">
            <h1>"Environments"</h1>
            <LiveIndicator state=connection/>
            <button
                type="button"
                class="button"
                id="refresh"
                on:click=move |_| refreshes.update(|n| *n += 1)
            >
                "Refresh"
            </button>
        </header>
        <Transition fallback=|| view! { <p class="muted">"Loading environments…"</p> }>
            <ErrorBoundary fallback=|errors| {
                view! {
                    <section class="panel error" role="alert">
                        <h2>"Could not load the environments"</h2>
                        <ul>
                            {move || {
                                errors
                                    .get()
                                    .into_iter()
                                    .map(|(_, e)| view! { <li>{e.to_string()}</li> })
                                    .collect_view()
                            }}
                        </ul>
                    </section>
                }
            }>
                {move || {
                    overview
                        .get()
                        .map(|result| {
                            result
                                .map(|mut o| {
                                    pushed
                                        .with(|cards| {
                                            for c in &mut o.environments {
                                                if let Some(p) = cards.iter().find(|p| p.name == c.name) {
                                                    c.clone_from(p);
                                                }
                                            }
                                        });
                                    view! { <OverviewGrid overview=o/> }
                                })
                        })
                }}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn OverviewGrid(overview: Overview) -> impl IntoView {
    let Overview { environments, generated_at, refresh_count } = overview;
    view! {
        <p class="muted as-of" id="as-of" data-refresh=refresh_count>
            "Loaded " {generated_at} "; cards update by themselves while live."
        </p>
        <div class="env-grid">
            {environments
                .into_iter()
                .map(|env| view! { <EnvironmentTile env/> })
                .collect_view()}
        </div>
    }
}

#[component]
fn EnvironmentTile(env: EnvironmentCard) -> impl IntoView {
    let EnvironmentCard {
        name,
        namespace,
        health,
        plain,
        summary,
        problems,
        version,
        sync,
        rollouts,
        healthy_workloads,
        replicas,
        stale_since,
        attention,
        pinned,
        figures,
        backup,
    } = env;
    // The view macro builds children before attributes: each needs its own copy.
    let heading = name.clone();
    let href = format!("/environments/{name}");
    let stale = stale_since.map(|since| {
        view! {
            <p class="stale" role="alert">
                "Stale since " {crate::status::words::when(&since)} ": the cluster cannot be reached; showing the last known state."
            </p>
        }
    });
    let version = version.map(|v| view! { <p class="version">"Version " <strong>{v}</strong></p> });
    let sync = sync.map(|(state, auto)| {
        let mode = if auto { "auto-sync on" } else { "manual sync" };
        view! { <p class="muted">"Argo CD: " {state} " · " {mode}</p> }
    });
    let problems = (!problems.is_empty()).then(|| {
        view! {
            <ul class="problems">
                {problems.into_iter().map(|p| view! { <li>{p}</li> }).collect_view()}
            </ul>
        }
    });
    let bars = rollouts
        .into_iter()
        .map(|(workload, percent)| {
            view! {
                <div class="rollout">
                    <span>"Rolling out " {workload.clone()} " · " {percent} "%"</span>
                    <progress max="100" value=percent aria-label=format!("rollout of {workload}")></progress>
                </div>
            }
        })
        .collect_view();
    // Waiting for people: pending approvals, unacknowledged break-glass runs.
    let waiting = (attention.pending > 0).then(|| {
        let n = attention.pending;
        view! {
            <a class="badge attention pending-approvals" href="/approvals">
                {n} {if n == 1 { " request awaits approval" } else { " requests await approval" }}
            </a>
        }
    });
    let glass = (attention.unacknowledged > 0).then(|| {
        view! {
            <a class="badge attention break-glass" href="/approvals">
                "Break-glass run not yet acknowledged"
            </a>
        }
    });
    let pinned = pinned.map(|p| view! { <p class="pinned">{p}</p> });
    // The backend's last five minutes and the alerts firing, from Prometheus.
    let metrics_href = format!("/monitoring?env={name}");
    let figures = figures.map(|f| {
        let firing = (f.firing > 0).then(|| {
            let n = f.firing;
            let text = format!("{n} alert{} firing", if n == 1 { "" } else { "s" });
            view! { <a class="badge alerts-firing" href=format!("{metrics_href}#alerts")>{text}</a> }
        });
        view! {
            <div class="figures">
                {firing}
                <p class="figures-words">"Backend: " {f.words}</p>
                <p class="muted small">
                    <a href=metrics_href.clone()>"Last 5 min"</a> ": " {f.line}
                </p>
            </div>
        }
    });
    let backup = backup.map(|(state, text)| {
        view! { <a class=format!("badge backup-{state}") data-backup=state href=format!("/backups?env={name}")>{text}</a> }
    });
    let (healthy, total) = healthy_workloads;
    let (ready, desired) = replicas;
    let is_stale = stale.is_some().to_string();
    view! {
        <article class="env-card" data-env=name data-health=health.css() data-desired=desired data-stale=is_stale>
            <header>
                <h2><a href=href>{heading}</a></h2>
                <span class=format!("badge health-{}", health.css())>{health.label()}</span>
            </header>
            <p class="plain">{plain}</p>
            <p class="muted mono">{namespace}</p>
            {stale}
            {waiting}
            {glass}
            {pinned}
            {problems}
            {version}
            <p class="summary">{summary}</p>
            {figures}
            {backup}
            {bars}
            <p class="muted workloads-count">
                {healthy} " of " {total} " workloads running normally · " {ready} "/" {desired} " replicas ready"
            </p>
            {sync}
        </article>
    }
}
