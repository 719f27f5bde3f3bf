//! What the CO2 calculator's exporters would report, worked out from the simulated
//! cluster's state: traffic follows the time of day; fewer ready backends mean slower
//! answers; a crash-looping backend fails a quarter of its requests; Celery's queue grows
//! while no worker is ready. Pure functions of the state and the time, so the week of
//! history written at start and the live endpoint tell one story.

use std::f64::consts::PI;

/// One pod as the exporters see it.
#[derive(Clone, Debug, PartialEq)]
pub struct Pod {
    pub name: String,
    /// Its workload (the `app` label).
    pub workload: String,
    pub container: String,
    pub ready: bool,
    pub restarts: i64,
    /// Bytes, when the container has a memory limit.
    pub memory_limit: Option<f64>,
    /// The last time it ended, when that was an OOM kill.
    pub oom_killed: bool,
}

/// One environment at one moment.
#[derive(Clone, Debug, PartialEq)]
pub struct EnvState {
    pub namespace: String,
    pub pods: Vec<Pod>,
    /// The backend is switched to crash-looping (a simulator fault).
    pub backend_crashing: bool,
}

impl EnvState {
    pub fn ready(&self, workload: &str) -> u32 {
        let n = self.pods.iter().filter(|p| p.workload == workload && p.ready).count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }
}

/// The endpoints the backend serves, their share of the traffic, and how much slower
/// than the fastest they are.
pub const HANDLERS: [(&str, f64, f64); 2] =
    [("/api/v1/footprint", 0.7, 1.0), ("/api/v1/reports", 0.3, 2.5)];

/// The high-resolution histogram's bucket bounds (seconds; `+Inf` after them).
pub const BUCKETS: [f64; 10] = [0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// How many requests one backend replica serves comfortably each second.
const CAPACITY: f64 = 8.0;

/// Requests per second at `t` (Unix seconds): each environment's own level, highest at
/// midday UTC and lowest at midnight.
pub fn traffic(namespace: &str, t: f64) -> f64 {
    let level = if namespace.ends_with("-prod") {
        12.0
    } else if namespace.ends_with("-staging") {
        2.0
    } else {
        0.5
    };
    let day = (t.rem_euclid(86_400.0)) / 86_400.0;
    level * (0.6 + 0.4 * (2.0 * PI * (day - 0.25)).sin())
}

/// The share of requests answered with a server error.
pub fn error_share(state: &EnvState) -> f64 {
    if state.backend_crashing {
        0.25
    } else {
        0.002
    }
}

/// The mean answer time of `handler`'s slowness factor at `t`: grows with the load per
/// ready replica, so scaling up makes answers faster.
pub fn mean_latency(state: &EnvState, factor: f64, t: f64) -> f64 {
    let ready = f64::from(state.ready("backend").max(1));
    let load = traffic(&state.namespace, t) / (ready * CAPACITY);
    0.05 * factor * (1.0 + 3.0 * load * load)
}

/// The share of answers within `le` seconds (answer times spread exponentially around
/// their mean: the 95th percentile is three times the mean).
pub fn within(le: f64, mean: f64) -> f64 {
    1.0 - (-le / mean).exp()
}

/// Tasks queued per second, and done per second when the queue is not empty.
pub fn celery(state: &EnvState, t: f64) -> (f64, f64) {
    let arrivals = traffic(&state.namespace, t) * 0.1;
    let capacity = f64::from(state.ready("celery-worker")) * 2.0;
    (arrivals, capacity)
}

/// A pod's CPU use in cores.
pub fn cpu(state: &EnvState, pod: &Pod, t: f64) -> f64 {
    let traffic = traffic(&state.namespace, t);
    match pod.workload.as_str() {
        "backend" => 0.05 + 0.08 * traffic / f64::from(state.ready("backend").max(1)),
        "celery-worker" => 0.02 + 0.05 * traffic / 10.0,
        "frontend" => 0.01 + 0.002 * traffic,
        "postgres" => 0.03 + 0.01 * traffic,
        _ => 0.01,
    }
}

/// A small steady wobble per pod, so pods of one workload draw apart.
fn wobble(name: &str, t: f64) -> f64 {
    let seed = name.bytes().fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    (t / 3_600.0 + f64::from(seed % 628) / 100.0).sin()
}

/// A pod's memory working set in bytes: what its workload usually holds, under its limit.
pub fn memory(pod: &Pod, t: f64) -> f64 {
    const MIB: f64 = 1024.0 * 1024.0;
    let usual = match pod.workload.as_str() {
        "backend" => 290.0,
        "celery-worker" => 240.0,
        "frontend" => 38.0,
        "redis" => 42.0,
        "postgres" => 380.0,
        _ => 64.0,
    } * MIB;
    let wobbled = usual * (1.0 + 0.05 * wobble(&pod.name, t));
    pod.memory_limit.map_or(wobbled, |limit| wobbled.min(limit * 0.95))
}

/// Open connections to PostgreSQL: the backends' and workers' pools, and the exporter's.
pub fn db_connections(state: &EnvState) -> f64 {
    f64::from(state.ready("backend") * 4 + state.ready("celery-worker") * 2 + 1)
}

/// The database's size in bytes at `t`: it grows a little every day.
pub fn db_size(t: f64) -> f64 {
    1.2e9 + (t - 1.7e9) / 86_400.0 * 2.0e6
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prod(backends: usize, workers: usize, crashing: bool) -> EnvState {
        let pod = |workload: &str, i: usize| Pod {
            name: format!("{workload}-5d8f7c9b4-{i:05}"),
            workload: workload.to_owned(),
            container: workload.to_owned(),
            ready: true,
            restarts: 0,
            memory_limit: Some(512.0 * 1024.0 * 1024.0),
            oom_killed: false,
        };
        let mut pods: Vec<Pod> = (0..backends).map(|i| pod("backend", i)).collect();
        pods.extend((0..workers).map(|i| pod("celery-worker", i)));
        EnvState { namespace: "co2-calculator-prod".into(), pods, backend_crashing: crashing }
    }

    const NOON: f64 = 1_764_676_800.0; // 2025-12-02 12:00 UTC

    #[test]
    fn traffic_peaks_at_midday_and_prod_carries_the_most() {
        assert!((traffic("co2-calculator-prod", NOON) - 12.0).abs() < 1e-9);
        assert!((traffic("co2-calculator-prod", NOON - 43_200.0) - 2.4).abs() < 1e-9);
        assert!(traffic("co2-calculator-dev", NOON) < traffic("co2-calculator-staging", NOON));
    }

    #[test]
    fn scaling_the_backend_up_makes_answers_faster() {
        let three = mean_latency(&prod(3, 2, false), 1.0, NOON);
        let one = mean_latency(&prod(1, 2, false), 1.0, NOON);
        let six = mean_latency(&prod(6, 2, false), 1.0, NOON);
        assert!(one > three && three > six, "{one} {three} {six}");
        // One replica at midday: p95 (three means) above the 1 s the alert watches.
        assert!(3.0 * one > 1.0 && 3.0 * three < 0.5, "{one} {three}");
    }

    #[test]
    fn a_crash_looping_backend_fails_a_quarter_of_its_requests() {
        assert!(error_share(&prod(3, 2, false)) < 0.01);
        assert!((error_share(&prod(3, 2, true)) - 0.25).abs() < 1e-9);
    }

    #[test]
    fn without_a_worker_celery_only_queues() {
        let (arrivals, capacity) = celery(&prod(3, 0, false), NOON);
        assert!(arrivals > 0.0 && capacity == 0.0);
        let (arrivals, capacity) = celery(&prod(3, 2, false), NOON);
        assert!(capacity > arrivals);
    }

    #[test]
    fn memory_stays_under_the_limit() {
        let state = prod(1, 0, false);
        let mut pod = state.pods[0].clone();
        pod.memory_limit = Some(100.0 * 1024.0 * 1024.0);
        for h in 0..48 {
            assert!(memory(&pod, NOON + f64::from(h) * 3600.0) <= 95.0 * 1024.0 * 1024.0);
        }
    }
}
