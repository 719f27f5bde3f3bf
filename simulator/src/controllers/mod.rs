//! Controllers that make the simulated cluster behave like a real one as a control panel
//! observes it. They run level-triggered in one loop: after any change (or every tick)
//! each controller looks at the whole (small) cluster and moves it one step on.

mod argocd;
pub mod backups;
mod deployments;
mod events;
mod hpa;
mod jobs;
mod kubelet;
mod replicasets;
mod statefulsets;
pub(crate) mod util;

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::Cluster;

pub use argocd::{GitRepo, Manifests};

/// Real time between passes when nothing changes (time-driven steps: readiness, cron).
const TICK: Duration = Duration::from_millis(200);

pub fn spawn_all(cluster: &Cluster, stopped: &watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    let cluster = cluster.clone();
    let mut stopped = stopped.clone();
    vec![tokio::spawn(async move {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stopped.changed() => return,
            }
            pass(&cluster);
        }
    })]
}

/// One pass of every controller, in dependency order.
pub fn pass(cluster: &Cluster) {
    argocd::reconcile(cluster);
    hpa::reconcile(cluster);
    deployments::reconcile(cluster);
    statefulsets::reconcile(cluster);
    jobs::reconcile_cronjobs(cluster);
    jobs::reconcile_jobs(cluster);
    replicasets::reconcile(cluster);
    kubelet::reconcile(cluster);
    crate::logs::write(cluster);
}
