//! The recorded history in PostgreSQL: written once per observation (the unique keys make
//! a repeated insert a no-op), read back newest first for the timeline.

use serde::Serialize;

use super::observe::{ArgoEntry, ObservedRevision};

/// Records what is new; returns how many rows were added.
pub async fn record(
    db: &sqlx::PgPool,
    revisions: &[ObservedRevision],
    entries: &[ArgoEntry],
) -> Result<u64, sqlx::Error> {
    let mut added = 0;
    // Oldest first, so each one finds the one before it already recorded.
    let mut ordered: Vec<&ObservedRevision> = revisions.iter().collect();
    ordered.sort_by(|a, b| {
        (&a.environment, &a.workload, a.revision).cmp(&(&b.environment, &b.workload, b.revision))
    });
    let mut tx = db.begin().await?;
    for r in ordered {
        added += sqlx::query!(
            "insert into observed_revision
                (environment, workload, revision, replicaset, template_hash, images,
                 change_cause, created_at, template, previous_revision, previous_images)
             select $1, $2, $3, $4, $5, $6, $7,
                    timestamptz 'epoch' + $8::int8 * interval '1 millisecond', $9,
                    before.revision, before.images
             from (select 1) as one
             left join lateral (
                 select revision, images from observed_revision
                 where environment = $1 and workload = $2 and revision < $3
                 order by revision desc limit 1) as before on true
             on conflict (environment, workload, replicaset, revision) do nothing",
            r.environment,
            r.workload,
            r.revision,
            r.replicaset,
            r.template_hash,
            &r.images,
            r.change_cause,
            r.created_ms,
            r.template,
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }
    for e in entries {
        added += sqlx::query!(
            "insert into argo_history
                (environment, application, history_id, revision, deployed_at,
                 deploy_started_at, initiated_by)
             values ($1, $2, $3, $4,
                     timestamptz 'epoch' + $5::int8 * interval '1 millisecond',
                     timestamptz 'epoch' + $6::int8 * interval '1 millisecond', $7)
             on conflict (environment, application, history_id) do nothing",
            e.environment,
            e.application,
            e.id,
            e.revision,
            e.deployed_ms,
            e.started_ms,
            e.initiated_by,
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }
    tx.commit().await?;
    Ok(added)
}

/// A workload revision on the timeline, with the images of the one before it.
#[derive(Clone, Debug, Serialize)]
pub struct RevisionRow {
    pub environment: String,
    pub workload: String,
    pub revision: i64,
    pub replicaset: String,
    pub images: Vec<String>,
    pub previous_images: Option<Vec<String>>,
    /// The revision before it (for the diff link).
    pub previous_revision: Option<i64>,
    pub change_cause: Option<String>,
    pub created_ms: i64,
}

/// An Argo CD sync on the timeline.
#[derive(Clone, Debug, Serialize)]
pub struct SyncRow {
    pub environment: String,
    pub application: String,
    pub id: i64,
    pub revision: String,
    pub initiated_by: String,
    pub deployed_ms: i64,
    pub started_ms: Option<i64>,
}

/// What the timeline shows: optionally one environment and one workload, newest first.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub environment: Option<String>,
    pub workload: Option<String>,
}

pub async fn revisions(
    db: &sqlx::PgPool,
    environments: &[String],
    filter: &Filter,
    limit: i64,
) -> Result<Vec<RevisionRow>, sqlx::Error> {
    let rows = sqlx::query_file!(
        "src/history/timeline.sql",
        environments,
        filter.environment,
        filter.workload,
        limit,
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| RevisionRow {
            environment: r.environment,
            workload: r.workload,
            revision: r.revision,
            replicaset: r.replicaset,
            images: r.images,
            previous_images: r.previous_images,
            previous_revision: r.previous_revision,
            change_cause: r.change_cause,
            created_ms: r.created_ms,
        })
        .collect())
}

pub async fn syncs(
    db: &sqlx::PgPool,
    environments: &[String],
    filter: &Filter,
    limit: i64,
) -> Result<Vec<SyncRow>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select environment, application, history_id, revision, initiated_by,
                  (extract(epoch from deployed_at) * 1000)::int8 as "deployed_ms!",
                  (extract(epoch from deploy_started_at) * 1000)::int8 as started_ms
           from argo_history
           where environment = any($1) and ($2::text is null or environment = $2)
           order by deployed_at desc
           limit $3"#,
        environments,
        filter.environment,
        limit,
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| SyncRow {
            environment: r.environment,
            application: r.application,
            id: r.history_id,
            revision: r.revision,
            initiated_by: r.initiated_by,
            deployed_ms: r.deployed_ms,
            started_ms: r.started_ms,
        })
        .collect())
}

/// One recorded revision's template and images (the newest record of that number).
pub struct Recorded {
    pub images: Vec<String>,
    pub created_ms: i64,
    pub template: serde_json::Value,
}

pub async fn revision(
    db: &sqlx::PgPool,
    environment: &str,
    workload: &str,
    revision: i64,
) -> Result<Option<Recorded>, sqlx::Error> {
    let row = sqlx::query!(
        r#"select images, template, (extract(epoch from created_at) * 1000)::int8 as "created_ms!"
           from observed_revision
           where environment = $1 and workload = $2 and revision = $3
           order by created_at desc limit 1"#,
        environment,
        workload,
        revision,
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| Recorded { images: r.images, created_ms: r.created_ms, template: r.template }))
}
