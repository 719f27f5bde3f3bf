//! The PostgreSQL pool and the schema migrations, applied at start.

use secrecy::ExposeSecret;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use crate::config::DatabaseSettings;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database.url cannot be used: {0}")]
    Url(#[source] sqlx::Error),
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("cannot apply the database migrations: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    #[error("a database query failed: {0}")]
    Query(#[source] sqlx::Error),
}

/// Opens the pool and waits for one working connection, so a wrong address or password
/// is reported at start rather than at the first page view.
pub async fn connect(settings: &DatabaseSettings) -> Result<PgPool, DbError> {
    let options: PgConnectOptions = settings.url.expose_secret().parse().map_err(DbError::Url)?;
    let options = options.application_name("gantry");
    PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(settings.connect_timeout)
        .connect_with(options)
        .await
        .map_err(DbError::Connect)
}

/// Applies the migrations this version knows. Migrations a newer version applied are left
/// as they are (they only ever add): rolling Gantry back to an older image must not stop
/// it at start.
pub async fn migrate(pool: &PgPool) -> Result<(), DbError> {
    let mut migrator = sqlx::migrate!("../migrations");
    migrator.set_ignore_missing(true);
    migrator.run(pool).await.map_err(DbError::Migrate)
}

/// Applies the migrations through `owner` (the role of `database.migration_url`, which then
/// owns the tables), then gives the application's role what it needs and no more: reading
/// and writing the panel's tables, but only reading and appending the audit log — it can
/// neither change nor remove an event, nor switch the log's triggers off (only the table's
/// owner or a superuser can).
pub async fn migrate_as_owner(owner: &PgPool, app: &PgPool) -> Result<(), DbError> {
    migrate(owner).await?;
    let app_role = sqlx::query_scalar!("select current_user as \"role!\"")
        .fetch_one(app)
        .await
        .map_err(DbError::Query)?;
    let owner_role = sqlx::query_scalar!("select current_user as \"role!\"")
        .fetch_one(owner)
        .await
        .map_err(DbError::Query)?;
    if app_role == owner_role {
        return Ok(());
    }
    // A role name cannot be a bind parameter: quoted as an identifier instead.
    let role = format!("\"{}\"", app_role.replace('"', "\"\""));
    let grants = [
        format!("grant usage on schema public to {role}"),
        format!("grant select, insert, update, delete on all tables in schema public to {role}"),
        format!("grant usage, select on all sequences in schema public to {role}"),
        format!("revoke update, delete, truncate, references, trigger on audit_event from {role}"),
    ];
    let mut tx = owner.begin().await.map_err(DbError::Query)?;
    for grant in grants {
        sqlx::raw_sql(&grant).execute(&mut *tx).await.map_err(DbError::Query)?;
    }
    tx.commit().await.map_err(DbError::Query)
}

/// Whether the application's role owns the audit log (and so could switch its triggers
/// off): what a separate migration role avoids.
pub async fn owns_audit_log(app: &PgPool) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        "select pg_get_userbyid(relowner) = current_user as \"owns!\" from pg_class where oid = 'audit_event'::regclass"
    )
    .fetch_one(app)
    .await
}

/// Whether the database answers a trivial query within `timeout`.
pub async fn ping(pool: &PgPool, timeout: std::time::Duration) -> Result<(), String> {
    let query = sqlx::query_scalar!("select 1 as \"one!\"").fetch_one(pool);
    match tokio::time::timeout(timeout, query).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {} ms", timeout.as_millis())),
    }
}

/// Records this process's start (see migration `server_starts`).
#[tracing::instrument(skip(pool))]
pub async fn record_start(pool: &PgPool, hostname: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        "insert into server_start (version, hostname) values ($1, $2) returning server_start_id",
        env!("CARGO_PKG_VERSION"),
        hostname
    )
    .fetch_one(pool)
    .await
}
