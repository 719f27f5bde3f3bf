//! The overview cards' figures: each environment's backend over the last five minutes
//! (request rate, error ratio, p95 latency) and its alerts firing and pending, asked of
//! Prometheus once per scrape interval by the server — not per viewer — and handed to the
//! live view, which updates open overviews when a shown figure changes.

use std::time::Duration;

use super::alerts::for_namespace;
use super::prometheus::Failure;
use super::Monitoring;
use crate::context::ServerContext;
use crate::status::model::{Figures, PodFigures};

/// The window of the cards' figures.
const LAST: &str = "5m";

fn first_value(
    answer: Result<Vec<super::prometheus::Sample>, Failure>,
) -> Result<Option<f64>, Failure> {
    answer.map(|samples| samples.into_iter().next().and_then(|s| s.value))
}

#[allow(clippy::cast_possible_truncation)]
fn whole(value: f64, by: f64) -> i64 {
    (value * by).round() as i64
}

/// `by (pod)` answers as (pod, value).
fn by_pod(
    answer: Result<Vec<super::prometheus::Sample>, Failure>,
) -> std::collections::BTreeMap<String, f64> {
    answer
        .unwrap_or_default()
        .into_iter()
        .filter_map(|s| Some((s.labels.get("pod")?.clone(), s.value?)))
        .collect()
}

/// Each pod's peak memory, memory limit and CPU over the last minutes: three queries per
/// environment whatever its number of workloads (the live view knows which pod is whose).
async fn pods(monitoring: &Monitoring, selector: &str, at: i64) -> Vec<PodFigures> {
    let client = monitoring.cache.client();
    let containers = format!("{selector},container!=\"\",container!=\"POD\"");
    let memory = format!(
        "max by (pod) (max_over_time(container_memory_working_set_bytes{{{containers}}}[{LAST}]))"
    );
    let limit = format!(
        "max by (pod) (kube_pod_container_resource_limits{{{selector},resource=\"memory\"}})"
    );
    let cpu =
        format!("sum by (pod) (rate(container_cpu_usage_seconds_total{{{containers}}}[{LAST}]))");
    let (memory, limit, cpu) = futures_util::future::join3(
        client.instant(&memory, at),
        client.instant(&limit, at),
        client.instant(&cpu, at),
    )
    .await;
    let (memory, limit, cpu) = (by_pod(memory), by_pod(limit), by_pod(cpu));
    const MIB: f64 = 1024.0 * 1024.0;
    let mut names: Vec<&String> = memory.keys().chain(limit.keys()).chain(cpu.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .map(|pod| PodFigures {
            pod: pod.clone(),
            memory_mib: memory.get(pod).map(|v| whole(*v / MIB, 1.0)),
            limit_mib: limit.get(pod).map(|v| whole(*v / MIB, 1.0)),
            cpu_milli: cpu.get(pod).map(|v| whole(*v, 100.0) * 10),
        })
        .collect()
}

/// One environment's figures at `at` (Unix seconds).
async fn of(monitoring: &Monitoring, selector: &str, namespace: &str, at: i64) -> Figures {
    let config = &monitoring.config;
    let client = monitoring.cache.client();
    let errors = format!("{selector},{}=~\"{}\"", config.status_label, config.error_status);
    let requests = format!("sum(rate(http_requests_total{{{selector}}}[{LAST}]))");
    let ratio = format!(
        "sum(rate(http_requests_total{{{errors}}}[{LAST}])) / sum(rate(http_requests_total{{{selector}}}[{LAST}]))"
    );
    let p95 = format!(
        "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_highr_seconds_bucket{{{selector}}}[{LAST}])))"
    );
    let ((requests, ratio, p95, alerting), pods) = futures_util::future::join(
        futures_util::future::join4(
            client.instant(&requests, at),
            client.instant(&ratio, at),
            client.instant(&p95, at),
            monitoring.cache.alerting(monitoring.scrape()),
        ),
        pods(monitoring, selector, at),
    )
    .await;
    let (requests, ratio, p95) = match (first_value(requests), first_value(ratio), first_value(p95))
    {
        (Ok(r), Ok(e), Ok(p)) => (r, e, p),
        (Err(failure), _, _) | (_, Err(failure), _) | (_, _, Err(failure)) => {
            return Figures { unreadable: Some(failure.to_string()), pods, ..Figures::default() };
        }
    };
    let mine = alerting.alerting.as_ref().map(|a| for_namespace(a, namespace)).unwrap_or_default();
    Figures {
        // No series at all: the backend is not scraped (said differently from no traffic).
        requests_milli: requests.map(|r| whole(r, 1000.0)),
        errors_ppm: ratio.map(|r| whole(r, 1_000_000.0)),
        p95_ms: p95.map(|p| whole(p, 1000.0)),
        firing: u32::try_from(mine.firing()).unwrap_or(u32::MAX),
        pending: u32::try_from(mine.pending()).unwrap_or(u32::MAX),
        unreadable: None,
        pods,
    }
}

/// Asks for every environment's figures once and hands them to the live view (tests call
/// this instead of waiting for the loop).
pub async fn refresh_once(context: &ServerContext) {
    let Some(monitoring) = context.monitoring.as_deref() else { return };
    let scrape = i64::try_from(monitoring.config.scrape_interval_secs).unwrap_or(30).max(1);
    // Aligned to the scrape, like the charts' ends.
    let at = chrono::Utc::now().timestamp().div_euclid(scrape) * scrape;
    let asks = context.environments.iter().map(|env| async move {
        (env.name.clone(), of(monitoring, &env.prometheus_selector, &env.namespace, at).await)
    });
    for (name, figures) in futures_util::future::join_all(asks).await {
        context.live.set_figures(&name, figures);
    }
}

/// Refreshes the figures every scrape interval until the server stops.
pub fn start(context: ServerContext) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let Some(every) = context.monitoring.as_ref().map(|m| m.scrape()) else { return };
        let mut tick = tokio::time::interval(every.max(Duration::from_secs(1)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            refresh_once(&context).await;
        }
    })
}
