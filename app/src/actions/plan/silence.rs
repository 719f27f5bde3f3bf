//! The words and numbers of silence plans: how long one may last, how it is asked for
//! ("2h"), how it is said ("2 hours", "HighErrorRate"), and the marker by which a restarted
//! server recognises a silence its request made.

use crate::monitoring::alertmanager::Matcher;

/// A silence lasts at least this long and at most a week (Alertmanager takes any; a
/// forgotten week-long silence is already a risk).
pub const SILENCE_MINUTES: std::ops::RangeInclusive<u32> = 5..=7 * 24 * 60;

/// `30m`, `2h`, `1d` or a number of minutes.
pub fn minutes(text: &str) -> Option<u32> {
    let (number, unit) = match text.char_indices().last()? {
        (i, 'm') => (&text[..i], 1),
        (i, 'h') => (&text[..i], 60),
        (i, 'd') => (&text[..i], 1440),
        _ => (text, 1),
    };
    number.trim().parse::<u32>().ok()?.checked_mul(unit)
}

/// The end of the comment of a silence Gantry made: which request made it (how a restarted
/// server tells whether it did).
pub fn silence_marker(request_id: i64) -> String {
    format!("(Gantry request {request_id})")
}

/// What a silence covers, in words: `HighErrorRate`, or "every alert" of the namespace.
pub(super) fn silenced(matchers: &[Matcher]) -> String {
    match matchers.iter().find(|m| m.name == "alertname") {
        Some(m) => m.value.clone(),
        None => "every alert".to_owned(),
    }
}

/// `30 minutes`, `2 hours`, `1 day 6 hours`.
pub fn duration_words(minutes: u32) -> String {
    let (days, hours, mins) = (minutes / 1440, minutes % 1440 / 60, minutes % 60);
    let part = |n: u32, unit: &str| match n {
        0 => None,
        1 => Some(format!("1 {unit}")),
        n => Some(format!("{n} {unit}s")),
    };
    [part(days, "day"), part(hours, "hour"), part(mins, "minute")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ")
}
