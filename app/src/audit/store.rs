//! Reading the audit log back: filters (environment, person, action, outcome, time range)
//! from a query string, limited to what the reader may see.

use chrono::{DateTime, NaiveDate, Utc};

use super::chain::Fields;

use crate::access::principal::Principal;
use crate::access::{check, Action, Role};
use crate::config::EnvironmentConfig;

/// The most events one page shows, and the most one export holds.
pub const PAGE: i64 = 100;
pub const MOST_EXPORTED: i64 = 100_000;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    pub environment: Option<String>,
    pub user_id: Option<String>,
    pub action: Option<String>,
    pub outcome: Option<String>,
    /// From the start of this day (UTC) ...
    pub from: Option<NaiveDate>,
    /// ... to the end of this one.
    pub to: Option<NaiveDate>,
    /// Events older than this one (the next page).
    pub before: Option<i64>,
}

/// Which events a reader may see: those of the environments where they may read the
/// audit log (approver or admin there), and the ones of no environment (sign-ins,
/// sign-outs) only if they are an admin somewhere.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    pub environments: Vec<String>,
    pub without_environment: bool,
}

impl Scope {
    pub fn of(principal: &Principal, environments: &[EnvironmentConfig]) -> Option<Scope> {
        let allowed: Vec<String> = environments
            .iter()
            .filter(|e| check(Some(principal), e, Action::ViewAudit).is_allowed())
            .map(|e| e.name.clone())
            .collect();
        if allowed.is_empty() {
            return None;
        }
        Some(Scope {
            environments: allowed,
            without_environment: principal.roles.values().any(|r| *r == Role::Admin),
        })
    }
}

/// Parses `env`, `user`, `action`, `outcome`, `from`, `to` (YYYY-MM-DD) and `before`;
/// empty values mean "any". Unknown keys are ignored (links may carry more).
pub fn parse(query: &[(String, String)]) -> Result<Filter, String> {
    let mut filter = Filter::default();
    for (key, value) in query {
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        let date = |v: &str| {
            NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .map_err(|_| format!("{key}={v:?} is not a date such as 2026-11-26"))
        };
        match key.as_str() {
            "env" => filter.environment = Some(value.to_owned()),
            "user" => filter.user_id = Some(value.to_owned()),
            "action" => filter.action = Some(value.to_owned()),
            "outcome" => filter.outcome = Some(value.to_owned()),
            "from" => filter.from = Some(date(value)?),
            "to" => filter.to = Some(date(value)?),
            "before" => {
                filter.before = Some(
                    value
                        .parse()
                        .map_err(|_| format!("before={value:?} is not an event number"))?,
                );
            }
            _ => {}
        }
    }
    if let (Some(from), Some(to)) = (filter.from, filter.to) {
        if to < from {
            return Err(format!("to ({to}) is before from ({from})"));
        }
    }
    Ok(filter)
}

/// One event as the audit page and the exports show it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Row {
    pub id: i64,
    pub occurred_at: DateTime<Utc>,
    #[serde(flatten)]
    pub event: Fields,
    /// Hex of the event's hash, so an export can be checked against the log.
    pub hash: String,
}

/// Events matching `filter` within `scope`, newest first, at most `limit`.
pub async fn fetch(
    db: &sqlx::PgPool,
    filter: &Filter,
    scope: &Scope,
    limit: i64,
) -> Result<Vec<Row>, sqlx::Error> {
    let day_start = |d: NaiveDate| d.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp_micros());
    let from = filter.from.and_then(day_start);
    let to = filter.to.and_then(|d| d.succ_opt()).and_then(day_start);
    let rows = sqlx::query!(
        r#"select audit_event_id, (extract(epoch from occurred_at) * 1000000)::int8 as "micros!", kind,
                  user_id, display_name, environment, object, action, outcome, request_id, reason,
                  request, client_addr, forwarded_for, hash
           from audit_event
           where (environment = any($1) or (environment is null and $2))
             and ($3::text is null or environment = $3)
             and ($4::text is null or user_id = $4)
             and ($5::text is null or action = $5 or kind = $5)
             and ($6::text is null or outcome = $6)
             and ($7::int8 is null or occurred_at >= timestamptz 'epoch' + $7::int8 * interval '1 microsecond')
             and ($8::int8 is null or occurred_at < timestamptz 'epoch' + $8::int8 * interval '1 microsecond')
             and ($9::int8 is null or audit_event_id < $9)
           order by audit_event_id desc
           limit $10"#,
        &scope.environments,
        scope.without_environment,
        filter.environment,
        filter.user_id,
        filter.action,
        filter.outcome,
        from,
        to,
        filter.before,
        limit,
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Row {
            id: r.audit_event_id,
            occurred_at: DateTime::from_timestamp_micros(r.micros).unwrap_or_default(),
            event: Fields {
                occurred_at: r.micros,
                kind: r.kind,
                user_id: r.user_id,
                display_name: r.display_name,
                environment: r.environment,
                object: r.object,
                action: r.action,
                outcome: r.outcome,
                request_id: r.request_id,
                reason: r.reason,
                request: r.request,
                client_addr: r.client_addr,
                forwarded_for: r.forwarded_for,
            },
            hash: super::chain::hex(&r.hash),
        })
        .collect())
}

/// The events as CSV (RFC 4180: every field quoted, quotes doubled).
pub fn csv(rows: &[Row]) -> String {
    let mut out = String::from(
        "id,occurred_at,kind,user_id,display_name,environment,object,action,outcome,request_id,reason,request,client_addr,forwarded_for,hash\r\n",
    );
    for r in rows {
        let e = &r.event;
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        let fields = [
            r.id.to_string(),
            r.occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            e.kind.clone(),
            text(&e.user_id),
            text(&e.display_name),
            text(&e.environment),
            text(&e.object),
            text(&e.action),
            e.outcome.clone(),
            e.request_id.map(|i| i.to_string()).unwrap_or_default(),
            text(&e.reason),
            text(&e.request),
            text(&e.client_addr),
            text(&e.forwarded_for),
            r.hash.clone(),
        ];
        csv_line(&fields, &mut out);
    }
    out
}

/// One CSV line (RFC 4180): every field quoted, quotes doubled, CRLF at the end. A field
/// a spreadsheet would read as a formula (starting with `=`, `+`, `-`, `@`, a tab or a
/// carriage return: OWASP's CSV injection rule) gets a leading `'`, so a rejection
/// comment or a forwarded address cannot run in the reader's spreadsheet.
pub fn csv_line(fields: &[String], out: &mut String) {
    let line: Vec<String> = fields
        .iter()
        .map(|f| {
            let inert = if f.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                format!("'{f}")
            } else {
                f.clone()
            };
            format!("\"{}\"", inert.replace('"', "\"\""))
        })
        .collect();
    out.push_str(&line.join(","));
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn filters_are_read_from_the_query_and_bad_ones_are_named() {
        let filter = parse(&q(&[
            ("env", "prod"),
            ("user", " 100001 "),
            ("from", "2026-11-01"),
            ("outcome", ""),
            ("x", "y"),
        ]))
        .expect("valid filters");
        assert_eq!(filter.environment.as_deref(), Some("prod"));
        assert_eq!(filter.user_id.as_deref(), Some("100001"));
        assert_eq!(filter.from, NaiveDate::from_ymd_opt(2026, 11, 1));
        assert_eq!(filter.outcome, None);
        assert!(parse(&q(&[("from", "yesterday")])).unwrap_err().contains("from=\"yesterday\""));
        assert!(parse(&q(&[("before", "x")])).unwrap_err().contains("before"));
        assert!(parse(&q(&[("from", "2026-11-02"), ("to", "2026-11-01")]))
            .unwrap_err()
            .contains("before from"));
    }

    #[test]
    fn csv_fields_a_spreadsheet_would_run_are_made_text() {
        let mut out = String::new();
        let fields: Vec<String> = [
            "=HYPERLINK(\"http://evil.example\",\"x\")",
            "+1+1",
            "-2+3",
            "@SUM(A1)",
            "\tx",
            "\rx",
            "plain = text",
            "",
        ]
        .map(str::to_owned)
        .to_vec();
        csv_line(&fields, &mut out);
        assert_eq!(
            out,
            "\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\",\"'+1+1\",\"'-2+3\",\"'@SUM(A1)\",\"'\tx\",\"'\rx\",\"plain = text\",\"\"\r\n"
        );
    }

    #[test]
    fn csv_quotes_every_field_and_doubles_quotes() {
        let row = Row {
            id: 7,
            occurred_at: DateTime::from_timestamp_micros(1_700_000_000_123_456)
                .expect("a date in range"),
            event: Fields {
                kind: "denied".into(),
                user_id: Some("100001".into()),
                display_name: Some("Eve \"the\" Tester".into()),
                environment: Some("prod".into()),
                action: Some("sync".into()),
                outcome: "refused".into(),
                reason: Some("a, b".into()),
                ..Fields::default()
            },
            hash: "ab".into(),
        };
        let text = csv(&[row]);
        let line = text.lines().nth(1).expect("a line after the header");
        assert!(line.starts_with("\"7\",\"2023-11-14T22:13:20.123456Z\",\"denied\""), "{line}");
        assert!(line.contains("\"Eve \"\"the\"\" Tester\"") && line.contains("\"a, b\""), "{line}");
    }
}
