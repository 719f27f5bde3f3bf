//! Who someone is, as kept in their session, and how an ID token's claims become that.

use std::collections::HashMap;

use gantry_app::access::principal::{normalize_groups, SignInMethod};
use serde::{Deserialize, Serialize};

use crate::config::ClaimMapping;

/// The session key under which a signed-in person is kept.
pub const SIGNED_IN: &str = "signed_in";

/// A signed-in person, as stored in their session (PostgreSQL, shared by replicas).
/// Roles are not stored: they are worked out from the groups on every request, so a
/// change of the mapping applies at the next restart without signing anyone out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedIn {
    pub user_id: String,
    pub name: String,
    pub email: Option<String>,
    pub groups: Vec<String>,
    pub method: SignInMethod,
    /// Unix seconds.
    pub signed_in_at: i64,
    pub last_seen: i64,
    /// Sent back to the provider at sign-out (`id_token_hint`), so it knows whom to sign out.
    pub id_token: Option<String>,
}

/// What the claims lacked.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClaimsError {
    #[error("the ID token has no {0:?} claim, which the configuration names as the user id (auth.user_id_claim)")]
    NoUserId(String),
    #[error("the ID token's {claim:?} claim is not a list of group names (auth.groups_claim)")]
    GroupsNotAList { claim: String },
}

/// Reads the configured claims out of an ID token's claims (as JSON). Strings and numbers
/// are both accepted as ids (providers differ); groups may be absent (no groups).
pub fn from_claims(
    claims: &HashMap<String, serde_json::Value>,
    mapping: &ClaimMapping,
) -> Result<(String, String, Option<String>, Vec<String>), ClaimsError> {
    let text = |name: &str| match claims.get(name) {
        Some(serde_json::Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let user_id =
        text(&mapping.user_id).ok_or_else(|| ClaimsError::NoUserId(mapping.user_id.clone()))?;
    let email = text(&mapping.email);
    let name = text(&mapping.name)
        .or_else(|| text("preferred_username"))
        .or_else(|| email.clone())
        .unwrap_or_else(|| user_id.clone());
    let groups = match claims.get(&mapping.groups) {
        None | Some(serde_json::Value::Null) => Vec::new(),
        Some(serde_json::Value::Array(items)) => {
            let names = items.iter().map(|i| match i {
                serde_json::Value::String(s) => Some(s.clone()),
                _ => None,
            });
            let names: Option<Vec<String>> = names.collect();
            names.ok_or_else(|| ClaimsError::GroupsNotAList { claim: mapping.groups.clone() })?
        }
        // One group may arrive as a plain string.
        Some(serde_json::Value::String(one)) => vec![one.clone()],
        Some(_) => return Err(ClaimsError::GroupsNotAList { claim: mapping.groups.clone() }),
    };
    let groups = normalize_groups(groups, mapping.group_suffix.as_deref());
    Ok((user_id, name, email, groups))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(user_id: &str) -> ClaimMapping {
        ClaimMapping {
            user_id: user_id.to_owned(),
            name: "name".to_owned(),
            email: "email".to_owned(),
            groups: "groups".to_owned(),
            group_suffix: Some("_AppGrpU".to_owned()),
        }
    }

    fn claims(json: serde_json::Value) -> HashMap<String, serde_json::Value> {
        serde_json::from_value(json).expect("a JSON object")
    }

    #[test]
    fn epfl_claims_give_the_sciper_as_id_and_groups_without_their_suffix() {
        let c = claims(serde_json::json!({
            "sub": "opaque-subject", "uniqueid": "100001", "name": "Alice Admin",
            "email": "alice@example.org", "groups": ["co2-calculator-admins_AppGrpU", "other_AppGrpU"]
        }));
        let (id, name, email, groups) = from_claims(&c, &mapping("uniqueid")).expect("EPFL claims");
        assert_eq!(id, "100001");
        assert_eq!(name, "Alice Admin");
        assert_eq!(email.as_deref(), Some("alice@example.org"));
        assert_eq!(groups, ["co2-calculator-admins", "other"]);
    }

    #[test]
    fn the_subject_is_the_default_id_and_numbers_are_accepted() {
        let c = claims(serde_json::json!({ "sub": "abc", "uniqueid": 123456 }));
        assert_eq!(from_claims(&c, &mapping("sub")).expect("has sub").0, "abc");
        assert_eq!(from_claims(&c, &mapping("uniqueid")).expect("has uniqueid").0, "123456");
        // No name: the id stands in; no groups claim: no groups.
        let (_, name, _, groups) = from_claims(&c, &mapping("sub")).expect("has sub");
        assert_eq!(name, "abc");
        assert!(groups.is_empty());
    }

    #[test]
    fn a_missing_id_or_malformed_groups_are_refused_naming_the_claim() {
        let c = claims(serde_json::json!({ "sub": "abc" }));
        let error = from_claims(&c, &mapping("uniqueid")).unwrap_err();
        assert_eq!(error, ClaimsError::NoUserId("uniqueid".to_owned()));
        assert!(error.to_string().contains("auth.user_id_claim"));
        let c = claims(serde_json::json!({ "sub": "abc", "groups": [1, 2] }));
        assert!(matches!(
            from_claims(&c, &mapping("sub")),
            Err(ClaimsError::GroupsNotAList { .. })
        ));
    }
}
