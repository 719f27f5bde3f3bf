//! Exactly once, tested where it is decided: an approved request is claimed by one
//! conditional UPDATE (`actions::store::claim`). These tests race the claimers a
//! deployment has — several servers on one database, the sweeper against the approver's
//! server, a server arriving after another crashed mid-run — and count what ran. Widen the
//! claim's condition (`state in ('approved', 'executing')`) and each of them fails.
//!
//! "Another server" is a second engine context on the same database with its own host
//! name (as a replica has), sharing this server's cluster connection: what is raced is the
//! claim in PostgreSQL, which is the same whichever process sends it.

use std::sync::Arc;
use std::time::Duration;

use gantry_app::actions::engine::{self, sweeper};
use gantry_app::context::ServerContext;
use gantry_tests::actions::{ask, audit_kinds, replicas, step};
use gantry_tests::{eventually, eventually_some, spawn_on_simulator_with, Background, TestApp};
use serde_json::json;
use sqlx::{Connection, PgConnection, PgPool};

const PROD: &str = "co2-calculator-prod";

/// The same server's engine under another host name: a replica.
fn replica(app: &TestApp, host: &str) -> ServerContext {
    let mut context = app.context.clone();
    let settings = engine::Settings { host: host.to_owned(), ..(*context.actions).clone() };
    context.actions = Arc::new(settings);
    context
}

/// An operator's request to scale prod's frontend by one, waiting for one approval.
async fn pending_scale(app: &TestApp) -> (i64, i64) {
    let operator = app.client_as("operator").await;
    let before = replicas(app, PROD, "frontend");
    let body = json!({"environment": "prod", "action": "scale", "workload": "frontend",
        "replicas": before + 1, "reason": "campaign"});
    let (status, body) = ask(app, &operator, body).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["request"]["state"], "pending", "{body}");
    (body["request"]["id"].as_i64().unwrap(), before)
}

async fn state_of(db: &PgPool, id: i64) -> String {
    sqlx::query_scalar("select state from action_request where request_id = $1")
        .bind(id)
        .fetch_one(db)
        .await
        .unwrap()
}

async fn starts(db: &PgPool, id: i64) -> usize {
    audit_kinds(db, id).await.iter().filter(|k| *k == "action_started").count()
}

/// The request, once it has left `approved` and `executing`.
async fn settled(db: &PgPool, id: i64) -> String {
    eventually_some(Duration::from_secs(20), "the request to be settled", || async {
        let state = state_of(db, id).await;
        (state != "approved" && state != "executing").then_some(state)
    })
    .await
}

/// A request's row locked outside the server's (small) pool: every claimer queues on it,
/// then they go one after another, each later claim seeing the row as the earlier one
/// left it — the race at its worst, every time.
struct RowLock {
    holder: PgConnection,
    watcher: tokio::sync::Mutex<PgConnection>,
}

impl RowLock {
    async fn take(db: &PgPool, id: i64) -> Self {
        let options = db.connect_options();
        let mut holder = PgConnection::connect_with(&options).await.unwrap();
        let watcher = PgConnection::connect_with(&options).await.unwrap();
        sqlx::query("begin").execute(&mut holder).await.unwrap();
        sqlx::query("select 1 from action_request where request_id = $1 for update")
            .bind(id)
            .execute(&mut holder)
            .await
            .unwrap();
        RowLock { holder, watcher: tokio::sync::Mutex::new(watcher) }
    }

    /// Lets go once `claimers` sessions wait for the row.
    async fn release_when_waiting(mut self, claimers: i64) {
        let waiting = || async {
            let waiting: i64 = sqlx::query_scalar(
                "select count(*) from pg_stat_activity
                 where wait_event_type = 'Lock' and datname = current_database()",
            )
            .fetch_one(&mut *self.watcher.lock().await)
            .await
            .unwrap();
            waiting >= claimers
        };
        eventually(Duration::from_secs(20), "claims waiting on the request's row", waiting).await;
        sqlx::query("rollback").execute(&mut self.holder).await.unwrap();
    }
}

async fn approve_in_the_database(db: &PgPool, id: i64) {
    sqlx::query("update action_request set state = 'approved' where request_id = $1")
        .bind(id)
        .execute(db)
        .await
        .unwrap();
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn servers_racing_for_one_approved_request_run_it_once(db: PgPool) {
    let app = spawn_on_simulator_with(db.clone(), &[], Background::OnDemand).await;
    let (id, before) = pending_scale(&app).await;
    // Approved, and its approver's server gone before claiming it: free for anyone.
    approve_in_the_database(&db, id).await;
    let servers =
        [replica(&app, "replica-a"), replica(&app, "replica-b"), replica(&app, "replica-c")];
    let held = RowLock::take(&db, id).await;
    let mut runs = tokio::task::JoinSet::new();
    for _ in 0..4 {
        for server in &servers {
            runs.spawn(engine::run(server.clone(), id));
        }
    }
    // As many as the pool lets through at once wait on the row; the rest on the pool.
    held.release_when_waiting(i64::from(db.options().get_max_connections())).await;
    let mut ran = Vec::new();
    while let Some(result) = runs.join_next().await {
        if let Some(stored) = result.unwrap() {
            ran.push(stored.executor.unwrap_or_default());
        }
    }
    assert_eq!(ran.len(), 1, "12 claimers on three servers: executed by {ran:?}");
    assert_eq!(starts(&db, id).await, 1, "{:?}", audit_kinds(&db, id).await);
    assert_eq!(state_of(&db, id).await, "succeeded");
    assert_eq!(replicas(&app, PROD, "frontend"), before + 1, "scaled once, by one");
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn the_sweeper_and_the_approvers_server_run_it_once(db: PgPool) {
    let app = spawn_on_simulator_with(db.clone(), &[], Background::OnDemand).await;
    let patience = sweeper::Patience { unclaimed_seconds: 0, ..sweeper::Patience::SERVER };
    // At the claim: the approver's server runs the request it just approved while another
    // replica's sweeper, which takes approved requests at once, finds it too.
    let (id, before) = pending_scale(&app).await;
    approve_in_the_database(&db, id).await;
    let held = RowLock::take(&db, id).await;
    let approvers = tokio::spawn(engine::run(replica(&app, "replica-a"), id));
    let other = replica(&app, "replica-b");
    let sweeping = tokio::spawn(async move { sweeper::sweep_once(&other, patience).await });
    held.release_when_waiting(2).await;
    let ran = approvers.await.unwrap();
    sweeping.await.unwrap();
    assert_eq!(starts(&db, id).await, 1, "{:?}", audit_kinds(&db, id).await);
    assert_eq!(state_of(&db, id).await, "succeeded", "{ran:?}");
    assert_eq!(replicas(&app, PROD, "frontend"), before + 1, "scaled once, by one");

    // End to end: an approval through the API while the other replica keeps sweeping.
    let (id, before) = pending_scale(&app).await;
    let approver = app.client_as("approver").await;
    let other = replica(&app, "replica-b");
    let sweeping = tokio::spawn(async move {
        for _ in 0..50 {
            sweeper::sweep_once(&other, patience).await;
        }
    });
    let (status, body) = step(&app, &approver, id, "approve").await;
    assert_eq!(status, 200, "{body}");
    sweeping.await.unwrap();
    assert_eq!(settled(&db, id).await, "succeeded");
    assert_eq!(starts(&db, id).await, 1, "{:?}", audit_kinds(&db, id).await);
    assert_eq!(replicas(&app, PROD, "frontend"), before + 1, "scaled once, by one");
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn a_request_a_crashed_server_was_running_is_never_claimed_again(db: PgPool) {
    let app = spawn_on_simulator_with(db.clone(), &[], Background::OnDemand).await;
    let (id, before) = pending_scale(&app).await;
    // Claimed by a server that died before making the change.
    sqlx::query(
        "update action_request set state = 'executing', executor = 'crashed-host',
            started_at = now() where request_id = $1",
    )
    .bind(id)
    .execute(&db)
    .await
    .unwrap();
    // Every other server, by every path that claims: nothing runs.
    for host in ["replica-a", "replica-b"] {
        assert!(engine::run(replica(&app, host), id).await.is_none(), "{host} claimed it");
    }
    app.sweep().await;
    assert_eq!(state_of(&db, id).await, "executing", "not abandoned yet (5 minutes)");
    // Once abandoned, it is settled by what the cluster shows — not run.
    sweeper::sweep_once(&app.context, sweeper::Patience::NONE).await;
    assert_eq!(state_of(&db, id).await, "failed");
    assert_eq!(starts(&db, id).await, 0, "{:?}", audit_kinds(&db, id).await);
    assert_eq!(replicas(&app, PROD, "frontend"), before, "the change was never made");
    app.stop().await;
}
