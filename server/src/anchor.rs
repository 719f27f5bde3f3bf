//! The audit log's anchor, announced every hour: the newest event's id and hash, in the
//! server log and on the webhook — somewhere the database's users cannot rewrite. The hash
//! chain shows any event changed, removed or inserted, except events cut off the end;
//! `gantry audit verify --anchor ID:HASH` with a kept anchor shows those too.

use std::time::Duration;

use gantry_app::audit::chain;

/// How often the anchor is announced.
pub const EVERY: Duration = Duration::from_secs(3600);

/// Announces the current anchor once; the text announced, if the log has any event.
pub async fn announce(db: &sqlx::PgPool, webhook: Option<&str>) -> Option<String> {
    let (id, hash) = match gantry_app::audit::head(db).await {
        Ok(Some(head)) => head,
        Ok(None) => return None,
        Err(error) => {
            tracing::warn!(%error, "cannot read the audit log's anchor");
            return None;
        }
    };
    let hash = chain::hex(&hash);
    let anchor = format!("{id}:{hash}");
    tracing::info!(event = id, %hash, "audit anchor (check later with: gantry audit verify --anchor {anchor})");
    if let Some(url) = webhook {
        let text = format!("Gantry audit anchor: event {id}, hash {hash}. Keep it: `gantry audit verify --anchor {anchor}` shows whether events were cut off after it.");
        let body = serde_json::json!({ "text": text, "event": "audit_anchor", "anchor": anchor });
        if let Err(problem) = gantry_app::actions::engine::notify::deliver(url, &body).await {
            tracing::warn!(%problem, "audit anchor not delivered to the webhook");
        }
    }
    Some(anchor)
}

/// Announces the anchor at start and every [`EVERY`] after.
pub fn start(db: sqlx::PgPool, webhook: Option<String>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EVERY);
        loop {
            tick.tick().await;
            announce(&db, webhook.as_deref()).await;
        }
    })
}
