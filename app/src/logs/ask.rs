//! What a reader asks of the logs, from the address: which pod or workload, which
//! container, how many lines, since when, the previous run or the current one, follow
//! or not, and the filters. Every value is checked and refused in words (400); the
//! canonical query is what links, the stream and the download carry.

use chrono::{DateTime, Utc};

use super::line::{Filter, Level};
use crate::error::AppError;

/// Lines shown when the address does not say.
pub const DEFAULT_TAIL: u32 = 200;
/// At most this many lines from each pod.
pub const MOST_TAIL: u32 = 5_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Pod(String),
    /// Every pod of a Deployment or StatefulSet.
    Workload(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ask {
    pub env: String,
    pub target: Target,
    pub container: Option<String>,
    pub tail: u32,
    /// From the address as written (`15m`, `2h`, `1d` or an RFC 3339 time) …
    pub since_text: Option<String>,
    /// … and as a time.
    pub since: Option<DateTime<Utc>>,
    /// `None`: the panel decides (the previous run when the current one just restarted).
    pub previous: Option<bool>,
    pub follow: bool,
    pub filter: Filter,
}

/// A Kubernetes object name (DNS subdomain): what pods, workloads and containers are
/// called. Anything else is refused before it reaches the API.
pub fn is_name(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 253
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && text.starts_with(|c: char| c.is_ascii_alphanumeric())
}

fn flag(key: &str, value: &str) -> Result<bool, AppError> {
    match value {
        "1" | "true" | "on" | "yes" => Ok(true),
        "0" | "false" | "off" | "no" => Ok(false),
        _ => Err(AppError::Invalid(format!("{key} must be on or off, not “{value}”."))),
    }
}

/// `15m`, `2h`, `3d`, `30s` before `now`, or an RFC 3339 time.
fn since(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, AppError> {
    let refused = || {
        AppError::Invalid(format!(
            "since must be a duration such as 15m, 2h or 1d, or a time such as 2026-12-01T08:00:00Z; “{text}” is neither."
        ))
    };
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.to_utc());
    }
    let (number, unit) =
        text.split_at(text.find(|c: char| !c.is_ascii_digit()).ok_or_else(refused)?);
    let n: i64 = number.parse().map_err(|_| refused())?;
    let seconds = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(refused()),
    };
    if !(1..=30 * 86_400).contains(&seconds) {
        return Err(AppError::Invalid("since reaches back at most 30 days.".into()));
    }
    Ok(now - chrono::Duration::seconds(seconds))
}

impl Ask {
    /// From a page's or the stream's query; `target` from the address when the page's
    /// path names it, else from `pod=` or `workload=`.
    pub fn parse(
        env: &str,
        target: Option<&Target>,
        pairs: &[(String, String)],
        now: DateTime<Utc>,
    ) -> Result<Ask, AppError> {
        let mut ask = Ask {
            env: env.to_owned(),
            target: target.cloned().unwrap_or(Target::Pod(String::new())),
            container: None,
            tail: DEFAULT_TAIL,
            since_text: None,
            since: None,
            previous: None,
            follow: true,
            filter: Filter::default(),
        };
        let mut named = target.is_some();
        for (key, value) in pairs {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            match key.as_str() {
                "env" => {}
                "pod" | "workload" if target.is_none() => {
                    if named {
                        return Err(AppError::Invalid("Name one pod or one workload, not both.".into()));
                    }
                    if !is_name(value) {
                        return Err(AppError::Invalid(format!("{key} must be a Kubernetes name (lowercase letters, digits, '-' and '.').")));
                    }
                    ask.target = if key == "pod" {
                        Target::Pod(value.to_owned())
                    } else {
                        Target::Workload(value.to_owned())
                    };
                    named = true;
                }
                "container" => {
                    if !is_name(value) {
                        return Err(AppError::Invalid("container must be a container's name (lowercase letters, digits and '-').".into()));
                    }
                    ask.container = Some(value.to_owned());
                }
                "tail" => {
                    ask.tail = value
                        .parse()
                        .ok()
                        .filter(|n| (1..=MOST_TAIL).contains(n))
                        .ok_or_else(|| AppError::Invalid(format!("tail must be a number of lines from 1 to {MOST_TAIL}.")))?;
                }
                "since" => {
                    ask.since = Some(since(value, now)?);
                    ask.since_text = Some(value.to_owned());
                }
                "previous" => ask.previous = Some(flag(key, value)?),
                "follow" => ask.follow = flag(key, value)?,
                "level" => {
                    ask.filter.level = if value == "all" {
                        None
                    } else {
                        Some(Level::parse(value).ok_or_else(|| {
                            AppError::Invalid("level must be one of all, debug, info, warning, error.".into())
                        })?)
                    };
                }
                "q" => {
                    if value.chars().count() > 200 {
                        return Err(AppError::Invalid("The text filter is at most 200 characters.".into()));
                    }
                    ask.filter.text = Some(value.to_owned());
                }
                "trace" => {
                    let fine = value.len() <= 64 && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
                    if !fine {
                        return Err(AppError::Invalid("trace must be a trace id (letters, digits and '-', at most 64).".into()));
                    }
                    ask.filter.trace = Some(value.to_owned());
                }
                other => {
                    return Err(AppError::Invalid(format!(
                        "“{other}” is not something the logs can be asked for; use container, tail, since, previous, follow, level, q or trace."
                    )))
                }
            }
        }
        if !named {
            return Err(AppError::Invalid("Name a pod (pod=…) or a workload (workload=…).".into()));
        }
        Ok(ask)
    }

    /// The query carrying everything but the environment and the target (the page's
    /// address names those), with `trace` replaced; `None` drops it.
    pub fn query_with(&self, trace: Option<&str>) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        if let Some(c) = &self.container {
            q.append_pair("container", c);
        }
        if self.tail != DEFAULT_TAIL {
            q.append_pair("tail", &self.tail.to_string());
        }
        if let Some(s) = &self.since_text {
            q.append_pair("since", s);
        }
        if let Some(p) = self.previous {
            q.append_pair("previous", if p { "on" } else { "off" });
        }
        if !self.follow {
            q.append_pair("follow", "off");
        }
        if let Some(l) = self.filter.level {
            q.append_pair("level", l.as_str());
        }
        if let Some(t) = &self.filter.text {
            q.append_pair("q", t);
        }
        if let Some(t) = trace {
            q.append_pair("trace", t);
        }
        q.finish()
    }

    pub fn query(&self) -> String {
        self.query_with(self.filter.trace.as_deref())
    }

    /// The reader's page for this ask: the pod's page or the workload's logs page.
    pub fn page(&self) -> String {
        match &self.target {
            Target::Pod(p) => format!("/environments/{}/pods/{p}", self.env),
            Target::Workload(w) => format!("/environments/{}/workloads/{w}/logs", self.env),
        }
    }

    /// The same, with the query: where a trace id's link goes.
    pub fn page_with(&self, trace: Option<&str>) -> String {
        let q = self.query_with(trace);
        if q.is_empty() {
            self.page()
        } else {
            format!("{}?{q}", self.page())
        }
    }

    /// The stream's and the download's query: the page's, plus environment and target.
    pub fn api_query(&self) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("env", &self.env);
        match &self.target {
            Target::Pod(p) => q.append_pair("pod", p),
            Target::Workload(w) => q.append_pair("workload", w),
        };
        let rest = self.query();
        let head = q.finish();
        if rest.is_empty() {
            head
        } else {
            format!("{head}&{rest}")
        }
    }

    /// What was read, for the audit log: "container backend, last 200 lines, previous run".
    pub fn summary(&self, previous: bool) -> String {
        let mut parts = Vec::new();
        if let Some(c) = &self.container {
            parts.push(format!("container {c}"));
        }
        parts.push(format!("last {} lines", self.tail));
        if let Some(s) = &self.since_text {
            parts.push(format!("since {s}"));
        }
        if previous {
            parts.push("previous run".into());
        }
        if self.follow {
            parts.push("followed".into());
        }
        if let Some(t) = &self.filter.trace {
            parts.push(format!("trace {t}"));
        }
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-01T12:00:00Z").map(|t| t.to_utc()).unwrap_or_default()
    }

    #[test]
    fn an_address_reads_back_as_the_same_query() {
        let q = pairs(&[
            ("pod", "backend-7c9f-x2"),
            ("tail", "50"),
            ("since", "2h"),
            ("previous", "on"),
            ("level", "warning"),
            ("q", "slow & <b>"),
            ("trace", "4bf92f35"),
        ]);
        let ask = Ask::parse("prod", None, &q, now()).expect("fine");
        assert_eq!(ask.target, Target::Pod("backend-7c9f-x2".into()));
        assert_eq!(ask.since.map(|t| t.to_rfc3339()), Some("2026-12-01T10:00:00+00:00".into()));
        let again = Ask::parse(
            "prod",
            Some(&ask.target),
            &url::form_urlencoded::parse(ask.query().as_bytes()).into_owned().collect::<Vec<_>>(),
            now(),
        )
        .expect("fine");
        assert_eq!(again, ask);
        assert_eq!(ask.page_with(None), "/environments/prod/pods/backend-7c9f-x2?tail=50&since=2h&previous=on&level=warning&q=slow+%26+%3Cb%3E");
        assert!(ask.api_query().starts_with("env=prod&pod=backend-7c9f-x2&tail=50"));
    }

    #[test]
    fn bad_values_are_refused_in_words() {
        let refused = |list: &[(&str, &str)]| match Ask::parse("dev", None, &pairs(list), now()) {
            Err(AppError::Invalid(words)) => words,
            other => panic!("not refused: {other:?}"),
        };
        assert!(refused(&[("pod", "<script>")]).contains("Kubernetes name"));
        assert!(refused(&[("pod", "a"), ("tail", "0")]).contains("from 1 to 5000"));
        assert!(refused(&[("pod", "a"), ("since", "yesterday")]).contains("neither"));
        assert!(refused(&[("pod", "a"), ("since", "40d")]).contains("30 days"));
        assert!(refused(&[("pod", "a"), ("trace", "x\"><b>")]).contains("trace id"));
        assert!(refused(&[("pod", "a"), ("level", "loud")]).contains("one of"));
        assert!(refused(&[("pod", "a"), ("colour", "red")]).contains("“colour”"));
        assert!(refused(&[("pod", "a"), ("workload", "b")]).contains("not both"));
        assert!(refused(&[]).contains("Name a pod"));
    }
}
