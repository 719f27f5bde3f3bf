//! The server over a real socket: pages, server functions, operational endpoints.

use std::time::Duration;

use gantry_tests::{eventually, eventually_some, spawn_app, spawn_app_with, test_settings};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn the_overview_is_server_rendered_with_the_navigation_and_environments(db: PgPool) {
    let app = spawn_app(db).await;
    let response = app.get("/").await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = response.text().await.unwrap();
    for section in ["Environments", "History", "Metrics", "Backups", "Approvals", "Audit"] {
        assert!(html.contains(&format!(">{section}</a>")), "navigation lacks {section}");
    }
    // Each card is written once: not again in the hydration data (hydration keeps what the
    // server wrote; the live stream brings each next card whole).
    for namespace in ["co2-calculator-dev", "co2-calculator-staging", "co2-calculator-prod"] {
        assert_eq!(html.matches(namespace).count(), 1, "overview: {namespace}");
    }
    assert_eq!(html.matches("<div class=\"env-slot\"><article data-env=").count(), 3, "{html}");
    assert_eq!(html.matches("No cluster is configured").count(), 3, "{html}");
    assert!(html.contains("/pkg/gantry.js"), "hydration script missing");
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn every_section_of_the_navigation_answers(db: PgPool) {
    let app = spawn_app(db).await;
    for path in ["/history", "/monitoring", "/backups", "/approvals", "/audit"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        let length: usize = response.headers()["content-length"].to_str().unwrap().parse().unwrap();
        let html = response.text().await.unwrap();
        assert!(html.contains("aria-current=\"page\""), "{path} does not mark its section");
        // The page's own HTML is placed into the response beside Leptos' output: inside
        // its frame, whole, the marker that stood for it gone, the length counted right.
        let placed = html.split("<div class=\"detail\">").nth(1).unwrap_or_default();
        assert!(placed.starts_with('<') && !placed.starts_with("</div>"), "{path}: {html}");
        assert!(!html.contains("<!--gantry-page"), "{path}");
        assert_eq!(html.matches("</html>").count(), 1, "{path}");
        assert_eq!(length, html.len(), "{path}");
    }
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn an_unknown_address_gets_a_404_page_inside_the_frame(db: PgPool) {
    let app = spawn_app(db).await;
    for path in ["/no/such/page", "/nonexistent", "/history/extra"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 404, "{path}");
        let html = response.text().await.unwrap();
        assert!(html.contains("Page not found"), "{path}");
        assert!(html.contains(">Environments</a>"), "404 page lacks the navigation at {path}");
    }
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn the_overview_server_function_answers_with_the_configured_environments(db: PgPool) {
    let app = spawn_app(db).await;
    let call = || async {
        let response = app.client.post(app.url("/api/overview")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.json::<serde_json::Value>().await.unwrap()
    };
    let first = call().await;
    let names: Vec<_> = first["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["dev", "staging", "prod"]);
    assert_eq!(first["environments"][0]["health"], "Unknown");
    let second = call().await;
    assert!(second["refresh_count"].as_u64() > first["refresh_count"].as_u64());
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn health_is_ok_and_ready_checks_the_database(db: PgPool) {
    let app = spawn_app(db.clone()).await;
    let health = app.get("/health").await;
    assert_eq!(health.status(), 200);
    assert_eq!(health.json::<serde_json::Value>().await.unwrap()["status"], "ok");
    let ready = app.get("/ready").await;
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.json::<serde_json::Value>().await.unwrap()["checks"]["database"], "ok");
    assert_eq!(app.get("/started").await.status(), 200);

    // With the database gone, the replica is alive but not ready.
    db.close().await;
    let ready = app.get("/ready").await;
    assert_eq!(ready.status(), 503);
    let body = ready.json::<serde_json::Value>().await.unwrap();
    assert!(body["checks"]["database"].as_str().unwrap().starts_with("unreachable"));
    assert_eq!(app.get("/health").await.status(), 200);
    // Starting up does not depend on the database.
    assert_eq!(app.get("/started").await.status(), 200);
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn metrics_count_requests_by_route_and_report_pool_and_process(db: PgPool) {
    let app = spawn_app(db).await;
    for _ in 0..3 {
        assert_eq!(app.get("/health").await.status(), 200);
    }
    assert_eq!(app.get("/missing/page").await.status(), 404);
    // Not on the pages' listener, which an Ingress publishes.
    assert_eq!(app.get("/metrics").await.status(), 404);
    let metrics = app.metrics.expect("a metrics listener");
    let response = app.client.get(format!("http://{metrics}/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = response.text().await.unwrap();
    assert!(
        text.contains(r#"http_requests_total{method="GET",route="/health",status="200"} 3"#),
        "{text}"
    );
    assert!(
        // /missing/page and /metrics on the pages' listener.
        text.contains(r#"http_requests_total{method="GET",route="unmatched",status="404"} 2"#),
        "{text}"
    );
    assert!(text.contains(
        r#"http_request_duration_seconds_bucket{method="GET",route="/health",le="0.005"}"#
    ));
    assert!(text.contains(r#"gantry_db_pool_connections{state="idle"}"#));
    assert!(text.contains("gantry_db_pool_max_connections 10"));
    assert!(text.contains("process_resident_memory_bytes"));
    assert!(text.contains("gantry_build_info{version="));
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn every_response_carries_a_trace_id_and_keeps_the_callers(db: PgPool) {
    let app = spawn_app(db).await;
    let own = app.get("/health").await;
    let id = own.headers()["x-trace-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 32);
    let traced = app
        .client
        .get(app.url("/health"))
        .header("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        .send()
        .await
        .unwrap();
    assert_eq!(traced.headers()["x-trace-id"], "4bf92f3577b34da6a3ce929d0e0e4736");
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn each_start_is_recorded_in_the_database(db: PgPool) {
    let app = spawn_app(db.clone()).await;
    let starts: i64 =
        sqlx::query_scalar("select count(*) from server_start").fetch_one(&db).await.unwrap();
    assert_eq!(starts, 1);
    app.stop().await;
}

/// Rolling Gantry back (`helm rollback`) starts an older version on a schema a newer one
/// migrated: the migration it does not know is left alone, and the panel serves.
#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn an_older_version_starts_on_a_schema_a_newer_one_migrated(db: PgPool) {
    sqlx::query(
        "insert into _sqlx_migrations (version, description, success, checksum, execution_time)
         values (29991231000000, 'from a newer version', true, '\\x00', 1)",
    )
    .execute(&db)
    .await
    .unwrap();
    let app = spawn_app(db.clone()).await;
    assert_eq!(app.get("/ready").await.status(), 200);
    let kept: i64 =
        sqlx::query_scalar("select count(*) from _sqlx_migrations where version = 29991231000000")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(kept, 1);
    app.stop().await;
}

/// A stop request must not cut off a request already being answered: here a readiness
/// check waits for the only database connection while the stop arrives.
#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn a_stop_lets_the_request_in_flight_finish(_: PgPoolOptions, options: PgConnectOptions) {
    let db = PgPoolOptions::new().max_connections(1).connect_with(options).await.unwrap();
    let mut app = spawn_app_with(db.clone(), test_settings(&[])).await;
    let held = db.acquire().await.unwrap();
    let in_flight = tokio::spawn({
        let request = app.client.get(app.url("/ready"));
        async move { request.send().await }
    });
    let metrics = format!("http://{}/metrics", app.metrics.unwrap());
    let answering = || async {
        let text = reqwest::get(&metrics).await.unwrap().text().await.unwrap();
        text.lines().any(|l| l == "http_requests_in_flight 1")
    };
    eventually(Duration::from_secs(20), "the request to be in flight", answering).await;
    app.request_stop();
    // Proving that something does not happen takes time: the stop has 200 ms to go wrong.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!app.server_finished(), "the server stopped with a request in flight");
    drop(held);
    let response = in_flight.await.unwrap().expect("the in-flight request was answered");
    // It finished its work (the database answered it); the replica, stopping by then,
    // says so rather than "ready".
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        (body["status"].as_str(), body["checks"]["database"].as_str()),
        (Some("stopping"), Some("ok"))
    );
    tokio::time::timeout(Duration::from_secs(5), app.stop()).await.expect("server stops once idle");
}

/// A rolling update drops no request: after the stop signal the replica says it is not
/// ready (the load balancer takes it out) while it still serves every request, for
/// `server.shutdown_delay_seconds`; only then does it stop.
#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn a_stop_first_turns_unready_and_serves_on_for_the_delay(db: PgPool) {
    let settings = test_settings(&[("GANTRY_SHUTDOWN_DELAY_SECONDS", "60")]);
    let mut app = spawn_app_with(db, settings).await;
    assert_eq!(app.get("/ready").await.status(), 200);
    app.request_stop();
    let unready = || async {
        let response = app.get("/ready").await;
        (response.status() == 503).then_some(response)
    };
    let response = eventually_some(Duration::from_secs(20), "/ready to fail", unready).await;
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "stopping");
    // Still serving: pages, and the liveness probe (the pod must not be killed early).
    assert_eq!(app.get("/").await.status(), 200);
    assert_eq!(app.get("/health").await.status(), 200);
    assert!(!app.server_finished(), "the server stopped before its delay was over");
}

/// Working out the page routes switches leptos' resource loading off for the whole
/// process while it runs, and a page whose data started loading then waited forever (a
/// 503 after a minute, now and then, in a suite that builds many servers in one process).
/// Routes are worked out once per process, so building routers beside a server that is
/// rendering pages leaves the pages alone.
#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn pages_render_while_other_routers_are_being_built(db: PgPool) {
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
    use std::sync::Arc;

    let app = spawn_app(db).await;
    let client = app.client_as("admin").await;
    let building = Arc::new(AtomicBool::new(true));
    let built = Arc::new(AtomicU32::new(0));
    let builder = std::thread::spawn({
        let (building, built) = (Arc::clone(&building), Arc::clone(&built));
        move || {
            while building.load(Ordering::Relaxed) {
                assert!(!gantry::http::routes().is_empty(), "the panel has page routes");
                built.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    let building_started = || async { built.load(Ordering::Relaxed) > 0 };
    eventually(Duration::from_secs(30), "routes worked out beside the server", building_started)
        .await;
    let mut pages = tokio::task::JoinSet::new();
    for round in 0..8 {
        for path in ["/me", "/approvals", "/audit", "/history"] {
            let request = client.get(app.url(path)).timeout(Duration::from_secs(30));
            pages.spawn(async move { (round, path, request.send().await.map(|r| r.status())) });
        }
    }
    let mut answers = Vec::new();
    while let Some(answer) = pages.join_next().await {
        answers.push(answer.expect("request task ends"));
    }
    building.store(false, Ordering::Relaxed);
    builder.join().expect("the route builder ends");
    let failed: Vec<_> = answers
        .iter()
        .filter(|(_, _, status)| !matches!(status, Ok(s) if s.as_u16() == 200))
        .collect();
    assert!(failed.is_empty(), "{} of {} pages failed: {failed:?}", failed.len(), answers.len());
    app.stop().await;
}
