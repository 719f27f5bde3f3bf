//! Helpers of the backup and restore tests: the recorded runs, Jobs made by hand from a
//! CronJob's template, and waiting for a run to end.
#![allow(clippy::unwrap_used)] // test helpers: a failure should fail the test where it happens

use std::time::Duration;

use gantry_sim::resources::ids::{CRONJOB, JOB};
use serde_json::json;
use sqlx::PgPool;

use crate::{eventually_some, TestApp};

/// (job, state, reason, bytes) of an environment's recorded runs, oldest first.
pub async fn runs(
    db: &PgPool,
    environment: &str,
) -> Vec<(String, String, Option<String>, Option<i64>)> {
    sqlx::query_as(
        "select job, state, reason, bytes from backup_run where environment = $1 order by started_at, id",
    )
    .bind(environment)
    .fetch_all(db)
    .await
    .expect("the runs")
}

/// A Job made from the backup CronJob's template, as `kubectl create job --from` makes it.
pub fn back_up_by_hand(app: &TestApp, namespace: &str, name: &str) {
    run_by_hand(app, namespace, "db-backup", name);
}

/// A Job made from `cronjob`'s template, as `kubectl create job --from` makes it.
pub fn run_by_hand(app: &TestApp, namespace: &str, cronjob: &str, name: &str) {
    let (cluster, _) = app.simulator.as_ref().expect("a simulated cluster");
    let cronjob = cluster.store.get(CRONJOB, namespace, cronjob).expect("the CronJob");
    let job = json!({
        "metadata": {
            "name": name,
            "annotations": {"cronjob.kubernetes.io/instantiate": "manual"},
            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": cronjob["metadata"]["name"],
                "uid": cronjob["metadata"]["uid"], "controller": true}],
        },
        "spec": cronjob["spec"]["jobTemplate"]["spec"],
    });
    let job = gantry_sim::admission::prepare_create(JOB, namespace, job).expect("a valid Job");
    cluster.store.create(JOB, job).expect("the Job is created");
}

/// Records until `environment` has a run of `job` that ended; returns its state and reason.
pub async fn until_ended(app: &TestApp, environment: &str, job: &str) -> (String, Option<String>) {
    let found = || async {
        // A pass that could not record everything is tried again by the next one.
        let _ = app.record_backups().await;
        runs(&app.context.db, environment)
            .await
            .into_iter()
            .find(|r| r.0 == job && r.1 != "running")
            .map(|r| (r.1, r.2))
    };
    eventually_some(Duration::from_secs(60), "the backup run to end", found).await
}
