//! The HorizontalPodAutoscaler: keeps its target at the replica count it decided, within
//! min/max — so a manual scale of an autoscaled workload is undone, as in a real cluster.
//! The simulated CPU load is steady, so the decision changes only when the bounds do.
//! A target scaled to zero is left alone, as the real controller leaves it ("scaling is
//! disabled since the replica count of the target is zero"): that is how a workload is
//! stopped on purpose.

use serde_json::json;

use super::events;
use super::util::{int, modify, namespace};
use crate::resources::{self, ids};
use crate::store::str_at;
use crate::Cluster;

pub fn reconcile(cluster: &Cluster) {
    let (hpas, _) = cluster.store.list(ids::HPA, None);
    for hpa in hpas {
        let ns = namespace(&hpa).to_owned();
        let target_ref = &hpa["spec"]["scaleTargetRef"];
        let Some(resource) =
            resources::find_kind(str_at(target_ref, "/apiVersion"), str_at(target_ref, "/kind"))
        else {
            continue;
        };
        let Ok(target) = cluster.store.get(resource, &ns, str_at(target_ref, "/name")) else {
            continue;
        };
        let min = hpa["spec"]["minReplicas"].as_i64().unwrap_or(1);
        let max = int(&hpa["spec"]["maxReplicas"]).max(min);
        let current = int(&target["spec"]["replicas"]);
        if current == 0 {
            let status = json!({
                "currentReplicas": int(&target["status"]["replicas"]),
                "desiredReplicas": 0,
                "conditions": [
                    {"type": "AbleToScale", "status": "True", "reason": "SucceededGetScale"},
                    {"type": "ScalingActive", "status": "False", "reason": "ScalingDisabled",
                        "message": "scaling is disabled since the replica count of the target is zero"},
                ],
            });
            super::util::set_status(cluster, ids::HPA, &hpa, status);
            continue;
        }
        // Scaled up again from zero: the decision starts from what it was given.
        let decided =
            hpa["status"]["desiredReplicas"].as_i64().filter(|d| *d > 0).unwrap_or(current);
        let desired = decided.clamp(min, max);
        let now = cluster.clock().timestamp();
        let mut last_scale = hpa["status"]["lastScaleTime"].clone();
        if current != desired {
            modify(cluster, resource, &target, |next| next["spec"]["replicas"] = json!(desired));
            let reason = if current < min {
                "current replicas below Spec.MinReplicas"
            } else if current > max {
                "current replicas above Spec.MaxReplicas"
            } else {
                "the CPU utilization is at the target"
            };
            events::record(
                cluster,
                &hpa,
                ids::HPA,
                false,
                "SuccessfulRescale",
                &format!("New size: {desired}; reason: {reason}"),
            );
            last_scale = json!(now);
        }
        let mut status = json!({
            "currentReplicas": int(&target["status"]["replicas"]),
            "desiredReplicas": desired,
            "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu",
                "current": {"averageUtilization": 46, "averageValue": "115m"}}}],
            "conditions": [
                {"type": "AbleToScale", "status": "True", "reason": "ReadyForNewScale"},
                {"type": "ScalingActive", "status": "True", "reason": "ValidMetricFound"},
                {"type": "ScalingLimited", "status": if desired == min || desired == max { "True" } else { "False" },
                    "reason": if desired == max { "TooManyReplicas" } else if desired == min { "TooFewReplicas" } else { "DesiredWithinRange" }},
            ],
        });
        if !last_scale.is_null() {
            status["lastScaleTime"] = last_scale;
        }
        super::util::set_status(cluster, ids::HPA, &hpa, status);
    }
}
