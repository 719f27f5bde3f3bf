//! Failures as the apiserver reports them: a `Status` object with a reason and a code.

use serde_json::{json, Value};

use crate::resources::RESOURCES;

/// One invalid field, as in `details.causes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    pub field: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("{} \"{name}\" not found", RESOURCES[*resource].qualified())]
    NotFound { resource: usize, name: String },
    #[error("the server could not find the requested resource")]
    NoSuchPath,
    #[error("{} \"{name}\" already exists", RESOURCES[*resource].qualified())]
    AlreadyExists { resource: usize, name: String },
    #[error("Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again", RESOURCES[*resource].qualified())]
    Conflict { resource: usize, name: String },
    #[error("{kind} \"{name}\" is invalid: {}", causes.iter().map(|c| format!("{}: {}", c.field, c.message)).collect::<Vec<_>>().join(", "))]
    Invalid { kind: String, group: String, name: String, causes: Vec<Cause> },
    #[error(
        "the body of the request was in an unknown format - accepted media types include: {0}"
    )]
    UnsupportedMediaType(String),
    #[error("{0}")]
    BadRequest(String),
    /// A JSON patch operation that does not apply (a failed `test`, a missing path): the
    /// real apiserver answers 422 without naming the operation.
    #[error("the server rejected our request due to an error in our request")]
    PatchNotApplied,
    #[error("too old resource version: {requested} ({oldest})")]
    Gone { requested: u64, oldest: u64 },
    #[error("the server does not allow this method on the requested resource")]
    MethodNotAllowed,
    #[error("{0}")]
    Unavailable(String),
}

impl ApiError {
    pub fn code(&self) -> u16 {
        match self {
            ApiError::NotFound { .. } | ApiError::NoSuchPath => 404,
            ApiError::AlreadyExists { .. } | ApiError::Conflict { .. } => 409,
            ApiError::Invalid { .. } | ApiError::PatchNotApplied => 422,
            ApiError::UnsupportedMediaType(_) => 415,
            ApiError::BadRequest(_) => 400,
            ApiError::Gone { .. } => 410,
            ApiError::MethodNotAllowed => 405,
            ApiError::Unavailable(_) => 503,
        }
    }

    fn reason(&self) -> &'static str {
        match self {
            ApiError::NotFound { .. } | ApiError::NoSuchPath => "NotFound",
            ApiError::AlreadyExists { .. } => "AlreadyExists",
            ApiError::Conflict { .. } => "Conflict",
            ApiError::Invalid { .. } | ApiError::PatchNotApplied => "Invalid",
            ApiError::UnsupportedMediaType(_) => "UnsupportedMediaType",
            ApiError::BadRequest(_) => "BadRequest",
            ApiError::Gone { .. } => "Expired",
            ApiError::MethodNotAllowed => "MethodNotAllowed",
            ApiError::Unavailable(_) => "ServiceUnavailable",
        }
    }

    /// The `Status` body the apiserver sends.
    pub fn status(&self) -> Value {
        let details = match self {
            ApiError::NotFound { resource, name }
            | ApiError::AlreadyExists { resource, name }
            | ApiError::Conflict { resource, name } => {
                let r = &RESOURCES[*resource];
                let mut d = json!({ "name": name, "kind": r.plural });
                if !r.group.is_empty() {
                    d["group"] = json!(r.group);
                }
                Some(d)
            }
            ApiError::Invalid { kind, group, name, causes } => Some(json!({
                "name": name,
                "group": group,
                "kind": kind,
                "causes": causes.iter().map(|c| json!({
                    "reason": "FieldValueInvalid",
                    "message": c.message,
                    "field": c.field,
                })).collect::<Vec<_>>(),
            })),
            ApiError::NoSuchPath | ApiError::PatchNotApplied => Some(json!({})),
            _ => None,
        };
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.to_string(),
            "reason": self.reason(),
            "code": self.code(),
        });
        if let Some(details) = details {
            status["details"] = details;
        }
        status
    }
}

/// Shorthand for a single-field 422.
pub fn invalid(kind: &str, group: &str, name: &str, field: &str, message: String) -> ApiError {
    ApiError::Invalid {
        kind: if group.is_empty() { kind.to_owned() } else { format!("{kind}.{group}") },
        group: group.to_owned(),
        name: name.to_owned(),
        causes: vec![Cause { field: field.to_owned(), message }],
    }
}

#[cfg(test)]
mod tests {
    use super::ApiError;
    use crate::resources::ids;

    #[test]
    fn not_found_matches_the_recorded_body() {
        let e = ApiError::NotFound { resource: ids::DEPLOYMENT, name: "nope".into() };
        assert_eq!(
            e.status().to_string(),
            r#"{"apiVersion":"v1","code":404,"details":{"group":"apps","kind":"deployments","name":"nope"},"kind":"Status","message":"deployments.apps \"nope\" not found","metadata":{},"reason":"NotFound","status":"Failure"}"#
        );
    }

    #[test]
    fn conflict_says_the_object_has_been_modified() {
        let e = ApiError::Conflict { resource: ids::DEPLOYMENT, name: "backend".into() };
        assert_eq!(e.code(), 409);
        assert_eq!(e.status()["reason"], "Conflict");
        assert!(e
            .to_string()
            .starts_with("Operation cannot be fulfilled on deployments.apps \"backend\""));
    }
}
