//! Deployment history that outlives the cluster's pruning: every ReplicaSet revision and
//! Argo CD history entry the panel sees is recorded once in PostgreSQL (`recorder`, from
//! the watch caches), and the History page shows what runs where and what changed when.

pub mod compare;
pub mod diff;
pub mod observe;
pub mod page;
pub mod recorder;
pub mod routes;
pub mod store;
pub mod timeline;

use crate::context::ServerContext;

/// How many timeline entries an export carries (and the Metrics page's markers read).
pub const LIMIT: i64 = 500;

/// How many timeline entries a page of the History page shows; older ones are one link
/// away. A page of 500 was 300 KB of HTML: writing it out was most of a view's cost.
pub const PAGE: i64 = 100;

/// How many recorded rows a person filter looks through (newest first, within the time
/// range): the person is known only once rows are joined with Gantry's requests.
pub const PERSON_SCAN: i64 = 5_000;

/// The filter from a query: `env`, `workload`, `person` (part of a name, any case), `from`
/// and `to` (dates, `YYYY-MM-DD`, both days included; or RFC 3339 times). An environment
/// the person may not see is refused by the caller; a date that cannot be read is refused
/// here, naming the field.
pub fn filter(pairs: &[(String, String)]) -> Result<store::Filter, String> {
    let get = |key: &str| {
        pairs
            .iter()
            .find(|(k, v)| k == key && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_owned())
    };
    let since_ms = get("from").map(|t| time_ms("from", &t, false)).transpose()?;
    let until_ms = get("to").map(|t| time_ms("to", &t, true)).transpose()?;
    if let (Some(since), Some(until)) = (since_ms, until_ms) {
        if since >= until {
            return Err("“from” must come before “to”.".to_owned());
        }
    }
    Ok(store::Filter {
        environment: get("env"),
        workload: get("workload"),
        person: get("person"),
        since_ms,
        until_ms,
    })
}

/// A date (the start of that day, or the start of the next for an inclusive end) or an
/// RFC 3339 time, as Unix milliseconds.
fn time_ms(field: &str, text: &str, end_of_day: bool) -> Result<i64, String> {
    if let Ok(time) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(time.timestamp_millis());
    }
    let day = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
        format!("“{field}” must be a date like 2026-11-26 or a time like 2026-11-26T09:30:00Z, not “{text}”.")
    })?;
    let day = if end_of_day { day.succ_opt().unwrap_or(day) } else { day };
    Ok(day.and_time(chrono::NaiveTime::MIN).and_utc().timestamp_millis())
}

/// [`timeline`] as kept between two writes to the history or the requests (`records`):
/// what the History page and its exports read.
pub async fn kept_timeline(
    context: &ServerContext,
    environments: &[String],
    filter: &store::Filter,
    most: i64,
) -> Result<std::sync::Arc<Vec<timeline::Entry>>, sqlx::Error> {
    let records = &context.records;
    let key = format!("{most} {environments:?} {filter:?}");
    let read = timeline(context, environments, filter, most);
    records.timeline.get(&records.versions, key, read).await
}

/// The `most` newest entries of the timeline for `environments` (those the person may
/// see), newest first.
pub async fn timeline(
    context: &ServerContext,
    environments: &[String],
    filter: &store::Filter,
    most: i64,
) -> Result<Vec<timeline::Entry>, sqlx::Error> {
    let rows = if filter.person.is_some() { PERSON_SCAN.max(most) } else { most };
    let revisions = store::revisions(&context.db, environments, filter, rows).await?;
    let (syncs, failed) = if filter.workload.is_some() {
        (Vec::new(), Vec::new())
    } else {
        (
            store::syncs(&context.db, environments, filter, rows).await?,
            store::failed_syncs(&context.db, environments, filter, rows).await?,
        )
    };
    // The requests that may have caused these changes: started up to two minutes before
    // the oldest and at most a few seconds after the newest (see `timeline::causes`).
    let times = revisions
        .iter()
        .map(|r| r.created_ms)
        .chain(syncs.iter().flat_map(|s| [s.deployed_ms, s.started_ms.unwrap_or(s.deployed_ms)]))
        .chain(failed.iter().map(|f| f.started_ms));
    let requests = match (times.clone().min(), times.max()) {
        (Some(oldest), Some(newest)) => {
            crate::actions::store::started_between(
                &context.db,
                environments,
                oldest - timeline::CAUSE_WINDOW_MS,
                newest + timeline::CAUSE_GRACE_MS,
            )
            .await?
        }
        _ => Vec::new(),
    };
    let mut entries = timeline::entries(&revisions, &syncs, &failed, &requests);
    if let Some(person) = &filter.person {
        let person = person.to_lowercase();
        entries.retain(|e| e.who.to_lowercase().contains(&person));
    }
    entries.truncate(usize::try_from(most).unwrap_or(usize::MAX));
    Ok(entries)
}

/// The timeline as CSV, newest first.
pub fn csv(entries: &[timeline::Entry]) -> String {
    let mut out = String::new();
    let header: Vec<String> =
        ["id", "time", "environment", "object", "change", "outcome", "duration_s", "who"]
            .iter()
            .map(|h| (*h).to_owned())
            .collect();
    crate::audit::store::csv_line(&header, &mut out);
    for e in entries {
        let time = chrono::DateTime::from_timestamp_millis(e.at_ms)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default();
        let fields = [
            e.id.clone(),
            time,
            e.environment.clone(),
            e.object.clone(),
            e.what.clone(),
            e.outcome.clone(),
            e.duration_ms.map(|d| (d / 1000).to_string()).unwrap_or_default(),
            e.who.clone(),
        ];
        crate::audit::store::csv_line(&fields, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asked(pairs: &[(&str, &str)]) -> Result<store::Filter, String> {
        let pairs: Vec<(String, String)> =
            pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        filter(&pairs)
    }

    #[test]
    fn dates_include_both_days_and_bad_ones_are_named() {
        let f = asked(&[("from", "2026-11-01"), ("to", "2026-11-01"), ("person", " Bob ")])
            .expect("a filter");
        let day = 86_400_000;
        assert_eq!(f.since_ms, Some(1_793_491_200_000));
        assert_eq!(f.until_ms, Some(1_793_491_200_000 + day), "the whole last day");
        assert_eq!(f.person.as_deref(), Some("Bob"));
        let exact = asked(&[("from", "2026-11-01T10:00:00+01:00")]).expect("a time");
        assert_eq!(exact.since_ms, Some(1_793_523_600_000));
        let bad = asked(&[("to", "last week")]).expect_err("refused");
        assert!(bad.starts_with("“to” must be a date"), "{bad}");
        let backwards =
            asked(&[("from", "2026-11-02"), ("to", "2026-11-01")]).expect_err("refused");
        assert_eq!(backwards, "“from” must come before “to”.");
        assert_eq!(asked(&[("env", " "), ("workload", "")]).map(|f| f.environment), Ok(None));
    }
}
