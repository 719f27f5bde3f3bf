//! The Backups page (`/backups?env=…`): tabs for the environments the caller may see,
//! and for the chosen one: the last good backup (age in words, time, size, duration,
//! file, location, checksum), the schedule and its next run, what retention keeps, "Back
//! up now" where the caller may, and every recorded run with its outcome in words and
//! its size against the run before.

use std::fmt::Write as _;

use super::model::{BackupGlance, BackupState, Manifest, Outcome};
use super::observe::{Restore, Schedule, Verification};
use super::store::Run;
use crate::access::Decision;
use crate::escape::html;
use crate::server_page::model::ServerHtml;

pub struct Page<'a> {
    pub environments: &'a [String],
    pub environment: &'a str,
    pub namespace: &'a str,
    pub cronjob: &'a str,
    pub glance: BackupGlance,
    /// `None`: the cluster's view has not synced yet.
    pub schedule: Option<Option<Schedule>>,
    pub next_run_ms: Option<i64>,
    pub runs: &'a [Run],
    /// The verification CronJob's last finished run, if it has one.
    pub verification: Option<Verification>,
    pub verify_cronjob: &'a str,
    /// The restores the cluster shows, newest first.
    pub restores: Vec<Restore>,
    pub restore: Decision,
    pub backup: Decision,
    pub now_ms: i64,
}

fn clock(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%a %d %b %H:%M UTC").to_string())
        .unwrap_or_default()
}

/// "31 hours ago", "in 8 hours": how far `ms` is from `now_ms`, in words.
pub fn distance(ms: i64, now_ms: i64) -> String {
    let seconds = (now_ms - ms).abs() / 1000;
    let amount = match seconds {
        s if s < 90 => format!("{s} seconds"),
        s if s < 90 * 60 => format!("{} minutes", (s + 30) / 60),
        s if s < 48 * 3600 => format!("{} hours", (s + 1800) / 3600),
        s => format!("{} days", (s + 43_200) / 86_400),
    };
    if ms <= now_ms {
        format!("{amount} ago")
    } else {
        format!("in {amount}")
    }
}

/// "180.1 MB": sizes as people compare dumps.
pub fn size(bytes: i64) -> String {
    let b = bytes as f64;
    match bytes {
        n if n < 1_000 => format!("{n} bytes"),
        n if n < 1_000_000 => format!("{:.1} kB", b / 1e3),
        n if n < 1_000_000_000 => format!("{:.1} MB", b / 1e6),
        _ => format!("{:.2} GB", b / 1e9),
    }
}

fn duration(from: Option<i64>, to: Option<i64>) -> String {
    match (from, to) {
        (Some(f), Some(t)) if t >= f => {
            let s = (t - f) / 1000;
            if s < 120 {
                format!("{s} s")
            } else {
                format!("{} min", (s + 30) / 60)
            }
        }
        _ => "—".into(),
    }
}

/// A path segment or query value: percent-encoded.
fn encoded(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

impl Page<'_> {
    fn title(&self) -> String {
        format!("Backups · {}", self.environment)
    }

    fn tabs(&self, out: &mut String) {
        out.push_str(r#"<nav class="tabs" aria-label="Environment">"#);
        for name in self.environments {
            let _ = write!(
                out,
                r#"<a href="/backups?env={}"{}>{}</a>"#,
                html(&encoded(name)),
                if name == self.environment { r#" aria-current="page""# } else { "" },
                html(name)
            );
        }
        out.push_str("</nav>");
    }

    pub fn render(&self) -> ServerHtml {
        let mut out = String::from("<h1>Backups</h1>");
        self.tabs(&mut out);
        self.summary(&mut out);
        self.schedule(&mut out);
        self.verification(&mut out);
        self.restores(&mut out);
        self.runs(&mut out);
        ServerHtml { title: self.title(), html: out }
    }

    fn last_good(&self) -> Option<(&Run, &Manifest)> {
        self.runs.iter().find_map(|r| match &r.outcome {
            Outcome::Succeeded(m) => Some((r, m)),
            _ => None,
        })
    }

    /// The state in words, with the last good backup's facts.
    fn summary(&self, out: &mut String) {
        let state = self.glance.state;
        let _ = write!(
            out,
            r#"<section class="panel" id="backup-summary" data-backup="{}"><h2>Last good backup <span class="badge backup-{}">{}</span></h2>"#,
            state.word(),
            state.word(),
            state.word()
        );
        let limit = self.glance.max_age_hours;
        match (state, self.glance.last_good_ms) {
            (BackupState::Unknown, _) => out.push_str(
                r#"<p class="chart-failure" role="status">The recorded backups cannot be read now (the database does not answer): whether a good backup exists is not known.</p>"#,
            ),
            (_, None) => {
                let _ = write!(
                    out,
                    r#"<p class="plain">No good backup of {} has been recorded: there is nothing to restore from.</p>"#,
                    html(self.environment)
                );
            }
            (state, Some(at)) => {
                let said = if state == BackupState::Stale {
                    format!("{}, older than the {limit} hours allowed here.", distance(at, self.now_ms))
                } else {
                    format!("{} (at most {limit} hours allowed).", distance(at, self.now_ms))
                };
                let _ = write!(
                    out,
                    r#"<p class="plain">Finished {} — {}</p>"#,
                    html(&clock(at)),
                    html(&said)
                );
            }
        }
        if let Some((run, m)) = self.last_good() {
            let _ = write!(
                out,
                r#"<dl class="facts"><div><dt>File</dt><dd class="mono">{}</dd></div><div><dt>Location</dt><dd class="mono">{}</dd></div><div><dt>Size</dt><dd>{} · {} entries</dd></div><div><dt>Took</dt><dd>{}</dd></div><div><dt>SHA-256</dt><dd class="mono small">{}</dd></div><div><dt>Versions</dt><dd class="small">{} · server {}</dd></div></dl>"#,
                html(&m.file),
                html(&m.location),
                html(&size(m.bytes)),
                m.entries,
                html(&duration(run.started_ms, run.finished_ms)),
                html(&m.sha256),
                html(&m.pg_dump_version),
                html(&m.server_version)
            );
            if !m.retained.is_empty() {
                let _ = write!(
                    out,
                    r#"<details id="retained"><summary>{} backups kept by retention</summary><ul class="mono small">"#,
                    m.retained_count
                );
                for file in &m.retained {
                    let _ = write!(out, "<li>{}</li>", html(file));
                }
                out.push_str("</ul></details>");
            }
        }
        out.push_str("</section>");
    }

    /// The CronJob: schedule, next run, suspended; and Back up now.
    fn schedule(&self, out: &mut String) {
        out.push_str(r#"<section class="panel" id="backup-schedule"><h2>Schedule</h2>"#);
        let running = self.runs.iter().find(|r| r.outcome == Outcome::Running);
        match &self.schedule {
            None => out.push_str(
                r#"<p class="muted">The cluster's view of this environment is not ready yet.</p>"#,
            ),
            Some(None) => {
                let _ = write!(
                    out,
                    r#"<p class="chart-failure" role="status">There is no CronJob <code>{}</code> in <code>{}</code>: nothing makes backups of this environment. The chart should carry <code>deploy/backup/cronjob.yaml</code> (see the README's Backups section).</p>"#,
                    html(self.cronjob),
                    html(self.namespace)
                );
            }
            Some(Some(s)) => {
                let zone = s.time_zone.as_deref().unwrap_or("UTC");
                let _ = write!(
                    out,
                    r#"<p>CronJob <code>{}</code> runs <code>{}</code> ({}).</p>"#,
                    html(&s.name),
                    html(&s.schedule),
                    html(zone)
                );
                if s.suspended {
                    out.push_str(r#"<p class="chart-failure" role="status" id="suspended">Suspended: no backup runs on schedule until the CronJob is resumed.</p>"#);
                } else if let Some(next) = self.next_run_ms {
                    let _ = write!(
                        out,
                        r#"<p id="next-run">Next run {} ({}).</p>"#,
                        html(&clock(next)),
                        html(&distance(next, self.now_ms))
                    );
                }
                if let Some(r) = running {
                    let _ = write!(
                        out,
                        r#"<p id="backup-running" role="status">A backup is running: <code>{}</code>, started {}.</p>"#,
                        html(&r.job),
                        html(&r.started_ms.map(|t| distance(t, self.now_ms)).unwrap_or_default())
                    );
                } else if self.backup.is_allowed() {
                    let note = match &self.backup {
                        Decision::NeedsApproval { approvals: 1 } => " · needs 1 approval",
                        Decision::NeedsApproval { .. } => " · needs approvals",
                        _ => "",
                    };
                    let _ = write!(
                        out,
                        r#"<p><a class="button action" data-action="backup" href="/environments/{}/actions/backup">Back up now</a><span class="small muted">{note}</span></p>"#,
                        html(&encoded(self.environment))
                    );
                }
            }
        }
        out.push_str("</section>");
    }

    /// The last verification: whether the newest dump restored, how long it took, its rows.
    fn verification(&self, out: &mut String) {
        out.push_str(
            r#"<section class="panel" id="backup-verification"><h2>Last verification</h2>"#,
        );
        match &self.verification {
            None => {
                let _ = write!(
                    out,
                    r#"<p class="muted">No verification has run: the CronJob <code>{}</code> restores the newest dump into a scratch database and counts its rows (<code>deploy/backup/verify-cronjob.yaml</code>).</p>"#,
                    html(self.verify_cronjob)
                );
            }
            Some(v) => {
                let when = v
                    .finished_ms
                    .map(|t| format!("{} ({})", clock(t), distance(t, self.now_ms)))
                    .unwrap_or_default();
                match &v.result {
                    Ok(proved) if proved.restored => {
                        let took = proved
                            .restore_ms
                            .map(|ms| format!("{:.1} s", ms as f64 / 1000.0))
                            .unwrap_or_else(|| "an unknown time".into());
                        let _ = write!(
                            out,
                            r#"<p class="plain" data-verified="restored">Restored <code>{}</code> into a scratch database in {} — {} tables, {} rows. {}</p>"#,
                            html(&proved.file),
                            html(&took),
                            proved.tables.unwrap_or(0),
                            proved.rows.unwrap_or(0),
                            html(&when)
                        );
                    }
                    Ok(proved) => {
                        let _ = write!(
                            out,
                            r#"<p class="plain" data-verified="checked">Checked <code>{}</code> (checksum and archive; not restored: the job has no database to restore into). {}</p>"#,
                            html(&proved.file),
                            html(&when)
                        );
                    }
                    Err(reason) => {
                        let _ = write!(
                            out,
                            r#"<p class="chart-failure" role="status" data-verified="failed">The last verification failed: {}. {}</p>"#,
                            html(reason),
                            html(&when)
                        );
                    }
                }
            }
        }
        out.push_str("</section>");
    }

    /// The restores (into copies, and over the live database), and the way to ask for one.
    fn restores(&self, out: &mut String) {
        out.push_str(r#"<section class="panel" id="backup-restores"><h2>Restores</h2>"#);
        if self.restore.is_allowed() && self.last_good().is_some() {
            let note = match &self.restore {
                Decision::NeedsApproval { approvals: 1 } => " · needs 1 approval",
                Decision::NeedsApproval { .. } => " · needs approvals",
                _ => "",
            };
            let _ = write!(
                out,
                r#"<p><a class="button action" data-action="restore" href="/environments/{}/actions/restore">Restore</a><span class="small muted">{note}</span></p>"#,
                html(&encoded(self.environment))
            );
        }
        if self.restores.is_empty() {
            out.push_str(r#"<p class="muted">No restore is shown by the cluster.</p></section>"#);
            return;
        }
        out.push_str(r#"<ul class="restores">"#);
        for r in &self.restores {
            let said = match &r.result {
                None => "running".to_owned(),
                Some(Ok((file, database))) => {
                    format!("restored {file} into the database {database}")
                }
                Some(Err(reason)) => format!("failed: {reason}"),
            };
            let by =
                r.requested_by.as_deref().map(|b| format!(", asked by {b}")).unwrap_or_default();
            let _ = write!(
                out,
                r#"<li data-job="{}"><code>{}</code> {}{}: {}</li>"#,
                html(&r.job),
                html(&r.job),
                html(&r.started_ms.map(clock).unwrap_or_default()),
                html(&by),
                html(&said)
            );
        }
        out.push_str("</ul></section>");
    }

    /// Every recorded run, newest first, with its size against the good one before it.
    fn runs(&self, out: &mut String) {
        out.push_str(r#"<section class="panel" id="backup-runs"><h2>Runs</h2>"#);
        if self.runs.is_empty() {
            out.push_str(
                r#"<p class="muted">No run of the backup has been recorded.</p></section>"#,
            );
            return;
        }
        out.push_str(r#"<table class="data"><thead><tr><th>Started</th><th>Trigger</th><th>Took</th><th>Outcome</th><th>Size</th></tr></thead><tbody>"#);
        for (i, run) in self.runs.iter().enumerate() {
            let older = self.runs[i + 1..].iter().find_map(|r| match &r.outcome {
                Outcome::Succeeded(m) => Some(m.bytes),
                _ => None,
            });
            let trigger = match (&run.requested_by, run.manual) {
                (Some(who), _) => format!("manual, by {who}"),
                (None, true) => "manual".to_owned(),
                (None, false) => "scheduled".to_owned(),
            };
            let (outcome, class, shown_size) = match &run.outcome {
                Outcome::Running => ("running".to_owned(), "running", String::new()),
                Outcome::Succeeded(m) => {
                    let trend = older
                        .filter(|o| *o > 0)
                        .map(|o| {
                            let change = (m.bytes - o) as f64 / o as f64 * 100.0;
                            let flag = if change < -20.0 {
                                " — much smaller than the one before"
                            } else {
                                ""
                            };
                            format!(" ({change:+.1} %{flag})")
                        })
                        .unwrap_or_default();
                    (format!("done: {}", m.file), "succeeded", format!("{}{trend}", size(m.bytes)))
                }
                Outcome::Failed { reason } => {
                    (format!("failed: {reason}"), "failed", String::new())
                }
            };
            let _ = write!(
                out,
                r#"<tr class="run-{class}" data-job="{}"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
                html(&run.job),
                html(&run.started_ms.map(clock).unwrap_or_else(|| "—".into())),
                html(&trigger),
                html(&duration(run.started_ms, run.finished_ms)),
                html(&outcome),
                html(&shown_size)
            );
        }
        out.push_str("</tbody></table></section>");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_and_sizes_read_as_words() {
        let now = 1_796_117_400_000;
        assert_eq!(distance(now - 31 * 3_600_000, now), "31 hours ago");
        assert_eq!(distance(now + 8 * 3_600_000, now), "in 8 hours");
        assert_eq!(distance(now - 3 * 86_400_000, now), "3 days ago");
        assert_eq!(size(180_123_456), "180.1 MB");
        assert_eq!(size(312), "312 bytes");
        assert_eq!(duration(Some(0), Some(42_000)), "42 s");
    }
}
