//! The one access check: principal × environment × action → allowed, needs approval, or
//! denied with the reason. Every server function and API route asks it; pages only use
//! its answers to hide what cannot be done.

use super::model::{Action, Decision, Denial, Policy};
use super::principal::Principal;
use crate::config::EnvironmentConfig;

pub fn check(
    principal: Option<&Principal>,
    environment: &EnvironmentConfig,
    action: Action,
) -> Decision {
    let Some(principal) = principal else {
        return Decision::Denied(Denial::SignInRequired);
    };
    let env = environment.name.clone();
    let Some(role) = principal.role_on(&environment.name) else {
        return Decision::Denied(Denial::NoRole { environment: env });
    };
    let needs = match (action, environment.policy.logs) {
        (Action::ReadLogs, Some(least)) => least,
        (Action::ReadLogs, None) => return Decision::Denied(Denial::Disabled { environment: env }),
        _ => action.needs(),
    };
    if role < needs {
        return Decision::Denied(Denial::RoleTooLow { environment: env, has: role, needs });
    }
    if action == Action::BreakGlass && !environment.policy.break_glass {
        return Decision::Denied(Denial::BreakGlassOff { environment: env });
    }
    match environment.policy.of(action) {
        None | Some(Policy::Direct) => Decision::Allowed,
        Some(Policy::Approval { approvals, .. }) => Decision::NeedsApproval { approvals },
        Some(Policy::Disabled) => Decision::Denied(Denial::Disabled { environment: env }),
    }
}

/// [`check`] for an environment given by name, which may not exist.
pub fn check_named(
    principal: Option<&Principal>,
    environments: &[EnvironmentConfig],
    name: &str,
    action: Action,
) -> Decision {
    if principal.is_none() {
        return Decision::Denied(Denial::SignInRequired);
    }
    match environments.iter().find(|e| e.name == name) {
        Some(environment) => check(principal, environment, action),
        None => Decision::Denied(Denial::UnknownEnvironment { environment: name.to_owned() }),
    }
}

#[cfg(test)]
mod tests;
