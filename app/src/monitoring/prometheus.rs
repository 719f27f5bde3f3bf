//! Prometheus' HTTP API as the panel uses it: range and instant queries the server builds
//! (people never send PromQL), each bounded — a time limit Prometheus is told of and one
//! the client keeps, a limit on queries in flight, a limit on points — and every failure
//! said in words that name what failed.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::Semaphore;

use super::window::{Window, MOST_POINTS};

/// How the panel signs its requests to Prometheus (from the environment only: a secret).
#[derive(Clone)]
pub enum Credentials {
    None,
    Bearer(String),
    Basic { user: String, password: String },
}

impl std::fmt::Debug for Credentials {
    // Never the secret itself, not even in a debug print.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Credentials::None => "none",
            Credentials::Bearer(_) => "bearer token",
            Credentials::Basic { .. } => "basic auth",
        })
    }
}

/// Why a query gave nothing to show, in words for the page.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    #[error("Prometheus at {host} cannot be reached ({reason})")]
    Unreachable { host: String, reason: String },
    #[error("Prometheus at {host} did not answer within {} s", .after.as_secs())]
    TimedOut { host: String, after: Duration },
    #[error("Prometheus refused the query: {0}")]
    Refused(String),
    #[error("Prometheus answered something that is not its API's JSON ({0})")]
    Unreadable(String),
    #[error("the chart would need {0} points, more than Prometheus gives ({MOST_POINTS})")]
    TooManyPoints(u64),
}

/// One series of a range query: its labels and its points, `None` where Prometheus says
/// "NaN" (a quantile with no traffic) or ±Inf — a gap on a chart, never a zero.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub labels: BTreeMap<String, String>,
    pub points: Vec<(i64, Option<f64>)>,
}

/// One series of an instant query.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub labels: BTreeMap<String, String>,
    pub value: Option<f64>,
}

/// An alert as Prometheus holds it.
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// `firing` or `pending`.
    pub state: String,
    /// When it became active (RFC 3339), if said.
    pub active_at: Option<String>,
    /// The silences (ids) holding it back, from Alertmanager; empty without one.
    pub silenced_by: Vec<String>,
    /// Alertmanager holds it back because a more important alert fires.
    pub inhibited: bool,
}

/// An alerting rule: what it is called, whether Prometheus can evaluate it, and its
/// alerts now.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// `ok`, `err` or `unknown`.
    pub health: String,
    pub last_error: Option<String>,
    pub alerts: Vec<Alert>,
}

#[derive(Deserialize)]
struct AlertsData {
    alerts: Vec<RawAlert>,
}

#[derive(Deserialize)]
struct RawAlert {
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    state: String,
    #[serde(default, rename = "activeAt")]
    active_at: Option<String>,
}

impl From<RawAlert> for Alert {
    fn from(raw: RawAlert) -> Self {
        Alert {
            labels: raw.labels,
            annotations: raw.annotations,
            state: raw.state,
            active_at: raw.active_at,
            silenced_by: Vec::new(),
            inhibited: false,
        }
    }
}

#[derive(Deserialize)]
struct RulesData {
    groups: Vec<RawGroup>,
}

#[derive(Deserialize)]
struct RawGroup {
    #[serde(default)]
    rules: Vec<RawRule>,
}

#[derive(Deserialize)]
struct RawRule {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    health: String,
    #[serde(default, rename = "lastError")]
    last_error: Option<String>,
    #[serde(default)]
    alerts: Vec<RawAlert>,
}

pub struct Prometheus {
    base: url::Url,
    credentials: Credentials,
    client: reqwest::Client,
    in_flight: Arc<Semaphore>,
    timeout: Duration,
}

/// At most this many queries at once: a page's charts ask together, and a slow Prometheus
/// must not collect a pile of waiting requests from the panel.
pub const CONCURRENT: usize = 8;

/// How long one query may take, at Prometheus (its `timeout=`) and here.
pub const TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Deserialize)]
struct Answer<D> {
    status: String,
    #[serde(default = "Option::default")]
    data: Option<D>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    result: Vec<Item>,
}

#[derive(Deserialize)]
struct Item {
    metric: BTreeMap<String, String>,
    #[serde(default)]
    values: Vec<(f64, String)>,
    #[serde(default)]
    value: Option<(f64, String)>,
}

/// Prometheus writes values as text: "NaN", "+Inf" and "-Inf" are no value to draw.
fn number(text: &str) -> Option<f64> {
    text.parse::<f64>().ok().filter(|v| v.is_finite())
}

fn seconds(t: f64) -> i64 {
    // Sample times are whole seconds or milliseconds: rounding loses nothing shown.
    #[allow(clippy::cast_possible_truncation)]
    let t = t.round() as i64;
    t
}

impl Prometheus {
    /// A client for the Prometheus at `base` (its URL, without `/api/v1`).
    pub fn new(base: url::Url, credentials: Credentials) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            // A little longer than Prometheus' own limit, so its "timeout" answer (which
            // says which query) arrives before ours cuts it off.
            .timeout(TIMEOUT + Duration::from_secs(1))
            .connect_timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| format!("cannot build the HTTP client for Prometheus: {e}"))?;
        Ok(Self {
            base,
            credentials,
            client,
            in_flight: Arc::new(Semaphore::new(CONCURRENT)),
            timeout: TIMEOUT,
        })
    }

    /// The same client with another time limit (tests; a slow Prometheus behind a proxy).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        if let Ok(client) = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout + Duration::from_secs(1))
            .connect_timeout(Duration::from_secs(2))
            .build()
        {
            self.client = client;
        }
        self
    }

    fn host(&self) -> String {
        let host = self.base.host_str().unwrap_or("?");
        match self.base.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        }
    }

    /// `expr` over `window`, one point per step.
    pub async fn range(&self, expr: &str, window: &Window) -> Result<Vec<Series>, Failure> {
        let points = window.points();
        if points > MOST_POINTS {
            return Err(Failure::TooManyPoints(points));
        }
        let form = [
            ("query", expr.to_owned()),
            ("start", window.start.to_string()),
            ("end", window.end.to_string()),
            ("step", window.step.as_secs().to_string()),
            ("timeout", format!("{}s", self.timeout.as_secs())),
        ];
        let data: Data = self.ask("api/v1/query_range", &form).await?;
        if data.result_type != "matrix" {
            return Err(Failure::Unreadable(format!("a {} for a range query", data.result_type)));
        }
        Ok(data
            .result
            .into_iter()
            .map(|item| Series {
                labels: item.metric,
                points: item.values.iter().map(|(t, v)| (seconds(*t), number(v))).collect(),
            })
            .collect())
    }

    /// `expr` at `at` (Unix seconds).
    pub async fn instant(&self, expr: &str, at: i64) -> Result<Vec<Sample>, Failure> {
        let form = [
            ("query", expr.to_owned()),
            ("time", at.to_string()),
            ("timeout", format!("{}s", self.timeout.as_secs())),
        ];
        let data: Data = self.ask("api/v1/query", &form).await?;
        match data.result_type.as_str() {
            "vector" => Ok(data
                .result
                .into_iter()
                .map(|item| Sample {
                    labels: item.metric,
                    value: item.value.as_ref().and_then(|(_, v)| number(v)),
                })
                .collect()),
            "scalar" => Err(Failure::Unreadable("a scalar where series were expected".into())),
            other => Err(Failure::Unreadable(format!("a {other} for an instant query"))),
        }
    }

    /// Every alert Prometheus holds, pending and firing (`/api/v1/alerts`).
    pub async fn alerts(&self) -> Result<Vec<Alert>, Failure> {
        let data: AlertsData = self.ask("api/v1/alerts", &[]).await?;
        Ok(data.alerts.into_iter().map(Alert::from).collect())
    }

    /// Every alerting rule Prometheus evaluates, with its health (`/api/v1/rules`;
    /// 2.42 ignores the filters of that API, so the panel filters).
    pub async fn rules(&self) -> Result<Vec<Rule>, Failure> {
        let data: RulesData = self.ask("api/v1/rules", &[("type", "alert".to_owned())]).await?;
        Ok(data
            .groups
            .into_iter()
            .flat_map(|g| g.rules)
            .filter(|r| r.kind == "alerting")
            .map(|r| Rule {
                name: r.name,
                labels: r.labels,
                health: r.health,
                last_error: r.last_error.filter(|e| !e.is_empty()),
                alerts: r.alerts.into_iter().map(Alert::from).collect(),
            })
            .collect())
    }

    async fn ask<D: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        form: &[(&str, String)],
    ) -> Result<D, Failure> {
        let host = self.host();
        // Closed only when the client is dropped; then nothing is asked.
        let _permit = self.in_flight.acquire().await.map_err(|_| Failure::Unreachable {
            host: host.clone(),
            reason: "the panel is stopping".into(),
        })?;
        let url = self
            .base
            .join(path)
            .map_err(|e| Failure::Unreachable { host: host.clone(), reason: e.to_string() })?;
        // Queries go as a form (a long PromQL stays out of the URL); the alert and rule
        // lists answer GET only.
        let mut request = if path.starts_with("api/v1/query") {
            self.client.post(url).form(form)
        } else {
            self.client.get(url).query(form)
        };
        request = match &self.credentials {
            Credentials::None => request,
            Credentials::Bearer(token) => request.bearer_auth(token),
            Credentials::Basic { user, password } => request.basic_auth(user, Some(password)),
        };
        let answer = request.send().await.map_err(|e| self.transport(&e))?;
        let status = answer.status();
        let body = answer.bytes().await.map_err(|e| self.transport(&e))?;
        let parsed: Answer<D> = serde_json::from_slice(&body).map_err(|_| {
            let what = if status.is_success() {
                "its body is not JSON".to_owned()
            } else {
                format!("HTTP {status} without its error JSON")
            };
            Failure::Unreadable(what)
        })?;
        if parsed.status == "success" {
            return parsed.data.ok_or_else(|| Failure::Unreadable("no data".into()));
        }
        let error = parsed.error.unwrap_or_default();
        match parsed.error_type.as_deref() {
            Some("timeout") => Err(Failure::TimedOut { host, after: self.timeout }),
            _ => Err(Failure::Refused(error)),
        }
    }

    fn transport(&self, error: &reqwest::Error) -> Failure {
        let host = self.host();
        if error.is_timeout() {
            return Failure::TimedOut { host, after: self.timeout };
        }
        // reqwest's own text names the URL; the host is enough, and a URL may carry a
        // secret (basic auth in it).
        let reason = if error.is_connect() {
            "connection refused or no route"
        } else if error.is_redirect() {
            "it answered with a redirect"
        } else {
            "the connection failed"
        };
        Failure::Unreachable { host, reason: reason.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_non_numbers_are_gaps_not_zeros() {
        assert_eq!(number("NaN"), None);
        assert_eq!(number("+Inf"), None);
        assert_eq!(number("-Inf"), None);
        assert_eq!(number("0.25"), Some(0.25));
        assert_eq!(number("1e3"), Some(1000.0));
    }

    #[test]
    fn credentials_never_show_their_secret() {
        let bearer = Credentials::Bearer("s3cr3t".into());
        let basic = Credentials::Basic { user: "gantry".into(), password: "s3cr3t".into() };
        assert_eq!(format!("{bearer:?} {basic:?}"), "bearer token basic auth");
    }
}
