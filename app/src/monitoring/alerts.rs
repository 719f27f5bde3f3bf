//! One environment's alerts from Prometheus' listing: those whose `namespace` label is the
//! environment's (Prometheus 2.42 ignores the API's filters, so the panel filters), firing
//! before pending, the most severe first, then the longest active.

use super::cache::Alerting;
use super::prometheus::Alert;

/// What the alert panel of an environment shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EnvironmentAlerts {
    pub alerts: Vec<Alert>,
    /// Alerting rules Prometheus evaluates (all namespaces: a rule's expression may cover
    /// every environment).
    pub rules: usize,
    /// Rules Prometheus cannot evaluate, with its error: an alert that can never fire.
    pub broken: Vec<(String, String)>,
}

impl EnvironmentAlerts {
    pub fn firing(&self) -> usize {
        self.alerts.iter().filter(|a| a.state == "firing").count()
    }

    pub fn pending(&self) -> usize {
        self.alerts.iter().filter(|a| a.state == "pending").count()
    }
}

/// How severe, most first: `critical`, `error`, `warning`, `info`, anything else.
fn rank(alert: &Alert) -> u8 {
    match alert.labels.get("severity").map(String::as_str) {
        Some("critical") => 0,
        Some("error") => 1,
        Some("warning") => 2,
        Some("info") => 3,
        _ => 4,
    }
}

pub fn for_namespace(alerting: &Alerting, namespace: &str) -> EnvironmentAlerts {
    let mut alerts: Vec<Alert> = alerting
        .alerts
        .iter()
        .filter(|a| a.labels.get("namespace").is_some_and(|n| n == namespace))
        .cloned()
        .collect();
    alerts.sort_by(|a, b| {
        (a.state != "firing", rank(a), a.active_at.as_deref().unwrap_or("~")).cmp(&(
            b.state != "firing",
            rank(b),
            b.active_at.as_deref().unwrap_or("~"),
        ))
    });
    let broken = alerting
        .rules
        .iter()
        .filter(|r| r.health == "err")
        .map(|r| (r.name.clone(), r.last_error.clone().unwrap_or_default()))
        .collect();
    EnvironmentAlerts { alerts, rules: alerting.rules.len(), broken }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitoring::prometheus::Rule;
    use std::collections::BTreeMap;

    fn alert(name: &str, namespace: &str, state: &str, severity: &str, since: &str) -> Alert {
        Alert {
            labels: BTreeMap::from([
                ("alertname".to_owned(), name.to_owned()),
                ("namespace".to_owned(), namespace.to_owned()),
                ("severity".to_owned(), severity.to_owned()),
            ]),
            annotations: BTreeMap::new(),
            state: state.to_owned(),
            active_at: Some(since.to_owned()),
        }
    }

    #[test]
    fn an_environment_sees_its_own_alerts_firing_first_then_by_severity_and_age() {
        let listing = Alerting {
            alerts: vec![
                alert("SlowResponses", "co2-prod", "pending", "critical", "2026-12-01T10:00:00Z"),
                alert("HighMemory", "co2-prod", "firing", "warning", "2026-12-01T09:00:00Z"),
                alert("HighErrorRate", "co2-prod", "firing", "critical", "2026-12-01T10:05:00Z"),
                alert("ServiceDown", "co2-prod", "firing", "critical", "2026-12-01T10:01:00Z"),
                alert("ServiceDown", "co2-dev", "firing", "critical", "2026-12-01T08:00:00Z"),
            ],
            rules: vec![Rule {
                name: "Broken".into(),
                labels: BTreeMap::new(),
                health: "err".into(),
                last_error: Some("many-to-many matching not allowed".into()),
                alerts: Vec::new(),
            }],
        };
        let prod = for_namespace(&listing, "co2-prod");
        let order: Vec<&str> = prod.alerts.iter().map(|a| a.labels["alertname"].as_str()).collect();
        assert_eq!(order, ["ServiceDown", "HighErrorRate", "HighMemory", "SlowResponses"]);
        assert_eq!((prod.firing(), prod.pending()), (3, 1));
        assert_eq!(
            prod.broken,
            [("Broken".to_owned(), "many-to-many matching not allowed".to_owned())]
        );
        assert_eq!(for_namespace(&listing, "co2-staging").alerts, []);
    }
}
