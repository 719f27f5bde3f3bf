//! The Metrics page (`/monitoring`): tabs for the environments the caller may see, the
//! workloads of the chosen one, the ranges, and the charts by group — each with what it
//! shows now, or in words why it shows nothing (or older data).

use std::fmt::Write as _;

use super::alerts::{for_namespace, EnvironmentAlerts};
use super::cache::AlertsNow;
use super::chart::{render, Drawing, Marker};
use super::drawn::{fingerprint, Drawings, Inputs};
use super::model::{Answered, Asked};
use super::prometheus::{Alert, Failure};
use super::queries::Group;
use super::window::{promql_duration, Window, RANGES};
use crate::access::Decision;
use crate::config::EnvironmentConfig;
use crate::escape::html;
use crate::server_page::model::ServerHtml;

pub struct Page<'a> {
    /// The environments the caller may see.
    pub environments: &'a [String],
    pub environment: &'a EnvironmentConfig,
    pub asked: &'a Asked,
    /// Whether (and how) the caller may make and expire silences here.
    pub silence: Decision,
    pub expire: Decision,
}

/// " · needs 1 approval" after an action's link, when it does.
fn approval_note(decision: &Decision) -> String {
    match decision {
        Decision::NeedsApproval { approvals: 1 } => " · needs 1 approval".to_owned(),
        Decision::NeedsApproval { approvals } => format!(" · needs {approvals} approvals"),
        _ => String::new(),
    }
}

fn clock(at: i64, format: &str) -> String {
    chrono::DateTime::from_timestamp(at, 0)
        .map(|t| t.format(format).to_string())
        .unwrap_or_default()
}

/// `/monitoring?…` with these values (the others left out).
fn address(
    env: &str,
    workload: Option<&str>,
    range: Option<&str>,
    custom: Option<(i64, i64)>,
) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("env", env);
    if let Some(w) = workload {
        query.append_pair("workload", w);
    }
    match custom {
        Some((from, to)) => {
            query.append_pair("from", &clock(from, "%Y-%m-%dT%H:%M"));
            query.append_pair("to", &clock(to, "%Y-%m-%dT%H:%M"));
        }
        None => {
            if let Some(r) = range {
                query.append_pair("range", r);
            }
        }
    }
    format!("/monitoring?{}", query.finish())
}

impl Page<'_> {
    fn title(&self) -> String {
        match &self.asked.workload {
            Some(w) => format!("Metrics · {} · {w}", self.environment.name),
            None => format!("Metrics · {}", self.environment.name),
        }
    }

    /// Environment tabs, workload choice and range choice.
    fn choices(&self, out: &mut String) {
        let asked = self.asked;
        let range = asked.range;
        out.push_str(r#"<nav class="tabs" aria-label="Environment">"#);
        for name in self.environments {
            let current = *name == self.environment.name;
            let _ = write!(
                out,
                r#"<a href="{}"{}>{}</a>"#,
                html(&address(name, None, range, asked.custom)),
                if current { r#" aria-current="page""# } else { "" },
                html(name)
            );
        }
        out.push_str("</nav>");
        out.push_str(r#"<nav class="tabs small" aria-label="Workload">"#);
        let env = &self.environment.name;
        let whole = asked.workload.is_none();
        let _ = write!(
            out,
            r#"<a href="{}"{}>whole environment</a>"#,
            html(&address(env, None, range, asked.custom)),
            if whole { r#" aria-current="page""# } else { "" }
        );
        for w in &self.environment.workloads {
            let current = asked.workload.as_deref() == Some(w.name.as_str());
            let _ = write!(
                out,
                r#"<a href="{}"{}>{}</a>"#,
                html(&address(env, Some(&w.name), range, asked.custom)),
                if current { r#" aria-current="page""# } else { "" },
                html(&w.name)
            );
        }
        out.push_str("</nav>");
        out.push_str(r#"<nav class="tabs small" aria-label="Range">"#);
        for (name, _) in RANGES {
            let current = range == Some(name);
            let _ = write!(
                out,
                r#"<a href="{}"{}>{name}</a>"#,
                html(&address(env, asked.workload.as_deref(), Some(name), None)),
                if current { r#" aria-current="page""# } else { "" }
            );
        }
        out.push_str("</nav>");
        let (from, to) = asked
            .custom
            .map(|(f, t)| (clock(f, "%Y-%m-%dT%H:%M"), clock(t, "%Y-%m-%dT%H:%M")))
            .unwrap_or_default();
        let _ = write!(
            out,
            r#"<form class="range" method="get" action="/monitoring"><input type="hidden" name="env" value="{}"/>{}<label>From (UTC) <input type="datetime-local" name="from" value="{}" required/></label> <label>To (UTC) <input type="datetime-local" name="to" value="{}" required/></label> <button type="submit">Show</button></form>"#,
            html(env),
            asked
                .workload
                .as_ref()
                .map(|w| format!(r#"<input type="hidden" name="workload" value="{}"/>"#, html(w)))
                .unwrap_or_default(),
            html(&from),
            html(&to)
        );
    }

    /// The page when no Prometheus is configured: says so and what to set.
    pub fn render_unconfigured(&self) -> ServerHtml {
        let mut out = String::from("<h1>Metrics</h1>");
        self.choices(&mut out);
        out.push_str(
            r#"<section class="panel" id="no-prometheus"><h2>No Prometheus is configured</h2><p>This Gantry has no metrics source. An administrator sets <code>prometheus.url</code> in the configuration file (or <code>GANTRY_PROMETHEUS_URL</code>) to the Prometheus that scrapes the application; see the README's Configuration table.</p></section>"#,
        );
        ServerHtml { title: self.title(), html: out }
    }

    /// The environment's alerts: firing, then pending, most severe first; or why they
    /// cannot be read.
    fn alerts(&self, out: &mut String, now: &AlertsNow) {
        let env = &self.environment.name;
        out.push_str(r#"<section class="panel" id="alerts"><h2>Alerts</h2>"#);
        if let Some(failure) = &now.failure {
            let said = match now.stale_since {
                Some(at) => format!(
                    "Stale since {}: the alerts cannot be read now ({failure}). Showing the last ones read.",
                    clock(at, "%a %d %H:%M UTC")
                ),
                None => format!("The alerts cannot be read: {failure}."),
            };
            let _ = write!(out, r#"<p class="chart-failure" role="status">{}</p>"#, html(&said));
        }
        let Some(alerting) = &now.alerting else {
            out.push_str("</section>");
            return;
        };
        let mine: EnvironmentAlerts = for_namespace(alerting, &self.environment.namespace);
        if let Some(failure) = &mine.alertmanager_failure {
            let _ = write!(
                out,
                r#"<p class="chart-failure" role="status" id="alertmanager-failed">Whether an alert is silenced is not known: {}.</p>"#,
                html(failure)
            );
        }
        if mine.alerts.is_empty() {
            let _ = write!(
                out,
                r#"<p class="muted" id="no-alerts">No alert fires or is pending on {}; Prometheus evaluates {} alerting {}.</p>"#,
                html(env),
                mine.rules,
                if mine.rules == 1 { "rule" } else { "rules" }
            );
        } else {
            let held = if mine.held_back() > 0 {
                format!(", {} silenced or inhibited", mine.held_back())
            } else {
                String::new()
            };
            let _ = write!(
                out,
                r#"<p>{} firing{held}, {} pending on {}.</p><ul class="alerts">"#,
                mine.firing(),
                mine.pending(),
                html(env)
            );
            for alert in &mine.alerts {
                alert_item(out, alert, &mine);
                if alert.silenced_by.is_empty() && self.silence.is_allowed() && self.mine(&mine) {
                    let name = alert.labels.get("alertname").map_or("", String::as_str);
                    let mut query = url::form_urlencoded::Serializer::new(String::new());
                    query.append_pair("alertname", name);
                    let _ = write!(
                        out,
                        r#"<a class="button action small" data-action="silence" href="/environments/{}/actions/silence?{}">Silence</a><span class="small muted">{}</span>"#,
                        html(&url_segment(env)),
                        html(&query.finish()),
                        approval_note(&self.silence)
                    );
                }
                out.push_str("</li>");
            }
            out.push_str("</ul>");
        }
        for (rule, error) in &mine.broken {
            let _ = write!(
                out,
                r#"<p class="chart-failure">Prometheus cannot evaluate the rule {}: {}. It will not fire.</p>"#,
                html(rule),
                html(error)
            );
        }
        if mine.alertmanager {
            self.silences(out, &mine);
        }
        out.push_str("</section>");
    }

    pub fn render(
        &self,
        window: &Window,
        selector: &str,
        answered: &[Answered],
        markers: &[Marker],
        alerts: &AlertsNow,
        drawings: &Drawings,
    ) -> ServerHtml {
        let mut out = String::from("<h1>Metrics</h1>");
        self.choices(&mut out);
        self.alerts(&mut out, alerts);
        let _ = write!(
            out,
            r#"<p class="muted small" id="window">{} to {} UTC · a point every {}, rates over {} · series matching <code>{}</code></p>"#,
            html(&clock(window.start, "%a %d %b %H:%M")),
            html(&clock(window.end, "%a %d %b %H:%M")),
            html(&promql_duration(window.step)),
            html(&promql_duration(window.rate_window)),
            html(selector)
        );
        // One line for a Prometheus that failed every query (down, slow), not one per chart.
        let failures: Vec<&Failure> =
            answered.iter().filter_map(|a| a.series.failure.as_ref()).collect();
        if !answered.is_empty() && failures.len() == answered.len() {
            if let Some(first) = failures.first() {
                let _ = write!(
                    out,
                    r#"<p class="panel error" role="alert" id="prometheus-failed">No chart could be updated: {}.</p>"#,
                    html(&first.to_string())
                );
            }
        }
        let changes = fingerprint(markers);
        let figures: Vec<_> = answered
            .iter()
            .map(|a| {
                let inputs = Inputs {
                    chart: a.chart.id,
                    expr: &a.chart.expr,
                    limit: a.chart.limit.as_deref(),
                    window,
                    series: &a.series,
                    limit_series: a.limit.as_ref(),
                    markers: changes,
                };
                drawings.figure(&inputs, || figure(a, window, selector, markers))
            })
            .collect();
        // The charts are most of the page (hundreds of KiB): room for them at once, rather
        // than the page copied each time it outgrows its buffer.
        out.reserve(figures.iter().map(|f| f.len()).sum::<usize>() + 8 * 1024);
        let mut group: Option<Group> = None;
        for (a, drawn) in answered.iter().zip(&figures) {
            if group != Some(a.chart.group) {
                if group.is_some() {
                    out.push_str("</div></section>");
                }
                group = Some(a.chart.group);
                let _ = write!(
                    out,
                    r#"<section class="chart-group"><h2>{}</h2><div class="charts">"#,
                    html(a.chart.group.title())
                );
            }
            out.push_str(drawn);
        }
        if group.is_some() {
            out.push_str("</div></section>");
        }
        let shown: Vec<&Marker> =
            markers.iter().filter(|m| m.at >= window.start && m.at <= window.end).collect();
        out.push_str(r#"<section class="panel" id="changes"><h2>Changes in this range</h2>"#);
        if shown.is_empty() {
            out.push_str(
                r#"<p class="muted">No release, sync or scaling recorded in this range.</p>"#,
            );
        } else {
            out.push_str(r#"<ol class="changes">"#);
            for m in shown.iter().rev() {
                let _ = write!(
                    out,
                    r#"<li class="{}"><time>{}</time> {}</li>"#,
                    html(m.kind),
                    html(&clock(m.at, "%a %d %H:%M UTC")),
                    html(&m.text)
                );
            }
            out.push_str("</ol>");
        }
        out.push_str("</section>");
        ServerHtml { title: self.title(), html: out }
    }
}

/// One chart with its caption and what it says instead of data: the same for everyone
/// who looks at this window (it is kept for them, see `drawn`).
fn figure(a: &Answered, window: &Window, selector: &str, markers: &[Marker]) -> String {
    let mut out = String::new();
    let chart = &a.chart;
    let _ = write!(
        out,
        r#"<figure class="panel chart-panel" id="chart-{}"><figcaption>{}</figcaption>"#,
        html(chart.id),
        html(chart.title)
    );
    if let Some(failure) = &a.series.failure {
        let said = match a.series.stale_since {
            Some(end) => format!("Stale since {}: {failure}.", clock(end, "%a %d %H:%M UTC")),
            None => format!("Nothing to show: {failure}."),
        };
        let _ = write!(out, r#"<p class="chart-failure" role="status">{}</p>"#, html(&said));
    }
    let empty = a.series.series.iter().all(|s| s.points.iter().all(|(_, v)| v.is_none()));
    if empty && a.series.failure.is_none() {
        let _ = write!(
            out,
            r#"<p class="chart-empty muted">No data for <code>{}</code> in this range. It needs {}. Does the scrape configuration add the <code>namespace</code> and <code>pod</code> labels?</p>"#,
            html(selector),
            html(chart.needs)
        );
    }
    if !a.series.series.is_empty() {
        let limit = a.limit.as_ref().filter(|l| l.failure.is_none()).map(|l| l.series.as_slice());
        out.push_str(&render(&Drawing {
            id: chart.id,
            title: chart.title,
            unit: chart.unit,
            window,
            series: &a.series.series,
            legend: chart.legend.as_deref(),
            limit,
            markers,
        }));
    }
    out.push_str("</figure>");
    out
}

/// `Mon 01 10:05 UTC` from an RFC 3339 time; the text itself when it is not one.
fn when(t: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(t)
        .map(|t| t.format("%a %d %H:%M UTC").to_string())
        .unwrap_or_else(|_| t.to_owned())
}

/// A path segment: percent-encoded, so a name can never leave its segment.
fn url_segment(name: &str) -> String {
    url::form_urlencoded::byte_serialize(name.as_bytes()).collect()
}

/// One alert: state, severity, since when, summary and description, and what holds it
/// back.
fn alert_item(out: &mut String, alert: &Alert, mine: &EnvironmentAlerts) {
    let name = alert.labels.get("alertname").map_or("alert", String::as_str);
    let severity = alert.labels.get("severity").map_or("", String::as_str);
    let since =
        alert.active_at.as_deref().map(|t| format!(" since {}", when(t))).unwrap_or_default();
    let note = |key: &str| alert.annotations.get(key).map(String::as_str).unwrap_or("");
    let state = if !alert.silenced_by.is_empty() {
        "silenced"
    } else if alert.inhibited {
        "inhibited"
    } else {
        alert.state.as_str()
    };
    let _ = write!(
        out,
        r#"<li class="alert {}" data-alert="{}" data-state="{}"><span class="badge alert-state">{}{}</span> <strong>{}</strong><span class="muted">{}</span>"#,
        html(state),
        html(name),
        html(state),
        html(state),
        if severity.is_empty() { String::new() } else { format!(" · {}", html(severity)) },
        html(name),
        html(&since)
    );
    if !note("summary").is_empty() {
        let _ = write!(out, "<p>{}</p>", html(note("summary")));
    }
    if !note("description").is_empty() {
        let _ = write!(out, r#"<p class="muted small">{}</p>"#, html(note("description")));
    }
    for id in &alert.silenced_by {
        let said = match mine.silences.iter().find(|s| &s.id == id) {
            Some(s) => format!(
                "Silenced until {} by {}{}",
                when(&s.ends_at),
                s.created_by,
                if s.comment.is_empty() { String::new() } else { format!(": {}", s.comment) }
            ),
            None => format!("Silenced (silence {id})"),
        };
        let _ = write!(out, r#"<p class="small">{}</p>"#, html(&said));
    }
    if alert.inhibited {
        out.push_str(r#"<p class="small">Inhibited: Alertmanager holds it back while a more important alert fires.</p>"#);
    }
}

impl Page<'_> {
    /// Whether the listing is of an Alertmanager the panel can make silences in.
    fn mine(&self, mine: &EnvironmentAlerts) -> bool {
        mine.alertmanager && mine.alertmanager_failure.is_none()
    }

    /// The silences that may hold back this environment's alerts.
    fn silences(&self, out: &mut String, mine: &EnvironmentAlerts) {
        let namespace = crate::monitoring::alertmanager::Matcher::equal(
            "namespace",
            &self.environment.namespace,
        );
        out.push_str(r#"<div id="silences"><h3>Silences</h3>"#);
        if mine.silences.is_empty() {
            out.push_str(r#"<p class="muted">No silence is active or scheduled here.</p></div>"#);
            return;
        }
        out.push_str(r#"<ul class="silences">"#);
        for s in &mine.silences {
            let matchers: Vec<String> = s.matchers.iter().map(ToString::to_string).collect();
            let period = if s.state == "pending" {
                format!("from {} until {}", when(&s.starts_at), when(&s.ends_at))
            } else {
                format!("until {}", when(&s.ends_at))
            };
            let _ = write!(
                out,
                r#"<li data-silence="{}"><span class="badge">{}</span> <code>{}</code> {} · by {}"#,
                html(&s.id),
                html(&s.state),
                html(&matchers.join(", ")),
                html(&period),
                html(&s.created_by)
            );
            if !s.comment.is_empty() {
                let _ = write!(out, r#"<p class="muted small">{}</p>"#, html(&s.comment));
            }
            // Only a silence scoped to this namespace is this environment's to end.
            if self.expire.is_allowed() && s.matchers.contains(&namespace) {
                let _ = write!(
                    out,
                    r#"<a class="button action small" data-action="expire_silence" href="/environments/{}/actions/expire_silence?silence={}">Expire</a><span class="small muted">{}</span>"#,
                    html(&url_segment(&self.environment.name)),
                    html(&url_segment(&s.id)),
                    approval_note(&self.expire)
                );
            }
            out.push_str("</li>");
        }
        out.push_str("</ul></div>");
    }
}
