//! The pod page's content (`/environments/<env>/pods/<pod>`): what is wrong in words with
//! the next step, phase and conditions, each container's state, last termination,
//! restarts, image and resources, the node, and the warnings about it. Every value from
//! the cluster is escaped.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::{ContainerState, Pod};

use super::diagnose::diagnose;
use crate::escape::html;
use crate::status::model::WarningEvent;

pub struct PodPage<'a> {
    pub env: &'a str,
    pub pod: &'a Pod,
    pub workload: Option<&'a str>,
    pub warnings: &'a [WarningEvent],
    /// Whether the caller may read logs here (the link to the workload's logs).
    pub logs: bool,
    pub now: DateTime<Utc>,
}

fn at(t: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t?.0.as_second(), 0)
}

fn ago(t: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    t.map_or_else(String::new, |t| {
        crate::backups::page::distance(t.timestamp_millis(), now.timestamp_millis())
    })
}

fn state_words(state: Option<&ContainerState>, now: DateTime<Utc>) -> String {
    let Some(s) = state else { return "unknown".into() };
    if let Some(r) = &s.running {
        return format!("running, started {}", ago(at(r.started_at.as_ref()), now));
    }
    if let Some(w) = &s.waiting {
        let reason = w.reason.as_deref().unwrap_or("waiting");
        return match w.message.as_deref() {
            Some(m) if !m.is_empty() => format!("waiting: {reason} ({m})"),
            _ => format!("waiting: {reason}"),
        };
    }
    if let Some(t) = &s.terminated {
        return format!(
            "terminated: {} {}, exit {}",
            t.reason.as_deref().unwrap_or("ended"),
            ago(at(t.finished_at.as_ref()), now),
            t.exit_code
        );
    }
    "unknown".into()
}

impl PodPage<'_> {
    pub fn render(&self) -> String {
        let mut out = String::new();
        let pod = self.pod;
        let name = pod.metadata.name.as_deref().unwrap_or("");
        let status = pod.status.clone().unwrap_or_default();
        let phase = if pod.metadata.deletion_timestamp.is_some() {
            "Terminating".to_owned()
        } else {
            status.phase.clone().unwrap_or_else(|| "Pending".into())
        };
        let _ = write!(
            out,
            r#"<header class="page-header"><h1>Pod <span class="mono">{}</span></h1>"#,
            html(name)
        );
        let _ = write!(
            out,
            r#"<p class="muted">In {} · phase <strong id="pod-phase">{}</strong>"#,
            html(self.env),
            html(&phase)
        );
        if let Some(w) = self.workload {
            let _ = write!(
                out,
                r#" · part of <a href="/environments/{}/workloads/{}">{}</a>"#,
                html(self.env),
                html(w),
                html(w)
            );
            if self.logs {
                let _ = write!(
                    out,
                    r#" · <a href="/environments/{}/workloads/{}/logs" id="workload-logs">logs of every {} pod</a>"#,
                    html(self.env),
                    html(w),
                    html(w)
                );
            }
        }
        out.push_str("</p></header>");

        let findings = diagnose(pod, self.now);
        if findings.is_empty() {
            out.push_str(r#"<section class="panel diagnosis healthy" id="diagnosis"><p>Nothing is wrong with this pod that its status shows.</p></section>"#);
        } else {
            out.push_str(r#"<section class="panel diagnosis problem" id="diagnosis" role="alert"><h2>What is wrong</h2><ul>"#);
            for f in &findings {
                let _ = write!(
                    out,
                    r#"<li><p class="problem">{}</p><p class="next"><strong>Next step:</strong> {}</p></li>"#,
                    html(&f.problem),
                    html(&f.next)
                );
            }
            out.push_str("</ul></section>");
        }

        out.push_str(r#"<section class="panel"><h2>Pod</h2><dl class="facts" id="pod-facts">"#);
        let node = pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.clone())
            .unwrap_or_else(|| "not scheduled yet".into());
        let fact = |out: &mut String, label: &str, value: &str| {
            let _ = write!(out, "<dt>{}</dt><dd>{}</dd>", html(label), html(value));
        };
        fact(&mut out, "Node", &node);
        fact(&mut out, "Pod IP", status.pod_ip.as_deref().unwrap_or("none yet"));
        fact(&mut out, "Created", &ago(at(pod.metadata.creation_timestamp.as_ref()), self.now));
        fact(&mut out, "Quality of service", status.qos_class.as_deref().unwrap_or("unknown"));
        out.push_str("</dl></section>");

        out.push_str(r#"<section class="panel"><h2>Conditions</h2><table class="table" id="pod-conditions"><thead><tr><th scope="col">Condition</th><th scope="col">Status</th><th scope="col">Reason</th><th scope="col">Since</th></tr></thead><tbody>"#);
        for c in status.conditions.iter().flatten() {
            let reason = match (c.reason.as_deref(), c.message.as_deref()) {
                (Some(r), Some(m)) => format!("{r}: {m}"),
                (Some(r), None) => r.to_owned(),
                (None, Some(m)) => m.to_owned(),
                (None, None) => String::new(),
            };
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                html(&c.type_),
                html(&c.status),
                html(&reason),
                html(&ago(at(c.last_transition_time.as_ref()), self.now))
            );
        }
        out.push_str("</tbody></table></section>");

        out.push_str(r#"<section class="panel"><h2>Containers</h2><table class="table" id="pod-containers"><thead><tr><th scope="col">Container</th><th scope="col">Image</th><th scope="col">State</th><th scope="col">Ready</th><th scope="col">Restarts</th><th scope="col">Last termination</th><th scope="col">Requests / limits</th></tr></thead><tbody>"#);
        for c in pod.spec.iter().flat_map(|s| s.containers.iter()) {
            let cs = status.container_statuses.iter().flatten().find(|s| s.name == c.name);
            let last = cs
                .and_then(|s| s.last_state.as_ref())
                .and_then(|s| s.terminated.as_ref())
                .map(|t| {
                    format!(
                        "{} {}, exit {}",
                        t.reason.as_deref().unwrap_or("ended"),
                        ago(at(t.finished_at.as_ref()), self.now),
                        t.exit_code
                    )
                });
            let resources = c.resources.as_ref().map(|r| {
                let list = |l: Option<
                    &std::collections::BTreeMap<
                        String,
                        k8s_openapi::apimachinery::pkg::api::resource::Quantity,
                    >,
                >| {
                    l.map(|m| {
                        m.iter().map(|(k, v)| format!("{k} {}", v.0)).collect::<Vec<_>>().join(", ")
                    })
                    .unwrap_or_else(|| "—".into())
                };
                format!("{} / {}", list(r.requests.as_ref()), list(r.limits.as_ref()))
            });
            let _ = write!(
                out,
                r#"<tr data-container="{}"><td>{}</td><td class="mono">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
                html(&c.name),
                html(&c.name),
                html(c.image.as_deref().unwrap_or("")),
                html(&state_words(cs.and_then(|s| s.state.as_ref()), self.now)),
                if cs.is_some_and(|s| s.ready) { "yes" } else { "no" },
                cs.map_or(0, |s| s.restart_count),
                html(last.as_deref().unwrap_or("—")),
                html(resources.as_deref().unwrap_or("—"))
            );
        }
        out.push_str("</tbody></table></section>");

        out.push_str(r#"<section class="panel"><h2>Warnings</h2>"#);
        if self.warnings.is_empty() {
            out.push_str(
                r#"<p class="muted" id="pod-warnings">No warning events about this pod.</p>"#,
            );
        } else {
            out.push_str(r#"<table class="table" id="pod-warnings"><thead><tr><th scope="col">Reason</th><th scope="col">Message</th><th scope="col">Count</th><th scope="col">Last seen</th></tr></thead><tbody>"#);
            for w in self.warnings {
                let last = DateTime::from_timestamp_millis(w.last_ms);
                let _ = write!(
                    out,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    html(&w.reason),
                    html(&w.message),
                    w.count,
                    html(&ago(last, self.now))
                );
            }
            out.push_str("</tbody></table>");
        }
        out.push_str("</section>");
        out
    }
}
