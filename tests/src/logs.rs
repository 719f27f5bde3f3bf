//! Reading a log stream (`/api/logs`) as the page does: its `lines` and `end` events.

use std::time::Duration;

/// One server-sent event: its name, id and data.
#[derive(Debug, Clone, Default)]
pub struct Event {
    pub name: String,
    pub id: Option<String>,
    pub data: String,
}

pub struct LogStream {
    response: reqwest::Response,
    buffer: String,
}

impl LogStream {
    /// Opens `/api/logs?{query}` as `client`; the response must be a stream.
    pub async fn open(client: &reqwest::Client, url: &str) -> Self {
        let response = client.get(url).send().await.expect("request sent");
        assert_eq!(response.status(), 200, "{url}");
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Self { response, buffer: String::new() }
    }

    pub fn from_response(response: reqwest::Response) -> Self {
        Self { response, buffer: String::new() }
    }

    /// The next event; `None` when the stream ends or says nothing for 20 s.
    pub async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = Event::default();
                for line in block.lines() {
                    if let Some(name) = line.strip_prefix("event: ") {
                        event.name = name.to_owned();
                    } else if let Some(id) = line.strip_prefix("id: ") {
                        event.id = Some(id.to_owned());
                    } else if let Some(d) = line.strip_prefix("data: ") {
                        event.data.push_str(d);
                    }
                }
                if event.name.is_empty() {
                    continue; // a keep-alive comment
                }
                return Some(event);
            }
            let chunk = tokio::time::timeout(Duration::from_secs(20), self.response.chunk())
                .await
                .ok()?
                .ok()??;
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// Everything until an event's data contains `wanted` (that event's data included);
    /// panics when the stream ends first.
    pub async fn until(&mut self, wanted: &str) -> String {
        let mut seen = String::new();
        loop {
            let Some(event) = self.next().await else {
                panic!("the stream ended before {wanted:?}; it carried: {seen}");
            };
            seen.push_str(&format!("[{}] {}\n", event.name, event.data));
            if event.data.contains(wanted) {
                return seen;
            }
        }
    }

    /// Everything until the `end` event; returns all data and the end's words.
    pub async fn to_end(&mut self) -> (String, String) {
        let mut seen = String::new();
        while let Some(event) = self.next().await {
            if event.name == "end" {
                return (seen, event.data);
            }
            seen.push_str(&event.data);
        }
        panic!("the stream ended without an end event: {seen}");
    }
}

/// The first running pod of `app` in the simulated `namespace`.
pub fn running_pod(cluster: &gantry_sim::Cluster, namespace: &str, app: &str) -> Option<String> {
    let (pods, _) = cluster.store.list(gantry_sim::resources::ids::POD, Some(namespace));
    pods.iter()
        .find(|p| {
            p["metadata"]["labels"]["app"] == app
                && p["metadata"]["deletionTimestamp"].is_null()
                && p["status"]["containerStatuses"][0]["state"].get("running").is_some()
        })
        .and_then(|p| p["metadata"]["name"].as_str().map(str::to_owned))
}
