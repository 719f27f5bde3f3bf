//! The panels the environment and workload pages are made of (tables are `table`).

use leptos::prelude::*;

use super::model::Fact;

/// Shown while the cluster cannot be reached: the page keeps the last known state.
#[component]
pub fn StaleBanner(since: Option<String>, reason: Option<String>) -> impl IntoView {
    since.map(|since| {
        let reason = reason.map(|r| view! { <span class="small muted">" Last error: " {r}</span> });
        view! {
            <p class="stale banner" role="alert" id="stale-banner">
                "Stale since " {since} ": the Kubernetes API cannot be reached. "
                "This is the last known state; it updates by itself when the API is back."
                {reason}
            </p>
        }
    })
}

/// Facts as a definition list.
#[component]
pub fn Facts(facts: Vec<Fact>, id: &'static str) -> impl IntoView {
    let items = facts
        .into_iter()
        .map(|f| {
            let notes = f
                .notes
                .into_iter()
                .map(|n| view! { <div class="muted small">{n}</div> })
                .collect_view();
            view! {
                <dt>{f.label}</dt>
                <dd class=f.class>{f.value}{notes}</dd>
            }
        })
        .collect_view();
    view! { <dl class="facts" id=id>{items}</dl> }
}

/// The environment's Metrics panel: the backend's last five minutes in words and figures,
/// the alerts firing, and the way to its charts.
/// The Backups panel: the state in words, the backup running now, and the way to all runs.
pub fn backups(
    backup: Option<(String, String, Option<String>)>,
    environment: &str,
) -> impl IntoView {
    let href = format!(
        "/backups?env={}",
        url::form_urlencoded::byte_serialize(environment.as_bytes()).collect::<String>()
    );
    let body = match backup {
        Some((state, words, running)) => {
            // The view macro builds children before attributes: each needs its own copy.
            let label = state.clone();
            let running = running.map(|job| {
                view! { <p role="status" id="env-backup-running">"A backup is running: " <code>{job}</code></p> }
            });
            view! {
                <p class="plain"><span class=format!("badge backup-{state}") data-backup=state>{label}</span> " " {words}</p>
                {running}
            }
            .into_any()
        }
        None => {
            view! { <p class="muted">"Not known yet: the recorded runs have not been read."</p> }
                .into_any()
        }
    };
    view! {
        <section class="panel" id="env-backups">
            <h2>"Backups"</h2>
            {body}
            <p><a href=href>"Every run, the schedule and Back up now"</a></p>
        </section>
    }
}

pub fn metrics(
    figures: Option<crate::overview::model::CardFigures>,
    charts: &str,
) -> impl IntoView {
    let body = match figures {
        Some(f) => {
            let firing = (f.firing > 0).then(|| {
                let text = format!("{} alert{} firing", f.firing, if f.firing == 1 { "" } else { "s" });
                view! { <a class="badge alerts-firing" href=format!("{charts}#alerts")>{text}</a> }
            });
            view! {
                {firing}
                <p class="plain">"Backend: " {f.words}</p>
                <p class="muted small">"Last 5 minutes: " {f.line}</p>
            }
            .into_any()
        }
        None => view! {
            <p class="muted">"No figures yet: they come from Prometheus, when one is configured."</p>
        }
        .into_any(),
    };
    view! {
        <section class="panel" id="env-metrics">
            <h2>"Metrics"</h2>
            {body}
            <p><a href=charts.to_owned()>"Charts and alerts"</a></p>
        </section>
    }
}

/// A link to a Grafana dashboard, when one is configured.
pub fn grafana(url: Option<String>) -> impl IntoView {
    url.map(|url| view! { <a class="button" href=url target="_blank" rel="noopener">"Grafana"</a> })
}
