//! The audit log: append-only and hash-chained (see `chain`). Every sign-in, sign-out and
//! refusal is an event; `gantry audit verify` walks the chain and names the first event
//! that does not check out.

pub mod chain;
pub mod page;
pub mod routes;
pub mod store;

use chain::{Fields, Stored, Walk};

/// An event to append: what happened, to whom, where, and how it ended.
#[derive(Clone, Debug, Default)]
pub struct NewEvent<'a> {
    pub kind: &'a str,
    pub user_id: Option<&'a str>,
    pub display_name: Option<&'a str>,
    pub environment: Option<&'a str>,
    pub object: Option<&'a str>,
    pub action: Option<&'a str>,
    pub outcome: &'a str,
    pub request_id: Option<i64>,
    pub reason: Option<&'a str>,
    pub request: Option<&'a str>,
    pub client_addr: Option<&'a str>,
    pub forwarded_for: Option<&'a str>,
}

/// The advisory lock key every append takes ("audit" in ASCII): one chain, one writer at a
/// time.
const APPEND_LOCK: i64 = 0x0061_7564_6974;

/// The newest event and its hash: the anchor to keep elsewhere (a later
/// `gantry audit verify --anchor ID:HASH` notices events cut off after it).
pub async fn head(db: &sqlx::PgPool) -> Result<Option<(i64, Vec<u8>)>, sqlx::Error> {
    let row = sqlx::query!(
        "select audit_event_id, hash from audit_event order by audit_event_id desc limit 1"
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| (r.audit_event_id, r.hash)))
}

/// The hash of event `id`, if it is there.
pub async fn hash_of(db: &sqlx::PgPool, id: i64) -> Result<Option<Vec<u8>>, sqlx::Error> {
    sqlx::query_scalar!("select hash from audit_event where audit_event_id = $1", id)
        .fetch_optional(db)
        .await
}

/// Appends one event after the current last one. Appends are serialized by a transaction
/// advisory lock that readers do not wait for, so the chain stays one line with several
/// replicas. (A table lock in a mode that keeps other writers out needs UPDATE, DELETE or
/// TRUNCATE on the table, which the application's role does not hold.)
#[tracing::instrument(skip_all, fields(kind = event.kind))]
pub async fn append(db: &sqlx::PgPool, event: &NewEvent<'_>) -> Result<i64, sqlx::Error> {
    let mut tx = db.begin().await?;
    let id = append_in(&mut tx, event).await?;
    tx.commit().await?;
    Ok(id)
}

/// Appends one event inside the caller's transaction: the event is written if and only
/// if what it records is (an action request's change of state and its event commit
/// together). The lock is held until that transaction ends, so keep it short.
pub async fn append_in(
    tx: &mut sqlx::PgConnection,
    event: &NewEvent<'_>,
) -> Result<i64, sqlx::Error> {
    sqlx::query!("select pg_advisory_xact_lock($1)", APPEND_LOCK).execute(&mut *tx).await?;
    let previous =
        sqlx::query_scalar!("select hash from audit_event order by audit_event_id desc limit 1")
            .fetch_optional(&mut *tx)
            .await?
            .unwrap_or_else(|| chain::GENESIS.to_vec());
    // Microseconds: PostgreSQL's precision, so what is read back hashes the same. Passed
    // and read as integers, converted exactly in SQL.
    let micros = chrono::Utc::now().timestamp_micros();
    let owned = |v: Option<&str>| v.map(str::to_owned);
    let fields = Fields {
        occurred_at: micros,
        kind: event.kind.to_owned(),
        user_id: owned(event.user_id),
        display_name: owned(event.display_name),
        environment: owned(event.environment),
        object: owned(event.object),
        action: owned(event.action),
        outcome: event.outcome.to_owned(),
        request_id: event.request_id,
        reason: owned(event.reason),
        request: owned(event.request),
        client_addr: owned(event.client_addr),
        forwarded_for: owned(event.forwarded_for),
    };
    let hash = chain::hash(&previous, &fields).to_vec();
    let id = sqlx::query_scalar!(
        "insert into audit_event
            (occurred_at, kind, user_id, display_name, environment, object, action, outcome,
             request_id, reason, request, client_addr, forwarded_for, previous_hash, hash)
         values (timestamptz 'epoch' + $1::int8 * interval '1 microsecond',
                 $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
         returning audit_event_id",
        micros,
        fields.kind,
        fields.user_id,
        fields.display_name,
        fields.environment,
        fields.object,
        fields.action,
        fields.outcome,
        fields.request_id,
        fields.reason,
        fields.request,
        fields.client_addr,
        fields.forwarded_for,
        previous,
        hash,
    )
    .fetch_one(&mut *tx)
    .await?;
    Ok(id)
}

/// What `verify` found.
#[derive(Debug)]
pub enum Verdict {
    Intact(chain::Checked),
    Broken(chain::Broken),
}

/// Walks the whole chain in the order it was written, a page at a time.
pub async fn verify(db: &sqlx::PgPool) -> Result<Verdict, sqlx::Error> {
    const PAGE: i64 = 1000;
    let mut walk = Walk::default();
    let mut after = 0_i64;
    loop {
        let rows = sqlx::query!(
            r#"select audit_event_id, (extract(epoch from occurred_at) * 1000000)::int8 as "occurred_at_micros!", kind, user_id, display_name, environment, object,
                      action, outcome, request_id, reason, request, client_addr, forwarded_for,
                      previous_hash, hash
               from audit_event where audit_event_id > $1 order by audit_event_id limit $2"#,
            after,
            PAGE
        )
        .fetch_all(db)
        .await?;
        let last_page = rows.len() < usize::try_from(PAGE).unwrap_or(usize::MAX);
        for row in rows {
            after = row.audit_event_id;
            let stored = Stored {
                id: row.audit_event_id,
                fields: Fields {
                    occurred_at: row.occurred_at_micros,
                    kind: row.kind,
                    user_id: row.user_id,
                    display_name: row.display_name,
                    environment: row.environment,
                    object: row.object,
                    action: row.action,
                    outcome: row.outcome,
                    request_id: row.request_id,
                    reason: row.reason,
                    request: row.request,
                    client_addr: row.client_addr,
                    forwarded_for: row.forwarded_for,
                },
                previous_hash: row.previous_hash,
                hash: row.hash,
            };
            if let Err(broken) = walk.step(&stored) {
                return Ok(Verdict::Broken(broken));
            }
        }
        if last_page {
            return Ok(Verdict::Intact(walk.finish()));
        }
    }
}
