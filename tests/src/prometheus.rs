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

/// Where a Prometheus-family server listens, from its log: `msg="Listening on"
/// address=127.0.0.1:NNNNN` (it chose the port).
fn listening(child: &mut Child, what: &str) -> String {
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let address = loop {
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("{what} stopped before listening"))
            .expect("a log line");
        if line.contains("Listening on") {
            if let Some(at) = line.split("address=").nth(1) {
                break at.split_whitespace().next().unwrap_or_default().to_owned();
            }
        }
    };
    // Keep reading, so it never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    address
}

/// A real Alertmanager (Debian's 0.25), without gossip, on a free loopback port.
pub struct TestAlertmanager {
    pub url: url::Url,
    child: Child,
    folder: PathBuf,
}

impl Drop for TestAlertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}

/// An empty folder of this process's own under the temporary folder.
fn scratch(what: &str) -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let folder = std::env::temp_dir().join(format!(
        "gantry-{what}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).expect("a scratch folder");
    folder
}

/// The server's address once its `/-/ready` answers 200.
async fn ready(child: &mut Child, what: &str) -> url::Url {
    let address = listening(child, what);
    let url = url::Url::parse(&format!("http://{address}/")).expect("its address");
    let ready = url.join("-/ready").expect("the ready address");
    let answers = || async { reqwest::get(ready.clone()).await.is_ok_and(|r| r.status() == 200) };
    crate::eventually(Duration::from_secs(30), &format!("{what} to be ready"), answers).await;
    url
}

pub async fn start_alertmanager() -> TestAlertmanager {
    let folder = scratch("alertmanager");
    let config = folder.join("alertmanager.yml");
    std::fs::write(&config, "route:\n  receiver: panel\nreceivers:\n  - name: panel\n")
        .expect("the config is written");
    let mut child = Command::new(tool("GANTRY_ALERTMANAGER"))
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.path={}", folder.display()))
        .arg("--web.listen-address=127.0.0.1:0")
        .arg("--cluster.listen-address=")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("alertmanager starts");
    let url = ready(&mut child, "Alertmanager").await;
    TestAlertmanager { url, child, folder }
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
    start(openmetrics, None, false).await
}

/// The same, also scraping `target` (`host:port`, path `/metrics`) every second.
pub async fn start_scraping(openmetrics: &str, target: &str) -> TestPrometheus {
    let prometheus = start(openmetrics, None, true).await;
    prometheus.scrape(target);
    prometheus
}

/// The same, evaluating the alerting `rules` (a rule file's YAML) every second.
pub async fn start_with_rules(openmetrics: &str, rules: &str) -> TestPrometheus {
    start(openmetrics, Some(rules), false).await
}

/// The file of scrape targets Prometheus watches (file service discovery).
const TARGETS: &str = "targets.json";

impl TestPrometheus {
    /// Scrapes `target` (`host:port`, path `/metrics`) every second from now on, as
    /// job `simulator`. Prometheus notices the rewritten targets file by itself.
    pub fn scrape(&self, target: &str) {
        let text = serde_json::json!([{"targets": [target]}]).to_string();
        let file = self.folder.join(TARGETS);
        let part = self.folder.join("targets.json.part");
        std::fs::write(&part, text).expect("the targets are written");
        std::fs::rename(part, file).expect("the targets are put in place");
    }
}

async fn start(openmetrics: &str, rules: Option<&str>, scraping: bool) -> TestPrometheus {
    let folder = scratch("prometheus");
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
    if scraping {
        let targets = folder.join(TARGETS);
        std::fs::write(&targets, "[]").expect("the targets file is written");
        text.push_str(&format!(
            "scrape_configs:\n  - job_name: simulator\n    scrape_interval: 1s\n    file_sd_configs:\n      - files: ['{}']\n",
            targets.display()
        ));
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
    let url = ready(&mut child, "Prometheus").await;
    TestPrometheus { url, child, folder }
}

/// A real Prometheus evaluating `rules` every second beside a real Alertmanager, and the
/// settings that point a test server at both (a scrape interval of 1 s, so the panel's
/// listings are fresh within a second).
pub struct Monitoring {
    pub prometheus: TestPrometheus,
    pub alertmanager: TestAlertmanager,
    urls: [String; 2],
}

impl Monitoring {
    /// Over the series in `openmetrics`; `scrape_later`: ready to scrape a target named
    /// with [`TestPrometheus::scrape`].
    pub async fn start(openmetrics: &str, rules: &str, scrape_later: bool) -> Self {
        let prometheus = start(openmetrics, Some(rules), scrape_later).await;
        let alertmanager = start_alertmanager().await;
        let urls = [prometheus.url.to_string(), alertmanager.url.to_string()];
        Self { prometheus, alertmanager, urls }
    }

    pub fn settings(&self) -> [(&str, &str); 3] {
        [
            ("GANTRY_PROMETHEUS_URL", self.urls[0].as_str()),
            ("GANTRY_PROMETHEUS_SCRAPE_INTERVAL_SECONDS", "1"),
            ("GANTRY_ALERTMANAGER_URL", self.urls[1].as_str()),
        ]
    }
}
