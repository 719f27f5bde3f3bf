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
        loop {
            let started = tokio::time::Instant::now();
            pass(&cluster);
            // At least as long a rest as the pass took: a cluster of thousands of pods
            // (a pass over 8,000 takes about a quarter of a second) then uses at most half
            // a core, instead of running passes back to back on the cores the panel under
            // test shares with it. Small clusters still step every tick.
            let rest = TICK.max(started.elapsed());
            tokio::select! {
                _ = tokio::time::sleep(rest) => {}
                _ = stopped.changed() => return,
            }
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
