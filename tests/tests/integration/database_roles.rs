//! With a migration role of its own (`database.migration_url`), the application's role can
//! read and append the audit log but neither change nor remove an event, nor switch the
//! log's triggers off: it does not own the table.

use gantry_tests::{spawn_app_with, test_settings};
use sqlx::postgres::PgConnectOptions;
use sqlx::PgPool;

#[sqlx::test(migrations = false)]
async fn the_application_role_can_only_read_and_append_the_audit_log(db: PgPool) {
    // Roles are the cluster's, not the database's: named after this test's database.
    let database = db.connect_options().get_database().unwrap().to_owned();
    // (PostgreSQL keeps 63 bytes of a name: the database's random tail, not all of it.)
    let tail = &database[database.len().saturating_sub(16)..];
    let (owner, app_role) = (format!("owner_{tail}"), format!("app_{tail}"));
    for role in [&owner, &app_role] {
        sqlx::raw_sql(&format!("create role \"{role}\" login password 'pw'"))
            .execute(&db)
            .await
            .unwrap();
    }
    sqlx::raw_sql(&format!("alter schema public owner to \"{owner}\"")).execute(&db).await.unwrap();
    sqlx::raw_sql(&format!("grant connect on database \"{database}\" to \"{app_role}\""))
        .execute(&db)
        .await
        .unwrap();
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL is set by ./run test");
    let options: PgConnectOptions = base.parse().unwrap();
    let url = |role: &str| {
        format!("postgres://{role}:pw@{}:{}/{database}", options.get_host(), options.get_port())
    };
    let app_pool = PgPool::connect(&url(&app_role)).await.unwrap();
    let owner_url = url(&owner);
    let settings = test_settings(&[("GANTRY_DATABASE_MIGRATION_URL", owner_url.as_str())]);
    let app = spawn_app_with(app_pool.clone(), settings).await;
    // The server works as the application's role: signing in appends to the audit log.
    let _ = app.client_as("stakeholder").await;
    let events: i64 =
        sqlx::query_scalar("select count(*) from audit_event").fetch_one(&app_pool).await.unwrap();
    assert!(events >= 2, "sign-ins recorded: {events}");
    assert!(!gantry::db::owns_audit_log(&app_pool).await.unwrap());
    for attempt in [
        "update audit_event set reason = 'x'",
        "delete from audit_event",
        "truncate audit_event",
        "alter table audit_event disable trigger all",
        "drop table audit_event",
    ] {
        let error = sqlx::raw_sql(attempt).execute(&app_pool).await.expect_err(attempt);
        let text = error.to_string();
        assert!(
            text.contains("permission denied") || text.contains("must be owner"),
            "{attempt}: {text}"
        );
    }
    app.stop().await;
    app_pool.close().await;
    for role in [&app_role, &owner] {
        sqlx::raw_sql(&format!("drop owned by \"{role}\"; drop role \"{role}\""))
            .execute(&db)
            .await
            .ok();
    }
}
