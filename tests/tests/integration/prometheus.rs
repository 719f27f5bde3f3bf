//! The Prometheus client against the real Prometheus, over history whose answers are worked
//! out by hand (a counter with a known slope has a known rate; a histogram with known
//! buckets has a known p95), and against a stand-in that fails in each way a Prometheus
//! can: down, slow, an error page, not JSON, too busy; and the simulator's exporter as the demo
//! uses it: its recorded history backfilled into Prometheus, then scraped live.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gantry_app::monitoring::prometheus::{Credentials, Failure, Prometheus};
use gantry_app::monitoring::window::Window;
use gantry_tests::eventually_some;
use gantry_tests::prometheus::{start_scraping, start_with_history};

const SCRAPE: Duration = Duration::from_secs(30);

/// Two hours of 30 s samples ending ten minutes ago:
/// - prod's requests: +300 every 30 s, so 10 a second;
/// - prod's latency histogram: 9 of 10 requests within 1 s, all within 3 s, so the 95th
///   percentile is 1 + 2 × (9.5 − 9) / (10 − 9) = 2 s;
/// - dev's latency histogram: no traffic at all, so its percentile is no number.
fn history(end: i64) -> String {
    let mut om = String::from(
        "# TYPE http_requests counter\n# TYPE http_request_duration_highr_seconds histogram\n",
    );
    let samples = 240;
    let start = end - samples * 30;
    for i in 0..=samples {
        let t = start + i * 30;
        let n = i * 300;
        om.push_str(&format!(
            "http_requests_total{{namespace=\"co2-calculator-prod\",status=\"2xx\"}} {n} {t}\n"
        ));
        for (namespace, within_1s, all) in
            [("co2-calculator-prod", i * 270, n), ("co2-calculator-dev", 5, 5)]
        {
            for (le, count) in [("1", within_1s), ("3", all), ("+Inf", all)] {
                om.push_str(&format!("http_request_duration_highr_seconds_bucket{{namespace=\"{namespace}\",le=\"{le}\"}} {count} {t}\n"));
            }
            om.push_str(&format!("http_request_duration_highr_seconds_count{{namespace=\"{namespace}\"}} {all} {t}\n"));
            om.push_str(&format!(
                "http_request_duration_highr_seconds_sum{{namespace=\"{namespace}\"}} {all} {t}\n"
            ));
        }
    }
    om.push_str("# EOF\n");
    om
}

#[tokio::test]
async fn rates_quantiles_and_gaps_come_back_as_worked_out() {
    let end = chrono::Utc::now().timestamp() / 30 * 30 - 600;
    let prometheus = start_with_history(&history(end)).await;
    let client = Prometheus::new(prometheus.url.clone(), Credentials::None).unwrap();
    // The last hour of the history, by the panel's own range rule.
    let window = Window::ending(end, Duration::from_secs(3600), SCRAPE);
    let rate = format!(
        "sum by (namespace) (rate(http_requests_total{{namespace=\"co2-calculator-prod\"}}[{}]))",
        window.rate_window_promql()
    );
    let series = client.range(&rate, &window).await.unwrap();
    assert_eq!(series.len(), 1, "{series:?}");
    assert_eq!(series[0].labels["namespace"], "co2-calculator-prod");
    assert_eq!(series[0].points.len(), usize::try_from(window.points()).unwrap());
    for (t, v) in &series[0].points {
        let v = v.unwrap_or_else(|| panic!("no value at {t}"));
        assert!((v - 10.0).abs() < 1e-9, "rate {v} at {t}");
    }

    let p95 = format!(
        "histogram_quantile(0.95, sum by (namespace, le) (rate(http_request_duration_highr_seconds_bucket[{}])))",
        window.rate_window_promql()
    );
    let series = client.range(&p95, &window).await.unwrap();
    let of = |namespace: &str| {
        series.iter().find(|s| s.labels["namespace"] == namespace).unwrap().points.clone()
    };
    assert!(of("co2-calculator-prod")
        .iter()
        .all(|(_, v)| v.is_some_and(|v| (v - 2.0).abs() < 1e-9)));
    assert!(of("co2-calculator-dev").iter().all(|(_, v)| v.is_none()), "NaN is a gap, not 0");

    let now = client.instant(&rate, end).await.unwrap();
    assert_eq!(now.len(), 1);
    assert!(now[0].value.is_some_and(|v| (v - 10.0).abs() < 1e-9), "{now:?}");
    // A metric nobody exports: no series, not an error (the page says which selector).
    let none = client.instant("http_requests_total{namespace=\"nowhere\"}", end).await;
    assert_eq!(none, Ok(Vec::new()));
    // Bad PromQL: Prometheus' own reason.
    match client.instant("rate(http_requests_total[5m]", end).await {
        Err(Failure::Refused(reason)) => assert!(reason.contains("parse error"), "{reason}"),
        other => panic!("{other:?}"),
    }
    // Too fine a step is refused before asking (Prometheus allows 11,000 points).
    let fine = Window { start: end - 4 * 3600, end, step: Duration::from_secs(1), ..window };
    assert_eq!(client.range(&rate, &fine).await, Err(Failure::TooManyPoints(4 * 3600 + 1)));
}

/// A stand-in for Prometheus answering every query with `answer`, counting what it holds
/// at once and keeping the Authorization headers it receives.
struct StandIn {
    url: url::Url,
    most_at_once: Arc<AtomicUsize>,
    authorizations: Arc<Mutex<Vec<String>>>,
}

async fn stand_in(hold: Duration, status: u16, body: &'static str) -> StandIn {
    let now = Arc::new(AtomicUsize::new(0));
    let most_at_once = Arc::new(AtomicUsize::new(0));
    let authorizations = Arc::new(Mutex::new(Vec::new()));
    let (now2, most2, auth2) = (now.clone(), most_at_once.clone(), authorizations.clone());
    let handler = move |headers: axum::http::HeaderMap| {
        let (now, most, auth) = (now2.clone(), most2.clone(), auth2.clone());
        async move {
            let held = now.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(held, Ordering::SeqCst);
            if let Some(value) = headers.get("authorization").and_then(|v| v.to_str().ok()) {
                auth.lock().unwrap().push(value.to_owned());
            }
            tokio::time::sleep(hold).await;
            now.fetch_sub(1, Ordering::SeqCst);
            (axum::http::StatusCode::from_u16(status).unwrap(), body)
        }
    };
    let router = axum::Router::new()
        .route("/api/v1/query", axum::routing::post(handler.clone()))
        .route("/api/v1/query_range", axum::routing::post(handler));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = url::Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    StandIn { url, most_at_once, authorizations }
}

#[tokio::test]
async fn each_way_prometheus_fails_is_said_in_words() {
    // Down: nothing listens there.
    let gone = url::Url::parse("http://127.0.0.1:1/").unwrap();
    let client = Prometheus::new(gone, Credentials::None).unwrap();
    let failure = client.instant("up", 0).await.unwrap_err();
    assert_eq!(
        failure.to_string(),
        "Prometheus at 127.0.0.1:1 cannot be reached (connection refused or no route)"
    );

    // Slow: cut off at the time limit, and said so.
    let slow = stand_in(Duration::from_secs(30), 200, "{}").await;
    let client = Prometheus::new(slow.url.clone(), Credentials::None)
        .unwrap()
        .with_timeout(Duration::from_secs(1));
    let failure = client.instant("up", 0).await.unwrap_err();
    assert!(matches!(failure, Failure::TimedOut { .. }), "{failure:?}");
    assert!(failure.to_string().ends_with("did not answer within 1 s"), "{failure}");

    // Prometheus' own time limit, as it reports it.
    let busy = stand_in(
        Duration::ZERO,
        503,
        r#"{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}"#,
    )
    .await;
    let client = Prometheus::new(busy.url.clone(), Credentials::None).unwrap();
    assert!(matches!(client.instant("up", 0).await, Err(Failure::TimedOut { .. })));

    // An error page from something in between, and a body that is not JSON.
    let proxy = stand_in(Duration::ZERO, 502, "<html>Bad Gateway</html>").await;
    let client = Prometheus::new(proxy.url.clone(), Credentials::None).unwrap();
    assert_eq!(
        client.instant("up", 0).await,
        Err(Failure::Unreadable("HTTP 502 Bad Gateway without its error JSON".into()))
    );
    let garbled = stand_in(Duration::ZERO, 200, "{\"status\": \"succ").await;
    let client = Prometheus::new(garbled.url.clone(), Credentials::None).unwrap();
    assert_eq!(
        client.instant("up", 0).await,
        Err(Failure::Unreadable("its body is not JSON".into()))
    );
}

#[tokio::test]
async fn queries_are_signed_and_at_most_eight_are_in_flight() {
    let empty = r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
    let held = stand_in(Duration::from_millis(300), 200, empty).await;
    let client = Arc::new(
        Prometheus::new(held.url.clone(), Credentials::Bearer("s3cr3t-token".into())).unwrap(),
    );
    let mut queries = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let client = Arc::clone(&client);
        queries.spawn(async move { client.instant("up", 0).await });
    }
    while let Some(answer) = queries.join_next().await {
        assert_eq!(answer.unwrap(), Ok(Vec::new()));
    }
    let most = held.most_at_once.load(Ordering::SeqCst);
    assert!((1..=8).contains(&most), "{most} queries at once");
    let sent = held.authorizations.lock().unwrap().clone();
    assert_eq!(sent.len(), 20);
    assert!(sent.iter().all(|a| a == "Bearer s3cr3t-token"), "{sent:?}");
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn a_prometheus_that_hangs_costs_one_page_its_time_limit_and_the_next_ones_nothing(
    db: sqlx::PgPool,
) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    // Takes every query and never answers (as a stopped process whose port stays open).
    // The server's background pass for the cards is left off: only pages ask.
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = asked.clone();
    let hang = move || {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            std::future::pending::<()>().await;
        }
    };
    let router = axum::Router::new()
        .route("/api/v1/query", axum::routing::post(hang.clone()))
        .route("/api/v1/query_range", axum::routing::post(hang))
        .route("/api/v1/alerts", axum::routing::get(std::future::pending::<()>))
        .route("/api/v1/rules", axum::routing::get(std::future::pending::<()>));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let settings = gantry_tests::test_settings(&[("GANTRY_PROMETHEUS_URL", url.as_str())]);
    let listener = tokio::net::TcpListener::bind(settings.server.listen).await.unwrap();
    let app =
        gantry_tests::serve_with(db, &settings, listener, gantry_tests::Background::OnDemand).await;
    let stakeholder = app.client_as("stakeholder").await;

    let first = stakeholder.get(app.url("/monitoring?env=prod&range=6h")).send().await.unwrap();
    let first = first.text().await.unwrap();
    assert!(first.contains("did not answer within 5 s"), "the first page names the hang");
    let queries = asked.load(Ordering::SeqCst);
    assert!(queries > 0);
    // Another range (no cached answer): told at once, Prometheus not asked again.
    let next = stakeholder.get(app.url("/monitoring?env=prod&range=24h")).send().await.unwrap();
    let next = next.text().await.unwrap();
    assert!(
        next.contains("id=\"prometheus-failed\"") && next.contains("did not answer within 5 s")
    );
    assert_eq!(asked.load(Ordering::SeqCst), queries, "Prometheus was asked again within 5 s");
    app.stop().await;
}

#[tokio::test]
async fn the_simulators_exporter_gives_prometheus_its_history_and_goes_on_live() {
    let prod = "co2-calculator-prod";
    let simulator = gantry_sim::Running::start(gantry_sim::Options::default(), 0).await.unwrap();
    let http = reqwest::Client::new();
    let base = simulator.url();
    let refused = http.get(format!("{base}/simulator/history?days=0")).send().await.unwrap();
    assert_eq!(refused.status(), 400);
    assert!(refused.text().await.unwrap().contains("from 1 to 30"));
    // A hostile value is refused without being repeated (the answer is plain text).
    let hostile = "%22%27%3E%3C%2Ftitle%3E%3Cx-probe%3E";
    let refused = http.get(format!("{base}/simulator/history?days={hostile}")).send().await;
    let refused = refused.unwrap();
    assert_eq!(refused.status(), 400);
    assert!(!refused.text().await.unwrap().contains("x-probe"));
    // 503 until the controllers made every pod: the demo asks again until it is 200.
    let history = || async {
        let answer = http.get(format!("{base}/simulator/history?days=2")).send().await.ok()?;
        if answer.status() == 503 {
            return None;
        }
        assert_eq!(answer.status(), 200);
        answer.text().await.ok()
    };
    let history = eventually_some(Duration::from_secs(30), "the history", history).await;
    let now = chrono::Utc::now().timestamp();
    assert!(history.ends_with("# EOF\n"));
    let prometheus = start_scraping(&history, &simulator.addr.to_string()).await;
    let client = Prometheus::new(prometheus.url.clone(), Credentials::None).unwrap();

    // The whole day is there, at the 24h chart's own step and window.
    let day = Window::ending(now, Duration::from_secs(86_400), Duration::from_secs(30));
    let rate = format!(
        "sum(rate(http_requests_total{{namespace=\"{prod}\"}}[{}]))",
        day.rate_window_promql()
    );
    let series = client.range(&rate, &day).await.unwrap();
    let points: Vec<f64> = series[0].points.iter().filter_map(|(_, v)| *v).collect();
    assert!(points.len() as u64 > day.points() * 9 / 10, "{} of {}", points.len(), day.points());
    // Prod's traffic follows the day: between 2.4 and 12 requests a second. Over the
    // recorded history: the last minutes' rate windows reach past the history's end into
    // the first live scrapes, which a loaded machine makes late (a rate over a window whose
    // samples stop early is underestimated, as on any Prometheus).
    // Nor where the history's spacing changes (a sample every 10 minutes before the last
    // day, every 2 within it, every 30 s over the last two hours): Prometheus' rate
    // extrapolates from the samples' average spacing inside the window, so a window that
    // begins among sparse samples and ends among dense ones reads low (seen: 1.91 at
    // 6,909 s before now, its window across the two-hour mark). The history ends a moment
    // before `now`, hence the minute of margin.
    let window = i64::try_from(day.rate_window.as_secs()).unwrap();
    let across = |t: i64, change: i64| t >= now - change - 60 && t <= now - change + window + 60;
    let recorded =
        |t: i64| t >= now - 86_400 && t <= now - 300 && !across(t, 86_400) && !across(t, 7_200);
    let history: Vec<f64> =
        series[0].points.iter().filter(|(t, _)| recorded(*t)).filter_map(|(_, v)| *v).collect();
    let (low, high) = history.iter().fold((f64::MAX, 0.0f64), |(l, h), v| (l.min(*v), h.max(*v)));
    let lowest = series[0]
        .points
        .iter()
        .filter(|(t, v)| recorded(*t) && *v == Some(low))
        .map(|(t, _)| now - t)
        .collect::<Vec<_>>();
    assert!(
        low > 2.0 && low < 3.5 && high > 11.0 && high < 12.5,
        "{low} … {high}, the lowest {lowest:?} s before now"
    );

    // Live: the scrapes go on from the history without a reset (a reset would make
    // `resets()` count one).
    let scraped = || async {
        let up =
            client.instant("up{job=\"simulator\"}", chrono::Utc::now().timestamp()).await.ok()?;
        (up.first()?.value == Some(1.0)).then_some(())
    };
    eventually_some(Duration::from_secs(30), "Prometheus to scrape the simulator", scraped).await;
    let resets = || async {
        let at = chrono::Utc::now().timestamp();
        let query = format!("sum(resets(http_requests_total{{namespace=\"{prod}\"}}[10m]))");
        let answer = client.instant(&query, at).await.ok()?;
        answer.first().map(|s| s.value)
    };
    let resets = eventually_some(Duration::from_secs(30), "the resets over the seam", resets).await;
    assert_eq!(resets, Some(0.0), "the live counters restarted from zero");
    simulator.stop().await;
}
