//! A real Prometheus (Debian's 2.42) for a test, with history written beforehand: the
//! series are backfilled with `promtool tsdb create-blocks-from openmetrics`, so a test
//! queries hours of data at once and knows the answers.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

pub struct TestPrometheus {
    pub url: url::Url,
    child: Child,
    folder: PathBuf,
}

impl Drop for TestPrometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}

fn tool(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!(
            "{var} is not set: run through ./run test (scripts/bootstrap.sh installs Prometheus)"
        )
    })
}

/// Starts Prometheus on a free loopback port over the series in `openmetrics` (OpenMetrics
/// text ending in `# EOF`), and waits until it is ready.
pub async fn start_with_history(openmetrics: &str) -> TestPrometheus {
    start(openmetrics, None).await
}

/// The same, evaluating the alerting `rules` (a rule file's YAML) every second.
pub async fn start_with_rules(openmetrics: &str, rules: &str) -> TestPrometheus {
    start(openmetrics, Some(rules)).await
}

async fn start(openmetrics: &str, rules: Option<&str>) -> TestPrometheus {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let folder = std::env::temp_dir().join(format!(
        "gantry-prometheus-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let data = folder.join("data");
    std::fs::create_dir_all(&data).expect("a folder for Prometheus");
    let history = folder.join("history.om");
    std::fs::write(&history, openmetrics).expect("the history is written");
    let made = Command::new(tool("GANTRY_PROMTOOL"))
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&history)
        .arg(&data)
        .output()
        .expect("promtool runs");
    assert!(made.status.success(), "backfill: {}", String::from_utf8_lossy(&made.stderr));
    let config = folder.join("prometheus.yml");
    let mut text = String::from("global:\n  scrape_interval: 30s\n");
    if let Some(rules) = rules {
        let file = folder.join("rules.yml");
        std::fs::write(&file, rules).expect("the rules are written");
        text.push_str(&format!("  evaluation_interval: 1s\nrule_files:\n  - {}\n", file.display()));
    }
    std::fs::write(&config, text).expect("the config is written");
    let mut child = Command::new(tool("GANTRY_PROMETHEUS"))
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", data.display()))
        // Longer than the backfilled span, or Prometheus deletes the blocks at start.
        .arg("--storage.tsdb.retention.time=3650d")
        .arg("--web.listen-address=127.0.0.1:0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("prometheus starts");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    // Its log says where it listens: `msg="Listening on" address=127.0.0.1:NNNNN`.
    let address = loop {
        let line = lines.next().expect("prometheus stopped before listening").expect("a log line");
        if line.contains("Listening on") {
            if let Some(at) = line.split("address=").nth(1) {
                break at.split_whitespace().next().unwrap_or_default().to_owned();
            }
        }
    };
    // Keep reading, so it never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    let url = url::Url::parse(&format!("http://{address}/")).expect("its address");
    let ready = url.join("-/ready").expect("the ready address");
    let answers = || async { reqwest::get(ready.clone()).await.is_ok_and(|r| r.status() == 200) };
    crate::eventually(Duration::from_secs(30), "Prometheus to be ready", answers).await;
    TestPrometheus { url, child, folder }
}
