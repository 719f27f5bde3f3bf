//! What a person asks for beyond the action, read from an address's query or a form, each
//! value checked with a refusal in words.

use super::{minutes, SILENCE_MINUTES};

/// What the person asked for, beyond the action itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Asked {
    pub workload: Option<String>,
    pub replicas: Option<i32>,
    pub min: Option<i32>,
    pub max: Option<i32>,
    pub revision: Option<i64>,
    /// Silences: the alert to silence (all of the environment's when absent), for how
    /// long, or the silence to expire.
    pub alertname: Option<String>,
    pub minutes: Option<u32>,
    pub silence: Option<String>,
    /// Restores: the dump to restore, and the new database to restore it into.
    pub file: Option<String>,
    pub copy: Option<String>,
}

impl Asked {
    /// From an address's query or a form (`workload`, `replicas`, `min`, `max`,
    /// `revision`); numbers must be whole numbers in range, empty values are left out.
    pub fn from_pairs(pairs: &[(String, String)]) -> Result<Self, String> {
        let mut asked = Asked::default();
        for (key, value) in pairs {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            let number = |what: &str| {
                value
                    .parse::<i64>()
                    .map_err(|_| format!("{what} must be a whole number, not “{value}”."))
            };
            let small = |what: &str| {
                number(what)
                    .and_then(|n| i32::try_from(n).map_err(|_| format!("{what} is out of range.")))
            };
            match key.as_str() {
                "workload" => asked.workload = Some(value.to_owned()),
                "replicas" => asked.replicas = Some(small("The number of replicas")?),
                "min" => asked.min = Some(small("The minimum")?),
                "max" => asked.max = Some(small("The maximum")?),
                "revision" => asked.revision = Some(number("The revision")?),
                "alertname" => {
                    if value.chars().count() > 200 || value.chars().any(char::is_control) {
                        return Err("The alert name must be a short line of text.".into());
                    }
                    asked.alertname = Some(value.to_owned());
                }
                "duration" => {
                    let minutes = minutes(value).filter(|m| SILENCE_MINUTES.contains(m));
                    asked.minutes = Some(minutes.ok_or_else(|| {
                        format!("The duration must be between 5 minutes and 7 days, such as 30m, 2h or 1d, not “{value}”.")
                    })?);
                }
                "file" => {
                    // A dump's name as backup.sh makes it: no path, no leading dot.
                    let fine = value.len() <= 200
                        && !value.starts_with('.')
                        && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
                    if !fine {
                        return Err("The backup must be named as the Backups page lists it (letters, digits, '.', '_' and '-').".into());
                    }
                    asked.file = Some(value.to_owned());
                }
                "copy" => {
                    let fine = value.len() <= 63
                        && value.starts_with(|c: char| c.is_ascii_lowercase())
                        && value
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
                    if !fine {
                        return Err("The copy's database name must start with a letter and hold at most 63 lowercase letters, digits and '_'.".into());
                    }
                    asked.copy = Some(value.to_owned());
                }
                "silence" => {
                    // Alertmanager's ids are UUIDs.
                    if value.len() > 64
                        || !value.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
                    {
                        return Err(format!("“{value}” is not a silence id."));
                    }
                    asked.silence = Some(value.to_owned());
                }
                _ => {}
            }
        }
        Ok(asked)
    }
}
