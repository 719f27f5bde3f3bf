//! The audit log: one unbroken chain however many write at once; the application cannot
//! change or remove an event; and tampering by someone who can (a database superuser) is
//! found, with the first bad event named.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

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
