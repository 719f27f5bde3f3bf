//! The environment and workload pages' content, rendered to HTML on the server — for the
//! first render and, once per change, for the live stream. The browser swaps the HTML in
//! and keeps ages current; it carries no code to render these pages itself, which keeps
//! its WebAssembly within the first-load budget.

use leptos::prelude::*;

use super::model::{EnvironmentDetail, PageHtml, WorkloadDetail};
use super::parts::{self, Facts, StaleBanner};
use super::table::{DataTable, Table};

/// Both pages of an environment at `now` (ms since the epoch: what ages count from).
pub fn pages(detail: &EnvironmentDetail, now: i64) -> PageHtml {
    let owner = Owner::new();
    owner.with(|| PageHtml {
        name: detail.name.clone(),
        environment: environment(detail.clone(), now),
        workloads: detail
            .workload_pages
            .iter()
            .map(|w| {
                let stale = (detail.stale_since.clone(), detail.stale_reason.clone());
                (w.name.clone(), workload(&detail.name, w.clone(), stale, now))
            })
            .collect(),
    })
}

fn environment(detail: EnvironmentDetail, now: i64) -> String {
    let EnvironmentDetail {
        name,
        namespace,
        health,
        plain,
        stale_since,
        stale_reason,
        grafana_url,
        argo,
        workloads,
        pods,
        jobs,
        events,
        workload_pages: _,
        metrics,
        backup,
    } = detail;
    let argo = match argo {
        Some(facts) => view! { <Facts facts id="argo"/> }.into_any(),
        None => view! {
            <p class="muted">"No Argo CD application is configured for this environment."</p>
        }
        .into_any(),
    };
    let history = format!("/history?env={name}");
    let charts = format!("/monitoring?env={name}");
    let metrics = parts::metrics(metrics, &charts);
    let backups = parts::backups(backup, &name);
    view! {
        <header class="page-header">
            <h1 class="env-title">{name}</h1>
            <span class=format!("badge health-{}", health.css()) id="env-health" data-health=health.css()>
                {health.label()}
            </span>
            <a class="button" href=history id="env-history">"History"</a>
            <a class="button" href=charts id="env-metrics-link">"Metrics"</a>
            {parts::grafana(grafana_url)}
        </header>
        <StaleBanner since=stale_since reason=stale_reason/>
        <p class="plain lead">{plain}</p>
        <p class="muted mono">"namespace " {namespace}</p>
        {metrics}
        {backups}
        <TablePanel title="Workloads" table=workloads now/>
        <section class="panel">
            <h2>"Argo CD"</h2>
            {argo}
        </section>
        <TablePanel title="Pods" table=pods now/>
        <TablePanel title="Scheduled jobs" table=jobs now/>
        <TablePanel title="Recent warnings" table=events now/>
    }
    .to_html()
}

/// `stale`: since when and why the view is stale, if it is.
fn workload(
    environment: &str,
    page: WorkloadDetail,
    stale: (Option<String>, Option<String>),
    now: i64,
) -> String {
    let (stale_since, stale_reason) = stale;
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
        metrics,
    } = page;
    let problems = problems.into_iter().map(|p| view! { <li>{p}</li> }).collect_view();
    // Kubernetes keeps a few revisions; the panel's record keeps them all.
    let history = format!("/history?env={environment}&workload={name}");
    let charts = format!("/monitoring?env={environment}&workload={name}");
    // Shown to everyone: who may not read logs is told why on that page.
    let logs = format!("/environments/{environment}/workloads/{name}/logs");
    view! {
        <header class="page-header">
            <h1>{name}</h1>
            <span class=format!("badge health-{}", health.css()) id="workload-health" data-health=health.css()>
                {health.label()}
            </span>
            <a class="button" href=history id="workload-history">"Full history"</a>
            <a class="button" href=charts.clone() id="workload-metrics-link">"Metrics"</a>
            <a class="button" href=logs id="workload-logs-link">"Logs"</a>
            {parts::grafana(grafana_url)}
        </header>
        <StaleBanner since=stale_since reason=stale_reason/>
        <p class="plain lead">{plain}</p>
        <ul class="problems">{problems}</ul>
        <section class="panel">
            <Facts facts id="workload-facts"/>
        </section>
        <section class="panel" id="workload-metrics">
            <h2>"Metrics"</h2>
            {match metrics {
                Some(line) => view! { <p>"Last 5 minutes: " {line}</p> }.into_any(),
                None => view! { <p class="muted">"No figures for its pods yet: they come from Prometheus, when one is configured and scrapes them."</p> }.into_any(),
            }}
            <p><a href=charts>"Charts: CPU, memory, restarts of its pods"</a></p>
        </section>
        <TablePanel title="Pods" table=pods now/>
        <TablePanel title="Revisions" table=revisions now/>
        <TablePanel title="Recent warnings" table=events now/>
    }
    .to_html()
}

/// A titled panel holding one table.
#[component]
fn TablePanel(title: &'static str, table: Table, now: i64) -> impl IntoView {
    view! {
        <section class="panel">
            <h2>{title}</h2>
            <DataTable table now/>
        </section>
    }
}
