//! Sessions and callers without one: signing in again ends the earlier session id, and a
//! flood of anonymous calls is throttled without filling the audit log or starving
//! sign-ins.

use gantry_tests::{anonymous_client, audit_events, session_cookie, spawn_app};
use sqlx::PgPool;

/// Signing in again in one browser (another person, or the same one) leaves the earlier
/// session id worthless at once, although this replica had just read it.
#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn signing_in_again_ends_the_earlier_session_id_at_once(db: PgPool) {
    let app = spawn_app(db).await;
    let browser = anonymous_client();
    let sign_in = |person: &'static str| {
        let browser = browser.clone();
        let url = app.url("/auth/demo");
        async move {
            let response =
                browser.post(url).form(&[("person", person), ("next", "/")]).send().await.unwrap();
            assert_eq!(response.status(), 303);
            session_cookie(&response).expect("a session cookie")
        }
    };
    let first = sign_in("stakeholder").await;
    let with = |cookie: String| {
        let url = app.url("/api/me");
        async move {
            anonymous_client()
                .get(url)
                .header("cookie", format!("gantry_session={cookie}"))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    // Read now, so this replica holds it in memory.
    assert_eq!(with(first.clone()).await, 200);
    let second = sign_in("admin").await;
    assert_ne!(first, second);
    assert_eq!(with(first).await, 401, "the earlier id still works");
    assert_eq!(with(second).await, 200);
    app.stop().await;
}

/// A flood of anonymous API calls from one address: past its budget it gets 429 with
/// Retry-After and costs nothing more; it leaves one audit event, not one per call; and
/// signing in from the same address still works meanwhile.
#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn an_anonymous_flood_is_throttled_and_cannot_fill_the_log_or_starve_sign_ins(db: PgPool) {
    let app = spawn_app(db.clone()).await;
    let before = audit_events(&db, "denied").await.len();
    let flood = anonymous_client();
    let mut statuses = Vec::new();
    let started = std::time::Instant::now();
    for _ in 0..60 {
        let response = flood.post(app.url("/api/overview")).send().await.unwrap();
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            let wait: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
            assert!((1..=2).contains(&wait), "{wait}");
            let body: serde_json::Value = response.json().await.unwrap();
            assert!(body["error"].as_str().unwrap().contains("try again in"), "{body}");
        }
    }
    // The budget: 30 at once, then one every 2 s (a slow machine earns a few more).
    let earned = usize::try_from(started.elapsed().as_secs() / 2).unwrap() + 1;
    assert!(statuses[..30].iter().all(|s| *s == 401), "{statuses:?}");
    let answered = statuses.iter().filter(|s| **s == 401).count();
    assert!(answered <= 30 + earned, "{answered} answered: {statuses:?}");
    assert_eq!(answered + statuses.iter().filter(|s| **s == 429).count(), 60, "{statuses:?}");
    assert_eq!(audit_events(&db, "denied").await.len() - before, 1, "one event for the flood");
    let person = app.client_as("stakeholder").await;
    assert_eq!(person.post(app.url("/api/overview")).send().await.unwrap().status(), 200);
    app.stop().await;
}
