//! One log line as the panel reads it: Kubernetes' timestamp in front (asked for with
//! `timestamps=true`), then what the container wrote. The application's JSON lines
//! (`timestamp`, `level`, `logger`, `message`, `trace_id`, any other fields) become
//! columns; every other line stays as written. Bytes that are not UTF-8 are shown as
//! U+FFFD, never dropped.

use chrono::{DateTime, Utc};
use serde_json::Value;

/// Severity, in order; lines are kept at or above the one asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug,
    Info,
    Warning,
    Error,
}

impl Level {
    pub const ALL: [Level; 4] = [Level::Debug, Level::Info, Level::Warning, Level::Error];

    /// From what loggers write: `DEBUG`, `info`, `WARN`, `warning`, `CRITICAL`, `fatal`…
    pub fn parse(word: &str) -> Option<Level> {
        match word.to_ascii_lowercase().as_str() {
            "trace" | "debug" => Some(Level::Debug),
            "info" | "notice" => Some(Level::Info),
            "warn" | "warning" => Some(Level::Warning),
            "error" | "err" | "critical" | "fatal" | "panic" | "emerg" | "alert" => {
                Some(Level::Error)
            }
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

/// The fields of a structured line.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Fields {
    /// As written (`ERROR`), and as a level when it is one.
    pub level_word: Option<String>,
    pub level: Option<Level>,
    pub logger: Option<String>,
    pub message: String,
    pub trace_id: Option<String>,
    /// Every other field, as `key=value`, in the line's order.
    pub extra: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LogLine {
    /// The pod that wrote it.
    pub pod: std::sync::Arc<str>,
    /// When Kubernetes received it.
    pub at: Option<DateTime<Utc>>,
    /// The line as written (after the timestamp), lossless where it was UTF-8.
    pub text: String,
    /// The line was longer than the panel keeps; the rest was cut.
    pub cut: bool,
    pub fields: Option<Fields>,
}

impl LogLine {
    /// Reads `bytes` (one line without its newline) from `pod`.
    pub fn read(pod: std::sync::Arc<str>, bytes: &[u8], cut: bool) -> Self {
        let text = String::from_utf8_lossy(bytes);
        let (at, rest) = split_timestamp(&text);
        let text = rest.trim_end_matches('\r').to_owned();
        let fields = structured(&text);
        LogLine { pod, at, text, cut, fields }
    }

    pub fn level(&self) -> Option<Level> {
        self.fields.as_ref().and_then(|f| f.level)
    }

    pub fn trace_id(&self) -> Option<&str> {
        self.fields.as_ref().and_then(|f| f.trace_id.as_deref())
    }
}

/// `2026-12-01T22:06:03.123456789Z rest` → the time and the rest.
fn split_timestamp(text: &str) -> (Option<DateTime<Utc>>, &str) {
    let Some((first, rest)) = text.split_once(' ') else {
        return (DateTime::parse_from_rfc3339(text).ok().map(|t| t.to_utc()), "");
    };
    match DateTime::parse_from_rfc3339(first) {
        Ok(at) => (Some(at.to_utc()), rest),
        Err(_) => (None, text),
    }
}

fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The fields of a JSON object line, if it is one.
fn structured(text: &str) -> Option<Fields> {
    if !text.starts_with('{') {
        return None;
    }
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(text) else { return None };
    let mut fields = Fields::default();
    for (key, value) in map {
        match key.as_str() {
            "level" | "levelname" | "severity" => {
                let word = plain(&value);
                fields.level = Level::parse(&word);
                fields.level_word = Some(word);
            }
            "logger" | "name" if fields.logger.is_none() => fields.logger = Some(plain(&value)),
            "message" | "msg" => fields.message = plain(&value),
            "trace_id" | "traceId" | "trace" => {
                fields.trace_id = Some(plain(&value)).filter(|t| !t.is_empty());
            }
            // The line's own time: Kubernetes' is shown instead (and said to be so).
            "timestamp" | "time" | "ts" => {}
            // Nested fields as the server's own format writes them.
            "fields" if value.is_object() => {
                if let Value::Object(inner) = value {
                    fields.extra.extend(inner.into_iter().map(|(k, v)| (k, plain(&v))));
                }
            }
            _ => fields.extra.push((key, plain(&value))),
        }
    }
    Some(fields)
}

/// What a reader narrowed the lines to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// Lines at or above this level; lines without one (plain text, a traceback) stay.
    pub level: Option<Level>,
    /// Lines containing this, ignoring case.
    pub text: Option<String>,
    /// Lines of one request: its trace id in the field, or anywhere in a plain line.
    pub trace: Option<String>,
}

impl Filter {
    pub fn keeps(&self, line: &LogLine) -> bool {
        if let (Some(least), Some(level)) = (self.level, line.level()) {
            if level < least {
                return false;
            }
        }
        if let Some(text) = &self.text {
            if !line.text.to_lowercase().contains(&text.to_lowercase()) {
                return false;
            }
        }
        if let Some(trace) = &self.trace {
            let field = line.trace_id().is_some_and(|t| t.eq_ignore_ascii_case(trace));
            if !field && !line.text.contains(trace.as_str()) {
                return false;
            }
        }
        true
    }

    pub fn is_empty(&self) -> bool {
        self.level.is_none() && self.text.is_none() && self.trace.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &[u8]) -> LogLine {
        LogLine::read("backend-1".into(), text, false)
    }

    #[test]
    fn a_json_line_becomes_columns_and_its_extra_fields_stay_in_order() {
        let l = line(br#"2026-12-01T22:06:03.123456789Z {"timestamp":"2026-12-01T22:06:03.120Z","level":"WARNING","logger":"app.db","message":"slow query","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","duration_ms":151.5,"statement":"select 1"}"#);
        assert_eq!(l.at.map(|t| t.timestamp_subsec_nanos()), Some(123_456_789));
        let f = l.fields.clone().expect("structured");
        assert_eq!(f.level, Some(Level::Warning));
        assert_eq!(f.logger.as_deref(), Some("app.db"));
        assert_eq!(f.message, "slow query");
        assert_eq!(l.trace_id(), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
        assert_eq!(
            f.extra,
            vec![("duration_ms".into(), "151.5".into()), ("statement".into(), "select 1".into())]
        );
    }

    #[test]
    fn plain_lines_and_broken_bytes_stay_as_written() {
        let l = line(b"2026-12-01T22:06:03Z Traceback (most recent call last):");
        assert!(l.fields.is_none());
        assert_eq!(l.text, "Traceback (most recent call last):");
        let broken = line(b"2026-12-01T22:06:03Z caf\xe9 {not json");
        assert_eq!(broken.text, "caf\u{fffd} {not json");
        assert!(broken.fields.is_none());
        let unstamped = line(b"no timestamp here");
        assert_eq!((unstamped.at, unstamped.text.as_str()), (None, "no timestamp here"));
    }

    #[test]
    fn filters_keep_levels_above_text_and_one_request() {
        let error = line(br#"{"level":"ERROR","message":"boom","trace_id":"abc123"}"#);
        let info = line(br#"{"level":"INFO","message":"GET /units 200","trace_id":"def456"}"#);
        let plain = line(b"10.0.0.1 - - \"GET /units\" 200 trace_id=def456");
        let warnings = Filter { level: Some(Level::Warning), ..Filter::default() };
        assert!(warnings.keeps(&error) && !warnings.keeps(&info) && warnings.keeps(&plain));
        let text = Filter { text: Some("get /UNITS".into()), ..Filter::default() };
        assert!(!text.keeps(&error) && text.keeps(&info) && text.keeps(&plain));
        let trace = Filter { trace: Some("def456".into()), ..Filter::default() };
        assert!(!trace.keeps(&error) && trace.keeps(&info) && trace.keeps(&plain));
        assert!(Filter::default().keeps(&error));
    }
}
