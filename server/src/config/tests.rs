use std::io::Write;

use secrecy::ExposeSecret;

use super::{LogFormat, Settings};

const URL: &str = "postgres://gantry@127.0.0.1:5432/gantry";

/// Loads with `vars`; demo sign-in unless the test names a mode (most tests are about
/// other sections, and OpenID settings would have to be repeated in each).
fn load(vars: &[(&str, &str)]) -> Result<Settings, super::ConfigError> {
    let mut all = vars.to_vec();
    if !vars.iter().any(|(k, _)| *k == "GANTRY_AUTH_MODE") {
        all.insert(0, ("GANTRY_AUTH_MODE", "demo"));
    }
    Settings::from_sources(all)
}

fn file_with(text: &str) -> tempfile_path::TempFile {
    tempfile_path::TempFile::new(text)
}

/// Sign-in, the role mapping and the policies.
mod auth;
/// What a cluster install relies on.
mod install;

/// A file in the system temp folder, removed on drop (no extra crate for one helper).
mod tempfile_path {
    pub struct TempFile(pub std::path::PathBuf);
    impl TempFile {
        pub fn new(text: &str) -> Self {
            let path = std::env::temp_dir().join(format!(
                "gantry-config-test-{}-{}.toml",
                std::process::id(),
                rand::random::<u64>()
            ));
            let mut file = std::fs::File::create(&path).expect("create temp file");
            super::Write::write_all(&mut file, text.as_bytes()).expect("write temp file");
            Self(path)
        }
        pub fn path(&self) -> &str {
            self.0.to_str().expect("utf-8 temp path")
        }
    }
    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

#[test]
fn defaults_describe_the_co2_calculator_on_loopback() {
    let settings = load(&[("DATABASE_URL", URL)]).expect("defaults are valid");
    assert_eq!(settings.server.listen.to_string(), "127.0.0.1:3000");
    assert_eq!(settings.log.format, LogFormat::Auto);
    let names: Vec<_> = settings.environments.iter().map(|e| e.namespace.as_str()).collect();
    assert_eq!(names, ["co2-calculator-dev", "co2-calculator-staging", "co2-calculator-prod"]);
}

#[test]
fn a_missing_database_url_names_the_key_and_how_to_set_it() {
    let error = load(&[]).expect_err("no database url").to_string();
    assert!(error.contains("database.url"), "{error}");
    assert!(error.contains("GANTRY_DATABASE_URL"), "{error}");
}

#[test]
fn a_bad_listen_address_from_the_environment_names_key_and_variable() {
    let error = load(&[("DATABASE_URL", URL), ("GANTRY_LISTEN", "localhost")])
        .expect_err("not an address")
        .to_string();
    assert_eq!(
        error,
        "configuration error: server.listen: \"localhost\" is not an address and port such as 127.0.0.1:3000 (from GANTRY_LISTEN)"
    );
}

#[test]
fn a_non_number_in_the_environment_is_refused() {
    let error = load(&[("DATABASE_URL", URL), ("GANTRY_DATABASE_MAX_CONNECTIONS", "many")])
        .expect_err("not a number")
        .to_string();
    assert!(error.contains("database.max_connections"), "{error}");
    assert!(error.contains("GANTRY_DATABASE_MAX_CONNECTIONS"), "{error}");
}

#[test]
fn a_wrong_type_in_the_file_names_the_key_and_line() {
    let file =
        file_with("[server]\nlisten = \"127.0.0.1:3000\"\nshutdown_grace_seconds = \"soon\"\n");
    let error = load(&[("DATABASE_URL", URL), ("GANTRY_CONFIG", file.path())])
        .expect_err("string where a number belongs")
        .to_string();
    assert!(error.starts_with("configuration error: server.shutdown_grace_seconds: "), "{error}");
    assert!(error.contains("line 3"), "{error}");
    assert!(!error.contains('\n'), "one line: {error}");
}

#[test]
fn an_unknown_key_in_the_file_is_refused_not_ignored() {
    let file = file_with("[server]\nlisten_addr = \"0.0.0.0:80\"\n");
    let error = load(&[("DATABASE_URL", URL), ("GANTRY_CONFIG", file.path())])
        .expect_err("typo in a key")
        .to_string();
    assert!(error.contains("listen_addr"), "{error}");
}

#[test]
fn environment_variables_override_the_file() {
    let file = file_with("[server]\nlisten = \"127.0.0.1:4000\"\n[log]\nformat = \"text\"\n");
    let settings = load(&[
        ("DATABASE_URL", URL),
        ("GANTRY_CONFIG", file.path()),
        ("GANTRY_LISTEN", "127.0.0.1:5000"),
    ])
    .expect("valid");
    assert_eq!(settings.server.listen.to_string(), "127.0.0.1:5000");
    assert_eq!(settings.log.format, LogFormat::Text);
}

#[test]
fn gantry_database_url_wins_over_database_url() {
    let settings =
        load(&[("DATABASE_URL", "postgres://other@db/other"), ("GANTRY_DATABASE_URL", URL)])
            .expect("valid");
    assert_eq!(settings.database.url.expose_secret(), URL);
}

#[test]
fn the_database_password_never_appears_in_debug_output_or_errors() {
    let secret_url = "postgres://gantry:hunter2@db/gantry";
    let settings = load(&[("DATABASE_URL", secret_url)]).expect("valid");
    assert!(!format!("{settings:?}").contains("hunter2"));
    let error = load(&[("DATABASE_URL", "mysql://root:hunter2@db/x")]).expect_err("not postgres");
    assert!(!error.to_string().contains("hunter2"), "{error}");
    assert!(error.to_string().contains("database.url"));
}

#[test]
fn environments_must_have_valid_unique_names() {
    let duplicate = file_with(
        "[[environments]]\nname = \"dev\"\nnamespace = \"a\"\n[[environments]]\nname = \"dev\"\nnamespace = \"b\"\n",
    );
    let error = load(&[("DATABASE_URL", URL), ("GANTRY_CONFIG", duplicate.path())])
        .expect_err("duplicate")
        .to_string();
    assert!(error.contains("environments") && error.contains("used twice"), "{error}");

    let bad_namespace = file_with("[[environments]]\nname = \"dev\"\nnamespace = \"Co2_Dev\"\n");
    let error = load(&[("DATABASE_URL", URL), ("GANTRY_CONFIG", bad_namespace.path())])
        .expect_err("invalid namespace")
        .to_string();
    assert!(error.contains("namespace") && error.contains("Co2_Dev"), "{error}");
}

#[test]
fn the_simulator_is_off_unless_asked_for_and_its_speed_is_bounded() {
    let settings = load(&[("DATABASE_URL", URL)]).expect("defaults");
    assert!(!settings.simulator.enabled);
    let on = load(&[
        ("DATABASE_URL", URL),
        ("GANTRY_SIMULATOR", "true"),
        ("GANTRY_SIMULATOR_SPEED", "60"),
    ])
    .expect("valid");
    assert!(on.simulator.enabled);
    assert!((on.simulator.speed - 60.0).abs() < f64::EPSILON);
    let error =
        load(&[("DATABASE_URL", URL), ("GANTRY_SIMULATOR_SPEED", "0")]).expect_err("too slow");
    assert!(error.to_string().contains("simulator.speed"), "{error}");
    let error =
        load(&[("DATABASE_URL", URL), ("GANTRY_SIMULATOR", "maybe")]).expect_err("not a bool");
    assert!(error.to_string().contains("GANTRY_SIMULATOR"), "{error}");
}

#[test]
fn the_cluster_is_the_simulator_in_the_demo_and_in_cluster_otherwise() {
    use super::ClusterSource;
    // Demo people without a cluster named: no cluster (never a real one by default).
    let plain = load(&[("DATABASE_URL", URL)]).expect("defaults");
    assert_eq!(plain.cluster.source, ClusterSource::None);
    let demo = load(&[("DATABASE_URL", URL), ("GANTRY_SIMULATOR", "true")]).expect("demo");
    assert_eq!(demo.cluster.source, ClusterSource::Simulator);
    let chosen = load(&[
        ("DATABASE_URL", URL),
        ("GANTRY_CLUSTER", "kubeconfig"),
        ("GANTRY_KUBE_CONTEXT", "enac"),
        ("GANTRY_ALLOW_DEMO_ON_A_REAL_CLUSTER", "true"),
    ])
    .expect("kubeconfig");
    assert_eq!(
        (chosen.cluster.source, chosen.cluster.context.as_deref()),
        (ClusterSource::Kubeconfig, Some("enac"))
    );
    let error =
        load(&[("DATABASE_URL", URL), ("GANTRY_CLUSTER", "simulator")]).expect_err("no simulator");
    assert!(
        error.to_string().contains("cluster.source")
            && error.to_string().contains("simulator.enabled"),
        "{error}"
    );
    let error =
        load(&[("DATABASE_URL", URL), ("GANTRY_CLUSTER", "minikube")]).expect_err("unknown");
    assert!(error.to_string().contains("GANTRY_CLUSTER"), "{error}");
}

#[test]
fn the_default_environments_are_deployed_by_their_argo_cd_applications() {
    let settings = load(&[("DATABASE_URL", URL)]).expect("defaults");
    let prod = &settings.environments[2];
    assert_eq!(prod.argocd_application.as_deref(), Some("co2-calculator-prod"));
    assert_eq!(prod.argocd_namespace, "argocd");
}

#[test]
fn an_unknown_log_format_or_filter_is_refused() {
    let error = load(&[("DATABASE_URL", URL), ("GANTRY_LOG_FORMAT", "xml")]).expect_err("xml");
    assert!(error.to_string().contains("log.format"));
    let error = load(&[("DATABASE_URL", URL), ("GANTRY_LOG", "info,[[[")]).expect_err("filter");
    assert!(error.to_string().contains("log.level"));
}

/// The documented example must stay loadable and say exactly what the defaults are.
#[test]
fn the_example_file_in_deploy_loads_and_matches_the_defaults() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/gantry.example.toml");
    let from_file = load(&[
        ("DATABASE_URL", URL),
        ("GANTRY_CONFIG", example),
        ("GANTRY_AUTH_MODE", "oidc"),
        ("GANTRY_OIDC_CLIENT_SECRET", "from-a-kubernetes-secret"),
    ])
    .expect("example");
    let defaults = load(&[("DATABASE_URL", URL)]).expect("defaults");
    assert_eq!(from_file.role_mapping, defaults.role_mapping);
    assert_eq!(from_file.auth.claims, defaults.auth.claims);
    assert_eq!(from_file.auth.session.cookie_name, defaults.auth.session.cookie_name);
    assert_eq!(from_file.auth.session.idle, defaults.auth.session.idle);
    assert_eq!(from_file.auth.session.absolute, defaults.auth.session.absolute);
    let super::SignInSettings::OpenId(openid) = &from_file.auth.method else {
        panic!("the example signs in through OpenID Connect");
    };
    assert_eq!(openid.scopes, ["openid", "profile", "email"]);
    assert_eq!(from_file.server.listen, defaults.server.listen);
    assert_eq!(from_file.server.site_root, defaults.server.site_root);
    assert_eq!(from_file.server.shutdown_grace, defaults.server.shutdown_grace);
    assert_eq!(from_file.database.max_connections, defaults.database.max_connections);
    assert_eq!(from_file.database.connect_timeout, defaults.database.connect_timeout);
    assert_eq!(from_file.log.format, defaults.log.format);
    assert_eq!(from_file.log.level, defaults.log.level);
    assert_eq!(from_file.environments, defaults.environments);
    assert_eq!(from_file.simulator, defaults.simulator);
    // Signing in through a provider, the cluster is the one Gantry runs in.
    let in_cluster =
        super::ClusterSettings { source: super::ClusterSource::InCluster, context: None };
    assert_eq!(from_file.cluster, in_cluster);
    assert_eq!(from_file.server.limits, defaults.server.limits);
    assert_eq!(from_file.notifications, defaults.notifications);
    assert_eq!(from_file.values_visible_to, defaults.values_visible_to);
}

/// Loads a file holding one environment with `extra` lines appended; returns the error.
fn environment_error(extra: &str, vars: &[(&str, &str)]) -> String {
    let file =
        file_with(&format!("[[environments]]\nname = \"dev\"\nnamespace = \"co2-dev\"\n{extra}\n"));
    let mut all = vec![("DATABASE_URL", URL), ("GANTRY_CONFIG", file.path())];
    all.extend_from_slice(vars);
    load(&all).expect_err(extra).to_string()
}

#[test]
fn workloads_have_scaling_bounds_selectors_and_links() {
    let file = file_with(
        r#"
[[environments]]
name = "prod"
namespace = "co2-prod"
grafana_url = "https://grafana.example.org/d/co2?var-ns=co2-prod"
[[environments.workloads]]
name = "backend"
min_replicas = 2
max_replicas = 8
[[environments.workloads]]
name = "postgres"
kind = "StatefulSet"
prometheus_selector = 'namespace="co2-prod",statefulset="postgres"'
grafana_url = "https://grafana.example.org/d/pg"
"#,
    );
    let settings = load(&[("DATABASE_URL", URL), ("GANTRY_CONFIG", file.path())]).expect("valid");
    let prod = &settings.environments[0];
    assert_eq!(prod.prometheus_selector, "namespace=\"co2-prod\"", "derived from the namespace");
    assert_eq!(
        prod.grafana_url.as_deref(),
        Some("https://grafana.example.org/d/co2?var-ns=co2-prod")
    );
    let backend = prod.workload("backend").expect("backend");
    assert_eq!((backend.min_replicas, backend.max_replicas), (2, 8));
    assert_eq!(
        backend.prometheus_selector,
        "namespace=\"co2-prod\",pod=~\"backend-[a-z0-9]+-[a-z0-9]+\""
    );
    let postgres = prod.workload("postgres").expect("postgres");
    assert_eq!(postgres.kind, gantry_app::status::model::WorkloadKind::StatefulSet);
    assert_eq!((postgres.min_replicas, postgres.max_replicas), (1, 1), "defaults: exactly one");
    assert_eq!(postgres.prometheus_selector, "namespace=\"co2-prod\",statefulset=\"postgres\"");
}

#[test]
fn bad_workload_entries_are_refused_naming_the_key() {
    let workload = |lines: &str| format!("[[environments.workloads]]\nname = \"backend\"\n{lines}");
    for (lines, key, words) in [
        (
            workload("min_replicas = 4\nmax_replicas = 2"),
            "environments[0].workloads[0].max_replicas",
            "below min_replicas",
        ),
        (
            workload("max_replicas = 5000"),
            "environments[0].workloads[0].max_replicas",
            "out of range",
        ),
        (
            workload("min_replicas = -1"),
            "environments[0].workloads[0].min_replicas",
            "out of range",
        ),
        (workload("kind = \"DaemonSet\""), "environments[0].workloads[0].kind", "DaemonSet"),
        (
            workload("prometheus_selector = 'namespace=co2'"),
            "environments[0].workloads[0].prometheus_selector",
            "double quotes",
        ),
        (
            workload("grafana_url = \"grafana.local\""),
            "environments[0].workloads[0].grafana_url",
            "http",
        ),
        (
            format!("{}\n{}", workload(""), workload("")),
            "environments[0].workloads[1].name",
            "listed twice",
        ),
        (
            "[[environments.workloads]]\nname = \"Back_End\"".to_owned(),
            "environments[0].workloads[0].name",
            "Back_End",
        ),
        (
            "prometheus_selector = 'namespace=\"a\",'".to_owned(),
            "environments[0].prometheus_selector",
            "comma",
        ),
        ("cluster_context = \"prod\"".to_owned(), "environments[0].cluster_context", "kubeconfig"),
        (workload("replicas = 3"), "environments", "unknown field"),
    ] {
        let error = environment_error(&lines, &[]);
        assert!(error.contains(key) && error.contains(words), "{lines:?} → {error}");
    }
}

#[test]
fn an_environment_can_live_on_another_kubeconfig_context() {
    let file = file_with(
        "[[environments]]\nname = \"dev\"\nnamespace = \"co2-dev\"\n\
         [[environments]]\nname = \"prod\"\nnamespace = \"co2-prod\"\ncluster_context = \"prod-cluster\"\n",
    );
    let settings = load(&[
        ("DATABASE_URL", URL),
        ("GANTRY_CONFIG", file.path()),
        ("GANTRY_CLUSTER", "kubeconfig"),
        ("GANTRY_ALLOW_DEMO_ON_A_REAL_CLUSTER", "true"),
    ])
    .expect("valid");
    assert_eq!(settings.environments[0].cluster_context, None);
    assert_eq!(settings.environments[1].cluster_context.as_deref(), Some("prod-cluster"));
}

#[test]
fn the_default_workloads_are_the_co2_calculator_with_production_headroom() {
    let settings = load(&[("DATABASE_URL", URL)]).expect("defaults");
    let bounds = |env: usize, w: &str| {
        let w = settings.environments[env].workload(w).expect("workload");
        (w.min_replicas, w.max_replicas)
    };
    assert_eq!(bounds(0, "backend"), (1, 4));
    assert_eq!(bounds(2, "backend"), (3, 10));
    assert_eq!(bounds(2, "redis"), (1, 1));
    assert_eq!(bounds(2, "postgres"), (1, 1));
}

#[test]
fn the_webhook_must_be_an_http_url_and_is_not_repeated_in_the_error() {
    let settings = load(&[("DATABASE_URL", URL)]).expect("defaults are valid");
    assert_eq!(settings.notifications.webhook_url, None);
    let hook = "https://chat.example.org/hooks/s3cr3t";
    let settings =
        load(&[("DATABASE_URL", URL), ("GANTRY_WEBHOOK_URL", hook)]).expect("an https URL");
    assert_eq!(settings.notifications.webhook_url.as_deref(), Some(hook));
    let error = load(&[("DATABASE_URL", URL), ("GANTRY_WEBHOOK_URL", "ftp://x/s3cr3t")])
        .expect_err("not http");
    let text = error.to_string();
    assert!(
        text.contains("notifications.webhook_url") && text.contains("GANTRY_WEBHOOK_URL"),
        "{text}"
    );
    assert!(!text.contains("s3cr3t"), "the token is printed: {text}");
    // Plain http crosses the network readable: only on loopback, or when allowed by name.
    let plain = "http://chat.example.org/hooks/s3cr3t";
    let error =
        load(&[("DATABASE_URL", URL), ("GANTRY_WEBHOOK_URL", plain)]).expect_err("plain http");
    let text = error.to_string();
    assert!(text.contains("allow_plain_http") && !text.contains("s3cr3t"), "{text}");
    let local = "http://127.0.0.1:9/hooks/s3cr3t";
    assert!(load(&[("DATABASE_URL", URL), ("GANTRY_WEBHOOK_URL", local)]).is_ok());
    let file = file_with("[notifications]\nallow_plain_http = true\n");
    let allowed = load(&[
        ("DATABASE_URL", URL),
        ("GANTRY_WEBHOOK_URL", plain),
        ("GANTRY_CONFIG", file.path()),
    ]);
    assert_eq!(allowed.expect("allowed by name").notifications.webhook_url.as_deref(), Some(plain));
    let file = file_with("[notifications]\nwebhook_url = \"not a url\"\n");
    let error =
        load(&[("DATABASE_URL", URL), ("GANTRY_CONFIG", file.path())]).expect_err("not a URL");
    let text = error.to_string();
    assert!(text.contains("notifications.webhook_url") && text.contains(file.path()), "{text}");
}

#[test]
fn demo_sign_in_on_a_real_cluster_needs_a_setting_that_says_so() {
    let settings = load(&[("DATABASE_URL", URL)]).expect("demo alone");
    assert_eq!(settings.cluster.source, super::ClusterSource::None, "no cluster unless named");
    for source in ["in-cluster", "kubeconfig"] {
        let error = load(&[("DATABASE_URL", URL), ("GANTRY_CLUSTER", source)])
            .expect_err("demo people on a real cluster");
        let text = error.to_string();
        assert!(
            text.contains("auth.mode")
                && text.contains(source)
                && text.contains("server.allow_demo_on_a_real_cluster"),
            "{text}"
        );
        let allowed = load(&[
            ("DATABASE_URL", URL),
            ("GANTRY_CLUSTER", source),
            ("GANTRY_ALLOW_DEMO_ON_A_REAL_CLUSTER", "true"),
        ]);
        assert!(allowed.is_ok(), "{source}: {allowed:?}");
    }
}

#[test]
fn who_reads_logs_and_how_many_streams_are_checked() {
    let file = std::env::temp_dir().join(format!("gantry-logs-policy-{}.toml", std::process::id()));
    std::fs::write(&file, "[[environments]]\nname = \"prod\"\nnamespace = \"p\"\n[environments.policy]\nlogs = \"everyone\"\n").expect("the temporary folder takes a file");
    let error = load(&[
        ("DATABASE_URL", URL),
        ("GANTRY_CONFIG", file.to_str().expect("a UTF-8 temporary path")),
    ])
    .expect_err("not a role");
    assert!(error.to_string().contains("policy.logs"), "{error}");
    std::fs::write(&file, "[[environments]]\nname = \"prod\"\nnamespace = \"p\"\n[environments.policy]\nlogs = \"disabled\"\n").expect("the temporary folder takes a file");
    let loaded = load(&[
        ("DATABASE_URL", URL),
        ("GANTRY_CONFIG", file.to_str().expect("a UTF-8 temporary path")),
    ])
    .expect("disabled");
    assert_eq!(loaded.environments[0].policy.logs, None);
    let _ = std::fs::remove_file(&file);
    let defaults = load(&[("DATABASE_URL", URL)]).expect("defaults");
    assert!(defaults
        .environments
        .iter()
        .all(|e| e.policy.logs == Some(gantry_app::access::Role::Operator)));
    let error =
        load(&[("DATABASE_URL", URL), ("GANTRY_LOG_STREAMS_PER_PERSON", "0")]).expect_err("zero");
    assert!(error.to_string().contains("server.log_streams_per_person"), "{error}");
}
