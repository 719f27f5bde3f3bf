//! Watches: a chunked stream of `{"type": ..., "object": ...}` lines, with the
//! apiserver's resourceVersion semantics, bookmarks and 410 Gone.

use std::convert::Infallible;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;

use super::objects::selectors;
use super::{table, Request};
use crate::error::ApiError;
use crate::resources::RESOURCES;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::store::Change;
use crate::Cluster;

struct Filter {
    resource: usize,
    namespace: Option<String>,
    labels: LabelSelector,
    fields: FieldSelector,
    table: bool,
    /// Tables print ages from the cluster's now.
    clock: crate::Clock,
}

impl Filter {
    fn keeps(&self, resource: usize, namespace: &str, object: &Value) -> bool {
        resource == self.resource
            && self.namespace.as_deref().is_none_or(|ns| ns == namespace)
            && self.labels.matches(&object["metadata"]["labels"])
            && self.fields.matches(object)
    }

    fn line(&self, kind: &str, object: &Value) -> Bytes {
        let object = if self.table {
            let rv = object["metadata"]["resourceVersion"].as_str().unwrap_or("").to_owned();
            table::table(
                self.resource,
                &[std::sync::Arc::new(object.clone())],
                &rv,
                self.clock.now(),
            )
        } else {
            object.clone()
        };
        let mut line = json!({"type": kind, "object": object}).to_string();
        line.push('\n');
        Bytes::from(line)
    }
}

pub fn serve(cluster: &Cluster, request: &Request) -> Result<Response, ApiError> {
    let (labels, fields) = selectors(request)?;
    let from = match request.param("resourceVersion") {
        None | Some("0") => None,
        Some(text) => Some(
            text.parse::<u64>()
                .map_err(|_| ApiError::BadRequest(format!("invalid resourceVersion {text:?}")))?,
        ),
    };
    let filter = Filter {
        resource: request.resource,
        namespace: request.namespace.clone(),
        labels,
        fields,
        table: request.wants_table(),
        clock: cluster.clock().clone(),
    };
    let timeout = match request.param("timeoutSeconds") {
        Some(text) => Duration::from_secs(
            text.parse()
                .map_err(|_| ApiError::BadRequest(format!("invalid timeoutSeconds {text:?}")))?,
        ),
        None => Duration::from_secs(1800),
    };
    let bookmarks = request.flag("allowWatchBookmarks");
    let (tx, rx) = mpsc::channel::<Result<Bytes, Infallible>>(256);

    match cluster.store.subscribe(request.resource, from) {
        Err(gone @ ApiError::Gone { .. }) => {
            // The apiserver answers 200 and sends the 410 as an ERROR event.
            let line = format!("{}\n", json!({"type": "ERROR", "object": gone.status()}));
            let _ = tx.try_send(Ok(Bytes::from(line)));
        }
        Err(other) => return Err(other),
        Ok(subscription) => {
            let cluster = cluster.clone();
            tokio::spawn(async move {
                let mut last_rv = subscription.rv;
                for object in &subscription.current {
                    let ns = object["metadata"]["namespace"].as_str().unwrap_or("");
                    if filter.keeps(filter.resource, ns, object)
                        && tx.send(Ok(filter.line("ADDED", object))).await.is_err()
                    {
                        return;
                    }
                }
                for change in &subscription.backlog {
                    if !send(&tx, &filter, change).await {
                        return;
                    }
                    last_rv = last_rv.max(change.rv);
                }
                follow(cluster, subscription.live, tx, filter, last_rv, timeout, bookmarks).await;
            });
        }
    }
    let body = Body::from_stream(ReceiverStream::new(rx));
    Ok((StatusCode::OK, [(axum::http::header::CONTENT_TYPE, "application/json")], body)
        .into_response())
}

async fn send(
    tx: &mpsc::Sender<Result<Bytes, Infallible>>,
    filter: &Filter,
    change: &Change,
) -> bool {
    if !filter.keeps(change.resource, &change.namespace, &change.object) {
        return true;
    }
    tx.send(Ok(filter.line(change.kind.as_str(), &change.object))).await.is_ok()
}

async fn follow(
    cluster: Cluster,
    mut live: broadcast::Receiver<Change>,
    tx: mpsc::Sender<Result<Bytes, Infallible>>,
    filter: Filter,
    mut last_rv: u64,
    timeout: Duration,
    bookmarks: bool,
) {
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    let mut bookmark = tokio::time::interval(cluster.options.bookmark_interval);
    bookmark.tick().await;
    let mut outage = cluster.faults.outages();
    loop {
        tokio::select! {
            received = live.recv() => match received {
                Ok(change) => {
                    // Changes arrive in resourceVersion order, so this is how far this
                    // watch has seen: safe for a bookmark.
                    last_rv = last_rv.max(change.rv);
                    if !send(&tx, &filter, &change).await {
                        return;
                    }
                }
                // Fell behind: end the watch; the client resumes or relists.
                Err(_) => return,
            },
            _ = bookmark.tick(), if bookmarks => {
                let kind = &RESOURCES[filter.resource];
                let object = json!({
                    "kind": kind.kind,
                    "apiVersion": kind.api_version(),
                    "metadata": {"resourceVersion": last_rv.to_string()},
                });
                let line = format!("{}\n", json!({"type": "BOOKMARK", "object": object}));
                if tx.send(Ok(Bytes::from(line))).await.is_err() {
                    return;
                }
            }
            () = &mut deadline => return,
            // An injected outage cuts open watches, as a failing apiserver does.
            _ = outage.changed() => {
                if *outage.borrow() {
                    return;
                }
            }
        }
    }
}
