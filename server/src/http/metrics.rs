//! Prometheus metrics: HTTP traffic, the database pool, and the process itself.

use std::time::Duration;

use gantry_app::backups::model::BackupState;
use prometheus::{
    Encoder, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    durations: HistogramVec,
    in_flight: IntGauge,
    pool_connections: IntGaugeVec,
    backup_last_success: GaugeVec,
    backup_state: IntGaugeVec,
    log_streams: IntGauge,
    log_cut_off: prometheus::IntCounter,
}

/// One request being answered; counted out when dropped (answered, or cut off).
pub struct InFlight(IntGauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[derive(Debug, thiserror::Error)]
#[error("cannot set up the metrics registry: {0}")]
pub struct MetricsError(#[from] prometheus::Error);

impl Metrics {
    pub fn new(pool_max_connections: u32) -> Result<Self, MetricsError> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests answered, by route and status."),
            &["method", "route", "status"],
        )?;
        // Page renders take well under 10 ms when healthy: fine buckets at the low end.
        let durations = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time from receiving a request to its response headers.",
            )
            .buckets(vec![
                0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                10.0,
            ]),
            &["method", "route"],
        )?;
        let in_flight =
            IntGauge::new("http_requests_in_flight", "HTTP requests being answered right now.")?;
        let pool_connections = IntGaugeVec::new(
            Opts::new("gantry_db_pool_connections", "Database connections held by the pool."),
            &["state"],
        )?;
        let pool_max = IntGauge::new(
            "gantry_db_pool_max_connections",
            "The most connections the pool will open.",
        )?;
        pool_max.set(i64::from(pool_max_connections));
        let build = IntGaugeVec::new(
            Opts::new("gantry_build_info", "Always 1; labels say which Gantry is running."),
            &["version"],
        )?;
        build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);

        let backup_last_success = GaugeVec::new(
            Opts::new(
                "gantry_backup_last_success_timestamp_seconds",
                "When the last good database backup of each environment finished (absent: none did).",
            ),
            &["environment", "namespace"],
        )?;
        let backup_state = IntGaugeVec::new(
            Opts::new(
                "gantry_backup_state",
                "1 for each environment's backup state (fresh, stale, never, unknown), 0 for the others.",
            ),
            &["environment", "namespace", "state"],
        )?;
        let log_streams =
            IntGauge::new("gantry_log_streams_open", "Log streams and downloads open right now.")?;
        let log_cut_off = prometheus::IntCounter::new(
            "gantry_log_streams_cut_off_total",
            "Log streams stopped because their page did not read its lines.",
        )?;
        registry.register(Box::new(log_streams.clone()))?;
        registry.register(Box::new(log_cut_off.clone()))?;
        registry.register(Box::new(backup_last_success.clone()))?;
        registry.register(Box::new(backup_state.clone()))?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(durations.clone()))?;
        registry.register(Box::new(in_flight.clone()))?;
        registry.register(Box::new(pool_connections.clone()))?;
        registry.register(Box::new(pool_max))?;
        registry.register(Box::new(build))?;
        registry.register(Box::new(prometheus::process_collector::ProcessCollector::for_self()))?;
        Ok(Self {
            registry,
            requests,
            durations,
            in_flight,
            pool_connections,
            backup_last_success,
            backup_state,
            log_streams,
            log_cut_off,
        })
    }

    /// Counts a request in until the returned guard is dropped.
    pub fn request_started(&self) -> InFlight {
        self.in_flight.inc();
        InFlight(self.in_flight.clone())
    }

    pub fn observe_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        self.requests.with_label_values(&[method, route, &status.to_string()]).inc();
        self.durations.with_label_values(&[method, route]).observe(elapsed.as_secs_f64());
    }

    /// The exposition text. Pool figures and backup states are read at scrape time so
    /// they are never stale.
    pub fn render(
        &self,
        context: &gantry_app::context::ServerContext,
        log_streams: usize,
    ) -> String {
        let pool = &context.db;
        self.log_streams.set(i64::try_from(log_streams).unwrap_or(i64::MAX));
        let cut = gantry_app::logs::follow::CUT_OFF.load(std::sync::atomic::Ordering::Relaxed);
        self.log_cut_off.inc_by(cut.saturating_sub(self.log_cut_off.get()));
        let now_ms = chrono::Utc::now().timestamp_millis();
        for env in context.environments.iter() {
            let glance = context.backups.glance(&env.name, env.backups.max_age_hours, now_ms);
            let labels = [env.name.as_str(), env.namespace.as_str()];
            match glance.last_good_ms {
                #[allow(clippy::cast_precision_loss)] // milliseconds since 1970 fit in f64
                Some(ms) => {
                    self.backup_last_success.with_label_values(&labels).set(ms as f64 / 1000.0);
                }
                None => {
                    let _ = self.backup_last_success.remove_label_values(&labels);
                }
            }
            for state in
                [BackupState::Fresh, BackupState::Stale, BackupState::Never, BackupState::Unknown]
            {
                let value = i64::from(glance.state == state);
                self.backup_state
                    .with_label_values(&[&env.name, &env.namespace, state.word()])
                    .set(value);
            }
        }
        let idle = i64::try_from(pool.num_idle()).unwrap_or(i64::MAX);
        let size = i64::from(pool.size());
        self.pool_connections.with_label_values(&["idle"]).set(idle);
        self.pool_connections.with_label_values(&["in_use"]).set((size - idle).max(0));
        let mut out = Vec::new();
        if let Err(error) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::error!(%error, "cannot encode metrics");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}
