//! The PATCH flavours the apiserver accepts: JSON merge patch (RFC 7386), JSON patch
//! (RFC 6902), strategic merge patch for built-in types (lists of containers, env, ports…
//! merged by key, as kubectl expects) and server-side apply (as a strategic merge here).

use serde_json::{Map, Value};

use crate::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    Merge,
    Json,
    Strategic,
    Apply,
}

pub const ACCEPTED: &str =
    "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml";
pub const ACCEPTED_BUILTIN: &str = "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json";

impl PatchType {
    /// From the request's Content-Type; custom resources refuse strategic merge (415).
    pub fn from_content_type(content_type: &str, custom: bool) -> Result<Self, ApiError> {
        let media = content_type.split(';').next().unwrap_or("").trim();
        let accepted = if custom { ACCEPTED } else { ACCEPTED_BUILTIN };
        match media {
            "application/merge-patch+json" => Ok(PatchType::Merge),
            "application/json-patch+json" => Ok(PatchType::Json),
            "application/apply-patch+yaml" | "application/apply-patch+json" => Ok(PatchType::Apply),
            "application/strategic-merge-patch+json" if !custom => Ok(PatchType::Strategic),
            _ => Err(ApiError::UnsupportedMediaType(accepted.to_owned())),
        }
    }
}

/// Applies `patch` (already parsed) of the given type to `target`.
pub fn apply(
    target: &Value,
    patch: &Value,
    kind: PatchType,
    custom: bool,
) -> Result<Value, ApiError> {
    let mut result = target.clone();
    match kind {
        PatchType::Merge => json_patch::merge(&mut result, patch),
        PatchType::Json => {
            let operations: json_patch::Patch = serde_json::from_value(patch.clone())
                .map_err(|e| ApiError::BadRequest(format!("invalid JSON patch: {e}")))?;
            // The apiserver answers 422 when an operation does not apply, in general words
            // (the contract suite checks it).
            json_patch::patch(&mut result, &operations).map_err(|_| ApiError::PatchNotApplied)?;
        }
        PatchType::Strategic => strategic(&mut result, patch),
        PatchType::Apply => {
            if custom {
                json_patch::merge(&mut result, patch);
            } else {
                strategic(&mut result, patch);
            }
        }
    }
    Ok(result)
}

/// The key each known list is merged by (Kubernetes' patchMergeKey), by field name.
fn merge_key(field: &str) -> Option<&'static str> {
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets" => Some("name"),
        "ports" => Some("containerPort"),
        "volumeMounts" => Some("mountPath"),
        "conditions" => Some("type"),
        "ownerReferences" => Some("uid"),
        _ => None,
    }
}

fn strategic(target: &mut Value, patch: &Value) {
    let Value::Object(patch_map) = patch else {
        *target = patch.clone();
        return;
    };
    match patch_map.get("$patch").and_then(Value::as_str) {
        Some("replace") => {
            let mut replacement = patch_map.clone();
            replacement.remove("$patch");
            *target = Value::Object(replacement);
            return;
        }
        Some("delete") => {
            *target = Value::Null;
            return;
        }
        _ => {}
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(target_map) = target else { return };
    for (key, value) in patch_map {
        if key.starts_with('$') {
            // $setElementOrder, $retainKeys: ordering hints this store does not need.
            continue;
        }
        if value.is_null() {
            target_map.remove(key);
            continue;
        }
        match (merge_key(key), value) {
            (Some(merge_by), Value::Array(items)) => {
                let existing =
                    target_map.entry(key.clone()).or_insert_with(|| Value::Array(Vec::new()));
                merge_list(existing, items, merge_by);
            }
            (_, Value::Object(_)) => {
                let slot = target_map.entry(key.clone()).or_insert(Value::Null);
                strategic(slot, value);
                if slot.is_null() {
                    target_map.remove(key);
                }
            }
            _ => {
                target_map.insert(key.clone(), value.clone());
            }
        }
    }
}

fn merge_list(existing: &mut Value, items: &[Value], merge_by: &str) {
    if !existing.is_array() {
        *existing = Value::Array(Vec::new());
    }
    let Value::Array(list) = existing else { return };
    for item in items {
        let key = &item[merge_by];
        let position = list.iter().position(|e| &e[merge_by] == key);
        let delete = item.get("$patch").and_then(Value::as_str) == Some("delete");
        match (position, delete) {
            (Some(i), true) => {
                list.remove(i);
            }
            (None, true) => {}
            (Some(i), false) => strategic(&mut list[i], item),
            (None, false) => {
                let mut fresh = Value::Null;
                strategic(&mut fresh, item);
                list.push(fresh);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{apply, PatchType};

    fn deployment() -> serde_json::Value {
        json!({"spec": {"replicas": 2, "template": {"metadata": {"labels": {"app": "b"}}, "spec": {
        "containers": [
            {"name": "backend", "image": "backend:1.8.2", "env": [{"name": "A", "value": "1"}]},
            {"name": "sidecar", "image": "proxy:1"}
        ]}}}})
    }

    #[test]
    fn strategic_merge_updates_one_container_by_name_and_keeps_the_others() {
        let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "backend", "image": "backend:1.8.3"}]}}}});
        let out = apply(&deployment(), &patch, PatchType::Strategic, false).unwrap();
        let containers = &out["spec"]["template"]["spec"]["containers"];
        assert_eq!(containers.as_array().unwrap().len(), 2);
        assert_eq!(containers[0]["image"], "backend:1.8.3");
        assert_eq!(containers[0]["env"][0]["value"], "1");
        assert_eq!(containers[1]["image"], "proxy:1");
    }

    #[test]
    fn merge_patch_replaces_lists_whole() {
        let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "backend", "image": "x"}]}}}});
        let out = apply(&deployment(), &patch, PatchType::Merge, false).unwrap();
        assert_eq!(out["spec"]["template"]["spec"]["containers"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn the_restart_annotation_patch_adds_to_the_template() {
        let patch = json!({"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"2026-11-26T04:17:02Z"}}}}});
        let out = apply(&deployment(), &patch, PatchType::Strategic, false).unwrap();
        assert_eq!(out["spec"]["template"]["metadata"]["labels"]["app"], "b");
        assert_eq!(
            out["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"],
            "2026-11-26T04:17:02Z"
        );
    }

    #[test]
    fn delete_directives_and_nulls_remove_entries() {
        let patch = json!({"spec": {"replicas": null, "template": {"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}]}}}});
        let out = apply(&deployment(), &patch, PatchType::Strategic, false).unwrap();
        assert!(out["spec"].get("replicas").is_none());
        assert_eq!(out["spec"]["template"]["spec"]["containers"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn json_patch_replaces_by_path_and_a_failed_test_is_invalid() {
        let patch = json!([{"op": "replace", "path": "/spec/replicas", "value": 5}]);
        assert_eq!(
            apply(&deployment(), &patch, PatchType::Json, false).unwrap()["spec"]["replicas"],
            5
        );
        let failing = json!([{"op": "test", "path": "/spec/replicas", "value": 9}]);
        assert_eq!(apply(&deployment(), &failing, PatchType::Json, false).unwrap_err().code(), 422);
    }

    #[test]
    fn custom_resources_refuse_strategic_merge_with_415() {
        let error = PatchType::from_content_type("application/strategic-merge-patch+json", true)
            .unwrap_err();
        assert_eq!(error.code(), 415);
        assert!(
            PatchType::from_content_type("application/strategic-merge-patch+json", false).is_ok()
        );
        assert_eq!(PatchType::from_content_type("text/plain", false).unwrap_err().code(), 415);
    }
}
