//! Benchmark of the simulated cluster's API (run by `./run bench`): list throughput, and
//! watch fan-out while objects change. Prints Markdown table rows for the README.

// Its whole output is the report that goes into the README.
#![allow(clippy::print_stdout)]
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use gantry_sim::{Options, Running};
use serde_json::json;

const SECONDS: u64 = 5;
const LISTERS: usize = 8;
const WATCHERS: usize = 50;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sim = Running::start(Options { controllers: false, ..Options::default() }, 0).await?;
    let http = reqwest::Client::new();
    let base = sim.url();

    // Lists: every Deployment of the three environments, from several clients at once.
    let lists = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + Duration::from_secs(SECONDS);
    let mut tasks = Vec::new();
    for _ in 0..LISTERS {
        let (http, url, lists) =
            (http.clone(), format!("{base}/apis/apps/v1/deployments"), lists.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < until {
                if http.get(&url).send().await.and_then(|r| r.error_for_status()).is_ok() {
                    lists.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let list_rate = lists.load(Ordering::Relaxed) as f64 / SECONDS as f64;

    // Watches: many watchers of one namespace's ConfigMaps while a writer patches them.
    let ns = "co2-calculator-dev";
    for i in 0..10 {
        http.post(format!("{base}/api/v1/namespaces/{ns}/configmaps"))
            .json(&json!({"metadata": {"name": format!("bench-{i}")}, "data": {"n": "0"}}))
            .send()
            .await?
            .error_for_status()?;
    }
    let delivered = Arc::new(AtomicU64::new(0));
    let mut watchers = Vec::new();
    for _ in 0..WATCHERS {
        let rv = sim.cluster.store.resource_version();
        let url = format!("{base}/api/v1/namespaces/{ns}/configmaps?watch=true&resourceVersion={rv}&timeoutSeconds={}", SECONDS + 5);
        let (http, delivered) = (http.clone(), delivered.clone());
        watchers.push(tokio::spawn(async move {
            let Ok(response) = http.get(&url).send().await else { return };
            let mut body = response.bytes_stream();
            while let Some(Ok(chunk)) = body.next().await {
                let lines = chunk.iter().filter(|b| **b == b'\n').count() as u64;
                delivered.fetch_add(lines, Ordering::Relaxed);
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let mut writes = 0_u64;
    while started.elapsed() < Duration::from_secs(SECONDS) {
        let name = format!("bench-{}", writes % 10);
        http.patch(format!("{base}/api/v1/namespaces/{ns}/configmaps/{name}"))
            .header("content-type", "application/merge-patch+json")
            .body(json!({"data": {"n": writes.to_string()}}).to_string())
            .send()
            .await?
            .error_for_status()?;
        writes += 1;
    }
    let elapsed = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let events = delivered.load(Ordering::Relaxed);
    for w in watchers {
        w.abort();
    }
    println!("| simulator list (12 Deployments, {LISTERS} clients) | {list_rate:.0} lists/s |");
    println!(
        "| simulator watch fan-out ({WATCHERS} watchers, one writer) | {:.0} writes/s, {:.0} events/s delivered ({} of {} expected) |",
        writes as f64 / elapsed,
        events as f64 / elapsed,
        events,
        writes * WATCHERS as u64
    );
    sim.stop().await;
    Ok(())
}
