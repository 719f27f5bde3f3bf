use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::parts::{self, EventsTable, PodsTable, RevisionsTable, StaleBanner};
use super::Followed;
use crate::error::AppError;
use crate::live::{Connection, LiveIndicator};
use crate::status::model::EnvironmentStatus;
use crate::status::words;

#[component]
pub fn WorkloadPage() -> impl IntoView {
    let followed = Followed::start();
    let env = followed.env;
    let params = use_params_map();
    let workload = Memo::new(move |_| params.with(|p| p.get("workload").unwrap_or_default()));
    let connection = followed.connection;
    view! {
        <Title text=move || format!("{} in {}", workload.get(), env.get())/>
        <nav class="crumbs" aria-label="Breadcrumb">
            <a href="/">"Environments"</a>
            " / "
            <a href=move || format!("/environments/{}", env.get())>{move || env.get()}</a>
            " / "
            <span>{move || workload.get()}</span>
        </nav>
        <Transition fallback=|| view! { <p class="muted">"Loading the workload…"</p> }>
            <ErrorBoundary fallback=parts::error_panel>
                {move || {
                    followed
                        .current()
                        .map(|result| {
                            result
                                .and_then(|(status, now)| {
                                    let name = workload.get();
                                    if status.workloads.iter().any(|w| w.name == name) {
                                        Ok(view! { <WorkloadDetail status name now connection/> })
                                    } else {
                                        Err(AppError::not_found(format!(
                                            "There is no workload named “{name}” in {}.",
                                            status.name
                                        )))
                                    }
                                })
                        })
                }}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn WorkloadDetail(
    status: EnvironmentStatus,
    name: String,
    now: i64,
    connection: ReadSignal<Connection>,
) -> impl IntoView {
    let EnvironmentStatus { workloads, pods, revisions, events, stale_since, .. } = status;
    let Some(w) = workloads.into_iter().find(|w| w.name == name) else {
        return ().into_any();
    };
    let health = words::workload_health(&w);
    let pods: Vec<_> = pods.into_iter().filter(|p| p.workload.as_deref() == Some(&name)).collect();
    let revisions: Vec<_> = revisions.into_iter().filter(|r| r.workload == name).collect();
    // Events about the workload itself, its ReplicaSets or its pods (their names start
    // with the workload's).
    let events: Vec<_> = events
        .into_iter()
        .filter(|e| e.object.split_once('/').is_some_and(|(_, n)| n.starts_with(&name)))
        .collect();
    let problems = w
        .problems
        .iter()
        .map(|p| view! { <li>{words::sentence(&words::problem_words(&w.name, p))} ": " {p.message.clone()}</li> })
        .collect_view();
    view! {
        <header class="page-header">
            <h1>{w.name.clone()}</h1>
            <span class=format!("badge health-{}", health.css()) id="workload-health" data-health=health.css()>
                {health.label()}
            </span>
            <LiveIndicator state=connection/>
        </header>
        <StaleBanner since=stale_since/>
        <p class="plain lead">{words::workload_plain(&w)}</p>
        <p class="muted">{parts::technical(&w)} " · version " <span class="mono">{parts::tags(&w.images)}</span></p>
        <ul class="problems">{problems}</ul>
        <section class="panel">
            <h2>"Pods"</h2>
            <PodsTable pods now show_workload=false/>
        </section>
        <section class="panel">
            <h2>"Revisions"</h2>
            <RevisionsTable revisions now/>
        </section>
        <section class="panel">
            <h2>"Recent warnings"</h2>
            <EventsTable events now/>
        </section>
    }
    .into_any()
}
