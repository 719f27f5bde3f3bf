//! What a server-rendered page answers, and reading its query: a leaf, so every feature's
//! page handlers use it without depending on the table that dispatches to them.

use serde::{Deserialize, Serialize};

/// HTML rendered on the server for the caller.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerHtml {
    /// The page's title.
    pub title: String,
    pub html: String,
}

#[cfg(feature = "ssr")]
/// The query string as key-value pairs, decoded.
pub fn pairs(query: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.as_bytes()).into_owned().collect()
}
