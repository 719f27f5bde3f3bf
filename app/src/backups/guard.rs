//! The backup-age guard: where `[environments.backups] hold_changes` is on (by default
//! wherever a restore needs two approvals), Sync and Roll back are held while the last
//! good backup is older than `max_age_hours` or there is none — a release that goes wrong
//! must have a backup to go back to. Breaking the glass still runs them, with its reason.

use super::model::{BackupGlance, BackupState};
use crate::access::Action;
use crate::config::EnvironmentConfig;

/// Why `action` on `env` is held now, in words; `None` when it is not.
pub fn held(env: &EnvironmentConfig, action: Action, glance: &BackupGlance) -> Option<String> {
    if !env.backups.hold_changes || !matches!(action, Action::Sync | Action::Rollback) {
        return None;
    }
    let age = |ms: i64| {
        let hours = (chrono::Utc::now().timestamp_millis() - ms).max(0) / 3_600_000;
        format!("{hours} hours old")
    };
    match (glance.state, glance.last_good_ms) {
        (BackupState::Stale, Some(ms)) => Some(format!(
            "Held: the last good backup of {} is {}, more than the {} hours allowed before a change there. Back up now first, or break the glass with a reason.",
            env.name,
            age(ms),
            glance.max_age_hours
        )),
        (BackupState::Never, _) | (BackupState::Stale, None) => Some(format!(
            "Held: {} has no good backup to go back to. Back up now first, or break the glass with a reason.",
            env.name
        )),
        (BackupState::Fresh | BackupState::Unknown, _) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(hold: bool) -> EnvironmentConfig {
        EnvironmentConfig {
            name: "prod".into(),
            namespace: "app-prod".into(),
            argocd_application: None,
            argocd_namespace: "argocd".into(),
            cluster_context: None,
            prometheus_selector: String::new(),
            grafana_url: None,
            workloads: Vec::new(),
            policy: crate::access::EnvironmentPolicy::open(),
            backups: crate::config::BackupConfig { hold_changes: hold, ..Default::default() },
        }
    }

    fn glance(state: BackupState, hours_ago: i64) -> BackupGlance {
        let now = chrono::Utc::now().timestamp_millis();
        BackupGlance { state, last_good_ms: Some(now - hours_ago * 3_600_000), max_age_hours: 26 }
    }

    #[test]
    fn a_stale_or_missing_backup_holds_sync_and_rollback_only_where_configured() {
        let stale = glance(BackupState::Stale, 31);
        let said = held(&env(true), Action::Sync, &stale).expect("held");
        assert!(said.contains("31 hours old") && said.contains("26 hours"), "{said}");
        assert!(held(&env(true), Action::Rollback, &stale).is_some());
        assert!(held(&env(true), Action::Scale, &stale).is_none(), "scaling is not held");
        assert!(held(&env(false), Action::Sync, &stale).is_none(), "not where it is off");
        assert!(held(&env(true), Action::Sync, &glance(BackupState::Fresh, 2)).is_none());
        let never =
            BackupGlance { state: BackupState::Never, last_good_ms: None, max_age_hours: 26 };
        assert!(
            held(&env(true), Action::Sync, &never).is_some_and(|s| s.contains("no good backup"))
        );
    }
}
