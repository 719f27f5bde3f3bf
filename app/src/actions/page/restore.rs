//! The restore page's inputs: which kept backup, and the new database it goes into.

use leptos::prelude::*;

use super::ActionPage;

fn clock(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%a %d %b %H:%M UTC").to_string())
        .unwrap_or_default()
}

pub fn restore_parameters(page: &ActionPage<'_>) -> AnyView {
    let action_url = format!("/environments/{}/actions/restore", page.env.name);
    if page.restorable.is_empty() {
        return view! {
            <p class="stale banner" role="alert" id="nothing-to-restore">
                {format!("{} has no good backup that retention still keeps: there is nothing to restore.", page.env.name)}
            </p>
        }
        .into_any();
    }
    let now = chrono::Utc::now().timestamp_millis();
    let options = page
        .restorable
        .iter()
        .map(|r| {
            let selected = page.asked.file.as_deref() == Some(r.file.as_str());
            let hours = (now - r.finished_ms).max(0) / 3_600_000;
            let words = format!("{} — {} ({hours} hours ago)", r.file, clock(r.finished_ms));
            view! { <option value=r.file.clone() selected=selected>{words}</option> }
        })
        .collect_view();
    let copy = page.asked.copy.clone().unwrap_or_default();
    let example: String = page
        .env
        .name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' })
        .collect();
    let example = format!("{example}_restore_{}", chrono::Utc::now().format("%Y%m%d"));
    view! {
        <form class="panel parameters" method="get" action=action_url id="parameters">
            <label>"Backup " <select name="file" id="file">{options}</select></label>
            <label>"Into a new database (empty: over the live database) "
                <input type="text" name="copy" id="copy" maxlength="63" pattern="[a-z][a-z0-9_]*" value=copy placeholder=example/>
            </label>
            <p class="muted small">"A copy is made beside the live database on the same server and changes nothing live. Over the live database, the writers are stopped, a safety backup is taken first, and Argo CD's auto-sync is paused until the end."</p>
            <button type="submit">"Preview"</button>
        </form>
    }
    .into_any()
}
