//! The record pages' rows kept in memory between writes (`gantry_app::records`): a view
//! reads the database only after something it shows was written — by this server (at
//! once) or by another one on the same database (told by PostgreSQL's notification) —
//! and nothing is kept while the notifications are not heard.

use std::time::Duration;

use gantry_app::audit::{append, NewEvent};
use gantry_app::records::Topic;
use gantry_tests::{eventually, TestApp};
use sqlx::PgPool;

const PATIENCE: Duration = Duration::from_secs(20);

/// The audit page's content (the page around it carries a new nonce each time).
async fn audit_page(app: &TestApp) -> String {
    let response = app.client.get(app.url("/audit")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    let start = page.find("<main").expect("the page has its content");
    let end = page.find("</main>").expect("the content ends");
    page[start..end].to_owned()
}

fn loads(app: &TestApp) -> u64 {
    app.context.records.audit.loads()
}

async fn hearing(app: &TestApp) -> u64 {
    let versions = &app.context.records.versions;
    eventually(PATIENCE, "the server to hear the record notifications", || async {
        versions.stamp(&[Topic::Audit]).is_some()
    })
    .await;
    versions.stamp(&[Topic::Audit]).unwrap()
}

/// An event written the way another replica writes it: straight into the database,
/// without this server knowing.
async fn written_elsewhere(db: &PgPool, reason: &str) {
    let event = NewEvent {
        kind: "denied",
        user_id: Some("someone-elsewhere"),
        outcome: "refused",
        reason: Some(reason),
        ..NewEvent::default()
    };
    append(db, &event).await.unwrap();
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn a_page_reads_again_only_after_a_write_here_or_elsewhere(db: PgPool) {
    let app = gantry_tests::spawn_app(db.clone()).await;
    hearing(&app).await;
    let first = audit_page(&app).await;
    let read = loads(&app);
    // Nothing written since: the same rows, not read again.
    assert_eq!(audit_page(&app).await, first);
    assert_eq!(loads(&app), read, "a second view read the database");

    // Written by this server (a sign-in): shown by the very next view.
    let _stakeholder = app.client_as("stakeholder").await;
    assert!(audit_page(&app).await.contains("Carol Viewer"), "this server's write not shown");
    let read = loads(&app);

    // Written by another server: shown once PostgreSQL has told this one.
    written_elsewhere(&db, "written-by-another-replica").await;
    eventually(PATIENCE, "the other server's event on the page", || async {
        audit_page(&app).await.contains("written-by-another-replica")
    })
    .await;
    assert!(loads(&app) > read);
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn a_lost_notification_connection_keeps_nothing_it_may_have_missed(db: PgPool) {
    let app = gantry_tests::spawn_app(db.clone()).await;
    let before = hearing(&app).await;
    audit_page(&app).await;
    // The listener's connection cut, as a database failover or restart would.
    let cut: Vec<bool> = sqlx::query_scalar(
        "select pg_terminate_backend(pid) from pg_stat_activity
         where datname = current_database() and query ilike 'listen %'",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(cut, [true], "one listener connection");
    // Whatever was written while it was cut, the server listens again with nothing kept.
    written_elsewhere(&db, "written-while-not-heard").await;
    let versions = &app.context.records.versions;
    eventually(PATIENCE, "the server to hear again", || async {
        versions.stamp(&[Topic::Audit]).is_some_and(|now| now != before)
    })
    .await;
    assert!(audit_page(&app).await.contains("written-while-not-heard"));
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn a_write_that_changes_no_row_drops_nothing(db: PgPool) {
    let app = gantry_tests::spawn_app(db.clone()).await;
    hearing(&app).await;
    let versions = &app.context.records.versions;
    let (requests, audit) = (versions.stamp(&[Topic::Requests]), versions.stamp(&[Topic::Audit]));
    // What the sweeper runs every 2 s: an UPDATE that, with nothing due, matches no row.
    let expired = gantry_app::actions::store::expire_due(&db).await.unwrap();
    assert!(expired.is_empty());
    // Notifications arrive in commit order: once this later one is heard, one for the
    // expiry would have been too.
    written_elsewhere(&db, "a later write").await;
    eventually(PATIENCE, "the later write to be heard", || async {
        versions.stamp(&[Topic::Audit]) != audit
    })
    .await;
    assert_eq!(versions.stamp(&[Topic::Requests]), requests, "the requests' rows were dropped");
    app.stop().await;
}
