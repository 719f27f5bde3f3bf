//! Helpers of the history tests: changing the simulated cluster, waiting for what the
//! recorder writes, reading pages and exports.
#![allow(clippy::unwrap_used)] // test helpers: a failure should fail the test where it happens

use std::time::Duration;

use serde_json::Value;
use sqlx::PgPool;

use crate::TestApp;

/// The seeded prod namespace.
pub const PROD: &str = "co2-calculator-prod";

pub fn edit(
    app: &TestApp,
    resource: usize,
    namespace: &str,
    name: &str,
    change: impl FnOnce(&mut Value),
) {
    let (cluster, _) = app.simulator.as_ref().unwrap();
    cluster
        .store
        .update(resource, namespace, name, None, |current| {
            let mut next = current.clone();
            change(&mut next);
            Ok(next)
        })
        .unwrap();
}

pub async fn recorded(db: &PgPool, environment: &str, workload: &str) -> Vec<i64> {
    sqlx::query_scalar(
        "select revision from observed_revision where environment = $1 and workload = $2 order by revision",
    )
    .bind(environment)
    .bind(workload)
    .fetch_all(db)
    .await
    .unwrap()
}

pub async fn until_recorded(db: &PgPool, environment: &str, workload: &str, revision: i64) {
    let what = format!("revision {revision} of {workload} in {environment} to be recorded");
    let present = || async { recorded(db, environment, workload).await.contains(&revision) };
    crate::eventually(Duration::from_secs(20), &what, present).await;
}

pub async fn json_of(client: &reqwest::Client, app: &TestApp, path: &str) -> Value {
    let response = client.get(app.url(path)).send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

pub async fn html_of(client: &reqwest::Client, app: &TestApp, path: &str) -> String {
    let response = client.get(app.url(path)).send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.text().await.unwrap()
}

/// Fills the history with `n` revisions over 3 environments × 5 workloads.
pub async fn fill(db: &PgPool, n: i64) {
    sqlx::query(
        "insert into observed_revision
            (environment, workload, revision, replicaset, template_hash, images, created_at, template)
         select (array['dev','staging','prod'])[1 + i % 3],
                (array['frontend','backend','celery-worker','redis','postgres'])[1 + (i / 3) % 5],
                i, 'rs-' || i, 'h' || i, array['app=reg/app:' || i],
                timestamptz '2026-01-01' + i * interval '1 minute', '{}'::jsonb
         from generate_series(1, $1) as i",
    )
    .bind(n)
    .execute(db)
    .await
    .unwrap();
    sqlx::query("analyze observed_revision").execute(db).await.unwrap();
}
