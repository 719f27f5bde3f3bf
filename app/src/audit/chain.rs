//! The audit log's hash chain, as plain functions: each event's hash covers the previous
//! event's hash and every field of the event, so changing, removing or reordering an
//! event breaks the chain at the first event affected.

use sha2::{Digest, Sha256};

/// The "previous hash" of the first event.
pub const GENESIS: [u8; 32] = [0; 32];

/// An event's contents, in the order they are hashed.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Fields {
    /// Microseconds since the Unix epoch (PostgreSQL's precision); exports show it as a
    /// date instead.
    #[serde(skip)]
    pub occurred_at: i64,
    pub kind: String,
    pub user_id: Option<String>,
    pub display_name: Option<String>,
    pub environment: Option<String>,
    pub object: Option<String>,
    pub action: Option<String>,
    pub outcome: String,
    pub request_id: Option<i64>,
    pub reason: Option<String>,
    pub request: Option<String>,
    pub client_addr: Option<String>,
    pub forwarded_for: Option<String>,
}

/// One stored event, as the check reads it back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    pub id: i64,
    pub fields: Fields,
    pub previous_hash: Vec<u8>,
    pub hash: Vec<u8>,
}

/// SHA-256 over the previous hash and each field, length-prefixed, with absent fields
/// distinct from empty ones (no two different events hash the same way by shifting text
/// from one field into the next).
pub fn hash(previous: &[u8], fields: &Fields) -> [u8; 32] {
    let mut digest = Sha256::new();
    digest.update(b"gantry-audit-v1");
    digest.update(previous);
    digest.update(fields.occurred_at.to_be_bytes());
    let text = |digest: &mut Sha256, value: Option<&str>| match value {
        None => digest.update([0u8]),
        Some(v) => {
            digest.update([1u8]);
            digest.update((v.len() as u64).to_be_bytes());
            digest.update(v.as_bytes());
        }
    };
    text(&mut digest, Some(&fields.kind));
    text(&mut digest, fields.user_id.as_deref());
    text(&mut digest, fields.display_name.as_deref());
    text(&mut digest, fields.environment.as_deref());
    text(&mut digest, fields.object.as_deref());
    text(&mut digest, fields.action.as_deref());
    text(&mut digest, Some(&fields.outcome));
    match fields.request_id {
        None => digest.update([0u8]),
        Some(id) => {
            digest.update([1u8]);
            digest.update(id.to_be_bytes());
        }
    }
    text(&mut digest, fields.reason.as_deref());
    text(&mut digest, fields.request.as_deref());
    text(&mut digest, fields.client_addr.as_deref());
    text(&mut digest, fields.forwarded_for.as_deref());
    digest.finalize().into()
}

/// Where the chain breaks, and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Broken {
    /// The first event that does not check out.
    pub id: i64,
    pub kind: String,
    pub why: &'static str,
}

/// What checking the chain found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checked {
    pub events: u64,
    /// The hash of the last event: note it somewhere else to notice the tail being cut.
    pub head: Vec<u8>,
}

/// Checks events in the order they were written, from wherever the walk stands
/// (`previous`: the hash of the event before the first one given).
pub struct Walk {
    previous: Vec<u8>,
    events: u64,
}

impl Default for Walk {
    fn default() -> Self {
        Self { previous: GENESIS.to_vec(), events: 0 }
    }
}

impl Walk {
    pub fn step(&mut self, event: &Stored) -> Result<(), Broken> {
        let broken = |why| Broken { id: event.id, kind: event.fields.kind.clone(), why };
        if event.previous_hash != self.previous {
            return Err(broken("it does not follow the event before it: an event was removed, inserted or moved there"));
        }
        if hash(&event.previous_hash, &event.fields)[..] != event.hash[..] {
            return Err(broken("its contents were changed after it was written"));
        }
        self.previous.clone_from(&event.hash);
        self.events += 1;
        Ok(())
    }

    pub fn finish(self) -> Checked {
        Checked { events: self.events, head: self.previous }
    }
}

/// Lowercase hexadecimal, for hashes in messages.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<Stored> {
        let mut previous = GENESIS.to_vec();
        (1..=n)
            .map(|id| {
                let fields = Fields {
                    occurred_at: 1_700_000_000_000_000 + id,
                    kind: "sign_in".to_owned(),
                    user_id: Some(format!("10000{id}")),
                    outcome: "ok".to_owned(),
                    ..Fields::default()
                };
                let hash = hash(&previous, &fields).to_vec();
                let stored =
                    Stored { id, fields, previous_hash: previous.clone(), hash: hash.clone() };
                previous = hash;
                stored
            })
            .collect()
    }

    fn check(events: &[Stored]) -> Result<Checked, Broken> {
        let mut walk = Walk::default();
        for event in events {
            walk.step(event)?;
        }
        Ok(walk.finish())
    }

    #[test]
    fn an_untouched_chain_checks_out_and_reports_its_head() {
        let events = chain(5);
        let checked = check(&events).expect("an untouched chain checks out");
        assert_eq!(checked.events, 5);
        assert_eq!(checked.head, events[4].hash);
        assert_eq!(check(&[]).expect("an empty chain checks out").events, 0);
    }

    #[test]
    fn an_edited_event_is_named() {
        let mut events = chain(5);
        events[2].fields.user_id = Some("999999".to_owned());
        let broken = check(&events).unwrap_err();
        assert_eq!((broken.id, broken.why), (3, "its contents were changed after it was written"));
        // Absent and empty are different contents.
        let mut events = chain(3);
        events[1].fields.reason = Some(String::new());
        assert_eq!(check(&events).unwrap_err().id, 2);
    }

    #[test]
    fn a_removed_or_moved_event_breaks_the_chain_at_the_next_one() {
        let mut events = chain(5);
        events.remove(1);
        let broken = check(&events).unwrap_err();
        assert_eq!(broken.id, 3);
        assert!(broken.why.contains("does not follow"));
        let mut events = chain(5);
        events.swap(1, 2);
        assert_eq!(check(&events).unwrap_err().id, 3);
    }

    #[test]
    fn text_cannot_be_shifted_between_fields_unnoticed() {
        let a = Fields {
            kind: "x".into(),
            user_id: Some("ab".into()),
            display_name: Some("c".into()),
            ..Fields::default()
        };
        let b = Fields {
            kind: "x".into(),
            user_id: Some("a".into()),
            display_name: Some("bc".into()),
            ..Fields::default()
        };
        assert_ne!(hash(&GENESIS, &a), hash(&GENESIS, &b));
    }
}
