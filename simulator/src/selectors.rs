//! Label and field selectors, with the apiserver's syntax and its 400 on bad input.

use serde_json::Value;

use crate::error::ApiError;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// A parsed `labelSelector`; empty matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector(Vec<Requirement>);

/// Splits at commas that are not inside parentheses.
fn split_top(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0_i32;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 316
        && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
        && key.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
}

fn valid_value(value: &str) -> bool {
    value.len() <= 63
        && value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn bad(requirement: &str, why: &str) -> ApiError {
    ApiError::BadRequest(format!("unable to parse requirement: {requirement}: {why}"))
}

impl LabelSelector {
    pub fn parse(text: &str) -> Result<Self, ApiError> {
        let mut requirements = Vec::new();
        if text.trim().is_empty() {
            return Ok(Self(requirements));
        }
        for raw in split_top(text) {
            let part = raw.trim();
            if part.is_empty() {
                return Err(bad(raw, "found '', expected: identifier"));
            }
            let requirement = if let Some(key) = part.strip_prefix('!') {
                Requirement::NotExists(key.trim().to_owned())
            } else if let Some((key, rest)) = split_set_op(part, " notin ") {
                Requirement::NotIn(key, parse_set(part, &rest)?)
            } else if let Some((key, rest)) = split_set_op(part, " in ") {
                Requirement::In(key, parse_set(part, &rest)?)
            } else if let Some((key, value)) = part.split_once("!=") {
                Requirement::NotEquals(key.trim().to_owned(), value.trim().to_owned())
            } else if let Some((key, value)) = part.split_once("==") {
                Requirement::Equals(key.trim().to_owned(), value.trim().to_owned())
            } else if let Some((key, value)) = part.split_once('=') {
                Requirement::Equals(key.trim().to_owned(), value.trim().to_owned())
            } else {
                Requirement::Exists(part.to_owned())
            };
            let (key, values): (&str, Vec<&String>) = match &requirement {
                Requirement::Equals(k, v) | Requirement::NotEquals(k, v) => (k, vec![v]),
                Requirement::In(k, vs) | Requirement::NotIn(k, vs) => (k, vs.iter().collect()),
                Requirement::Exists(k) | Requirement::NotExists(k) => (k, vec![]),
            };
            if !valid_key(key) {
                return Err(bad(part, "invalid label key"));
            }
            if let Some(v) = values.iter().find(|v| !valid_value(v)) {
                return Err(bad(part, &format!("invalid label value: {v:?}")));
            }
            requirements.push(requirement);
        }
        Ok(Self(requirements))
    }

    /// Whether a labels map (`metadata.labels`, possibly absent) satisfies every requirement.
    pub fn matches(&self, labels: &Value) -> bool {
        let get = |key: &str| labels.get(key).and_then(Value::as_str);
        self.0.iter().all(|r| match r {
            Requirement::Equals(k, v) => get(k) == Some(v.as_str()),
            Requirement::NotEquals(k, v) => get(k) != Some(v.as_str()),
            Requirement::In(k, vs) => get(k).is_some_and(|l| vs.iter().any(|v| v == l)),
            Requirement::NotIn(k, vs) => get(k).is_none_or(|l| vs.iter().all(|v| v != l)),
            Requirement::Exists(k) => get(k).is_some(),
            Requirement::NotExists(k) => get(k).is_none(),
        })
    }

    /// The selector a workload's `spec.selector` (matchLabels + matchExpressions) means.
    pub fn from_label_selector(selector: &Value) -> Self {
        let mut requirements = Vec::new();
        if let Some(labels) = selector["matchLabels"].as_object() {
            for (k, v) in labels {
                requirements
                    .push(Requirement::Equals(k.clone(), v.as_str().unwrap_or("").to_owned()));
            }
        }
        if let Some(expressions) = selector["matchExpressions"].as_array() {
            for e in expressions {
                let key = e["key"].as_str().unwrap_or("").to_owned();
                let values: Vec<String> = e["values"]
                    .as_array()
                    .map(|vs| vs.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
                    .unwrap_or_default();
                requirements.push(match e["operator"].as_str() {
                    Some("In") => Requirement::In(key, values),
                    Some("NotIn") => Requirement::NotIn(key, values),
                    Some("DoesNotExist") => Requirement::NotExists(key),
                    _ => Requirement::Exists(key),
                });
            }
        }
        Self(requirements)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn split_set_op(part: &str, op: &str) -> Option<(String, String)> {
    part.split_once(op).map(|(k, rest)| (k.trim().to_owned(), rest.trim().to_owned()))
}

fn parse_set(part: &str, rest: &str) -> Result<Vec<String>, ApiError> {
    let inner = rest
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| bad(part, "found '', expected: '('"))?;
    Ok(inner.split(',').map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()).collect())
}

/// A parsed `fieldSelector`: `path=value` / `path!=value` pairs over the object's JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector(Vec<(String, bool, String)>);

impl FieldSelector {
    pub fn parse(text: &str) -> Result<Self, ApiError> {
        let mut terms = Vec::new();
        if text.trim().is_empty() {
            return Ok(Self(terms));
        }
        for part in text.split(',') {
            let (path, equal, value) = if let Some((p, v)) = part.split_once("!=") {
                (p, false, v)
            } else if let Some((p, v)) = part.split_once("==") {
                (p, true, v)
            } else if let Some((p, v)) = part.split_once('=') {
                (p, true, v)
            } else {
                return Err(ApiError::BadRequest(format!(
                    "invalid selector: '{text}'; can't understand '{part}'"
                )));
            };
            terms.push((path.trim().to_owned(), equal, value.trim().to_owned()));
        }
        Ok(Self(terms))
    }

    pub fn matches(&self, object: &Value) -> bool {
        self.0.iter().all(|(path, equal, value)| {
            let pointer = format!("/{}", path.replace('.', "/"));
            let actual = match object.pointer(&pointer) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            };
            (actual == *value) == *equal
        })
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{FieldSelector, LabelSelector};

    #[test]
    fn equality_set_and_existence_requirements_match_like_kubernetes() {
        let labels = json!({"app": "backend", "tier": "api"});
        let yes = |s: &str| LabelSelector::parse(s).unwrap().matches(&labels);
        assert!(yes("app=backend"));
        assert!(yes("app==backend,tier"));
        assert!(yes("app in (frontend, backend)"));
        assert!(yes("app notin (frontend),!missing"));
        assert!(yes("tier!=web"));
        assert!(yes(""));
        assert!(!yes("app=frontend"));
        assert!(!yes("missing"));
        assert!(!yes("app in (frontend)"));
        assert!(yes("missing!=x"));
    }

    #[test]
    fn a_malformed_selector_is_a_bad_request() {
        for bad in ["app=backend,", "app in backend", "=x", "app=b@d"] {
            let error = LabelSelector::parse(bad).expect_err(bad);
            assert_eq!(error.code(), 400, "{bad}");
        }
    }

    #[test]
    fn field_selectors_compare_dotted_paths() {
        let pod = json!({"metadata": {"name": "a"}, "status": {"phase": "Running"}});
        assert!(FieldSelector::parse("metadata.name=a").unwrap().matches(&pod));
        assert!(FieldSelector::parse("status.phase!=Pending").unwrap().matches(&pod));
        assert!(!FieldSelector::parse("metadata.name=b").unwrap().matches(&pod));
        assert_eq!(FieldSelector::parse("metadata.name").unwrap_err().code(), 400);
    }

    #[test]
    fn workload_selectors_use_match_labels_and_expressions() {
        let selector = json!({"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "track", "operator": "NotIn", "values": ["canary"]}]});
        let s = LabelSelector::from_label_selector(&selector);
        assert!(s.matches(&json!({"app": "web"})));
        assert!(!s.matches(&json!({"app": "web", "track": "canary"})));
    }
}
