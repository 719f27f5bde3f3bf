//! The database backups of the simulated cluster: a backup Job's pod ends as the
//! project's `deploy/backup/backup.sh` ends — with its one line of JSON as the container's
//! termination message — and a simulated NAS per namespace holds the dumps it wrote, with
//! the Job's retention, so what the panel lists as restorable is what is there. Faults
//! make it fail the ways a real one does: pg_dump cannot connect, an empty dump refused,
//! a full volume, a slow dump.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::faults::WorkloadFault;
use crate::store::str_at;

/// The server version the seed's PostgreSQL runs, as pg_dump reports it.
const SERVER_VERSION: &str = "16.4 (Debian 16.4-1.pgdg120+2)";
const PG_DUMP_VERSION: &str = "pg_dump (PostgreSQL) 16.4 (Debian 16.4-1.pgdg120+2)";
/// The demo database's dump: about 180 MB, growing a little with every run.
const BASE_BYTES: u64 = 180_000_000;
/// Most names the report lists (the script's own bound: a termination message is 4 KB).
const LISTED: usize = 20;

/// One dump on the NAS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dump {
    pub file: String,
    pub bytes: u64,
    pub sha256: String,
    pub entries: u64,
}

/// The backup volumes, one folder per namespace.
#[derive(Clone, Default)]
pub struct Nas {
    folders: Arc<Mutex<HashMap<String, Vec<Dump>>>>,
}

impl Nas {
    /// The dumps in `namespace`'s folder, newest first.
    pub fn list(&self, namespace: &str) -> Vec<Dump> {
        let folders = self.folders.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        folders.get(namespace).cloned().unwrap_or_default()
    }

    /// Puts a dump in place and keeps the newest `retain`: what is kept, newest first.
    fn keep(&self, namespace: &str, dump: Dump, retain: usize) -> Vec<Dump> {
        let mut folders = self.folders.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let folder = folders.entry(namespace.to_owned()).or_default();
        folder.push(dump);
        // Names begin with their UTC time: sorting by name sorts by age, as the script does.
        folder.sort_by(|a, b| b.file.cmp(&a.file));
        folder.truncate(retain.max(1));
        folder.clone()
    }
}

/// Whether a pod is `app`'s (`db-backup`, `db-verify`): its Job's pod template says so with
/// `app` (the seed) or `app.kubernetes.io/name` (the chart's templates).
fn is(pod: &Value, app: &str) -> bool {
    let labels = &pod["metadata"]["labels"];
    labels["app"] == app || labels["app.kubernetes.io/name"] == app
}

pub fn is_backup(pod: &Value) -> bool {
    is(pod, "db-backup")
}

pub fn is_verify(pod: &Value) -> bool {
    is(pod, "db-verify")
}

pub fn is_restore(pod: &Value) -> bool {
    is(pod, "db-restore")
}

/// How a restore ends, as `restore.sh` does: the dump must be on the NAS and match its
/// checksum (`EXPECTED_SHA256`, when given) before anything is touched; a failing restore
/// changes nothing (one transaction).
pub fn restore(cluster: &crate::Cluster, pod: &Value) -> (bool, i32, String) {
    let namespace = str_at(pod, "/metadata/namespace");
    let error = |code: i32, text: String| (false, code, json!({"error": text}).to_string());
    let Some(file) = setting(pod, "BACKUP_FILE").filter(|f| !f.is_empty()) else {
        return error(1, "BACKUP_FILE is not set".into());
    };
    let Some(dump) = cluster.nas.list(namespace).into_iter().find(|d| d.file == file) else {
        return error(1, format!("there is no backup {file} in /backups"));
    };
    if setting(pod, "EXPECTED_SHA256").is_some_and(|s| s != dump.sha256) {
        return error(
            3,
            format!("checksum mismatch: {file} is corrupt or was changed since it was written"),
        );
    }
    if cluster.faults.has(WorkloadFault::FailingRestores, namespace, "") {
        return error(
            4,
            "pg_restore: error: could not execute query: ERROR:  cannot drop table footprint_entry because other objects depend on it (nothing was changed)".into(),
        );
    }
    let database = setting(pod, "RESTORE_COPY").filter(|c| !c.is_empty()).unwrap_or("co2");
    let report = json!({
        "restored": dump.file,
        "sha256": dump.sha256,
        "entries": dump.entries,
        "database": database,
    });
    (true, 0, report.to_string())
}

/// How a verification ends: the newest dump on the NAS restored into a scratch database
/// (a restore of the demo's 180 MB takes about 14 s), or the way it fails.
pub fn verify(cluster: &crate::Cluster, pod: &Value) -> (bool, i32, String) {
    let namespace = str_at(pod, "/metadata/namespace");
    let Some(newest) = cluster.nas.list(namespace).into_iter().next() else {
        let said = "there is no backup co2-*.dump in /backups to verify";
        return (false, 1, json!({"error": said}).to_string());
    };
    if cluster.faults.has(WorkloadFault::FailingVerification, namespace, "") {
        let said = format!(
            "{} does not restore: could not read from input file: end of file",
            newest.file
        );
        return (false, 4, json!({"error": said}).to_string());
    }
    let rows = 105_000 + newest.bytes / 2_000;
    let report = json!({
        "verified": newest.file,
        "sha256": newest.sha256,
        "entries": newest.entries,
        "bytes": newest.bytes,
        "restored": true,
        "restore_ms": 12_000 + newest.bytes / 80_000,
        "tables": 12,
        "rows": rows,
        "largest": {"public.footprint_entry": rows * 7 / 10, "public.unit": rows / 5},
    });
    (true, 0, report.to_string())
}

/// How long a backup's pod runs: slow backups take ten times as long.
pub fn runtime(cluster: &crate::Cluster, namespace: &str, normal: i64) -> i64 {
    if cluster.faults.has(WorkloadFault::SlowBackups, namespace, "") {
        normal * 10
    } else {
        normal
    }
}

/// A setting from the pod's container environment, as the script reads it.
fn setting<'a>(pod: &'a Value, name: &str) -> Option<&'a str> {
    pod["spec"]["containers"][0]["env"]
        .as_array()?
        .iter()
        .find(|e| e["name"] == name)
        .and_then(|e| e["value"].as_str())
}

/// How the backup ends: whether it succeeded, its exit code and its termination message
/// (a success writes its dump to the NAS).
pub fn finish(cluster: &crate::Cluster, pod: &Value, stamp: &str) -> (bool, i32, String) {
    let namespace = str_at(pod, "/metadata/namespace").to_owned();
    let fault =
        [WorkloadFault::FailingBackups, WorkloadFault::EmptyBackups, WorkloadFault::FullStorage]
            .into_iter()
            .find(|f| cluster.faults.has(*f, &namespace, ""));
    ending(cluster, pod, stamp, fault)
}

/// How a backup ends under `fault` (none: it succeeds).
fn ending(
    cluster: &crate::Cluster,
    pod: &Value,
    stamp: &str,
    fault: Option<WorkloadFault>,
) -> (bool, i32, String) {
    let namespace = str_at(pod, "/metadata/namespace").to_owned();
    let fault = |f| fault == Some(f);
    let job = pod["metadata"]["labels"]["job-name"]
        .as_str()
        .or_else(|| pod["metadata"]["labels"]["batch.kubernetes.io/job-name"].as_str())
        .unwrap_or("manual");
    let floor: u64 = setting(pod, "BACKUP_MIN_BYTES").and_then(|v| v.parse().ok()).unwrap_or(4096);
    let error = |text: String| json!({"error": text}).to_string();
    if fault(WorkloadFault::FailingBackups) {
        return (
            false,
            2,
            error("pg_dump: error: connection to server at \"postgres\" (10.96.0.15), port 5432 failed: Connection refused Is the server running on that host and accepting TCP/IP connections?".into()),
        );
    }
    if fault(WorkloadFault::EmptyBackups) {
        return (
            false,
            3,
            error(format!("empty dump refused: 312 bytes, below the floor of {floor}")),
        );
    }
    if fault(WorkloadFault::FullStorage) {
        // The script could not even write its report: the last log lines stand in for it
        // (FallbackToLogsOnError).
        return (
            false,
            2,
            "pg_dump: error: could not write to output file: No space left on device\n".into(),
        );
    }
    let time: String = stamp.chars().filter(char::is_ascii_alphanumeric).collect();
    let prefix = setting(pod, "BACKUP_PREFIX").unwrap_or("co2");
    let retain: usize = setting(pod, "BACKUP_RETAIN").and_then(|v| v.parse().ok()).unwrap_or(14);
    let file = format!("{prefix}-{time}-{job}.dump");
    let existing = cluster.nas.list(&namespace).len() as u64;
    let bytes = BASE_BYTES + existing * 350_000 + (u64::from(crc(&file)) % 100_000);
    let sha256 = hex(&Sha256::digest(format!("{namespace}/{file}/{bytes}").as_bytes()));
    let dump = Dump { file: file.clone(), bytes, sha256: sha256.clone(), entries: 412 };
    let kept = cluster.nas.keep(&namespace, dump, retain);
    let listed: Vec<&str> = kept.iter().take(LISTED).map(|d| d.file.as_str()).collect();
    let report = json!({
        "file": file,
        "location": setting(pod, "BACKUP_DIR").unwrap_or("/backups"),
        "bytes": bytes,
        "sha256": sha256,
        "entries": 412,
        "pg_dump_version": PG_DUMP_VERSION,
        "server_version": SERVER_VERSION,
        "retained": listed,
        "retained_count": kept.len(),
    });
    (true, 0, report.to_string())
}

fn crc(text: &str) -> u32 {
    text.bytes().fold(2_166_136_261_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(16_777_619))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The last nights' scheduled backups, already run when the demo starts (`outcomes`:
/// oldest first, whether each succeeded): Jobs and pods as the CronJob left them, the
/// dumps on the NAS.
pub fn seed_history(cluster: &crate::Cluster, cronjob: &Value, outcomes: &[bool]) {
    seed_runs(cluster, cronjob, outcomes, 2, |cluster, pod, stamp, succeeded| {
        let fault = (!succeeded).then_some(WorkloadFault::FailingBackups);
        ending(cluster, pod, stamp, fault)
    });
}

/// The last night's verification, run after the seeded backups.
pub fn seed_verification(cluster: &crate::Cluster, cronjob: &Value) {
    seed_runs(cluster, cronjob, &[true], 3, |cluster, pod, _, _| verify(cluster, pod));
}

type Ending = fn(&crate::Cluster, &Value, &str, bool) -> (bool, i32, String);

/// Jobs and pods of `cronjob` as if it had run at `hour`:00 UTC on the last nights.
fn seed_runs(cluster: &crate::Cluster, cronjob: &Value, outcomes: &[bool], hour: u32, end: Ending) {
    use super::util::{name, namespace, owner_reference};
    use crate::admission;
    use crate::resources::ids;
    let ns = namespace(cronjob).to_owned();
    let now = cluster.clock().now();
    let Some(today) = now.date_naive().and_hms_opt(hour, 0, 0) else { return };
    let mut last = today.and_utc();
    if last > now {
        last -= chrono::Duration::days(1);
    }
    let count = i64::try_from(outcomes.len()).unwrap_or(0);
    for (i, succeeded) in (0_i64..).zip(outcomes) {
        let due = last - chrono::Duration::days(count - 1 - i);
        let started = due + chrono::Duration::seconds(2);
        let ended = started + chrono::Duration::seconds(40);
        let stamp =
            |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let job_name = format!("{}-{}", name(cronjob), due.timestamp() / 60);
        let job = json!({
            "metadata": {
                "name": job_name,
                "namespace": ns,
                "annotations": {"cronjob.kubernetes.io/scheduled-timestamp": stamp(due)},
                "ownerReferences": owner_reference(cronjob, ids::CRONJOB),
            },
            "spec": cronjob["spec"]["jobTemplate"]["spec"].clone(),
        });
        let Ok(mut job) = admission::prepare_create(ids::JOB, &ns, job) else { continue };
        job["metadata"]["creationTimestamp"] = json!(stamp(due));
        let condition = if *succeeded { "Complete" } else { "Failed" };
        job["status"] = json!({
            "startTime": stamp(started),
            "succeeded": i32::from(*succeeded),
            "failed": i32::from(!*succeeded),
            "conditions": [{"type": condition, "status": "True", "lastProbeTime": stamp(ended), "lastTransitionTime": stamp(ended)}],
        });
        if *succeeded {
            job["status"]["completionTime"] = json!(stamp(ended));
        }
        let Ok(job) = cluster.store.create(ids::JOB, job) else { continue };
        let template = &job["spec"]["template"];
        let mut pod = json!({
            "metadata": {
                "name": format!("{job_name}-{}", admission::random_suffix(5)),
                "namespace": ns,
                "labels": template["metadata"]["labels"],
                "ownerReferences": owner_reference(&job, ids::JOB),
            },
            "spec": template["spec"],
        });
        let (ok, code, message) = end(cluster, &pod, &stamp(ended), *succeeded);
        let Ok(prepared) = admission::prepare_create(ids::POD, &ns, pod.clone()) else { continue };
        pod = prepared;
        pod["metadata"]["creationTimestamp"] = json!(stamp(due));
        let container = str_at(&pod, "/spec/containers/0/name").to_owned();
        pod["status"] = json!({
            "phase": if ok { "Succeeded" } else { "Failed" },
            "startTime": stamp(started),
            "containerStatuses": [{"name": container, "ready": false, "restartCount": 0,
                "image": str_at(&pod, "/spec/containers/0/image"),
                "state": {"terminated": {"exitCode": code, "reason": if ok { "Completed" } else { "Error" },
                    "startedAt": stamp(started), "finishedAt": stamp(ended), "message": message}}}],
        });
        let _ = cluster.store.create(ids::POD, pod);
    }
}
