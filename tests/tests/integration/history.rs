//! The recorded history against the simulated cluster: each revision recorded once, kept
//! after the cluster prunes it and across a restart, with how its rollout went; StatefulSet
//! revisions; Argo CD entries beyond the ten the Application keeps, and failed syncs.

use std::time::Duration;

use gantry_sim::resources::ids::{APPLICATION, DEPLOYMENT, REPLICASET, STATEFULSET};
use gantry_tests::history::{edit, html_of, json_of, recorded, until_recorded, PROD};
use gantry_tests::{
    eventually, eventually_some, spawn_on_simulator, spawn_on_simulator_with, Background, TestApp,
};
use serde_json::{json, Value};
use sqlx::PgPool;

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn revisions_are_recorded_once_and_outlive_pruning_and_restarts(db: PgPool) {
    let app = spawn_on_simulator(db.clone(), &[("GANTRY_SIMULATOR_SPEED", "10")]).await;
    until_recorded(&db, "prod", "backend", 1).await;
    // Keep one old ReplicaSet only, then release three times.
    edit(&app, DEPLOYMENT, PROD, "backend", |d| d["spec"]["revisionHistoryLimit"] = json!(1));
    for (revision, version) in [(2, "1.9.0"), (3, "1.9.1"), (4, "1.9.2")] {
        edit(&app, DEPLOYMENT, PROD, "backend", |d| {
            let image = format!("{}/backend:{version}", gantry_sim::seed::REGISTRY);
            d["spec"]["template"]["spec"]["containers"][0]["image"] = json!(image);
        });
        until_recorded(&db, "prod", "backend", revision).await;
    }
    // The cluster prunes down to the current ReplicaSet and one more.
    let (cluster, _) = app.simulator.as_ref().unwrap();
    let pruned = || async {
        let (sets, _) = cluster.store.list(REPLICASET, Some(PROD));
        let kept = sets
            .iter()
            .filter(|rs| rs["metadata"]["name"].as_str().unwrap().starts_with("backend-"))
            .count();
        kept <= 2
    };
    eventually(Duration::from_secs(20), "the cluster to keep 2 backend ReplicaSets", pruned).await;
    assert_eq!(
        recorded(&db, "prod", "backend").await,
        [1, 2, 3, 4],
        "each revision once, pruned ones kept"
    );

    // A restart re-lists everything: nothing is recorded twice, nothing is lost.
    app.stop().await;
    let app = spawn_on_simulator_with(db.clone(), &[], Background::OnDemand).await;
    assert!(app.record_history().await, "every environment recorded after the restart");
    let rows: i64 = sqlx::query_scalar("select count(*) from observed_revision where environment = 'prod' and workload = 'backend'")
        .fetch_one(&db)
        .await
        .unwrap();
    // The new server's simulated cluster starts from the seed again: its revision 1 is a
    // new ReplicaSet (another name), the old four stay.
    assert!(rows >= 4, "{rows}");
    let distinct: i64 = sqlx::query_scalar(
        "select count(*) from (select distinct environment, workload, replicaset, revision from observed_revision) d",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    let all: i64 =
        sqlx::query_scalar("select count(*) from observed_revision").fetch_one(&db).await.unwrap();
    assert_eq!(distinct, all, "no observation is recorded twice");
    app.stop().await;
}

/// Sets prod backend's image to `version` (the Deployment controller makes a revision, or
/// reuses the ReplicaSet that ran that template before: a rollback).
fn release(app: &TestApp, version: &str) {
    edit(app, DEPLOYMENT, PROD, "backend", |d| {
        let image = format!("{}/backend:{version}", gantry_sim::seed::REGISTRY);
        d["spec"]["template"]["spec"]["containers"][0]["image"] = json!(image);
    });
}

/// (outcome, duration in ms, rollback_of, rolled_back_by) of prod backend's `revision`.
type Outcome = (Option<String>, Option<i64>, Option<i64>, Option<i64>);

async fn outcome(db: &PgPool, revision: i64) -> Outcome {
    sqlx::query_as(
        "select outcome, (extract(epoch from finished_at - created_at) * 1000)::int8,
                rollback_of, rolled_back_by
         from observed_revision
         where environment = 'prod' and workload = 'backend' and revision = $1",
    )
    .bind(revision)
    .fetch_optional(db)
    .await
    .unwrap()
    .unwrap_or_default()
}

async fn until_outcome(db: &PgPool, revision: i64, wanted: &str) -> Outcome {
    let what = format!("revision {revision} to be recorded as {wanted}");
    eventually_some(Duration::from_secs(20), &what, || async {
        let last = outcome(db, revision).await;
        (last.0.as_deref() == Some(wanted)).then_some(last)
    })
    .await
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn rollouts_are_recorded_with_their_outcome_and_rollbacks_name_what_they_undid(db: PgPool) {
    use gantry_sim::faults::WorkloadFault::NeverReady;
    let app = spawn_on_simulator(db.clone(), &[("GANTRY_SIMULATOR_SPEED", "20")]).await;
    let (cluster, _) = app.simulator.as_ref().unwrap();
    // The seed's rollout is complete when the panel first looks.
    until_outcome(&db, 1, "completed").await;
    edit(&app, DEPLOYMENT, PROD, "backend", |d| d["spec"]["progressDeadlineSeconds"] = json!(30));

    release(&app, "1.9.0");
    let (_, took, ..) = until_outcome(&db, 2, "completed").await;
    assert!(took.is_some_and(|t| t >= 0), "a duration: {took:?}");

    // Pods that never become ready: the rollout fails at its deadline.
    cluster.faults.set(NeverReady, PROD, "backend", true);
    release(&app, "1.9.1");
    until_recorded(&db, "prod", "backend", 3).await;
    until_outcome(&db, 3, "failed").await;

    // Back to 1.9.0: Kubernetes reuses revision 2's ReplicaSet under number 4.
    cluster.faults.set(NeverReady, PROD, "backend", false);
    release(&app, "1.9.0");
    let (_, _, rollback_of, _) = until_outcome(&db, 4, "completed").await;
    assert_eq!(rollback_of, Some(2));
    assert_eq!(outcome(&db, 3).await.3, Some(4), "revision 3 was rolled back by 4");

    // A release replaced while still rolling out (a long deadline: it must not fail first,
    // however slow the machine).
    edit(&app, DEPLOYMENT, PROD, "backend", |d| d["spec"]["progressDeadlineSeconds"] = json!(6000));
    cluster.faults.set(NeverReady, PROD, "backend", true);
    release(&app, "2.0.0");
    until_outcome(&db, 5, "progressing").await;
    cluster.faults.set(NeverReady, PROD, "backend", false);
    release(&app, "2.0.1");
    until_outcome(&db, 5, "superseded").await;
    until_outcome(&db, 6, "completed").await;

    // The timeline says it in words, and the filters narrow it.
    let stakeholder = app.client_as("stakeholder").await;
    let export: Value =
        json_of(&stakeholder, &app, "/api/history.json?env=prod&workload=backend").await;
    let entry = |id: &str| {
        export["entries"].as_array().unwrap().iter().find(|e| e["id"] == id).cloned().unwrap()
    };
    assert_eq!(entry("rev-prod-backend-2")["outcome"], "completed");
    assert!(entry("rev-prod-backend-2")["outcome_words"]
        .as_str()
        .unwrap()
        .starts_with("completed in "));
    let failed = entry("rev-prod-backend-3");
    assert_eq!(failed["outcome"], "rolled back");
    let words = failed["outcome_words"].as_str().unwrap();
    assert!(
        words.starts_with("failed after ") && words.ends_with("then rolled back (revision 4)"),
        "{words}"
    );
    let back = entry("rev-prod-backend-4");
    assert_eq!(back["what"], "revision 4 (back to revision 2): backend:1.9.1 → backend:1.9.0");
    assert_eq!(entry("rev-prod-backend-5")["outcome"], "superseded");

    // Time range: nothing before the seed's revision, everything up to tomorrow.
    let count = |query: String| {
        let (client, app) = (&stakeholder, &app);
        async move { json_of(client, app, &query).await["entries"].as_array().unwrap().len() }
    };
    let to_2000 = "/api/history.json?env=prod&workload=backend&to=2000-01-01";
    assert_eq!(count(to_2000.into()).await, 0);
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1)).format("%Y-%m-%d");
    let all = count("/api/history.json?env=prod&workload=backend".into()).await;
    assert_eq!(all, 6);
    let ranged =
        format!("/api/history.json?env=prod&workload=backend&from=2000-01-01&to={tomorrow}");
    assert_eq!(count(ranged).await, all);
    let bad = stakeholder.get(app.url("/api/history.json?from=yesterday")).send().await.unwrap();
    assert_eq!(bad.status(), 400);
    let message: Value = bad.json().await.unwrap();
    assert!(message["error"].as_str().unwrap().contains("“from” must be a date"), "{message}");
    let page =
        stakeholder.get(app.url("/history?from=2026-12-01&to=2026-11-01")).send().await.unwrap();
    assert_eq!(page.status(), 400);
    app.stop().await;
}

/// (revision, outcome, rollback_of, rolled_back_by, kind, images) of prod postgres.
type SetRow = (i64, Option<String>, Option<i64>, Option<i64>, String, Vec<String>);

async fn postgres_revisions(db: &PgPool) -> Vec<SetRow> {
    sqlx::query_as(
        "select revision, outcome, rollback_of, rolled_back_by, kind, images from observed_revision
         where environment = 'prod' and workload = 'postgres' order by revision",
    )
    .fetch_all(db)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn statefulset_revisions_are_numbered_in_the_order_seen_with_outcomes(db: PgPool) {
    let app = spawn_on_simulator(db.clone(), &[("GANTRY_SIMULATOR_SPEED", "2")]).await;
    let set_image = |version: &str| {
        edit(&app, STATEFULSET, PROD, "postgres", |s| {
            s["spec"]["template"]["spec"]["containers"][0]["image"] =
                json!(format!("postgres:{version}"));
        });
    };
    let until = |check: fn(&[SetRow]) -> bool, what: &'static str| {
        let db = db.clone();
        async move {
            eventually_some(Duration::from_secs(20), what, || async {
                let rows = postgres_revisions(&db).await;
                check(&rows).then_some(rows)
            })
            .await
        }
    };
    // The seed's own rollout, first: settled before a release (completed if the panel saw
    // it under way, else no outcome — how long it took is unknown).
    let rows = until(|r| r.len() == 1 && r[0].1.as_deref() != Some("progressing"), "settled").await;
    assert_eq!(rows[0].4, "StatefulSet");
    assert!(matches!(rows[0].1.as_deref(), None | Some("completed")), "{rows:?}");

    set_image("16.6");
    let rows =
        until(|r| r.len() == 2 && r[1].1.as_deref() == Some("completed"), "16.6 rolled out").await;
    assert_eq!(rows[1].5, ["postgres=postgres:16.6"]);
    // Back to the first template: Kubernetes' revision name comes back, a rollback.
    set_image("16.4");
    let rows =
        until(|r| r.len() == 3 && r[2].1.as_deref() == Some("completed"), "the rollback").await;
    assert_eq!(rows[2].2, Some(1), "revision 3 brings back revision 1");
    assert_eq!(rows[1].3, Some(3), "revision 2 was rolled back by 3");

    // On the timeline with its outcome, diffable, and not offered for "roll back to this"
    // (Gantry rolls back Deployments only).
    let admin = app.client_as("admin").await;
    let export = json_of(&admin, &app, "/api/history.json?env=prod&workload=postgres").await;
    let entry = export["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == "rev-prod-postgres-2")
        .cloned()
        .unwrap();
    assert_eq!(entry["kind"], "StatefulSet");
    assert_eq!(entry["what"], "revision 2: postgres:16.4 → postgres:16.6");
    assert_eq!(entry["outcome"], "rolled back");
    let page = html_of(&admin, &app, "/history?env=prod&workload=postgres").await;
    assert!(
        page.contains("/history/diff?env=prod&amp;workload=postgres&amp;from=1&amp;to=2"),
        "{page}"
    );
    assert!(!page.contains("roll back to this"), "{page}");
    let diff = html_of(&admin, &app, "/history/diff?env=prod&workload=postgres&from=1&to=2").await;
    assert!(diff.contains("postgres: image"), "{diff}");
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn argo_cd_entries_beyond_the_ten_it_keeps_remain(db: PgPool) {
    let app = spawn_on_simulator(db.clone(), &[("GANTRY_SIMULATOR_SPEED", "60")]).await;
    let (cluster, _) = app.simulator.as_ref().unwrap();
    let history_ids = || {
        cluster.store.get(APPLICATION, "argocd", "co2-calculator-staging").unwrap()["status"]
            ["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["id"].as_i64().unwrap())
            .collect::<Vec<_>>()
    };
    for round in 0..12 {
        let last = history_ids().into_iter().max().unwrap();
        edit(&app, APPLICATION, "argocd", "co2-calculator-staging", |a| {
            a["operation"] = json!({"sync": {"revision": "release-1.8"}, "initiatedBy": {"username": format!("tester-{round}")}});
        });
        let grown = || async { history_ids().into_iter().max().unwrap() > last };
        eventually(Duration::from_secs(20), "Argo CD to record the sync", grown).await;
    }
    let kept = history_ids();
    assert_eq!(kept.len(), 10, "Argo CD keeps ten");
    let newest = *kept.iter().max().unwrap();
    let ids: Vec<i64> = eventually_some(Duration::from_secs(20), "the newest entry", || async {
        let ids: Vec<i64> = sqlx::query_scalar(
            "select history_id from argo_history where environment = 'staging' order by history_id",
        )
        .fetch_all(&db)
        .await
        .unwrap();
        (ids.last() == Some(&newest)).then_some(ids)
    })
    .await;
    assert_eq!(
        ids,
        (1..=newest).collect::<Vec<_>>(),
        "every entry, including those Argo CD dropped"
    );
    let by: String = sqlx::query_scalar(
        "select initiated_by from argo_history where environment = 'staging' and history_id = $1",
    )
    .bind(newest)
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(by, "tester-11");
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn a_failed_argo_cd_sync_is_kept_though_argo_cd_records_only_successes(db: PgPool) {
    use gantry_sim::faults::WorkloadFault::FailingSync;
    let app = spawn_on_simulator(db.clone(), &[("GANTRY_SIMULATOR_SPEED", "20")]).await;
    let (cluster, _) = app.simulator.as_ref().unwrap();
    app.wait_ready().await;
    cluster.faults.set(FailingSync, "co2-calculator-staging", "", true);
    edit(&app, APPLICATION, "argocd", "co2-calculator-staging", |a| {
        a["operation"] =
            json!({"sync": {"revision": "release-1.8"}, "initiatedBy": {"username": "erin"}});
    });
    let (phase, message, by): (String, String, String) =
        eventually_some(Duration::from_secs(20), "the failed sync to be recorded", || async {
            sqlx::query_as(
                "select phase, message, initiated_by from argo_failed_sync where environment = 'staging'",
            )
            .fetch_optional(&db)
            .await
            .unwrap()
        })
        .await;
    assert_eq!((phase.as_str(), by.as_str()), ("Failed", "erin"));
    assert!(message.contains("denied the request"), "{message}");
    // A later successful sync replaces Argo CD's last operation; the failure stays here.
    cluster.faults.set(FailingSync, "co2-calculator-staging", "", false);
    edit(&app, APPLICATION, "argocd", "co2-calculator-staging", |a| {
        a["operation"] =
            json!({"sync": {"revision": "release-1.8"}, "initiatedBy": {"username": "erin"}});
    });
    let stakeholder = app.client_as("stakeholder").await;
    let entries = eventually_some(Duration::from_secs(20), "both syncs in the export", || async {
        let export = json_of(&stakeholder, &app, "/api/history.json?env=staging&person=erin").await;
        let entries = export["entries"].as_array().unwrap().clone();
        (entries.len() == 2).then_some(entries)
    })
    .await;
    let outcomes: Vec<&str> = entries.iter().map(|e| e["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["synced", "failed"], "{entries:?}");
    let failed = &entries[1];
    assert!(failed["what"].as_str().unwrap().starts_with("Argo CD sync to "), "{failed}");
    assert!(failed["outcome_words"].as_str().unwrap().starts_with("failed"), "{failed}");
    app.stop().await;
}
