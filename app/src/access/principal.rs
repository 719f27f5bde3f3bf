//! The signed-in person as every check sees them: who, from which groups, and the role
//! those groups give on each environment.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::model::{GroupRoles, Role};

/// How the person signed in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignInMethod {
    /// Through the configured OpenID provider.
    OpenId { issuer: String },
    /// By picking a demo person (demo mode, loopback only).
    Demo,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The stable identifier (EPFL: the SCIPER number from `uniqueid`).
    pub user_id: String,
    pub name: String,
    pub email: Option<String>,
    /// Group names as configured (suffix stripped), sorted.
    pub groups: Vec<String>,
    /// Environment name → the highest role any of the groups gives there.
    pub roles: BTreeMap<String, Role>,
    pub method: SignInMethod,
    /// The sidebar's account box, rendered on first use: a principal is kept for a few
    /// seconds by the server's session memory and shown on every page meanwhile.
    pub account_html: std::sync::OnceLock<String>,
}

impl Principal {
    pub fn role_on(&self, environment: &str) -> Option<Role> {
        self.roles.get(environment).copied()
    }

    /// Whether the person may see at least one environment.
    pub fn has_any_role(&self) -> bool {
        !self.roles.is_empty()
    }
}

/// The role each environment gets from `groups`: for each environment, the highest role
/// any matching mapping gives (`*` in a mapping stands for every environment).
pub fn roles_for(
    groups: &[String],
    mapping: &[GroupRoles],
    environments: &[&str],
) -> BTreeMap<String, Role> {
    let mut roles: BTreeMap<String, Role> = BTreeMap::new();
    for entry in mapping.iter().filter(|m| groups.contains(&m.group)) {
        for (target, role) in &entry.roles {
            for env in environments.iter().filter(|e| target == "*" || *e == target) {
                let held = roles.entry((*env).to_owned()).or_insert(*role);
                *held = (*held).max(*role);
            }
        }
    }
    roles
}

/// Group names as the provider sends them, made comparable with the configuration:
/// `suffix` removed where present (EPFL adds `_AppGrpU`), blanks dropped, sorted, unique.
pub fn normalize_groups(
    raw: impl IntoIterator<Item = String>,
    suffix: Option<&str>,
) -> Vec<String> {
    let mut groups: Vec<String> = raw
        .into_iter()
        .map(|g| {
            let g = g.trim();
            suffix.and_then(|s| g.strip_suffix(s)).unwrap_or(g).to_owned()
        })
        .filter(|g| !g.is_empty())
        .collect();
    groups.sort();
    groups.dedup();
    groups
}
