//! The environment and workload pages' content, rendered to HTML on the server once per
//! change — for the live stream and for every view, which only brings the ages to its own
//! time. The browser swaps the HTML in
//! and keeps ages current; it carries no code to render these pages itself, which keeps
//! its WebAssembly within the first-load budget.

use leptos::prelude::*;

use super::model::{EnvironmentDetail, PageHtml, WorkloadDetail};
use super::parts::{self, Facts, StaleBanner};
use super::table::{DataTable, Table};

/// Every page of an environment at `now` (ms since the epoch: what ages count from): what
/// the live stream sends once per change, for whichever page a browser has open.
pub fn pages(detail: &EnvironmentDetail, now: i64) -> PageHtml {
    let owner = Owner::new();
    owner.with(|| PageHtml {
        name: detail.name.clone(),
        environment: environment(detail, now),
        workloads: detail
            .workload_pages
            .iter()
            .map(|w| (w.name.clone(), workload(detail, w, now)))
            .collect(),
    })
}

/// The one page a request shows, from the pages as rendered at the last change: the
/// environment's (`workload` None, the workload pages left out) or one workload's (the
/// environment's HTML left empty), its ages brought to `now`. `None` when there is no
/// such workload. Rendering every page of the environment for each view made the
/// environment page cost as many renderings as it has workloads; rendering even the one
/// page was most of a view's cost, while only its ages move between changes.
pub fn page(pages: &PageHtml, workload: Option<&str>, now: i64) -> Option<PageHtml> {
    let (environment, workloads) = match workload {
        None => (restamp(&pages.environment, now), Vec::new()),
        Some(name) => {
            let (w, html) = pages.workloads.iter().find(|(w, _)| w == name)?;
            (String::new(), vec![(w.clone(), restamp(html, now))])
        }
    };
    Some(PageHtml { name: pages.name.clone(), environment, workloads })
}

/// Rendered HTML with every age (`<span data-since="…">…</span>`, as `DataTable` writes
/// it) counted from `now` instead of from when it was rendered: the same HTML as a
/// rendering at `now`, since ages are the only part of these pages that moves with time.
/// Anything not in that shape is copied as it is.
pub fn restamp(html: &str, now: i64) -> String {
    const OPEN: &str = "<span data-since=\"";
    const CLOSE: &str = "</span>";
    let mut out = String::with_capacity(html.len() + 16);
    let mut rest = html;
    while let Some(at) = rest.find(OPEN) {
        let (before, tail) = rest.split_at(at + OPEN.len());
        out.push_str(before);
        rest = tail;
        let Some((since, after)) = tail.split_once("\">") else { continue };
        let (Ok(since_ms), Some(end)) = (since.parse::<i64>(), after.find(CLOSE)) else {
            continue;
        };
        out.push_str(since);
        out.push_str("\">");
        out.push_str(&crate::status::words::age(since_ms, now));
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

fn environment(detail: &EnvironmentDetail, now: i64) -> String {
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
    // Each part clones only what it shows: the workload pages are not part of this one.
    let (name, namespace, plain) = (name.clone(), namespace.clone(), plain.clone());
    let (stale_since, stale_reason) = (stale_since.clone(), stale_reason.clone());
    let (grafana_url, health) = (grafana_url.clone(), *health);
    let (workloads, pods, jobs, events) =
        (workloads.clone(), pods.clone(), jobs.clone(), events.clone());
    let (metrics, backup) = (metrics.clone(), backup.clone());
    let argo = match argo.clone() {
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

/// One workload's page; the environment's view says whether it is stale.
fn workload(env: &EnvironmentDetail, page: &WorkloadDetail, now: i64) -> String {
    let environment = &env.name;
    let (stale_since, stale_reason) = (env.stale_since.clone(), env.stale_reason.clone());
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
    } = page.clone();
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
