//! Helpers of the action tests: asking and deciding over HTTP, reading the simulated
//! cluster and the audit log.
#![allow(clippy::unwrap_used)] // test helpers: a failure should fail the test where it happens

use gantry_sim::resources::ids::DEPLOYMENT;
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::TestApp;

/// POSTs JSON as `client`; the status and the answer's body.
pub async fn post(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let response = client
        .post(app.url(path))
        .json(&body)
        .send()
        .await
        .expect("the request reaches the test server");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

pub async fn ask(app: &TestApp, client: &reqwest::Client, body: Value) -> (u16, Value) {
    post(app, client, "/api/actions", body).await
}

pub async fn step(app: &TestApp, client: &reqwest::Client, id: i64, what: &str) -> (u16, Value) {
    post(app, client, &format!("/api/requests/{id}/{what}"), json!({})).await
}

pub fn object(app: &TestApp, resource: usize, namespace: &str, name: &str) -> Value {
    let (cluster, _) = app.simulator.as_ref().expect("a test server on the simulated cluster");
    cluster.store.get(resource, namespace, name).expect("the object exists").as_ref().clone()
}

pub fn replicas(app: &TestApp, namespace: &str, name: &str) -> i64 {
    object(app, DEPLOYMENT, namespace, name)["spec"]["replicas"]
        .as_i64()
        .expect("a Deployment has replicas")
}

/// The kinds of the audit events recorded for request `id`, in order.
pub async fn audit_kinds(db: &PgPool, id: i64) -> Vec<String> {
    sqlx::query_scalar::<_, String>(
        "select kind from audit_event where request_id = $1 order by audit_event_id",
    )
    .bind(id)
    .fetch_all(db)
    .await
    .expect("the audit log can be read")
}

/// GETs JSON as `client`; the status and the answer's body.
pub async fn get_json(app: &TestApp, client: &reqwest::Client, path: &str) -> (u16, Value) {
    let response =
        client.get(app.url(path)).send().await.expect("the request reaches the test server");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}
