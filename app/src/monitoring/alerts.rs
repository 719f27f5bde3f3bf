//! One environment's alerts from Prometheus' listing: those whose `namespace` label is the
//! environment's (Prometheus 2.42 ignores the API's filters, so the panel filters), firing
//! before pending, the most severe first, then the longest active. With an Alertmanager,
//! each alert says whether a silence or an inhibition holds it back, and the environment's
//! silences are listed.

use super::alertmanager::Silence;
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
    /// Whether an Alertmanager is configured.
    pub alertmanager: bool,
    /// Why Alertmanager could not be read, when it could not.
    pub alertmanager_failure: Option<String>,
    /// The silences that may hold back this environment's alerts, active ones first, then
    /// those that start later.
    pub silences: Vec<Silence>,
}

impl EnvironmentAlerts {
    /// Firing and not held back: what needs someone now.
    pub fn firing(&self) -> usize {
        self.alerts.iter().filter(|a| a.state == "firing" && !held_back(a)).count()
    }

    /// Firing but silenced or inhibited.
    pub fn held_back(&self) -> usize {
        self.alerts.iter().filter(|a| a.state == "firing" && held_back(a)).count()
    }

    pub fn pending(&self) -> usize {
        self.alerts.iter().filter(|a| a.state == "pending").count()
    }
}

pub fn held_back(alert: &Alert) -> bool {
    !alert.silenced_by.is_empty() || alert.inhibited
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
    let suppressions = alerting.alertmanager.as_ref().and_then(|a| a.as_ref().ok());
    if let Some(suppressions) = suppressions {
        for alert in &mut alerts {
            // Alertmanager's own word where it holds the alert already; the silences'
            // matchers otherwise (an alert reaches Alertmanager up to a minute after it
            // fires, a silence applies at once).
            let held = suppressions.held.iter().find(|h| h.labels == alert.labels);
            let mut by: Vec<String> = held.map(|h| h.silenced_by.clone()).unwrap_or_default();
            for silence in suppressions.silences.iter().filter(|s| s.silences(&alert.labels)) {
                if !by.contains(&silence.id) {
                    by.push(silence.id.clone());
                }
            }
            alert.silenced_by = by;
            alert.inhibited = held.is_some_and(|h| !h.inhibited_by.is_empty());
        }
    }
    // Firing and not held back first, then firing but silenced, then pending.
    let order = |a: &Alert| match (a.state == "firing", held_back(a)) {
        (true, false) => 0,
        (true, true) => 1,
        _ => 2,
    };
    alerts.sort_by(|a, b| {
        (order(a), rank(a), a.active_at.as_deref().unwrap_or("~")).cmp(&(
            order(b),
            rank(b),
            b.active_at.as_deref().unwrap_or("~"),
        ))
    });
    let mut silences: Vec<Silence> = suppressions
        .map(|s| {
            s.silences
                .iter()
                .filter(|s| s.state != "expired" && s.covers(namespace))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    silences
        .sort_by(|a, b| (a.state != "active", &a.ends_at).cmp(&(b.state != "active", &b.ends_at)));
    let broken = alerting
        .rules
        .iter()
        .filter(|r| r.health == "err")
        .map(|r| (r.name.clone(), r.last_error.clone().unwrap_or_default()))
        .collect();
    EnvironmentAlerts {
        alerts,
        rules: alerting.rules.len(),
        broken,
        alertmanager: alerting.alertmanager.is_some(),
        alertmanager_failure: alerting
            .alertmanager
            .as_ref()
            .and_then(|a| a.as_ref().err())
            .cloned(),
        silences,
    }
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
            silenced_by: Vec::new(),
            inhibited: false,
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
            alertmanager: None,
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
        assert!(!prod.alertmanager && prod.silences.is_empty());
    }

    #[test]
    fn a_silenced_alert_is_held_back_and_the_environments_silences_are_listed() {
        use crate::monitoring::alertmanager::{Held, Matcher};
        use crate::monitoring::cache::Suppressions;
        let silence = |id: &str, namespace: &str, alertname: &str, state: &str| Silence {
            id: id.into(),
            matchers: vec![
                Matcher::equal("namespace", namespace),
                Matcher::equal("alertname", alertname),
            ],
            starts_at: "2026-12-01T10:00:00Z".into(),
            ends_at: "2026-12-01T12:00:00Z".into(),
            created_by: "Ann".into(),
            comment: "known".into(),
            state: state.into(),
        };
        let inhibited =
            alert("SlowResponses", "co2-prod", "firing", "warning", "2026-12-01T10:02:00Z");
        let inhibited_labels = inhibited.labels.clone();
        let listing = Alerting {
            alerts: vec![
                alert("HighErrorRate", "co2-prod", "firing", "critical", "2026-12-01T10:05:00Z"),
                alert("HighMemory", "co2-prod", "firing", "warning", "2026-12-01T10:06:00Z"),
                inhibited,
            ],
            rules: Vec::new(),
            alertmanager: Some(Ok(Suppressions {
                silences: vec![
                    silence("s-1", "co2-prod", "HighErrorRate", "active"),
                    silence("s-2", "co2-prod", "HighMemory", "expired"),
                    silence("s-3", "co2-dev", "HighMemory", "active"),
                    silence("s-4", "co2-prod", "CeleryBacklog", "pending"),
                ],
                held: vec![Held {
                    labels: inhibited_labels,
                    silenced_by: Vec::new(),
                    inhibited_by: vec!["abc".into()],
                }],
            })),
        };
        let prod = for_namespace(&listing, "co2-prod");
        let order: Vec<(&str, &[String], bool)> = prod
            .alerts
            .iter()
            .map(|a| (a.labels["alertname"].as_str(), a.silenced_by.as_slice(), a.inhibited))
            .collect();
        let s1 = ["s-1".to_owned()];
        assert_eq!(
            order,
            [
                ("HighMemory", &[][..], false),
                ("HighErrorRate", &s1[..], false),
                ("SlowResponses", &[][..], true)
            ]
        );
        assert_eq!((prod.firing(), prod.held_back()), (1, 2));
        let ids: Vec<&str> = prod.silences.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["s-1", "s-4"]);
        let failed = Alerting { alertmanager: Some(Err("down".into())), ..listing };
        let prod = for_namespace(&failed, "co2-prod");
        assert_eq!(prod.alertmanager_failure.as_deref(), Some("down"));
        assert_eq!(prod.firing(), 3);
    }
}
