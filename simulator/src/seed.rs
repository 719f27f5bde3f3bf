//! The default cluster: the EPFL CO2 calculator in three environments, deployed by Argo CD.

use serde_json::{json, Value};

use crate::admission;
use crate::resources::ids;
use crate::Cluster;

/// Versions per environment: dev runs ahead, prod behind, as in a promotion flow.
const ENVIRONMENTS: [(&str, &str, &str, &str); 3] = [
    // name, app version, git revision deployed, Argo CD targetRevision
    ("dev", "1.9.0-rc.2", "4f9c2d1e8b7a6c5d4e3f2a1b0c9d8e7f6a5b4c3d", "main"),
    ("staging", "1.8.3", "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678", "release-1.8"),
    ("prod", "1.8.2", "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a291807", "v1.8.2"),
];

pub const REGISTRY: &str = "registry.example.org/co2-calculator";
pub const ARGOCD_NAMESPACE: &str = "argocd";
pub const REPO_URL: &str = "https://gitlab.example.org/co2-calculator/deploy.git";

fn create(cluster: &Cluster, resource: usize, namespace: &str, object: Value) {
    match admission::prepare_create(resource, namespace, object) {
        Ok(object) => {
            if let Err(error) = cluster.store.create(resource, object) {
                tracing::error!(%error, "seed object refused by the store");
            }
        }
        Err(error) => tracing::error!(%error, "seed object refused by admission"),
    }
}

fn labels(app: &str, component: &str, version: &str) -> Value {
    json!({
        "app": app,
        "app.kubernetes.io/name": app,
        "app.kubernetes.io/part-of": "co2-calculator",
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/version": version,
    })
}

fn container(name: &str, image: &str, cpu: &str, memory: &str, port: Option<u16>) -> Value {
    let mut c = json!({
        "name": name,
        "image": image,
        "resources": {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory}},
        "env": [{"name": "APP_ENV", "value": "production"}],
    });
    if let Some(port) = port {
        c["ports"] = json!([{"containerPort": port, "protocol": "TCP"}]);
        c["readinessProbe"] =
            json!({"httpGet": {"path": "/health", "port": port}, "periodSeconds": 5});
    }
    c
}

fn deployment(name: &str, namespace: &str, replicas: u32, version: &str, c: &Value) -> Value {
    json!({
        "metadata": {"name": name, "namespace": namespace, "labels": labels(name, name, version),
            "annotations": {"kubernetes.io/change-cause": format!("deploy {name} {version}")}},
        "spec": {
            "replicas": replicas,
            "revisionHistoryLimit": 10,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": labels(name, name, version)}, "spec": {"containers": [c]}},
        },
    })
}

/// The seeded environments' names: dev, staging and prod (as many as `count` allows),
/// then `env-004`, `env-005`, … each running as prod does. Gantry's default configuration
/// names the same ones.
pub fn environment_names(count: usize) -> Vec<String> {
    (0..count)
        .map(|i| match ENVIRONMENTS.get(i) {
            Some((name, ..)) => (*name).to_owned(),
            None => format!("env-{:03}", i + 1),
        })
        .collect()
}

/// Replicas of each extra workload ([`crate::Options::extra_workloads`]).
pub const EXTRA_REPLICAS: u32 = 10;

pub fn co2_calculator(cluster: &Cluster) {
    create(cluster, ids::NAMESPACE, "", json!({"metadata": {"name": ARGOCD_NAMESPACE}}));
    create(cluster, ids::CRD, "", application_crd());
    let [.., prod] = ENVIRONMENTS;
    for name in environment_names(cluster.options.environments) {
        let (_, version, revision, target) =
            ENVIRONMENTS.into_iter().find(|(env, ..)| *env == name).unwrap_or(prod);
        let env = name.as_str();
        let ns = format!("co2-calculator-{env}");
        create(
            cluster,
            ids::NAMESPACE,
            "",
            json!({"metadata": {"name": ns, "labels": {"environment": env}}}),
        );
        let image = |component: &str| format!("{REGISTRY}/{component}:{version}");
        create(
            cluster,
            ids::DEPLOYMENT,
            &ns,
            deployment(
                "frontend",
                &ns,
                2,
                version,
                &container("frontend", &image("frontend"), "50m", "64Mi", Some(8080)),
            ),
        );
        let mut backend = container("backend", &image("backend"), "250m", "512Mi", Some(8000));
        backend["env"] = json!([
            {"name": "APP_ENV", "value": env},
            {"name": "DATABASE_HOST", "value": "postgres"},
            {"name": "DATABASE_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "postgres", "key": "password"}}},
            {"name": "REDIS_URL", "value": "redis://redis:6379/0"},
        ]);
        create(cluster, ids::DEPLOYMENT, &ns, deployment("backend", &ns, 3, version, &backend));
        let mut worker = container("celery-worker", &image("backend"), "200m", "512Mi", None);
        worker["args"] = json!(["celery", "-A", "app.worker", "worker", "--loglevel=info"]);
        create(
            cluster,
            ids::DEPLOYMENT,
            &ns,
            deployment("celery-worker", &ns, 2, version, &worker),
        );
        create(
            cluster,
            ids::DEPLOYMENT,
            &ns,
            deployment(
                "redis",
                &ns,
                1,
                "7.2.5",
                &container("redis", "redis:7.2.5-alpine", "50m", "128Mi", Some(6379)),
            ),
        );
        for i in 1..=cluster.options.extra_workloads {
            let name = format!("service-{i:02}");
            let c = container(&name, &image("backend"), "20m", "64Mi", Some(8080));
            let extra = deployment(&name, &ns, EXTRA_REPLICAS, version, &c);
            create(cluster, ids::DEPLOYMENT, &ns, extra);
        }
        create(
            cluster,
            ids::HPA,
            &ns,
            json!({
                "metadata": {"name": "backend", "namespace": ns},
                "spec": {
                    "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "backend"},
                    "minReplicas": 3, "maxReplicas": 10,
                    "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}],
                },
            }),
        );
        create(
            cluster,
            ids::STATEFULSET,
            &ns,
            json!({
                "metadata": {"name": "postgres", "namespace": ns, "labels": labels("postgres", "database", "16.4")},
                "spec": {
                    "serviceName": "postgres",
                    "replicas": 1,
                    "selector": {"matchLabels": {"app": "postgres"}},
                    "template": {"metadata": {"labels": labels("postgres", "database", "16.4")}, "spec": {"containers": [
                        container("postgres", "postgres:16.4", "500m", "1Gi", Some(5432))]}},
                    "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "50Gi"}}}}],
                },
            }),
        );
        let backup = json!({
            "metadata": {"name": "db-backup", "namespace": ns, "labels": {"app": "db-backup"}},
            "spec": {
                "schedule": "0 2 * * *",
                "concurrencyPolicy": "Forbid",
                "successfulJobsHistoryLimit": 7,
                "failedJobsHistoryLimit": 3,
                // The project's backup Job (deploy/backup/cronjob.yaml), on the NAS.
                "jobTemplate": {"spec": {"backoffLimit": 0, "template": {"metadata": {"labels": {"app": "db-backup"}}, "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "backup", "image": "postgres:16.4",
                        "command": ["/bin/sh", "/scripts/backup.sh"],
                        "terminationMessagePolicy": "FallbackToLogsOnError",
                        "env": [
                            {"name": "BACKUP_DIR", "value": "/backups"},
                            {"name": "BACKUP_PREFIX", "value": "co2"},
                            {"name": "BACKUP_RETAIN", "value": "14"},
                            {"name": "BACKUP_MIN_BYTES", "value": "4096"},
                        ],
                        "volumeMounts": [{"name": "nas", "mountPath": "/backups"}]}],
                    "volumes": [{"name": "nas", "nfs": {"server": "nas.example.org", "path": format!("/backups/co2-calculator/{env}")}}],
                }}}},
            },
        });
        create(cluster, ids::CRONJOB, &ns, backup);
        // The nights before the demo: prod's backups all good, staging's last two failed
        // (its last good one is three nights old), dev never backed up.
        let history: &[bool] = match env {
            "prod" => &[true, true, true],
            "staging" => &[true, false, false],
            _ => &[],
        };
        if let Ok(cronjob) = cluster.store.get(ids::CRONJOB, &ns, "db-backup") {
            crate::controllers::backups::seed_history(cluster, &cronjob, history);
        }
        // The project's verification (deploy/backup/verify-cronjob.yaml): last night's
        // verified the newest good dump wherever there is one.
        create(cluster, ids::CRONJOB, &ns, verify_cronjob(&ns, env));
        create(cluster, ids::CRONJOB, &ns, restore_cronjob(&ns, env));
        if let (Ok(cronjob), false) =
            (cluster.store.get(ids::CRONJOB, &ns, "db-verify"), cluster.nas.list(&ns).is_empty())
        {
            crate::controllers::backups::seed_verification(cluster, &cronjob);
        }
        create(
            cluster,
            ids::APPLICATION,
            ARGOCD_NAMESPACE,
            application(env, &ns, revision, target),
        );
        // Git holds what is deployed: the app's target revision points at these images.
        let (deployments, _) = cluster.store.list(ids::DEPLOYMENT, Some(&ns));
        let manifests = deployments
            .iter()
            .map(|d| {
                let image = d
                    .pointer("/spec/template/spec/containers/0/image")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                (d["metadata"]["name"].as_str().unwrap_or("").to_owned(), image.to_owned())
            })
            .collect();
        cluster.git.commit(&format!("co2-calculator-{env}"), target, revision, manifests);
    }
}

fn verify_cronjob(namespace: &str, env: &str) -> Value {
    json!({
        "metadata": {"name": "db-verify", "namespace": namespace, "labels": {"app": "db-verify"}},
        "spec": {
            "schedule": "0 3 * * *",
            "concurrencyPolicy": "Forbid",
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {"spec": {"backoffLimit": 0, "template": {"metadata": {"labels": {"app": "db-verify"}}, "spec": {
                "restartPolicy": "Never",
                "containers": [{"name": "verify", "image": "postgres:16.4",
                    "command": ["/bin/sh", "/scripts/verify.sh"],
                    "terminationMessagePolicy": "FallbackToLogsOnError",
                    "env": [{"name": "BACKUP_DIR", "value": "/backups"}, {"name": "BACKUP_PREFIX", "value": "co2"}],
                    "volumeMounts": [{"name": "nas", "mountPath": "/backups", "readOnly": true}]}],
                "volumes": [{"name": "nas", "nfs": {"server": "nas.example.org", "path": format!("/backups/co2-calculator/{env}")}}],
            }}}},
        },
    })
}

/// The restore Job's template (deploy/backup/restore-job.yaml), kept as a suspended CronJob
/// so it lives in the namespace with the others: Gantry's restores are Jobs made from it,
/// never scheduled runs.
fn restore_cronjob(namespace: &str, env: &str) -> Value {
    json!({
        "metadata": {"name": "db-restore", "namespace": namespace, "labels": {"app": "db-restore"}},
        "spec": {
            "schedule": "0 0 1 1 *",
            "suspend": true,
            "jobTemplate": {"spec": {"backoffLimit": 0, "template": {"metadata": {"labels": {"app": "db-restore"}}, "spec": {
                "restartPolicy": "Never",
                "containers": [{"name": "restore", "image": "postgres:16.4",
                    "command": ["/bin/sh", "/scripts/restore.sh"],
                    "terminationMessagePolicy": "FallbackToLogsOnError",
                    "env": [{"name": "BACKUP_DIR", "value": "/backups"}],
                    "volumeMounts": [{"name": "nas", "mountPath": "/backups", "readOnly": true}]}],
                "volumes": [{"name": "nas", "nfs": {"server": "nas.example.org", "path": format!("/backups/co2-calculator/{env}")}}],
            }}}},
        },
    })
}

fn application(env: &str, namespace: &str, revision: &str, target: &str) -> Value {
    let mut spec = json!({
        "project": "co2-calculator",
        "source": {"repoURL": REPO_URL, "path": format!("overlays/{env}"), "targetRevision": target},
        "destination": {"server": "https://kubernetes.default.svc", "namespace": namespace},
    });
    if env == "dev" {
        spec["syncPolicy"] = json!({"automated": {"prune": true, "selfHeal": true}, "syncOptions": ["CreateNamespace=false"]});
    }
    json!({
        "metadata": {"name": format!("co2-calculator-{env}"), "namespace": ARGOCD_NAMESPACE,
            "labels": {"app.kubernetes.io/part-of": "co2-calculator", "environment": env}},
        "spec": spec,
        "status": {
            "sync": {"status": "Synced", "revision": revision,
                "comparedTo": {"source": {"repoURL": REPO_URL, "path": format!("overlays/{env}"), "targetRevision": target}}},
            "health": {"status": "Healthy"},
            "history": [{"id": 1, "revision": revision, "deployedAt": "2026-11-20T09:30:00Z",
                "source": {"repoURL": REPO_URL, "path": format!("overlays/{env}"), "targetRevision": target},
                "initiatedBy": {"username": "argocd-bootstrap"}}],
            "operationState": {"phase": "Succeeded", "message": "successfully synced (all tasks run)",
                "startedAt": "2026-11-20T09:29:40Z", "finishedAt": "2026-11-20T09:30:00Z",
                "operation": {"sync": {"revision": revision}, "initiatedBy": {"username": "argocd-bootstrap"}},
                "syncResult": {"revision": revision}},
            "summary": {"images": []},
        },
    })
}

fn application_crd() -> Value {
    json!({
        "metadata": {"name": "applications.argoproj.io"},
        "spec": {
            "group": "argoproj.io",
            "names": {"kind": "Application", "listKind": "ApplicationList", "plural": "applications",
                "singular": "application", "shortNames": ["app", "apps"]},
            "scope": "Namespaced",
            "versions": [{"name": "v1alpha1", "served": true, "storage": true,
                "additionalPrinterColumns": [
                    {"name": "Sync Status", "type": "string", "jsonPath": ".status.sync.status"},
                    {"name": "Health Status", "type": "string", "jsonPath": ".status.health.status"}],
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}],
        },
    })
}
