//! Reading requests in bulk: for the sweeper, the Approvals page and the overview's flags.

use super::{read_many, State, Stored};

/// Requests in `state` whose last change is older than `seconds` (and, if given, claimed
/// by `executor`).
pub async fn stuck(
    db: &sqlx::PgPool,
    state: State,
    seconds: i64,
    executor: Option<&str>,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        "select request_id from action_request
         where state = $1 and updated_at <= now() - $2::int8 * interval '1 second'
           and ($3::text is null or executor = $3)
         order by request_id",
        state.as_str(),
        seconds,
        executor,
    )
    .fetch_all(db)
    .await
}

/// Requests for the approvals page and the environment pages, newest first.
pub async fn recent(
    db: &sqlx::PgPool,
    environments: &[String],
    open_only: bool,
    limit: i64,
) -> Result<Vec<Stored>, sqlx::Error> {
    let ids = sqlx::query_scalar!(
        "select request_id from action_request
         where environment = any($1)
           and (not $2 or state in ('pending', 'approved', 'executing')
                or (break_glass and acknowledged_at is null))
         order by request_id desc limit $3",
        environments,
        open_only,
        limit,
    )
    .fetch_all(db)
    .await?;
    let mut conn = db.acquire().await?;
    read_many(&mut conn, &ids).await
}

/// Requests that ran (or are running) between two times (Unix milliseconds), oldest
/// first: the History page joins them with the changes they made.
pub async fn started_between(
    db: &sqlx::PgPool,
    environments: &[String],
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<Stored>, sqlx::Error> {
    let ids = sqlx::query_scalar!(
        "select request_id from action_request
         where environment = any($1) and state in ('executing', 'succeeded')
           and started_at >= timestamptz 'epoch' + $2::int8 * interval '1 millisecond'
           and started_at <= timestamptz 'epoch' + $3::int8 * interval '1 millisecond'
         order by started_at limit 5000",
        environments,
        from_ms,
        to_ms,
    )
    .fetch_all(db)
    .await?;
    let mut conn = db.acquire().await?;
    read_many(&mut conn, &ids).await
}

/// Per environment: pending requests and unacknowledged break-glass runs (the overview's
/// badges).
pub async fn attention(db: &sqlx::PgPool) -> Result<Vec<(String, i64, i64)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select environment,
                  count(*) filter (where state = 'pending') as "pending!",
                  count(*) filter (where break_glass and acknowledged_at is null) as "unacknowledged!"
           from action_request
           where state = 'pending' or (break_glass and acknowledged_at is null)
           group by environment"#
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.environment, r.pending, r.unacknowledged)).collect())
}
