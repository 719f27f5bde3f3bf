//! The words of access control: roles, actions, policies and decisions. Plain data, shared
//! by the configuration, the server's checks and the pages that explain them.

use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// A person's role on one environment. Each role includes the ones before it:
/// viewer ⊂ operator ⊂ approver ⊂ admin.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Sees the environment: status, history, metrics, backups.
    Viewer,
    /// Also requests actions (sync, scale, restart, rollback, backup, restore).
    Operator,
    /// Also approves or rejects what others request.
    Approver,
    /// Everything, including break-glass with a written reason.
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Operator, Role::Approver, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Approver => "approver",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// What the role lets a person do, in a few words (the "me" page).
    pub fn meaning(self) -> &'static str {
        match self {
            Role::Viewer => "can look, not change",
            Role::Operator => "can look and request changes",
            Role::Approver => "can request changes and approve other people's requests",
            Role::Admin => "can do everything, including break-glass",
        }
    }
}

/// Something a person can ask of the panel on one environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    View,
    Sync,
    Scale,
    Restart,
    Rollback,
    ResumeAutoSync,
    Backup,
    Restore,
    /// Silence alerts of the environment in Alertmanager.
    Silence,
    /// Expire one of its silences.
    ExpireSilence,
    /// Read its pods' logs (they can hold personal data: a role of its own).
    ReadLogs,
    Approve,
    BreakGlass,
    ViewAudit,
}

impl Action {
    pub const ALL: [Action; 14] = [
        Action::View,
        Action::Sync,
        Action::Scale,
        Action::Restart,
        Action::Rollback,
        Action::ResumeAutoSync,
        Action::Backup,
        Action::Restore,
        Action::Silence,
        Action::ExpireSilence,
        Action::ReadLogs,
        Action::Approve,
        Action::BreakGlass,
        Action::ViewAudit,
    ];

    /// The changes (to the cluster, or to what alerts reach people): each follows the
    /// environment's policy.
    pub const CHANGES: [Action; 9] = [
        Action::Sync,
        Action::Scale,
        Action::Restart,
        Action::Rollback,
        Action::ResumeAutoSync,
        Action::Backup,
        Action::Restore,
        Action::Silence,
        Action::ExpireSilence,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::View => "view",
            Action::Sync => "sync",
            Action::Scale => "scale",
            Action::Restart => "restart",
            Action::Rollback => "rollback",
            Action::ResumeAutoSync => "resume_auto_sync",
            Action::Backup => "backup",
            Action::Restore => "restore",
            Action::Silence => "silence",
            Action::ExpireSilence => "expire_silence",
            Action::ReadLogs => "read_logs",
            Action::Approve => "approve",
            Action::BreakGlass => "break_glass",
            Action::ViewAudit => "view_audit",
        }
    }

    pub fn parse(text: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == text)
    }

    /// The verb as a person reads it: "sync", "roll back", "resume auto-sync".
    pub fn verb(self) -> &'static str {
        match self {
            Action::View => "see",
            Action::Sync => "sync",
            Action::Scale => "scale",
            Action::Restart => "restart",
            Action::Rollback => "roll back",
            Action::ResumeAutoSync => "resume auto-sync on",
            Action::Backup => "back up",
            Action::Restore => "restore a backup on",
            Action::Silence => "silence alerts on",
            Action::ExpireSilence => "expire a silence on",
            Action::ReadLogs => "read the logs of",
            Action::Approve => "approve requests on",
            Action::BreakGlass => "break glass on",
            Action::ViewAudit => "read the audit log of",
        }
    }

    /// The least role that may ask for it (for reading logs, the environment's policy
    /// may ask for more: [`EnvironmentPolicy::logs`]).
    pub fn needs(self) -> Role {
        match self {
            Action::View => Role::Viewer,
            Action::Sync
            | Action::Scale
            | Action::Restart
            | Action::Rollback
            | Action::ResumeAutoSync
            | Action::Backup
            | Action::Restore
            | Action::Silence
            | Action::ExpireSilence
            | Action::ReadLogs => Role::Operator,
            Action::Approve | Action::ViewAudit => Role::Approver,
            Action::BreakGlass => Role::Admin,
        }
    }
}

/// How one kind of change is allowed on one environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    /// Runs as soon as someone with the role asks.
    Direct,
    /// Runs after `approvals` distinct approvers (never the requester) said yes, unless
    /// the request expires first.
    Approval { approvals: u8, expires_minutes: u32 },
    /// Nobody may do it through the panel.
    Disabled,
}

/// The policy of every change on one environment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvironmentPolicy {
    pub sync: Policy,
    pub scale: Policy,
    pub restart: Policy,
    pub rollback: Policy,
    pub resume_auto_sync: Policy,
    pub backup: Policy,
    pub restore: Policy,
    /// Making and expiring silences of the environment's alerts.
    pub silence: Policy,
    /// Whether an admin may run a change without its approvals, with a written reason.
    pub break_glass: bool,
    /// Who may read the pods' logs: the least role, or nobody (`None`).
    pub logs: Option<Role>,
}

impl EnvironmentPolicy {
    /// The policy of a change (`None` for actions no policy governs, such as viewing).
    pub fn of(&self, action: Action) -> Option<Policy> {
        match action {
            Action::Sync => Some(self.sync),
            Action::Scale => Some(self.scale),
            Action::Restart => Some(self.restart),
            Action::Rollback => Some(self.rollback),
            Action::ResumeAutoSync => Some(self.resume_auto_sync),
            Action::Backup => Some(self.backup),
            Action::Restore => Some(self.restore),
            Action::Silence | Action::ExpireSilence => Some(self.silence),
            Action::View
            | Action::ReadLogs
            | Action::Approve
            | Action::BreakGlass
            | Action::ViewAudit => None,
        }
    }

    /// Everything direct (a development environment).
    pub fn open() -> Self {
        Self {
            sync: Policy::Direct,
            scale: Policy::Direct,
            restart: Policy::Direct,
            rollback: Policy::Direct,
            resume_auto_sync: Policy::Direct,
            backup: Policy::Direct,
            restore: Policy::Direct,
            silence: Policy::Direct,
            break_glass: true,
            logs: Some(Role::Operator),
        }
    }
}

/// Which roles members of one group hold, per environment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRoles {
    /// The group's name as it arrives after the configured suffix is stripped.
    pub group: String,
    /// (environment name, role); the environment `*` means every environment.
    pub roles: Vec<(String, Role)>,
}

/// The answer to "may this person do this here".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Decision {
    Allowed,
    NeedsApproval { approvals: u8 },
    Denied(Denial),
}

/// Why a request is refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Denial {
    /// Nobody is signed in.
    SignInRequired,
    /// The person has no role on the environment.
    NoRole { environment: String },
    /// The person's role is not enough.
    RoleTooLow { environment: String, has: Role, needs: Role },
    /// The configuration forbids this change on the environment.
    Disabled { environment: String },
    /// Break-glass is switched off on the environment.
    BreakGlassOff { environment: String },
    /// No such environment is configured.
    UnknownEnvironment { environment: String },
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        !matches!(self, Decision::Denied(_))
    }
}

impl Denial {
    /// The refusal to answer with: sign in (401) when signing in would help, not found
    /// (404) for an environment that does not exist, forbidden (403) otherwise.
    pub fn refusal(&self, action: Action) -> AppError {
        self.refusal_with(self.reason(action))
    }

    /// As [`Denial::refusal`], with the reason already in words.
    pub fn refusal_with(&self, reason: String) -> AppError {
        match self {
            Denial::SignInRequired => AppError::SignInRequired(reason),
            Denial::UnknownEnvironment { .. } => AppError::NotFound(reason),
            _ => AppError::Forbidden(reason),
        }
    }

    /// The reason in words, for the person refused and for the record.
    pub fn reason(&self, action: Action) -> String {
        let verb = action.verb();
        match self {
            Denial::SignInRequired => "Sign in first.".to_owned(),
            Denial::NoRole { environment } => {
                format!("You have no role on {environment}, so you cannot {verb} it.")
            }
            Denial::RoleTooLow { environment, has, needs } if action == Action::ReadLogs => format!(
                "You are {article} {has} on {environment}; logs can hold personal data, so reading them there needs the {needs} role or above.",
                article = article(*has),
                has = has.as_str(),
                needs = needs.as_str(),
            ),
            Denial::RoleTooLow { environment, has, needs } => format!(
                "You are {article} {has} on {environment}; to {verb} it you need to be {needs_article} {needs}.",
                article = article(*has),
                has = has.as_str(),
                needs_article = article(*needs),
                needs = needs.as_str(),
            ),
            Denial::Disabled { environment } => {
                format!("The configuration does not allow anyone to {verb} {environment} from the panel.")
            }
            Denial::BreakGlassOff { environment } => {
                format!("Break-glass is switched off on {environment}.")
            }
            Denial::UnknownEnvironment { environment } => {
                format!("There is no environment named “{environment}”.")
            }
        }
    }
}

fn article(role: Role) -> &'static str {
    match role {
        Role::Operator | Role::Approver | Role::Admin => "an",
        Role::Viewer => "a",
    }
}
