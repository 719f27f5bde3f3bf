use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::model::WorkloadDetail;
use super::parts::{self, Facts, StaleBanner};
use super::table::DataTable;
use super::{Current, Followed, Loaded};
use crate::error::AppError;
use crate::live::{Connection, LiveIndicator};

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
        <Loaded
            followed
            render=Callback::new(move |current: Current| {
                let name = workload.get();
                let Current { detail, now } = current;
                let stale_since = detail.stale_since;
                match detail.workload_pages.into_iter().find(|w| w.name == name) {
                    Some(page) => {
                        Ok(view! { <WorkloadSection page stale_since now connection/> }.into_any())
                    }
                    None => Err(AppError::not_found(format!(
                        "There is no workload named “{name}” in {}.",
                        detail.name
                    ))),
                }
            })
        />
    }
}

#[component]
fn WorkloadSection(
    page: WorkloadDetail,
    stale_since: Option<String>,
    now: i64,
    connection: ReadSignal<Connection>,
) -> impl IntoView {
    let WorkloadDetail {
        name,
        health,
        plain,
        problems,
        facts,
        grafana_url,
        pods,
        revisions,
        events,
    } = page;
    let problems = problems.into_iter().map(|p| view! { <li>{p}</li> }).collect_view();
    view! {
        <header class="page-header">
            <h1>{name}</h1>
            <span class=format!("badge health-{}", health.css()) id="workload-health" data-health=health.css()>
                {health.label()}
            </span>
            {parts::grafana(grafana_url)}
            <LiveIndicator state=connection/>
        </header>
        <StaleBanner since=stale_since/>
        <p class="plain lead">{plain}</p>
        <ul class="problems">{problems}</ul>
        <section class="panel">
            <Facts facts id="workload-facts"/>
        </section>
        <section class="panel">
            <h2>"Pods"</h2>
            <DataTable table=pods now/>
        </section>
        <section class="panel">
            <h2>"Revisions"</h2>
            <DataTable table=revisions now/>
        </section>
        <section class="panel">
            <h2>"Recent warnings"</h2>
            <DataTable table=events now/>
        </section>
    }
    .into_any()
}
