//! Sessions and callers without one: signing in again ends the earlier session id, and a
//! flood of anonymous calls is throttled without filling the audit log or starving
//! sign-ins.

use gantry_tests::{anonymous_client, audit_events, eventually, session_cookie, spawn_app};
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

/// A session past either limit — idle for longer than `session_idle_minutes`, or signed in
/// longer ago than `session_max_hours` — ends at the next request, though the store still
/// holds it and this replica has it in memory. The stored sign-in is made older than the
/// limit (as time would), its record left valid for the store.
#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn a_session_past_its_idle_or_absolute_limit_ends(db: PgPool) {
    use gantry::auth::identity::SIGNED_IN;
    use tower_sessions::{session::Id, SessionStore};
    let app = spawn_app(db.clone()).await;
    let store = gantry::auth::session_store(db.clone()).unwrap();
    let now = chrono::Utc::now().timestamp();
    for (field, age) in [("last_seen", 2 * 3600), ("signed_in_at", 13 * 3600)] {
        let response = anonymous_client()
            .post(app.url("/auth/demo"))
            .form(&[("person", "stakeholder"), ("next", "/")])
            .send()
            .await
            .unwrap();
        let cookie = session_cookie(&response).expect("a session cookie");
        let me = || {
            let url = app.url("/api/me");
            let cookie = cookie.clone();
            async move {
                let client = anonymous_client();
                let request = client.get(url).header("cookie", format!("gantry_session={cookie}"));
                request.send().await.unwrap().status()
            }
        };
        assert_eq!(me().await, 200, "signed in");
        let id: Id = cookie.parse().unwrap();
        let mut record = store.load(&id).await.unwrap().expect("the session is stored");
        let signed_in = record.data.get_mut(SIGNED_IN).expect("the sign-in is in the session");
        signed_in[field] = serde_json::json!(now - age);
        if field == "signed_in_at" {
            signed_in["last_seen"] = serde_json::json!(now);
        }
        store.save(&record).await.unwrap();
        // This replica re-reads the store once its memory of the session is 5 s old.
        let what = format!("a session with {field} {age} s ago to end");
        eventually(std::time::Duration::from_secs(20), &what, || async { me().await == 401 }).await;
    }
    app.stop().await;
}
