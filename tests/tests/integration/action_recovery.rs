//! Action requests after the fact: requests a stopped server left executing are settled
//! by what the cluster shows at the next start, and the webhook hears of each step.

use std::time::Duration;

use gantry_tests::actions::{ask, audit_kinds, replicas, step};
use gantry_tests::{eventually_some, spawn_on_simulator};
use serde_json::{json, Value};
use sqlx::PgPool;

const PROD: &str = "co2-calculator-prod";
const DEV: &str = "co2-calculator-dev";

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn requests_left_executing_are_settled_by_the_cluster_at_start(db: PgPool) {
    // Two requests this machine's previous run was executing when it stopped: one whose
    // change is in the cluster (the seed runs 2 frontend replicas), one whose is not.
    let insert = |to: i64| {
        let db = db.clone();
        async move {
            let plan = json!({"change": "scale", "kind": "Deployment", "workload": "frontend", "from": 1, "to": to});
            sqlx::query_scalar::<_, i64>(
                "insert into action_request (environment, action, object, requested_by,
                    requested_by_name, reason, plan, preview, approvals_needed, state, executor,
                    started_at)
                 values ('dev', 'scale', 'Deployment/frontend', '100', 'Dana Developer', '', $1,
                    'replicas 1 → 2', 0, 'executing', $2, now())
                 returning request_id",
            )
            .bind(plan)
            .bind(gantry::startup::hostname())
            .fetch_one(&db)
            .await
            .unwrap()
        }
    };
    let done = insert(2).await;
    let not_done = insert(3).await;
    let app = spawn_on_simulator(db.clone(), &[]).await;
    let developer = app.client_as("developer").await;
    let settled = |id: i64| {
        let (app, developer) = (&app, &developer);
        eventually_some(Duration::from_secs(20), "the request to be settled", move || async move {
            let url = app.url(&format!("/api/requests/{id}"));
            let body: Value = developer.get(url).send().await.unwrap().json().await.unwrap();
            (body["request"]["state"] != "executing").then(|| body["request"].clone())
        })
    };
    let first = settled(done).await;
    assert_eq!(first["state"], "succeeded", "{first}");
    assert!(first["result"].as_str().unwrap().contains("the change is in place"), "{first}");
    let second = settled(not_done).await;
    assert_eq!(second["state"], "failed", "{second}");
    assert!(second["result"].as_str().unwrap().contains("not run again"), "{second}");
    assert_eq!(replicas(&app, DEV, "frontend"), 2, "nothing was run again");
    assert_eq!(audit_kinds(&db, not_done).await, ["action_failed"]);
}

/// A webhook receiver: every JSON body posted to it, in order.
async fn receiver() -> (String, std::sync::Arc<std::sync::Mutex<Vec<Value>>>) {
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let store = std::sync::Arc::clone(&got);
    let router = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
            let store = std::sync::Arc::clone(&store);
            async move {
                store.lock().unwrap().push(body);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, got)
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn the_webhook_hears_of_requests_decisions_and_outcomes(db: PgPool) {
    let (url, got) = receiver().await;
    let app = spawn_on_simulator(db, &[("GANTRY_WEBHOOK_URL", &url)]).await;
    let operator = app.client_as("operator").await;
    let approver = app.client_as("approver").await;
    let before = replicas(&app, PROD, "frontend");
    let (_, body) = ask(
        &app,
        &operator,
        json!({"environment": "prod", "action": "scale", "workload": "frontend", "replicas": before + 1, "reason": "campaign"}),
    )
    .await;
    let id = body["request"]["id"].as_i64().unwrap();
    step(&app, &approver, id, "approve").await;
    // This request's news only: the audit log's anchor is announced there too, at start.
    let events_of_request = || {
        let bodies = got.lock().unwrap();
        let mine = bodies.iter().filter(|b| b["request"]["id"] == id);
        mine.map(|b| b["event"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
    };
    let mut events = eventually_some(Duration::from_secs(20), "three webhook posts", || {
        let events = events_of_request();
        async move { (events.len() >= 3).then_some(events) }
    })
    .await;
    events.sort();
    assert_eq!(events, ["approved", "needs approval", "succeeded"]);
    let bodies = got.lock().unwrap().clone();
    let first = bodies.iter().find(|b| b["event"] == "needs approval").unwrap();
    let text = first["text"].as_str().unwrap();
    assert!(text.contains("scale on prod") && text.contains("Oscar Operator"), "{text}");
    assert_eq!(first["request"]["id"], id);
}

/// A receiver answering with a redirect does not get the news sent on elsewhere, and the
/// reason delivery failed names the host, never the URL with its token.
#[tokio::test]
async fn a_webhook_that_redirects_is_not_followed_and_its_token_is_not_told() {
    let (elsewhere, got) = receiver().await;
    let redirecting = axum::Router::new().route(
        "/hooks/s3cr3t-token",
        axum::routing::post(move || {
            let to = elsewhere.clone();
            async move { axum::response::Redirect::temporary(&to) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks/s3cr3t-token", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, redirecting).await.unwrap() });
    let body = json!({"text": "Gantry: <!channel> scale on prod"});
    let problem = gantry_app::actions::engine::notify::deliver(&url, &body).await.unwrap_err();
    assert!(problem.contains("redirect") && problem.contains("127.0.0.1"), "{problem}");
    assert!(!problem.contains("s3cr3t"), "{problem}");
    // Delivery is over: had the redirect been followed, the other receiver would have it.
    assert!(got.lock().unwrap().is_empty(), "the redirect was followed");
    // A receiver that cannot be reached: the error names the host only.
    let gone = "http://127.0.0.1:1/hooks/s3cr3t-token";
    let problem = gantry_app::actions::engine::notify::deliver(gone, &body).await.unwrap_err();
    assert!(problem.contains("127.0.0.1") && !problem.contains("s3cr3t"), "{problem}");
    assert_eq!(
        gantry_app::actions::engine::notify::chat_text("<!channel> & <http://x|y>"),
        "&lt;!channel&gt; &amp; &lt;http://x|y&gt;"
    );
}
