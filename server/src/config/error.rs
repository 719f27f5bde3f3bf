use std::fmt;

/// A configuration value Gantry refuses, naming the key and where it came from.
#[derive(Debug, thiserror::Error)]
pub struct ConfigError {
    /// The key as written in the file (`server.listen`).
    pub key: String,
    /// The file path or environment variable that supplied the value.
    pub origin: String,
    pub problem: String,
}

impl ConfigError {
    pub fn new(
        key: impl Into<String>,
        origin: impl Into<String>,
        problem: impl Into<String>,
    ) -> Self {
        Self { key: key.into(), origin: origin.into(), problem: problem.into() }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "configuration error: {}: {} (from {})", self.key, self.problem, self.origin)
    }
}
