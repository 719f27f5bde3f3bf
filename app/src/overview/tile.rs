//! The overview's card for one environment, rendered once per change of its status (with
//! the card, by the live view): every view of the overview writes the same HTML, and the
//! stream brings the next version whole, so no page view renders a card.

use leptos::prelude::*;

use super::model::EnvironmentCard;
use crate::status::model::EnvironmentStatus;

/// The overview's card for `status`, with its HTML.
pub fn card(status: &EnvironmentStatus) -> EnvironmentCard {
    rendered(super::model::card(status))
}

/// `card` with its HTML.
pub fn rendered(mut card: EnvironmentCard) -> EnvironmentCard {
    card.html = Owner::new().with(|| tile(card.clone()).to_html());
    card
}

fn tile(env: EnvironmentCard) -> impl IntoView {
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
        html: _,
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
