//! The recorded history in PostgreSQL: written once per observation (the unique keys make
//! a repeated insert a no-op), read back newest first for the timeline.

use serde::Serialize;

use super::observe::{ArgoEntry, ArgoFailure, ObservedRevision, ObservedSet, Outcome, RolloutSeen};

/// Records what is new; returns how many rows were added.
pub async fn record(
    db: &sqlx::PgPool,
    revisions: &[ObservedRevision],
    sets: &[ObservedSet],
    entries: &[ArgoEntry],
    failures: &[ArgoFailure],
) -> Result<u64, sqlx::Error> {
    let mut added = 0;
    // Oldest first, so each one finds the one before it already recorded.
    let mut ordered: Vec<&ObservedRevision> = revisions.iter().collect();
    ordered.sort_by(|a, b| {
        (&a.environment, &a.workload, a.revision).cmp(&(&b.environment, &b.workload, b.revision))
    });
    let mut tx = db.begin().await?;
    for r in ordered {
        // A rollback reuses an older ReplicaSet under a new number: its creation time is
        // the old release's, so the panel's own time of seeing it stands in (Kubernetes
        // keeps no time of the reuse).
        let row = sqlx::query!(
            r#"with before as (
                   select revision, images, created_at from observed_revision
                   where environment = $1 and workload = $2 and revision < $3
                   order by revision desc limit 1),
               reused as (
                   select max(revision) as revision from observed_revision
                   where environment = $1 and workload = $2 and replicaset = $4
                     and revision < $3),
               created as (
                   select timestamptz 'epoch' + $8::int8 * interval '1 millisecond' as at)
               insert into observed_revision
                   (environment, workload, revision, replicaset, template_hash, images,
                    change_cause, created_at, template, previous_revision, previous_images,
                    rollback_of, replicas)
               select $1, $2, $3, $4, $5, $6, $7,
                      case when (select revision from reused) is not null
                                or created.at < (select created_at from before)
                           then now() else created.at end,
                      $9, (select revision from before), (select images from before),
                      (select revision from reused), $10
               from created
               on conflict (environment, workload, replicaset, revision) do nothing
               returning (extract(epoch from created_at) * 1000)::int8 as "created_ms!",
                         previous_revision, rollback_of"#,
            r.environment,
            r.workload,
            r.revision,
            r.replicaset,
            r.template_hash,
            &r.images,
            r.change_cause,
            r.created_ms,
            r.template,
            r.replicas,
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { continue };
        added += 1;
        replaced(
            &mut tx,
            (&r.environment, &r.workload, r.revision),
            row.created_ms,
            row.rollback_of,
            row.previous_revision,
        )
        .await?;
    }
    for set in sets {
        added += record_set(&mut tx, set).await?;
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
    for f in failures {
        added += sqlx::query!(
            "insert into argo_failed_sync
                (environment, application, started_at, finished_at, phase, revision, message,
                 initiated_by)
             values ($1, $2, timestamptz 'epoch' + $3::int8 * interval '1 millisecond',
                     timestamptz 'epoch' + $4::int8 * interval '1 millisecond', $5, $6, $7, $8)
             on conflict (environment, application, started_at) do nothing",
            f.environment,
            f.application,
            f.started_ms,
            f.finished_ms,
            f.phase,
            f.revision,
            f.message,
            f.initiated_by,
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }
    tx.commit().await?;
    Ok(added)
}

/// What a new revision (`created_ms`) ends: the unfinished rollout before it is superseded,
/// and the revision it replaced, when it is a rollback, is rolled back by it.
async fn replaced(
    tx: &mut sqlx::PgConnection,
    (environment, workload, revision): (&str, &str, i64),
    created_ms: i64,
    rollback_of: Option<i64>,
    previous_revision: Option<i64>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update observed_revision
         set outcome = 'superseded',
             finished_at = timestamptz 'epoch' + $4::int8 * interval '1 millisecond'
         where environment = $1 and workload = $2 and revision < $3
           and outcome = 'progressing'",
        environment,
        workload,
        revision,
        created_ms,
    )
    .execute(&mut *tx)
    .await?;
    if let (Some(_), Some(undone)) = (rollback_of, previous_revision) {
        sqlx::query!(
            "update observed_revision set rolled_back_by = $4
             where environment = $1 and workload = $2 and revision = $3
               and rolled_back_by is null",
            environment,
            workload,
            undone,
            revision,
        )
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// Records a StatefulSet's revision when it is not the one last recorded for it, under the
/// next number; a name seen before (an older template back in place) is a rollback.
async fn record_set(tx: &mut sqlx::PgConnection, set: &ObservedSet) -> Result<u64, sqlx::Error> {
    let hash = set.name.strip_prefix(&format!("{}-", set.workload)).unwrap_or(&set.name);
    let row = sqlx::query!(
        r#"with latest as (
               select revision, replicaset, images from observed_revision
               where environment = $1 and workload = $2
               order by revision desc limit 1),
           reused as (
               select max(revision) as revision from observed_revision
               where environment = $1 and workload = $2 and replicaset = $3)
           insert into observed_revision
               (environment, workload, kind, revision, replicaset, template_hash, images,
                created_at, template, previous_revision, previous_images, rollback_of, replicas)
           select $1, $2, 'StatefulSet', coalesce((select revision from latest), 0) + 1, $3, $4,
                  $5, now(), $6, (select revision from latest), (select images from latest),
                  (select revision from reused), $7
           where not exists (select 1 from latest where replicaset = $3)
           on conflict (environment, workload, replicaset, revision) do nothing
           returning revision, (extract(epoch from created_at) * 1000)::int8 as "created_ms!",
                     previous_revision, rollback_of"#,
        set.environment,
        set.workload,
        set.name,
        hash,
        &set.images,
        set.template,
        set.replicas,
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else { return Ok(0) };
    replaced(
        tx,
        (&set.environment, &set.workload, row.revision),
        row.created_ms,
        row.rollback_of,
        row.previous_revision,
    )
    .await?;
    Ok(1)
}

/// Writes how the current rollouts stand; only moves forward (progressing → completed or
/// failed; failed → completed when a stalled rollout recovers). Returns the rows changed.
pub async fn settle(db: &sqlx::PgPool, seen: &[RolloutSeen]) -> Result<u64, sqlx::Error> {
    let mut changed = 0;
    for s in seen {
        let (at_ms, reason) = match &s.outcome {
            Outcome::Progressing => (None, None),
            Outcome::Completed { at_ms } => (Some(*at_ms), None),
            Outcome::Failed { at_ms, reason } => (Some(*at_ms), Some(reason.as_str())),
        };
        let outcome = s.outcome.word();
        // A StatefulSet's revision is found by its name (the newest record of it).
        changed += sqlx::query!(
            "update observed_revision
             set outcome = $4,
                 finished_at = timestamptz 'epoch' + $5::int8 * interval '1 millisecond',
                 outcome_reason = $6
             where environment = $1 and workload = $2
               and revision = coalesce($3, (select max(revision) from observed_revision
                                            where environment = $1 and workload = $2
                                              and replicaset = $7))
               and ((outcome is null and ($4 = 'progressing' or $8))
                    or outcome = 'progressing'
                    or (outcome = 'failed' and $4 = 'completed'))
               and outcome is distinct from $4",
            s.environment,
            s.workload,
            s.revision,
            outcome,
            at_ms,
            reason,
            s.name,
            s.timed,
        )
        .execute(db)
        .await?
        .rows_affected();
    }
    Ok(changed)
}

/// A workload revision on the timeline, with the images of the one before it.
#[derive(Clone, Debug, Serialize)]
pub struct RevisionRow {
    pub environment: String,
    pub workload: String,
    /// Deployment or StatefulSet.
    pub kind: String,
    pub revision: i64,
    pub replicaset: String,
    pub images: Vec<String>,
    pub previous_images: Option<Vec<String>>,
    /// The revision before it (for the diff link).
    pub previous_revision: Option<i64>,
    pub change_cause: Option<String>,
    pub created_ms: i64,
    /// progressing / completed / failed / superseded, when the panel saw it.
    pub outcome: Option<String>,
    pub finished_ms: Option<i64>,
    pub outcome_reason: Option<String>,
    /// The older revision this one brought back (a rollback).
    pub rollback_of: Option<i64>,
    /// The rollback that undid this revision.
    pub rolled_back_by: Option<i64>,
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

/// What the timeline shows, newest first: optionally one environment, one workload, a
/// person (matched after the join with Gantry's requests) and a time range (from
/// inclusive, until exclusive; Unix milliseconds).
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub environment: Option<String>,
    pub workload: Option<String>,
    pub person: Option<String>,
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
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
        filter.since_ms,
        filter.until_ms,
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| RevisionRow {
            environment: r.environment,
            workload: r.workload,
            kind: r.kind,
            revision: r.revision,
            replicaset: r.replicaset,
            images: r.images,
            previous_images: r.previous_images,
            previous_revision: r.previous_revision,
            change_cause: r.change_cause,
            created_ms: r.created_ms,
            outcome: r.outcome,
            finished_ms: r.finished_ms,
            outcome_reason: r.outcome_reason,
            rollback_of: r.rollback_of,
            rolled_back_by: r.rolled_back_by,
        })
        .collect())
}

pub async fn syncs(
    db: &sqlx::PgPool,
    environments: &[String],
    filter: &Filter,
    limit: i64,
) -> Result<Vec<SyncRow>, sqlx::Error> {
    sqlx::query_as!(
        SyncRow,
        r#"select environment, application, history_id as id, revision, initiated_by,
                  (extract(epoch from deployed_at) * 1000)::int8 as "deployed_ms!",
                  (extract(epoch from deploy_started_at) * 1000)::int8 as started_ms
           from argo_history
           where environment = any($1) and ($2::text is null or environment = $2)
             and ($4::int8 is null
                  or deployed_at >= timestamptz 'epoch' + $4 * interval '1 millisecond')
             and ($5::int8 is null
                  or deployed_at < timestamptz 'epoch' + $5 * interval '1 millisecond')
           order by deployed_at desc
           limit $3"#,
        environments,
        filter.environment,
        limit,
        filter.since_ms,
        filter.until_ms,
    )
    .fetch_all(db)
    .await
}

/// The failed Argo CD syncs on the timeline, newest first.
pub async fn failed_syncs(
    db: &sqlx::PgPool,
    environments: &[String],
    filter: &Filter,
    limit: i64,
) -> Result<Vec<ArgoFailure>, sqlx::Error> {
    sqlx::query_as!(
        ArgoFailure,
        r#"select environment, application, phase, revision, message, initiated_by,
                  (extract(epoch from started_at) * 1000)::int8 as "started_ms!",
                  (extract(epoch from finished_at) * 1000)::int8 as finished_ms
           from argo_failed_sync
           where environment = any($1) and ($2::text is null or environment = $2)
             and ($4::int8 is null
                  or started_at >= timestamptz 'epoch' + $4 * interval '1 millisecond')
             and ($5::int8 is null
                  or started_at < timestamptz 'epoch' + $5 * interval '1 millisecond')
           order by started_at desc
           limit $3"#,
        environments,
        filter.environment,
        limit,
        filter.since_ms,
        filter.until_ms,
    )
    .fetch_all(db)
    .await
}

/// One recorded revision's template and images (the newest record of that number).
pub struct Recorded {
    pub images: Vec<String>,
    pub replicas: Option<i32>,
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
        r#"select images, template, replicas, (extract(epoch from created_at) * 1000)::int8 as "created_ms!"
           from observed_revision
           where environment = $1 and workload = $2 and revision = $3
           order by created_at desc limit 1"#,
        environment,
        workload,
        revision,
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| Recorded {
        images: r.images,
        replicas: r.replicas,
        created_ms: r.created_ms,
        template: r.template,
    }))
}
