//! What a backup run is and how the last good one stands against the environment's limit
//! (shared with the browser: the overview card shows the state).

use serde::{Deserialize, Serialize};

/// What a successful run reported: the dump and its proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub file: String,
    pub location: String,
    pub bytes: i64,
    pub sha256: String,
    pub entries: i64,
    pub pg_dump_version: String,
    pub server_version: String,
    /// The dumps retention keeps after this run, newest first (at most 20 named).
    pub retained: Vec<String>,
    pub retained_count: i64,
}

/// How a run stands or ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Outcome {
    Running,
    Succeeded(Manifest),
    /// Why, in words ("pg_dump: error: … Connection refused", "empty dump refused: …").
    Failed {
        reason: String,
    },
}

impl Outcome {
    pub fn word(&self) -> &'static str {
        match self {
            Outcome::Running => "running",
            Outcome::Succeeded(_) => "succeeded",
            Outcome::Failed { .. } => "failed",
        }
    }
}

/// The state of an environment's backups for the overview and the guard.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackupState {
    /// The last good backup is younger than the limit.
    Fresh,
    /// It is older.
    Stale,
    /// No good backup was ever recorded.
    Never,
    /// What the backups are cannot be read (the database or the cluster does not answer).
    Unknown,
}

impl BackupState {
    pub fn word(self) -> &'static str {
        match self {
            BackupState::Fresh => "fresh",
            BackupState::Stale => "stale",
            BackupState::Never => "never",
            BackupState::Unknown => "unknown",
        }
    }

    /// `last_good_ms`: when the last good backup finished (`Some(None)`: none ever;
    /// `None`: it cannot be known).
    pub fn of(last_good_ms: Option<Option<i64>>, now_ms: i64, max_age_hours: u32) -> Self {
        match last_good_ms {
            None => BackupState::Unknown,
            Some(None) => BackupState::Never,
            Some(Some(at)) if now_ms - at > i64::from(max_age_hours) * 3_600_000 => {
                BackupState::Stale
            }
            Some(Some(_)) => BackupState::Fresh,
        }
    }
}

/// An environment's backups at a glance: its state, and what the overview card says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupGlance {
    pub state: BackupState,
    /// When the last good backup finished, if one did.
    pub last_good_ms: Option<i64>,
    pub max_age_hours: u32,
}

/// The glance in one line, for the overview card (times absolute: the card is made once
/// per change, not per view).
#[cfg(feature = "ssr")]
pub fn glance_words(glance: &BackupGlance) -> String {
    let at = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .map(|t| t.format("%a %d %b %H:%M UTC").to_string())
            .unwrap_or_default()
    };
    match (glance.state, glance.last_good_ms) {
        (BackupState::Fresh, Some(ms)) => format!("Backup fresh: last good {}", at(ms)),
        (BackupState::Stale, Some(ms)) => format!(
            "Backup stale: the last good one ({}) is older than {} h",
            at(ms),
            glance.max_age_hours
        ),
        (BackupState::Unknown, _) => "Backup state unknown: the records cannot be read".into(),
        _ => "No good backup recorded yet".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_is_never_epoch_zero() {
        let hour = 3_600_000;
        assert_eq!(BackupState::of(None, 100 * hour, 26), BackupState::Unknown);
        assert_eq!(BackupState::of(Some(None), 100 * hour, 26), BackupState::Never);
        assert_eq!(BackupState::of(Some(Some(90 * hour)), 100 * hour, 26), BackupState::Fresh);
        assert_eq!(BackupState::of(Some(Some(73 * hour)), 100 * hour, 26), BackupState::Stale);
    }
}
