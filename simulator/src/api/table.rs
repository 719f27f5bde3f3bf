//! `kubectl get` asks for tables (`Accept: ...;as=Table`): rows of printed columns, as the
//! apiserver's printers produce them for each kind.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::resources::ids;

/// An age as the apiserver's printers write it: seconds up to two minutes, then
/// minutes (with seconds under ten), hours (with minutes under eight), days (with hours
/// under eight days), years.
pub fn age(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".into();
    }
    let s = seconds.max(0);
    let (m, h, d) = (s / 60, s / 3600, s / 86_400);
    let with = |big: i64, unit: &str, small: i64, small_unit: &str| {
        if small == 0 {
            format!("{big}{unit}")
        } else {
            format!("{big}{unit}{small}{small_unit}")
        }
    };
    match () {
        () if s < 120 => format!("{s}s"),
        () if m < 10 => with(m, "m", s % 60, "s"),
        () if m < 180 => format!("{m}m"),
        () if h < 8 => with(h, "h", m % 60, "m"),
        () if h < 48 => format!("{h}h"),
        () if h < 24 * 8 => with(d, "d", h % 24, "h"),
        () if d < 365 * 2 => format!("{d}d"),
        () if d < 365 * 8 => with(d / 365, "y", d % 365, "d"),
        () => format!("{}y", d / 365),
    }
}

fn since(value: &Value, now: DateTime<Utc>) -> Option<String> {
    let at = crate::controllers::util::parse_time(value.as_str()?)?;
    Some(age((now - at).num_seconds()))
}

fn columns(resource: usize) -> Vec<(&'static str, &'static str)> {
    let mut columns = vec![("Name", "Name must be unique within a namespace.")];
    let extra: &[(&str, &str)] = match resource {
        ids::DEPLOYMENT => &[
            ("Ready", "Number of the pod with ready state"),
            ("Up-to-date", "Total number of non-terminated pods targeted by this deployment that have the desired template spec."),
            ("Available", "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment."),
        ],
        ids::REPLICASET => &[
            ("Desired", "Number of desired pods."),
            ("Current", "Number of actually running pods."),
            ("Ready", "Number of ready pods."),
        ],
        ids::STATEFULSET => &[("Ready", "Number of the pod with ready state")],
        ids::POD => &[
            ("Ready", "The aggregate readiness state of this pod for accepting traffic."),
            ("Status", "The aggregate status of the containers in this pod."),
            ("Restarts", "The number of times the containers in this pod have been restarted."),
        ],
        ids::JOB => &[("Status", "Status of the job."), ("Completions", "The completion status of the job.")],
        ids::CRONJOB => &[
            ("Schedule", "The schedule in Cron format."),
            ("Suspend", "Whether the cron job is suspended."),
            ("Active", "Number of currently running jobs."),
            ("Last Schedule", "When the job was last scheduled."),
        ],
        ids::HPA => &[
            ("Reference", "The workload scaled."),
            ("Minpods", "Lower limit for the number of pods."),
            ("Maxpods", "Upper limit for the number of pods."),
            ("Replicas", "Current number of replicas."),
        ],
        ids::APPLICATION => &[("Sync Status", ""), ("Health Status", "")],
        ids::NAMESPACE => &[("Status", "The status of the namespace")],
        _ => &[],
    };
    columns.extend_from_slice(extra);
    columns.push(("Age", "CreationTimestamp is a timestamp representing the server time when this object was created."));
    columns
}

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or("").to_owned()
}

fn cells(resource: usize, o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let s = &o["status"];
    let mut cells = vec![json!(text(&o["metadata"]["name"]))];
    let extra: Vec<Value> = match resource {
        ids::DEPLOYMENT => vec![
            json!(format!("{}/{}", int(&s["readyReplicas"]), int(&o["spec"]["replicas"]))),
            json!(int(&s["updatedReplicas"])),
            json!(int(&s["availableReplicas"])),
        ],
        ids::REPLICASET => vec![
            json!(int(&o["spec"]["replicas"])),
            json!(int(&s["replicas"])),
            json!(int(&s["readyReplicas"])),
        ],
        ids::STATEFULSET => {
            vec![json!(format!("{}/{}", int(&s["readyReplicas"]), int(&o["spec"]["replicas"])))]
        }
        ids::POD => {
            let statuses = s["containerStatuses"].as_array().cloned().unwrap_or_default();
            let ready = statuses.iter().filter(|c| c["ready"] == true).count();
            let total = o["spec"]["containers"].as_array().map_or(0, Vec::len);
            let restarts: i64 = statuses.iter().map(|c| int(&c["restartCount"])).sum();
            let waiting = statuses
                .iter()
                .find_map(|c| c["state"]["waiting"]["reason"].as_str().map(str::to_owned));
            // "3 (25s ago)": how long ago the last restart's run ended.
            let last = statuses
                .iter()
                .filter_map(|c| c["lastState"]["terminated"]["finishedAt"].as_str())
                .max()
                .and_then(|t| since(&json!(t), now));
            let restarts = match last {
                Some(ago) if restarts > 0 => format!("{restarts} ({ago} ago)"),
                _ => restarts.to_string(),
            };
            vec![
                json!(format!("{ready}/{total}")),
                json!(waiting.unwrap_or_else(|| text(&s["phase"]))),
                json!(restarts),
            ]
        }
        ids::JOB => {
            let succeeded = int(&s["succeeded"]);
            let status = if succeeded > 0 {
                "Complete"
            } else if int(&s["failed"]) > 0 {
                "Failed"
            } else {
                "Running"
            };
            vec![
                json!(status),
                json!(format!("{succeeded}/{}", o["spec"]["completions"].as_i64().unwrap_or(1))),
            ]
        }
        ids::CRONJOB => vec![
            json!(text(&o["spec"]["schedule"])),
            json!(o["spec"]["suspend"].as_bool().unwrap_or(false).to_string().to_uppercase()),
            json!(s["active"].as_array().map_or(0, Vec::len)),
            json!(since(&s["lastScheduleTime"], now).unwrap_or_else(|| "<none>".into())),
        ],
        ids::HPA => vec![
            json!(format!(
                "{}/{}",
                text(&o["spec"]["scaleTargetRef"]["kind"]),
                text(&o["spec"]["scaleTargetRef"]["name"])
            )),
            json!(int(&o["spec"]["minReplicas"])),
            json!(int(&o["spec"]["maxReplicas"])),
            json!(int(&s["currentReplicas"])),
        ],
        ids::APPLICATION => {
            vec![json!(text(&s["sync"]["status"])), json!(text(&s["health"]["status"]))]
        }
        ids::NAMESPACE => vec![json!(o["status"]["phase"].as_str().unwrap_or("Active"))],
        _ => vec![],
    };
    cells.extend(extra);
    cells.push(json!(since(&o["metadata"]["creationTimestamp"], now).unwrap_or_default()));
    cells
}

pub fn table(resource: usize, objects: &[Arc<Value>], rv: &str, now: DateTime<Utc>) -> Value {
    let definitions: Vec<Value> = columns(resource)
        .into_iter()
        .enumerate()
        .map(|(i, (name, description))| {
            json!({"name": name, "type": "string", "format": if i == 0 { "name" } else { "" }, "description": description, "priority": 0})
        })
        .collect();
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| {
            json!({
                "cells": cells(resource, o, now),
                "object": {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": o["metadata"],
                },
            })
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": rv},
        "columnDefinitions": definitions,
        "rows": rows,
    })
}

#[cfg(test)]
mod tests {
    use super::age;

    #[test]
    fn ages_read_as_kubectl_prints_them() {
        let cases = [
            (5, "5s"),
            (119, "119s"),
            (120, "2m"),
            (185, "3m5s"),
            (600, "10m"),
            (3 * 3600 + 120, "3h2m"),
            (8 * 3600 + 59, "8h"),
            (50 * 3600, "2d2h"),
            (9 * 86_400 + 3600, "9d"),
            (800 * 86_400, "2y70d"),
            (3000 * 86_400, "8y"),
            (-1, "0s"),
            (-5, "<invalid>"),
        ];
        for (seconds, printed) in cases {
            assert_eq!(age(seconds), printed, "{seconds} s");
        }
    }
}
