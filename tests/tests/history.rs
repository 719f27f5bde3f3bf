//! The recorded history against the simulated cluster: each revision recorded once, kept
//! after the cluster prunes it and across a restart; Argo CD entries beyond the ten the
//! Application keeps; the History page and its export, with Gantry's own requests named.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::time::Duration;

use gantry_sim::resources::ids::{APPLICATION, DEPLOYMENT, REPLICASET, STATEFULSET};
use gantry_tests::{spawn_on_simulator, TestApp};
use serde_json::{json, Value};
use sqlx::PgPool;

const PROD: &str = "co2-calculator-prod";

fn edit(
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

async fn recorded(db: &PgPool, environment: &str, workload: &str) -> Vec<i64> {
    sqlx::query_scalar(
        "select revision from observed_revision where environment = $1 and workload = $2 order by revision",
    )
    .bind(environment)
    .bind(workload)
    .fetch_all(db)
    .await
    .unwrap()
}

async fn until_recorded(db: &PgPool, environment: &str, workload: &str, revision: i64) {
    for _ in 0..100 {
        if recorded(db, environment, workload).await.contains(&revision) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("revision {revision} of {workload} in {environment} was never recorded");
}

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
    let mut kept = usize::MAX;
    for _ in 0..100 {
        let (sets, _) = cluster.store.list(REPLICASET, Some(PROD));
        kept = sets
            .iter()
            .filter(|rs| rs["metadata"]["name"].as_str().unwrap().starts_with("backend-"))
            .count();
        if kept <= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(kept <= 2, "the cluster kept {kept} ReplicaSets");
    assert_eq!(
        recorded(&db, "prod", "backend").await,
        [1, 2, 3, 4],
        "each revision once, pruned ones kept"
    );

    // A restart re-lists everything: nothing is recorded twice, nothing is lost.
    app.stop().await;
    let app = spawn_on_simulator(db.clone(), &[]).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
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
    let mut last = Outcome::default();
    for _ in 0..200 {
        last = outcome(db, revision).await;
        if last.0.as_deref() == Some(wanted) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("revision {revision} never became {wanted}: {last:?}");
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
            let mut rows = Vec::new();
            for _ in 0..200 {
                rows = postgres_revisions(&db).await;
                if check(&rows) {
                    return rows;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            panic!("never {what}: {rows:?}");
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
        for _ in 0..100 {
            if history_ids().into_iter().max().unwrap() > last {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let kept = history_ids();
    assert_eq!(kept.len(), 10, "Argo CD keeps ten");
    let newest = *kept.iter().max().unwrap();
    let mut ids: Vec<i64> = Vec::new();
    for _ in 0..50 {
        ids = sqlx::query_scalar(
            "select history_id from argo_history where environment = 'staging' order by history_id",
        )
        .fetch_all(&db)
        .await
        .unwrap();
        if ids.last() == Some(&newest) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
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
    let mut row: Option<(String, String, String)> = None;
    for _ in 0..100 {
        row = sqlx::query_as(
            "select phase, message, initiated_by from argo_failed_sync where environment = 'staging'",
        )
        .fetch_optional(&db)
        .await
        .unwrap();
        if row.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (phase, message, by) = row.expect("the failed sync was recorded");
    assert_eq!((phase.as_str(), by.as_str()), ("Failed", "erin"));
    assert!(message.contains("denied the request"), "{message}");
    // A later successful sync replaces Argo CD's last operation; the failure stays here.
    cluster.faults.set(FailingSync, "co2-calculator-staging", "", false);
    edit(&app, APPLICATION, "argocd", "co2-calculator-staging", |a| {
        a["operation"] =
            json!({"sync": {"revision": "release-1.8"}, "initiatedBy": {"username": "erin"}});
    });
    let stakeholder = app.client_as("stakeholder").await;
    let mut entries = Vec::new();
    for _ in 0..100 {
        let export = json_of(&stakeholder, &app, "/api/history.json?env=staging&person=erin").await;
        entries = export["entries"].as_array().unwrap().clone();
        if entries.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let outcomes: Vec<&str> = entries.iter().map(|e| e["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["synced", "failed"], "{entries:?}");
    let failed = &entries[1];
    assert!(failed["what"].as_str().unwrap().starts_with("Argo CD sync to "), "{failed}");
    assert!(failed["outcome_words"].as_str().unwrap().starts_with("failed"), "{failed}");
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn the_history_page_and_export_show_what_runs_where_and_who_changed_it(db: PgPool) {
    let app = spawn_on_simulator(db.clone(), &[]).await;
    let developer = app.client_as("developer").await;
    until_recorded(&db, "dev", "backend", 1).await;
    let answer = developer
        .post(app.url("/api/actions"))
        .json(&json!({"environment": "dev", "action": "restart", "workload": "backend", "reason": "new config"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 201);
    until_recorded(&db, "dev", "backend", 2).await;

    let stakeholder = app.client_as("stakeholder").await;
    let page = stakeholder.get(app.url("/history")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("What runs where") && html.contains("id=\"rev-dev-backend-2\""),
        "{html}"
    );

    let export: Value =
        json_of(&stakeholder, &app, "/api/history.json?env=dev&workload=backend").await;
    let entries = export["entries"].as_array().unwrap();
    assert!(
        entries.iter().all(|e| e["environment"] == "dev" && e["object"] == "backend"),
        "{export}"
    );
    let restart = entries.iter().find(|e| e["id"] == "rev-dev-backend-2").unwrap();
    assert_eq!(
        restart["what"],
        "revision 2: same images (template changed: restart or configuration)"
    );
    let who = restart["who"].as_str().unwrap();
    assert!(who.starts_with("restart by Dana Developer: “new config”"), "{who}");

    // The diff of the restart: only the restart annotation changed.
    let diff = stakeholder
        .get(app.url("/history/diff?env=dev&workload=backend&from=1&to=2"))
        .send()
        .await
        .unwrap();
    assert_eq!(diff.status(), 200);
    let html = diff.text().await.unwrap();
    let rows = html.matches("<tr><th scope=\"row\">").count();
    assert_eq!(rows, 1, "{html}");
    assert!(html.contains("annotation kubectl.kubernetes.io/restartedAt"), "{html}");
    let bad = stakeholder
        .get(app.url("/history/diff?env=dev&workload=backend&from=x&to=2"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let missing = stakeholder
        .get(app.url("/history/diff?env=dev&workload=backend&from=1&to=99"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    // Rolling back is offered from the timeline to whoever may ask for it, only there.
    assert!(!html_of(&stakeholder, &app, "/history?env=dev").await.contains("roll back to this"));
    let developers = html_of(&developer, &app, "/history?env=dev").await;
    assert!(
        developers.contains("/environments/dev/actions/rollback?workload=backend&amp;revision=1"),
        "{developers}"
    );

    // Filtering by person: part of a name, any case, after the join with the requests.
    let by_person = |query: &'static str| {
        let (client, app) = (&stakeholder, &app);
        async move {
            json_of(client, app, query).await["entries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(by_person("/api/history.json?person=dana").await, ["rev-dev-backend-2"]);
    assert!(by_person("/api/history.json?person=nobody-at-all").await.is_empty());
    let page = html_of(&stakeholder, &app, "/history?person=DANA+developer").await;
    assert!(
        page.contains("id=\"rev-dev-backend-2\"") && page.contains("Timeline (1 entries"),
        "{page}"
    );

    let csv = stakeholder.get(app.url("/api/history.csv?env=dev")).send().await.unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.unwrap();
    assert!(csv.starts_with("\"id\",\"time\",\"environment\""), "{csv}");
    assert!(csv.contains("\"rev-dev-backend-2\""), "{csv}");

    let newcomer = app.client_as("newcomer").await;
    assert_eq!(newcomer.get(app.url("/api/history.json")).send().await.unwrap().status(), 403);
    assert_eq!(newcomer.get(app.url("/history")).send().await.unwrap().status(), 403);
    let unknown = stakeholder.get(app.url("/api/history.json?env=qa")).send().await.unwrap();
    assert_eq!(unknown.status(), 404);
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn the_environment_comparison_lists_what_differs_between_two_environments(db: PgPool) {
    const STAGING: &str = "co2-calculator-staging";
    let app = spawn_on_simulator(db.clone(), &[]).await;
    let image = |workload: &str, version: &str| {
        json!(format!("{}/{workload}:{version}", gantry_sim::seed::REGISTRY))
    };
    // A prepared pair: backend differs by version, frontend by one setting, the worker is
    // the same in both.
    for (namespace, backend) in [(STAGING, "2.1.0"), (PROD, "2.0.0")] {
        edit(&app, DEPLOYMENT, namespace, "backend", |d| {
            d["spec"]["template"]["spec"]["containers"][0]["image"] = image("backend", backend);
        });
        edit(&app, DEPLOYMENT, namespace, "frontend", |d| {
            let container = &mut d["spec"]["template"]["spec"]["containers"][0];
            container["image"] = image("frontend", "3.0.0");
            let flag = if namespace == STAGING { "on" } else { "off" };
            container["env"] = json!([{"name": "FEATURE_X", "value": flag}]);
        });
        edit(&app, DEPLOYMENT, namespace, "celery-worker", |d| {
            d["spec"]["template"]["spec"]["containers"][0]["image"] = image("backend", "2.0.0");
        });
    }
    let approver = app.client_as("approver").await;
    let mut html = String::new();
    for _ in 0..100 {
        html = html_of(&approver, &app, "/history/compare?from=staging&to=prod").await;
        if html.contains("backend 2.0.0 → 2.1.0") && html.contains("FEATURE_X") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let summary = html.split("id=\"promotion-summary\">").nth(1).unwrap();
    let summary = summary.split("</p>").next().unwrap();
    assert_eq!(summary, "Promoting staging to prod would change: backend 2.0.0 → 2.1.0.");
    let row = |workload: &str| {
        let start = html.find(&format!("data-workload=\"{workload}\"")).unwrap();
        // Up to the next workload's row (a row holds a table of its own fields).
        let rest = &html[start + 1..];
        rest[..rest.find("data-workload=").unwrap_or(rest.len())].to_owned()
    };
    let backend = row("backend");
    // Its image, and the setting that names the environment.
    assert!(backend.contains("differs") && backend.contains("2 field(s) differ"), "{backend}");
    assert!(
        backend.contains("backend: image") && backend.contains("backend: env APP_ENV"),
        "{backend}"
    );
    let frontend = row("frontend");
    assert!(frontend.contains("differs") && frontend.contains("env FEATURE_X"), "{frontend}");
    assert!(frontend.contains(">on<") && frontend.contains(">off<"), "{frontend}");
    let worker = row("celery-worker");
    assert!(!worker.contains("differs") && worker.contains("same pod template"), "{worker}");
    // The default is the last two environments: staging → prod.
    let default = html_of(&approver, &app, "/history/compare").await;
    assert!(default.contains("staging compared with prod"), "{default}");
    // Bad or hidden choices are refused with a reason.
    let same = approver.get(app.url("/history/compare?from=prod&to=prod")).send().await.unwrap();
    assert_eq!(same.status(), 400);
    let unknown = approver.get(app.url("/history/compare?from=qa&to=prod")).send().await.unwrap();
    assert_eq!(unknown.status(), 404);
    app.stop().await;
}

async fn json_of(client: &reqwest::Client, app: &TestApp, path: &str) -> Value {
    let response = client.get(app.url(path)).send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

async fn html_of(client: &reqwest::Client, app: &TestApp, path: &str) -> String {
    let response = client.get(app.url(path)).send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.text().await.unwrap()
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn older_entries_are_one_link_away_and_none_is_lost_between_pages(db: PgPool) {
    let app = spawn_on_simulator(db.clone(), &[]).await;
    until_recorded(&db, "prod", "backend", 1).await;
    fill(&db, 700).await;
    // Entries are named by environment, workload and revision (the filler's revision 1s
    // share names with the cluster's own).
    let all: i64 = sqlx::query_scalar(
        "select count(*) from (select distinct environment, workload, revision from observed_revision) r",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    let stakeholder = app.client_as("stakeholder").await;
    let ids = |html: &str| -> Vec<String> {
        html.split("<tr id=\"").skip(1).map(|r| r.split('"').next().unwrap().to_owned()).collect()
    };
    let mut seen = std::collections::BTreeSet::new();
    let mut path = "/history?workload=".to_owned();
    let mut pages = 0;
    loop {
        let html = html_of(&stakeholder, &app, &path).await;
        pages += 1;
        seen.extend(ids(&html));
        let Some(at) = html.find("id=\"older\"") else { break };
        let link = html[..at].rsplit("href=\"").next().unwrap();
        path = link.split('"').next().unwrap().replace("&amp;", "&");
        assert!(
            path.contains("workload=&") || path.contains("workload=&to="),
            "filters kept: {path}"
        );
        assert!(pages < 5, "{path}");
    }
    assert_eq!(pages, 2, "700 and more entries: two pages of 500");
    let revisions = seen.iter().filter(|id| id.starts_with("rev-")).count();
    assert_eq!(i64::try_from(revisions).unwrap(), all, "every revision on one page or the other");
    app.stop().await;
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

/// The plan of the timeline query for these filters.
async fn plan_of(
    db: &PgPool,
    sql: &str,
    envs: Vec<String>,
    environment: Option<&'static str>,
    workload: Option<&'static str>,
    since_ms: Option<i64>,
) -> String {
    let lines: Vec<String> = sqlx::query_scalar(&format!("explain {sql}"))
        .bind(envs)
        .bind(environment)
        .bind(workload)
        .bind(500_i64)
        .bind(since_ms)
        .bind(None::<i64>)
        .fetch_all(db)
        .await
        .unwrap();
    lines.join("\n")
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn the_timeline_query_reads_through_its_indexes(db: PgPool) {
    fill(&db, 10_000).await;
    let sql = include_str!("../../app/src/history/timeline.sql");
    let envs = vec!["dev".to_owned(), "staging".to_owned(), "prod".to_owned()];
    let explain = |environment: Option<&'static str>, workload: Option<&'static str>| {
        plan_of(&db, sql, envs.clone(), environment, workload, None)
    };
    for (environment, workload) in
        [(None, None), (Some("prod"), None), (Some("prod"), Some("backend"))]
    {
        let plan = explain(environment, workload).await;
        eprintln!("EXPLAIN timeline ({environment:?}, {workload:?}):\n{plan}");
        assert!(plan.contains("Index Scan") && !plan.contains("Seq Scan"), "{plan}");
        // The newest first straight from the index; one workload's rows (a few hundred
        // here) may be fetched by the index and then sorted.
        assert!(workload.is_some() || !plan.contains("Sort"), "{plan}");
    }
    let one = explain(Some("prod"), Some("backend")).await;
    assert!(one.contains("observed_revision_environment_idx"), "{one}");
    // A time range starts the scan at its end of the index.
    let since =
        chrono::DateTime::parse_from_rfc3339("2026-01-05T00:00:00Z").unwrap().timestamp_millis();
    let ranged = plan_of(&db, sql, envs.clone(), None, None, Some(since)).await;
    eprintln!("EXPLAIN timeline since 2026-01-05:\n{ranged}");
    assert!(ranged.contains("Index Cond: (created_at >="), "{ranged}");
    assert!(!ranged.contains("Seq Scan") && !ranged.contains("Sort"), "{ranged}");
}
