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

/// A link to a Grafana dashboard, when one is configured.
pub fn grafana(url: Option<String>) -> impl IntoView {
    url.map(|url| view! { <a class="button" href=url target="_blank" rel="noopener">"Grafana"</a> })
}
