//! The backup runs in PostgreSQL: written when first seen and when they end (an ended run
//! is never rewritten, whatever the cluster shows later), read back newest first.

use super::model::{Manifest, Outcome};
use super::observe::Seen;

/// A run as the Backups page lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Run {
    pub id: i64,
    pub environment: String,
    pub job: String,
    pub manual: bool,
    pub request_id: Option<i64>,
    pub requested_by: Option<String>,
    pub started_ms: Option<i64>,
    pub finished_ms: Option<i64>,
    pub outcome: Outcome,
}

/// Writes what is new about `runs` of `environment`; returns how many rows changed.
pub async fn record(
    db: &sqlx::PgPool,
    environment: &str,
    cronjob: &str,
    runs: &[Seen],
) -> Result<u64, sqlx::Error> {
    let mut changed = 0;
    let mut tx = db.begin().await?;
    for run in runs {
        let (state, reason, manifest) = match &run.outcome {
            Outcome::Running => ("running", None, None),
            Outcome::Succeeded(m) => ("succeeded", None, Some(m)),
            Outcome::Failed { reason } => ("failed", Some(reason.as_str()), None),
        };
        let m = manifest;
        let retained = m.map(|m| serde_json::json!(m.retained));
        let done = sqlx::query!(
            r#"insert into backup_run
                   (environment, job, job_uid, cronjob, manual, request_id, requested_by, state,
                    reason, started_at, finished_at, file, location, bytes, sha256, entries,
                    pg_dump_version, server_version, retained, retained_count)
               values ($1, $2, $3, $4, $5, $6, $7, $8, $9,
                       timestamptz 'epoch' + $10::int8 * interval '1 millisecond',
                       case when $8 = 'running' then null
                            else coalesce(timestamptz 'epoch' + $11::int8 * interval '1 millisecond', now()) end,
                       $12, $13, $14, $15, $16, $17, $18, $19, $20)
               on conflict (environment, job_uid) do update set
                   state = excluded.state, reason = excluded.reason,
                   started_at = coalesce(excluded.started_at, backup_run.started_at),
                   finished_at = excluded.finished_at, file = excluded.file,
                   location = excluded.location, bytes = excluded.bytes,
                   sha256 = excluded.sha256, entries = excluded.entries,
                   pg_dump_version = excluded.pg_dump_version,
                   server_version = excluded.server_version, retained = excluded.retained,
                   retained_count = excluded.retained_count, seen_at = now()
               where backup_run.state = 'running' and excluded.state <> 'running'"#,
            environment,
            run.job,
            run.uid,
            cronjob,
            run.manual,
            run.request_id,
            run.requested_by,
            state,
            reason,
            run.started_ms,
            run.finished_ms,
            m.map(|m| m.file.clone()),
            m.map(|m| m.location.clone()),
            m.map(|m| m.bytes),
            m.map(|m| m.sha256.clone()),
            m.map(|m| m.entries),
            m.map(|m| m.pg_dump_version.clone()),
            m.map(|m| m.server_version.clone()),
            retained,
            m.map(|m| m.retained_count),
        )
        .execute(&mut *tx)
        .await?;
        changed += done.rows_affected();
    }
    tx.commit().await?;
    Ok(changed)
}

/// Runs recorded as running whose Job the cluster no longer has: they will never report,
/// so they are failed in words (listing `present`, the uids the cluster shows).
pub async fn settle_vanished(
    db: &sqlx::PgPool,
    environment: &str,
    present: &[String],
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        "update backup_run set state = 'failed', finished_at = now(), seen_at = now(),
             reason = 'its Job was deleted before it reported how it ended'
         where environment = $1 and state = 'running' and not (job_uid = any($2))",
        environment,
        present,
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

struct Row {
    id: i64,
    environment: String,
    job: String,
    manual: bool,
    request_id: Option<i64>,
    requested_by: Option<String>,
    state: String,
    reason: Option<String>,
    started_ms: Option<i64>,
    finished_ms: Option<i64>,
    file: Option<String>,
    location: Option<String>,
    bytes: Option<i64>,
    sha256: Option<String>,
    entries: Option<i64>,
    pg_dump_version: Option<String>,
    server_version: Option<String>,
    retained: Option<serde_json::Value>,
    retained_count: Option<i64>,
}

impl Row {
    fn run(self) -> Run {
        let outcome = match (self.state.as_str(), self.file, self.bytes, self.sha256) {
            ("succeeded", Some(file), Some(bytes), Some(sha256)) => Outcome::Succeeded(Manifest {
                file,
                location: self.location.unwrap_or_default(),
                bytes,
                sha256,
                entries: self.entries.unwrap_or(0),
                pg_dump_version: self.pg_dump_version.unwrap_or_default(),
                server_version: self.server_version.unwrap_or_default(),
                retained: self
                    .retained
                    .and_then(|v| serde_json::from_value(v).ok())
                    .unwrap_or_default(),
                retained_count: self.retained_count.unwrap_or(0),
            }),
            ("running", ..) => Outcome::Running,
            _ => Outcome::Failed { reason: self.reason.unwrap_or_default() },
        };
        Run {
            id: self.id,
            environment: self.environment,
            job: self.job,
            manual: self.manual,
            request_id: self.request_id,
            requested_by: self.requested_by,
            started_ms: self.started_ms,
            finished_ms: self.finished_ms,
            outcome,
        }
    }
}

/// The newest `limit` runs of `environment`.
pub async fn runs(
    db: &sqlx::PgPool,
    environment: &str,
    limit: i64,
) -> Result<Vec<Run>, sqlx::Error> {
    let rows = sqlx::query_as!(
        Row,
        r#"select id, environment, job, manual, request_id, requested_by, state, reason,
                  (extract(epoch from started_at) * 1000)::int8 as started_ms,
                  (extract(epoch from finished_at) * 1000)::int8 as finished_ms,
                  file, location, bytes, sha256, entries, pg_dump_version, server_version,
                  retained, retained_count
           from backup_run where environment = $1
           order by started_at desc nulls last, id desc limit $2"#,
        environment,
        limit,
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(Row::run).collect())
}

/// When each environment's last good backup finished (absent: none ever did).
pub async fn last_good(db: &sqlx::PgPool) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select environment as "environment!",
                  (extract(epoch from max(finished_at)) * 1000)::int8 as "finished_ms!"
           from backup_run where state = 'succeeded' group by environment"#
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.environment, r.finished_ms)).collect())
}
