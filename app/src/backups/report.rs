//! A backup run read from what its Job and pod show: the one line of JSON the project's
//! backup script leaves as the container's termination message (or, when it could not
//! write it, the last log lines Kubernetes puts there instead).

use super::model::{Manifest, Outcome};

/// The most of a reason kept: a termination message is at most 4 KB anyway.
const LONGEST_REASON: usize = 600;

/// A reason as a person reads it: one line, no control characters, bounded.
fn one_line(text: &str) -> String {
    let mut out = String::new();
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().filter(|c| !c.is_control()));
    }
    if out.chars().count() > LONGEST_REASON {
        out = out.chars().take(LONGEST_REASON).collect::<String>() + "…";
    }
    out
}

/// How the Job ended, as its conditions say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    Not,
    Complete,
    Failed,
}

/// Reads a run from how its Job ended, its container's termination message and exit
/// code, and the Job's own failure message (a deadline, the backoff limit). A Job that
/// completed without a report that proves a dump is not counted as good: that is how
/// empty dumps pass for backups elsewhere.
pub fn read(
    ended: Ended,
    message: Option<&str>,
    exit_code: Option<i32>,
    job_failure: Option<&str>,
) -> Outcome {
    let (message, report) = parsed(message);
    let error = report.as_ref().and_then(|r| r["error"].as_str()).map(one_line);
    match ended {
        Ended::Not => Outcome::Running,
        Ended::Complete => match report.as_ref().and_then(manifest) {
            Some(manifest) => Outcome::Succeeded(manifest),
            None => Outcome::Failed {
                reason: error.unwrap_or_else(|| {
                    "finished without a report of its dump (file, size, checksum): not counted as a backup".into()
                }),
            },
        },
        Ended::Failed => Outcome::Failed {
            reason: failure(message, report.as_ref(), exit_code, job_failure),
        },
    }
}

/// The message trimmed, and the report in it: its last line of JSON (a script may have
/// logged before it).
fn parsed(message: Option<&str>) -> (Option<&str>, Option<serde_json::Value>) {
    let message = message.map(str::trim).filter(|m| !m.is_empty());
    let report = message.and_then(|m| {
        m.lines().rev().find_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
    });
    (message, report)
}

/// Why a run failed: the report's error, the log lines that stood in for it, the Job's
/// own words, or the exit code.
fn failure(
    message: Option<&str>,
    report: Option<&serde_json::Value>,
    exit_code: Option<i32>,
    job_failure: Option<&str>,
) -> String {
    report
        .and_then(|r| r["error"].as_str())
        .map(one_line)
        .or_else(|| message.filter(|_| report.is_none()).map(last_lines))
        .or_else(|| job_failure.map(one_line))
        .unwrap_or_else(|| match exit_code {
            Some(code) => format!("exited with code {code} without saying why"),
            None => "failed without saying why".into(),
        })
}

/// Reads a finished restore run: what it restored into which database, or why it
/// failed (`None` while it runs).
pub fn read_restore(
    ended: Ended,
    message: Option<&str>,
    exit_code: Option<i32>,
    job_failure: Option<&str>,
) -> Option<Result<(String, String), String>> {
    let (message, report) = parsed(message);
    match ended {
        Ended::Not => None,
        Ended::Complete => Some(
            report
                .as_ref()
                .and_then(|r| {
                    let file = r["restored"].as_str()?.to_owned();
                    Some((file, r["database"].as_str().unwrap_or_default().to_owned()))
                })
                .ok_or_else(|| "finished without a report of what it restored".to_owned()),
        ),
        Ended::Failed => Some(Err(failure(message, report.as_ref(), exit_code, job_failure))),
    }
}

/// What a verification proved: the dump restored into a scratch database, how long it
/// took, the rows it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    pub file: String,
    /// Whether it was restored (not only its checksum and archive checked).
    pub restored: bool,
    pub restore_ms: Option<i64>,
    pub tables: Option<i64>,
    pub rows: Option<i64>,
}

/// Reads a finished verification run (`None` while it runs).
pub fn read_verification(
    ended: Ended,
    message: Option<&str>,
    exit_code: Option<i32>,
    job_failure: Option<&str>,
) -> Option<Result<Verified, String>> {
    let (message, report) = parsed(message);
    match ended {
        Ended::Not => None,
        Ended::Complete => {
            let proved = report.as_ref().and_then(|r| {
                Some(Verified {
                    file: r["verified"].as_str().filter(|f| !f.is_empty())?.to_owned(),
                    restored: r["restored"].as_bool().unwrap_or(false),
                    restore_ms: r["restore_ms"].as_i64(),
                    tables: r["tables"].as_i64(),
                    rows: r["rows"].as_i64(),
                })
            });
            Some(proved.ok_or_else(|| {
                "finished without a report of what it verified: not counted as a verification"
                    .into()
            }))
        }
        Ended::Failed => Some(Err(failure(message, report.as_ref(), exit_code, job_failure))),
    }
}

/// The last lines of a log that stood in for the report, as one line.
fn last_lines(log: &str) -> String {
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    let from = lines.len().saturating_sub(3);
    one_line(&lines[from..].join(" "))
}

/// The manifest in a report, when it proves a dump: a file, a size above zero, a
/// checksum and entries.
fn manifest(report: &serde_json::Value) -> Option<Manifest> {
    let text = |key: &str| report[key].as_str().map(str::to_owned);
    let file = text("file").filter(|f| !f.is_empty())?;
    let bytes = report["bytes"].as_i64().filter(|b| *b > 0)?;
    let sha256 = text("sha256").filter(|s| s.len() == 64)?;
    let entries = report["entries"].as_i64().filter(|e| *e > 0)?;
    let retained: Vec<String> = report["retained"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    let retained_count =
        report["retained_count"].as_i64().unwrap_or(i64::try_from(retained.len()).unwrap_or(0));
    Some(Manifest {
        file,
        location: text("location").unwrap_or_default(),
        bytes,
        sha256,
        entries,
        pg_dump_version: text("pg_dump_version").unwrap_or_default(),
        server_version: text("server_version").unwrap_or_default(),
        retained,
        retained_count,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    fn report() -> String {
        format!(
            r#"{{"file":"co2-20261202T020002Z-db-backup-29412120.dump","location":"/backups","bytes":180123456,"sha256":"{SHA}","entries":412,"pg_dump_version":"pg_dump (PostgreSQL) 16.4","server_version":"16.4","retained":["co2-20261202T020002Z-db-backup-29412120.dump"],"retained_count":1}}"#
        )
    }

    #[test]
    fn a_completed_run_with_its_report_is_a_backup() {
        let Outcome::Succeeded(m) = read(Ended::Complete, Some(&report()), Some(0), None) else {
            panic!("a good report is a backup");
        };
        assert_eq!(m.bytes, 180_123_456);
        assert_eq!(m.entries, 412);
        assert_eq!(m.retained_count, 1);
        assert_eq!(m.location, "/backups");
    }

    #[test]
    fn a_completed_run_without_proof_is_not_a_backup() {
        for message in [None, Some("done"), Some(r#"{"file":"x.dump","bytes":0}"#)] {
            let outcome = read(Ended::Complete, message, Some(0), None);
            assert!(
                matches!(&outcome, Outcome::Failed { reason } if reason.contains("not counted")),
                "{message:?}: {outcome:?}"
            );
        }
    }

    #[test]
    fn a_failure_says_why_from_the_report_the_log_or_the_job() {
        let refused = r#"{"error":"empty dump refused: 312 bytes, below the floor of 4096"}"#;
        assert_eq!(
            read(Ended::Failed, Some(refused), Some(3), None),
            Outcome::Failed {
                reason: "empty dump refused: 312 bytes, below the floor of 4096".into()
            }
        );
        let log =
            "starting\npg_dump: error: could not write to output file: No space left on device\n";
        assert_eq!(
            read(Ended::Failed, Some(log), Some(2), None),
            Outcome::Failed {
                reason: "starting pg_dump: error: could not write to output file: No space left on device".into()
            }
        );
        assert_eq!(
            read(Ended::Failed, None, None, Some("Job was active longer than specified deadline")),
            Outcome::Failed { reason: "Job was active longer than specified deadline".into() }
        );
        assert_eq!(
            read(Ended::Failed, None, Some(137), None),
            Outcome::Failed { reason: "exited with code 137 without saying why".into() }
        );
        assert_eq!(read(Ended::Not, None, None, None), Outcome::Running);
    }

    #[test]
    fn a_verification_says_what_it_restored_or_why_not() {
        let good = r#"{"verified":"co2-x.dump","restored":true,"restore_ms":14200,"tables":12,"rows":105331}"#;
        let Some(Ok(v)) = read_verification(Ended::Complete, Some(good), Some(0), None) else {
            panic!("a verification");
        };
        assert_eq!((v.restored, v.restore_ms, v.rows), (true, Some(14_200), Some(105_331)));
        let broken = r#"{"error":"co2-x.dump does not restore: end of file"}"#;
        assert_eq!(
            read_verification(Ended::Failed, Some(broken), Some(4), None),
            Some(Err("co2-x.dump does not restore: end of file".into()))
        );
        assert!(matches!(read_verification(Ended::Complete, None, Some(0), None), Some(Err(_))));
        assert_eq!(read_verification(Ended::Not, None, None, None), None);
    }

    #[test]
    fn a_reason_is_one_bounded_line_without_control_characters() {
        let hostile = format!(r#"{{"error":"a\u001b[31m\nb {}"}}"#, "x".repeat(5000));
        let Outcome::Failed { reason } = read(Ended::Failed, Some(&hostile), Some(1), None) else {
            panic!("a failure");
        };
        assert!(!reason.chars().any(char::is_control), "{reason:?}");
        assert!(reason.chars().count() <= LONGEST_REASON + 1);
    }
}
