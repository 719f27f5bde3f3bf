//! The History page (`/history`): what runs where right now, and the timeline of every
//! recorded revision and Argo CD sync, newest first, with the Gantry request that caused
//! it when there was one. Rendered on the server, like the other record pages.

use std::sync::Arc;

use leptos::prelude::*;

use super::timeline::Entry;
use crate::status::model::EnvironmentStatus;

fn when(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| crate::records::clock::to_minute(&t))
        .unwrap_or_default()
}

/// What runs where: workload × environment → version, and since when (from the live view).
fn current(statuses: &[Arc<EnvironmentStatus>]) -> AnyView {
    let mut workloads: Vec<String> = Vec::new();
    for s in statuses {
        for w in &s.workloads {
            if !workloads.contains(&w.name) {
                workloads.push(w.name.clone());
            }
        }
    }
    workloads.sort();
    let head =
        statuses.iter().map(|s| view! { <th scope="col">{s.name.clone()}</th> }).collect_view();
    let rows = workloads
        .into_iter()
        .map(|name| {
            let cells: Vec<(String, String)> = statuses
                .iter()
                .map(|s| {
                    let version = s.workloads.iter().find(|w| w.name == name).and_then(|w| w.images.first()).map(|i| i.tag.clone()).unwrap_or_else(|| "—".into());
                    let since = s.revisions.iter().find(|r| r.workload == name && r.current).map(|r| format!("since {}", when(r.created_ms))).unwrap_or_default();
                    (version, since)
                })
                .collect();
            let differs = cells.windows(2).any(|w| w[0].0 != w[1].0);
            let cells = cells.into_iter().map(|(v, since)| view! { <td><span class="mono">{v}</span><br/><span class="muted small">{since}</span></td> }).collect_view();
            let label = name.clone();
            view! { <tr data-workload=name class:differs=differs><th scope="row">{label}</th>{cells}</tr> }
        })
        .collect_view();
    // What Argo CD deployed in each environment, and what it tracks.
    let argo: Vec<String> = statuses
        .iter()
        .map(|s| {
            s.argo.as_ref().map_or_else(
                || "—".to_owned(),
                |a| {
                    let short = a.revision.get(..7).unwrap_or(&a.revision);
                    format!("{short} ({})", a.target_revision)
                },
            )
        })
        .collect();
    let argo_differs = argo.windows(2).any(|w| w[0] != w[1]);
    let argo_row = view! {
        <tr data-workload="argocd" class:differs=argo_differs>
            <th scope="row">"Argo CD revision"</th>
            {argo.into_iter().map(|a| view! { <td class="mono small">{a}</td> }).collect_view()}
        </tr>
    };
    view! {
        <section class="panel" id="current-versions">
            <h2>"What runs where"</h2>
            <p class="small"><a href="/history/compare" id="compare-link">"Compare two environments field by field (promotion preview)"</a></p>
            <table class="table"><thead><tr><th>"Workload"</th>{head}</tr></thead><tbody>{rows}{argo_row}</tbody></table>
        </section>
    }
    .into_any()
}

pub struct Page<'a> {
    pub statuses: Vec<Arc<EnvironmentStatus>>,
    pub environments: &'a [String],
    pub environment: Option<String>,
    pub workload: Option<String>,
    /// The person and time filters as typed (dates or times).
    pub person: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub timeline: &'a Timeline,
    pub query: String,
    /// The address of the next (older) page, when this one is full.
    pub older: Option<String>,
}

/// The timeline's rows, rendered: what everyone who sees the same environments with the
/// same filter (and may roll back in the same ones) is shown, so it is rendered once per
/// change of the history or the requests (`records`), not once per view.
pub struct Timeline {
    pub count: usize,
    /// When the oldest entry shown happened (where the next page ends).
    pub oldest_ms: Option<i64>,
    /// Whether there are older entries than those shown.
    pub more: bool,
    /// Shared, so a view hands it to its page without copying it.
    pub html: Arc<str>,
}

impl Timeline {
    /// The first `most` of `entries`, with "roll back to this" in the environments of
    /// `may_roll_back`.
    pub fn render(entries: &[Entry], most: usize, may_roll_back: &[String]) -> Timeline {
        let shown = &entries[..entries.len().min(most)];
        let html = Owner::new()
            .with(|| shown.iter().map(|e| row(e, may_roll_back)).collect_view().to_html());
        Timeline {
            count: shown.len(),
            oldest_ms: shown.last().map(|e| e.at_ms),
            more: entries.len() > shown.len(),
            html: html.into(),
        }
    }
}

fn row(e: &Entry, may_roll_back: &[String]) -> impl IntoView {
    let e = e.clone();
    let href = format!("#{}", e.id);
    let env = e.environment.clone();
    let links = e.revision.map(|(n, before)| {
        let diff = before.map(|b| {
            let href = format!(
                "/history/diff?env={}&workload={}&from={b}&to={n}",
                e.environment, e.object
            );
            view! { <a class="diff-link" href=href>"diff"</a> " " }
        });
        let deployment = e.kind.as_deref() == Some("Deployment");
        let back = (deployment && may_roll_back.contains(&e.environment)).then(|| {
            let href = format!(
                "/environments/{}/actions/rollback?workload={}&revision={n}",
                e.environment, e.object
            );
            view! { <a class="rollback-link" href=href>"roll back to this"</a> }
        });
        view! { <br/><span class="small">{diff}{back}</span> }
    });
    let outcome_class = format!("outcome {}", e.outcome.replace(' ', "-"));
    view! {
        <tr id=e.id.clone() data-environment=env data-outcome=e.outcome.clone()>
            <td class="mono small"><a href=href>{when(e.at_ms)}</a></td>
            <td>{e.environment}</td>
            <td>{e.object}</td>
            <td>{e.what}{links}</td>
            <td class="small"><span class=outcome_class>{e.outcome_words}</span></td>
            <td class="small">{e.who}</td>
        </tr>
    }
}

/// The timeline's heading: a full page with older ones after it says it is the newest part.
fn heading(count: usize, older: bool) -> String {
    match (count, older) {
        (_, true) => {
            format!("Timeline ({count} entries, newest first; older ones on the next page)")
        }
        (1, false) => "Timeline (1 entry)".to_owned(),
        (_, false) => format!("Timeline ({count} entries, newest first)"),
    }
}

pub fn render(page: Page<'_>) -> String {
    let owner = Owner::new();
    owner.with(move || {
        let options = page.environments.iter().map(|e| {
            let selected = page.environment.as_deref() == Some(e.as_str());
            view! { <option value=e.clone() selected=selected>{e.clone()}</option> }
        }).collect_view();
        let heading = heading(page.timeline.count, page.older.is_some());
        let rows = page.timeline.html.clone();
        let export = format!("/api/history.json?{}", page.query);
        let csv = format!("/api/history.csv?{}", page.query);
        view! {
            <header class="page-header">
                <h1>"History"</h1>
                <a class="button" href=csv download="" id="export-csv">"Export CSV"</a>
                <a class="button" href=export id="export-json">"Export JSON"</a>
            </header>
            {current(&page.statuses)}
            <form class="panel filters" method="get" action="/history" id="history-filters">
                <label>"Environment " <select name="env"><option value="">"all"</option>{options}</select></label>
                <label>"Workload " <input name="workload" value=page.workload.unwrap_or_default()/></label>
                <label>"Person " <input name="person" value=page.person.unwrap_or_default() placeholder="name"/></label>
                <label>"From " <input name="from" value=page.from.unwrap_or_default() placeholder="2026-11-01"/></label>
                <label>"To " <input name="to" value=page.to.unwrap_or_default() placeholder="2026-11-26"/></label>
                <button type="submit" class="button">"Filter"</button>
            </form>
            <section class="panel" id="timeline">
                <h2>{heading}</h2>
                <table class="table">
                    <thead><tr><th>"When"</th><th>"Environment"</th><th>"What"</th><th>"Change"</th><th>"Outcome"</th><th>"Who and why"</th></tr></thead>
                    <tbody inner_html=rows></tbody>
                </table>
                {page.older.map(|href| view! { <p><a class="button" href=href id="older">"Older entries"</a></p> })}
            </section>
        }
        .into_any()
        .to_html()
    })
}

/// The diff page of two recorded revisions.
pub fn diff_page(
    environment: &str,
    workload: &str,
    (from, a): (i64, &super::store::Recorded),
    (to, b): (i64, &super::store::Recorded),
    changes: &[super::diff::Change],
) -> String {
    let owner = Owner::new();
    owner.with(|| {
        let rows = changes
            .iter()
            .map(|c| view! { <tr><th scope="row">{c.field.clone()}</th><td class="mono small from">{c.from.clone()}</td><td class="mono small to">{c.to.clone()}</td></tr> })
            .collect_view();
        let empty = changes.is_empty().then(|| view! { <p class="muted">"The two pod templates are the same."</p> });
        let back = format!("/history?env={environment}&workload={workload}");
        view! {
            <header class="page-header">
                <h1>{format!("{workload} in {environment}: revision {from} → {to}")}</h1>
                <a class="button" href=back>"Back to its history"</a>
            </header>
            <p class="muted">{format!("Revision {from} was created {}; revision {to} {}.", when(a.created_ms), when(b.created_ms))}</p>
            {empty}
            <table class="table" id="diff">
                <thead><tr><th>"Field"</th><th>{format!("revision {from}")}</th><th>{format!("revision {to}")}</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        }
        .into_any()
        .to_html()
    })
}
