//! Metrics from Prometheus, per environment and workload: `/monitoring` shows the charts
//! of one environment (or one of its workloads) over a range, drawn on the server, with
//! the panel's own changes marked on them. Queries are built here from the configuration
//! (`queries`), answered once per step for every viewer (`cache`), and every failure is
//! said in words that name what failed.

#[cfg(feature = "ssr")]
pub mod alertmanager;
#[cfg(feature = "ssr")]
pub mod alerts;
#[cfg(feature = "ssr")]
pub mod cache;
#[cfg(feature = "ssr")]
pub mod chart;
#[cfg(feature = "ssr")]
pub mod drawn;
#[cfg(feature = "ssr")]
pub mod model;
#[cfg(feature = "ssr")]
pub mod page;
#[cfg(feature = "ssr")]
pub mod prometheus;
#[cfg(feature = "ssr")]
pub mod queries;
#[cfg(feature = "ssr")]
pub mod routes;
#[cfg(feature = "ssr")]
pub mod summary;
pub mod window;

/// What the server keeps for the Metrics pages: the configuration and the shared cache in
/// front of Prometheus.
#[cfg(feature = "ssr")]
pub struct Monitoring {
    pub config: crate::config::PrometheusConfig,
    pub cache: cache::Cache,
    /// The charts as drawn, for every viewer of the same window.
    pub drawings: drawn::Drawings,
}

#[cfg(feature = "ssr")]
impl Monitoring {
    /// The client and cache for `config`, signing in with `credentials`; with an
    /// Alertmanager (its URL and credentials), silences too.
    pub fn new(
        config: crate::config::PrometheusConfig,
        credentials: prometheus::Credentials,
        alertmanager: Option<(String, prometheus::Credentials)>,
    ) -> Result<Self, String> {
        let url = url::Url::parse(&config.url)
            .map_err(|e| format!("prometheus.url {:?} cannot be used: {e}", config.url))?;
        let client = prometheus::Prometheus::new(url, credentials)?;
        let alertmanager = match alertmanager {
            Some((url, credentials)) => {
                let url = url::Url::parse(&url)
                    .map_err(|e| format!("alertmanager.url {url:?} cannot be used: {e}"))?;
                Some(alertmanager::Alertmanager::new(url, credentials)?)
            }
            None => None,
        };
        Ok(Self {
            config,
            cache: cache::Cache::new(client, alertmanager),
            drawings: drawn::Drawings::default(),
        })
    }

    /// The scrape interval: the shortest step.
    pub fn scrape(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.config.scrape_interval_secs)
    }
}
