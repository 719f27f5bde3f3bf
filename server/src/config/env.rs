//! Environment variables on top of the file: the way secrets and endpoints reach a
//! container. Each variable maps to exactly one key.

use std::collections::HashMap;

use secrecy::SecretString;

use super::file::RawSettings;
use super::ConfigError;

pub struct Vars(HashMap<String, String>);

impl Vars {
    pub fn new<'a>(vars: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self(vars.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect())
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }
}

fn number<T: std::str::FromStr>(name: &str, key: &str, value: &str) -> Result<T, ConfigError> {
    value.trim().parse().map_err(|_| {
        ConfigError::new(key, name, format!("{value:?} is not a whole number in the allowed range"))
    })
}

pub fn apply(vars: &Vars, raw: &mut RawSettings) -> Result<(), ConfigError> {
    let mut set = |key: &'static str, name: &str| {
        raw.origins.insert(key, name.to_owned());
    };
    if let Some(v) = vars.get("GANTRY_LISTEN") {
        raw.server.listen = Some(v.to_owned());
        set("server.listen", "GANTRY_LISTEN");
    }
    if let Some(v) = vars.get("GANTRY_SITE_ROOT") {
        raw.server.site_root = Some(v.into());
        set("server.site_root", "GANTRY_SITE_ROOT");
    }
    for (name, key) in [
        ("GANTRY_LOG_STREAMS_PER_PERSON", "server.log_streams_per_person"),
        ("GANTRY_LOG_STREAMS_IN_ALL", "server.log_streams_in_all"),
    ] {
        if let Some(v) = vars.get(name) {
            let n: usize = number(name, key, v)?;
            if key.ends_with("per_person") {
                raw.server.log_streams_per_person = Some(n);
            } else {
                raw.server.log_streams_in_all = Some(n);
            }
            set(key, name);
        }
    }
    if let Some(v) = vars.get("GANTRY_SHUTDOWN_DELAY_SECONDS") {
        let key = "server.shutdown_delay_seconds";
        raw.server.shutdown_delay_seconds = Some(number("GANTRY_SHUTDOWN_DELAY_SECONDS", key, v)?);
        set(key, "GANTRY_SHUTDOWN_DELAY_SECONDS");
    }
    if let Some(v) = vars.get("GANTRY_SHUTDOWN_GRACE_SECONDS") {
        let key = "server.shutdown_grace_seconds";
        raw.server.shutdown_grace_seconds = Some(number("GANTRY_SHUTDOWN_GRACE_SECONDS", key, v)?);
        set(key, "GANTRY_SHUTDOWN_GRACE_SECONDS");
    }
    // Named so that nobody sets it by accident: anyone reaching the server could act on
    // the real cluster as anyone.
    if let Some(v) = vars.get("GANTRY_ALLOW_DEMO_ON_A_REAL_CLUSTER") {
        raw.server.allow_demo_on_a_real_cluster = Some(matches!(v, "true" | "1" | "yes"));
        set("server.allow_demo_on_a_real_cluster", "GANTRY_ALLOW_DEMO_ON_A_REAL_CLUSTER");
    }
    if let Some(v) = vars.get("GANTRY_METRICS_LISTEN") {
        raw.server.metrics_listen = Some(v.to_owned());
        set("server.metrics_listen", "GANTRY_METRICS_LISTEN");
    }
    // Lists as comma-separated values.
    let list =
        |v: &str| v.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect();
    if let Some(v) = vars.get("GANTRY_PUBLIC_HOSTS") {
        raw.server.public_hosts = Some(list(v));
        set("server.public_hosts", "GANTRY_PUBLIC_HOSTS");
    }
    if let Some(v) = vars.get("GANTRY_TRUSTED_PROXIES") {
        raw.server.trusted_proxies = Some(list(v));
        set("server.trusted_proxies", "GANTRY_TRUSTED_PROXIES");
    }
    // DATABASE_URL is what sqlx and most tooling use; GANTRY_DATABASE_URL wins when both exist.
    for name in ["DATABASE_URL", "GANTRY_DATABASE_URL"] {
        if let Some(v) = vars.get(name) {
            raw.database.url = Some(SecretString::from(v.to_owned()));
            set("database.url", name);
        }
    }
    if let Some(v) = vars.get("GANTRY_DATABASE_MIGRATION_URL") {
        raw.database.migration_url = Some(SecretString::from(v.to_owned()));
        set("database.migration_url", "GANTRY_DATABASE_MIGRATION_URL");
    }
    if let Some(v) = vars.get("GANTRY_DATABASE_MAX_CONNECTIONS") {
        let key = "database.max_connections";
        raw.database.max_connections = Some(number("GANTRY_DATABASE_MAX_CONNECTIONS", key, v)?);
        set(key, "GANTRY_DATABASE_MAX_CONNECTIONS");
    }
    if let Some(v) = vars.get("GANTRY_LOG_FORMAT") {
        raw.log.format = Some(v.to_owned());
        set("log.format", "GANTRY_LOG_FORMAT");
    }
    if let Some(v) = vars.get("GANTRY_SIMULATOR") {
        let key = "simulator.enabled";
        raw.simulator.enabled = Some(match v {
            "true" | "1" | "yes" => true,
            "false" | "0" | "no" => false,
            other => {
                return Err(ConfigError::new(
                    key,
                    "GANTRY_SIMULATOR",
                    format!("{other:?} is not true or false"),
                ))
            }
        });
        set(key, "GANTRY_SIMULATOR");
    }
    if let Some(v) = vars.get("GANTRY_SIMULATOR_PORT") {
        let key = "simulator.port";
        raw.simulator.port = Some(number("GANTRY_SIMULATOR_PORT", key, v)?);
        set(key, "GANTRY_SIMULATOR_PORT");
    }
    if let Some(v) = vars.get("GANTRY_SIMULATOR_SPEED") {
        let key = "simulator.speed";
        raw.simulator.speed = Some(v.trim().parse().map_err(|_| {
            ConfigError::new(key, "GANTRY_SIMULATOR_SPEED", format!("{v:?} is not a number"))
        })?);
        set(key, "GANTRY_SIMULATOR_SPEED");
    }
    for (name, key) in [
        ("GANTRY_SIMULATOR_ENVIRONMENTS", "simulator.environments"),
        ("GANTRY_SIMULATOR_EXTRA_WORKLOADS", "simulator.extra_workloads"),
    ] {
        if let Some(v) = vars.get(name) {
            let n = number(name, key, v)?;
            if key == "simulator.environments" {
                raw.simulator.environments = Some(n);
            } else {
                raw.simulator.extra_workloads = Some(n);
            }
            set(key, name);
        }
    }
    if let Some(v) = vars.get("GANTRY_SIMULATOR_KUBECONFIG") {
        raw.simulator.kubeconfig = Some(v.into());
        set("simulator.kubeconfig", "GANTRY_SIMULATOR_KUBECONFIG");
    }
    if let Some(v) = vars.get("GANTRY_CLUSTER") {
        raw.cluster.source = Some(v.to_owned());
        set("cluster.source", "GANTRY_CLUSTER");
    }
    if let Some(v) = vars.get("GANTRY_KUBE_CONTEXT") {
        raw.cluster.context = Some(v.to_owned());
    }
    for (name, key) in [
        ("GANTRY_AUTH_MODE", "auth.mode"),
        ("GANTRY_OIDC_ISSUER", "auth.issuer"),
        ("GANTRY_OIDC_CLIENT_ID", "auth.client_id"),
        ("GANTRY_OIDC_REDIRECT_URL", "auth.redirect_url"),
    ] {
        if let Some(v) = vars.get(name) {
            let slot = match key {
                "auth.mode" => &mut raw.auth.mode,
                "auth.issuer" => &mut raw.auth.issuer,
                "auth.client_id" => &mut raw.auth.client_id,
                _ => &mut raw.auth.redirect_url,
            };
            *slot = Some(v.to_owned());
            set(key, name);
        }
    }
    // Never read from the file: a secret belongs in the environment (a Kubernetes Secret).
    if let Some(v) = vars.get("GANTRY_OIDC_CLIENT_SECRET") {
        raw.auth.secret_from_env = Some(SecretString::from(v.to_owned()));
        set("auth.client_secret", "GANTRY_OIDC_CLIENT_SECRET");
    }
    // Webhook URLs carry their token: the environment (a Secret) is the place for them.
    if let Some(v) = vars.get("GANTRY_WEBHOOK_URL") {
        raw.notifications.webhook_url = Some(v.to_owned());
        set("notifications.webhook_url", "GANTRY_WEBHOOK_URL");
    }
    if let Some(v) = vars.get("GANTRY_LOG") {
        raw.log.level = Some(v.to_owned());
        set("log.level", "GANTRY_LOG");
    }
    if let Some(v) = vars.get("GANTRY_PROMETHEUS_URL") {
        raw.prometheus.url = Some(v.to_owned());
        set("prometheus.url", "GANTRY_PROMETHEUS_URL");
    }
    if let Some(v) = vars.get("GANTRY_PROMETHEUS_SCRAPE_INTERVAL_SECONDS") {
        let key = "prometheus.scrape_interval_seconds";
        let name = "GANTRY_PROMETHEUS_SCRAPE_INTERVAL_SECONDS";
        raw.prometheus.scrape_interval_seconds = Some(number(name, key, v)?);
        set(key, name);
    }
    if let Some(v) = vars.get("GANTRY_ALERTMANAGER_URL") {
        raw.alertmanager.url = Some(v.to_owned());
        set("alertmanager.url", "GANTRY_ALERTMANAGER_URL");
    }
    // Never read from the file: secrets belong in the environment (a Kubernetes Secret).
    let credentials = |names: super::prometheus::CredentialNames| {
        super::prometheus::auth_from(
            names,
            vars.get(names[0]),
            vars.get(names[1]),
            vars.get(names[2]),
        )
        .map_err(|(name, problem)| ConfigError::new(name, "the environment", problem))
    };
    raw.prometheus_auth = credentials(super::prometheus::PROMETHEUS_CREDENTIALS)?;
    raw.alertmanager_auth = credentials(super::prometheus::ALERTMANAGER_CREDENTIALS)?;
    Ok(())
}
