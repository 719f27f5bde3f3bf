//! The resource types the simulated cluster serves, as the real apiserver describes them in
//! discovery. Everything else (routing, tables, validation) is keyed by this table.

/// What a resource type is and how it is served.
#[derive(Debug, PartialEq, Eq)]
pub struct ResourceType {
    /// Empty for the core group.
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    /// Has a `/scale` subresource (autoscaling/v1 Scale).
    pub scale: bool,
    /// Has a `/status` subresource: the main endpoint ignores status changes.
    pub status: bool,
    /// Defined by a CustomResourceDefinition: no strategic merge patch (415).
    pub custom: bool,
}

impl ResourceType {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_owned()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `deployments.apps`, as error messages name a resource.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_owned()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }
}

const fn builtin(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    singular: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
) -> ResourceType {
    ResourceType {
        group,
        version,
        kind,
        plural,
        singular,
        namespaced,
        short_names,
        scale: false,
        status: true,
        custom: false,
    }
}

/// Every type served. Index into this table is a type's identity in the store.
pub static RESOURCES: &[ResourceType] = &[
    ResourceType {
        status: false,
        ..builtin("", "v1", "Namespace", "namespaces", "namespace", false, &["ns"])
    },
    builtin("", "v1", "Pod", "pods", "pod", true, &["po"]),
    ResourceType { status: false, ..builtin("", "v1", "Event", "events", "event", true, &["ev"]) },
    ResourceType {
        status: false,
        ..builtin("", "v1", "ConfigMap", "configmaps", "configmap", true, &["cm"])
    },
    ResourceType { status: false, ..builtin("", "v1", "Secret", "secrets", "secret", true, &[]) },
    builtin("", "v1", "Service", "services", "service", true, &["svc"]),
    builtin(
        "",
        "v1",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        "persistentvolumeclaim",
        true,
        &["pvc"],
    ),
    ResourceType {
        scale: true,
        ..builtin("apps", "v1", "Deployment", "deployments", "deployment", true, &["deploy"])
    },
    ResourceType {
        scale: true,
        ..builtin("apps", "v1", "ReplicaSet", "replicasets", "replicaset", true, &["rs"])
    },
    ResourceType {
        scale: true,
        ..builtin("apps", "v1", "StatefulSet", "statefulsets", "statefulset", true, &["sts"])
    },
    builtin(
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        "horizontalpodautoscaler",
        true,
        &["hpa"],
    ),
    builtin("batch", "v1", "Job", "jobs", "job", true, &[]),
    builtin("batch", "v1", "CronJob", "cronjobs", "cronjob", true, &["cj"]),
    builtin(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        "customresourcedefinition",
        false,
        &["crd", "crds"],
    ),
    // Argo CD's Application CRD has no status subresource: status is written like spec.
    ResourceType {
        status: false,
        custom: true,
        ..builtin(
            "argoproj.io",
            "v1alpha1",
            "Application",
            "applications",
            "application",
            true,
            &["app", "apps"],
        )
    },
];

/// Index of a type by group, version and plural.
pub fn find(group: &str, version: &str, plural: &str) -> Option<usize> {
    RESOURCES.iter().position(|r| r.group == group && r.version == version && r.plural == plural)
}

/// Index of a type by kind and apiVersion (as found in an object).
pub fn find_kind(api_version: &str, kind: &str) -> Option<usize> {
    RESOURCES.iter().position(|r| r.kind == kind && r.api_version() == api_version)
}

/// Well-known indexes, checked by a test against the table.
pub mod ids {
    pub const NAMESPACE: usize = 0;
    pub const POD: usize = 1;
    pub const EVENT: usize = 2;
    pub const DEPLOYMENT: usize = 7;
    pub const REPLICASET: usize = 8;
    pub const STATEFULSET: usize = 9;
    pub const HPA: usize = 10;
    pub const JOB: usize = 11;
    pub const CRONJOB: usize = 12;
    pub const CRD: usize = 13;
    pub const APPLICATION: usize = 14;
}

#[cfg(test)]
mod tests {
    use super::{find, ids, RESOURCES};

    #[test]
    fn well_known_ids_point_at_their_types() {
        let expect = [
            (ids::NAMESPACE, "Namespace"),
            (ids::POD, "Pod"),
            (ids::EVENT, "Event"),
            (ids::DEPLOYMENT, "Deployment"),
            (ids::REPLICASET, "ReplicaSet"),
            (ids::STATEFULSET, "StatefulSet"),
            (ids::HPA, "HorizontalPodAutoscaler"),
            (ids::JOB, "Job"),
            (ids::CRONJOB, "CronJob"),
            (ids::CRD, "CustomResourceDefinition"),
            (ids::APPLICATION, "Application"),
        ];
        for (id, kind) in expect {
            assert_eq!(RESOURCES[id].kind, kind);
        }
    }

    #[test]
    fn types_are_found_by_group_version_and_plural() {
        assert_eq!(find("apps", "v1", "deployments"), Some(ids::DEPLOYMENT));
        assert_eq!(find("", "v1", "pods"), Some(ids::POD));
        assert_eq!(find("batch", "v1beta1", "cronjobs"), None);
        assert_eq!(RESOURCES[ids::DEPLOYMENT].qualified(), "deployments.apps");
        assert_eq!(RESOURCES[ids::POD].qualified(), "pods");
    }
}
