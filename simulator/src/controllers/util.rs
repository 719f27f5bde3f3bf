//! Helpers the controllers share: ownership, template hashes, status writes, time.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::resources::RESOURCES;
use crate::store::str_at;
use crate::Cluster;

pub fn name(object: &Value) -> &str {
    str_at(object, "/metadata/name")
}

pub fn namespace(object: &Value) -> &str {
    str_at(object, "/metadata/namespace")
}

pub fn uid(object: &Value) -> &str {
    str_at(object, "/metadata/uid")
}

pub fn int(value: &Value) -> i64 {
    value.as_i64().unwrap_or(0)
}

/// Objects of `resource` in `namespace` whose controller owner is `owner_uid`.
pub fn owned(
    cluster: &Cluster,
    resource: usize,
    namespace: &str,
    owner_uid: &str,
) -> Vec<Arc<Value>> {
    let (items, _) = cluster.store.list(resource, Some(namespace));
    items
        .into_iter()
        .filter(|o| {
            o["metadata"]["ownerReferences"].as_array().is_some_and(|refs| {
                refs.iter().any(|r| r["uid"] == owner_uid && r["controller"] == true)
            })
        })
        .collect()
}

pub fn owner_reference(owner: &Value, resource: usize) -> Value {
    let r = &RESOURCES[resource];
    json!([{
        "apiVersion": r.api_version(),
        "kind": r.kind,
        "name": name(owner),
        "uid": uid(owner),
        "controller": true,
        "blockOwnerDeletion": true,
    }])
}

/// A stable 10-character hash of a pod template, in Kubernetes' alphabet.
pub fn template_hash(template: &Value) -> String {
    let mut template = template.clone();
    if let Some(labels) = template["metadata"]["labels"].as_object_mut() {
        labels.remove("pod-template-hash");
        labels.remove("controller-revision-hash");
    }
    // FNV-1a over the canonical JSON (serde_json sorts keys).
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in template.to_string().bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut out = String::new();
    let mut rest = hash;
    for _ in 0..10 {
        out.push(ALPHABET[usize::try_from(rest % 27).unwrap_or(0)] as char);
        rest /= 27;
    }
    out
}

/// The template with any controller-added hash labels removed, for comparisons.
pub fn bare_template(template: &Value) -> Value {
    let mut template = template.clone();
    if let Some(labels) = template["metadata"]["labels"].as_object_mut() {
        labels.remove("pod-template-hash");
        labels.remove("controller-revision-hash");
    }
    template
}

/// Replaces `.status` when it differs (a write bumps the resourceVersion, so only then).
pub fn set_status(cluster: &Cluster, resource: usize, object: &Value, status: Value) {
    if object.get("status") == Some(&status) {
        return;
    }
    let _ = cluster.store.update(resource, namespace(object), name(object), None, |current| {
        let mut next = current.clone();
        next["status"] = status;
        Ok(next)
    });
}

/// Applies `change` to the stored object (by name), ignoring objects gone meanwhile.
pub fn modify(
    cluster: &Cluster,
    resource: usize,
    object: &Value,
    change: impl FnOnce(&mut Value),
) -> Option<Arc<Value>> {
    cluster
        .store
        .update(resource, namespace(object), name(object), None, |current| {
            let mut next = current.clone();
            change(&mut next);
            Ok(next)
        })
        .ok()
}

pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text).ok().map(|t| t.with_timezone(&Utc))
}

pub fn created(object: &Value) -> Option<DateTime<Utc>> {
    parse_time(str_at(object, "/metadata/creationTimestamp"))
}

/// `value` as a count: an int, or a percentage of `total` (rounded up or down).
pub fn int_or_percent(value: &Value, total: i64, round_up: bool) -> i64 {
    match value {
        Value::Number(n) => n.as_i64().unwrap_or(0),
        Value::String(s) => {
            let pct: i64 = s.trim_end_matches('%').parse().unwrap_or(0);
            let scaled = total * pct;
            if round_up {
                (scaled + 99) / 100
            } else {
                scaled / 100
            }
        }
        _ => 0,
    }
}

pub fn condition(
    kind: &str,
    status: bool,
    reason: &str,
    message: &str,
    now: &str,
    previous: &Value,
) -> Value {
    let status_text = if status { "True" } else { "False" };
    let old = previous.as_array().and_then(|cs| cs.iter().find(|c| c["type"] == kind));
    let transition = match old {
        Some(c) if c["status"] == status_text => c["lastTransitionTime"].clone(),
        _ => json!(now),
    };
    let update = match old {
        Some(c) if c["status"] == status_text && c["reason"] == reason => {
            c["lastUpdateTime"].clone()
        }
        _ => json!(now),
    };
    json!({
        "type": kind,
        "status": status_text,
        "lastUpdateTime": update,
        "lastTransitionTime": transition,
        "reason": reason,
        "message": message,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{int_or_percent, template_hash};

    #[test]
    fn template_hashes_ignore_the_hash_label_and_follow_the_template() {
        let a = json!({"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"image": "x:1"}]}});
        let mut b = a.clone();
        b["metadata"]["labels"]["pod-template-hash"] = json!("abc");
        assert_eq!(template_hash(&a), template_hash(&b));
        let mut c = a.clone();
        c["spec"]["containers"][0]["image"] = json!("x:2");
        assert_ne!(template_hash(&a), template_hash(&c));
        assert_eq!(template_hash(&a).len(), 10);
    }

    #[test]
    fn percentages_round_like_the_deployment_controller() {
        assert_eq!(int_or_percent(&json!("25%"), 3, true), 1);
        assert_eq!(int_or_percent(&json!("25%"), 3, false), 0);
        assert_eq!(int_or_percent(&json!(2), 3, false), 2);
    }
}
