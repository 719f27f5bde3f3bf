//! Counting open streams (live pages, log streams): at most so many per key (a session,
//! a person) and in all. A held place is given back when its `Held` is dropped, however
//! the stream ends.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use gantry_app::error::AppError;

pub struct Streams {
    open: Mutex<HashMap<String, usize>>,
    per_key: usize,
    in_all: usize,
}

/// One open stream's place, until dropped.
pub struct Held {
    streams: Arc<Streams>,
    key: String,
}

impl Streams {
    pub fn new(per_key: usize, in_all: usize) -> Self {
        Self { open: Mutex::default(), per_key, in_all }
    }

    /// Takes a place for `key`; refused (429) with `mine` or `all` in words when full.
    pub fn hold(self: &Arc<Self>, key: &str, mine: &str, all: &str) -> Result<Held, AppError> {
        let mut open = self.open.lock().map_err(|_| AppError::TooMany(all.to_owned()))?;
        if open.values().sum::<usize>() >= self.in_all {
            return Err(AppError::TooMany(all.to_owned()));
        }
        let count = open.entry(key.to_owned()).or_default();
        if *count >= self.per_key {
            return Err(AppError::TooMany(mine.to_owned()));
        }
        *count += 1;
        Ok(Held { streams: Arc::clone(self), key: key.to_owned() })
    }

    pub fn per_key(&self) -> usize {
        self.per_key
    }

    /// Streams open now, in all.
    pub fn open(&self) -> usize {
        self.open.lock().map(|o| o.values().sum()).unwrap_or(0)
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Ok(mut open) = self.streams.open.lock() {
            if let Some(n) = open.get_mut(&self.key) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    open.remove(&self.key);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_counted_per_key_and_in_all_and_given_back() {
        let streams = Arc::new(Streams::new(2, 3));
        let a1 = streams.hold("a", "mine", "all").expect("first");
        let _a2 = streams.hold("a", "mine", "all").expect("second");
        assert_eq!(streams.hold("a", "mine", "all").err(), Some(AppError::TooMany("mine".into())));
        let _b1 = streams.hold("b", "mine", "all").expect("another key");
        assert_eq!(streams.hold("c", "mine", "all").err(), Some(AppError::TooMany("all".into())));
        drop(a1);
        assert_eq!(streams.open(), 2);
        assert!(streams.hold("c", "mine", "all").is_ok());
    }
}
