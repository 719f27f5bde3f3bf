//! What the environment and workload pages show: on the server, ready-to-display models
//! built from the status and the configuration (`present`), then rendered (`html`); in
//! the browser, only the rendered HTML.

use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
pub use server::*;

#[cfg(feature = "ssr")]
mod server {
    use serde::{Deserialize, Serialize};

    use super::super::table::Table;
    use crate::status::model::Health;

    /// A label and its value, shown as a definition list.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Fact {
        pub label: String,
        pub value: String,
        /// Smaller lines under the value.
        pub notes: Vec<String>,
        pub class: String,
    }

    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct EnvironmentDetail {
        pub name: String,
        pub namespace: String,
        pub health: Health,
        /// The health in plain words and the reason, as sentences.
        pub plain: String,
        /// Since when the view is not refreshed, for people ("2026-11-26 07:58:22 UTC").
        pub stale_since: Option<String>,
        /// What the failing watch said, while stale.
        pub stale_reason: Option<String>,
        pub grafana_url: Option<String>,
        /// The Argo CD Application, when the environment has one.
        pub argo: Option<Vec<Fact>>,
        pub workloads: Table,
        pub pods: Table,
        pub jobs: Table,
        pub events: Table,
        /// Each workload's own page.
        pub workload_pages: Vec<WorkloadDetail>,
        /// The backend's last five minutes and the alerts firing, from Prometheus.
        pub metrics: Option<crate::overview::model::CardFigures>,
        /// The backups' state, a line saying it, and the backup running now, if one is.
        #[serde(default)]
        pub backup: Option<(String, String, Option<String>)>,
    }

    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct WorkloadDetail {
        pub name: String,
        pub health: Health,
        pub plain: String,
        /// Its problems, pods named, with Kubernetes' message.
        pub problems: Vec<String>,
        pub facts: Vec<Fact>,
        pub grafana_url: Option<String>,
        pub pods: Table,
        pub revisions: Table,
        pub events: Table,
        /// Its pods' memory and CPU over the last five minutes, in one line; `None`
        /// when Prometheus reports none of them.
        pub metrics: Option<String>,
    }
}

/// The environment page and its workload pages, rendered to HTML on the server: what
/// the browser receives and swaps in (it holds no code to render them itself).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageHtml {
    pub name: String,
    pub environment: String,
    /// (workload, its page).
    pub workloads: Vec<(String, String)>,
}
