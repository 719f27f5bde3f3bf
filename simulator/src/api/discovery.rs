//! Discovery: what kubectl and kube-rs ask before anything else.

use std::collections::BTreeSet;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};

use super::{error, json};
use crate::error::ApiError;
use crate::resources::RESOURCES;

pub async fn version() -> Response {
    json(
        StatusCode::OK,
        &json!({
            "major": "1",
            "minor": "33",
            "gitVersion": "v1.33.0-gantry-sim",
            "gitCommit": "0000000000000000000000000000000000000000",
            "gitTreeState": "clean",
            "buildDate": "2026-01-01T00:00:00Z",
            "goVersion": "go1.24",
            "compiler": "gc",
            "platform": "linux/amd64",
        }),
    )
}

pub async fn core_versions() -> Response {
    json(
        StatusCode::OK,
        &json!({
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}],
        }),
    )
}

fn group_versions() -> Vec<(&'static str, &'static str)> {
    let mut seen = BTreeSet::new();
    RESOURCES
        .iter()
        .filter(|r| !r.group.is_empty())
        .filter(|r| seen.insert((r.group, r.version)))
        .map(|r| (r.group, r.version))
        .collect()
}

fn group_object(group: &str) -> Value {
    let versions: Vec<Value> = group_versions()
        .into_iter()
        .filter(|(g, _)| *g == group)
        .map(|(g, v)| json!({"groupVersion": format!("{g}/{v}"), "version": v}))
        .collect();
    json!({
        "name": group,
        "versions": versions,
        "preferredVersion": versions.first().cloned().unwrap_or(Value::Null),
    })
}

pub async fn groups() -> Response {
    let names: BTreeSet<&str> = group_versions().into_iter().map(|(g, _)| g).collect();
    let groups: Vec<Value> = names.into_iter().map(group_object).collect();
    json(StatusCode::OK, &json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}))
}

pub fn group(group: &str) -> Response {
    if !group_versions().iter().any(|(g, _)| *g == group) {
        return error(&ApiError::NoSuchPath);
    }
    let mut body = group_object(group);
    body["kind"] = json!("APIGroup");
    body["apiVersion"] = json!("v1");
    json(StatusCode::OK, &body)
}

pub fn resource_list(group: &str, version: &str) -> Response {
    let mut resources = Vec::new();
    for r in RESOURCES.iter().filter(|r| r.group == group && r.version == version) {
        let verbs =
            ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];
        resources.push(json!({
            "name": r.plural,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": verbs,
            "shortNames": r.short_names,
            "storageVersionHash": "",
        }));
        if r.status {
            resources.push(json!({
                "name": format!("{}/status", r.plural),
                "singularName": "",
                "namespaced": r.namespaced,
                "kind": r.kind,
                "verbs": ["get", "patch", "update"],
            }));
        }
        if r.scale {
            resources.push(json!({
                "name": format!("{}/scale", r.plural),
                "singularName": "",
                "namespaced": r.namespaced,
                "group": "autoscaling",
                "version": "v1",
                "kind": "Scale",
                "verbs": ["get", "patch", "update"],
            }));
        }
    }
    if resources.is_empty() {
        return error(&ApiError::NoSuchPath);
    }
    let group_version =
        if group.is_empty() { version.to_owned() } else { format!("{group}/{version}") };
    json(
        StatusCode::OK,
        &json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}),
    )
}
