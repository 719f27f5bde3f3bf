//! The Metrics page against a real Prometheus over history whose answers are worked out
//! by hand, with the panel's own changes marked on the charts; a Prometheus that is
//! down; no Prometheus at all; and addresses built to hurt.

use std::time::{Duration, Instant};

use gantry_app::history::observe::ObservedRevision;
use gantry_tests::prometheus::{start_with_history, start_with_rules};
use gantry_tests::{
    eventually_some, spawn_app_with, spawn_on_simulator_with, test_settings, Background,
};
use sqlx::PgPool;

const PROD: &str = "co2-calculator-prod";
const POD: &str = "backend-7d9f8b6c5-x2k4q";
const MIB: i64 = 1024 * 1024;

/// Two hours of 30 s samples for prod ending at `end`:
/// - requests: 2xx +300 and 5xx +30 every 30 s: 11 a second, an error ratio of
///   1 / 11 = 9.09 %;
/// - latency: 9 of 10 within 1 s, all within 3 s: a 95th percentile of
///   1 + 2 × (9.5 − 9) / (10 − 9) = 2 s;
/// - the backend pod's working set 256 MiB against a 512 MiB limit, and an exporter pod
///   whose name only starts like the backend's (strict selectors leave it out).
pub(crate) fn history(end: i64) -> String {
    let mut om = String::from(
        "# TYPE http_requests counter\n# TYPE http_request_duration_highr_seconds histogram\n# TYPE container_memory_working_set_bytes gauge\n# TYPE kube_pod_container_resource_limits gauge\n",
    );
    let samples = 240;
    let start = end - samples * 30;
    for i in 0..=samples {
        let t = start + i * 30;
        let ok = i * 300;
        let failed = i * 30;
        om.push_str(&format!(
            "http_requests_total{{namespace=\"{PROD}\",pod=\"{POD}\",handler=\"/api/v1/footprint\",status=\"2xx\"}} {ok} {t}\n\
             http_requests_total{{namespace=\"{PROD}\",pod=\"{POD}\",handler=\"/api/v1/footprint\",status=\"5xx\"}} {failed} {t}\n"
        ));
        let all = ok + failed;
        for (le, count) in [("1", all * 9 / 10), ("3", all), ("+Inf", all)] {
            om.push_str(&format!("http_request_duration_highr_seconds_bucket{{namespace=\"{PROD}\",pod=\"{POD}\",handler=\"/api/v1/footprint\",le=\"{le}\"}} {count} {t}\n"));
        }
        om.push_str(&format!("http_request_duration_highr_seconds_count{{namespace=\"{PROD}\",pod=\"{POD}\",handler=\"/api/v1/footprint\"}} {all} {t}\n"));
        om.push_str(&format!("http_request_duration_highr_seconds_sum{{namespace=\"{PROD}\",pod=\"{POD}\",handler=\"/api/v1/footprint\"}} {all} {t}\n"));
        for (pod, bytes) in [(POD, 256 * MIB), ("backend-exporter-5c6d7-abcde", 900 * MIB)] {
            om.push_str(&format!("container_memory_working_set_bytes{{namespace=\"{PROD}\",pod=\"{pod}\",container=\"main\"}} {bytes} {t}\n"));
        }
        om.push_str(&format!("kube_pod_container_resource_limits{{namespace=\"{PROD}\",pod=\"{POD}\",container=\"main\",resource=\"memory\"}} {} {t}\n", 512 * MIB));
    }
    om.push_str("# EOF\n");
    om
}

fn from_to(start: i64, end: i64) -> String {
    let at = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0).unwrap().format("%Y-%m-%dT%H:%M").to_string()
    };
    format!("from={}&to={}", at(start), at(end))
}

/// The table cells of chart `id`, newest row first.
fn cells(page: &str, id: &str) -> Vec<String> {
    let figure =
        page.split(&format!("id=\"chart-{id}\"")).nth(1).unwrap_or_else(|| panic!("no chart {id}"));
    let figure = figure.split("</figure>").next().unwrap();
    let body = figure
        .split("<tbody>")
        .nth(1)
        .unwrap_or_else(|| panic!("chart {id} has no values: {figure}"));
    body.split("<td>").skip(1).map(|c| c.split('<').next().unwrap().to_owned()).collect()
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn the_metrics_page_draws_prods_charts_from_prometheus_with_its_releases(db: PgPool) {
    let end = chrono::Utc::now().timestamp() / 60 * 60 - 600;
    let prometheus = start_with_history(&history(end)).await;
    // A release of the backend half an hour before the end: a marker on every chart.
    let release = ObservedRevision {
        environment: "prod".into(),
        workload: "backend".into(),
        revision: 7,
        replicaset: "backend-7d9f8b6c5".into(),
        template_hash: "7d9f8b6c5".into(),
        images: vec!["backend=ghcr.io/epfl-enac/co2-calculator-backend:1.8.3".into()],
        change_cause: None,
        created_ms: (end - 1800) * 1000,
        template: serde_json::json!({}),
        replicas: Some(3),
    };
    gantry_app::history::store::record(&db, &[release], &[], &[], &[]).await.unwrap();
    let url = prometheus.url.to_string();
    let settings = test_settings(&[("GANTRY_PROMETHEUS_URL", url.as_str())]);
    let listener = tokio::net::TcpListener::bind(settings.server.listen).await.unwrap();
    let app = gantry_tests::serve_with(db, &settings, listener, Background::OnDemand).await;
    let stakeholder = app.client_as("stakeholder").await;
    let address = format!("/monitoring?env=prod&{}", from_to(end - 3600, end));
    let response = stakeholder.get(app.url(&address)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();

    assert_eq!(cells(&page, "requests").first().map(String::as_str), Some("11/s"));
    assert_eq!(cells(&page, "errors").first().map(String::as_str), Some("9.09 %"));
    assert_eq!(cells(&page, "latency").first().map(String::as_str), Some("2 s"));
    // One series per pod, and only the backend's pod is the backend's.
    let whole = cells(&page, "memory");
    assert_eq!(
        whole.first().map(String::as_str),
        Some("900 MiB"),
        "both pods on the environment's chart"
    );
    assert!(page.contains("limit 512 MiB"), "the memory limit is drawn");
    // Every chart with data carries the release, at its time.
    let figures = page.matches("<svg class=\"chart\"").count();
    assert!(figures >= 4, "{figures} charts drawn");
    assert_eq!(page.matches("class=\"marker release\"").count(), figures);
    let changes = page.split("id=\"changes\"").nth(1).expect("the list of changes");
    assert!(changes.contains("co2-calculator-backend:1.8.3"), "{changes}");
    // Series that nothing reports say so, naming the selector and what is missing.
    assert!(page.contains("id=\"chart-redis-memory\""));
    assert!(
        page.contains("No data for <code>namespace=&quot;co2-calculator-prod&quot;</code>"),
        "{page}"
    );

    // The backend's own page: its pods only (the exporter's 900 MiB is not its).
    let address = format!("/monitoring?env=prod&workload=backend&{}", from_to(end - 3600, end));
    let page = stakeholder.get(app.url(&address)).send().await.unwrap().text().await.unwrap();
    assert_eq!(cells(&page, "memory").first().map(String::as_str), Some("256 MiB"));
    assert!(
        !page.contains("id=\"chart-redis-memory\""),
        "a workload page shows its pods, not Redis"
    );

    // The same view again within its step is answered from the cache: Prometheus counts
    // no new range query.
    let asked = || async {
        let metrics = reqwest::get(prometheus.url.join("metrics").unwrap()).await.unwrap();
        let metrics = metrics.text().await.unwrap();
        metrics
            .lines()
            .filter(|l| l.starts_with("prometheus_http_requests_total{"))
            .filter(|l| l.contains("handler=\"/api/v1/query_range\""))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>()
    };
    let before = asked().await;
    assert!(before > 0.0, "the first views asked Prometheus");
    for _ in 0..3 {
        let again = stakeholder.get(app.url(&address)).send().await.unwrap();
        assert_eq!(again.status(), 200);
    }
    assert_eq!(asked().await, before, "repeated views asked Prometheus again");
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn a_prometheus_that_is_down_is_named_and_the_page_still_comes_at_once(db: PgPool) {
    // A port nothing listens on: bound, then let go.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let url = format!("http://{free}");
    let settings = test_settings(&[("GANTRY_PROMETHEUS_URL", url.as_str())]);
    let listener = tokio::net::TcpListener::bind(settings.server.listen).await.unwrap();
    let app = gantry_tests::serve_with(db, &settings, listener, Background::OnDemand).await;
    let developer = app.client_as("developer").await;
    let started = Instant::now();
    let response = developer.get(app.url("/monitoring?env=dev&range=6h")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(5), "a refused connection fails at once");
    assert!(page.contains("id=\"prometheus-failed\""), "{page}");
    assert!(page.contains(&format!("Prometheus at {free} cannot be reached")), "{page}");
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn without_prometheus_the_page_says_what_to_configure(db: PgPool) {
    let app = spawn_app_with(db, test_settings(&[])).await;
    let developer = app.client_as("developer").await;
    let page = developer.get(app.url("/monitoring")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("No Prometheus is configured"), "{page}");
    assert!(page.contains("prometheus.url"));
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn bad_metrics_addresses_are_refused_in_words(db: PgPool) {
    let app =
        spawn_app_with(db, test_settings(&[("GANTRY_PROMETHEUS_URL", "http://127.0.0.1:9")])).await;
    let admin = app.client_as("admin").await;
    let cases = [
        ("/monitoring?env=nowhere", 404, "There is no environment named"),
        ("/monitoring?env=prod&workload=mainframe", 404, "prod has no workload named"),
        ("/monitoring?env=prod&range=1y", 400, "must be one of 15m, 1h, 6h, 24h, 7d"),
        ("/monitoring?env=prod&from=2026-12-01T10:00", 400, "needs both"),
        (
            "/monitoring?env=prod&from=2026-12-01T10:00&to=2026-12-01T10:02",
            400,
            "at least 5 minutes",
        ),
        ("/monitoring?env=prod&from=2026-01-01T00:00&to=2026-12-01T00:00", 400, "at most 31 days"),
        ("/monitoring?env=prod&from=yesterday&to=today", 400, "must be a time like"),
    ];
    for (address, status, says) in cases {
        let response = admin.get(app.url(address)).send().await.unwrap();
        assert_eq!(response.status(), status, "{address}");
        let page = response.text().await.unwrap();
        assert!(page.contains(says), "{address}: {page}");
    }
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn what_prometheus_answers_comes_out_inert(db: PgPool) {
    // Label values are whatever the cluster's pods and exporters put there.
    let hostile = "\\\"'></title></script><x-probe>";
    let end = chrono::Utc::now().timestamp() / 60 * 60 - 600;
    let mut om = String::from(
        "# TYPE container_memory_working_set_bytes gauge\n# TYPE celery_queue_length gauge\n",
    );
    for i in 0..=120 {
        let t = end - 3600 + i * 30;
        om.push_str(&format!("container_memory_working_set_bytes{{namespace=\"{PROD}\",pod=\"{hostile}\",container=\"main\"}} 1000 {t}\n"));
        om.push_str(&format!(
            "celery_queue_length{{namespace=\"{PROD}\",queue_name=\"{hostile}\"}} 5 {t}\n"
        ));
    }
    om.push_str("# EOF\n");
    let prometheus = start_with_history(&om).await;
    let url = prometheus.url.to_string();
    let settings = test_settings(&[("GANTRY_PROMETHEUS_URL", url.as_str())]);
    let listener = tokio::net::TcpListener::bind(settings.server.listen).await.unwrap();
    let app = gantry_tests::serve_with(db, &settings, listener, Background::OnDemand).await;
    let admin = app.client_as("admin").await;
    let address = format!("/monitoring?env=prod&{}", from_to(end - 3600, end));
    let page = admin.get(app.url(&address)).send().await.unwrap().text().await.unwrap();
    assert!(
        page.contains("id=\"chart-memory\"") && page.contains("<svg class=\"chart\""),
        "{page}"
    );
    assert!(page.contains("&lt;x-probe&gt;"), "the label is shown, escaped: {page}");
    assert!(!page.contains("<x-probe"), "a label reached the page unescaped: {page}");
    app.stop().await;
}

/// Rules evaluated every second over prod's history: one fires at once, one waits an hour
/// before firing (pending), one fires in dev only.
pub(crate) const RULES: &str = r#"groups:
  - name: test
    rules:
      - alert: HighErrorRate
        expr: sum by (namespace) (rate(http_requests_total{status=~"5.."}[5m])) / sum by (namespace) (rate(http_requests_total[5m])) > 0.05
        labels: {severity: critical}
        annotations:
          summary: "{{ $labels.namespace }}: {{ $value | humanizePercentage }} of requests fail"
          description: "<x-probe> from an annotation"
      - alert: SlowResponses
        expr: histogram_quantile(0.95, sum by (namespace, le) (rate(http_request_duration_highr_seconds_bucket[5m]))) > 1
        for: 1h
        labels: {severity: warning}
      - alert: DevOnly
        expr: vector(1)
        labels: {namespace: co2-calculator-dev, severity: info}
"#;

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn prods_alerts_show_firing_before_pending_and_none_of_devs(db: PgPool) {
    // Up to a minute ago: rules look back five minutes, so they see it now.
    let end = chrono::Utc::now().timestamp() / 30 * 30 - 60;
    let prometheus = start_with_rules(&history(end), RULES).await;
    let url = prometheus.url.to_string();
    // The listing is kept for a scrape interval: a short one, so the test waits little.
    // An Alertmanager that is down: the alerts are shown all the same.
    let settings = test_settings(&[
        ("GANTRY_PROMETHEUS_URL", url.as_str()),
        ("GANTRY_PROMETHEUS_SCRAPE_INTERVAL_SECONDS", "2"),
        ("GANTRY_ALERTMANAGER_URL", "http://127.0.0.1:9"),
    ]);
    let app = spawn_app_with(db, settings).await;
    let stakeholder = app.client_as("stakeholder").await;
    let alerts_of = |page: String| {
        let section = page
            .split("id=\"alerts\"")
            .nth(1)
            .map(|s| s.split("</section>").next().unwrap_or("").to_owned());
        section.unwrap_or_default()
    };
    // Rules are evaluated every second.
    let both = || async {
        let page = stakeholder.get(app.url("/monitoring?env=prod&range=15m")).send().await.ok()?;
        let alerts = alerts_of(page.text().await.ok()?);
        (alerts.contains("data-alert=\"HighErrorRate\"")
            && alerts.contains("data-alert=\"SlowResponses\""))
        .then_some(alerts)
    };
    let alerts =
        eventually_some(Duration::from_secs(90), "prod's two alerts on the page", both).await;
    let firing = alerts.find("data-alert=\"HighErrorRate\"").unwrap();
    let pending = alerts.find("data-alert=\"SlowResponses\"").unwrap();
    assert!(firing < pending, "firing comes before pending: {alerts}");
    assert!(alerts.contains("<li class=\"alert firing\" data-alert=\"HighErrorRate\" data-state=\"firing\"><span class=\"badge alert-state\">firing · critical</span>"), "{alerts}");
    assert!(
        alerts.contains("Whether an alert is silenced is not known: Alertmanager at 127.0.0.1:9 cannot be reached"),
        "{alerts}"
    );
    assert!(
        alerts.contains("<li class=\"alert pending\" data-alert=\"SlowResponses\""),
        "{alerts}"
    );
    assert!(alerts.contains("1 firing, 1 pending on prod."), "{alerts}");
    // The summary as Prometheus rendered it: 1 of 11 requests fail.
    assert!(alerts.contains("co2-calculator-prod: 9.091% of requests fail"), "{alerts}");
    assert!(
        alerts.contains("&lt;x-probe&gt; from an annotation") && !alerts.contains("<x-probe"),
        "{alerts}"
    );
    assert!(!alerts.contains("DevOnly"), "dev's alert shown on prod: {alerts}");

    // Dev has its own; staging none, said so with the number of rules watching.
    let dev = alerts_of(
        stakeholder.get(app.url("/monitoring?env=dev")).send().await.unwrap().text().await.unwrap(),
    );
    assert!(dev.contains("data-alert=\"DevOnly\"") && !dev.contains("HighErrorRate"), "{dev}");
    let staging = alerts_of(
        stakeholder
            .get(app.url("/monitoring?env=staging"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    assert!(
        staging.contains(
            "No alert fires or is pending on staging; Prometheus evaluates 3 alerting rules."
        ),
        "{staging}"
    );
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn the_overview_card_says_prods_last_five_minutes_in_figures_and_words(db: PgPool) {
    let end = chrono::Utc::now().timestamp() / 30 * 30 - 60;
    let prometheus = start_with_rules(&history(end), RULES).await;
    let url = prometheus.url.to_string();
    let extra = [
        ("GANTRY_PROMETHEUS_URL", url.as_str()),
        ("GANTRY_PROMETHEUS_SCRAPE_INTERVAL_SECONDS", "2"),
    ];
    let app = spawn_on_simulator_with(db, &extra, Background::OnDemand).await;
    let stakeholder = app.client_as("stakeholder").await;
    let card_of = |page: &str, env: &str| {
        let card = page.split(&format!("data-env=\"{env}\"")).nth(1)?;
        Some(card.split("</article>").next()?.to_owned())
    };
    // The figures come from the server's own pass (run here on demand), not per viewer;
    // the alert fires once its rule has been evaluated (every second).
    let prod =
        eventually_some(Duration::from_secs(60), "prod's card with an alert firing", || async {
            gantry_app::monitoring::summary::refresh_once(&app.context).await;
            let page = stakeholder.get(app.url("/")).send().await.ok()?.text().await.ok()?;
            card_of(&page, "prod").filter(|card| card.contains("1 alert firing"))
        })
        .await;
    assert!(prod.contains("slow (p95 2 s), and 1 in 11 requests fails"), "{prod}");
    assert!(prod.contains("/s · 9.09 % errors · p95 2 s"), "{prod}");
    assert!(prod.contains("href=\"/monitoring?env=prod#alerts\""), "{prod}");
    // Dev's backend reports nothing: said, not shown as zero.
    let page = stakeholder.get(app.url("/")).send().await.unwrap().text().await.unwrap();
    let dev = card_of(&page, "dev").expect("dev's card");
    assert!(dev.contains("no traffic figures from the backend"), "{dev}");
    assert!(dev.contains("1 alert firing"), "dev's own alert: {dev}");
    // The environment's page has the same in its Metrics panel, and both pages lead to
    // their charts.
    let page = stakeholder.get(app.url("/environments/prod")).send().await.unwrap();
    let page = page.text().await.unwrap();
    let panel = page.split("id=\"env-metrics\"").nth(1).expect("a Metrics panel");
    let panel = panel.split("</section>").next().unwrap();
    assert!(panel.contains("slow (p95 2 s), and 1 in 11 requests fails"), "{panel}");
    assert!(panel.contains("href=\"/monitoring?env=prod#alerts\""), "{panel}");
    let page =
        stakeholder.get(app.url("/environments/prod/workloads/backend")).send().await.unwrap();
    let page = page.text().await.unwrap();
    assert!(
        page.contains("href=\"/monitoring?env=prod&amp;workload=backend\""),
        "no link to the workload's charts"
    );
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn a_workload_page_shows_its_pods_memory_and_cpu_from_prometheus(db: PgPool) {
    use gantry_tests::prometheus::Monitoring;
    let monitoring = Monitoring::start("# EOF\n", "groups: []\n", true).await;
    let app = spawn_on_simulator_with(db, &monitoring.settings(), Background::OnDemand).await;
    let (_, simulator) = app.simulator.clone().expect("the simulated cluster");
    monitoring.prometheus.scrape(simulator.trim_start_matches("http://"));
    let stakeholder = app.client_as("stakeholder").await;
    let panel = |page: String| {
        let panel = page.split("id=\"workload-metrics\"").nth(1)?;
        Some(panel.split("</section>").next()?.to_owned())
    };
    // Figures for the backend's three pods once Prometheus holds two scrapes of them.
    let backend = eventually_some(Duration::from_secs(60), "the backend's pod figures", || async {
        gantry_app::monitoring::summary::refresh_once(&app.context).await;
        let path = "/environments/prod/workloads/backend";
        let page = stakeholder.get(app.url(path)).send().await.ok()?.text().await.ok()?;
        panel(page).filter(|p| p.contains("CPU: ") && p.contains("3 of 3 pods reporting"))
    })
    .await;
    // The simulator's backends hold about 290 MiB each against their 512 MiB limit.
    let memory = backend.split("Memory: up to ").nth(1).expect("memory figures");
    let used: i64 = memory.split(' ').next().unwrap().parse().unwrap();
    assert!((270..=310).contains(&used), "{backend}");
    assert!(memory.contains(" MiB per pod, of 512 MiB (5"), "{backend}");
    assert!(backend.contains("href=\"/monitoring?env=prod&amp;workload=backend\""), "{backend}");
    // Another workload's page counts only its own pods.
    let page = stakeholder.get(app.url("/environments/prod/workloads/frontend")).send().await;
    let frontend = panel(page.unwrap().text().await.unwrap()).expect("a Metrics panel");
    assert!(frontend.contains("of 64 MiB") && !frontend.contains("of 512 MiB"), "{frontend}");
    app.stop().await;
}
