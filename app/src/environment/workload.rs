use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::parts::{self, EventsTable, PodsTable, RevisionsTable, StaleBanner};
use super::{Current, Followed};
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
                                .and_then(|current| {
                                    let name = workload.get();
                                    if current.status.workloads.iter().any(|w| w.name == name) {
                                        Ok(view! { <WorkloadDetail current name connection/> })
                                    } else {
                                        Err(AppError::not_found(format!(
                                            "There is no workload named “{name}” in {}.",
                                            current.status.name
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
    current: Current,
    name: String,
    connection: ReadSignal<Connection>,
) -> impl IntoView {
    let Current { status, config, now } = current;
    let EnvironmentStatus { workloads, pods, revisions, events, stale_since, .. } = status;
    let configured = config.workload(&name).cloned();
    let grafana = configured.as_ref().and_then(|c| c.grafana_url.clone()).map(|url| {
        view! { <a class="button" href=url target="_blank" rel="noopener">"Grafana"</a> }
    });
    let selector = configured.as_ref().map(|c| {
        view! { <dt>"Metrics selector"</dt><dd class="mono">"{" {c.prometheus_selector.clone()} "}"</dd> }
    });
    let bounds = parts::bounds(configured.as_ref());
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
            {grafana}
            <LiveIndicator state=connection/>
        </header>
        <StaleBanner since=stale_since/>
        <p class="plain lead">{words::workload_plain(&w)}</p>
        <ul class="problems">{problems}</ul>
        <section class="panel">
            <dl class="facts">
                <dt>"State"</dt><dd>{parts::technical(&w)}</dd>
                <dt>"Version"</dt><dd class="mono">{parts::tags(&w.images)}</dd>
                <dt>"Images"</dt>
                <dd class="mono small">
                    {w.images.iter().map(|i| view! { <div>{format!("{}: {}:{}", i.container, i.repository, i.tag)}</div> }).collect_view()}
                </dd>
                <dt>"Scaling"</dt><dd id="bounds">{bounds}</dd>
                {selector}
            </dl>
        </section>
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
