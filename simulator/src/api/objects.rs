//! get, list, create, update, patch, delete — and the scale and status subresources.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use axum::response::Response;
use base64::Engine;
use serde_json::{json, Value};

use super::{json, table, watch, Request};
use crate::admission;
use crate::error::{invalid, ApiError};
use crate::patch::{self, PatchType};
use crate::resources::RESOURCES;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::store::str_at;
use crate::Cluster;

pub async fn handle(cluster: &Cluster, request: Request) -> Result<Response, ApiError> {
    if request.param("dryRun").is_some() {
        // Refused rather than ignored: a "dry" change must never be stored.
        return Err(ApiError::BadRequest(
            "dryRun is not supported by the simulated cluster".into(),
        ));
    }
    let sub = request.subresource.clone();
    match (&request.method, request.name.is_some(), sub.as_deref()) {
        (&Method::GET, false, None) if request.flag("watch") => watch::serve(cluster, &request),
        (&Method::GET, false, None) => list(cluster, &request),
        (&Method::GET, true, None | Some("status")) => get(cluster, &request),
        (&Method::GET, true, Some("scale")) => get_scale(cluster, &request),
        (&Method::GET, true, Some("log")) => crate::logs::serve(cluster, &request),
        (&Method::POST, false, None) => create(cluster, &request),
        (&Method::PUT | &Method::PATCH, true, None) => write(cluster, &request, Part::Whole),
        (&Method::PUT | &Method::PATCH, true, Some("status")) => {
            write(cluster, &request, Part::Status)
        }
        (&Method::PUT | &Method::PATCH, true, Some("scale")) => write_scale(cluster, &request),
        (&Method::DELETE, true, None) => delete(cluster, &request),
        (&Method::DELETE, false, None) => delete_collection(cluster, &request),
        _ => Err(ApiError::MethodNotAllowed),
    }
}

fn namespace(request: &Request) -> &str {
    request.namespace.as_deref().unwrap_or("")
}

fn name(request: &Request) -> &str {
    request.name.as_deref().unwrap_or("")
}

fn check_subresource(request: &Request) -> Result<(), ApiError> {
    let r = &RESOURCES[request.resource];
    match request.subresource.as_deref() {
        None => Ok(()),
        Some("status") if r.status => Ok(()),
        Some("scale") if r.scale => Ok(()),
        Some(_) => Err(ApiError::NoSuchPath),
    }
}

fn get(cluster: &Cluster, request: &Request) -> Result<Response, ApiError> {
    check_subresource(request)?;
    let object = cluster.store.get(request.resource, namespace(request), name(request))?;
    if request.wants_table() {
        let rv = str_at(&object, "/metadata/resourceVersion").to_owned();
        return Ok(json(
            StatusCode::OK,
            &table::table(request.resource, &[object], &rv, cluster.clock().now()),
        ));
    }
    Ok(json(StatusCode::OK, &object))
}

/// Continue tokens carry where the previous page ended.
fn encode_continue(after: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(json!({"start": after}).to_string())
}

fn decode_continue(token: &str) -> Result<String, ApiError> {
    let bad = || {
        ApiError::BadRequest(
            "continue key is not valid: incorrect encoded start resourceVersion".into(),
        )
    };
    let bytes = base64::engine::general_purpose::STANDARD.decode(token).map_err(|_| bad())?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    value["start"].as_str().map(str::to_owned).ok_or_else(bad)
}

pub fn selectors(request: &Request) -> Result<(LabelSelector, FieldSelector), ApiError> {
    Ok((
        LabelSelector::parse(request.param("labelSelector").unwrap_or(""))?,
        FieldSelector::parse(request.param("fieldSelector").unwrap_or(""))?,
    ))
}

fn list(cluster: &Cluster, request: &Request) -> Result<Response, ApiError> {
    let (labels, fields) = selectors(request)?;
    let (items, rv) = cluster.store.list(request.resource, request.namespace.as_deref());
    let mut matching: Vec<Arc<Value>> = items
        .into_iter()
        .filter(|o| labels.matches(&o["metadata"]["labels"]) && fields.matches(o))
        .collect();
    if let Some(token) = request.param("continue") {
        let after = decode_continue(token)?;
        matching.retain(|o| object_position(o) > after);
    }
    let limit = match request.param("limit") {
        Some(text) => text
            .parse::<usize>()
            .map_err(|_| ApiError::BadRequest(format!("invalid limit {text:?}")))?,
        None => 0,
    };
    let mut metadata = json!({"resourceVersion": rv.to_string()});
    if limit > 0 && matching.len() > limit {
        let remaining = matching.len() - limit;
        matching.truncate(limit);
        if let Some(last) = matching.last() {
            metadata["continue"] = json!(encode_continue(&object_position(last)));
            metadata["remainingItemCount"] = json!(remaining);
        }
    }
    if request.wants_table() {
        let mut body =
            table::table(request.resource, &matching, &rv.to_string(), cluster.clock().now());
        body["metadata"] = metadata;
        return Ok(json(StatusCode::OK, &body));
    }
    let r = &RESOURCES[request.resource];
    Ok(json(
        StatusCode::OK,
        &json!({
            "kind": r.list_kind(),
            "apiVersion": r.api_version(),
            "metadata": metadata,
            "items": matching.iter().map(|o| (**o).clone()).collect::<Vec<_>>(),
        }),
    ))
}

/// Sort position of an object in a list: namespace, then name.
fn object_position(object: &Value) -> String {
    format!("{}/{}", str_at(object, "/metadata/namespace"), str_at(object, "/metadata/name"))
}

fn body_json(request: &Request) -> Result<Value, ApiError> {
    serde_json::from_slice(&request.body).map_err(|e| {
        ApiError::BadRequest(format!(
            "the request body is not JSON (the simulated cluster reads JSON only): {e}"
        ))
    })
}

fn create(cluster: &Cluster, request: &Request) -> Result<Response, ApiError> {
    let body = body_json(request)?;
    let object = admission::prepare_create(request.resource, namespace(request), body)?;
    let created = cluster.store.create(request.resource, object)?;
    Ok(json(StatusCode::CREATED, &created))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Whole,
    Status,
}

fn write(cluster: &Cluster, request: &Request, part: Part) -> Result<Response, ApiError> {
    check_subresource(request)?;
    let r = &RESOURCES[request.resource];
    let body = body_json(request)?;
    let patch_type = if request.method == Method::PATCH {
        Some(PatchType::from_content_type(request.content_type(), r.custom)?)
    } else {
        if str_at(&body, "/metadata/name") != name(request) {
            return Err(ApiError::BadRequest(
                "the name of the object does not match the name on the URL".into(),
            ));
        }
        None
    };
    let (ns, n) = (namespace(request), name(request));
    // Server-side apply creates what does not exist yet.
    if patch_type == Some(PatchType::Apply) && cluster.store.get(request.resource, ns, n).is_err() {
        let mut object = body;
        object["metadata"]["name"] = json!(n);
        let object = admission::prepare_create(request.resource, ns, object)?;
        let created = cluster.store.create(request.resource, object)?;
        return Ok(json(StatusCode::CREATED, &created));
    }
    // A resourceVersion in the body is a precondition (PUT, or a patch that carries one).
    let expected = match patch_type {
        None | Some(PatchType::Merge | PatchType::Strategic) => {
            body.pointer("/metadata/resourceVersion").and_then(Value::as_str).map(str::to_owned)
        }
        _ => None,
    };
    let manager = request.param("fieldManager").map(str::to_owned);
    let clock = cluster.store.clock().clone();
    let updated =
        cluster.store.update(request.resource, ns, n, expected.as_deref(), |current| {
            let proposed = match patch_type {
                Some(kind) => patch::apply(current, &body, kind, r.custom)?,
                None => body.clone(),
            };
            let mut next = match part {
                Part::Status => {
                    let mut next = current.clone();
                    next["status"] = proposed.get("status").cloned().unwrap_or(Value::Null);
                    next
                }
                Part::Whole => {
                    let mut next = proposed;
                    if r.status {
                        // With a status subresource, the main endpoint cannot change status.
                        match current.get("status") {
                            Some(status) => next["status"] = status.clone(),
                            None => {
                                if let Some(o) = next.as_object_mut() {
                                    o.remove("status");
                                }
                            }
                        }
                    }
                    next
                }
            };
            next["kind"] = json!(r.kind);
            next["apiVersion"] = json!(r.api_version());
            if let Some(manager) = &manager {
                admission::record_manager(
                    &mut next,
                    manager,
                    &clock.timestamp(),
                    patch_type == Some(PatchType::Apply),
                );
            }
            admission::default_and_validate(request.resource, &mut next)?;
            Ok(next)
        })?;
    Ok(json(StatusCode::OK, &updated))
}

/// The autoscaling/v1 Scale view of a workload.
pub fn scale_of(object: &Value) -> Value {
    let match_labels = object["spec"]["selector"]["matchLabels"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": object["metadata"]["name"],
            "namespace": object["metadata"]["namespace"],
            "uid": object["metadata"]["uid"],
            "resourceVersion": object["metadata"]["resourceVersion"],
            "creationTimestamp": object["metadata"]["creationTimestamp"],
        },
        "spec": {"replicas": object["spec"]["replicas"].as_i64().unwrap_or(1)},
        "status": {
            "replicas": object["status"]["replicas"].as_i64().unwrap_or(0),
            "selector": match_labels,
        },
    })
}

fn get_scale(cluster: &Cluster, request: &Request) -> Result<Response, ApiError> {
    check_subresource(request)?;
    let object = cluster.store.get(request.resource, namespace(request), name(request))?;
    Ok(json(StatusCode::OK, &scale_of(&object)))
}

fn write_scale(cluster: &Cluster, request: &Request) -> Result<Response, ApiError> {
    check_subresource(request)?;
    let (ns, n) = (namespace(request), name(request));
    let body = body_json(request)?;
    let current = cluster.store.get(request.resource, ns, n)?;
    let desired = if request.method == Method::PATCH {
        let content_type = request
            .headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let kind = PatchType::from_content_type(content_type, false)?;
        patch::apply(&scale_of(&current), &body, kind, false)?
    } else {
        body
    };
    let replicas = desired["spec"]["replicas"].as_i64().ok_or_else(|| {
        invalid("Scale", "autoscaling", n, "spec.replicas", "Required value".to_owned())
    })?;
    if replicas < 0 {
        return Err(invalid(
            "Scale",
            "autoscaling",
            n,
            "spec.replicas",
            format!("Invalid value: {replicas}: must be greater than or equal to 0"),
        ));
    }
    let expected =
        desired.pointer("/metadata/resourceVersion").and_then(Value::as_str).map(str::to_owned);
    let expected = if request.method == Method::PUT { expected } else { None };
    let updated = cluster.store.update(request.resource, ns, n, expected.as_deref(), |object| {
        let mut next = object.clone();
        next["spec"]["replicas"] = json!(replicas);
        Ok(next)
    })?;
    Ok(json(StatusCode::OK, &scale_of(&updated)))
}

fn delete(cluster: &Cluster, request: &Request) -> Result<Response, ApiError> {
    let removed = cluster.store.delete(request.resource, namespace(request), name(request))?;
    Ok(json(StatusCode::OK, &removed))
}

fn delete_collection(cluster: &Cluster, request: &Request) -> Result<Response, ApiError> {
    let (labels, fields) = selectors(request)?;
    let (items, _) = cluster.store.list(request.resource, request.namespace.as_deref());
    let mut removed = Vec::new();
    for item in
        items.iter().filter(|o| labels.matches(&o["metadata"]["labels"]) && fields.matches(o))
    {
        let ns = str_at(item, "/metadata/namespace");
        let n = str_at(item, "/metadata/name");
        if let Ok(gone) = cluster.store.delete(request.resource, ns, n) {
            removed.push((*gone).clone());
        }
    }
    let r = &RESOURCES[request.resource];
    Ok(json(
        StatusCode::OK,
        &json!({"kind": r.list_kind(), "apiVersion": r.api_version(), "metadata": {}, "items": removed}),
    ))
}
