//! A simulated cluster on its own, seeded at a size, for the scale benchmark (run by
//! `./run bench`): Gantry then starts against a cluster whose pods already exist, as it
//! does in production.
//!
//!     serve ENVIRONMENTS EXTRA_WORKLOADS KUBECONFIG
//!
//! Writes the kubeconfig, waits until every seeded Deployment and StatefulSet has all its
//! replicas ready, prints one JSON line (`{"url": …, "pods": N, "seconds": S}`), and
//! serves until it is killed.

// Its output is what the benchmark script reads.
#![allow(clippy::print_stdout)]
use std::time::{Duration, Instant};

use gantry_sim::resources::ids;
use gantry_sim::{Options, Running};
use serde_json::Value;

fn settled(sim: &Running) -> Option<usize> {
    let store = &sim.cluster.store;
    for kind in [ids::DEPLOYMENT, ids::STATEFULSET] {
        let (items, _) = store.list(kind, None);
        let ready = items.iter().all(|o| {
            let want = o.pointer("/spec/replicas").and_then(Value::as_u64).unwrap_or(1);
            o.pointer("/status/readyReplicas").and_then(Value::as_u64).unwrap_or(0) == want
        });
        if !ready {
            return None;
        }
    }
    Some(store.list(ids::POD, None).0.len())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, environments, extra, kubeconfig] = args.as_slice() else {
        return Err("usage: serve ENVIRONMENTS EXTRA_WORKLOADS KUBECONFIG".into());
    };
    let options = Options {
        environments: environments.parse()?,
        extra_workloads: extra.parse()?,
        // Pods start at once: the benchmark measures Gantry, not the rollout.
        pod_start: Duration::ZERO,
        ..Options::default()
    };
    let started = Instant::now();
    let sim = Running::start(options, 0).await?;
    std::fs::write(kubeconfig, sim.kubeconfig())?;
    let pods = loop {
        if let Some(pods) = settled(&sim) {
            break pods;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let seconds = started.elapsed().as_secs_f64();
    println!("{}", serde_json::json!({"url": sim.url(), "pods": pods, "seconds": seconds}));
    std::future::pending::<()>().await;
    Ok(())
}
