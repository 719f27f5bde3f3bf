//! `/monitoring` as an address: `env` (default: the first the caller may see),
//! `workload` (optional: one of its configured workloads), and a range — `range` (one of
//! 15m, 1h, 6h, 24h, 7d; default 1h) or a custom `from` and `to`. The caller must be
//! allowed to view the environment; everything else in the address is checked and
//! refused in words before Prometheus is asked anything.

use std::time::Duration;

use super::cache::Fetched;
use super::chart::Marker;
use super::model::{Answered, Asked};
use super::prometheus::Failure;
use super::queries::{charts, Chart, Scope};
use super::window::{Window, RANGES};
use crate::access::server::{authorize_for, caller, visible_environments_for};
use crate::access::Action;
use crate::context::{server_context, ServerContext};
use crate::error::AppError;
use crate::server_page::model::{pairs, ServerHtml};

/// The shortest custom range (two scrapes would draw nothing worth reading) and the
/// longest (further back than Prometheus usually keeps).
const SHORTEST: Duration = Duration::from_secs(5 * 60);
const LONGEST: Duration = Duration::from_secs(31 * 86_400);

/// A time from the custom range's form: RFC 3339, or what a `datetime-local` field sends
/// (`2026-12-01T09:30`, taken as UTC, as the page says).
fn time(field: &str, text: &str) -> Result<i64, String> {
    let text = text.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(t.timestamp());
    }
    for format in ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(text, format) {
            return Ok(t.and_utc().timestamp());
        }
    }
    let shown: String = text.chars().take(40).collect();
    Err(format!("“{field}” must be a time like 2026-12-01T09:30 (UTC), not “{shown}”."))
}

/// Reads the address against the configured environments (which ones the caller may see
/// is checked by the caller of this).
pub fn parse(
    query: &[(String, String)],
    context: &ServerContext,
    default_environment: &str,
    now: i64,
) -> Result<Asked, AppError> {
    let get = |key: &str| {
        query.iter().find(|(k, v)| k == key && !v.trim().is_empty()).map(|(_, v)| v.trim())
    };
    let environment = get("env").unwrap_or(default_environment).to_owned();
    let workload = get("workload").map(str::to_owned);
    let custom = match (get("from"), get("to")) {
        (None, None) => None,
        (Some(from), Some(to)) => {
            let from = time("from", from).map_err(AppError::Invalid)?;
            let to = time("to", to).map_err(AppError::Invalid)?;
            let to = to.min(now);
            let span = u64::try_from(to - from).unwrap_or(0);
            if span < SHORTEST.as_secs() {
                return Err(AppError::Invalid(
                    "“from” must be at least 5 minutes before “to” (and before now).".into(),
                ));
            }
            if span > LONGEST.as_secs() {
                return Err(AppError::Invalid("A custom range is at most 31 days long.".into()));
            }
            Some((from, to))
        }
        _ => return Err(AppError::Invalid("A custom range needs both “from” and “to”.".into())),
    };
    let range = match (custom, get("range")) {
        (Some(_), _) => None,
        (None, None) => Some("1h"),
        (None, Some(name)) => match RANGES.iter().find(|(n, _)| *n == name) {
            Some((n, _)) => Some(*n),
            None => {
                let offered: Vec<&str> = RANGES.iter().map(|(n, _)| *n).collect();
                let shown: String = name.chars().take(20).collect();
                return Err(AppError::Invalid(format!(
                    "“range” must be one of {}, not “{shown}”.",
                    offered.join(", ")
                )));
            }
        },
    };
    if let (Some(env), Some(w)) =
        (context.environments.iter().find(|e| e.name == environment), workload.as_deref())
    {
        if env.workload(w).is_none() {
            let known: Vec<&str> = env.workloads.iter().map(|w| w.name.as_str()).collect();
            return Err(AppError::NotFound(format!(
                "{} has no workload named “{w}”. Its workloads: {}.",
                env.name,
                known.join(", ")
            )));
        }
    }
    Ok(Asked { environment, workload, range, custom })
}

/// [`read_markers`], kept until the history or the requests are written (`records`): a
/// window ends on a step, so views within one step and without a change read nothing.
async fn markers(
    context: &ServerContext,
    asked: &Asked,
    window: &Window,
) -> Result<std::sync::Arc<Vec<Marker>>, sqlx::Error> {
    let records = &context.records;
    let key = format!("{} {:?} {} {}", asked.environment, asked.workload, window.start, window.end);
    let read = read_markers(context, asked, window);
    records.markers.get(&records.versions, key, read).await
}

/// The panel's own changes in `window`: releases and syncs from the recorded history, and
/// the scalings Gantry ran (a scaling makes no revision, so the history has no entry).
async fn read_markers(
    context: &ServerContext,
    asked: &Asked,
    window: &Window,
) -> Result<Vec<Marker>, sqlx::Error> {
    let environments = [asked.environment.clone()];
    let filter = crate::history::store::Filter {
        environment: Some(asked.environment.clone()),
        workload: asked.workload.clone(),
        person: None,
        since_ms: Some(window.start * 1000),
        until_ms: Some(window.end * 1000),
    };
    let entries =
        crate::history::timeline(context, &environments, &filter, crate::history::LIMIT).await?;
    let mut out: Vec<Marker> = entries
        .into_iter()
        .map(|e| {
            let who = if e.who.is_empty() { String::new() } else { format!(" — {}", e.who) };
            Marker {
                at: e.at_ms.div_euclid(1000),
                kind: if e.revision.is_some() { "release" } else { "sync" },
                text: format!("{}: {}{who}", e.object, e.what),
            }
        })
        .collect();
    let requests = crate::actions::store::started_between(
        &context.db,
        &environments,
        window.start * 1000,
        window.end * 1000,
    )
    .await?;
    out.extend(
        requests
            .into_iter()
            .filter(|r| r.action == "scale")
            .filter(|r| asked.workload.as_ref().is_none_or(|w| *w == r.object))
            .map(|r| Marker {
                at: r.started_ms.unwrap_or(r.requested_ms).div_euclid(1000),
                kind: "action",
                text: format!("{} scaled by {}: {}", r.object, r.requested_by_name, r.preview),
            }),
    );
    out.sort_by_key(|m| m.at);
    Ok(out)
}

/// `host:port` of a URL, as failures name Prometheus.
fn host_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| {
            let host = u.host_str()?.to_owned();
            Some(match u.port() {
                Some(port) => format!("{host}:{port}"),
                None => host,
            })
        })
        .unwrap_or_default()
}

/// Asks every chart's queries at once, none for longer than Prometheus' timeout: a page
/// never waits longer than that, however slow Prometheus is.
pub async fn answer(
    monitoring: &super::Monitoring,
    charts: Vec<Chart>,
    window: &Window,
) -> Vec<Answered> {
    let deadline = tokio::time::Instant::now() + super::prometheus::TIMEOUT;
    let host = host_of(&monitoring.config.url);
    let ask = |expr: String| {
        let host = host.clone();
        async move {
            let asked = monitoring.cache.range(&expr, window);
            match tokio::time::timeout_at(deadline, asked).await {
                Ok(fetched) => fetched,
                Err(_) => {
                    let failure = Failure::TimedOut { host, after: super::prometheus::TIMEOUT };
                    // The next pages are told at once instead of each waiting again.
                    monitoring.cache.trip(failure.clone());
                    Fetched {
                        series: std::sync::Arc::new(Vec::new()),
                        failure: Some(failure),
                        stale_since: None,
                    }
                }
            }
        }
    };
    let asks = charts.into_iter().map(|chart| {
        let series = ask(chart.expr.clone());
        let limit = chart.limit.clone().map(&ask);
        async move {
            let (series, limit) = match limit {
                Some(limit) => {
                    let (s, l) = futures_util::future::join(series, limit).await;
                    (s, Some(l))
                }
                None => (series.await, None),
            };
            Answered { chart, series, limit }
        }
    });
    futures_util::future::join_all(asks).await
}

pub async fn monitoring_page(query: &str) -> Result<ServerHtml, AppError> {
    let context = server_context()?;
    let caller = caller();
    let visible = visible_environments_for(&context, &caller).await?;
    let names: Vec<String> =
        visible.iter().map(|i| context.environments[*i].name.clone()).collect();
    let first = names.first().cloned().unwrap_or_default();
    let now = chrono::Utc::now().timestamp();
    let asked = parse(&pairs(query), &context, &first, now)?;
    authorize_for(&context, &caller, &asked.environment, Action::View).await?;
    let Some(environment) = context.environments.iter().find(|e| e.name == asked.environment)
    else {
        return Err(AppError::NotFound(format!(
            "There is no environment named “{}”.",
            asked.environment
        )));
    };
    // The Silence and Expire links, only where the server would take the request.
    let may = |action| crate::access::check(caller.principal(), environment, action);
    let page = super::page::Page {
        environments: &names,
        environment,
        asked: &asked,
        silence: may(Action::Silence),
        expire: may(Action::ExpireSilence),
    };
    let Some(monitoring) = context.monitoring.as_deref() else {
        return Ok(page.render_unconfigured());
    };
    let window = asked.window(now, monitoring.scrape());
    let scope = Scope { environment, workload: asked.workload.as_deref() };
    let selector = scope.selector().to_owned();
    let charts = charts(&scope, &monitoring.config, &window);
    let alerts = async {
        let asked = monitoring.cache.alerting(monitoring.scrape());
        tokio::time::timeout(super::prometheus::TIMEOUT, asked).await.unwrap_or_else(|_| {
            super::cache::AlertsNow {
                alerting: None,
                failure: Some(Failure::TimedOut {
                    host: host_of(&monitoring.config.url),
                    after: super::prometheus::TIMEOUT,
                }),
                stale_since: None,
            }
        })
    };
    let (answered, markers, alerts) = futures_util::future::join3(
        answer(monitoring, charts, &window),
        markers(&context, &asked, &window),
        alerts,
    )
    .await;
    let markers =
        markers.map_err(|error| AppError::internal("cannot read the changes to mark", &error))?;
    Ok(page.render(&window, &selector, &answered, &markers, &alerts, &monitoring.drawings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_times_are_read_as_utc_and_bad_ones_named() {
        assert_eq!(time("from", "2026-12-01T09:30"), Ok(1_796_117_400));
        assert_eq!(time("from", "2026-12-01T10:30:00+01:00"), Ok(1_796_117_400));
        let problem = time("to", "<b>yesterday</b>").unwrap_err();
        assert!(problem.starts_with("“to” must be a time"), "{problem}");
    }
}
