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

/// The changes from template `a` to template `b`.
pub fn templates(a: &Value, b: &Value) -> Vec<Change> {
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
            push(&mut out, format!("{name}: {key}"), compact(&left[key]), compact(&right[key]));
        }
        let (ea, eb) = (by_name(&left["env"]), by_name(&right["env"]));
        let mut vars: Vec<String> = ea.iter().chain(eb.iter()).map(|(n, _)| n.clone()).collect();
        vars.sort();
        vars.dedup();
        for var in vars {
            let value = |list: &[(String, &Value)]| {
                list.iter().find(|(n, _)| *n == var).map_or("—".to_owned(), |(_, v)| env_value(v))
            };
            push(&mut out, format!("{name}: env {var}"), value(&ea), value(&eb));
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
            templates(&a, &b).into_iter().map(|c| (c.field, c.from, c.to)).collect();
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
        assert!(templates(&a, &a).is_empty());
    }
}
