//! The simulator's controls for logs (not Kubernetes): write a line into a pod now, or
//! make one request to the application so its frontend, backend and worker log it under
//! one trace id. Tests and benchmarks use them to know which line to wait for.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::lines::Request;
use crate::api::json;
use crate::resources::ids;
use crate::store::str_at;
use crate::Cluster;

#[derive(Deserialize)]
pub struct Write {
    namespace: String,
    pod: String,
    #[serde(default)]
    container: Option<String>,
    text: String,
}

fn bad(status: StatusCode, message: &str) -> Response {
    json(status, &json!({"error": message}))
}

/// `POST /simulator/logs {"namespace", "pod", "container"?, "text"}`: each line of
/// `text` into the container's running run, timestamped now.
pub async fn write(State(cluster): State<Cluster>, Json(asked): Json<Write>) -> Response {
    let Ok(pod) = cluster.store.get(ids::POD, &asked.namespace, &asked.pod) else {
        return bad(StatusCode::NOT_FOUND, "no such pod");
    };
    let container = match asked.container {
        Some(c) => c,
        None => str_at(&pod, "/spec/containers/0/name").to_owned(),
    };
    let now = cluster.clock().now();
    if cluster.logs.write_now(&asked.namespace, &asked.pod, &container, now, &asked.text) {
        json(
            StatusCode::OK,
            &json!({"written": asked.text.lines().count(), "at": now.to_rfc3339()}),
        )
    } else {
        bad(StatusCode::CONFLICT, "the container is not running")
    }
}

#[derive(Deserialize)]
pub struct Make {
    namespace: String,
    #[serde(default)]
    path: Option<String>,
}

/// `POST /simulator/request {"namespace", "path"?}`: one request through the
/// application (the first running frontend, backend and worker pods log it); answers
/// its trace id.
pub async fn request(State(cluster): State<Cluster>, Json(asked): Json<Make>) -> Response {
    let mut request = Request::random();
    request.status = 200;
    request.millis = 42.5;
    if let Some(path) = asked.path {
        request.method = if path.contains("compute") { "POST" } else { "GET" }.to_owned();
        request.path = path;
    }
    let (pods, _) = cluster.store.list(ids::POD, Some(&asked.namespace));
    let now = cluster.clock().now();
    let mut written = Vec::new();
    for (app, lines) in [
        ("frontend", vec![request.frontend(now, "10.244.0.7")]),
        ("backend", request.backend(now)),
        ("celery-worker", request.worker(now)),
    ] {
        if lines.is_empty() {
            continue;
        }
        let running = pods.iter().find(|p| {
            str_at(p, "/metadata/labels/app") == app
                && p["status"]["containerStatuses"][0]["state"].get("running").is_some()
        });
        let Some(pod) = running else { continue };
        let name = str_at(pod, "/metadata/name");
        let container = str_at(pod, "/spec/containers/0/name");
        if cluster.logs.write_now(&asked.namespace, name, container, now, &lines.join("\n")) {
            written.push(name.to_owned());
        }
    }
    if written.is_empty() {
        return bad(StatusCode::CONFLICT, "no application pod runs in that namespace");
    }
    json(StatusCode::OK, &json!({"trace_id": request.trace_id, "pods": written}))
}
