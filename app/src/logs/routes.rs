//! The logs panel as an address: `/environments/<env>/pods/<pod>/logs?…` (shown on the
//! pod page) and `/environments/<env>/workloads/<name>/logs?…` (a page of its own). It
//! holds the choices (container, lines, since, run, follow, filters), the download link
//! and the place the browser streams lines into. Someone who may see the environment
//! but not read its logs gets the reason instead (recorded as a refusal on the workload's
//! logs page; the stream and the download record theirs).

use std::fmt::Write as _;

use super::ask::{Ask, Target, DEFAULT_TAIL};
use super::follow::plan;
use super::line::Level;
use crate::access::server::{authorize_for, caller, record_denial};
use crate::access::{check, Action, Decision};
use crate::context::server_context;
use crate::error::AppError;
use crate::escape::html;
use crate::server_page::model::{pairs, ServerHtml};

/// The panel alone (the pod page holds it below the pod's state).
pub async fn frame(env: &str, target: Target, query: &str) -> Result<ServerHtml, AppError> {
    let context = server_context()?;
    let caller = caller();
    authorize_for(&context, &caller, env, Action::View).await?;
    let Some(index) = context.environments.iter().position(|e| e.name == env) else {
        return Err(AppError::Internal);
    };
    let environment = &context.environments[index];
    let ask = Ask::parse(env, Some(&target), &pairs(query), chrono::Utc::now())?;
    let title = match &target {
        Target::Pod(p) => format!("Logs of {p}"),
        Target::Workload(w) => format!("Logs of {w} in {env}"),
    };
    let mut out = String::new();
    if let Target::Workload(w) = &target {
        let (e, w) = (html(env), html(w));
        let _ = write!(
            out,
            r#"<nav class="crumbs" aria-label="Breadcrumb"><a href="/">Environments</a> / <a href="/environments/{e}">{e}</a> / <a href="/environments/{e}/workloads/{w}">{w}</a> / <span>logs</span></nav><header class="page-header"><h1>Logs of <a href="/environments/{e}/workloads/{w}">{w}</a> in {e}</h1><p class="muted">Every pod of {w}, merged by time; each line names its pod. New pods are followed as they start.</p></header>"#
        );
    }
    out.push_str(r#"<section class="panel logs" id="logs"><h2>Logs</h2>"#);
    if let Decision::Denied(denial) = check(caller.principal(), environment, Action::ReadLogs) {
        let reason = denial.reason(Action::ReadLogs);
        // A workload's logs page is asked for logs, and its refusal is on record; the pod
        // page only shows where its logs would be (no database write per view).
        if matches!(target, Target::Workload(_)) {
            record_denial(&context, &caller, Some(env), Action::ReadLogs, &reason).await;
        }
        let _ = write!(
            out,
            r#"<p class="refused" id="logs-refused" role="alert">{}</p></section>"#,
            html(&reason)
        );
        return Ok(ServerHtml { title, html: out });
    }
    let planned = plan(&context.live, index, &ask, &environment.namespace)?;
    let previous = planned.sources.first().is_some_and(|s| s.previous);
    controls(&mut out, &ask, &planned.containers, previous);
    if let Some(trace) = &ask.filter.trace {
        let _ = write!(
            out,
            r#"<p class="log-filtered" id="log-trace">Only the lines of request <span class="mono">{}</span>. <a href="{}">Show every request</a></p>"#,
            html(trace),
            html(&ask.page_with(None))
        );
    }
    let _ = write!(
        out,
        r#"<p class="log-status" id="log-status" role="status">Connecting…</p><div class="log-lines{}" id="log-lines" tabindex="0" data-log-stream="/api/logs?{}"></div><button type="button" class="log-resume" id="log-resume" hidden>Paused</button>"#,
        if matches!(target, Target::Workload(_)) { " with-pods" } else { "" },
        html(&ask.api_query())
    );
    out.push_str("</section>");
    Ok(ServerHtml { title, html: out })
}

/// The form that changes what is shown (an ordinary GET: the page is asked again).
fn controls(out: &mut String, ask: &Ask, containers: &[String], previous: bool) {
    let _ = write!(
        out,
        r#"<form class="log-controls" method="get" action="{}" id="log-controls">"#,
        html(&ask.page())
    );
    if containers.len() > 1 {
        out.push_str(r#"<label>Container <select name="container">"#);
        for c in containers {
            let selected =
                if ask.container.as_deref() == Some(c.as_str()) { " selected" } else { "" };
            let _ = write!(out, r#"<option value="{c}"{selected}>{c}</option>"#, c = html(c));
        }
        out.push_str("</select></label>");
    }
    let _ = write!(
        out,
        r#"<label>Lines <input type="number" name="tail" min="1" max="5000" value="{}"></label>"#,
        ask.tail.max(1)
    );
    let _ = write!(
        out,
        r#"<label>Since <input type="text" name="since" placeholder="15m, 2h or a time" size="12" value="{}"></label>"#,
        html(ask.since_text.as_deref().unwrap_or(""))
    );
    let run = |value: &str, label: &str, on: bool| {
        format!(r#"<option value="{value}"{}>{label}</option>"#, if on { " selected" } else { "" })
    };
    let _ = write!(
        out,
        r#"<label>Run <select name="previous">{}{}</select></label>"#,
        run("off", "current", !previous),
        run("on", "previous (before the last restart)", previous)
    );
    let _ = write!(
        out,
        r#"<label>Follow <select name="follow">{}{}</select></label>"#,
        run("on", "live", ask.follow),
        run("off", "no", !ask.follow)
    );
    out.push_str(r#"<label>Level <select name="level">"#);
    out.push_str(&run("all", "all", ask.filter.level.is_none()));
    for level in Level::ALL {
        let label = format!("{} and above", level.as_str());
        out.push_str(&run(level.as_str(), &label, ask.filter.level == Some(level)));
    }
    out.push_str("</select></label>");
    let _ = write!(
        out,
        r#"<label>Text <input type="search" name="q" maxlength="200" value="{}"></label>"#,
        html(ask.filter.text.as_deref().unwrap_or(""))
    );
    if let Some(t) = &ask.filter.trace {
        let _ = write!(out, r#"<input type="hidden" name="trace" value="{}">"#, html(t));
    }
    if let Some(c) = ask.container.as_ref().filter(|_| containers.len() <= 1) {
        let _ = write!(out, r#"<input type="hidden" name="container" value="{}">"#, html(c));
    }
    let _ = write!(
        out,
        r#"<button type="submit">Show</button> <a class="button" href="/api/logs.txt?{}" download id="log-download">Download as text</a></form>"#,
        html(&ask.api_query())
    );
    if ask.tail == DEFAULT_TAIL && ask.filter.is_empty() {
        out.push_str(r#"<p class="muted small">The last 200 lines, then new ones as they are written. Scroll up to pause; lines that arrive meanwhile wait below.</p>"#);
    }
}
