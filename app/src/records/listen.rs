//! Hearing the database say which recorded table changed (`gantry_records`, sent by the
//! triggers on commit) and moving that topic's version.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgListener, PgPoolOptions};

use super::Records;

/// The channel the triggers notify.
pub const CHANNEL: &str = "gantry_records";

/// Listens until the task is stopped, connecting again (waiting up to 5 s between tries)
/// whenever the connection is lost. Its connection is its own, outside the pool the pages
/// use, so a pool of one connection still serves them.
pub async fn run(db: sqlx::PgPool, records: Arc<Records>) {
    let own = PgPoolOptions::new()
        .max_connections(1)
        .connect_lazy_with(db.connect_options().as_ref().clone());
    let mut wait = Duration::from_millis(100);
    loop {
        match hear(&own, &records).await {
            Ok(()) => wait = Duration::from_millis(100),
            Err(error) => {
                tracing::warn!(%error, "not hearing which records change; pages read the database on every view");
            }
        }
        records.versions.deaf();
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(5));
    }
}

/// One connection's life: `Ok` when it ended by being lost after it was heard on.
async fn hear(own: &sqlx::PgPool, records: &Records) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect_with(own).await?;
    listener.listen(CHANNEL).await?;
    // From here every commit is heard; whatever was written before is dropped.
    records.versions.hearing();
    // `None`: the connection was lost (the listener would reconnect by itself, but
    // silently, and what was missed meanwhile could not be known).
    while let Some(notification) = listener.try_recv().await? {
        records.versions.notified(notification.payload());
    }
    Ok(())
}
