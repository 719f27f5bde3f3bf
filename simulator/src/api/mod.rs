//! The HTTP face of the simulated cluster: the Kubernetes REST API, paths and verbs as
//! kube-rs and kubectl use them.

mod control;
mod discovery;
mod objects;
mod table;
mod watch;

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::Value;

use crate::error::ApiError;
use crate::resources::{self, RESOURCES};
use crate::Cluster;

pub fn router(cluster: Cluster) -> Router {
    Router::new()
        .route("/version", get(discovery::version))
        .route("/api", get(discovery::core_versions))
        .route("/apis", get(discovery::groups))
        .route("/api/{*rest}", axum::routing::any(resources))
        .route("/apis/{*rest}", axum::routing::any(resources))
        .fallback(|| async { error(&ApiError::NoSuchPath) })
        .layer(axum::middleware::from_fn_with_state(cluster.clone(), crate::faults::middleware))
        .layer(axum::middleware::from_fn_with_state(cluster.clone(), crate::requests::middleware))
        // After the fault layer: the controls keep working during a simulated outage.
        .merge(control::router())
        .with_state(cluster)
}

/// A JSON answer with the apiserver's content type.
pub fn json(status: StatusCode, body: &Value) -> Response {
    (status, [(axum::http::header::CONTENT_TYPE, "application/json")], body.to_string())
        .into_response()
}

pub fn error(e: &ApiError) -> Response {
    let status = StatusCode::from_u16(e.code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json(status, &e.status())
}

/// Everything a resource request carries, parsed once.
pub struct Request {
    pub method: Method,
    pub resource: usize,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
    pub query: HashMap<String, String>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Request {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    pub fn flag(&self, name: &str) -> bool {
        matches!(self.param(name), Some("true" | "1"))
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    pub fn wants_table(&self) -> bool {
        self.headers
            .get(axum::http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("as=Table"))
    }
}

/// Every `/api/...` and `/apis/...` request: discovery documents and resources.
async fn resources(
    State(cluster): State<Cluster>,
    method: Method,
    uri: Uri,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let core = uri.path().starts_with("/api/");
    let segments: Vec<&str> = path_segments(&uri, if core { "/api/" } else { "/apis/" });
    let get = method == Method::GET;
    match (core, segments.as_slice()) {
        (true, ["v1"]) if get => discovery::resource_list("", "v1"),
        (true, ["v1", rest @ ..]) => {
            dispatch(&cluster, "", "v1", rest, method, query, headers, body).await
        }
        (false, [group]) if get => discovery::group(group),
        (false, [group, version]) if get => discovery::resource_list(group, version),
        (false, [group, version, rest @ ..]) => {
            dispatch(&cluster, group, version, rest, method, query, headers, body).await
        }
        _ => error(&ApiError::NoSuchPath),
    }
}

fn path_segments<'a>(uri: &'a Uri, prefix: &str) -> Vec<&'a str> {
    uri.path().strip_prefix(prefix).unwrap_or("").split('/').filter(|s| !s.is_empty()).collect()
}

#[allow(clippy::too_many_arguments)]
async fn dispatch(
    cluster: &Cluster,
    group: &str,
    version: &str,
    rest: &[&str],
    method: Method,
    query: HashMap<String, String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // `namespaces/{ns}/{plural}/...` unless it is the Namespace object itself.
    let namespaced = rest.len() >= 3
        && rest[0] == "namespaces"
        && resources::find(group, version, rest[2]).is_some_and(|r| RESOURCES[r].namespaced);
    let (namespace, tail) = if namespaced { (Some(rest[1]), &rest[2..]) } else { (None, rest) };
    let Some(plural) = tail.first() else { return error(&ApiError::NoSuchPath) };
    let Some(resource) = resources::find(group, version, plural) else {
        return error(&ApiError::NoSuchPath);
    };
    if !RESOURCES[resource].namespaced && namespace.is_some() || tail.len() > 3 {
        return error(&ApiError::NoSuchPath);
    }
    let request = Request {
        method,
        resource,
        namespace: namespace.map(str::to_owned),
        name: tail.get(1).map(|s| (*s).to_owned()),
        subresource: tail.get(2).map(|s| (*s).to_owned()),
        query,
        headers,
        body,
    };
    match objects::handle(cluster, request).await {
        Ok(response) => response,
        Err(e) => error(&e),
    }
}
