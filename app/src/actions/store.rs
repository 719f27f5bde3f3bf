//! Action requests in PostgreSQL. Each change of state is one transaction holding the
//! row lock (or a conditional UPDATE) and the audit event that records it, so a request
//! is never in a state the log does not show, and two servers cannot both make a step.

use serde::Serialize;

use super::lifecycle::{self, Refused, State, Step};
use super::plan::Plan;
use crate::audit::{append_in, NewEvent};

/// Who makes a step, for the audit event: a person (from the request that asked), or the
/// server itself (expiry, execution) when `user_id` is `None`.
#[derive(Clone, Debug, Default)]
pub struct Who {
    pub user_id: Option<String>,
    pub display_name: Option<String>,
    pub client_addr: Option<String>,
    pub forwarded_for: Option<String>,
    pub request: Option<String>,
}

impl Who {
    pub fn server(host: &str) -> Self {
        Who { display_name: Some(format!("Gantry ({host})")), ..Who::default() }
    }
}

/// A request as stored, with its decisions (times in milliseconds since the epoch).
#[derive(Clone, Debug, Serialize)]
pub struct Stored {
    pub id: i64,
    pub environment: String,
    pub action: String,
    pub object: String,
    pub requested_by: String,
    pub requested_by_name: String,
    pub reason: String,
    pub plan: Plan,
    pub preview: String,
    pub approvals_needed: i16,
    pub state: State,
    pub break_glass: bool,
    pub requested_ms: i64,
    pub expires_ms: Option<i64>,
    pub updated_ms: i64,
    pub executor: Option<String>,
    pub started_ms: Option<i64>,
    pub finished_ms: Option<i64>,
    pub result: Option<String>,
    pub acknowledged_by_name: Option<String>,
    pub acknowledged_ms: Option<i64>,
    /// The resourceVersion of the object the plan was made from.
    pub seen_resource_version: Option<String>,
    pub decisions: Vec<Decision>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Decision {
    pub user_id: String,
    pub display_name: String,
    pub approve: bool,
    pub comment: String,
    pub decided_ms: i64,
}

impl Stored {
    /// What the lifecycle rules need of it.
    pub fn rules(&self) -> lifecycle::Request {
        lifecycle::Request {
            requester: self.requested_by.clone(),
            approvals_needed: u8::try_from(self.approvals_needed).unwrap_or(u8::MAX),
            approvers: self
                .decisions
                .iter()
                .filter(|d| d.approve)
                .map(|d| d.user_id.clone())
                .collect(),
            state: self.state,
            expires_at: self.expires_ms.map(|ms| ms.div_euclid(1000)),
        }
    }
}

/// Why a step on a stored request did not happen.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error("there is no request {0}")]
    NotFound(i64),
    #[error("{0}")]
    Refused(Refused),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

fn event<'a>(kind: &'a str, outcome: &'a str, who: &'a Who, request: &'a Stored) -> NewEvent<'a> {
    NewEvent {
        kind,
        user_id: who.user_id.as_deref(),
        display_name: who.display_name.as_deref(),
        environment: Some(&request.environment),
        object: Some(&request.object),
        action: Some(&request.action),
        outcome,
        request_id: Some(request.id),
        reason: None,
        request: who.request.as_deref(),
        client_addr: who.client_addr.as_deref(),
        forwarded_for: who.forwarded_for.as_deref(),
    }
}

/// A request to store.
pub struct New<'a> {
    pub environment: &'a str,
    pub plan: &'a Plan,
    pub requested_by: &'a str,
    pub requested_by_name: &'a str,
    pub reason: &'a str,
    pub approvals_needed: u8,
    pub expires_minutes: Option<u32>,
    pub break_glass: bool,
    /// The resourceVersion of the object the plan was made from.
    pub seen_version: Option<&'a str>,
}

/// Stores a new request (pending, or approved when it needs no approval) and its event.
pub async fn insert(db: &sqlx::PgPool, new: &New<'_>, who: &Who) -> Result<Stored, sqlx::Error> {
    let state = if new.approvals_needed == 0 { State::Approved } else { State::Pending };
    let plan = serde_json::to_value(new.plan).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let expires = new.expires_minutes.filter(|_| new.approvals_needed > 0).map(i64::from);
    let mut tx = db.begin().await?;
    let id = sqlx::query_scalar!(
        "insert into action_request
            (environment, action, object, requested_by, requested_by_name, reason, plan,
             preview, approvals_needed, state, break_glass, expires_at, seen_resource_version)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,
                 now() + $12::int8 * interval '1 minute', $13)
         returning request_id",
        new.environment,
        new.plan.action().as_str(),
        new.plan.object(),
        new.requested_by,
        new.requested_by_name,
        new.reason,
        plan,
        new.plan.summary(),
        i16::from(new.approvals_needed),
        state.as_str(),
        new.break_glass,
        expires,
        new.seen_version,
    )
    .fetch_one(&mut *tx)
    .await?;
    let stored = read(&mut tx, id, false).await?.ok_or(sqlx::Error::RowNotFound)?;
    let kind = if new.break_glass { "action_break_glass" } else { "action_requested" };
    let mut record = event(kind, state.as_str(), who, &stored);
    let reason = format!("{} — {}", stored.preview, new.reason);
    record.reason = Some(&reason);
    append_in(&mut tx, &record).await?;
    tx.commit().await?;
    Ok(stored)
}

/// One request, with its decisions; `lock` takes the row lock for a step.
async fn read(
    conn: &mut sqlx::PgConnection,
    id: i64,
    lock: bool,
) -> Result<Option<Stored>, sqlx::Error> {
    if lock {
        // Steps on one request wait for each other here, until the transaction ends.
        sqlx::query!("select request_id from action_request where request_id = $1 for update", id)
            .fetch_optional(&mut *conn)
            .await?;
    }
    Ok(read_many(conn, &[id]).await?.pop())
}

/// Requests by id, newest first, each with its decisions: two queries however many.
async fn read_many(conn: &mut sqlx::PgConnection, ids: &[i64]) -> Result<Vec<Stored>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select request_id, environment, action, object, requested_by,
                  requested_by_name, reason, plan, preview, approvals_needed, state,
                  break_glass, executor, result, acknowledged_by_name,
                  seen_resource_version,
                  (extract(epoch from requested_at) * 1000)::int8 as "requested_ms!",
                  (extract(epoch from expires_at) * 1000)::int8 as expires_ms,
                  (extract(epoch from updated_at) * 1000)::int8 as "updated_ms!",
                  (extract(epoch from started_at) * 1000)::int8 as started_ms,
                  (extract(epoch from finished_at) * 1000)::int8 as finished_ms,
                  (extract(epoch from acknowledged_at) * 1000)::int8 as acknowledged_ms
           from action_request where request_id = any($1) order by request_id desc"#,
        ids
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut decisions = sqlx::query!(
        r#"select request_id, user_id, display_name, decision, comment,
                  (extract(epoch from decided_at) * 1000)::int8 as "decided_ms!"
           from action_decision where request_id = any($1)
           order by request_id, decided_at, user_id"#,
        ids
    )
    .fetch_all(&mut *conn)
    .await?;
    let undecodable = |what: String| sqlx::Error::Decode(what.into());
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let id = row.request_id;
        let plan = serde_json::from_value(row.plan).map_err(|e| {
            undecodable(format!("request {id} has a plan this version cannot read: {e}"))
        })?;
        let state = State::parse(&row.state).ok_or_else(|| {
            undecodable(format!("request {id} has an unknown state {}", row.state))
        })?;
        let (mine, rest): (Vec<_>, Vec<_>) =
            decisions.into_iter().partition(|d| d.request_id == id);
        decisions = rest;
        out.push(Stored {
            id,
            environment: row.environment,
            action: row.action,
            object: row.object,
            requested_by: row.requested_by,
            requested_by_name: row.requested_by_name,
            reason: row.reason,
            plan,
            preview: row.preview,
            approvals_needed: row.approvals_needed,
            state,
            break_glass: row.break_glass,
            requested_ms: row.requested_ms,
            expires_ms: row.expires_ms,
            updated_ms: row.updated_ms,
            executor: row.executor,
            started_ms: row.started_ms,
            finished_ms: row.finished_ms,
            result: row.result,
            acknowledged_by_name: row.acknowledged_by_name,
            acknowledged_ms: row.acknowledged_ms,
            seen_resource_version: row.seen_resource_version,
            decisions: mine
                .into_iter()
                .map(|d| Decision {
                    user_id: d.user_id,
                    display_name: d.display_name,
                    approve: d.decision == "approve",
                    comment: d.comment,
                    decided_ms: d.decided_ms,
                })
                .collect(),
        });
    }
    Ok(out)
}

pub async fn load(db: &sqlx::PgPool, id: i64) -> Result<Option<Stored>, sqlx::Error> {
    let mut conn = db.acquire().await?;
    read(&mut conn, id, false).await
}

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Writes `next` as the request's state (with `result`) and its audit event, in `tx`.
async fn set_state(
    tx: &mut sqlx::PgConnection,
    stored: &Stored,
    next: State,
    result: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update action_request set state = $2, updated_at = now(),
                result = coalesce($3, result),
                finished_at = case when $4 then now() else finished_at end
         where request_id = $1",
        stored.id,
        next.as_str(),
        result,
        next.is_final(),
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// An approval or a rejection by `who`. `approver` is the access check's answer for them
/// on the request's environment. Returns the request as it now is.
pub async fn decide(
    db: &sqlx::PgPool,
    id: i64,
    who: &Who,
    approver: bool,
    approve: bool,
    comment: &str,
) -> Result<Stored, StepError> {
    let by = who.user_id.clone().unwrap_or_default();
    let mut tx = db.begin().await?;
    let stored = read(&mut tx, id, true).await?.ok_or(StepError::NotFound(id))?;
    let step = if approve {
        Step::Approve { by: by.clone(), approver }
    } else {
        Step::Reject { by: by.clone(), approver }
    };
    let next = match lifecycle::apply(&stored.rules(), &step, now_secs()) {
        Ok(next) => next,
        Err(Refused::Expired) => {
            expire_locked(&mut tx, &stored).await?;
            tx.commit().await?;
            return Err(StepError::Refused(Refused::Expired));
        }
        Err(refused) => return Err(StepError::Refused(refused)),
    };
    sqlx::query!(
        "insert into action_decision (request_id, user_id, display_name, decision, comment)
         values ($1, $2, $3, $4, $5)",
        id,
        by,
        who.display_name.clone().unwrap_or_default(),
        if approve { "approve" } else { "reject" },
        comment,
    )
    .execute(&mut *tx)
    .await?;
    let result = (next.state == State::Rejected).then(|| {
        format!("rejected by {}{}", who.display_name.as_deref().unwrap_or(&by), said(comment))
    });
    if next.state != stored.state {
        set_state(&mut tx, &stored, next.state, result.as_deref()).await?;
    }
    let kind = if approve { "action_approved" } else { "action_rejected" };
    let mut record = event(kind, next.state.as_str(), who, &stored);
    let note = format!(
        "{} of {} approvals{}",
        next.approvers.len(),
        stored.approvals_needed,
        said(comment)
    );
    record.reason = Some(if approve { &note } else { comment });
    append_in(&mut tx, &record).await?;
    let after = read(&mut tx, id, false).await?.ok_or(StepError::NotFound(id))?;
    tx.commit().await?;
    Ok(after)
}

fn said(comment: &str) -> String {
    if comment.trim().is_empty() {
        String::new()
    } else {
        format!(": “{}”", comment.trim())
    }
}

async fn expire_locked(tx: &mut sqlx::PgConnection, stored: &Stored) -> Result<(), sqlx::Error> {
    let result = "expired: not decided in time";
    set_state(tx, stored, State::Expired, Some(result)).await?;
    let who = Who { display_name: Some("Gantry".into()), ..Who::default() };
    let mut record = event("action_expired", State::Expired.as_str(), &who, stored);
    record.reason = Some(result);
    append_in(tx, &record).await?;
    Ok(())
}

/// The requester withdraws their request (pending, or approved and not yet started).
pub async fn cancel(db: &sqlx::PgPool, id: i64, who: &Who) -> Result<Stored, StepError> {
    let by = who.user_id.clone().unwrap_or_default();
    let mut tx = db.begin().await?;
    let stored = read(&mut tx, id, true).await?.ok_or(StepError::NotFound(id))?;
    let next = lifecycle::apply(&stored.rules(), &Step::Cancel { by }, now_secs())
        .map_err(StepError::Refused)?;
    let result = format!("cancelled by {}", stored.requested_by_name);
    set_state(&mut tx, &stored, next.state, Some(&result)).await?;
    append_in(&mut tx, &event("action_cancelled", next.state.as_str(), who, &stored)).await?;
    let after = read(&mut tx, id, false).await?.ok_or(StepError::NotFound(id))?;
    tx.commit().await?;
    Ok(after)
}

/// Someone other than the admin who broke the glass has seen it.
pub async fn acknowledge(db: &sqlx::PgPool, id: i64, who: &Who) -> Result<Stored, StepError> {
    let by = who.user_id.clone().unwrap_or_default();
    let mut tx = db.begin().await?;
    let stored = read(&mut tx, id, true).await?.ok_or(StepError::NotFound(id))?;
    if !stored.break_glass || stored.acknowledged_ms.is_some() {
        return Err(StepError::Refused(Refused::WrongState {
            is: stored.state,
            needs: stored.state,
        }));
    }
    if stored.requested_by == by {
        return Err(StepError::Refused(Refused::OwnRequest));
    }
    sqlx::query!(
        "update action_request set acknowledged_by = $2, acknowledged_by_name = $3,
                acknowledged_at = now()
         where request_id = $1 and acknowledged_at is null",
        id,
        by,
        who.display_name.clone().unwrap_or_default(),
    )
    .execute(&mut *tx)
    .await?;
    append_in(&mut tx, &event("action_acknowledged", "ok", who, &stored)).await?;
    let after = read(&mut tx, id, false).await?.ok_or(StepError::NotFound(id))?;
    tx.commit().await?;
    Ok(after)
}

/// What an executor needs once it has claimed a request.
pub struct Claimed {
    pub request: Stored,
    /// When execution started, RFC 3339 to the second (a restart's restartedAt).
    pub started_at: String,
}

/// Takes an approved request for execution. Exactly one caller gets `Some`, however many
/// servers try at once: the UPDATE only matches while the state is still `approved`.
pub async fn claim(db: &sqlx::PgPool, id: i64, host: &str) -> Result<Option<Claimed>, sqlx::Error> {
    let mut tx = db.begin().await?;
    let claimed = sqlx::query_scalar!(
        r#"update action_request
           set state = 'executing', executor = $2, started_at = date_trunc('second', now()),
               updated_at = now()
           where request_id = $1 and state = 'approved'
           returning (extract(epoch from started_at))::int8 as "started!""#,
        id,
        host,
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(started) = claimed else { return Ok(None) };
    let stored = read(&mut tx, id, false).await?.ok_or(sqlx::Error::RowNotFound)?;
    let who = Who::server(host);
    append_in(&mut tx, &event("action_started", "executing", &who, &stored)).await?;
    tx.commit().await?;
    let started_at = chrono::DateTime::from_timestamp(started, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    Ok(Some(Claimed { request: stored, started_at }))
}

/// Records how execution ended (only while the request is still `executing`).
pub async fn finish(
    db: &sqlx::PgPool,
    id: i64,
    host: &str,
    outcome: State,
    result: &str,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    let Some(stored) = read(&mut tx, id, true).await? else { return Ok(false) };
    if lifecycle::apply(&stored.rules(), &Step::Finish { outcome }, now_secs()).is_err() {
        return Ok(false);
    }
    set_state(&mut tx, &stored, outcome, Some(result)).await?;
    let kind = match outcome {
        State::Succeeded => "action_succeeded",
        State::Superseded => "action_superseded",
        _ => "action_failed",
    };
    let who = Who::server(host);
    let mut record = event(kind, outcome.as_str(), &who, &stored);
    record.reason = Some(result);
    append_in(&mut tx, &record).await?;
    tx.commit().await?;
    Ok(true)
}

/// Marks pending requests past their time as expired; returns their ids.
pub async fn expire_due(db: &sqlx::PgPool) -> Result<Vec<i64>, sqlx::Error> {
    let due = sqlx::query_scalar!(
        "select request_id from action_request
         where state = 'pending' and expires_at <= now() order by request_id"
    )
    .fetch_all(db)
    .await?;
    let mut expired = Vec::new();
    for id in due {
        let mut tx = db.begin().await?;
        // Re-read under the lock: it may have been decided since.
        if let Some(stored) = read(&mut tx, id, true).await? {
            if lifecycle::apply(&stored.rules(), &Step::Expire, now_secs()).is_ok() {
                expire_locked(&mut tx, &stored).await?;
                expired.push(id);
            }
        }
        tx.commit().await?;
    }
    Ok(expired)
}

mod lists;
pub use lists::{attention, recent, started_between, stuck};
