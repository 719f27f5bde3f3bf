//! The configuration file: read as raw optional values, then validated into `Settings`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

use super::environments::{self, RawEnvironment};
use super::{
    ClusterSettings, ClusterSource, ConfigError, DatabaseSettings, LogFormat, LogSettings,
    ServerSettings, Settings, SimulatorSettings,
};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSettings {
    #[serde(default)]
    pub server: RawServer,
    #[serde(default)]
    pub database: RawDatabase,
    #[serde(default)]
    pub log: RawLog,
    pub environments: Option<Vec<RawEnvironment>>,
    #[serde(default)]
    pub simulator: RawSimulator,
    #[serde(default)]
    pub cluster: RawCluster,
    #[serde(default)]
    pub auth: super::auth::RawAuth,
    #[serde(default)]
    pub access: super::access::RawAccess,
    #[serde(default)]
    pub notifications: RawNotifications,
    #[serde(default)]
    pub prometheus: super::prometheus::RawPrometheus,
    /// From the environment only (never the file): how to sign in to Prometheus.
    #[serde(skip)]
    pub prometheus_auth: super::prometheus::PrometheusAuth,
    #[serde(default)]
    pub alertmanager: super::prometheus::RawAlertmanager,
    /// From the environment only: how to sign in to Alertmanager.
    #[serde(skip)]
    pub alertmanager_auth: super::prometheus::PrometheusAuth,
    /// Where each key's value came from, for error messages.
    #[serde(skip)]
    pub origins: HashMap<&'static str, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNotifications {
    pub webhook_url: Option<String>,
    pub allow_plain_http: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    pub listen: Option<String>,
    pub site_root: Option<PathBuf>,
    pub shutdown_grace_seconds: Option<u64>,
    pub shutdown_delay_seconds: Option<u64>,
    pub public_hosts: Option<Vec<String>>,
    pub metrics_listen: Option<String>,
    pub max_connections: Option<usize>,
    pub header_timeout_seconds: Option<u64>,
    pub request_timeout_seconds: Option<u64>,
    pub trusted_proxies: Option<Vec<String>>,
    pub allow_demo_on_a_real_cluster: Option<bool>,
    pub log_streams_per_person: Option<usize>,
    pub log_streams_in_all: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDatabase {
    pub url: Option<SecretString>,
    pub migration_url: Option<SecretString>,
    pub max_connections: Option<u32>,
    pub connect_timeout_seconds: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLog {
    pub format: Option<String>,
    pub level: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSimulator {
    pub enabled: Option<bool>,
    pub port: Option<u16>,
    pub speed: Option<f64>,
    pub kubeconfig: Option<PathBuf>,
    pub environments: Option<usize>,
    pub extra_workloads: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCluster {
    pub source: Option<String>,
    pub context: Option<String>,
}

pub fn read(path: &str) -> Result<RawSettings, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError::new("GANTRY_CONFIG", "the environment", format!("cannot read {path}: {e}"))
    })?;
    parse(&text, path)
}

pub fn parse(text: &str, path: &str) -> Result<RawSettings, ConfigError> {
    let deserializer = toml::Deserializer::new(text);
    let mut raw: RawSettings = serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let key = e.path().to_string();
        let inner = e.into_inner();
        let line = inner.span().map(|span| line_of(text, span.start));
        let origin = match line {
            Some(line) => format!("{path}, line {line}"),
            None => path.to_owned(),
        };
        let key = if key == "." { "(file)".to_owned() } else { key };
        ConfigError::new(key, origin, inner.message().to_owned())
    })?;
    let present = [
        ("server.listen", raw.server.listen.is_some()),
        ("server.site_root", raw.server.site_root.is_some()),
        ("server.shutdown_grace_seconds", raw.server.shutdown_grace_seconds.is_some()),
        ("server.shutdown_delay_seconds", raw.server.shutdown_delay_seconds.is_some()),
        ("server.public_hosts", raw.server.public_hosts.is_some()),
        ("server.metrics_listen", raw.server.metrics_listen.is_some()),
        ("server.max_connections", raw.server.max_connections.is_some()),
        ("server.header_timeout_seconds", raw.server.header_timeout_seconds.is_some()),
        ("server.request_timeout_seconds", raw.server.request_timeout_seconds.is_some()),
        ("server.trusted_proxies", raw.server.trusted_proxies.is_some()),
        ("server.allow_demo_on_a_real_cluster", raw.server.allow_demo_on_a_real_cluster.is_some()),
        ("database.url", raw.database.url.is_some()),
        ("database.migration_url", raw.database.migration_url.is_some()),
        ("database.max_connections", raw.database.max_connections.is_some()),
        ("database.connect_timeout_seconds", raw.database.connect_timeout_seconds.is_some()),
        ("log.format", raw.log.format.is_some()),
        ("log.level", raw.log.level.is_some()),
        ("environments", raw.environments.is_some()),
        ("simulator.enabled", raw.simulator.enabled.is_some()),
        ("cluster.source", raw.cluster.source.is_some()),
        ("simulator.port", raw.simulator.port.is_some()),
        ("simulator.speed", raw.simulator.speed.is_some()),
        ("simulator.kubeconfig", raw.simulator.kubeconfig.is_some()),
        ("simulator.environments", raw.simulator.environments.is_some()),
        ("simulator.extra_workloads", raw.simulator.extra_workloads.is_some()),
        ("access.groups", raw.access.groups.is_some()),
        ("access.values_visible_to", raw.access.values_visible_to.is_some()),
        ("notifications.webhook_url", raw.notifications.webhook_url.is_some()),
        ("notifications.allow_plain_http", raw.notifications.allow_plain_http.is_some()),
        ("prometheus.url", raw.prometheus.url.is_some()),
        ("prometheus.scrape_interval_seconds", raw.prometheus.scrape_interval_seconds.is_some()),
        ("prometheus.handler_label", raw.prometheus.handler_label.is_some()),
        ("prometheus.status_label", raw.prometheus.status_label.is_some()),
        ("prometheus.error_status", raw.prometheus.error_status.is_some()),
        ("alertmanager.url", raw.alertmanager.url.is_some()),
    ];
    // Every auth key comes from the file unless a variable set it later.
    raw.origins.insert("auth", path.to_owned());
    for (key, is_present) in present {
        if is_present {
            raw.origins.insert(key, path.to_owned());
        }
    }
    Ok(raw)
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).map_or(0, |before| before.matches('\n').count()) + 1
}

pub fn validate(raw: RawSettings) -> Result<Settings, ConfigError> {
    let origin = |key: &'static str| {
        raw.origins.get(key).cloned().unwrap_or_else(|| "the built-in default".to_owned())
    };
    let fail = |key: &'static str, problem: String| ConfigError::new(key, origin(key), problem);

    let listen_text = raw.server.listen.as_deref().unwrap_or("127.0.0.1:3000");
    let listen: SocketAddr = listen_text.parse().map_err(|_| {
        fail(
            "server.listen",
            format!("{listen_text:?} is not an address and port such as 127.0.0.1:3000"),
        )
    })?;

    let grace = raw.server.shutdown_grace_seconds.unwrap_or(30);
    if grace > 600 {
        return Err(fail(
            "server.shutdown_grace_seconds",
            format!("{grace} is too long; at most 600 seconds"),
        ));
    }

    let delay = raw.server.shutdown_delay_seconds.unwrap_or(0);
    if delay > 120 {
        return Err(fail(
            "server.shutdown_delay_seconds",
            format!("{delay} is too long; at most 120 seconds"),
        ));
    }

    let limits = super::server::validate(&raw.server, &fail)?;

    let url = raw.database.url.ok_or_else(|| {
        fail(
            "database.url",
            "missing: set GANTRY_DATABASE_URL (or DATABASE_URL), or database.url in the file"
                .to_owned(),
        )
    })?;
    check_database_url(&url).map_err(|problem| fail("database.url", problem))?;
    let migration_url = raw.database.migration_url;
    if let Some(owner) = &migration_url {
        check_database_url(owner).map_err(|problem| fail("database.migration_url", problem))?;
    }

    let max_connections = raw.database.max_connections.unwrap_or(10);
    if !(1..=200).contains(&max_connections) {
        return Err(fail(
            "database.max_connections",
            format!("{max_connections} is out of range; use 1 to 200"),
        ));
    }
    let connect_timeout = raw.database.connect_timeout_seconds.unwrap_or(5);
    if !(1..=300).contains(&connect_timeout) {
        return Err(fail(
            "database.connect_timeout_seconds",
            format!("{connect_timeout} is out of range; use 1 to 300"),
        ));
    }

    let format = match raw.log.format.as_deref().unwrap_or("auto") {
        "auto" => LogFormat::Auto,
        "json" => LogFormat::Json,
        "text" => LogFormat::Text,
        other => {
            return Err(fail(
                "log.format",
                format!("{other:?} is not one of \"auto\", \"json\", \"text\""),
            ))
        }
    };
    let level = raw.log.level.unwrap_or_else(|| "info,sqlx=warn".to_owned());
    if let Err(e) = tracing_subscriber::EnvFilter::try_new(&level) {
        return Err(fail("log.level", format!("{level:?} is not a valid log filter: {e}")));
    }

    let speed = raw.simulator.speed.unwrap_or(1.0);
    if !(0.1..=3600.0).contains(&speed) {
        return Err(fail("simulator.speed", format!("{speed} is out of range; use 0.1 to 3600")));
    }
    let seeded = raw.simulator.environments.unwrap_or(3);
    if !(1..=100).contains(&seeded) {
        return Err(fail(
            "simulator.environments",
            format!("{seeded} is out of range; use 1 to 100"),
        ));
    }
    let extra_workloads = raw.simulator.extra_workloads.unwrap_or(0);
    if extra_workloads > 50 {
        return Err(fail(
            "simulator.extra_workloads",
            format!("{extra_workloads} is out of range; use 0 to 50"),
        ));
    }
    let simulator = SimulatorSettings {
        enabled: raw.simulator.enabled.unwrap_or(false),
        port: raw.simulator.port.unwrap_or(16443),
        speed,
        kubeconfig: raw.simulator.kubeconfig,
        environments: seeded,
        extra_workloads,
    };

    let source = match raw.cluster.source.as_deref() {
        Some("in-cluster") => ClusterSource::InCluster,
        Some("kubeconfig") => ClusterSource::Kubeconfig,
        Some("simulator") => ClusterSource::Simulator,
        Some("none") => ClusterSource::None,
        // The demo's simulator is the cluster unless another one is named.
        None if simulator.enabled => ClusterSource::Simulator,
        // Demo people on a real cluster only when both are asked for by name (below).
        None if raw.auth.mode.as_deref() == Some("demo") => ClusterSource::None,
        None => ClusterSource::InCluster,
        Some(other) => {
            return Err(fail(
                "cluster.source",
                format!(
                "{other:?} is not one of \"in-cluster\", \"kubeconfig\", \"simulator\", \"none\""
            ),
            ))
        }
    };
    if source == ClusterSource::Simulator && !simulator.enabled {
        return Err(fail(
            "cluster.source",
            "\"simulator\" needs simulator.enabled = true".to_owned(),
        ));
    }
    let cluster = ClusterSettings { source, context: raw.cluster.context };

    let environments = match raw.environments {
        // The simulator's environments, named as it seeds them (the CO2 calculator's three
        // unless simulator.environments says otherwise).
        None if simulator.enabled => {
            environments::defaults_for(&gantry_sim::seed::environment_names(seeded))
        }
        None => environments::defaults(),
        Some(list) => environments::validate(list, source == ClusterSource::Kubeconfig).map_err(
            |(key, problem)| {
                ConfigError::new(format!("environments{key}"), origin("environments"), problem)
            },
        )?,
    };
    let names: Vec<&str> = environments.iter().map(|e| e.name.as_str()).collect();
    let role_mapping = match raw.access.groups {
        None => super::access::default_groups()
            .into_iter()
            // The built-in mapping names the built-in environments; keep what exists.
            .map(|mut g| {
                g.roles.retain(|(env, _)| env == "*" || names.contains(&env.as_str()));
                g
            })
            .filter(|g| !g.roles.is_empty())
            .collect(),
        Some(list) => super::access::validate_groups(list, &names).map_err(|(key, problem)| {
            ConfigError::new(format!("access.groups{key}"), origin("access.groups"), problem)
        })?,
    };
    let values_visible_to = match raw.access.values_visible_to.as_deref() {
        None => gantry_app::access::Role::Operator,
        Some(name) => gantry_app::access::Role::parse(name).ok_or_else(|| {
            fail(
                "access.values_visible_to",
                format!("{name:?} is not one of \"viewer\", \"operator\", \"approver\", \"admin\""),
            )
        })?,
    };
    let auth_origins = raw.origins.clone();
    let auth = super::auth::validate(raw.auth, listen).map_err(|(key, problem)| {
        let full = format!("auth.{key}");
        let from = auth_origins
            .get(full.as_str())
            .or_else(|| auth_origins.get("auth"))
            .cloned()
            .unwrap_or_else(|| "the built-in default".to_owned());
        ConfigError::new(full, from, problem)
    })?;

    let demo = matches!(auth.method, super::SignInSettings::Demo(_));
    let real_cluster = matches!(source, ClusterSource::InCluster | ClusterSource::Kubeconfig);
    if demo && real_cluster && !raw.server.allow_demo_on_a_real_cluster.unwrap_or(false) {
        return Err(ConfigError::new(
            "auth.mode",
            origin("auth.mode"),
            format!(
                "\"demo\" lets anyone sign in as anyone, and cluster.source is \"{}\": a real cluster. Use the simulator, or set server.allow_demo_on_a_real_cluster = true if you really mean it",
                if source == ClusterSource::InCluster { "in-cluster" } else { "kubeconfig" }
            ),
        ));
    }

    let plain_http = raw.notifications.allow_plain_http.unwrap_or(false);
    let webhook_url = match raw.notifications.webhook_url.filter(|u| !u.is_empty()) {
        None => None,
        // The URL usually holds a token: it is not repeated in the messages.
        Some(url) => match url::Url::parse(&url) {
            Ok(parsed) if parsed.scheme() == "https" => Some(url),
            Ok(parsed) if parsed.scheme() == "http" && (plain_http || is_loopback(&parsed)) => {
                Some(url)
            }
            Ok(parsed) if parsed.scheme() == "http" => {
                return Err(ConfigError::new(
                    "notifications.webhook_url",
                    origin("notifications.webhook_url"),
                    "is plain http:// to another machine, so its token would cross the network readable: use https://, or set notifications.allow_plain_http = true".to_owned(),
                ))
            }
            _ => {
                return Err(ConfigError::new(
                    "notifications.webhook_url",
                    origin("notifications.webhook_url"),
                    "must be an https:// URL (http:// on loopback)".to_owned(),
                ))
            }
        },
    };

    let origin = |full: &str| {
        raw.origins.get(full).cloned().unwrap_or_else(|| "the built-in default".to_owned())
    };
    let prometheus = super::prometheus::validate(raw.prometheus).map_err(|(key, problem)| {
        let full = format!("prometheus.{key}");
        let from = origin(&full);
        ConfigError::new(full, from, problem)
    })?;
    let alertmanager =
        super::prometheus::validate_alertmanager(raw.alertmanager, prometheus.is_some()).map_err(
            |(key, problem)| {
                let full = format!("alertmanager.{key}");
                let from = origin(&full);
                ConfigError::new(full, from, problem)
            },
        )?;

    Ok(Settings {
        server: ServerSettings {
            listen,
            site_root: raw.server.site_root.unwrap_or_else(|| PathBuf::from("target/site")),
            shutdown_grace: Duration::from_secs(grace),
            shutdown_delay: Duration::from_secs(delay),
            limits,
        },
        database: DatabaseSettings {
            url,
            migration_url,
            max_connections,
            connect_timeout: Duration::from_secs(connect_timeout),
        },
        log: LogSettings { format, level },
        environments,
        simulator,
        cluster,
        auth,
        role_mapping,
        values_visible_to,
        notifications: super::NotificationSettings { webhook_url },
        prometheus,
        prometheus_auth: raw.prometheus_auth,
        alertmanager,
        alertmanager_auth: raw.alertmanager_auth,
    })
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

fn check_database_url(url: &SecretString) -> Result<(), String> {
    use secrecy::ExposeSecret;
    let text = url.expose_secret();
    // The value is never echoed: it usually carries a password.
    if text.starts_with("postgres://") || text.starts_with("postgresql://") {
        Ok(())
    } else {
        Err("must be a PostgreSQL URL starting with postgres:// or postgresql://".to_owned())
    }
}
