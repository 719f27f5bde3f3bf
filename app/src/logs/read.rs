//! Reading one container's log from the Kubernetes log API (`pods/{name}/log`), a line at
//! a time and never more than [`MOST_LINE`] bytes of a line in memory, with the API's
//! refusals in words.

use std::pin::Pin;

use chrono::{DateTime, Utc};
use futures_util::io::{AsyncBufRead, AsyncBufReadExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, LogParams};
use kube::Client;

/// The longest line kept whole; the rest of a longer one is dropped (and said to be).
pub const MOST_LINE: usize = 16 * 1024;

pub type Lines = Pin<Box<dyn AsyncBufRead + Send>>;

/// What to ask the API for, for one container.
pub struct Open<'a> {
    pub namespace: &'a str,
    pub pod: &'a str,
    pub container: &'a str,
    pub previous: bool,
    pub tail: Option<u32>,
    pub since: Option<DateTime<Utc>>,
    pub follow: bool,
}

pub async fn open(client: &Client, o: &Open<'_>) -> Result<Lines, String> {
    let api: Api<Pod> = Api::namespaced(client.clone(), o.namespace);
    let params = LogParams {
        container: Some(o.container.to_owned()),
        follow: o.follow,
        previous: o.previous,
        tail_lines: o.tail.map(i64::from),
        // Kubernetes takes whole seconds; lines already shown are skipped by the reader.
        since_time: o
            .since
            .and_then(|t| k8s_openapi::jiff::Timestamp::from_second(t.timestamp()).ok()),
        timestamps: true,
        ..LogParams::default()
    };
    match api.log_stream(o.pod, &params).await {
        Ok(lines) => Ok(Box::pin(lines)),
        Err(error) => Err(words(&error, o)),
    }
}

/// The API's refusal as a person reads it.
pub fn words(error: &kube::Error, o: &Open<'_>) -> String {
    match error {
        kube::Error::Api(status) if status.code == 403 => format!(
            "Kubernetes refused Gantry the logs of {} in {}: its service account may not get pods/log there (the API said: {}). The platform team grants it with the chart's logs setting.",
            o.pod, o.namespace, status.message
        ),
        kube::Error::Api(status) if status.code == 404 => format!(
            "The pod {} no longer exists in {}: it was deleted or replaced. Its replacement has a new name; open it from the environment's page.",
            o.pod, o.namespace
        ),
        kube::Error::Api(status) => format!(
            "Kubernetes cannot give these logs: {}",
            crate::error::AppError::sentence(&status.message)
        ),
        other => format!("The Kubernetes API did not answer the log request: {other}."),
    }
}

/// The next line (without its newline) into `line`; `Some(true)` when it was cut at
/// [`MOST_LINE`], `None` at the end.
pub async fn next_line(lines: &mut Lines, line: &mut Vec<u8>) -> std::io::Result<Option<bool>> {
    line.clear();
    let mut cut = false;
    loop {
        let chunk = lines.fill_buf().await?;
        if chunk.is_empty() {
            return Ok((!line.is_empty() || cut).then_some(cut));
        }
        let (take, used, done) = match chunk.iter().position(|b| *b == b'\n') {
            Some(i) => (&chunk[..i], i + 1, true),
            None => (chunk, chunk.len(), false),
        };
        let room = MOST_LINE.saturating_sub(line.len());
        if take.len() > room {
            cut = true;
        }
        line.extend_from_slice(&take[..take.len().min(room)]);
        lines.as_mut().consume(used);
        if done {
            return Ok(Some(cut));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_apis_refusals_read_as_words() {
        let o = Open {
            namespace: "co2-calculator-prod",
            pod: "backend-1",
            container: "backend",
            previous: false,
            tail: None,
            since: None,
            follow: false,
        };
        let refused = |code: u16, message: &str| {
            let status = kube::core::Status::failure(message, "Forbidden").with_code(code);
            words(&kube::Error::Api(status.boxed()), &o)
        };
        let forbidden = refused(403, "pods \"backend-1\" is forbidden: User \"system:serviceaccount:gantry:gantry\" cannot get resource \"pods/log\"");
        assert!(forbidden.starts_with("Kubernetes refused Gantry the logs of backend-1 in co2-calculator-prod: its service account may not get pods/log there"), "{forbidden}");
        assert!(refused(404, "pods \"backend-1\" not found").contains("no longer exists"));
        assert_eq!(
            refused(400, "container \"backend\" in pod \"backend-1\" is waiting to start: trying and failing to pull image"),
            "Kubernetes cannot give these logs: Container \"backend\" in pod \"backend-1\" is waiting to start: trying and failing to pull image."
        );
    }

    fn reader(bytes: &'static [u8]) -> Lines {
        Box::pin(futures_util::io::Cursor::new(bytes))
    }

    #[tokio::test]
    async fn lines_are_read_one_by_one_and_a_long_one_is_cut() {
        let mut long = vec![b'x'; MOST_LINE + 10];
        long.push(b'\n');
        long.extend_from_slice(b"after\nlast without newline");
        let leaked: &'static [u8] = Box::leak(long.into_boxed_slice());
        let mut lines = reader(leaked);
        let mut line = Vec::new();
        assert_eq!(next_line(&mut lines, &mut line).await.ok(), Some(Some(true)));
        assert_eq!(line.len(), MOST_LINE);
        assert_eq!(next_line(&mut lines, &mut line).await.ok(), Some(Some(false)));
        assert_eq!(line, b"after");
        assert_eq!(next_line(&mut lines, &mut line).await.ok(), Some(Some(false)));
        assert_eq!(line, b"last without newline");
        assert_eq!(next_line(&mut lines, &mut line).await.ok(), Some(None));
    }
}
