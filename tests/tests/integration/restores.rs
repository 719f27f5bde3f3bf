//! Verification and restores against the simulated cluster: the last verification on the
//! Backups page, the simulated restore Job checking its dump, Restore a copy from a kept
//! backup (changing nothing live), and a restore over the live database step by step —
//! writers stopped, a safety backup, the restore, writers back — also when it fails, and
//! settled without running a step again after the server stopped mid-way.

use std::time::Duration;

use gantry_sim::resources::ids::{CRONJOB, JOB, POD};
use gantry_sim::WorkloadFault;
use gantry_tests::backups::run_by_hand;
use gantry_tests::{eventually_some, spawn_on_simulator_with, Background};
use serde_json::json;
use sqlx::PgPool;

const PROD: &str = "co2-calculator-prod";

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn a_failed_verification_says_the_newest_dump_does_not_restore(db: PgPool) {
    let app = spawn_on_simulator_with(
        db.clone(),
        &[("GANTRY_SIMULATOR_SPEED", "20")],
        Background::OnDemand,
    )
    .await;
    let (cluster, _) = app.simulator.as_ref().unwrap();
    cluster.faults.set(WorkloadFault::FailingVerification, PROD, "", true);
    run_by_hand(&app, PROD, "db-verify", "db-verify-manual-1");
    let viewer = app.client_as("stakeholder").await;
    let failed = || async {
        let html = app.page_as(&viewer, "/backups?env=prod").await;
        html.contains(r#"data-verified="failed""#).then_some(html)
    };
    let html =
        eventually_some(Duration::from_secs(30), "the failed verification on the page", failed)
            .await;
    assert!(
        html.contains("The last verification failed:") && html.contains("does not restore"),
        "{html}"
    );
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn the_simulated_restore_checks_its_dump_and_reports_as_restore_sh_does(db: PgPool) {
    let app = spawn_on_simulator_with(
        db.clone(),
        &[("GANTRY_SIMULATOR_SPEED", "20")],
        Background::OnDemand,
    )
    .await;
    let (cluster, _) = app.simulator.as_ref().unwrap();
    let newest = cluster.nas.list(PROD).into_iter().next().expect("prod's seeded dumps");
    let template = cluster.store.get(CRONJOB, PROD, "db-restore").expect("the restore template");
    assert_eq!(template["spec"]["suspend"], true, "never run on a schedule");
    let restore = |name: &str, sha: &str| {
        let mut spec = template["spec"]["jobTemplate"]["spec"].clone();
        spec["template"]["spec"]["containers"][0]["env"] = json!([
            {"name": "BACKUP_DIR", "value": "/backups"},
            {"name": "BACKUP_FILE", "value": newest.file},
            {"name": "EXPECTED_SHA256", "value": sha},
            {"name": "RESTORE_COPY", "value": "co2_copy"},
        ]);
        let job = json!({"metadata": {"name": name}, "spec": spec});
        let job = gantry_sim::admission::prepare_create(JOB, PROD, job).unwrap();
        cluster.store.create(JOB, job).unwrap();
    };
    let message = |job: &'static str| async move {
        let (pods, _) = cluster.store.list(POD, Some(PROD));
        pods.iter().find(|p| p["metadata"]["labels"]["job-name"] == job).and_then(|p| {
            p["status"]["containerStatuses"][0]["state"]["terminated"]["message"]
                .as_str()
                .map(str::to_owned)
        })
    };
    restore("db-restore-good", &newest.sha256);
    let said = eventually_some(Duration::from_secs(30), "the restore to end", || {
        message("db-restore-good")
    })
    .await;
    let report: serde_json::Value = serde_json::from_str(&said).unwrap();
    assert_eq!(report["restored"], newest.file.as_str());
    assert_eq!(report["database"], "co2_copy");
    restore("db-restore-swapped", &"0".repeat(64));
    let said =
        eventually_some(Duration::from_secs(30), "the refusal", || message("db-restore-swapped"))
            .await;
    assert!(said.contains("checksum mismatch"), "{said}");
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn a_copy_is_restored_from_a_kept_backup_once_and_nothing_live_changes(db: PgPool) {
    use gantry_tests::actions::{ask, object};
    let app = spawn_on_simulator_with(
        db.clone(),
        &[("GANTRY_SIMULATOR_SPEED", "20")],
        Background::OnDemand,
    )
    .await;
    assert!(app.record_backups().await);
    let (cluster, _) = app.simulator.as_ref().unwrap();
    let staging = "co2-calculator-staging";
    // Staging's only good backup, three nights old (the two after it failed).
    let kept = cluster.nas.list(staging);
    assert_eq!(kept.len(), 1);
    let file = kept[0].file.clone();
    let admin = app.client_as("admin").await;
    let page = app.page_as(&admin, "/environments/staging/actions/restore").await;
    assert!(
        page.contains(&format!(r#"<option value="{file}""#)),
        "the kept backup is offered: {page}"
    );
    let before = object(&app, gantry_sim::resources::ids::DEPLOYMENT, staging, "backend")["spec"]
        ["replicas"]
        .clone();

    // Refused in words: not confirmed by the environment's typed name, a dump not kept, a
    // name that is not a database name.
    let base = json!({"environment": "staging", "action": "restore", "reason": "check last week's numbers"});
    let with = |extra: serde_json::Value| {
        let mut body = base.clone();
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };
    let (status, body) = ask(&app, &admin, with(json!({"file": file}))).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("Type the environment's name"), "{body}");
    let (status, body) =
        ask(&app, &admin, with(json!({"file": "co2-19990101T000000Z-x.dump", "copy": "co2_copy"})))
            .await;
    assert_eq!(status, 404, "{body}");
    let (status, body) =
        ask(&app, &admin, with(json!({"file": file, "copy": "Robert'); drop"}))).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("database name"), "{body}");

    // The requester types the environment's name, or nothing is asked.
    let (status, body) =
        ask(&app, &admin, with(json!({"file": file, "copy": "staging_copy", "confirm": "prod"})))
            .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("Type the environment's name, staging"));
    let preview = format!("/environments/staging/actions/restore?file={file}&copy=staging_copy");
    let preview = app.page_as(&admin, &preview).await;
    assert!(preview.contains(r#"name="confirm""#), "the request form asks for it: {preview}");
    assert!(preview.contains("Type staging to confirm the restore"));

    // Staging restores after one approval by default: the admin asks, the approver approves
    // — typing the name too.
    let (status, body) = ask(
        &app,
        &admin,
        with(json!({"file": file, "copy": "staging_copy", "confirm": "staging"})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["request"]["state"], "pending", "{body}");
    let id = body["request"]["id"].as_i64().unwrap();
    let approver = app.client_as("approver").await;
    let request_page = app.page_as(&approver, &format!("/requests/{id}")).await;
    assert!(request_page.contains(r#"name="confirm""#), "the approval asks for the name too");
    let (status, body) = gantry_tests::actions::step(&app, &approver, id, "approve").await;
    assert_eq!(status, 400, "an approval without the name: {body}");
    let (status, body) = gantry_tests::actions::post(
        &app,
        &approver,
        &format!("/api/requests/{id}/approve"),
        json!({"confirm": "staging"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["request"]["state"], "succeeded", "{body}");
    let name = format!("db-restore-gantry-{id}");
    let job = object(&app, JOB, staging, &name);
    let env = job["spec"]["template"]["spec"]["containers"][0]["env"].as_array().unwrap().clone();
    let setting = |key: &str| env.iter().find(|e| e["name"] == key).map(|e| e["value"].clone());
    assert_eq!(setting("BACKUP_FILE"), Some(json!(file)));
    assert_eq!(setting("EXPECTED_SHA256"), Some(json!(kept[0].sha256)));
    assert_eq!(setting("RESTORE_COPY"), Some(json!("staging_copy")));

    // Followed on the Backups page to its outcome; the live workloads untouched.
    let restored = || async {
        let html = app.page_as(&admin, "/backups?env=staging").await;
        html.contains(&format!("restored {file} into the database staging_copy")).then_some(html)
    };
    eventually_some(Duration::from_secs(30), "the restore on the Backups page", restored).await;
    let after = object(&app, gantry_sim::resources::ids::DEPLOYMENT, staging, "backend")["spec"]
        ["replicas"]
        .clone();
    assert_eq!(before, after, "nothing live changes");

    // On prod a restore needs two approvals.
    let prod_file = cluster.nas.list(PROD)[0].file.clone();
    let prod = json!({"environment": "prod", "action": "restore", "file": prod_file, "copy": "prod_copy", "reason": "audit", "confirm": "prod"});
    let (status, body) = ask(&app, &admin, prod).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["request"]["approvals_needed"], 2, "{body}");
    app.stop().await;
}

/// The request `id` once it has ended (as its page's API shows it).
async fn until_ended_request(
    app: &gantry_tests::TestApp,
    client: &reqwest::Client,
    id: i64,
) -> serde_json::Value {
    let ended = || async {
        let (_, body) =
            gantry_tests::actions::get_json(app, client, &format!("/api/requests/{id}")).await;
        let state = body["request"]["state"].as_str().unwrap_or_default().to_owned();
        matches!(state.as_str(), "succeeded" | "failed" | "superseded").then_some(body)
    };
    eventually_some(Duration::from_secs(60), "the restore to end", ended).await
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn a_restore_in_place_stops_the_writers_backs_up_restores_and_brings_them_back(db: PgPool) {
    use gantry_sim::resources::ids::{APPLICATION, DEPLOYMENT};
    use gantry_tests::actions::{ask, audit_kinds, object, replicas};
    const DEV: &str = "co2-calculator-dev";
    let app = spawn_on_simulator_with(
        db.clone(),
        &[("GANTRY_SIMULATOR_SPEED", "20")],
        Background::OnDemand,
    )
    .await;
    // Dev has never been backed up: one backup first, to restore from.
    gantry_tests::backups::back_up_by_hand(&app, DEV, "db-backup-first");
    let (state, _) = gantry_tests::backups::until_ended(&app, "dev", "db-backup-first").await;
    assert_eq!(state, "succeeded");
    let (cluster, _) = app.simulator.as_ref().unwrap();
    let file = cluster.nas.list(DEV)[0].file.clone();
    let backend = replicas(&app, DEV, "backend");
    let workers = replicas(&app, DEV, "celery-worker");
    let admin = app.client_as("admin").await;
    // The preview says what is lost and each step.
    let preview =
        app.page_as(&admin, &format!("/environments/dev/actions/restore?file={file}")).await;
    assert!(preview.contains("are lost") && preview.contains("safety backup"), "{preview}");
    let body = json!({"environment": "dev", "action": "restore", "file": file, "confirm": "dev", "reason": "bad migration"});
    let (status, body) = ask(&app, &admin, body).await;
    assert_eq!(status, 201, "{body}");
    let id = body["request"]["id"].as_i64().unwrap();
    let done = until_ended_request(&app, &admin, id).await;
    assert_eq!(done["request"]["state"], "succeeded", "{done}");
    let result = done["request"]["result"].as_str().unwrap();
    assert!(
        result.contains(&format!("{file} restored into co2"))
            && result.contains("the writers run again"),
        "{result}"
    );
    assert_eq!(
        (replicas(&app, DEV, "backend"), replicas(&app, DEV, "celery-worker")),
        (backend, workers),
        "the writers are back"
    );
    let application = object(&app, APPLICATION, "argocd", "co2-calculator-dev");
    assert!(
        application["spec"]["syncPolicy"]["automated"].is_object(),
        "auto-sync resumed: {application}"
    );
    let safety = object(&app, JOB, DEV, &format!("db-backup-gantry-{id}"));
    assert_eq!(
        safety["metadata"]["annotations"]["gantry/request"],
        id.to_string(),
        "a safety backup first"
    );
    let restore = object(&app, JOB, DEV, &format!("db-restore-gantry-{id}"));
    let env = restore["spec"]["template"]["spec"]["containers"][0]["env"].to_string();
    assert!(env.contains(&file) && !env.contains("RESTORE_COPY"), "over the live database: {env}");
    let kinds = audit_kinds(&db, id).await;
    let steps = kinds.iter().filter(|k| *k == "action_step").count();
    assert_eq!(steps, 6, "every step audited: {kinds:?}");

    // A restore that fails changes nothing, and the writers still come back.
    cluster.faults.set(WorkloadFault::FailingRestores, DEV, "", true);
    let body = json!({"environment": "dev", "action": "restore", "file": file, "confirm": "dev", "reason": "again"});
    let (status, body) = ask(&app, &admin, body).await;
    assert_eq!(status, 201, "{body}");
    let id = body["request"]["id"].as_i64().unwrap();
    let failed = until_ended_request(&app, &admin, id).await;
    assert_eq!(failed["request"]["state"], "failed", "{failed}");
    let result = failed["request"]["result"].as_str().unwrap();
    assert!(
        result.contains("the restore failed and changed nothing")
            && result.contains("the writers run again"),
        "{result}"
    );
    assert_eq!(object(&app, DEPLOYMENT, DEV, "backend")["spec"]["replicas"], backend);
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn a_restore_interrupted_before_it_began_brings_the_writers_back_and_runs_nothing(
    db: PgPool,
) {
    use gantry_tests::actions::replicas;
    const DEV: &str = "co2-calculator-dev";
    // This machine's previous run stopped dev's writers for a restore, then stopped itself.
    let plan = json!({"change": "restore", "template": "db-restore", "backup_cronjob": "db-backup",
        "file": "co2-20261201T020042Z-db-backup-1.dump", "sha256": "0".repeat(64), "taken_ms": 1,
        "stop": [["backend", 2], ["celery-worker", 2]], "pause_auto_sync": null});
    let id: i64 = sqlx::query_scalar(
        "insert into action_request (environment, action, object, requested_by,
            requested_by_name, reason, plan, preview, approvals_needed, state, executor, started_at)
         values ('dev', 'restore', 'Database/live', '100', 'Alice Admin', 'bad migration', $1,
            'database …', 0, 'executing', $2, now())
         returning request_id",
    )
    .bind(plan)
    .bind(gantry::startup::hostname())
    .fetch_one(&db)
    .await
    .unwrap();
    let app = spawn_on_simulator_with(db.clone(), &[], Background::OnDemand).await;
    gantry_tests::history::edit(
        &app,
        gantry_sim::resources::ids::DEPLOYMENT,
        DEV,
        "celery-worker",
        |d| {
            d["spec"]["replicas"] = json!(0);
        },
    );
    // The sweep a restarted server makes: what was left executing is settled now.
    use gantry_app::actions::engine::sweeper::{sweep_once, Patience};
    sweep_once(&app.context, Patience::NONE).await;
    let state: (String, Option<String>) =
        sqlx::query_as("select state, result from action_request where request_id = $1")
            .bind(id)
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(state.0, "failed", "{state:?}");
    let result = state.1.unwrap_or_default();
    assert!(
        result.contains("interrupted before the restore began")
            && result.contains("no step was run again"),
        "{result}"
    );
    assert_eq!(replicas(&app, DEV, "celery-worker"), 2, "the writers are back");
    let (cluster, _) = app.simulator.as_ref().unwrap();
    let (jobs, _) = cluster.store.list(JOB, Some(DEV));
    assert!(
        !jobs
            .iter()
            .any(|j| j["metadata"]["name"].as_str().unwrap().contains(&format!("gantry-{id}"))),
        "no Job was made"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_simulated_nas_lists_a_namespaces_dumps_and_refuses_other_values_unrepeated() {
    let simulator = gantry_sim::Running::start(gantry_sim::Options::default(), 0).await.unwrap();
    let http = reqwest::Client::new();
    let base = simulator.url();
    let listed = http.get(format!("{base}/simulator/nas?namespace={PROD}")).send().await.unwrap();
    assert_eq!(listed.status(), 200);
    let body: serde_json::Value = listed.json().await.unwrap();
    assert_eq!(
        body["dumps"].as_array().map(Vec::len),
        Some(3),
        "prod's three seeded dumps: {body}"
    );
    for query in ["namespace=%22%27%3E%3C%2Ftitle%3E%3Cx-probe%3E", "namespace=", ""] {
        let refused = http.get(format!("{base}/simulator/nas?{query}")).send().await.unwrap();
        assert_eq!(refused.status(), 400, "{query}");
        let said = refused.text().await.unwrap();
        assert!(said.contains("namespace must be") && !said.contains("x-probe"), "{query}: {said}");
    }
    simulator.stop().await;
}
