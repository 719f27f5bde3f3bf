//! Backups against the simulated cluster: runs read from their pods' termination
//! messages into PostgreSQL, kept after their Jobs are gone; failures in the script's
//! words; the state on the overview, the environment page and `/backups`; and what the
//! cluster says comes out escaped.

use std::time::Duration;

use gantry_sim::resources::ids::{JOB, POD};
use gantry_sim::WorkloadFault;
use gantry_tests::backups::{back_up_by_hand, runs, until_ended};
use gantry_tests::{eventually_some, spawn_on_simulator_with, Background};
use serde_json::json;
use sqlx::PgPool;

const PROD: &str = "co2-calculator-prod";
const DEV: &str = "co2-calculator-dev";

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn runs_are_recorded_from_their_reports_and_outlive_their_jobs(db: PgPool) {
    let app = spawn_on_simulator_with(db.clone(), &[], Background::OnDemand).await;
    assert!(app.record_backups().await, "every environment recorded");
    let prod = runs(&db, "prod").await;
    assert_eq!(prod.len(), 3, "{prod:?}");
    assert!(prod.iter().all(|r| r.1 == "succeeded" && r.3.is_some_and(|b| b > 4096)), "{prod:?}");
    let staging = runs(&db, "staging").await;
    let states: Vec<&str> = staging.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(states, ["succeeded", "failed", "failed"]);
    let reason = staging[2].2.as_deref().unwrap_or_default();
    assert!(
        reason.starts_with("pg_dump: error: connection to server")
            && reason.contains("Connection refused"),
        "{reason}"
    );
    assert!(runs(&db, "dev").await.is_empty());
    let (sha, retained): (String, i64) = sqlx::query_as(
        "select sha256, retained_count from backup_run where environment = 'prod' order by started_at desc limit 1",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(sha.len(), 64);
    assert_eq!(retained, 3, "the NAS keeps the three dumps");

    // The cluster deletes a finished Job (its history limit, or by hand): the run stays.
    let (cluster, _) = app.simulator.as_ref().unwrap();
    let (jobs, _) = cluster.store.list(JOB, Some(PROD));
    let oldest =
        jobs.iter().map(|j| j["metadata"]["name"].as_str().unwrap().to_owned()).min().unwrap();
    cluster.store.delete(JOB, PROD, &oldest).unwrap();
    assert!(app.record_backups().await);
    assert_eq!(runs(&db, "prod").await, prod, "a run outlives its Job, unchanged");

    // A restart reads the same cluster again: nothing is recorded twice.
    assert!(app.record_backups().await);
    let all: i64 =
        sqlx::query_scalar("select count(*) from backup_run").fetch_one(&db).await.unwrap();
    assert_eq!(all, 6);
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn failed_backups_say_why_in_the_scripts_words(db: PgPool) {
    let app = spawn_on_simulator_with(
        db.clone(),
        &[("GANTRY_SIMULATOR_SPEED", "20")],
        Background::OnDemand,
    )
    .await;
    let (cluster, _) = app.simulator.as_ref().unwrap();
    cluster.faults.set(WorkloadFault::EmptyBackups, DEV, "", true);
    back_up_by_hand(&app, DEV, "db-backup-manual-1");
    let (state, reason) = until_ended(&app, "dev", "db-backup-manual-1").await;
    assert_eq!(state, "failed");
    assert_eq!(reason.as_deref(), Some("empty dump refused: 312 bytes, below the floor of 4096"));

    cluster.faults.set(WorkloadFault::EmptyBackups, DEV, "", false);
    cluster.faults.set(WorkloadFault::FullStorage, DEV, "", true);
    back_up_by_hand(&app, DEV, "db-backup-manual-2");
    let (state, reason) = until_ended(&app, "dev", "db-backup-manual-2").await;
    assert_eq!(state, "failed");
    assert_eq!(
        reason.as_deref(),
        Some("pg_dump: error: could not write to output file: No space left on device"),
        "the last log lines stand in for a report the script could not write"
    );

    cluster.faults.set(WorkloadFault::FullStorage, DEV, "", false);
    back_up_by_hand(&app, DEV, "db-backup-manual-3");
    let (state, _) = until_ended(&app, "dev", "db-backup-manual-3").await;
    assert_eq!(state, "succeeded");
    let manual: bool =
        sqlx::query_scalar("select manual from backup_run where job = 'db-backup-manual-3'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert!(manual, "a Job made by hand is a manual run");
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn the_state_shows_on_the_overview_the_environment_page_and_backups(db: PgPool) {
    let app = spawn_on_simulator_with(db.clone(), &[], Background::OnDemand).await;
    assert!(app.record_backups().await);
    let viewer = app.client_as("stakeholder").await;
    let page = |path: &'static str| {
        let viewer = viewer.clone();
        let url = app.url(path);
        async move { viewer.get(url).send().await.unwrap().text().await.unwrap() }
    };
    // The overview is made from the live view: it shows the state once published.
    let overview = || async {
        let html = page("/").await;
        ["prod", "staging", "dev"]
            .iter()
            .all(|e| html.contains(&format!("href=\"/backups?env={e}\"")))
            .then_some(html)
    };
    let html =
        eventually_some(Duration::from_secs(10), "the backup states on the overview", overview)
            .await;
    assert!(html.contains(r#"data-backup="fresh" href="/backups?env=prod""#), "prod is fresh");
    assert!(
        html.contains(r#"data-backup="stale" href="/backups?env=staging""#),
        "staging is stale"
    );
    assert!(html.contains(r#"data-backup="never" href="/backups?env=dev""#), "dev never backed up");
    assert!(!html.contains("1970"), "never is not epoch 0");

    let env = page("/environments/staging").await;
    assert!(env.contains(r#"id="env-backups""#) && env.contains("Backup stale"), "{env}");

    let prod = page("/backups?env=prod").await;
    assert!(prod.contains(r#"data-backup="fresh""#));
    assert!(prod.contains("co2-") && prod.contains(".dump"), "the file is named");
    assert!(prod.contains("CronJob <code>db-backup</code> runs <code>0 2 * * *</code>"));
    assert!(prod.contains(r#"id="next-run""#));
    assert!(prod.contains(">scheduled<"));
    assert!(prod.contains(r#"data-verified="restored""#), "last night's verification is shown");
    assert!(prod.contains("into a scratch database in"));
    assert!(!prod.contains("Back up now"), "a stakeholder is not offered it");
    let staging = page("/backups?env=staging").await;
    assert!(staging.contains("older than the 26 hours allowed here"));
    assert!(staging.contains("failed: pg_dump: error: connection to server"));
    let dev = page("/backups?env=dev").await;
    assert!(dev.contains("No good backup of dev has been recorded"));
    assert!(dev.contains("No verification has run"));
    let admin = app.client_as("admin").await;
    let offered = app.page_as(&admin, "/backups?env=dev").await;
    assert!(offered.contains(r#"href="/environments/dev/actions/backup""#), "an admin may back up");

    let unknown = viewer.get(app.url("/backups?env=nowhere")).send().await.unwrap();
    assert_eq!(unknown.status(), 404);

    // The metrics endpoint says the same, for the alert rule in deploy/prometheus.
    let metrics = app.metrics.expect("a metrics listener");
    let text = app
        .client
        .get(format!("http://{metrics}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for (env, state) in [("prod", "fresh"), ("staging", "stale"), ("dev", "never")] {
        let line = format!(
            r#"gantry_backup_state{{environment="{env}",namespace="co2-calculator-{env}",state="{state}"}} 1"#
        );
        assert!(text.contains(&line), "{line} in\n{text}");
    }
    assert!(text.contains(r#"gantry_backup_last_success_timestamp_seconds{environment="prod""#));
    assert!(
        !text.contains(r#"gantry_backup_last_success_timestamp_seconds{environment="dev""#),
        "never is absent, not 0"
    );
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn what_a_backup_pod_says_comes_out_inert(db: PgPool) {
    const PROBE: &str = r#""'></title></script><x-probe>"#;
    let app = spawn_on_simulator_with(db.clone(), &[], Background::OnDemand).await;
    let (cluster, _) = app.simulator.as_ref().unwrap();
    back_up_by_hand(&app, DEV, "db-backup-hostile");
    // The pod ends with a report whose every value carries the probe.
    let pod_of = || async {
        let (pods, _) = cluster.store.list(POD, Some(DEV));
        pods.iter()
            .find(|p| p["metadata"]["name"].as_str().unwrap().starts_with("db-backup-hostile-"))
            .map(|p| p["metadata"]["name"].as_str().unwrap().to_owned())
    };
    let pod = eventually_some(Duration::from_secs(20), "the backup's pod", pod_of).await;
    let report = json!({"error": format!("pg_dump: {PROBE}")}).to_string();
    cluster
        .store
        .update(POD, DEV, &pod, None, |p| {
            let mut p = p.clone();
            p["status"] = json!({"phase": "Failed", "containerStatuses": [{"name": "backup", "ready": false, "restartCount": 0, "image": "postgres:16.4",
                "state": {"terminated": {"exitCode": 2, "reason": "Error", "message": report}}}]});
            Ok(p)
        })
        .unwrap();
    let (state, reason) = until_ended(&app, "dev", "db-backup-hostile").await;
    assert_eq!(state, "failed");
    assert!(reason.unwrap_or_default().contains(PROBE), "recorded as said");
    for person in ["stakeholder", "admin"] {
        let client = app.client_as(person).await;
        let html = app.page_as(&client, "/backups?env=dev").await;
        assert!(html.contains("db-backup-hostile"));
        assert!(!html.contains("<x-probe>"), "{person}: the reason is escaped");
    }
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn back_up_now_runs_the_cronjobs_template_once_per_request(db: PgPool) {
    use gantry_tests::actions::{ask, audit_kinds, object};
    let app = spawn_on_simulator_with(
        db.clone(),
        &[("GANTRY_SIMULATOR_SPEED", "5")],
        Background::OnDemand,
    )
    .await;
    let admin = app.client_as("admin").await;
    let (status, body) = ask(&app, &admin, json!({"environment": "dev", "action": "backup"})).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["request"]["state"], "succeeded", "dev backs up directly: {body}");
    let id = body["request"]["id"].as_i64().unwrap();
    let name = format!("db-backup-gantry-{id}");
    let job = object(&app, JOB, DEV, &name);
    let annotations = &job["metadata"]["annotations"];
    assert_eq!(annotations["cronjob.kubernetes.io/instantiate"], "manual");
    assert_eq!(annotations["gantry/request"], id.to_string());
    assert_eq!(annotations["gantry/requested-by"], "Alice Admin");
    assert_eq!(job["metadata"]["ownerReferences"][0]["kind"], "CronJob");
    assert_eq!(
        job["spec"]["template"]["spec"]["containers"][0]["command"][1],
        "/scripts/backup.sh"
    );

    // (At 5× the backup runs about 9 s: long enough to be seen running on a loaded machine.)
    // Once the panel sees it running, another is refused in words (asked before, it is
    // superseded when it runs: the fresh read finds this one).
    let seen_running = || async {
        let _ = app.record_backups().await;
        runs(&app.context.db, "dev").await.iter().any(|r| r.0 == name && r.1 == "running")
    };
    gantry_tests::eventually(
        Duration::from_secs(10),
        "the panel to see the backup running",
        seen_running,
    )
    .await;
    let (status, body) = ask(&app, &admin, json!({"environment": "dev", "action": "backup"})).await;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"].as_str().unwrap().contains("is running already"), "{body}");

    // The same request run again (a retry, a replica) meets its own Job: no second backup.
    let plan = gantry_app::actions::plan::Plan::Backup { cronjob: "db-backup".into() };
    let (cluster, url) = app.simulator.as_ref().unwrap();
    let mut config = kube::Config::new(url.parse().unwrap());
    config.default_retry = false;
    let client = kube::Client::try_from(config).unwrap();
    let cx = gantry_app::actions::apply::Context {
        namespace: DEV,
        user_id: "admin",
        name: "Alice Admin",
        reason: "",
        request_id: id,
        started_at: "2026-12-02T10:00:00Z",
    };
    let again = gantry_app::actions::apply::execute(&client, &plan, &cx).await;
    assert!(
        matches!(&again, gantry_app::actions::apply::Outcome::Done(d) if d.contains("already made"))
            || matches!(&again, gantry_app::actions::apply::Outcome::Superseded(s) if s.contains("running already")),
        "{again:?}"
    );
    let (jobs, _) = cluster.store.list(JOB, Some(DEV));
    let mine = jobs.iter().filter(|j| j["metadata"]["name"] == name.as_str()).count();
    assert_eq!(mine, 1);

    // Followed to its outcome: recorded as a manual run, by whom, for which request.
    let (state, _) = until_ended(&app, "dev", &name).await;
    assert_eq!(state, "succeeded");
    let (by, request): (Option<String>, Option<i64>) =
        sqlx::query_as("select requested_by, request_id from backup_run where job = $1")
            .bind(&name)
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!((by.as_deref(), request), (Some("Alice Admin"), Some(id)));
    let page = app.page_as(&admin, "/backups?env=dev").await;
    assert!(page.contains("manual, by Alice Admin"), "{page}");
    assert_eq!(
        audit_kinds(&db, id).await,
        ["action_requested", "action_started", "action_succeeded"]
    );

    // On prod it needs an approval, like every change there.
    let (status, body) = ask(
        &app,
        &admin,
        json!({"environment": "prod", "action": "backup", "reason": "before the release"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["request"]["state"], "pending", "{body}");
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn a_stale_backup_holds_syncs_on_prod_until_the_glass_is_broken(db: PgPool) {
    use gantry_tests::actions::ask;
    let app = spawn_on_simulator_with(db.clone(), &[], Background::OnDemand).await;
    assert!(app.record_backups().await);
    let admin = app.client_as("admin").await;
    let sync = json!({"environment": "prod", "action": "sync", "reason": "release 1.9"});
    // Fresh: the sync is asked as usual (it waits for its approval).
    let (status, body) = ask(&app, &admin, sync.clone()).await;
    assert_eq!(status, 201, "{body}");
    let id = body["request"]["id"].as_i64().unwrap();
    gantry_tests::actions::step(&app, &admin, id, "cancel").await;

    // The last good backup is now 30 hours old.
    sqlx::query("update backup_run set finished_at = now() - interval '30 hours', started_at = now() - interval '30 hours 1 minute' where environment = 'prod'")
        .execute(&db)
        .await
        .unwrap();
    app.context.backups.refresh(&db).await.unwrap();
    gantry_app::backups::recorder::publish(&app.context);
    let (status, body) = ask(&app, &admin, sync.clone()).await;
    assert_eq!(status, 409, "{body}");
    let said = body["error"].as_str().unwrap();
    assert!(said.starts_with("Held: the last good backup of prod is 30 hours old"), "{said}");
    let rollback =
        json!({"environment": "prod", "action": "rollback", "workload": "backend", "reason": "x"});
    let (status, _) = ask(&app, &admin, rollback).await;
    assert!(
        status == 409 || status == 422,
        "a rollback is held too (or has nothing to roll back to)"
    );
    let scale = json!({"environment": "staging", "action": "sync", "reason": "x"});
    let (status, body) = ask(&app, &admin, scale).await;
    assert_eq!(status, 201, "staging holds nothing, stale or not: {body}");
    // The action page says so before the form, with Back up now one click away.
    let page = app.page_as(&admin, "/environments/prod/actions/sync").await;
    assert!(
        page.contains(r#"id="backup-hold""#)
            && page.contains(r#"href="/environments/prod/actions/backup""#),
        "{page}"
    );
    // Breaking the glass runs it, with its reason.
    let glass = json!({"environment": "prod", "action": "sync", "reason": "hotfix, backup job broken", "break_glass": true});
    let (status, body) = ask(&app, &admin, glass).await;
    assert_eq!(status, 201, "{body}");
    app.stop().await;
}
