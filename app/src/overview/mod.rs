//! The overview: every environment side by side, the screen an operator keeps open.

mod api;
mod model;

pub use api::{get_overview, GetOverview};
pub use model::{EnvironmentCard, Health, Overview};

use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn OverviewPage() -> impl IntoView {
    // Bumped by the refresh button; the resource re-runs the server function.
    let refreshes = RwSignal::new(0_u32);
    let overview = Resource::new(move || refreshes.get(), |_| get_overview());

    view! {
        <Title text="Environments"/>
        <header class="page-header">
            <h1>"Environments"</h1>
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
                {move || overview.get().map(|result| result.map(|o| view! { <OverviewGrid overview=o/> }))}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn OverviewGrid(overview: Overview) -> impl IntoView {
    let Overview { environments, generated_at, refresh_count } = overview;
    view! {
        <p class="muted as-of" id="as-of" data-refresh=refresh_count>
            "As of " {generated_at}
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
    let EnvironmentCard { name, namespace, health, summary, version, sync, rollouts, stale_since } =
        env;
    // The view macro builds children before attributes: each needs its own copy.
    let heading = name.clone();
    let stale = stale_since.map(|since| {
        view! {
            <p class="stale" role="status">
                "Not refreshed since " {since} ": showing the last known state."
            </p>
        }
    });
    let version = version.map(|v| view! { <p class="version">"Version " <strong>{v}</strong></p> });
    let sync = sync.map(|(state, auto)| {
        let mode = if auto { "auto-sync on" } else { "manual sync" };
        view! { <p class="muted">"Argo CD: " {state} " · " {mode}</p> }
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
    view! {
        <article class="env-card" data-env=name data-health=health.css()>
            <header>
                <h2>{heading}</h2>
                <span class=format!("badge health-{}", health.css())>{health.label()}</span>
            </header>
            <p class="muted mono">{namespace}</p>
            {stale}
            {version}
            <p class="summary">{summary}</p>
            {bars}
            {sync}
        </article>
    }
}
