//! The Audit page (`/audit`): filters, the events newest first, exports, and for admins a
//! check of the hash chain. Rendered on the server (see `server_page`).

use leptos::prelude::*;

use super::store::{Filter, Row, Scope};
use super::Verdict;

/// What the page shows besides the events.
pub struct Page<'a> {
    pub filter: &'a Filter,
    pub scope: &'a Scope,
    /// The query string as asked (for the export links), without `before` and `verify`.
    pub query: String,
    pub events: &'a Events,
    pub chain: Option<Verdict>,
    pub may_verify: bool,
}

/// One page of events, rendered: what every reader with the same scope and filter is
/// shown, so it is rendered once per change of the log (`records`), not once per view.
pub struct Events {
    pub count: usize,
    /// Older events exist: the next page starts before `last`.
    pub more: bool,
    pub last: Option<i64>,
    /// The table's rows.
    pub html: String,
}

impl Events {
    /// The first `most` of `rows` (one more was read to know whether there are more).
    pub fn render(rows: &[Row], most: usize) -> Events {
        let shown = &rows[..rows.len().min(most)];
        Events {
            count: shown.len(),
            more: rows.len() > most,
            last: shown.last().map(|r| r.id),
            html: Owner::new().with(|| rows_html(shown)),
        }
    }
}

fn rows_html(rows: &[Row]) -> String {
    // Borrowed: a row holds a dozen strings, and the view takes only the ones it shows.
    rows.iter()
        .map(|Row { id, occurred_at, event: r, .. }| {
            let who = match (&r.display_name, &r.user_id) {
                (Some(name), Some(id)) => format!("{name} ({id})"),
                (None, Some(id)) => id.clone(),
                _ => "—".to_owned(),
            };
            let what = match &r.action {
                Some(action) => format!("{} · {action}", r.kind.replace('_', " ")),
                None => r.kind.replace('_', " "),
            };
            let place = match (&r.environment, &r.object) {
                (Some(env), Some(object)) => format!("{env} / {object}"),
                (Some(env), None) => env.clone(),
                _ => "—".to_owned(),
            };
            view! {
                <tr data-event=*id data-kind=r.kind.clone()>
                    <td class="mono small">{crate::records::clock::to_second(occurred_at)}</td>
                    <td>{who}</td>
                    <td>{what}</td>
                    <td>{place}</td>
                    <td class=format!("outcome-{}", r.outcome)>{r.outcome.clone()}</td>
                    <td class="small">{r.reason.clone().unwrap_or_default()}</td>
                    <td class="mono small">{r.client_addr.clone().unwrap_or_default()}</td>
                </tr>
            }
        })
        .collect_view()
        .to_html()
}

fn chain_panel(chain: Option<Verdict>, may_verify: bool, query: &str) -> impl IntoView {
    let link = format!("/audit?{query}{}verify=1", if query.is_empty() { "" } else { "&" });
    match (chain, may_verify) {
        (_, false) => None,
        (None, true) => Some(
            view! {
                <p class="muted" id="chain">
                    "The log is hash-chained: " <a href=link>"check the whole chain now"</a> "."
                </p>
            }
            .into_any(),
        ),
        (Some(Verdict::Intact(checked)), true) => Some(
            view! {
                <p class="plain" id="chain" data-chain="intact">
                    {format!(
                        "Chain intact: {} events, last hash {}.",
                        checked.events,
                        super::chain::hex(&checked.head)
                    )}
                </p>
            }
            .into_any(),
        ),
        (Some(Verdict::Broken(broken)), true) => Some(
            view! {
                <p class="stale banner" id="chain" data-chain="broken" role="alert">
                    {format!("Chain broken at event {} ({}): {}.", broken.id, broken.kind, broken.why)}
                </p>
            }
            .into_any(),
        ),
    }
}

pub fn render(page: Page<'_>) -> String {
    let owner = Owner::new();
    owner.with(move || {
        let Page { filter, scope, query, events, chain, may_verify } = page;
        let env_options = scope
            .environments
            .iter()
            .map(|e| {
                let selected = filter.environment.as_deref() == Some(e.as_str());
                view! { <option value=e.clone() selected=selected>{e.clone()}</option> }
            })
            .collect_view();
        let outcome = filter.outcome.clone().unwrap_or_default();
        // Sign-ins and refusals end ok or refused; action requests record the state they
        // reached at each step.
        let outcomes = [
            "ok", "refused", "pending", "approved", "executing", "succeeded", "failed",
            "rejected", "expired", "cancelled", "superseded",
        ]
            .into_iter()
            .map(|o| view! { <option value=o selected=outcome == o>{o}</option> })
            .collect_view();
        let date = |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
        let older = events.more.then_some(events.last).flatten().map(|last| {
            let href = format!("/audit?{query}{}before={last}", if query.is_empty() { "" } else { "&" });
            view! { <p><a href=href id="older">"Older events"</a></p> }
        });
        let count = events.count;
        let body = events.html.clone();
        let csv = format!("/api/audit.csv?{query}");
        let json = format!("/api/audit.json?{query}");
        view! {
            <header class="page-header">
                <h1>"Audit"</h1>
                <a class="button" href=csv download="" id="export-csv">"Export CSV"</a>
                <a class="button" href=json id="export-json">"Export JSON"</a>
            </header>
            {chain_panel(chain, may_verify, &query)}
            <form class="panel filters" method="get" action="/audit" id="audit-filters">
                <label>"Environment "
                    <select name="env">
                        <option value="">"any"</option>
                        {env_options}
                    </select>
                </label>
                <label>"Person (user id) "
                    <input name="user" value=filter.user_id.clone().unwrap_or_default() size="10"/>
                </label>
                <label>"Action or event "
                    <input name="action" value=filter.action.clone().unwrap_or_default() size="10" placeholder="sync, sign_in…"/>
                </label>
                <label>"Outcome "
                    <select name="outcome">
                        <option value="">"any"</option>
                        {outcomes}
                    </select>
                </label>
                <label>"From " <input type="date" name="from" value=date(filter.from)/></label>
                <label>"To " <input type="date" name="to" value=date(filter.to)/></label>
                <button class="button" type="submit">"Apply"</button>
            </form>
            <section class="panel">
                <p class="muted">{format!("{count} events, newest first.")}</p>
                <table class="table" id="audit-events">
                    <thead>
                        <tr>
                            <th scope="col">"When"</th>
                            <th scope="col">"Who"</th>
                            <th scope="col">"What"</th>
                            <th scope="col">"Where"</th>
                            <th scope="col">"Outcome"</th>
                            <th scope="col">"Why"</th>
                            <th scope="col">"From"</th>
                        </tr>
                    </thead>
                    <tbody inner_html=body></tbody>
                </table>
                {older}
            </section>
        }
        .to_html()
    })
}
