//! Verification and restores against the simulated cluster: the last verification on the
//! Backups page, the simulated restore Job checking its dump, and Restore a copy from a
//! kept backup, once per request, changing nothing live.

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

    // Refused in words: no copy named (never over the live database), a dump not kept, a
    // name that is not a database name.
    let base = json!({"environment": "staging", "action": "restore", "reason": "check last week's numbers"});
    let with = |extra: serde_json::Value| {
        let mut body = base.clone();
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };
    let (status, body) = ask(&app, &admin, with(json!({"file": file}))).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("never over it"), "{body}");
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
