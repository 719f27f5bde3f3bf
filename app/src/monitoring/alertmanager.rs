//! Alertmanager's API v2 as the panel uses it: the alerts it holds (to tell silenced and
//! inhibited ones), its silences, and making and expiring a silence. Bounded as the
//! Prometheus client is (a time limit, no redirects); every failure said in words naming
//! Alertmanager and its address.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::prometheus::Credentials;

/// How long one call may take: shorter than Prometheus' limit, since the alerts listing
/// waits for both and the alerts come from Prometheus.
pub const TIMEOUT: Duration = Duration::from_secs(3);

/// One matcher of a silence, as Alertmanager writes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Matcher {
    pub name: String,
    pub value: String,
    #[serde(rename = "isRegex", default)]
    pub is_regex: bool,
    /// `false` for `!=` and `!~`.
    #[serde(rename = "isEqual", default = "yes")]
    pub is_equal: bool,
}

fn yes() -> bool {
    true
}

impl Matcher {
    pub fn equal(name: &str, value: &str) -> Self {
        Self { name: name.to_owned(), value: value.to_owned(), is_regex: false, is_equal: true }
    }

    /// Whether `labels` satisfy it, as Alertmanager decides: an absent label is the empty
    /// string, a regular expression must match the whole value.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let value = labels.get(&self.name).map_or("", String::as_str);
        let hit = if self.is_regex {
            regex::Regex::new(&format!("^(?:{})$", self.value))
                .map(|r| r.is_match(value))
                .unwrap_or(false)
        } else {
            value == self.value
        };
        hit == self.is_equal
    }
}

impl std::fmt::Display for Matcher {
    /// `name="value"`, `name!="value"`, `name=~"regex"`, `name!~"regex"`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let op = match (self.is_equal, self.is_regex) {
            (true, false) => "=",
            (false, false) => "!=",
            (true, true) => "=~",
            (false, true) => "!~",
        };
        write!(f, "{}{op}{:?}", self.name, self.value)
    }
}

/// A silence as Alertmanager holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Silence {
    pub id: String,
    pub matchers: Vec<Matcher>,
    pub starts_at: String,
    pub ends_at: String,
    pub created_by: String,
    pub comment: String,
    /// `active`, `pending` or `expired`.
    pub state: String,
}

impl Silence {
    /// Whether it silences an alert with `labels` now.
    pub fn silences(&self, labels: &BTreeMap<String, String>) -> bool {
        self.state == "active" && self.matchers.iter().all(|m| m.matches(labels))
    }

    /// Whether it may silence alerts of `namespace`: its namespace matcher admits it, or it
    /// has none (then it covers every environment).
    pub fn covers(&self, namespace: &str) -> bool {
        let labels = BTreeMap::from([("namespace".to_owned(), namespace.to_owned())]);
        self.matchers.iter().filter(|m| m.name == "namespace").all(|m| m.matches(&labels))
    }
}

/// An alert as Alertmanager holds it: whether a silence or an inhibition holds it back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Held {
    pub labels: BTreeMap<String, String>,
    pub silenced_by: Vec<String>,
    pub inhibited_by: Vec<String>,
}

/// A silence to make.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewSilence {
    pub matchers: Vec<Matcher>,
    #[serde(rename = "startsAt")]
    pub starts_at: String,
    #[serde(rename = "endsAt")]
    pub ends_at: String,
    #[serde(rename = "createdBy")]
    pub created_by: String,
    pub comment: String,
}

#[derive(Deserialize)]
struct RawSilence {
    id: String,
    #[serde(default)]
    matchers: Vec<Matcher>,
    #[serde(rename = "startsAt", default)]
    starts_at: String,
    #[serde(rename = "endsAt", default)]
    ends_at: String,
    #[serde(rename = "createdBy", default)]
    created_by: String,
    #[serde(default)]
    comment: String,
    status: RawState,
}

#[derive(Deserialize)]
struct RawState {
    #[serde(default)]
    state: String,
}

#[derive(Deserialize)]
struct RawAlert {
    #[serde(default)]
    labels: BTreeMap<String, String>,
    status: RawAlertStatus,
}

#[derive(Deserialize)]
struct RawAlertStatus {
    #[serde(rename = "silencedBy", default)]
    silenced_by: Vec<String>,
    #[serde(rename = "inhibitedBy", default)]
    inhibited_by: Vec<String>,
}

#[derive(Deserialize)]
struct Created {
    #[serde(rename = "silenceID")]
    silence_id: String,
}

pub struct Alertmanager {
    base: url::Url,
    credentials: Credentials,
    client: reqwest::Client,
}

impl Alertmanager {
    /// A client for the Alertmanager at `base` (its URL, without `/api/v2`).
    pub fn new(base: url::Url, credentials: Credentials) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .connect_timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| format!("cannot build the HTTP client for Alertmanager: {e}"))?;
        Ok(Self { base, credentials, client })
    }

    fn host(&self) -> String {
        let host = self.base.host_str().unwrap_or("?");
        match self.base.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        }
    }

    /// Every silence it holds, expired ones included (it keeps them a while).
    pub async fn silences(&self) -> Result<Vec<Silence>, String> {
        let raw: Vec<RawSilence> = self.ask(reqwest::Method::GET, "api/v2/silences", None).await?;
        Ok(raw
            .into_iter()
            .map(|s| Silence {
                id: s.id,
                matchers: s.matchers,
                starts_at: s.starts_at,
                ends_at: s.ends_at,
                created_by: s.created_by,
                comment: s.comment,
                state: s.status.state,
            })
            .collect())
    }

    /// Every alert it holds, with what holds it back.
    pub async fn alerts(&self) -> Result<Vec<Held>, String> {
        let raw: Vec<RawAlert> = self.ask(reqwest::Method::GET, "api/v2/alerts", None).await?;
        Ok(raw
            .into_iter()
            .map(|a| Held {
                labels: a.labels,
                silenced_by: a.status.silenced_by,
                inhibited_by: a.status.inhibited_by,
            })
            .collect())
    }

    /// Makes a silence; its id.
    pub async fn create(&self, silence: &NewSilence) -> Result<String, String> {
        let body = serde_json::to_value(silence).map_err(|e| e.to_string())?;
        let created: Created =
            self.ask(reqwest::Method::POST, "api/v2/silences", Some(body)).await?;
        Ok(created.silence_id)
    }

    /// Expires a silence (Alertmanager keeps it, expired, for its retention).
    pub async fn expire(&self, id: &str) -> Result<(), String> {
        // Ids are UUIDs: anything else is refused before it reaches a path.
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
            return Err(format!("{id:?} is not a silence id"));
        }
        let path = format!("api/v2/silence/{id}");
        self.ask::<serde::de::IgnoredAny>(reqwest::Method::DELETE, &path, None).await.map(|_| ())
    }

    async fn ask<D: serde::de::DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<D, String> {
        let host = self.host();
        let url = self.base.join(path).map_err(|e| format!("Alertmanager at {host}: {e}"))?;
        let mut request = self.client.request(method, url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request = match &self.credentials {
            Credentials::None => request,
            Credentials::Bearer(token) => request.bearer_auth(token),
            Credentials::Basic { user, password } => request.basic_auth(user, Some(password)),
        };
        let answer = request.send().await.map_err(|e| {
            if e.is_timeout() {
                format!("Alertmanager at {host} did not answer within {} s", TIMEOUT.as_secs())
            } else {
                format!("Alertmanager at {host} cannot be reached ({})", root_cause(&e))
            }
        })?;
        let status = answer.status();
        let text = answer
            .text()
            .await
            .map_err(|e| format!("Alertmanager at {host} broke off its answer ({e})"))?;
        if !status.is_success() {
            // Its refusals are a JSON string or a short text saying why.
            let why: String = serde_json::from_str::<String>(&text)
                .unwrap_or_else(|_| text.trim().chars().take(200).collect());
            return Err(format!("Alertmanager refused ({status}): {why}"));
        }
        let text = if text.trim().is_empty() { "null" } else { text.as_str() };
        serde_json::from_str(text).map_err(|e| {
            format!("Alertmanager answered something that is not its API's JSON ({e})")
        })
    }
}

/// The innermost cause of a connection error ("Connection refused"), without the URL.
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn matchers_decide_as_alertmanager_does() {
        let alert = labels(&[("alertname", "HighErrorRate"), ("namespace", "co2-prod")]);
        assert!(Matcher::equal("namespace", "co2-prod").matches(&alert));
        assert!(!Matcher::equal("namespace", "co2").matches(&alert));
        let regex = |value: &str, equal: bool| Matcher {
            name: "alertname".into(),
            value: value.into(),
            is_regex: true,
            is_equal: equal,
        };
        assert!(regex("High.*", true).matches(&alert));
        // Anchored: a part of the value is not a match.
        assert!(!regex("Error", true).matches(&alert));
        assert!(regex("Error", false).matches(&alert));
        // An absent label is the empty string.
        assert!(Matcher::equal("severity", "").matches(&alert));
        assert!(!regex("(", true).matches(&alert), "a bad expression matches nothing");
        assert_eq!(regex("High.*", false).to_string(), "alertname!~\"High.*\"");
    }

    #[test]
    fn a_silence_covers_its_namespace_or_every_one() {
        let silence = |matchers: Vec<Matcher>, state: &str| Silence {
            id: "1".into(),
            matchers,
            starts_at: String::new(),
            ends_at: String::new(),
            created_by: String::new(),
            comment: String::new(),
            state: state.into(),
        };
        let mine = silence(vec![Matcher::equal("namespace", "co2-prod")], "active");
        assert!(mine.covers("co2-prod") && !mine.covers("co2-dev"));
        let everywhere = silence(vec![Matcher::equal("alertname", "Watchdog")], "active");
        assert!(everywhere.covers("co2-dev"));
        let alert = labels(&[("alertname", "X"), ("namespace", "co2-prod")]);
        assert!(mine.silences(&alert));
        let expired = silence(vec![Matcher::equal("namespace", "co2-prod")], "expired");
        assert!(!expired.silences(&alert));
    }
}
