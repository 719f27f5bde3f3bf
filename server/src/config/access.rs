//! `[[access.groups]]` (which group holds which role where) and each environment's
//! `[environments.policy]` (how each change is allowed there).

use std::collections::BTreeMap;

use gantry_app::access::{EnvironmentPolicy, GroupRoles, Policy, Role};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAccess {
    pub groups: Option<Vec<RawGroupRoles>>,
    pub values_visible_to: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGroupRoles {
    pub group: String,
    /// Environment name (or `*`) → role name.
    pub roles: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    pub sync: Option<toml::Value>,
    pub scale: Option<toml::Value>,
    pub restart: Option<toml::Value>,
    pub rollback: Option<toml::Value>,
    pub resume_auto_sync: Option<toml::Value>,
    pub backup: Option<toml::Value>,
    pub restore: Option<toml::Value>,
    pub silence: Option<toml::Value>,
    pub break_glass: Option<bool>,
    /// The least role that reads logs, or "disabled".
    pub logs: Option<String>,
}

/// A problem: the key's path below the section and what is wrong.
pub type Problem = (String, String);

/// How long an approval request waits for its approvers by default: a working day.
const DEFAULT_EXPIRY_MINUTES: u32 = 24 * 60;

pub fn validate_groups(
    list: Vec<RawGroupRoles>,
    environments: &[&str],
) -> Result<Vec<GroupRoles>, Problem> {
    let mut out: Vec<GroupRoles> = Vec::with_capacity(list.len());
    for (i, entry) in list.into_iter().enumerate() {
        let at = |key: &str| format!("[{i}].{key}");
        let group = entry.group.trim().to_owned();
        if group.is_empty() {
            return Err((at("group"), "is empty".to_owned()));
        }
        if out.iter().any(|o| o.group == group) {
            return Err((
                at("group"),
                format!("{group:?} is listed twice; give it one entry with all its roles"),
            ));
        }
        if entry.roles.is_empty() {
            return Err((
                at("roles"),
                "gives no role; write e.g. roles = { \"*\" = \"viewer\" }".to_owned(),
            ));
        }
        let mut roles = Vec::with_capacity(entry.roles.len());
        for (environment, role_name) in entry.roles {
            if environment != "*" && !environments.contains(&environment.as_str()) {
                return Err((
                    at(&format!("roles.{environment}")),
                    format!(
                        "there is no environment {environment:?}; known: {}, or \"*\" for all",
                        environments.join(", ")
                    ),
                ));
            }
            let role = Role::parse(&role_name).ok_or_else(|| {
                (
                    at(&format!("roles.{environment}")),
                    format!("{role_name:?} is not one of \"viewer\", \"operator\", \"approver\", \"admin\""),
                )
            })?;
            roles.push((environment, role));
        }
        // In the environments' configured order, as people read them.
        roles.sort_by_key(|(env, _)| {
            environments.iter().position(|e| e == env).map_or(0, |i| i + 1)
        });
        out.push(GroupRoles { group, roles });
    }
    Ok(out)
}

/// The built-in mapping: the CO2 calculator's groups (EPFL group names, suffix stripped).
pub fn default_groups() -> Vec<GroupRoles> {
    let all = |group: &str, role: Role| GroupRoles {
        group: group.to_owned(),
        roles: vec![("*".to_owned(), role)],
    };
    vec![
        all("co2-calculator-admins", Role::Admin),
        all("co2-calculator-approvers", Role::Approver),
        all("co2-calculator-operators", Role::Operator),
        GroupRoles {
            group: "co2-calculator-developers".to_owned(),
            roles: vec![
                ("dev".to_owned(), Role::Operator),
                ("staging".to_owned(), Role::Viewer),
                ("prod".to_owned(), Role::Viewer),
            ],
        },
        all("co2-calculator-stakeholders", Role::Viewer),
    ]
}

/// Every change needs one approval, restoring a backup two: what an environment gets
/// when its configuration names no policy (the careful choice, not the convenient one).
pub fn guarded() -> EnvironmentPolicy {
    let one = Policy::Approval { approvals: 1, expires_minutes: DEFAULT_EXPIRY_MINUTES };
    EnvironmentPolicy {
        sync: one,
        scale: one,
        restart: one,
        rollback: one,
        resume_auto_sync: one,
        backup: one,
        restore: Policy::Approval { approvals: 2, expires_minutes: DEFAULT_EXPIRY_MINUTES },
        silence: one,
        break_glass: true,
        logs: Some(Role::Operator),
    }
}

/// The built-in policies of the default environments: dev direct; staging scales,
/// restarts and backs up directly, the rest after one approval; prod as [`guarded`].
pub fn default_policy(environment: &str) -> EnvironmentPolicy {
    let one = Policy::Approval { approvals: 1, expires_minutes: DEFAULT_EXPIRY_MINUTES };
    match environment {
        "dev" => EnvironmentPolicy::open(),
        "staging" => EnvironmentPolicy {
            sync: one,
            scale: Policy::Direct,
            restart: Policy::Direct,
            rollback: one,
            resume_auto_sync: one,
            backup: Policy::Direct,
            restore: one,
            silence: Policy::Direct,
            break_glass: true,
            logs: Some(Role::Operator),
        },
        _ => guarded(),
    }
}

pub fn validate_policy(raw: Option<RawPolicy>) -> Result<EnvironmentPolicy, Problem> {
    let Some(raw) = raw else {
        return Ok(guarded());
    };
    let base = guarded();
    let rule = |key: &str, value: Option<toml::Value>, default: Policy| match value {
        None => Ok(default),
        Some(value) => parse_rule(&value).map_err(|p| (format!("policy.{key}"), p)),
    };
    Ok(EnvironmentPolicy {
        sync: rule("sync", raw.sync, base.sync)?,
        scale: rule("scale", raw.scale, base.scale)?,
        restart: rule("restart", raw.restart, base.restart)?,
        rollback: rule("rollback", raw.rollback, base.rollback)?,
        resume_auto_sync: rule("resume_auto_sync", raw.resume_auto_sync, base.resume_auto_sync)?,
        backup: rule("backup", raw.backup, base.backup)?,
        restore: rule("restore", raw.restore, base.restore)?,
        silence: rule("silence", raw.silence, base.silence)?,
        break_glass: raw.break_glass.unwrap_or(true),
        logs: match raw.logs.as_deref() {
            None => base.logs,
            Some("disabled") => None,
            Some(word) => Some(Role::parse(word).ok_or_else(|| {
                (
                    "policy.logs".to_owned(),
                    format!("{word:?} is not one of \"viewer\", \"operator\", \"approver\", \"admin\", \"disabled\""),
                )
            })?),
        },
    })
}

/// `"direct"`, `"disabled"`, or `{ approvals = N, expires_minutes = M }`.
fn parse_rule(value: &toml::Value) -> Result<Policy, String> {
    const SHAPES: &str =
        "write \"direct\", \"disabled\", or { approvals = 1, expires_minutes = 1440 }";
    match value {
        toml::Value::String(word) => match word.as_str() {
            "direct" => Ok(Policy::Direct),
            "disabled" => Ok(Policy::Disabled),
            "approval" => {
                Ok(Policy::Approval { approvals: 1, expires_minutes: DEFAULT_EXPIRY_MINUTES })
            }
            other => Err(format!("{other:?} is not a policy; {SHAPES}")),
        },
        toml::Value::Table(table) => {
            if let Some(unknown) =
                table.keys().find(|k| *k != "approvals" && *k != "expires_minutes")
            {
                return Err(format!("unknown key {unknown:?}; {SHAPES}"));
            }
            let approvals = match table.get("approvals") {
                Some(toml::Value::Integer(n)) if (1..=5).contains(n) => {
                    u8::try_from(*n).map_err(|e| e.to_string())?
                }
                Some(other) => {
                    return Err(format!("approvals = {other} is out of range; use 1 to 5"))
                }
                None => return Err(format!("approvals is missing; {SHAPES}")),
            };
            let expires_minutes = match table.get("expires_minutes") {
                Some(toml::Value::Integer(n)) if (5..=43_200).contains(n) => {
                    u32::try_from(*n).map_err(|e| e.to_string())?
                }
                Some(other) => {
                    return Err(format!(
                        "expires_minutes = {other} is out of range; use 5 to 43200 (30 days)"
                    ))
                }
                None => DEFAULT_EXPIRY_MINUTES,
            };
            Ok(Policy::Approval { approvals, expires_minutes })
        }
        other => Err(format!("{other} is not a policy; {SHAPES}")),
    }
}
