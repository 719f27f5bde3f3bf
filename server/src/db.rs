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

pub async fn migrate(pool: &PgPool) -> Result<(), DbError> {
    MIGRATOR.run(pool).await.map_err(DbError::Migrate)
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
