//! What the apiserver does to an object before storing it: identity checks, defaults
//! (the ones that show up in `kubectl get -o yaml` and in ReplicaSet templates), and
//! validation with 422 Invalid on bad fields.

use serde_json::{json, Map, Value};

use crate::error::{invalid, ApiError, Cause};
use crate::resources::{ids, RESOURCES};
use crate::store::str_at;

/// Readies a create request's body for the store.
pub fn prepare_create(
    resource: usize,
    namespace: &str,
    mut object: Value,
) -> Result<Value, ApiError> {
    let r = &RESOURCES[resource];
    if !object.is_object() {
        return Err(ApiError::BadRequest("the request body must be a JSON object".into()));
    }
    let body_kind = str_at(&object, "/kind");
    if !body_kind.is_empty() && body_kind != r.kind {
        return Err(ApiError::BadRequest(format!(
            "the API version in the data ({}) does not match the expected API version ({})",
            str_at(&object, "/apiVersion"),
            r.api_version()
        )));
    }
    object["kind"] = json!(r.kind);
    object["apiVersion"] = json!(r.api_version());
    if !object["metadata"].is_object() {
        object["metadata"] = json!({});
    }
    if r.namespaced {
        let in_body = str_at(&object, "/metadata/namespace");
        if !in_body.is_empty() && in_body != namespace {
            return Err(ApiError::BadRequest(
                "the namespace of the provided object does not match the namespace sent on the request".into(),
            ));
        }
        object["metadata"]["namespace"] = json!(namespace);
    } else if let Some(meta) = object["metadata"].as_object_mut() {
        meta.remove("namespace");
    }
    if str_at(&object, "/metadata/name").is_empty() {
        let prefix = str_at(&object, "/metadata/generateName").to_owned();
        if prefix.is_empty() {
            return Err(invalid(
                r.kind,
                r.group,
                "",
                "metadata.name",
                "Required value: name or generateName is required".into(),
            ));
        }
        object["metadata"]["name"] = json!(format!("{prefix}{}", random_suffix(5)));
    }
    for field in ["resourceVersion", "uid", "creationTimestamp", "generation", "deletionTimestamp"]
    {
        if let Some(meta) = object["metadata"].as_object_mut() {
            meta.remove(field);
        }
    }
    if resource == ids::JOB {
        job_labels(&mut object);
    }
    default_and_validate(resource, &mut object)?;
    Ok(object)
}

/// What the API server adds to a new Job: its uid, and labels naming the Job on its pod
/// template and in its selector (so its pods can be found by `job-name`).
fn job_labels(job: &mut Value) {
    let uid = uuid::Uuid::new_v4().to_string();
    let name = str_at(job, "/metadata/name").to_owned();
    job["metadata"]["uid"] = json!(uid);
    let labels = [
        ("batch.kubernetes.io/controller-uid", uid.as_str()),
        ("batch.kubernetes.io/job-name", name.as_str()),
        ("controller-uid", uid.as_str()),
        ("job-name", name.as_str()),
    ];
    for (key, value) in labels {
        job["spec"]["template"]["metadata"]["labels"][key] = json!(value);
    }
    job["spec"]["selector"]["matchLabels"]["batch.kubernetes.io/controller-uid"] = json!(uid);
}

/// Kubernetes' five-character random suffixes (no vowels, no confusable digits).
pub fn random_suffix(length: usize) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    (0..length).map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char).collect()
}

pub fn default_and_validate(resource: usize, object: &mut Value) -> Result<(), ApiError> {
    let r = &RESOURCES[resource];
    let name = str_at(object, "/metadata/name").to_owned();
    if !is_dns_subdomain(&name) {
        return Err(invalid(
            r.kind,
            r.group,
            &name,
            "metadata.name",
            format!("Invalid value: {name:?}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'"),
        ));
    }
    match resource {
        ids::DEPLOYMENT | ids::REPLICASET | ids::STATEFULSET => workload(resource, object, &name)?,
        ids::POD => {
            default_pod_spec(&mut object["spec"]);
            if object["status"].is_null() {
                object["status"] = json!({"phase": "Pending"});
            }
        }
        ids::JOB => {
            let spec = &mut object["spec"];
            set_default(spec, "completions", json!(1));
            set_default(spec, "parallelism", json!(1));
            set_default(spec, "backoffLimit", json!(6));
            default_pod_spec(&mut spec["template"]["spec"]);
        }
        ids::CRONJOB => {
            let spec = &mut object["spec"];
            set_default(spec, "concurrencyPolicy", json!("Allow"));
            set_default(spec, "suspend", json!(false));
            set_default(spec, "successfulJobsHistoryLimit", json!(3));
            set_default(spec, "failedJobsHistoryLimit", json!(1));
            if str_at(spec, "/schedule").is_empty() {
                return Err(invalid(
                    r.kind,
                    r.group,
                    &name,
                    "spec.schedule",
                    "Required value".into(),
                ));
            }
            default_pod_spec(&mut spec["jobTemplate"]["spec"]["template"]["spec"]);
        }
        ids::NAMESPACE if object["status"].is_null() => {
            object["status"] = json!({"phase": "Active"});
        }
        _ => {}
    }
    Ok(())
}

fn set_default(target: &mut Value, key: &str, value: Value) {
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if target.get(key).is_none_or(Value::is_null) {
        target[key] = value;
    }
}

fn workload(resource: usize, object: &mut Value, name: &str) -> Result<(), ApiError> {
    let r = &RESOURCES[resource];
    let spec = &mut object["spec"];
    set_default(spec, "replicas", json!(1));
    if resource == ids::DEPLOYMENT {
        set_default(spec, "revisionHistoryLimit", json!(10));
        set_default(spec, "progressDeadlineSeconds", json!(600));
        set_default(
            spec,
            "strategy",
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}),
        );
    }
    if resource == ids::STATEFULSET {
        set_default(spec, "podManagementPolicy", json!("OrderedReady"));
        set_default(
            spec,
            "updateStrategy",
            json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}),
        );
        set_default(spec, "revisionHistoryLimit", json!(10));
    }
    default_pod_spec(&mut spec["template"]["spec"]);
    let mut causes = Vec::new();
    let replicas = spec["replicas"].as_i64().unwrap_or(-1);
    if replicas < 0 {
        causes.push(Cause {
            field: "spec.replicas".into(),
            message: format!("Invalid value: {replicas}: must be greater than or equal to 0"),
        });
    }
    let selector = &spec["selector"];
    if selector["matchLabels"].as_object().is_none_or(Map::is_empty)
        && selector["matchExpressions"].as_array().is_none_or(Vec::is_empty)
    {
        causes.push(Cause { field: "spec.selector".into(), message: "Required value".into() });
    } else {
        let labels = &spec["template"]["metadata"]["labels"];
        if !crate::selectors::LabelSelector::from_label_selector(selector).matches(labels) {
            causes.push(Cause {
                field: "spec.template.metadata.labels".into(),
                message: "Invalid value: `selector` does not match template `labels`".into(),
            });
        }
    }
    let containers = spec["template"]["spec"]["containers"].as_array().cloned().unwrap_or_default();
    if containers.is_empty() {
        causes.push(Cause {
            field: "spec.template.spec.containers".into(),
            message: "Required value".into(),
        });
    }
    for (i, c) in containers.iter().enumerate() {
        if str_at(c, "/image").is_empty() {
            causes.push(Cause {
                field: format!("spec.template.spec.containers[{i}].image"),
                message: "Required value".into(),
            });
        }
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Invalid {
            kind: format!("{}.{}", r.kind, r.group),
            group: r.group.to_owned(),
            name: name.to_owned(),
            causes,
        })
    }
}

/// The pod-spec defaults the apiserver adds (they appear in every stored template).
fn default_pod_spec(spec: &mut Value) {
    set_default(spec, "restartPolicy", json!("Always"));
    set_default(spec, "terminationGracePeriodSeconds", json!(30));
    set_default(spec, "dnsPolicy", json!("ClusterFirst"));
    set_default(spec, "securityContext", json!({}));
    set_default(spec, "schedulerName", json!("default-scheduler"));
    if let Some(containers) = spec.get_mut("containers").and_then(Value::as_array_mut) {
        for c in containers {
            let image = str_at(c, "/image").to_owned();
            let latest =
                image.ends_with(":latest") || !image.rsplit('/').next().unwrap_or("").contains(':');
            set_default(
                c,
                "imagePullPolicy",
                json!(if latest { "Always" } else { "IfNotPresent" }),
            );
            set_default(c, "terminationMessagePath", json!("/dev/termination-log"));
            set_default(c, "terminationMessagePolicy", json!("File"));
            set_default(c, "resources", json!({}));
        }
    }
}

fn is_dns_subdomain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && name.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && name.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric())
}

/// Records who last wrote the object, as `metadata.managedFields` entries do.
pub fn record_manager(object: &mut Value, manager: &str, time: &str, apply: bool) {
    let operation = if apply { "Apply" } else { "Update" };
    let entry = json!({
        "manager": manager,
        "operation": operation,
        "apiVersion": object["apiVersion"],
        "time": time,
        "fieldsType": "FieldsV1",
        "fieldsV1": {},
    });
    let fields = &mut object["metadata"]["managedFields"];
    if !fields.is_array() {
        *fields = json!([]);
    }
    if let Some(list) = fields.as_array_mut() {
        list.retain(|e| !(e["manager"] == manager && e["operation"] == operation));
        list.push(entry);
    }
}
