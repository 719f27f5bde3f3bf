//! Actions end to end against the simulated cluster: requests with their policy (direct on
//! dev, approval on prod), the approval rules (not one's own, one rejection ends it,
//! expiry, supersede, cancel), exactly one execution under 100 concurrent approvals,
//! break-glass, and each action's effect on the cluster (scale, autoscaler bounds,
//! restart, rollback with auto-sync paused and resumed, Argo CD sync).

use std::time::Duration;

use gantry_sim::resources::ids::{APPLICATION, DEPLOYMENT, HPA};
use gantry_tests::actions::{ask, audit_kinds, object, post, replicas, step};
use gantry_tests::{eventually_some, spawn_on_simulator, spawn_on_simulator_with, Background};
use serde_json::{json, Value};
use sqlx::PgPool;

/// Retries `attempt` until it is not refused: the cluster and the watch caches catch up
/// with a change made just before.
async fn until_ok<F, Fut>(what: &str, mut attempt: F) -> (u16, Value)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = (u16, Value)>,
{
    eventually_some(Duration::from_secs(20), what, || {
        let answer = attempt();
        async move { Some(answer.await).filter(|(status, _)| *status < 400) }
    })
    .await
}

const PROD: &str = "co2-calculator-prod";
const DEV: &str = "co2-calculator-dev";

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn a_direct_scale_on_dev_runs_at_once_and_every_step_is_audited(db: PgPool) {
    let app = spawn_on_simulator(db.clone(), &[]).await;
    let developer = app.client_as("developer").await;
    let before = replicas(&app, DEV, "frontend");
    let to = if before == 1 { 2 } else { 1 };
    let (status, body) = ask(
        &app,
        &developer,
        json!({"environment": "dev", "action": "scale", "workload": "frontend", "replicas": to}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let request = &body["request"];
    assert_eq!(request["state"], "succeeded", "{body}");
    assert_eq!(request["preview"], format!("replicas {before} → {to}"));
    // What it saw is recorded: the Deployment's resourceVersion when it was asked.
    assert!(request["seen_resource_version"].as_str().is_some_and(|v| !v.is_empty()), "{body}");
    assert_eq!(replicas(&app, DEV, "frontend"), to);
    let id = request["id"].as_i64().unwrap();
    assert_eq!(
        audit_kinds(&db, id).await,
        ["action_requested", "action_started", "action_succeeded"]
    );
    // The developer may not even ask on prod, and out-of-bounds asks are refused with the bounds.
    let (status, body) = ask(
        &app,
        &developer,
        json!({"environment": "prod", "action": "scale", "workload": "frontend", "replicas": 3, "reason": "x"}),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = ask(
        &app,
        &developer,
        json!({"environment": "dev", "action": "scale", "workload": "frontend", "replicas": 50}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"].as_str().unwrap().contains("between 1 and 3"), "{body}");
    let (status, body) = ask(
        &app,
        &developer,
        json!({"environment": "dev", "action": "scale", "workload": "nope", "replicas": 1}),
    )
    .await;
    assert_eq!(status, 404, "{body}");
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn prod_takes_a_reason_and_someone_elses_approval(db: PgPool) {
    let app = spawn_on_simulator(db.clone(), &[]).await;
    let operator = app.client_as("operator").await;
    let approver = app.client_as("approver").await;
    let before = replicas(&app, PROD, "frontend");
    let scale = |reason: &str| json!({"environment": "prod", "action": "scale", "workload": "frontend", "replicas": before + 1, "reason": reason});
    let (status, body) = ask(&app, &operator, scale("")).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().starts_with("Say why"), "{body}");

    let (status, body) = ask(&app, &operator, scale("evening peak")).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["request"]["state"], "pending");
    let id = body["request"]["id"].as_i64().unwrap();
    assert_eq!(replicas(&app, PROD, "frontend"), before, "nothing runs before approval");

    // Operators cannot approve; nobody approves their own request (both recorded).
    let (status, body) = step(&app, &operator, id, "approve").await;
    assert_eq!(status, 403, "{body}");
    let (status, own) = ask(&app, &approver, scale("my own")).await;
    assert_eq!(status, 201, "{own}");
    let own_id = own["request"]["id"].as_i64().unwrap();
    let (status, body) = step(&app, &approver, own_id, "approve").await;
    assert_eq!(status, 403, "{body}");
    assert!(body["error"].as_str().unwrap().contains("own request"), "{body}");
    let denials: i64 = sqlx::query_scalar(
        "select count(*) from audit_event where kind = 'denied' and action = 'approve'",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(denials, 2);
    // The request's page compares its plan with the cluster now, as the approver sees it.
    let page = app.page_as(&approver, &format!("/requests/{id}")).await;
    assert!(page.contains("id=\"still-holds\""), "{page}");

    let (status, body) = step(&app, &approver, id, "approve").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["request"]["state"], "succeeded", "{body}");
    assert_eq!(replicas(&app, PROD, "frontend"), before + 1);
    assert_eq!(
        audit_kinds(&db, id).await,
        ["action_requested", "action_approved", "action_started", "action_succeeded"]
    );
    // The approver's own request now targets a workload that changed: its page says so
    // once the watch caches show the change, and it is superseded when someone else
    // approves it.
    let admin = app.client_as("admin").await;
    let own_page = format!("/requests/{own_id}");
    gantry_tests::eventually(
        Duration::from_secs(20),
        "the request page to say what changed",
        || {
            let (app, admin, own_page) = (&app, &admin, &own_page);
            async move {
                let page = app.page_as(admin, own_page).await;
                page.contains("id=\"changed\"") && page.contains("now runs")
            }
        },
    )
    .await;
    let (status, body) = step(&app, &admin, own_id, "approve").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["request"]["state"], "superseded", "{body}");
    assert!(body["request"]["result"].as_str().unwrap().contains("now runs"), "{body}");
    assert_eq!(
        replicas(&app, PROD, "frontend"),
        before + 1,
        "a superseded request changes nothing"
    );
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn a_hundred_concurrent_approvals_execute_exactly_once(db: PgPool) {
    let app = spawn_on_simulator(db.clone(), &[]).await;
    let operator = app.client_as("operator").await;
    let approver = app.client_as("approver").await;
    let admin = app.client_as("admin").await;
    let before = replicas(&app, PROD, "frontend");
    let (_, body) = ask(
        &app,
        &operator,
        json!({"environment": "prod", "action": "scale", "workload": "frontend", "replicas": before + 1, "reason": "load test"}),
    )
    .await;
    let id = body["request"]["id"].as_i64().unwrap();
    let (cluster, _) = app.simulator.as_ref().unwrap();
    let writes_before = cluster.requests.snapshot().writes;
    let calls: Vec<_> = (0..100)
        .map(|i| {
            let client = if i % 2 == 0 { approver.clone() } else { admin.clone() };
            let url = app.url(&format!("/api/requests/{id}/approve"));
            tokio::spawn(async move {
                client.post(url).json(&json!({})).send().await.unwrap().status().as_u16()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for call in calls {
        statuses.push(call.await.unwrap());
    }
    let ok = statuses.iter().filter(|s| **s == 200).count();
    assert_eq!(ok, 1, "exactly one approval counts: {statuses:?}");
    assert!(statuses.iter().all(|s| *s == 200 || *s == 409), "{statuses:?}");
    let kinds = audit_kinds(&db, id).await;
    assert_eq!(kinds.iter().filter(|k| *k == "action_started").count(), 1, "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| *k == "action_succeeded").count(), 1, "{kinds:?}");
    assert_eq!(cluster.requests.snapshot().writes - writes_before, 1, "one write to the cluster");
    assert_eq!(replicas(&app, PROD, "frontend"), before + 1);
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn rejected_expired_and_cancelled_requests_never_run(db: PgPool) {
    let app = spawn_on_simulator_with(db.clone(), &[], Background::OnDemand).await;
    let operator = app.client_as("operator").await;
    let approver = app.client_as("approver").await;
    let before = replicas(&app, PROD, "frontend");
    let scale = json!({"environment": "prod", "action": "scale", "workload": "frontend", "replicas": before + 1, "reason": "test"});

    let (_, body) = ask(&app, &operator, scale.clone()).await;
    let rejected = body["request"]["id"].as_i64().unwrap();
    let (status, body) = post(
        &app,
        &approver,
        &format!("/api/requests/{rejected}/reject"),
        json!({"comment": "not tonight"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["request"]["state"], "rejected");
    assert!(body["request"]["result"].as_str().unwrap().contains("not tonight"), "{body}");
    let (status, _) = step(&app, &approver, rejected, "approve").await;
    assert_eq!(status, 409, "one rejection ends it");

    let (_, body) = ask(&app, &operator, scale.clone()).await;
    let expired = body["request"]["id"].as_i64().unwrap();
    sqlx::query(
        "update action_request set expires_at = now() - interval '1 second' where request_id = $1",
    )
    .bind(expired)
    .execute(&db)
    .await
    .unwrap();
    let (status, body) = step(&app, &approver, expired, "approve").await;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"].as_str().unwrap().contains("expired"), "{body}");
    let state: String =
        sqlx::query_scalar("select state from action_request where request_id = $1")
            .bind(expired)
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(state, "expired");
    assert!(audit_kinds(&db, expired).await.contains(&"action_expired".to_owned()));

    let (_, body) = ask(&app, &operator, scale.clone()).await;
    let cancelled = body["request"]["id"].as_i64().unwrap();
    let (status, _) = step(&app, &approver, cancelled, "cancel").await;
    assert_eq!(status, 403, "only the requester cancels");
    let (status, body) = step(&app, &operator, cancelled, "cancel").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["request"]["state"], "cancelled");
    let (status, _) = step(&app, &approver, cancelled, "approve").await;
    assert_eq!(status, 409);

    // The sweeper expires what nobody decides.
    let (_, body) = ask(&app, &operator, scale).await;
    let forgotten = body["request"]["id"].as_i64().unwrap();
    sqlx::query("update action_request set expires_at = now() where request_id = $1")
        .bind(forgotten)
        .execute(&db)
        .await
        .unwrap();
    app.sweep().await;
    let state: String =
        sqlx::query_scalar("select state from action_request where request_id = $1")
            .bind(forgotten)
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(state, "expired");
    assert_eq!(replicas(&app, PROD, "frontend"), before, "none of them ran");
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn an_autoscaled_workload_gets_its_bounds_changed_not_its_replicas(db: PgPool) {
    let app = spawn_on_simulator(db, &[]).await;
    let developer = app.client_as("developer").await;
    let (status, body) = ask(
        &app,
        &developer,
        json!({"environment": "dev", "action": "scale", "workload": "backend", "replicas": 2}),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"].as_str().unwrap().contains("autoscaler"), "{body}");
    let (status, body) = ask(
        &app,
        &developer,
        json!({"environment": "dev", "action": "scale", "workload": "backend", "min": 2, "max": 4}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["request"]["state"], "succeeded", "{body}");
    let hpa = object(&app, HPA, DEV, "backend");
    assert_eq!(
        (hpa["spec"]["minReplicas"].as_i64(), hpa["spec"]["maxReplicas"].as_i64()),
        (Some(2), Some(4))
    );
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn restart_sets_the_template_annotation_kubectl_uses(db: PgPool) {
    let app = spawn_on_simulator(db, &[]).await;
    let developer = app.client_as("developer").await;
    let (status, body) = ask(
        &app,
        &developer,
        json!({"environment": "dev", "action": "restart", "workload": "celery-worker"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["request"]["state"], "succeeded", "{body}");
    let deployment = object(&app, DEPLOYMENT, DEV, "celery-worker");
    let at = &deployment["spec"]["template"]["metadata"]["annotations"]
        ["kubectl.kubernetes.io/restartedAt"];
    assert!(at.as_str().is_some_and(|t| t.ends_with('Z')), "{deployment}");
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn rollback_on_an_auto_synced_environment_pins_it_until_resumed(db: PgPool) {
    // Ten times faster: Argo CD's sync of the new release takes seconds, not minutes.
    let app = spawn_on_simulator(db, &[("GANTRY_SIMULATOR_SPEED", "10")]).await;
    let developer = app.client_as("developer").await;
    let (cluster, _) = app.simulator.as_ref().unwrap();
    let image = |v: &str| format!("{}/backend:{v}", gantry_sim::seed::REGISTRY);
    let old = object(&app, DEPLOYMENT, DEV, "backend")["spec"]["template"]["spec"]["containers"][0]
        ["image"]
        .as_str()
        .unwrap()
        .to_owned();
    // A new release through Git: auto-sync deploys it as revision 2.
    let changes = [("backend".to_owned(), image("9.9.9"))].into_iter().collect();
    cluster.git.push("co2-calculator-dev", "main", &changes).unwrap();
    let rollback = json!({"environment": "dev", "action": "rollback", "workload": "backend", "revision": 1, "reason": "9.9.9 breaks sign-in"});
    let (status, body) =
        until_ok("the rollback to be accepted", || ask(&app, &developer, rollback.clone())).await;
    assert_eq!(status, 201, "{body}");
    let request = &body["request"];
    assert_eq!(request["state"], "succeeded", "{body}");
    assert!(
        request["preview"].as_str().unwrap().contains("Argo CD auto-sync on → paused"),
        "{body}"
    );

    let app_object = object(&app, APPLICATION, "argocd", "co2-calculator-dev");
    assert!(app_object["spec"]["syncPolicy"]["automated"].is_null(), "{app_object}");
    let annotations = &app_object["metadata"]["annotations"];
    assert!(
        annotations["gantry/auto-sync-paused-by"].as_str().unwrap().contains("Dana Developer"),
        "{annotations}"
    );
    assert_eq!(annotations["gantry/auto-sync-paused-reason"], "9.9.9 breaks sign-in");
    // Git does not undo it: after Argo CD's controllers have looked again (a few passes:
    // a sync would start on one and apply on the next), the old image is still asked for.
    let (cluster, _) = app.simulator.as_ref().unwrap();
    for _ in 0..3 {
        gantry_sim::controllers::pass(cluster);
    }
    let now = object(&app, DEPLOYMENT, DEV, "backend");
    assert_eq!(now["spec"]["template"]["spec"]["containers"][0]["image"], old.as_str());

    let (status, body) =
        ask(&app, &developer, json!({"environment": "dev", "action": "resume_auto_sync"})).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["request"]["state"], "succeeded", "{body}");
    let app_object = object(&app, APPLICATION, "argocd", "co2-calculator-dev");
    assert_eq!(app_object["spec"]["syncPolicy"]["automated"]["selfHeal"], true, "{app_object}");
    assert!(app_object["metadata"]["annotations"].get("gantry/auto-sync-paused-by").is_none());
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn a_sync_is_started_as_argo_cd_does_with_the_person_named(db: PgPool) {
    let app = spawn_on_simulator(db, &[]).await;
    let operator = app.client_as("operator").await;
    let approver = app.client_as("approver").await;
    let (status, body) = ask(
        &app,
        &operator,
        json!({"environment": "staging", "action": "sync", "reason": "release 1.8.3"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let id = body["request"]["id"].as_i64().unwrap();
    let (status, body) = step(&app, &approver, id, "approve").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["request"]["state"], "succeeded", "{body}");
    let app_object = object(&app, APPLICATION, "argocd", "co2-calculator-staging");
    let operation = if app_object["operation"].is_object() {
        &app_object["operation"]
    } else {
        &app_object["status"]["operationState"]["operation"]
    };
    assert_eq!(operation["sync"]["revision"], "release-1.8", "{app_object}");
    assert!(operation["initiatedBy"]["username"].as_str().unwrap().contains("via Gantry"));
    let marker = id.to_string();
    assert!(operation["info"].as_array().unwrap().iter().any(|i| i["value"] == marker.as_str()));
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn break_glass_runs_at_once_and_stays_flagged_until_someone_else_acknowledges(db: PgPool) {
    let app = spawn_on_simulator(db.clone(), &[]).await;
    let admin = app.client_as("admin").await;
    let operator = app.client_as("operator").await;
    let approver = app.client_as("approver").await;
    let before = replicas(&app, PROD, "frontend");
    let glass = |reason: &str| json!({"environment": "prod", "action": "scale", "workload": "frontend", "replicas": before + 1, "reason": reason, "break_glass": true});
    let (status, body) = ask(&app, &operator, glass("outage")).await;
    assert_eq!(status, 403, "only admins break the glass: {body}");
    let (status, body) = ask(&app, &admin, glass(" ")).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = ask(&app, &admin, glass("prod down, approver unreachable")).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["request"]["state"], "succeeded", "{body}");
    assert_eq!(replicas(&app, PROD, "frontend"), before + 1);
    let id = body["request"]["id"].as_i64().unwrap();
    assert_eq!(audit_kinds(&db, id).await[0], "action_break_glass");
    let page = approver
        .get(app.url(&format!("/requests/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("not yet acknowledged"), "{page}");
    let (status, _) = step(&app, &admin, id, "acknowledge").await;
    assert_eq!(status, 403, "not by the admin who broke it");
    let (status, body) = step(&app, &approver, id, "acknowledge").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["request"]["acknowledged_by_name"], "Bob Approver", "{body}");
}
