//! `GET /api/v1/namespaces/{ns}/pods/{name}/log`: a container's log as the kubelet serves
//! it through the apiserver. `container` (required when the pod has several), `previous`
//! (the last run that ended), `tailLines` (then `sinceSeconds` / `sinceTime`: the last N
//! lines, of those only the recent ones), `timestamps` (RFC 3339 with nanoseconds first),
//! `limitBytes`, and `follow` (new lines as they are written, until the run ends or the
//! pod is deleted). Refusals carry the kubelet's words.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{header, StatusCode};
use axum::response::Response;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

use super::{Line, Run};
use crate::api::Request;
use crate::error::ApiError;
use crate::resources::ids;
use crate::store::str_at;
use crate::Cluster;

/// Lines taken from a run at a time while streaming.
const CHUNK: usize = 256;

struct Params {
    container: Option<String>,
    follow: bool,
    previous: bool,
    tail: Option<usize>,
    since: Option<DateTime<Utc>>,
    timestamps: bool,
    limit: Option<usize>,
}

fn number(request: &Request, name: &str, least: i64) -> Result<Option<i64>, ApiError> {
    let Some(text) = request.param(name) else { return Ok(None) };
    let n: i64 = text.parse().map_err(|_| {
        ApiError::BadRequest(format!("{name}: Invalid value: {text:?}: not a number"))
    })?;
    if n < least {
        return Err(ApiError::BadRequest(format!(
            "{name}: Invalid value: {n}: must be greater than or equal to {least}"
        )));
    }
    Ok(Some(n))
}

fn params(request: &Request, now: DateTime<Utc>) -> Result<Params, ApiError> {
    let since_seconds = number(request, "sinceSeconds", 1)?;
    let since_time = match request.param("sinceTime") {
        Some(text) => Some(crate::controllers::util::parse_time(text).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "sinceTime: Invalid value: {text:?}: not an RFC 3339 time"
            ))
        })?),
        None => None,
    };
    if since_seconds.is_some() && since_time.is_some() {
        return Err(ApiError::BadRequest(
            "at most one of `sinceTime` or `sinceSeconds` may be specified".into(),
        ));
    }
    let since = since_time.or_else(|| since_seconds.map(|s| now - chrono::Duration::seconds(s)));
    Ok(Params {
        container: request.param("container").map(str::to_owned),
        follow: request.flag("follow"),
        previous: request.flag("previous"),
        tail: number(request, "tailLines", 0)?.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
        since,
        timestamps: request.flag("timestamps"),
        limit: number(request, "limitBytes", 1)?.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
    })
}

pub fn serve(cluster: &Cluster, request: &Request) -> Result<Response, ApiError> {
    if request.resource != ids::POD {
        return Err(ApiError::NoSuchPath);
    }
    let ns = request.namespace.as_deref().unwrap_or("");
    let name = request.name.as_deref().unwrap_or("");
    let pod = cluster.store.get(ids::POD, ns, name)?;
    let p = params(request, cluster.clock().now())?;
    let container = container(&pod, p.container.as_deref())?;
    if str_at(&pod, "/spec/nodeName").is_empty() {
        // Not scheduled: nothing has run, and the apiserver answers with no lines.
        return Ok(text(Body::empty()));
    }
    let runs = cluster.logs.runs(ns, name, &container);
    let Some(run) = pick(&pod, &container, p.previous, &runs)? else {
        return Ok(text(Body::empty()));
    };
    // The last N lines, then of those the ones since the time asked.
    let (all, _) = run.from(0, usize::MAX);
    let next = all.last().map_or(0, |l| l.seq + 1);
    let skip = p.tail.map_or(0, |n| all.len().saturating_sub(n));
    let first: Vec<Line> =
        all.into_iter().skip(skip).filter(|l| p.since.is_none_or(|s| l.at >= s)).collect();
    let format = Format { timestamps: p.timestamps, since: p.since };
    let mut budget = p.limit.unwrap_or(usize::MAX);
    let head = format.chunk(&first, &mut budget);
    if !p.follow || budget == 0 || run.ended() {
        return Ok(text(Body::from(head)));
    }
    let stream = Follow { run, next, format, budget, head: Some(head), rx: None };
    Ok(text(Body::from_stream(stream.into_stream())))
}

fn text(body: Body) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::OK;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, header::HeaderValue::from_static("text/plain"));
    response
}

/// The container asked for, or the pod's only one.
fn container(pod: &Value, asked: Option<&str>) -> Result<String, ApiError> {
    let pod_name = str_at(pod, "/metadata/name");
    let names: Vec<&str> = pod["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str())
        .collect();
    match asked {
        Some(name) if names.contains(&name) => Ok(name.to_owned()),
        Some(name) => {
            Err(ApiError::BadRequest(format!("container {name} is not valid for pod {pod_name}")))
        }
        None if names.len() == 1 => Ok(names[0].to_owned()),
        None => Err(ApiError::BadRequest(format!(
            "a container name must be specified for pod {pod_name}, choose one of: [{}]",
            names.join(" ")
        ))),
    }
}

/// Which run the kubelet reads: the last ended one for `previous`; else the running one,
/// or (after a crash, while it waits to restart) the one that ended last.
fn pick(
    pod: &Value,
    container: &str,
    previous: bool,
    runs: &[Arc<Run>],
) -> Result<Option<Arc<Run>>, ApiError> {
    let pod_name = str_at(pod, "/metadata/name");
    let status = pod["status"]["containerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["name"] == container);
    let Some(status) = status else {
        return Err(ApiError::BadRequest(format!(
            "container \"{container}\" in pod \"{pod_name}\" is waiting to start: ContainerCreating"
        )));
    };
    let last_ended = || runs.iter().rev().find(|r| r.ended()).cloned();
    let has_last = status["lastState"].get("terminated").is_some();
    let state = &status["state"];
    if previous {
        if !has_last {
            return Err(ApiError::BadRequest(format!(
                "previous terminated container \"{container}\" in pod \"{pod_name}\" not found"
            )));
        }
        let newest_running = runs.last().is_some_and(|r| !r.ended());
        return Ok(if newest_running { last_ended() } else { runs.last().cloned() });
    }
    if state.get("running").is_some() || state.get("terminated").is_some() {
        return Ok(runs.last().cloned());
    }
    if has_last {
        return Ok(last_ended());
    }
    let reason = str_at(state, "/waiting/reason");
    let why = match reason {
        "ErrImagePull" => "image can't be pulled",
        "ImagePullBackOff" => "trying and failing to pull image",
        "" => "ContainerCreating",
        other => other,
    };
    Err(ApiError::BadRequest(format!(
        "container \"{container}\" in pod \"{pod_name}\" is waiting to start: {why}"
    )))
}

#[derive(Clone, Copy)]
struct Format {
    timestamps: bool,
    since: Option<DateTime<Utc>>,
}

impl Format {
    /// The lines as bytes, at most `budget` of them (`limitBytes`), counted down.
    fn chunk(&self, lines: &[Line], budget: &mut usize) -> Bytes {
        let mut out = Vec::new();
        for line in lines {
            if self.since.is_some_and(|s| line.at < s) {
                continue;
            }
            if self.timestamps {
                out.extend_from_slice(
                    line.at.to_rfc3339_opts(SecondsFormat::Nanos, true).as_bytes(),
                );
                out.push(b' ');
            }
            out.extend_from_slice(&line.text);
            out.push(b'\n');
            if out.len() >= *budget {
                out.truncate(*budget);
                break;
            }
        }
        *budget -= out.len();
        Bytes::from(out)
    }
}

/// A followed run: what was there, then each new line, until the run ends.
struct Follow {
    run: Arc<Run>,
    next: u64,
    format: Format,
    budget: usize,
    head: Option<Bytes>,
    rx: Option<tokio::sync::watch::Receiver<u64>>,
}

impl Follow {
    fn into_stream(self) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
        futures_util::stream::unfold(self, |mut f| async move {
            if let Some(head) = f.head.take() {
                f.rx = Some(f.run.subscribe());
                return Some((Ok(head), f));
            }
            loop {
                if f.budget == 0 {
                    return None;
                }
                let rx = f.rx.as_mut()?;
                rx.borrow_and_update();
                let (lines, ended) = f.run.from(f.next, CHUNK);
                if let Some(last) = lines.last() {
                    f.next = last.seq + 1;
                    let bytes = f.format.chunk(&lines, &mut f.budget);
                    return Some((Ok(bytes), f));
                }
                if ended {
                    return None;
                }
                rx.changed().await.ok()?;
            }
        })
    }
}
