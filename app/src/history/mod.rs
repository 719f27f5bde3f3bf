//! Deployment history that outlives the cluster's pruning: every ReplicaSet revision and
//! Argo CD history entry the panel sees is recorded once in PostgreSQL (`recorder`, from
//! the watch caches), and the History page shows what runs where and what changed when.

pub mod diff;
pub mod observe;
pub mod page;
pub mod recorder;
pub mod store;

use crate::context::ServerContext;

/// How many timeline entries a page or an export carries.
pub const LIMIT: i64 = 500;

/// The filter from a query (`env`, `workload`); an environment the person may not see is
/// refused by the caller before this.
pub fn filter(pairs: &[(String, String)]) -> store::Filter {
    let get = |key: &str| {
        pairs
            .iter()
            .find(|(k, v)| k == key && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_owned())
    };
    store::Filter { environment: get("env"), workload: get("workload") }
}

/// The timeline for `environments` (those the person may see), newest first.
pub async fn timeline(
    context: &ServerContext,
    environments: &[String],
    filter: &store::Filter,
) -> Result<Vec<page::Entry>, sqlx::Error> {
    let revisions = store::revisions(&context.db, environments, filter, LIMIT).await?;
    let syncs = if filter.workload.is_some() {
        Vec::new()
    } else {
        store::syncs(&context.db, environments, filter, LIMIT).await?
    };
    let requests = crate::actions::store::recent(&context.db, environments, false, 500).await?;
    let mut entries = page::entries(&revisions, &syncs, &requests);
    entries.truncate(usize::try_from(LIMIT).unwrap_or(usize::MAX));
    Ok(entries)
}

/// The timeline as CSV, newest first.
pub fn csv(entries: &[page::Entry]) -> String {
    let mut out = String::new();
    let header: Vec<String> = ["id", "time", "environment", "object", "change", "who"]
        .iter()
        .map(|h| (*h).to_owned())
        .collect();
    crate::audit::query::csv_line(&header, &mut out);
    for e in entries {
        let time = chrono::DateTime::from_timestamp_millis(e.at_ms)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default();
        let fields = [
            e.id.clone(),
            time,
            e.environment.clone(),
            e.object.clone(),
            e.what.clone(),
            e.who.clone(),
        ];
        crate::audit::query::csv_line(&fields, &mut out);
    }
    out
}
