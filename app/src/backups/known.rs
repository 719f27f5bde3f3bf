//! When each environment's last good backup finished, kept in memory for the overview
//! cards, the guard and the metrics endpoint: read from the database once, then again
//! whenever the recorder writes.

use std::collections::HashMap;
use std::sync::Mutex;

use super::model::{BackupGlance, BackupState};
use super::store;

/// When each environment's last good backup finished, as far as the database says.
#[derive(Default)]
pub struct Known {
    /// `None` until the database has been read once.
    last_good: Mutex<Option<HashMap<String, i64>>>,
}

impl Known {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<HashMap<String, i64>>> {
        // A poisoned map is still a good map: it is only ever replaced whole.
        self.last_good.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The environment's backups at a glance at `now_ms`.
    pub fn glance(&self, environment: &str, max_age_hours: u32, now_ms: i64) -> BackupGlance {
        let last = self.lock().as_ref().map(|m| m.get(environment).copied());
        BackupGlance {
            state: BackupState::of(last, now_ms, max_age_hours),
            last_good_ms: last.flatten(),
            max_age_hours,
        }
    }

    /// Reads the last good backups afresh from the database.
    pub async fn refresh(&self, db: &sqlx::PgPool) -> Result<(), sqlx::Error> {
        let rows = store::last_good(db).await?;
        *self.lock() = Some(rows.into_iter().collect());
        Ok(())
    }

    /// Whether the database has been read once.
    pub fn is_read(&self) -> bool {
        self.lock().is_some()
    }
}
