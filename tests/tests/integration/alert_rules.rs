//! The alert rules shipped in `deploy/prometheus/`: valid for Prometheus, every alert
//! unit-tested, and every unit test passing — checked by the real promtool.

use std::path::PathBuf;
use std::process::Command;

fn rules_folder() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/prometheus")
}

fn promtool(args: &[&str]) -> (bool, String) {
    let promtool = std::env::var("GANTRY_PROMTOOL")
        .expect("GANTRY_PROMTOOL is not set: run through ./run test (scripts/bootstrap.sh installs Prometheus)");
    let output = Command::new(promtool)
        .args(args)
        .current_dir(rules_folder())
        .output()
        .expect("promtool runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), text)
}

/// The names after `key:` at the start of a line (YAML keys this test relies on).
fn names(file: &str, key: &str) -> Vec<String> {
    let text = std::fs::read_to_string(rules_folder().join(file)).expect("the file is there");
    let mut found: Vec<String> = text
        .lines()
        .filter_map(|l| l.trim_start().trim_start_matches("- ").strip_prefix(key))
        .map(|name| name.trim().to_owned())
        .collect();
    found.sort();
    found.dedup();
    found
}

#[test]
fn the_shipped_alert_rules_are_valid_and_each_alert_fires_in_its_unit_test() {
    let (valid, said) = promtool(&["check", "rules", "co2-calculator.rules.yml"]);
    assert!(valid, "{said}");
    let alerts = names("co2-calculator.rules.yml", "alert:");
    assert!(said.contains(&format!("SUCCESS: {} rules found", alerts.len())), "{said}");
    // The seed's eight and Gantry's own backup alert, each with at least one unit test.
    assert_eq!(
        alerts,
        [
            "BackupTooOld",
            "CeleryBacklog",
            "CertificateExpiresSoon",
            "DatabaseConnectionFailure",
            "DiskAlmostFull",
            "HighErrorRate",
            "HighMemory",
            "ServiceDown",
            "SlowResponses"
        ]
    );
    assert_eq!(
        names("co2-calculator.rules.test.yml", "alertname:"),
        alerts,
        "an alert without a test"
    );
    let (passed, said) = promtool(&["test", "rules", "co2-calculator.rules.test.yml"]);
    assert!(passed, "{said}");
}
