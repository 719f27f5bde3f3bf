//! Settings a cluster install relies on: the drain before stopping, and the writers a
//! restore stops (the Helm chart grants exactly those).

use super::{file_with, load, URL};

const ENV: &str = "[[environments]]\nname = \"prod\"\nnamespace = \"shop-prod\"\n";

#[test]
fn the_shutdown_delay_is_read_and_bounded() {
    let settings =
        load(&[("DATABASE_URL", URL), ("GANTRY_SHUTDOWN_DELAY_SECONDS", "5")]).expect("valid");
    assert_eq!(settings.server.shutdown_delay.as_secs(), 5);
    let settings = load(&[("DATABASE_URL", URL)]).expect("valid");
    assert!(settings.server.shutdown_delay.is_zero(), "off unless asked for");
    let error = load(&[("DATABASE_URL", URL), ("GANTRY_SHUTDOWN_DELAY_SECONDS", "600")])
        .expect_err("too long")
        .to_string();
    assert!(error.contains("server.shutdown_delay_seconds"), "{error}");
    assert!(error.contains("at most 120 seconds"), "{error}");
}

#[test]
fn the_writers_a_restore_stops_can_be_named() {
    let file = file_with(&format!(
        "{ENV}[environments.backups]\nstop_during_restore = [\"web\", \"worker\"]\n"
    ));
    let settings = load(&[("DATABASE_URL", URL), ("GANTRY_CONFIG", file.path())]).expect("valid");
    assert_eq!(settings.environments[0].backups.stop_during_restore, ["web", "worker"]);
    let file = file_with(ENV);
    let settings = load(&[("DATABASE_URL", URL), ("GANTRY_CONFIG", file.path())]).expect("valid");
    assert_eq!(settings.environments[0].backups.stop_during_restore, ["backend", "celery-worker"]);
    let file = file_with(&format!(
        "{ENV}[environments.backups]\nstop_during_restore = [\"Web Server\"]\n"
    ));
    let error = load(&[("DATABASE_URL", URL), ("GANTRY_CONFIG", file.path())])
        .expect_err("not an object name")
        .to_string();
    assert!(error.contains("backups.stop_during_restore"), "{error}");
    assert!(error.contains("\"Web Server\" is not a Kubernetes object name"), "{error}");
}

/// The demo at a platform team's size: Gantry shows the environments the simulator seeds.
#[test]
fn the_simulator_can_seed_more_environments_and_gantry_shows_them() {
    let settings = load(&[
        ("DATABASE_URL", URL),
        ("GANTRY_SIMULATOR", "true"),
        ("GANTRY_SIMULATOR_ENVIRONMENTS", "5"),
        ("GANTRY_SIMULATOR_EXTRA_WORKLOADS", "15"),
    ])
    .expect("valid");
    let names: Vec<&str> = settings.environments.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["dev", "staging", "prod", "env-004", "env-005"]);
    assert_eq!(settings.environments[4].namespace, "co2-calculator-env-005");
    assert_eq!((settings.simulator.environments, settings.simulator.extra_workloads), (5, 15));
    // Set up as prod is: its approvals.
    assert_eq!(settings.environments[4].policy.restore, settings.environments[2].policy.restore);
    let error = load(&[("DATABASE_URL", URL), ("GANTRY_SIMULATOR_ENVIRONMENTS", "0")])
        .expect_err("out of range")
        .to_string();
    assert!(error.contains("simulator.environments"), "{error}");
    let error = load(&[("DATABASE_URL", URL), ("GANTRY_SIMULATOR_EXTRA_WORKLOADS", "51")])
        .expect_err("out of range")
        .to_string();
    assert!(error.contains("simulator.extra_workloads"), "{error}");
}
