//! The `[[environments]]` list: what each environment is, where it runs, which workloads
//! it has and within which bounds they may be scaled, and where its metrics and dashboards
//! are. Validated here so a bad entry stops the server at start, naming the exact key.

use serde::Deserialize;

use gantry_app::config::{EnvironmentConfig, WorkloadConfig};
use gantry_app::status::model::WorkloadKind;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEnvironment {
    pub name: String,
    pub namespace: String,
    pub argocd_application: Option<String>,
    pub argocd_namespace: Option<String>,
    pub cluster_context: Option<String>,
    pub prometheus_selector: Option<String>,
    pub grafana_url: Option<String>,
    #[serde(default)]
    pub workloads: Vec<RawWorkload>,
    pub policy: Option<super::access::RawPolicy>,
    pub backups: Option<RawBackups>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBackups {
    pub cronjob: Option<String>,
    pub verify_cronjob: Option<String>,
    pub restore_cronjob: Option<String>,
    pub stop_during_restore: Option<Vec<String>>,
    pub max_age_hours: Option<u32>,
    pub hold_changes: Option<bool>,
}

/// Where changes need the most care, a stale backup holds them by default: wherever a
/// restore needs two approvals (production, and any environment without its own policy).
fn backups(
    raw: Option<RawBackups>,
    policy: &gantry_app::access::model::EnvironmentPolicy,
) -> Result<gantry_app::config::BackupConfig, Problem> {
    use gantry_app::access::model::Policy;
    let defaults = gantry_app::config::BackupConfig {
        hold_changes: matches!(policy.restore, Policy::Approval { approvals, .. } if approvals >= 2),
        ..Default::default()
    };
    let Some(raw) = raw else { return Ok(defaults) };
    let name = |key: &str, value: Option<String>, default: String| {
        let value = value.unwrap_or(default);
        if is_dns_label(&value) {
            Ok(value)
        } else {
            Err((
                format!("backups.{key}"),
                format!(
                    "{value:?} is not a Kubernetes object name (lowercase letters, digits and '-')"
                ),
            ))
        }
    };
    let cronjob = name("cronjob", raw.cronjob, defaults.cronjob)?;
    let verify_cronjob = name("verify_cronjob", raw.verify_cronjob, defaults.verify_cronjob)?;
    let restore_cronjob = name("restore_cronjob", raw.restore_cronjob, defaults.restore_cronjob)?;
    let max_age_hours = raw.max_age_hours.unwrap_or(defaults.max_age_hours);
    if !(1..=24 * 90).contains(&max_age_hours) {
        return Err((
            "backups.max_age_hours".into(),
            format!("{max_age_hours} is out of range; use 1 to 2160 (90 days)"),
        ));
    }
    let stop_during_restore = match raw.stop_during_restore {
        None => defaults.stop_during_restore,
        Some(names) => names
            .into_iter()
            .map(|n| name("stop_during_restore", Some(n), String::new()))
            .collect::<Result<_, _>>()?,
    };
    Ok(gantry_app::config::BackupConfig {
        stop_during_restore,
        cronjob,
        verify_cronjob,
        restore_cronjob,
        max_age_hours,
        hold_changes: raw.hold_changes.unwrap_or(defaults.hold_changes),
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWorkload {
    pub name: String,
    pub kind: Option<String>,
    pub min_replicas: Option<i32>,
    pub max_replicas: Option<i32>,
    pub prometheus_selector: Option<String>,
    pub grafana_url: Option<String>,
}

/// Most replicas a bound may name: a typo like 1000 instead of 10 is refused.
const MOST_REPLICAS: i32 = 500;

/// A problem with one key under `environments`: the key's path inside the list
/// (`[1].workloads[0].max_replicas`) and what is wrong.
pub type Problem = (String, String);

/// RFC 1123 label, as Kubernetes requires for namespace and object names.
pub fn is_dns_label(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 63
        && value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !value.starts_with('-')
        && !value.ends_with('-')
}

/// A PromQL label-matcher list (`namespace="x",pod=~"backend-.*"`), without the braces.
pub fn check_selector(selector: &str) -> Result<(), String> {
    let mut rest = selector.trim();
    if rest.is_empty() {
        return Err(
            "is empty; write label matchers such as namespace=\"co2-calculator-dev\"".into()
        );
    }
    while !rest.is_empty() {
        let name_end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .ok_or_else(|| format!("{selector:?}: a label name needs an operator and a value"))?;
        let (name, after) = rest.split_at(name_end);
        if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(format!("{selector:?}: expected a label name at {rest:?}"));
        }
        let after = after.trim_start();
        let op = ["=~", "!~", "!=", "="].into_iter().find(|op| after.starts_with(op));
        let Some(op) = op else {
            return Err(format!("{selector:?}: expected =, !=, =~ or !~ after {name:?}"));
        };
        let value = after[op.len()..].trim_start();
        let Some(quoted) = value.strip_prefix('"') else {
            return Err(format!("{selector:?}: the value for {name:?} must be in double quotes"));
        };
        let mut end = None;
        let mut escaped = false;
        for (i, c) in quoted.char_indices() {
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => {
                    end = Some(i);
                    break;
                }
                _ => escaped = false,
            }
        }
        let Some(end) = end else {
            return Err(format!("{selector:?}: the value for {name:?} has no closing quote"));
        };
        rest = quoted[end + 1..].trim_start();
        if let Some(more) = rest.strip_prefix(',') {
            rest = more.trim_start();
            if rest.is_empty() {
                return Err(format!("{selector:?}: ends with a comma"));
            }
        } else if !rest.is_empty() {
            return Err(format!("{selector:?}: expected a comma before {rest:?}"));
        }
    }
    Ok(())
}

fn check_url(url: &str) -> Result<(), String> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(host)
            if !host.is_empty() && !host.starts_with('/') && !url.contains(char::is_whitespace) =>
        {
            Ok(())
        }
        _ => Err(format!("{url:?} is not an http:// or https:// address")),
    }
}

/// A workload's series by default: its namespace and exactly its own pods' names
/// (`backend-<template hash>-<suffix>`, `postgres-<ordinal>`). `backend-.*` would also
/// take `backend-exporter-…` pods, and `postgres-.*` the database exporter's.
pub fn default_workload_selector(namespace: &str, workload: &str, kind: WorkloadKind) -> String {
    let pods = match kind {
        WorkloadKind::Deployment => format!("{workload}-[a-z0-9]+-[a-z0-9]+"),
        WorkloadKind::StatefulSet => format!("{workload}-[0-9]+"),
    };
    format!("namespace=\"{namespace}\",pod=~\"{pods}\"")
}

/// Validates the list; `contexts_allowed` is false unless the cluster comes from a
/// kubeconfig (only there does a context name mean something).
pub fn validate(
    list: Vec<RawEnvironment>,
    contexts_allowed: bool,
) -> Result<Vec<EnvironmentConfig>, Problem> {
    if list.is_empty() {
        return Err((String::new(), "at least one environment is needed".to_owned()));
    }
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(list.len());
    for (index, env) in list.into_iter().enumerate() {
        let at = |key: &str| format!("[{index}].{key}");
        if !is_dns_label(&env.name) {
            return Err((
                at("name"),
                format!("{:?} must be a short lowercase name (letters, digits, '-')", env.name),
            ));
        }
        if !is_dns_label(&env.namespace) {
            return Err((
                at("namespace"),
                format!("{:?} is not a valid Kubernetes namespace name", env.namespace),
            ));
        }
        if !seen.insert(env.name.clone()) {
            return Err((at("name"), format!("{:?} is used twice", env.name)));
        }
        let argocd_namespace = env.argocd_namespace.unwrap_or_else(|| "argocd".to_owned());
        if !is_dns_label(&argocd_namespace) {
            return Err((
                at("argocd_namespace"),
                format!("{argocd_namespace:?} is not a valid namespace name"),
            ));
        }
        if let Some(app) = env.argocd_application.as_deref().filter(|a| !is_dns_label(a)) {
            return Err((
                at("argocd_application"),
                format!("{app:?} is not a valid Application name"),
            ));
        }
        if let Some(context) = &env.cluster_context {
            if !contexts_allowed {
                return Err((
                    at("cluster_context"),
                    "only means something with cluster.source = \"kubeconfig\"".to_owned(),
                ));
            }
            if context.trim().is_empty() {
                return Err((at("cluster_context"), "is empty".to_owned()));
            }
        }
        let prometheus_selector =
            env.prometheus_selector.unwrap_or_else(|| format!("namespace=\"{}\"", env.namespace));
        check_selector(&prometheus_selector).map_err(|p| (at("prometheus_selector"), p))?;
        if let Some(url) = &env.grafana_url {
            check_url(url).map_err(|p| (at("grafana_url"), p))?;
        }
        let mut workloads: Vec<WorkloadConfig> = Vec::with_capacity(env.workloads.len());
        for (w_index, w) in env.workloads.into_iter().enumerate() {
            let at = |key: &str| format!("[{index}].workloads[{w_index}].{key}");
            if !is_dns_label(&w.name) {
                return Err((
                    at("name"),
                    format!("{:?} is not a valid Kubernetes object name", w.name),
                ));
            }
            if workloads.iter().any(|o| o.name == w.name) {
                return Err((at("name"), format!("{:?} is listed twice", w.name)));
            }
            let kind = match w.kind.as_deref().unwrap_or("Deployment") {
                "Deployment" => WorkloadKind::Deployment,
                "StatefulSet" => WorkloadKind::StatefulSet,
                other => {
                    return Err((
                        at("kind"),
                        format!("{other:?} is not one of \"Deployment\", \"StatefulSet\""),
                    ))
                }
            };
            let min = w.min_replicas.unwrap_or(1);
            let max = w.max_replicas.unwrap_or(min.max(1));
            if !(0..=MOST_REPLICAS).contains(&min) {
                return Err((
                    at("min_replicas"),
                    format!("{min} is out of range; use 0 to {MOST_REPLICAS}"),
                ));
            }
            if !(1..=MOST_REPLICAS).contains(&max) {
                return Err((
                    at("max_replicas"),
                    format!("{max} is out of range; use 1 to {MOST_REPLICAS}"),
                ));
            }
            if max < min {
                return Err((at("max_replicas"), format!("{max} is below min_replicas ({min})")));
            }
            let selector = w
                .prometheus_selector
                .unwrap_or_else(|| default_workload_selector(&env.namespace, &w.name, kind));
            check_selector(&selector).map_err(|p| (at("prometheus_selector"), p))?;
            if let Some(url) = &w.grafana_url {
                check_url(url).map_err(|p| (at("grafana_url"), p))?;
            }
            workloads.push(WorkloadConfig {
                name: w.name,
                kind,
                min_replicas: min,
                max_replicas: max,
                prometheus_selector: selector,
                grafana_url: w.grafana_url,
            });
        }
        let policy =
            super::access::validate_policy(env.policy).map_err(|(key, p)| (at(&key), p))?;
        let backups = backups(env.backups, &policy).map_err(|(key, p)| (at(&key), p))?;
        out.push(EnvironmentConfig {
            policy,
            backups,
            name: env.name,
            namespace: env.namespace,
            argocd_application: env.argocd_application,
            argocd_namespace,
            cluster_context: env.cluster_context,
            prometheus_selector,
            grafana_url: env.grafana_url,
            workloads,
        });
    }
    Ok(out)
}

/// The built-in default: dev, staging and prod of the CO2 calculator, each deployed by
/// its Argo CD Application, with the workloads the calculator runs and scaling bounds
/// that leave production its headroom.
pub fn defaults() -> Vec<EnvironmentConfig> {
    defaults_for(&["dev".to_owned(), "staging".to_owned(), "prod".to_owned()])
}

/// [`defaults`] for the simulator's environments: each beyond the three is set up as
/// prod is (its policy, its bounds).
pub fn defaults_for(names: &[String]) -> Vec<EnvironmentConfig> {
    names
        .iter()
        .map(|name| {
            let name = name.as_str();
            let namespace = format!("co2-calculator-{name}");
            let prod = !matches!(name, "dev" | "staging");
            // (workload, kind, min, max)
            let bounds: [(&str, WorkloadKind, i32, i32); 5] = [
                (
                    "frontend",
                    WorkloadKind::Deployment,
                    if prod { 2 } else { 1 },
                    if prod { 6 } else { 3 },
                ),
                (
                    "backend",
                    WorkloadKind::Deployment,
                    if prod { 3 } else { 1 },
                    if prod { 10 } else { 4 },
                ),
                (
                    "celery-worker",
                    WorkloadKind::Deployment,
                    if prod { 2 } else { 1 },
                    if prod { 8 } else { 4 },
                ),
                // One Redis and one PostgreSQL: more replicas would not share their data.
                ("redis", WorkloadKind::Deployment, 1, 1),
                ("postgres", WorkloadKind::StatefulSet, 1, 1),
            ];
            let workloads = bounds
                .into_iter()
                .map(|(w, kind, min, max)| WorkloadConfig {
                    name: w.to_owned(),
                    kind,
                    min_replicas: min,
                    max_replicas: max,
                    prometheus_selector: default_workload_selector(&namespace, w, kind),
                    grafana_url: None,
                })
                .collect();
            let policy = super::access::default_policy(name);
            EnvironmentConfig {
                backups: backups(None, &policy).unwrap_or_default(),
                policy,
                name: name.to_owned(),
                prometheus_selector: format!("namespace=\"{namespace}\""),
                argocd_application: Some(namespace.clone()),
                namespace,
                argocd_namespace: "argocd".to_owned(),
                cluster_context: None,
                grafana_url: None,
                workloads,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::check_selector;

    #[test]
    fn selectors_are_promql_label_matchers() {
        for good in [
            r#"namespace="co2-calculator-dev""#,
            r#"namespace="co2", pod=~"backend-.*""#,
            r#"job!="x",le!~"0\\.5|1""#,
            r#"label="with \"quotes\"""#,
        ] {
            assert_eq!(check_selector(good), Ok(()), "{good}");
        }
        for (bad, words) in [
            ("", "is empty"),
            ("namespace", "operator"),
            ("namespace=co2", "double quotes"),
            (r#"namespace="co2"#, "no closing quote"),
            (r#"a="1" b="2""#, "expected a comma"),
            (r#"a="1","#, "ends with a comma"),
            (r#"{a="1"}"#, "label name"),
            (r#"a=="1""#, "double quotes"),
        ] {
            let problem = check_selector(bad).expect_err(bad);
            assert!(problem.contains(words), "{bad}: {problem}");
        }
    }
}
