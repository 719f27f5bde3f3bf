//! Signed-in sessions this replica has read recently, so a page view does not read
//! PostgreSQL every time (measured with ./run bench: the overview went from about 2,700
//! to 5,600 requests a second). An entry lives a few seconds: a sign-out on this replica
//! removes it at once; one on another replica is seen here within [`FRESH_FOR`], and
//! activity is still written to the store once a minute.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gantry_app::access::principal::Principal;
use tower_sessions::session::Id;

use super::identity::SignedIn;

/// How long a session read from the store is trusted without reading it again.
pub const FRESH_FOR: Duration = Duration::from_secs(5);
/// Past this many entries, stale ones are swept out on the next insert.
const SWEEP_ABOVE: usize = 10_000;

#[derive(Default)]
pub struct SessionCache {
    entries: Mutex<HashMap<Id, Entry>>,
}

struct Entry {
    signed_in: Arc<SignedIn>,
    principal: Arc<Principal>,
    read_at: Instant,
}

impl SessionCache {
    /// The session and its principal, if read from the store less than [`FRESH_FOR`] ago.
    pub fn get(&self, id: &Id) -> Option<(Arc<SignedIn>, Arc<Principal>)> {
        let entries = self.entries.lock().ok()?;
        let entry = entries.get(id).filter(|e| e.read_at.elapsed() < FRESH_FOR)?;
        Some((Arc::clone(&entry.signed_in), Arc::clone(&entry.principal)))
    }

    pub fn put(&self, id: Id, signed_in: Arc<SignedIn>, principal: Arc<Principal>) {
        let Ok(mut entries) = self.entries.lock() else { return };
        if entries.len() >= SWEEP_ABOVE {
            entries.retain(|_, e| e.read_at.elapsed() < FRESH_FOR);
        }
        entries.insert(id, Entry { signed_in, principal, read_at: Instant::now() });
    }

    pub fn remove(&self, id: &Id) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(id);
        }
    }
}
