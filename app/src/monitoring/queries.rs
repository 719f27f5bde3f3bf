//! The charts the Metrics pages show and the PromQL behind each, built here from the
//! configuration: the environment's or workload's label matchers, the backend's label
//! names and 5xx pattern, and the window's step and rate window. People choose an
//! environment, a workload and a range; they never send PromQL.

use crate::config::{EnvironmentConfig, PrometheusConfig};

use super::window::{promql_duration, Window};

/// What a chart's numbers are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Requests or tasks per second.
    PerSecond,
    /// A share between 0 and 1, shown as a percentage.
    Ratio,
    Seconds,
    Bytes,
    /// CPU cores.
    Cores,
    /// Things counted: restarts, connections, tasks waiting.
    Count,
}

/// Which part of the stack a chart is about (the page groups them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    Traffic,
    Pods,
    Celery,
    Database,
    Redis,
}

impl Group {
    pub fn title(self) -> &'static str {
        match self {
            Group::Traffic => "Backend traffic",
            Group::Pods => "Pods",
            Group::Celery => "Celery",
            Group::Database => "PostgreSQL",
            Group::Redis => "Redis",
        }
    }
}

/// One chart: what it is called, the query drawing its series, and optionally a query
/// for the line it must stay under (a limit).
#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    /// Stable id (the chart's anchor on the page).
    pub id: &'static str,
    pub group: Group,
    pub title: &'static str,
    pub unit: Unit,
    pub expr: String,
    /// The label naming each series in the legend (`pod`, the handler label), if several.
    pub legend: Option<String>,
    /// The limit drawn as a dashed line: memory limit, `max_connections`.
    pub limit: Option<String>,
    /// What a person should know when the selector matches nothing.
    pub needs: &'static str,
}

/// The selector a chart scope uses: a whole environment, or one workload's pods.
pub struct Scope<'a> {
    pub environment: &'a EnvironmentConfig,
    /// The workload, when the page is about one.
    pub workload: Option<&'a str>,
}

impl Scope<'_> {
    /// The label matchers of the scope, without braces.
    pub fn selector(&self) -> &str {
        self.workload
            .and_then(|w| self.environment.workload(w))
            .map_or(self.environment.prometheus_selector.as_str(), |w| {
                w.prometheus_selector.as_str()
            })
    }
}

/// `{a,b}` from matcher lists, leaving out empty ones.
fn matchers(parts: &[&str]) -> String {
    let kept: Vec<&str> = parts.iter().copied().filter(|p| !p.trim().is_empty()).collect();
    format!("{{{}}}", kept.join(","))
}

/// The charts of `scope` over `window`. A workload page shows its pods and, for a
/// workload serving HTTP, its traffic; the environment page shows every group.
pub fn charts(scope: &Scope<'_>, prometheus: &PrometheusConfig, window: &Window) -> Vec<Chart> {
    let sel = scope.selector();
    let rate = window.rate_window_promql();
    // Gauges are read at their highest within each step, so a short peak stays visible on
    // a week-long chart (a plain sample every 42 minutes would step over it).
    let step = promql_duration(window.step);
    let handler = &prometheus.handler_label;
    let errors = format!("{}=~\"{}\"", prometheus.status_label, prometheus.error_status);
    let containers = "container!=\"\",container!=\"POD\"";
    let requests = matchers(&[sel]);
    let failed = matchers(&[sel, &errors]);
    let pods = matchers(&[sel, containers]);
    let highr = "http_request_duration_highr_seconds_bucket";
    let mut out = vec![
        Chart {
            id: "requests",
            group: Group::Traffic,
            title: "Request rate",
            unit: Unit::PerSecond,
            expr: format!("sum(rate(http_requests_total{requests}[{rate}]))"),
            legend: None,
            limit: None,
            needs: "http_requests_total from the backend",
        },
        Chart {
            id: "errors",
            group: Group::Traffic,
            title: "Error ratio (server errors)",
            unit: Unit::Ratio,
            expr: format!(
                "sum(rate(http_requests_total{failed}[{rate}])) / sum(rate(http_requests_total{requests}[{rate}]))"
            ),
            legend: None,
            limit: None,
            needs: "http_requests_total from the backend",
        },
        Chart {
            id: "latency",
            group: Group::Traffic,
            title: "Latency, 95th percentile",
            unit: Unit::Seconds,
            expr: format!(
                "histogram_quantile(0.95, sum by (le) (rate({highr}{requests}[{rate}])))"
            ),
            legend: None,
            limit: None,
            needs: "http_request_duration_highr_seconds from the backend",
        },
        Chart {
            id: "slow-endpoints",
            group: Group::Traffic,
            title: "Slowest endpoints, 95th percentile",
            unit: Unit::Seconds,
            expr: format!(
                "topk(5, histogram_quantile(0.95, sum by (le, {handler}) (rate({highr}{requests}[{rate}]))))"
            ),
            legend: Some(handler.clone()),
            limit: None,
            needs: "http_request_duration_highr_seconds from the backend",
        },
        Chart {
            id: "cpu",
            group: Group::Pods,
            title: "CPU per pod",
            unit: Unit::Cores,
            expr: format!(
                "sum by (pod) (rate(container_cpu_usage_seconds_total{pods}[{rate}]))"
            ),
            legend: Some("pod".into()),
            limit: Some(format!(
                "max(kube_pod_container_resource_limits{})",
                matchers(&[sel, "resource=\"cpu\""])
            )),
            needs: "cAdvisor's container_cpu_usage_seconds_total",
        },
        Chart {
            id: "memory",
            group: Group::Pods,
            title: "Memory working set per pod",
            unit: Unit::Bytes,
            // A gauge: its highest value per step, never rate().
            expr: format!(
                "sum by (pod) (max_over_time(container_memory_working_set_bytes{pods}[{step}]))"
            ),
            legend: Some("pod".into()),
            limit: Some(format!(
                "max(kube_pod_container_resource_limits{})",
                matchers(&[sel, "resource=\"memory\""])
            )),
            needs: "cAdvisor's container_memory_working_set_bytes",
        },
        Chart {
            id: "throttling",
            group: Group::Pods,
            title: "CPU throttling per pod",
            unit: Unit::Ratio,
            expr: format!(
                "sum by (pod) (rate(container_cpu_cfs_throttled_periods_total{pods}[{rate}])) / sum by (pod) (rate(container_cpu_cfs_periods_total{pods}[{rate}]))"
            ),
            legend: Some("pod".into()),
            limit: None,
            needs: "cAdvisor's container_cpu_cfs_periods_total (only pods with a CPU limit)",
        },
        Chart {
            id: "restarts",
            group: Group::Pods,
            title: "Container restarts per pod",
            unit: Unit::Count,
            expr: format!(
                "sum by (pod) (increase(kube_pod_container_status_restarts_total{requests}[{rate}]))"
            ),
            legend: Some("pod".into()),
            limit: None,
            needs: "kube-state-metrics' kube_pod_container_status_restarts_total",
        },
        Chart {
            id: "oom-kills",
            group: Group::Pods,
            title: "Containers last ended by an OOM kill",
            unit: Unit::Count,
            expr: format!(
                "sum by (pod) (max_over_time(kube_pod_container_status_last_terminated_reason{}[{step}]))",
                matchers(&[sel, "reason=\"OOMKilled\""])
            ),
            legend: Some("pod".into()),
            limit: None,
            needs: "kube-state-metrics' kube_pod_container_status_last_terminated_reason",
        },
    ];
    if scope.workload.is_none() {
        let env = matchers(&[sel]);
        out.extend([
            Chart {
                id: "celery-queue",
                group: Group::Celery,
                title: "Tasks waiting per queue",
                unit: Unit::Count,
                expr: format!(
                    "sum by (queue_name) (max_over_time(celery_queue_length{env}[{step}]))"
                ),
                legend: Some("queue_name".into()),
                limit: None,
                needs: "celery-exporter's celery_queue_length",
            },
            Chart {
                id: "celery-failures",
                group: Group::Celery,
                title: "Failed tasks",
                unit: Unit::PerSecond,
                expr: format!("sum(rate(celery_task_failed_total{env}[{rate}]))"),
                legend: None,
                limit: None,
                needs: "celery-exporter's celery_task_failed_total",
            },
            Chart {
                id: "db-connections",
                group: Group::Database,
                title: "Connections",
                unit: Unit::Count,
                expr: format!("sum(max_over_time(pg_stat_activity_count{env}[{step}]))"),
                legend: None,
                limit: Some(format!("max(pg_settings_max_connections{env})")),
                needs: "postgres_exporter's pg_stat_activity_count",
            },
            Chart {
                id: "db-size",
                group: Group::Database,
                title: "Database size",
                unit: Unit::Bytes,
                expr: format!(
                    "sum by (datname) (max_over_time(pg_database_size_bytes{env}[{step}]))"
                ),
                legend: Some("datname".into()),
                limit: None,
                needs: "postgres_exporter's pg_database_size_bytes",
            },
            Chart {
                id: "redis-memory",
                group: Group::Redis,
                title: "Memory used",
                unit: Unit::Bytes,
                expr: format!("sum(max_over_time(redis_memory_used_bytes{env}[{step}]))"),
                legend: None,
                limit: None,
                needs: "redis_exporter's redis_memory_used_bytes",
            },
        ]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitoring::window::named;
    use std::time::Duration;

    fn environment() -> EnvironmentConfig {
        EnvironmentConfig {
            name: "prod".to_owned(),
            namespace: "co2-prod".to_owned(),
            argocd_application: None,
            argocd_namespace: "argocd".to_owned(),
            cluster_context: None,
            prometheus_selector: "namespace=\"co2-prod\"".to_owned(),
            grafana_url: None,
            workloads: vec![crate::config::WorkloadConfig {
                name: "backend".to_owned(),
                kind: crate::status::model::WorkloadKind::Deployment,
                min_replicas: 1,
                max_replicas: 4,
                prometheus_selector: "namespace=\"co2-prod\",pod=~\"backend-[a-z0-9]+-[a-z0-9]+\""
                    .to_owned(),
                grafana_url: None,
            }],
            policy: crate::access::EnvironmentPolicy::open(),
            backups: Default::default(),
        }
    }

    fn prometheus() -> PrometheusConfig {
        PrometheusConfig {
            url: "http://prometheus:9090/".into(),
            scrape_interval_secs: 30,
            handler_label: "endpoint".into(),
            status_label: "code".into(),
            error_status: "5xx".into(),
        }
    }

    fn window(range: &str) -> Window {
        let range = named(range).expect("an offered range");
        Window::ending(1_764_669_600, range, Duration::from_secs(30))
    }

    #[test]
    fn every_rate_uses_the_windows_rate_and_never_a_fixed_minute() {
        let env = environment();
        let scope = Scope { environment: &env, workload: None };
        for (range, rate) in [("1h", "[2m]"), ("24h", "[6m30s]"), ("7d", "[42m30s]")] {
            for chart in charts(&scope, &prometheus(), &window(range)) {
                if chart.expr.contains("rate(") || chart.expr.contains("increase(") {
                    assert!(chart.expr.contains(rate), "{range} {}: {}", chart.id, chart.expr);
                }
                assert!(!chart.expr.contains("[1m]"), "{}", chart.expr);
            }
        }
    }

    #[test]
    fn gauges_take_their_peak_per_step_and_are_never_rated() {
        let env = environment();
        let scope = Scope { environment: &env, workload: None };
        let all = charts(&scope, &prometheus(), &window("24h"));
        let memory = all.iter().find(|c| c.id == "memory").expect("a memory chart");
        assert!(memory.expr.contains("max_over_time(container_memory_working_set_bytes{"));
        assert!(memory.expr.contains("}[6m])"), "{}", memory.expr);
        for chart in &all {
            assert!(!chart.expr.contains("rate(container_memory"), "{}", chart.expr);
            assert!(!chart.expr.contains("container_memory_usage_bytes"), "{}", chart.expr);
        }
    }

    #[test]
    fn the_backends_label_names_and_error_pattern_come_from_the_configuration() {
        let env = environment();
        let scope = Scope { environment: &env, workload: None };
        let all = charts(&scope, &prometheus(), &window("1h"));
        let errors = all.iter().find(|c| c.id == "errors").expect("an error chart");
        assert_eq!(
            errors.expr,
            "sum(rate(http_requests_total{namespace=\"co2-prod\",code=~\"5xx\"}[2m])) / sum(rate(http_requests_total{namespace=\"co2-prod\"}[2m]))"
        );
        let slow = all.iter().find(|c| c.id == "slow-endpoints").expect("a slow-endpoint chart");
        assert!(slow.expr.contains("sum by (le, endpoint)"), "{}", slow.expr);
        assert_eq!(slow.legend.as_deref(), Some("endpoint"));
    }

    #[test]
    fn a_workload_page_uses_its_pods_selector_and_leaves_out_the_other_services() {
        let env = environment();
        let scope = Scope { environment: &env, workload: Some("backend") };
        let all = charts(&scope, &prometheus(), &window("1h"));
        let cpu = all.iter().find(|c| c.id == "cpu").expect("a CPU chart");
        assert!(
            cpu.expr.contains(
                "{namespace=\"co2-prod\",pod=~\"backend-[a-z0-9]+-[a-z0-9]+\",container!=\"\",container!=\"POD\"}"
            ),
            "{}",
            cpu.expr
        );
        assert!(all
            .iter()
            .all(|c| !matches!(c.group, Group::Celery | Group::Database | Group::Redis)));
        let whole = Scope { environment: &env, workload: None };
        assert!(charts(&whole, &prometheus(), &window("1h"))
            .iter()
            .any(|c| c.id == "redis-memory"));
    }
}
