//! What differs between two revisions of a workload, field by field: per container its
//! image, command, arguments, environment (names with literal values; a value taken from
//! a Secret or ConfigMap is shown as that reference — Gantry never reads Secrets), resources,
//! probes and ports; for the pod, its annotations and service account. Plain functions over
//! the recorded pod templates.

use serde_json::Value;

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Change {
    pub field: String,
    pub from: String,
    pub to: String,
}

fn compact(value: &Value) -> String {
    match value {
        Value::Null => "—".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The desired replicas of two revisions, when they differ (a Deployment's replica count
/// is not part of its pod template; each ReplicaSet records it when it is made or scaled).
pub fn replicas(from: Option<i32>, to: Option<i32>) -> Option<Change> {
    let show = |r: Option<i32>| r.map_or_else(|| "—".to_owned(), |r| r.to_string());
    (from != to).then(|| Change {
        field: "replicas (desired)".to_owned(),
        from: show(from),
        to: show(to),
    })
}

/// An environment variable's value as the diff shows it.
fn env_value(var: &Value) -> String {
    if let Some(v) = var.get("value") {
        return compact(v);
    }
    let from = &var["valueFrom"];
    if let Some(secret) = from.get("secretKeyRef") {
        return format!("from Secret {}/{}", compact(&secret["name"]), compact(&secret["key"]));
    }
    if let Some(map) = from.get("configMapKeyRef") {
        return format!("from ConfigMap {}/{}", compact(&map["name"]), compact(&map["key"]));
    }
    if from.is_object() {
        return format!("from {}", compact(from));
    }
    "—".to_owned()
}

fn by_name(list: &Value) -> Vec<(String, &Value)> {
    list.as_array()
        .map(|items| items.iter().map(|i| (compact(&i["name"]), i)).collect())
        .unwrap_or_default()
}

fn push(out: &mut Vec<Change>, field: String, from: String, to: String) {
    if from != to {
        out.push(Change { field, from, to });
    }
}

/// How much of a template's values the reader may see.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Values {
    /// Literal environment values, commands and arguments (people who may change the
    /// environment; values that look like secrets stay hidden).
    Shown,
    /// Names only, with "value hidden": stakeholders learn what changed, not the settings.
    Hidden,
}

pub const HIDDEN: &str = "value hidden";
pub const LOOKS_SECRET: &str = "value hidden (looks like a secret)";

/// Whether an environment variable's name says it holds a secret.
pub fn looks_secret(name: &str) -> bool {
    let name = name.to_ascii_uppercase();
    ["PASSWORD", "SECRET", "TOKEN", "KEY"].iter().any(|w| name.contains(w))
}

/// Like [`push`], comparing the real values but showing `mask` in their place (an absent
/// side stays "—").
fn push_masked(out: &mut Vec<Change>, field: String, from: String, to: String, mask: &str) {
    if from != to {
        let show = |v: String| if v == "—" { v } else { mask.to_owned() };
        out.push(Change { field, from: show(from), to: show(to) });
    }
}

/// The changes from template `a` to template `b`, with as much of the values as `values`
/// allows.
pub fn templates(a: &Value, b: &Value, values: Values) -> Vec<Change> {
    let mut out = Vec::new();
    let (ca, cb) = (by_name(&a["spec"]["containers"]), by_name(&b["spec"]["containers"]));
    let mut names: Vec<String> = ca.iter().chain(cb.iter()).map(|(n, _)| n.clone()).collect();
    names.dedup();
    let mut seen = Vec::new();
    for name in names {
        if seen.contains(&name) {
            continue;
        }
        seen.push(name.clone());
        let left = ca.iter().find(|(n, _)| *n == name).map(|(_, c)| *c);
        let right = cb.iter().find(|(n, _)| *n == name).map(|(_, c)| *c);
        let (left, right) = match (left, right) {
            (Some(l), Some(r)) => (l, r),
            (Some(l), None) => {
                push(&mut out, format!("container {name}"), compact(&l["image"]), "removed".into());
                continue;
            }
            (None, Some(r)) => {
                push(
                    &mut out,
                    format!("container {name}"),
                    "—".into(),
                    format!("added ({})", compact(&r["image"])),
                );
                continue;
            }
            (None, None) => continue,
        };
        for key in [
            "image",
            "command",
            "args",
            "resources",
            "livenessProbe",
            "readinessProbe",
            "startupProbe",
            "ports",
        ] {
            let (from, to) = (compact(&left[key]), compact(&right[key]));
            let field = format!("{name}: {key}");
            if values == Values::Hidden && matches!(key, "command" | "args") {
                push_masked(&mut out, field, from, to, HIDDEN);
            } else {
                push(&mut out, field, from, to);
            }
        }
        let (ea, eb) = (by_name(&left["env"]), by_name(&right["env"]));
        let mut vars: Vec<String> = ea.iter().chain(eb.iter()).map(|(n, _)| n.clone()).collect();
        vars.sort();
        vars.dedup();
        for var in vars {
            let value = |list: &[(String, &Value)]| {
                list.iter().find(|(n, _)| *n == var).map_or("—".to_owned(), |(_, v)| env_value(v))
            };
            let literal = |list: &[(String, &Value)]| {
                list.iter().any(|(n, v)| *n == var && v.get("value").is_some())
            };
            let field = format!("{name}: env {var}");
            let (from, to) = (value(&ea), value(&eb));
            if (literal(&ea) || literal(&eb)) && looks_secret(&var) {
                push_masked(&mut out, field, from, to, LOOKS_SECRET);
            } else if (literal(&ea) || literal(&eb)) && values == Values::Hidden {
                // A reference to a Secret or ConfigMap names no value: it stays shown.
                let shown = |list: &[(String, &Value)], v: String| {
                    if literal(list) {
                        if v == "—" {
                            v
                        } else {
                            HIDDEN.to_owned()
                        }
                    } else {
                        v
                    }
                };
                if from != to {
                    out.push(Change { field, from: shown(&ea, from), to: shown(&eb, to) });
                }
            } else {
                push(&mut out, field, from, to);
            }
        }
    }
    let annotations =
        |t: &Value| t["metadata"]["annotations"].as_object().cloned().unwrap_or_default();
    let (aa, ab) = (annotations(a), annotations(b));
    let mut keys: Vec<&String> = aa.keys().chain(ab.keys()).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        let get = |m: &serde_json::Map<String, Value>| m.get(key).map_or("—".to_owned(), compact);
        push(&mut out, format!("annotation {key}"), get(&aa), get(&ab));
    }
    push(
        &mut out,
        "service account".into(),
        compact(&a["spec"]["serviceAccountName"]),
        compact(&b["spec"]["serviceAccountName"]),
    );
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn exactly_the_changed_fields_are_listed_and_secret_references_stay_references() {
        let a = json!({"metadata": {"annotations": {"team": "co2"}}, "spec": {"containers": [{
            "name": "backend", "image": "reg/backend:1.8.2", "args": ["serve"],
            "env": [{"name": "APP_ENV", "value": "prod"},
                    {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}],
            "resources": {"limits": {"memory": "512Mi"}}}]}});
        let b = json!({"metadata": {"annotations": {"team": "co2", "kubectl.kubernetes.io/restartedAt": "2026-11-26T10:00:00Z"}},
            "spec": {"containers": [{
            "name": "backend", "image": "reg/backend:1.8.3", "args": ["serve"],
            "env": [{"name": "APP_ENV", "value": "prod"}, {"name": "LOG_LEVEL", "value": "debug"},
                    {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db-v2", "key": "password"}}}],
            "resources": {"limits": {"memory": "1Gi"}}},
            {"name": "proxy", "image": "reg/proxy:2"}]}});
        let fields: Vec<(String, String, String)> =
            templates(&a, &b, Values::Shown).into_iter().map(|c| (c.field, c.from, c.to)).collect();
        assert_eq!(
            fields,
            [
                ("backend: image".into(), "reg/backend:1.8.2".into(), "reg/backend:1.8.3".into()),
                (
                    "backend: resources".into(),
                    r#"{"limits":{"memory":"512Mi"}}"#.into(),
                    r#"{"limits":{"memory":"1Gi"}}"#.into()
                ),
                (
                    "backend: env DB_PASSWORD".into(),
                    "from Secret db/password".into(),
                    "from Secret db-v2/password".into()
                ),
                ("backend: env LOG_LEVEL".into(), "—".into(), "debug".into()),
                ("container proxy".into(), "—".into(), "added (reg/proxy:2)".into()),
                (
                    "annotation kubectl.kubernetes.io/restartedAt".into(),
                    "—".into(),
                    "2026-11-26T10:00:00Z".into()
                ),
            ]
        );
        assert!(templates(&a, &a, Values::Shown).is_empty());
    }

    #[test]
    fn values_are_hidden_from_readers_who_may_not_change_and_secrets_from_everyone() {
        let a = json!({"spec": {"containers": [{"name": "backend", "image": "b:1",
            "args": ["--workers", "4"],
            "env": [{"name": "APP_ENV", "value": "staging"}, {"name": "API_KEY", "value": "k-1"},
                    {"name": "DB", "valueFrom": {"configMapKeyRef": {"name": "db", "key": "host"}}}]}]}});
        let b = json!({"spec": {"containers": [{"name": "backend", "image": "b:1",
            "args": ["--workers", "8"],
            "env": [{"name": "APP_ENV", "value": "prod"}, {"name": "API_KEY", "value": "k-2"},
                    {"name": "DB", "valueFrom": {"configMapKeyRef": {"name": "db-prod", "key": "host"}}},
                    {"name": "DEBUG", "value": "1"}]}]}});
        let seen = |values| -> Vec<(String, String, String)> {
            templates(&a, &b, values).into_iter().map(|c| (c.field, c.from, c.to)).collect()
        };
        let row = |f: &str, from: &str, to: &str| (f.to_owned(), from.to_owned(), to.to_owned());
        assert_eq!(
            seen(Values::Hidden),
            [
                row("backend: args", HIDDEN, HIDDEN),
                row("backend: env API_KEY", LOOKS_SECRET, LOOKS_SECRET),
                row("backend: env APP_ENV", HIDDEN, HIDDEN),
                row("backend: env DB", "from ConfigMap db/host", "from ConfigMap db-prod/host"),
                row("backend: env DEBUG", "—", HIDDEN),
            ]
        );
        let shown = seen(Values::Shown);
        assert!(shown.contains(&row(
            "backend: args",
            r#"["--workers","4"]"#,
            r#"["--workers","8"]"#
        )));
        assert!(
            shown.contains(&row("backend: env API_KEY", LOOKS_SECRET, LOOKS_SECRET)),
            "{shown:?}"
        );
        assert!(shown.contains(&row("backend: env APP_ENV", "staging", "prod")));
        for (name, secret) in [
            ("DB_PASSWORD", true),
            ("oauth_token", true),
            ("SIGNING_KEY", true),
            ("LOG_LEVEL", false),
        ] {
            assert_eq!(looks_secret(name), secret, "{name}");
        }
    }
}
