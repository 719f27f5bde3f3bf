//! Reading an Argo CD Application (kept as JSON: its type is not in k8s-openapi): whether
//! it auto-syncs, whether an operation runs, and its revisions as people read them.

use serde_json::Value;

/// A commit id shortened as Git shows it; anything else (a tag, a branch) as it is.
pub(super) fn short(revision: &str) -> String {
    if revision.len() == 40 && revision.chars().all(|c| c.is_ascii_hexdigit()) {
        revision[..7].to_owned()
    } else {
        revision.to_owned()
    }
}

/// The string at `pointer` in an object read as JSON; empty when absent.
pub(super) fn text(value: &Value, pointer: &str) -> String {
    value.pointer(pointer).and_then(Value::as_str).unwrap_or_default().to_owned()
}

pub fn auto_sync(app: &Value) -> bool {
    app["spec"]["syncPolicy"]["automated"].is_object()
}

/// Whether Argo CD is running (or about to run) an operation on the application.
pub fn operation_running(app: &Value) -> Option<String> {
    if app.get("operation").is_some_and(|o| !o.is_null()) {
        return Some("an operation has been requested and not started yet".into());
    }
    let state = &app["status"]["operationState"];
    (state["phase"] == "Running")
        .then(|| format!("an operation started at {} is still running", text(state, "/startedAt")))
}
