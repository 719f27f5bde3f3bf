//! Jobs run one pod at a time to completion (retrying up to backoffLimit); CronJobs create
//! Jobs on their schedule, track active/last scheduled/last successful, and keep only
//! their history limits of finished Jobs.

use chrono::{DateTime, Datelike, Duration, Timelike, Utc};
use serde_json::{json, Value};

use super::events;
use super::replicasets::create_pod;
use super::util::{
    created, int, name, namespace, owned, owner_reference, parse_time, set_status, uid,
};
use crate::admission;
use crate::faults::WorkloadFault;
use crate::resources::ids;
use crate::store::str_at;
use crate::Cluster;

pub fn reconcile_jobs(cluster: &Cluster) {
    let (jobs, _) = cluster.store.list(ids::JOB, None);
    let now = cluster.clock().timestamp();
    for job in jobs {
        if finished(&job) {
            continue;
        }
        let ns = namespace(&job).to_owned();
        let pods = owned(cluster, ids::POD, &ns, uid(&job));
        let phase = |p: &Value| str_at(p, "/status/phase").to_owned();
        let succeeded = pods.iter().filter(|p| phase(p) == "Succeeded").count();
        let failed = pods.iter().filter(|p| phase(p) == "Failed").count();
        let mut active = pods.len() - succeeded - failed;
        let completions =
            usize::try_from(job["spec"]["completions"].as_i64().unwrap_or(1)).unwrap_or(1);
        let backoff =
            usize::try_from(job["spec"]["backoffLimit"].as_i64().unwrap_or(6)).unwrap_or(6);
        let mut status = json!({
            "startTime": job["status"]["startTime"].as_str().map_or_else(|| now.clone(), str::to_owned),
            "succeeded": succeeded,
            "failed": failed,
            "ready": 0,
        });
        if succeeded >= completions {
            status["completionTime"] = json!(now);
            status["conditions"] = json!([{"type": "Complete", "status": "True", "lastProbeTime": now, "lastTransitionTime": now}]);
            events::record(cluster, &job, ids::JOB, false, "Completed", "Job completed");
        } else if failed > backoff {
            status["conditions"] = json!([{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                "message": "Job has reached the specified backoff limit", "lastProbeTime": now, "lastTransitionTime": now}]);
            events::record(
                cluster,
                &job,
                ids::JOB,
                true,
                "BackoffLimitExceeded",
                "Job has reached the specified backoff limit",
            );
        } else if active == 0 {
            let pod_name = format!("{}-{}", name(&job), admission::random_suffix(5));
            if create_pod(cluster, &job, ids::JOB, &pod_name).is_some() {
                active += 1;
            }
        }
        if active > 0 {
            status["active"] = json!(active);
        }
        set_status(cluster, ids::JOB, &job, status);
    }
}

pub fn finished(job: &Value) -> bool {
    job["status"]["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| (c["type"] == "Complete" || c["type"] == "Failed") && c["status"] == "True")
    })
}

fn succeeded(job: &Value) -> bool {
    job["status"]["conditions"]
        .as_array()
        .is_some_and(|cs| cs.iter().any(|c| c["type"] == "Complete" && c["status"] == "True"))
}

pub fn reconcile_cronjobs(cluster: &Cluster) {
    let (cronjobs, _) = cluster.store.list(ids::CRONJOB, None);
    let now = cluster.clock().now();
    for cj in cronjobs {
        let ns = namespace(&cj).to_owned();
        let jobs = owned(cluster, ids::JOB, &ns, uid(&cj));
        let Ok(schedule) = Schedule::parse(str_at(&cj, "/spec/schedule")) else { continue };
        let last = parse_time(str_at(&cj, "/status/lastScheduleTime")).or_else(|| created(&cj));
        let mut last_schedule = cj["status"]["lastScheduleTime"].clone();
        let active: Vec<&std::sync::Arc<Value>> = jobs.iter().filter(|j| !finished(j)).collect();
        if let (Some(last), false) = (last, cj["spec"]["suspend"] == true) {
            if let Some(due) = schedule.latest_between(last, now) {
                let forbid = cj["spec"]["concurrencyPolicy"] == "Forbid" && !active.is_empty();
                let missed = cluster.faults.has(WorkloadFault::MissedSchedules, &ns, "");
                if missed {
                    let when = due.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
                    events::record(
                        cluster,
                        &cj,
                        ids::CRONJOB,
                        true,
                        "MissSchedule",
                        &format!("Missed scheduled time to start a job: {when}"),
                    );
                } else if !forbid {
                    let minutes = due.timestamp() / 60;
                    // The pods' `job-name` labels come with admission, as for any Job.
                    let spec = cj["spec"]["jobTemplate"]["spec"].clone();
                    let job = json!({
                        "metadata": {
                            "name": format!("{}-{minutes}", name(&cj)),
                            "namespace": ns,
                            "labels": cj["spec"]["jobTemplate"]["metadata"]["labels"].clone(),
                            "annotations": {"cronjob.kubernetes.io/scheduled-timestamp": due.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)},
                            "ownerReferences": owner_reference(&cj, ids::CRONJOB),
                        },
                        "spec": spec,
                    });
                    if let Ok(job) = admission::prepare_create(ids::JOB, &ns, job) {
                        if let Ok(created) = cluster.store.create(ids::JOB, job) {
                            events::record(
                                cluster,
                                &cj,
                                ids::CRONJOB,
                                false,
                                "SuccessfulCreate",
                                &format!("Created job {}", name(&created)),
                            );
                        }
                    }
                }
                // A skipped (forbidden) run still counts as scheduled, as the controller does.
                last_schedule = json!(due.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
            }
        }
        prune_history(cluster, &cj, &jobs);
        let jobs = owned(cluster, ids::JOB, &ns, uid(&cj));
        let active: Vec<Value> = jobs
            .iter()
            .filter(|j| !finished(j))
            .map(|j| json!({"kind": "Job", "namespace": ns, "name": name(j), "uid": uid(j), "apiVersion": "batch/v1"}))
            .collect();
        let last_success = jobs
            .iter()
            .filter(|j| succeeded(j))
            .filter_map(|j| j["status"]["completionTime"].as_str())
            .max()
            .map(str::to_owned)
            .or_else(|| cj["status"]["lastSuccessfulTime"].as_str().map(str::to_owned));
        let mut status = json!({});
        if !active.is_empty() {
            status["active"] = json!(active);
        }
        if !last_schedule.is_null() {
            status["lastScheduleTime"] = last_schedule;
        }
        if let Some(t) = last_success {
            status["lastSuccessfulTime"] = json!(t);
        }
        set_status(cluster, ids::CRONJOB, &cj, status);
    }
}

fn prune_history(cluster: &Cluster, cj: &Value, jobs: &[std::sync::Arc<Value>]) {
    for (keep_succeeded, limit_field) in
        [(true, "successfulJobsHistoryLimit"), (false, "failedJobsHistoryLimit")]
    {
        let limit = usize::try_from(int(&cj["spec"][limit_field])).unwrap_or(0);
        let mut done: Vec<&std::sync::Arc<Value>> =
            jobs.iter().filter(|j| finished(j) && succeeded(j) == keep_succeeded).collect();
        if done.len() <= limit {
            continue;
        }
        done.sort_by(|a, b| {
            str_at(a, "/metadata/creationTimestamp").cmp(str_at(b, "/metadata/creationTimestamp"))
        });
        let excess = done.len() - limit;
        for job in done.into_iter().take(excess) {
            let _ = cluster.store.delete(ids::JOB, namespace(job), name(job));
        }
    }
}

/// A five-field cron schedule (minute hour day-of-month month day-of-week).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    fields: [Vec<u32>; 5],
}

impl Schedule {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = match text.trim() {
            "@hourly" => "0 * * * *",
            "@daily" | "@midnight" => "0 0 * * *",
            "@weekly" => "0 0 * * 0",
            "@monthly" => "0 0 1 * *",
            other => other,
        };
        let parts: Vec<&str> = text.split_whitespace().collect();
        if parts.len() != 5 {
            return Err(format!("expected 5 fields, found {}", parts.len()));
        }
        let ranges = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 6)];
        let mut fields: [Vec<u32>; 5] = Default::default();
        for (i, part) in parts.iter().enumerate() {
            fields[i] = parse_field(part, ranges[i].0, ranges[i].1)?;
        }
        Ok(Self { fields })
    }

    pub fn matches(&self, t: DateTime<Utc>) -> bool {
        self.fields[0].contains(&t.minute())
            && self.fields[1].contains(&t.hour())
            && self.fields[2].contains(&t.day())
            && self.fields[3].contains(&t.month())
            && self.fields[4].contains(&t.weekday().num_days_from_sunday())
    }

    /// The latest scheduled minute in (after, until], looking back at most two days.
    pub fn latest_between(
        &self,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let floor = (until - Duration::days(2)).max(after);
        let mut t = until.with_second(0)?.with_nanosecond(0)?;
        while t > floor {
            if self.matches(t) {
                return Some(t);
            }
            t -= Duration::minutes(1);
        }
        None
    }
}

fn parse_field(text: &str, min: u32, max: u32) -> Result<Vec<u32>, String> {
    let mut values = Vec::new();
    for item in text.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().map_err(|_| format!("bad step in {item:?}"))?),
            None => (item, 1),
        };
        if step == 0 {
            return Err(format!("zero step in {item:?}"));
        }
        let (lo, hi) = if range == "*" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (
                a.parse().map_err(|_| format!("bad range {range:?}"))?,
                b.parse().map_err(|_| format!("bad range {range:?}"))?,
            )
        } else {
            let v: u32 = range.parse().map_err(|_| format!("bad value {range:?}"))?;
            (v, if item.contains('/') { max } else { v })
        };
        if lo < min || hi > max || lo > hi {
            return Err(format!("{item:?} is out of range {min}-{max}"));
        }
        values.extend((lo..=hi).step_by(usize::try_from(step).unwrap_or(1)));
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::Schedule;

    #[test]
    fn the_nightly_backup_schedule_fires_at_two() {
        let s = Schedule::parse("0 2 * * *").unwrap();
        let after = Utc.with_ymd_and_hms(2026, 11, 25, 3, 0, 0).unwrap();
        let until = Utc.with_ymd_and_hms(2026, 11, 26, 2, 30, 0).unwrap();
        assert_eq!(
            s.latest_between(after, until),
            Some(Utc.with_ymd_and_hms(2026, 11, 26, 2, 0, 0).unwrap())
        );
        let early = Utc.with_ymd_and_hms(2026, 11, 26, 1, 59, 0).unwrap();
        assert_eq!(s.latest_between(after, early), None);
    }

    #[test]
    fn steps_lists_and_ranges_parse() {
        let s = Schedule::parse("*/15 9-17 * * 1-5").unwrap();
        assert!(s.matches(Utc.with_ymd_and_hms(2026, 11, 26, 9, 45, 0).unwrap()));
        assert!(!s.matches(Utc.with_ymd_and_hms(2026, 11, 29, 9, 45, 0).unwrap()));
        assert!(Schedule::parse("61 * * * *").is_err());
        assert!(Schedule::parse("* * *").is_err());
    }
}
