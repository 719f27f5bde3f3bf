//! The derived status of one environment, from its watch caches: what every page and the
//! live stream show. Read from memory only; re-run on each change by the live view.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;

use super::{owned_by, EnvironmentWatch, TEMPLATE_HASH};
use crate::status::derive;
use crate::status::model::{
    EnvironmentStatus, Health, PodInfo, Revision, Verdict, WorkloadStatus, MAX_EVENTS,
};
use crate::status::words;

impl EnvironmentWatch {
    /// The environment as the panel shows it, from memory.
    pub fn status(&self) -> EnvironmentStatus {
        let pods = self.pods.state();
        let autoscalers = self.autoscalers.state();
        let replicasets = self.replicasets.state();
        let selects = |selector: Option<&BTreeMap<String, String>>, pod: &Pod| {
            let labels = pod.metadata.labels.as_ref();
            selector.is_some_and(|s| {
                !s.is_empty() && s.iter().all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
            })
        };
        // Which workload each pod belongs to, and (for Deployments) its revision.
        let mut owner: Vec<Option<String>> = vec![None; pods.len()];
        let mut pod_revision: Vec<Option<i64>> = vec![None; pods.len()];
        let mut workloads: Vec<WorkloadStatus> = Vec::new();
        let mut revisions: Vec<Revision> = Vec::new();
        for d in self.deployments.state() {
            let name = d.metadata.name.clone().unwrap_or_default();
            let selector = d.spec.as_ref().and_then(|s| s.selector.match_labels.as_ref());
            let mut mine: Vec<&Pod> = Vec::new();
            for (i, p) in pods.iter().enumerate() {
                if selects(selector, p) {
                    owner[i] = Some(name.clone());
                    mine.push(p);
                }
            }
            let hpa = autoscalers.iter().map(AsRef::as_ref).find(|h| {
                h.spec.as_ref().is_some_and(|s| {
                    s.scale_target_ref.kind == "Deployment" && s.scale_target_ref.name == name
                })
            });
            let current = derive::revision_of(&d.metadata);
            for rs in
                replicasets.iter().filter(|rs| owned_by(&rs.metadata, "Deployment", &d.metadata))
            {
                let revision = derive::revision(rs, &name, current);
                let hash = rs.metadata.labels.as_ref().and_then(|l| l.get(TEMPLATE_HASH));
                for (i, p) in pods.iter().enumerate() {
                    let pod_hash = p.metadata.labels.as_ref().and_then(|l| l.get(TEMPLATE_HASH));
                    if owner[i].as_deref() == Some(name.as_str())
                        && hash.is_some()
                        && pod_hash == hash
                    {
                        pod_revision[i] = Some(revision.revision);
                    }
                }
                revisions.push(revision);
            }
            workloads.push(derive::deployment(&d, &mine, hpa));
        }
        for s in self.statefulsets.state() {
            let name = s.metadata.name.clone().unwrap_or_default();
            let selector = s.spec.as_ref().and_then(|s| s.selector.match_labels.as_ref());
            let mut mine: Vec<&Pod> = Vec::new();
            for (i, p) in pods.iter().enumerate() {
                if selects(selector, p) {
                    owner[i] = Some(name.clone());
                    mine.push(p);
                }
            }
            workloads.push(derive::statefulset(&s, &mine));
        }
        words::problems_first(&mut workloads);
        revisions.sort_by(|a, b| (&a.workload, b.revision).cmp(&(&b.workload, a.revision)));
        let mut pod_lines: Vec<PodInfo> = pods
            .iter()
            .enumerate()
            .map(|(i, p)| derive::pod_info(p, owner[i].as_deref(), pod_revision[i]))
            .collect();
        pod_lines.sort_by(|a, b| {
            (a.problem.is_none(), &a.workload, &a.name).cmp(&(
                b.problem.is_none(),
                &b.workload,
                &b.name,
            ))
        });
        let jobs = self.jobs.state();
        let mut scheduled: Vec<_> = self
            .cronjobs
            .state()
            .iter()
            .map(|c| {
                let runs: Vec<&Job> = jobs
                    .iter()
                    .map(AsRef::as_ref)
                    .filter(|j| owned_by(&j.metadata, "CronJob", &c.metadata))
                    .collect();
                derive::scheduled_job(c, &runs)
            })
            .collect();
        scheduled.sort_by(|a, b| a.name.cmp(&b.name));
        let mut events: Vec<_> =
            self.events.state().iter().filter_map(|e| derive::warning(e)).collect();
        events.sort_by(|a, b| b.last_ms.cmp(&a.last_ms).then_with(|| a.object.cmp(&b.object)));
        events.truncate(MAX_EVENTS);
        let argo = self
            .applications
            .state()
            .first()
            .map(|a| derive::argo(&serde_json::to_value(a.as_ref()).unwrap_or_default()));
        let verdict = if self.synced() {
            derive::verdict(&workloads, argo.as_ref())
        } else {
            Verdict {
                health: Health::Unknown,
                reason: "waiting for the first view of the cluster".into(),
            }
        };
        EnvironmentStatus {
            name: self.target.name.clone(),
            namespace: self.target.namespace.clone(),
            verdict,
            workloads,
            argo,
            stale_since: self
                .stale_since()
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            stale_reason: self.failures().into_iter().next(),
            pods: pod_lines,
            revisions,
            jobs: scheduled,
            events,
            attention: crate::status::model::Attention::default(),
            figures: None,
            backups: None,
        }
    }
}
