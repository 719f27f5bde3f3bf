//! What differs right now between two environments: per workload its version and every
//! pod-template field that differs (the same field diff as between two revisions), and the
//! Argo CD revision each runs. Read from the watch caches; the promotion preview an
//! approver needs before saying yes to prod.

use std::collections::BTreeMap;

use leptos::prelude::*;
use serde::Serialize;
use serde_json::Value;

use super::diff::{templates, Change, Values};
use crate::cluster::EnvironmentWatch;
use crate::status::model::EnvironmentStatus;

/// One environment as compared: its workloads' pod templates and versions, and Argo CD.
#[derive(Clone, Debug, Default)]
pub struct Side {
    pub name: String,
    pub templates: BTreeMap<String, Value>,
    /// The first container's image tag per workload.
    pub versions: BTreeMap<String, String>,
    /// The revision Argo CD deployed (short) and the one it tracks.
    pub argo: Option<String>,
}

impl Side {
    pub fn from_watch(
        name: &str,
        watch: &EnvironmentWatch,
        status: Option<&EnvironmentStatus>,
    ) -> Self {
        let mut templates = BTreeMap::new();
        for d in watch.deployments() {
            if let Some(t) = d.spec.as_ref().map(|s| &s.template) {
                templates.insert(d.metadata.name.clone().unwrap_or_default(), json(t));
            }
        }
        for s in watch.statefulsets() {
            if let Some(t) = s.spec.as_ref().map(|s| &s.template) {
                templates.insert(s.metadata.name.clone().unwrap_or_default(), json(t));
            }
        }
        let versions = status
            .map(|s| {
                s.workloads
                    .iter()
                    .filter_map(|w| Some((w.name.clone(), w.images.first()?.tag.clone())))
                    .collect()
            })
            .unwrap_or_default();
        let argo = status.and_then(|s| s.argo.as_ref()).map(|a| {
            let short = a.revision.get(..7).unwrap_or(&a.revision);
            format!("{short} ({})", a.target_revision)
        });
        Side { name: name.to_owned(), templates, versions, argo }
    }
}

fn json<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or_default()
}

#[derive(Clone, Debug, Serialize)]
pub struct WorkloadComparison {
    pub workload: String,
    /// None where the workload does not exist in that environment.
    pub from_version: Option<String>,
    pub to_version: Option<String>,
    /// The pod-template fields that differ (from → to); empty when the same.
    pub changes: Vec<Change>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    pub from: String,
    pub to: String,
    pub from_argo: Option<String>,
    pub to_argo: Option<String>,
    pub workloads: Vec<WorkloadComparison>,
}

impl Comparison {
    /// The workloads whose version differs (what a promotion would change).
    pub fn differing_versions(&self) -> impl Iterator<Item = &WorkloadComparison> {
        self.workloads.iter().filter(|w| w.from_version != w.to_version)
    }
}

pub fn compare(from: &Side, to: &Side, values: Values) -> Comparison {
    let mut names: Vec<&String> = from.templates.keys().chain(to.templates.keys()).collect();
    names.sort();
    names.dedup();
    let workloads = names
        .into_iter()
        .map(|name| {
            let changes = match (from.templates.get(name), to.templates.get(name)) {
                (Some(a), Some(b)) => templates(a, b, values),
                _ => Vec::new(),
            };
            let version = |side: &Side| {
                side.templates
                    .contains_key(name)
                    .then(|| side.versions.get(name).cloned().unwrap_or_else(|| "—".to_owned()))
            };
            WorkloadComparison {
                workload: name.clone(),
                from_version: version(from),
                to_version: version(to),
                changes,
            }
        })
        .collect();
    Comparison {
        from: from.name.clone(),
        to: to.name.clone(),
        from_argo: from.argo.clone(),
        to_argo: to.argo.clone(),
        workloads,
    }
}

pub fn render(c: &Comparison, environments: &[String]) -> String {
    let owner = Owner::new();
    owner.with(|| {
        let choose = |field: &'static str, chosen: &str| {
            let options = environments
                .iter()
                .map(|e| {
                    let selected = e == chosen;
                    view! { <option value=e.clone() selected=selected>{e.clone()}</option> }
                })
                .collect_view();
            view! { <select name=field>{options}</select> }
        };
        let absent = || "not there".to_owned();
        let rows = c
            .workloads
            .iter()
            .map(|w| {
                let differs = w.from_version != w.to_version || !w.changes.is_empty();
                let fields = if w.changes.is_empty() {
                    view! { <span class="muted">"same pod template"</span> }.into_any()
                } else {
                    let lines = w.changes.iter().map(|ch| view! {
                        <tr><th scope="row">{ch.field.clone()}</th><td class="mono small from">{ch.from.clone()}</td><td class="mono small to">{ch.to.clone()}</td></tr>
                    }).collect_view();
                    view! { <details><summary>{format!("{} field(s) differ", w.changes.len())}</summary><table class="table">{lines}</table></details> }.into_any()
                };
                view! {
                    <tr data-workload=w.workload.clone() class:differs=differs>
                        <th scope="row">{w.workload.clone()}</th>
                        <td class="mono">{w.from_version.clone().unwrap_or_else(absent)}</td>
                        <td class="mono">{w.to_version.clone().unwrap_or_else(absent)}</td>
                        <td>{fields}</td>
                    </tr>
                }
            })
            .collect_view();
        let argo_differs = c.from_argo != c.to_argo;
        let none = || "—".to_owned();
        let summary = {
            let moving: Vec<String> = c
                .differing_versions()
                .map(|w| {
                    format!(
                        "{} {} → {}",
                        w.workload,
                        w.to_version.clone().unwrap_or_else(absent),
                        w.from_version.clone().unwrap_or_else(absent)
                    )
                })
                .collect();
            if moving.is_empty() {
                format!("{} and {} run the same versions.", c.from, c.to)
            } else {
                format!("Promoting {} to {} would change: {}.", c.from, c.to, moving.join("; "))
            }
        };
        view! {
            <header class="page-header">
                <h1>{format!("{} compared with {}", c.from, c.to)}</h1>
                <a class="button" href="/history">"Back to History"</a>
            </header>
            <form class="panel filters" method="get" action="/history/compare" id="compare-form">
                <label>"From " {choose("from", &c.from)}</label>
                <label>"To " {choose("to", &c.to)}</label>
                <button type="submit" class="button">"Compare"</button>
            </form>
            <p id="promotion-summary">{summary}</p>
            <table class="table" id="comparison">
                <thead><tr><th>"Workload"</th><th>{c.from.clone()}</th><th>{c.to.clone()}</th><th>"Pod template"</th></tr></thead>
                <tbody>
                    {rows}
                    <tr data-workload="argocd" class:differs=argo_differs>
                        <th scope="row">"Argo CD revision"</th>
                        <td class="mono small">{c.from_argo.clone().unwrap_or_else(none)}</td>
                        <td class="mono small">{c.to_argo.clone().unwrap_or_else(none)}</td>
                        <td></td>
                    </tr>
                </tbody>
            </table>
        }
        .into_any()
        .to_html()
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn side(name: &str, workloads: &[(&str, &str, &str)], argo: &str) -> Side {
        let mut s = Side { name: name.into(), argo: Some(argo.into()), ..Side::default() };
        for (workload, tag, level) in workloads {
            s.templates.insert(
                (*workload).into(),
                json!({"spec": {"containers": [{"name": workload, "image": format!("reg/{workload}:{tag}"),
                        "env": [{"name": "LOG_LEVEL", "value": level}]}]}}),
            );
            s.versions.insert((*workload).into(), (*tag).into());
        }
        s
    }

    #[test]
    fn versions_fields_and_argo_revisions_that_differ_are_listed() {
        let staging = side(
            "staging",
            &[("backend", "1.9.0", "info"), ("frontend", "2.0", "info"), ("worker", "1", "info")],
            "b2 (main)",
        );
        let prod = side(
            "prod",
            &[("backend", "1.8.3", "info"), ("frontend", "2.0", "warn")],
            "a1 (v1.8.3)",
        );
        let c = compare(&staging, &prod, Values::Shown);
        let names: Vec<&str> = c.differing_versions().map(|w| w.workload.as_str()).collect();
        assert_eq!(names, ["backend", "worker"]);
        let backend = &c.workloads[0];
        assert_eq!(backend.changes.len(), 1, "{:?}", backend.changes);
        assert_eq!(backend.changes[0].from, "reg/backend:1.9.0");
        let frontend = &c.workloads[1];
        assert_eq!(
            (frontend.from_version.as_deref(), frontend.to_version.as_deref()),
            (Some("2.0"), Some("2.0"))
        );
        assert_eq!(frontend.changes.len(), 1, "the log level differs: {:?}", frontend.changes);
        assert_eq!(c.workloads[2].to_version, None, "no worker in prod");
        assert_ne!(c.from_argo, c.to_argo);
        let html = render(&c, &["staging".into(), "prod".into()]);
        assert!(html.contains("Promoting staging to prod would change: backend 1.8.3 → 1.9.0; worker not there → 1"), "{html}");
    }
}
