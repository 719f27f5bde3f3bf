//! The CO2 calculator's metrics, as its exporters would serve them to Prometheus, at
//! `GET /metrics` on the simulated cluster's port: the backend's requests and latency
//! (prometheus-fastapi-instrumentator's names), cAdvisor's and kube-state-metrics' pod
//! series, Celery, PostgreSQL and Redis — each with the `namespace` and `pod` labels a
//! relabelling scrape configuration adds. Counters advance at wall-clock time from what
//! the cluster is doing now (`model`); [`Exporter::backfill`] writes the week before,
//! from the same model, for `promtool tsdb create-blocks-from openmetrics`, and the live
//! counters go on from where the history ends (no reset at the seam).

pub mod model;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::response::IntoResponse;

use crate::faults::WorkloadFault;
use crate::resources::ids;
use crate::store::str_at;
use crate::Cluster;
use model::{EnvState, Pod, BUCKETS, HANDLERS};

/// The counters of every series, by name and label set.
#[derive(Clone, Debug, Default)]
struct Counters {
    values: BTreeMap<(String, String), f64>,
    queues: BTreeMap<String, f64>,
    /// The moment (Unix seconds) they were last advanced to.
    at: Option<f64>,
}

impl Counters {
    fn add(&mut self, name: &str, labels: &str, by: f64) {
        *self.values.entry((name.to_owned(), labels.to_owned())).or_default() += by;
    }
}

/// The live exporter's state, shared by the cluster's handlers.
#[derive(Clone, Default)]
pub struct Exporter(Arc<Mutex<Counters>>);

/// One sample: metric name, labels (already in `{…}` form), value.
type Sample = (String, String, f64);

/// Metric families and their types, in the order they are written.
const FAMILIES: [(&str, &str); 17] = [
    ("http_requests", "counter"),
    ("http_request_duration_highr_seconds", "histogram"),
    ("container_cpu_usage_seconds", "counter"),
    ("container_memory_working_set_bytes", "gauge"),
    ("kube_pod_container_resource_limits", "gauge"),
    ("kube_pod_container_status_restarts", "counter"),
    ("kube_pod_container_status_last_terminated_reason", "gauge"),
    ("celery_queue_length", "gauge"),
    ("celery_task_succeeded", "counter"),
    ("celery_task_failed", "counter"),
    ("pg_up", "gauge"),
    ("pg_stat_activity_count", "gauge"),
    ("pg_settings_max_connections", "gauge"),
    ("pg_database_size_bytes", "gauge"),
    ("redis_up", "gauge"),
    ("redis_memory_used_bytes", "gauge"),
    ("kube_pod_status_ready", "gauge"),
];

fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// `{namespace="…",pod="…",…}` from pairs.
fn labels(pairs: &[(&str, &str)]) -> String {
    let inner: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}=\"{}\"", escape(v))).collect();
    format!("{{{}}}", inner.join(","))
}

/// A Kubernetes quantity as a number (`512Mi`, `1Gi`, `250m`, `2`).
fn quantity(text: &str) -> Option<f64> {
    let units =
        [("Ki", 1024.0), ("Mi", 1024.0 * 1024.0), ("Gi", 1024.0 * 1024.0 * 1024.0), ("m", 0.001)];
    for (suffix, scale) in units {
        if let Some(number) = text.strip_suffix(suffix) {
            return number.parse::<f64>().ok().map(|n| n * scale);
        }
    }
    text.parse().ok()
}

/// Every environment's state from the store: the namespaces with pods in them.
fn states(cluster: &Cluster) -> Vec<EnvState> {
    let (pods, _) = cluster.store.list(ids::POD, None);
    let mut by_namespace: BTreeMap<String, Vec<Pod>> = BTreeMap::new();
    for pod in pods {
        let namespace = str_at(&pod, "/metadata/namespace");
        let workload = str_at(&pod, "/metadata/labels/app");
        if workload.is_empty() || !namespace.starts_with("co2-calculator-") {
            continue;
        }
        if str_at(&pod, "/status/phase") != "Running" && str_at(&pod, "/status/phase") != "Pending"
        {
            continue;
        }
        let status = &pod["status"]["containerStatuses"][0];
        let ready = status["ready"].as_bool().unwrap_or(false);
        let oom = str_at(status, "/lastState/terminated/reason") == "OOMKilled";
        by_namespace.entry(namespace.to_owned()).or_default().push(Pod {
            name: str_at(&pod, "/metadata/name").to_owned(),
            workload: workload.to_owned(),
            container: str_at(&pod, "/spec/containers/0/name").to_owned(),
            ready,
            restarts: status["restartCount"].as_i64().unwrap_or(0),
            memory_limit: quantity(str_at(&pod, "/spec/containers/0/resources/limits/memory")),
            oom_killed: oom,
        });
    }
    by_namespace
        .into_iter()
        .map(|(namespace, pods)| EnvState {
            backend_crashing: cluster.faults.has(WorkloadFault::CrashLoop, &namespace, "backend"),
            namespace,
            pods,
        })
        .collect()
}

/// Moves every counter from `counters.at` to `t` at the rates of `states` (the state
/// is taken as it is now for the whole step: steps are one scrape or one history sample).
fn advance(counters: &mut Counters, states: &[EnvState], t: f64) {
    let Some(from) = counters.at else {
        counters.at = Some(t);
        return;
    };
    let dt = (t - from).max(0.0);
    counters.at = Some(t);
    if dt == 0.0 {
        return;
    }
    for state in states {
        let ns = state.namespace.as_str();
        // A crash-looping backend still answers between its crashes (failing a quarter),
        // though the kubelet marks it unready most of the time.
        let backend_pods: Vec<&Pod> = state
            .pods
            .iter()
            .filter(|p| p.workload == "backend" && (p.ready || state.backend_crashing))
            .collect();
        let traffic = if backend_pods.is_empty() { 0.0 } else { model::traffic(ns, t) };
        let errors = model::error_share(state);
        // Requests are spread over the ready backend pods.
        #[allow(clippy::cast_precision_loss)]
        let per_pod = traffic / backend_pods.len().max(1) as f64;
        for pod in &backend_pods {
            for (handler, share, factor) in HANDLERS {
                let n = per_pod * share * dt;
                let base = [("namespace", ns), ("pod", pod.name.as_str()), ("handler", handler)];
                let ok = labels(&[base[0], base[1], base[2], ("method", "GET"), ("status", "2xx")]);
                let failed =
                    labels(&[base[0], base[1], base[2], ("method", "GET"), ("status", "5xx")]);
                counters.add("http_requests_total", &ok, n * (1.0 - errors));
                counters.add("http_requests_total", &failed, n * errors);
                let mean = model::mean_latency(state, factor, t);
                for le in BUCKETS {
                    let bound = format!("{le}");
                    let l = labels(&[base[0], base[1], base[2], ("le", bound.as_str())]);
                    counters.add(
                        "http_request_duration_highr_seconds_bucket",
                        &l,
                        n * model::within(le, mean),
                    );
                }
                let l = labels(&[base[0], base[1], base[2], ("le", "+Inf")]);
                counters.add("http_request_duration_highr_seconds_bucket", &l, n);
                let l = labels(&base);
                counters.add("http_request_duration_highr_seconds_count", &l, n);
                counters.add("http_request_duration_highr_seconds_sum", &l, n * mean);
            }
        }
        for pod in &state.pods {
            let l = labels(&[
                ("namespace", ns),
                ("pod", pod.name.as_str()),
                ("container", pod.container.as_str()),
            ]);
            counters.add("container_cpu_usage_seconds_total", &l, model::cpu(state, pod, t) * dt);
        }
        let (arrivals, capacity) = model::celery(state, t);
        let queue = counters.queues.entry(ns.to_owned()).or_default();
        let done = (capacity * dt).min(*queue + arrivals * dt);
        *queue = (*queue + arrivals * dt - done).max(0.0);
        let l = labels(&[("namespace", ns), ("queue_name", "celery")]);
        counters.add("celery_task_succeeded_total", &l, done * 0.99);
        counters.add("celery_task_failed_total", &l, done * 0.01);
    }
}

/// Every sample at `t`: the counters and the gauges of the state now.
fn samples(counters: &Counters, states: &[EnvState], t: f64) -> Vec<Sample> {
    let mut out: Vec<Sample> =
        counters.values.iter().map(|((name, l), v)| (name.clone(), l.clone(), *v)).collect();
    for state in states {
        let ns = state.namespace.as_str();
        for pod in &state.pods {
            let pod_labels = [
                ("namespace", ns),
                ("pod", pod.name.as_str()),
                ("container", pod.container.as_str()),
            ];
            out.push((
                "container_memory_working_set_bytes".into(),
                labels(&pod_labels),
                model::memory(pod, t),
            ));
            if let Some(limit) = pod.memory_limit {
                let l = labels(&[
                    pod_labels[0],
                    pod_labels[1],
                    pod_labels[2],
                    ("resource", "memory"),
                    ("unit", "byte"),
                ]);
                out.push(("kube_pod_container_resource_limits".into(), l, limit));
            }
            #[allow(clippy::cast_precision_loss)]
            let restarts = pod.restarts as f64;
            out.push((
                "kube_pod_container_status_restarts_total".into(),
                labels(&pod_labels),
                restarts,
            ));
            let l = labels(&[pod_labels[0], pod_labels[1], pod_labels[2], ("reason", "OOMKilled")]);
            out.push((
                "kube_pod_container_status_last_terminated_reason".into(),
                l,
                if pod.oom_killed { 1.0 } else { 0.0 },
            ));
            let l = labels(&[pod_labels[0], pod_labels[1], ("condition", "true")]);
            out.push(("kube_pod_status_ready".into(), l, if pod.ready { 1.0 } else { 0.0 }));
        }
        let queue = counters.queues.get(ns).copied().unwrap_or(0.0).round();
        out.push((
            "celery_queue_length".into(),
            labels(&[("namespace", ns), ("queue_name", "celery")]),
            queue,
        ));
        let database = state.ready("postgres") > 0;
        let db = [("namespace", ns)];
        out.push(("pg_up".into(), labels(&db), if database { 1.0 } else { 0.0 }));
        if database {
            let l = labels(&[("namespace", ns), ("datname", "co2calculator"), ("state", "active")]);
            out.push(("pg_stat_activity_count".into(), l, model::db_connections(state)));
            out.push(("pg_settings_max_connections".into(), labels(&db), 100.0));
            let l = labels(&[("namespace", ns), ("datname", "co2calculator")]);
            out.push(("pg_database_size_bytes".into(), l, model::db_size(t).round()));
        }
        let redis = state.ready("redis") > 0;
        out.push(("redis_up".into(), labels(&db), if redis { 1.0 } else { 0.0 }));
        if redis {
            let used = 36.0 * 1024.0 * 1024.0 + queue * 2048.0;
            out.push(("redis_memory_used_bytes".into(), labels(&db), used));
        }
    }
    out
}

/// The family a sample's name belongs to (`http_requests_total` → `http_requests`).
fn family(name: &str) -> &str {
    FAMILIES
        .iter()
        .map(|(f, _)| *f)
        .filter(|f| name.starts_with(f))
        .max_by_key(|f| f.len())
        .unwrap_or(name)
}

fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

impl Exporter {
    /// How many of the seeded environments have all their workloads' pods created (the
    /// history is written from the pods: before the controllers made them it would be empty).
    pub fn environments_with_pods(cluster: &Cluster) -> usize {
        states(cluster)
            .iter()
            .filter(|s| {
                ["frontend", "backend", "celery-worker", "redis", "postgres"]
                    .iter()
                    .all(|w| s.pods.iter().any(|p| p.workload == *w))
            })
            .count()
    }

    /// Whether every application namespace has all its workloads' pods.
    pub fn ready_for_history(cluster: &Cluster) -> bool {
        let (namespaces, _) = cluster.store.list(ids::NAMESPACE, None);
        let seeded = namespaces
            .iter()
            .filter(|n| str_at(n, "/metadata/name").starts_with("co2-calculator-"))
            .count();
        seeded > 0 && Self::environments_with_pods(cluster) == seeded
    }

    /// The metrics now, in Prometheus' text format (samples grouped by family, as it asks).
    pub fn render(&self, cluster: &Cluster, now: f64) -> String {
        let states = states(cluster);
        let mut counters = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        advance(&mut counters, &states, now);
        let samples = samples(&counters, &states, now);
        drop(counters);
        let mut out = String::new();
        for (name, kind) in FAMILIES {
            let mine: Vec<&Sample> = samples.iter().filter(|(n, _, _)| family(n) == name).collect();
            if mine.is_empty() {
                continue;
            }
            // The text format names a counter family with its `_total`.
            let typed = if kind == "counter" { format!("{name}_total") } else { name.to_owned() };
            let _ = writeln!(out, "# TYPE {typed} {kind}");
            for (n, l, v) in mine {
                let _ = writeln!(out, "{n}{l} {}", number(*v));
            }
        }
        out
    }

    /// Writes `days` of history ending at `end` (Unix seconds) to `out` as OpenMetrics,
    /// for `promtool tsdb create-blocks-from openmetrics`: a sample every 10 minutes, every
    /// 2 minutes over the last day and every 30 s over the last two hours (each range's
    /// chart then has its detail). The cluster is taken as it is now, all its pods ready;
    /// the live counters then go on from the last values.
    pub fn backfill(
        &self,
        cluster: &Cluster,
        end: i64,
        days: i64,
        out: &mut impl std::io::Write,
    ) -> std::io::Result<()> {
        let mut states = states(cluster);
        for state in &mut states {
            state.backend_crashing = false;
            for pod in &mut state.pods {
                pod.ready = true;
            }
        }
        // OpenMetrics wants each family's samples together, each series in time order.
        let mut by_family: Vec<String> = vec![String::new(); FAMILIES.len()];
        let mut counters = Counters::default();
        let mut t = end - days * 86_400;
        while t <= end {
            #[allow(clippy::cast_precision_loss)]
            let at = t as f64;
            advance(&mut counters, &states, at);
            for (n, l, v) in samples(&counters, &states, at) {
                let f = family(&n);
                if let Some(i) = FAMILIES.iter().position(|(name, _)| *name == f) {
                    let _ = writeln!(by_family[i], "{n}{l} {} {t}", number(v));
                }
            }
            t += match end - t {
                left if left <= 2 * 3600 => 30,
                left if left <= 86_400 => 120,
                _ => 600,
            };
        }
        for ((name, kind), lines) in FAMILIES.iter().zip(&by_family) {
            writeln!(out, "# TYPE {name} {kind}")?;
            out.write_all(lines.as_bytes())?;
        }
        writeln!(out, "# EOF")?;
        let mut live = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *live = counters;
        Ok(())
    }
}

#[derive(serde::Deserialize)]
pub struct HistoryQuery {
    days: Option<String>,
}

/// `GET /simulator/history?days=7`: the history for Prometheus' backfill (the demo asks
/// once, before it starts Prometheus). 503 until the controllers have made every pod.
pub async fn history(
    State(cluster): State<Cluster>,
    axum::extract::Query(query): axum::extract::Query<HistoryQuery>,
) -> axum::response::Response {
    use axum::http::StatusCode;
    let days = match query.days.as_deref().map(str::parse::<i64>) {
        None => 7,
        Some(Ok(days)) if (1..=30).contains(&days) => days,
        Some(_) => {
            return (StatusCode::BAD_REQUEST, "days must be a whole number from 1 to 30\n")
                .into_response()
        }
    };
    if !Exporter::ready_for_history(&cluster) {
        return (StatusCode::SERVICE_UNAVAILABLE, "the pods are not all created yet\n")
            .into_response();
    }
    let end = chrono::Utc::now().timestamp();
    // Seconds of work for a week: off the threads that answer the API.
    let written = tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        cluster.exporter.backfill(&cluster, end, days, &mut out).map(|()| out)
    })
    .await;
    match written {
        Ok(Ok(text)) => {
            ([(axum::http::header::CONTENT_TYPE, "application/openmetrics-text")], text)
                .into_response()
        }
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "the history could not be written\n")
            .into_response(),
    }
}

/// `GET /metrics`.
pub async fn metrics(State(cluster): State<Cluster>) -> impl IntoResponse {
    let now = chrono::Utc::now().timestamp_millis();
    #[allow(clippy::cast_precision_loss)]
    let now = now as f64 / 1000.0;
    let text = cluster.exporter.render(&cluster, now);
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backend(name: &str, ready: bool) -> Pod {
        Pod {
            name: name.into(),
            workload: "backend".into(),
            container: "backend".into(),
            ready,
            restarts: 0,
            memory_limit: None,
            oom_killed: false,
        }
    }

    fn errors_and_requests(counters: &Counters) -> (f64, f64) {
        let of = |status: &str| -> f64 {
            counters
                .values
                .iter()
                .filter(|((n, l), _)| n == "http_requests_total" && l.contains(status))
                .map(|(_, v)| v)
                .sum()
        };
        (of("\"5xx\""), of("\"2xx\"") + of("\"5xx\""))
    }

    #[test]
    fn a_crash_looping_backend_still_answers_and_fails_a_quarter() {
        let mut state = EnvState {
            namespace: "co2-calculator-prod".into(),
            pods: vec![backend("backend-a-1", false), backend("backend-a-2", false)],
            backend_crashing: true,
        };
        let mut counters = Counters::default();
        advance(&mut counters, std::slice::from_ref(&state), 1_764_676_800.0);
        advance(&mut counters, std::slice::from_ref(&state), 1_764_676_860.0);
        let (errors, requests) = errors_and_requests(&counters);
        assert!(requests > 0.0 && (errors / requests - 0.25).abs() < 1e-9, "{errors}/{requests}");
        // Unready without a crash loop (a rollout, a failing probe): no traffic reaches it.
        state.backend_crashing = false;
        let mut quiet = Counters::default();
        advance(&mut quiet, std::slice::from_ref(&state), 1_764_676_800.0);
        advance(&mut quiet, std::slice::from_ref(&state), 1_764_676_860.0);
        assert_eq!(errors_and_requests(&quiet).1, 0.0);
    }
}
