//! Every route with a hostile value in each path segment and each query parameter (and
//! each form field of the server functions): no `<` of it may reach an HTML response
//! unescaped — not in `<title>`, not in a meta tag, not in an attribute, not in the
//! serialized hydration data — nor the HTML that a server function hands the browser to
//! place. A link in a chat must not be able to run script in a signed-in approver's
//! browser.

use gantry_sim::resources::ids::DEPLOYMENT;
use gantry_tests::{anonymous_client, spawn_on_simulator, TestApp};
use sqlx::PgPool;

/// Closes whatever element or attribute it lands in, then opens one of its own. Any
/// unescaped `<` of it shows as `<x-probe`.
const HOSTILE: &str = "\"'></title></script></textarea><x-probe>";
const MARK: &str = "<x-probe";

fn encoded() -> String {
    url::form_urlencoded::byte_serialize(HOSTILE.as_bytes()).collect()
}

/// GET addresses: `{}` is replaced by the hostile value, percent-encoded, one place at a
/// time (each parameter on its own, so an early refusal of one does not hide another).
fn addresses() -> Vec<String> {
    let mut templates: Vec<&str> = vec![
        "/environments/{}",
        "/environments/{}/workloads/backend",
        "/environments/prod/workloads/{}",
        "/environments/{}/actions/scale?workload=backend",
        "/environments/prod/actions/{}?workload=backend",
        "/environments/prod/actions/scale?workload={}",
        "/environments/prod/actions/scale?workload=backend&replicas={}",
        "/environments/prod/actions/rollback?workload=backend&revision={}",
        "/environments/prod/actions/sync?reason={}",
        "/environments/dev/actions/silence?alertname={}",
        "/environments/dev/actions/silence?alertname={}&duration=2h",
        "/environments/dev/actions/silence?alertname=x&duration={}",
        "/environments/dev/actions/expire_silence?silence={}",
        "/requests/{}",
        "/api/requests/{}",
        "/{}",
        "/no/such/{}",
        "/history/{}",
        "/me?x={}",
        "/approvals?x={}",
        "/?x={}",
        "/api/live?env={}",
        "/api/live?view={}",
        "/auth/login?next={}",
        "/auth/login?next=/environments/{}",
        "/auth/callback?error={}&error_description={}",
        "/auth/callback?state={}&code={}",
        "/auth/signed-out?x={}",
        "/health?x={}",
        "/ready?x={}",
        "/started?x={}",
    ];
    for key in ["env", "user", "action", "outcome", "from", "to", "before"] {
        for base in ["/audit", "/api/audit.csv", "/api/audit.json"] {
            templates.push(leak(format!("{base}?{key}={{}}")));
        }
    }
    for key in ["env", "workload", "person", "from", "to", "before"] {
        for base in ["/history", "/api/history.json", "/api/history.csv"] {
            templates.push(leak(format!("{base}?{key}={{}}")));
        }
    }
    for query in [
        "env={}&workload=backend&from=1&to=2",
        "env=prod&workload={}&from=1&to=2",
        "env=prod&workload=backend&from={}&to=2",
        "env=prod&workload=backend&from=1&to={}",
    ] {
        templates.push(leak(format!("/history/diff?{query}")));
    }
    for key in ["env", "workload", "range", "from", "to"] {
        templates.push(leak(format!("/monitoring?env=prod&{key}={{}}")));
    }
    templates.push("/monitoring?env=prod&from=2026-12-01T10:00&to={}");
    templates.push("/backups?env={}");
    templates.push("/environments/prod/actions/restore?file={}&copy=prod_copy");
    templates.push("/environments/prod/actions/restore?file=x.dump&copy={}");
    templates.push("/backups?env=prod&x={}");
    templates.push("/history/compare?from={}&to=prod");
    templates.push("/history/compare?from=staging&to={}");
    let value = encoded();
    templates.into_iter().map(|t| t.replace("{}", &value)).collect()
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// The addresses the page server function is asked for: the same pages, through
/// `POST /api/page`, whose answer's `html` the browser places as it is.
fn page_paths() -> Vec<String> {
    addresses()
        .into_iter()
        .filter(|a| !a.starts_with("/api/") && !a.starts_with("/auth/"))
        .collect()
}

async fn check(app: &TestApp, what: &str, response: reqwest::Response) {
    let status = response.status();
    let kind = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let location =
        response.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    assert!(!location.contains('<'), "{what}: Location {location}");
    let body = response.text().await.expect("a body");
    assert!(status.as_u16() < 500, "{what}: {status} {body} ({})", app.pool_state());
    if kind.starts_with("text/html") || kind.is_empty() {
        assert!(!body.contains(MARK), "{what}: {status} carries the value unescaped:\n{body}");
    } else if kind.starts_with("application/json") && what.contains("/api/page") {
        let json: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        let html = json["html"].as_str().unwrap_or("");
        assert!(!html.contains(MARK), "{what}: the page's HTML carries the value:\n{html}");
    } else {
        // Not HTML (JSON, CSV, events): a browser never renders it as a page, because
        // every response says nosniff.
        assert!(
            kind.starts_with("application/json")
                || kind.starts_with("text/csv")
                || kind.starts_with("text/event-stream")
                || kind.starts_with("text/plain"),
            "{what}: unexpected content type {kind}"
        );
    }
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn no_route_reflects_a_hostile_value_unescaped(db: PgPool) {
    // A Prometheus that refuses connections: the Metrics pages render their failures.
    let app = spawn_on_simulator(db, &[("GANTRY_PROMETHEUS_URL", "http://127.0.0.1:9")]).await;
    let admin = app.client_as("admin").await;
    let stakeholder = app.client_as("stakeholder").await;
    let anonymous = anonymous_client();
    let mut checked = 0;
    for client in [&admin, &stakeholder, &anonymous] {
        for address in addresses() {
            let response = client.get(app.url(&address)).send().await.expect("sent");
            check(&app, &format!("GET {address}"), response).await;
            checked += 1;
        }
        for path in page_paths() {
            let response = client
                .post(app.url("/api/page"))
                .form(&[("path", &path)])
                .send()
                .await
                .expect("sent");
            check(&app, &format!("POST /api/page {path}"), response).await;
            checked += 1;
        }
        let forms: Vec<(&str, Vec<(&str, &str)>)> = vec![
            ("/api/environment", vec![("name", HOSTILE)]),
            ("/api/overview", vec![("x", HOSTILE)]),
            ("/auth/demo", vec![("person", HOSTILE), ("next", "/")]),
            ("/auth/demo", vec![("person", "stakeholder"), ("next", HOSTILE)]),
            ("/api/requests/1/approve", vec![("comment", HOSTILE)]),
            (leak(format!("/api/requests/{}/approve", encoded())), vec![("comment", "x")]),
            (leak(format!("/api/requests/1/{}", encoded())), vec![("comment", "x")]),
        ];
        for (path, form) in forms {
            // A fresh client for the demo sign-in, so the walk's own clients stay who they are.
            let sender = if path == "/auth/demo" { anonymous_client() } else { client.clone() };
            let response = sender.post(app.url(path)).form(&form).send().await.expect("sent");
            check(&app, &format!("POST {path} {form:?}"), response).await;
            checked += 1;
        }
        for field in ["environment", "action", "workload", "reason", "revision"] {
            let mut body = serde_json::json!({
                "environment": "dev", "action": "restart", "workload": "redis", "reason": "walk"
            });
            body[field] = serde_json::json!(HOSTILE);
            let response =
                client.post(app.url("/api/actions")).json(&body).send().await.expect("sent");
            check(&app, &format!("POST /api/actions {field}"), response).await;
            checked += 1;
        }
        for field in ["alertname", "duration", "silence", "reason"] {
            let mut body = serde_json::json!({
                "environment": "dev", "action": "silence", "alertname": "x",
                "duration": "2h", "silence": "0f", "reason": "walk"
            });
            body[field] = serde_json::json!(HOSTILE);
            let response =
                client.post(app.url("/api/actions")).json(&body).send().await.expect("sent");
            check(&app, &format!("POST /api/actions silence {field}"), response).await;
            checked += 1;
        }
    }
    // What was stored from hostile input (reasons, comments) shows on the lists too.
    for path in ["/approvals", "/audit", "/history", "/api/page"] {
        let response = if path == "/api/page" {
            admin.post(app.url(path)).form(&[("path", "/approvals")]).send().await
        } else {
            admin.get(app.url(path)).send().await
        };
        check(&app, &format!("stored values on {path}"), response.expect("sent")).await;
    }
    // The metrics listener's two routes take no input; a hostile query is ignored.
    let metrics = app.metrics.expect("a metrics listener");
    for path in ["/metrics", "/health"] {
        let address = format!("http://{metrics}{path}?x={}", encoded());
        let response = anonymous.get(&address).send().await.expect("sent");
        assert_eq!(response.status(), 200, "{address}");
        check(&app, &format!("GET (metrics listener) {path}"), response).await;
    }
    assert!(checked > 300, "walked {checked} requests");
    app.stop().await;
}

/// The pod page and the logs, with hostile values in the address and in the log lines
/// themselves: the rows the stream hands the browser (placed as HTML) included.
#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn pods_and_logs_reflect_no_hostile_value(db: PgPool) {
    let app = spawn_on_simulator(db, &[]).await;
    let cluster = &app.simulator.as_ref().expect("a simulated cluster").0;
    let namespace = "co2-calculator-prod";
    let pod = gantry_tests::eventually_some(std::time::Duration::from_secs(30), "a backend", || async {
        let name = gantry_tests::logs::running_pod(cluster, namespace, "backend")?;
        // A structured line whose every field is the value, and a plain one.
        let line = serde_json::json!({"level": HOSTILE, "logger": HOSTILE, "message": HOSTILE, "trace_id": HOSTILE, HOSTILE: HOSTILE});
        let text = format!("{line}\n{HOSTILE}");
        let written = cluster.logs.write_now(namespace, &name, "backend", cluster.clock().now(), &text);
        (written && app.context.live.watches()[2].pod(&name).is_some()).then_some(name)
    })
    .await;
    let value = encoded();
    let mut addresses = vec![
        "/environments/prod/pods/{}".to_owned(),
        "/environments/{}/pods/x".to_owned(),
        "/environments/prod/workloads/{}/logs".to_owned(),
        "/environments/prod/workloads/backend/logs?q={}".to_owned(),
        "/api/logs?env={}&pod=x".to_owned(),
        "/api/logs?env=prod&pod={}".to_owned(),
        "/api/logs?env=prod&workload={}".to_owned(),
        // The hostile lines themselves, unfiltered.
        format!("/api/logs?env=prod&pod={pod}&follow=off"),
        format!("/api/logs?env=prod&workload=backend&follow=off"),
        format!("/api/logs?env=prod&pod={pod}&follow=off&q={{}}"),
        format!("/api/logs.txt?env=prod&pod={pod}&q={{}}"),
    ];
    for key in ["x", "q", "trace", "since", "container", "tail", "level", "previous", "follow"] {
        addresses.push(format!("/environments/prod/pods/{pod}?follow=off&{key}={{}}"));
        addresses.push(format!("/api/logs?env=prod&pod={pod}&follow=off&{key}={{}}"));
    }
    let addresses: Vec<String> = addresses.into_iter().map(|a| a.replace("{}", &value)).collect();
    let admin = app.client_as("admin").await;
    let stakeholder = app.client_as("stakeholder").await;
    for client in [&admin, &stakeholder] {
        for address in &addresses {
            let response = client.get(app.url(address)).send().await.expect("sent");
            let events = response
                .headers()
                .get("content-type")
                .is_some_and(|t| t.to_str().unwrap_or("").starts_with("text/event-stream"));
            if events {
                // The stream's rows are HTML the page places: nothing of the value raw.
                let body = response.text().await.expect("a finite stream");
                assert!(!body.contains(MARK), "GET {address}: a row carries the value:\n{body}");
                assert!(body.contains("event: end"), "GET {address}: {body}");
                continue;
            }
            check(&app, &format!("GET {address}"), response).await;
            if !address.starts_with("/api/") {
                let response = client
                    .post(app.url("/api/page"))
                    .form(&[("path", address.as_str())])
                    .send()
                    .await
                    .expect("sent");
                check(&app, &format!("POST /api/page {address}"), response).await;
                let path =
                    address.replacen(&format!("/pods/{pod}?"), &format!("/pods/{pod}/logs?"), 1);
                let response = client
                    .post(app.url("/api/page"))
                    .form(&[("path", path.as_str())])
                    .send()
                    .await
                    .expect("sent");
                check(&app, &format!("POST /api/page {path}"), response).await;
            }
        }
    }
    app.stop().await;
}

/// Values from the cluster reach the overview's cards, which the page places as HTML
/// (each card rendered once per change and sent whole by the live stream): a hostile image
/// tag shows escaped in the card the stream carries and in the page.
#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn the_overview_cards_carry_no_hostile_value_from_the_cluster(db: PgPool) {
    let app = spawn_on_simulator(db, &[]).await;
    let tag = "1.0\"'><x-probe>";
    // Three of prod's five workloads: the card's version is the tag most of them run.
    for workload in ["frontend", "backend", "celery-worker"] {
        gantry_tests::history::edit(&app, DEPLOYMENT, "co2-calculator-prod", workload, |d| {
            d["spec"]["template"]["spec"]["containers"][0]["image"] =
                serde_json::json!(format!("reg/{workload}:{tag}"));
        });
    }
    let prod = app.context.environments.iter().position(|e| e.name == "prod").expect("prod");
    let card = gantry_tests::eventually_some(
        std::time::Duration::from_secs(30),
        "the hostile tag on prod's card",
        || async {
            let snapshot = app.context.live.snapshot(prod)?;
            (snapshot.card.version.as_deref() == Some(tag)).then(|| snapshot.card.html.clone())
        },
    )
    .await;
    assert!(!card.contains(MARK) && card.contains("&lt;x-probe"), "{card}");
    let stakeholder = app.client_as("stakeholder").await;
    let page = stakeholder.get(app.url("/")).send().await.expect("sent");
    check(&app, "GET / with a hostile image tag", page).await;
    let page = stakeholder.get(app.url("/?n=1")).send().await.expect("sent");
    let html = page.text().await.expect("a body");
    assert!(html.contains("&lt;x-probe"), "the tag is not on the page: {html}");
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn a_value_imitating_the_pages_marker_is_shown_as_text(db: PgPool) {
    // A server-rendered page's HTML is put in place of a marker after rendering; the
    // marker names a token made for each request, and a value that looks like one is
    // escaped like any other, so the page is placed once, where it belongs.
    let app = spawn_on_simulator(db, &[]).await;
    let imitation = "<!--gantry-page 00000000000000000000000000000000-->";
    let encoded: String = url::form_urlencoded::byte_serialize(imitation.as_bytes()).collect();
    let stakeholder = app.client_as("stakeholder").await;
    let page = stakeholder.get(app.url(&format!("/history?workload={encoded}"))).send().await;
    let html = page.expect("sent").text().await.expect("a body");
    assert!(!html.contains("<!--gantry-page"), "{html}");
    assert!(html.contains("&lt;!--gantry-page"), "the value is shown, escaped: {html}");
    assert_eq!(html.matches("id=\"timeline\"").count(), 1, "placed once: {html}");
    app.stop().await;
}
