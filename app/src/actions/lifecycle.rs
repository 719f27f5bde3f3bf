//! The life of an action request as plain rules (the design's "Action lifecycle"): who may
//! move a request from which state to which. The database layer applies each step with a
//! conditional UPDATE that repeats these conditions, so concurrent steps cannot both win;
//! these functions say what each step means and why one is refused.
//!
//! ```text
//! (direct)   approved → executing → succeeded | failed
//! (approval) pending ─N distinct approvers, not the requester→ approved → executing → …
//! pending → rejected (one rejection) | expired | cancelled (by the requester) | superseded
//! ```

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Pending,
    Approved,
    Executing,
    Succeeded,
    Failed,
    Rejected,
    Expired,
    Cancelled,
    Superseded,
}

impl State {
    /// Nothing happens to a request in these states any more.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            State::Succeeded
                | State::Failed
                | State::Rejected
                | State::Expired
                | State::Cancelled
                | State::Superseded
        )
    }

    pub const ALL: [State; 9] = [
        State::Pending,
        State::Approved,
        State::Executing,
        State::Succeeded,
        State::Failed,
        State::Rejected,
        State::Expired,
        State::Cancelled,
        State::Superseded,
    ];

    pub fn parse(text: &str) -> Option<State> {
        State::ALL.into_iter().find(|s| s.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Approved => "approved",
            State::Executing => "executing",
            State::Succeeded => "succeeded",
            State::Failed => "failed",
            State::Rejected => "rejected",
            State::Expired => "expired",
            State::Cancelled => "cancelled",
            State::Superseded => "superseded",
        }
    }
}

/// What the rules need to know of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub requester: String,
    pub approvals_needed: u8,
    /// Distinct user ids of those who approved, in order.
    pub approvers: Vec<String>,
    pub state: State,
    /// Unix seconds; a pending request past it can only expire.
    pub expires_at: Option<i64>,
}

impl Request {
    /// A new request: approved at once when its policy needs no approval.
    pub fn new(requester: &str, approvals_needed: u8, expires_at: Option<i64>) -> Self {
        Self {
            requester: requester.to_owned(),
            approvals_needed,
            approvers: Vec::new(),
            state: if approvals_needed == 0 { State::Approved } else { State::Pending },
            expires_at,
        }
    }
}

/// Something that happens to a request. `approver` says whether the person holds the
/// approver role on the request's environment (the access check's answer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Approve {
        by: String,
        approver: bool,
    },
    Reject {
        by: String,
        approver: bool,
    },
    Cancel {
        by: String,
    },
    Expire,
    /// The target changed since the request was made: it no longer means what was asked.
    Supersede,
    /// An executor takes the approved request (exactly one can).
    Claim,
    /// Execution ended: `Succeeded`, `Failed`, or `Superseded` when the re-check just
    /// before writing found the target changed.
    Finish {
        outcome: State,
    },
}

/// Why a step does not apply.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("the request is already {}", .0.as_str())]
    Over(State),
    #[error("the request has expired")]
    Expired,
    #[error("nobody may approve or reject their own request")]
    OwnRequest,
    #[error("only someone with the approver role on this environment may decide")]
    NotAnApprover,
    #[error("you have already approved this request")]
    AlreadyApproved,
    #[error("only the person who asked may cancel the request")]
    NotTheRequester,
    #[error("the request is {}, not {}", .is.as_str(), .needs.as_str())]
    WrongState { is: State, needs: State },
    #[error("the request has not expired yet")]
    NotExpired,
}

/// The request after `step` at `now` (Unix seconds), or why the step is refused.
pub fn apply(request: &Request, step: &Step, now: i64) -> Result<Request, Refused> {
    if request.state.is_final() {
        return Err(Refused::Over(request.state));
    }
    let expired = request.state == State::Pending && request.expires_at.is_some_and(|at| now >= at);
    let mut next = request.clone();
    let needs = |state: State| {
        if request.state == state {
            Ok(())
        } else {
            Err(Refused::WrongState { is: request.state, needs: state })
        }
    };
    match step {
        Step::Expire => {
            if !expired {
                return Err(Refused::NotExpired);
            }
            next.state = State::Expired;
        }
        _ if expired => return Err(Refused::Expired),
        Step::Approve { by, approver } => {
            needs(State::Pending)?;
            decider(request, by, *approver)?;
            if request.approvers.iter().any(|a| a == by) {
                return Err(Refused::AlreadyApproved);
            }
            next.approvers.push(by.clone());
            if next.approvers.len() >= usize::from(request.approvals_needed) {
                next.state = State::Approved;
            }
        }
        Step::Reject { by, approver } => {
            needs(State::Pending)?;
            decider(request, by, *approver)?;
            next.state = State::Rejected;
        }
        Step::Cancel { by } => {
            if *by != request.requester {
                return Err(Refused::NotTheRequester);
            }
            if !matches!(request.state, State::Pending | State::Approved) {
                return Err(Refused::WrongState { is: request.state, needs: State::Pending });
            }
            next.state = State::Cancelled;
        }
        Step::Supersede => {
            if !matches!(request.state, State::Pending | State::Approved) {
                return Err(Refused::WrongState { is: request.state, needs: State::Pending });
            }
            next.state = State::Superseded;
        }
        Step::Claim => {
            needs(State::Approved)?;
            next.state = State::Executing;
        }
        Step::Finish { outcome } => {
            needs(State::Executing)?;
            if !matches!(outcome, State::Succeeded | State::Failed | State::Superseded) {
                return Err(Refused::WrongState { is: *outcome, needs: State::Succeeded });
            }
            next.state = *outcome;
        }
    }
    Ok(next)
}

fn decider(request: &Request, by: &str, approver: bool) -> Result<(), Refused> {
    if by == request.requester {
        return Err(Refused::OwnRequest);
    }
    if !approver {
        return Err(Refused::NotAnApprover);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn approve(by: &str) -> Step {
        Step::Approve { by: by.to_owned(), approver: true }
    }

    /// Applies each step, failing the test with the step and reason when one is refused.
    fn run(request: Request, steps: &[Step]) -> Request {
        steps.iter().fold(request, |r, step| ok(&r, step))
    }

    fn ok(request: &Request, step: &Step) -> Request {
        apply(request, step, NOW).unwrap_or_else(|refused| panic!("{step:?} refused: {refused}"))
    }

    #[test]
    fn a_direct_request_is_approved_at_once_and_runs_once() {
        let request = Request::new("oscar", 0, None);
        assert_eq!(request.state, State::Approved);
        let done = run(request.clone(), &[Step::Claim, Step::Finish { outcome: State::Succeeded }]);
        assert_eq!(done.state, State::Succeeded);
        // A second executor cannot claim what the first one took.
        let executing = run(request, &[Step::Claim]);
        assert_eq!(
            apply(&executing, &Step::Claim, NOW),
            Err(Refused::WrongState { is: State::Executing, needs: State::Approved })
        );
        assert_eq!(apply(&done, &Step::Claim, NOW), Err(Refused::Over(State::Succeeded)));
    }

    #[test]
    fn it_takes_n_distinct_approvers_who_are_not_the_requester() {
        let request = Request::new("oscar", 2, Some(NOW + 3600));
        assert_eq!(apply(&request, &approve("oscar"), NOW), Err(Refused::OwnRequest));
        let once = run(request.clone(), &[approve("bob")]);
        assert_eq!(once.state, State::Pending);
        assert_eq!(apply(&once, &approve("bob"), NOW), Err(Refused::AlreadyApproved));
        let twice = run(once, &[approve("alice")]);
        assert_eq!(
            (twice.state, twice.approvers.clone()),
            (State::Approved, vec!["bob".to_owned(), "alice".to_owned()])
        );
        let not_approver = Step::Approve { by: "carol".to_owned(), approver: false };
        assert_eq!(apply(&request, &not_approver, NOW), Err(Refused::NotAnApprover));
        // Deciding is over once approved.
        assert!(matches!(apply(&twice, &approve("dana"), NOW), Err(Refused::WrongState { .. })));
    }

    #[test]
    fn one_rejection_ends_it_but_not_the_requesters_own() {
        let request = Request::new("oscar", 2, None);
        let own = Step::Reject { by: "oscar".to_owned(), approver: true };
        assert_eq!(apply(&request, &own, NOW), Err(Refused::OwnRequest));
        let approved_once = run(request, &[approve("bob")]);
        let rejected =
            run(approved_once, &[Step::Reject { by: "alice".to_owned(), approver: true }]);
        assert_eq!(rejected.state, State::Rejected);
        assert_eq!(apply(&rejected, &approve("dana"), NOW), Err(Refused::Over(State::Rejected)));
        assert_eq!(apply(&rejected, &Step::Claim, NOW), Err(Refused::Over(State::Rejected)));
    }

    #[test]
    fn a_pending_request_past_its_time_can_only_expire_and_never_runs() {
        let request = Request::new("oscar", 1, Some(NOW));
        assert_eq!(apply(&request, &approve("bob"), NOW), Err(Refused::Expired));
        assert_eq!(apply(&request, &Step::Claim, NOW), Err(Refused::Expired));
        let expired = ok(&request, &Step::Expire);
        assert_eq!(expired.state, State::Expired);
        assert_eq!(apply(&expired, &Step::Claim, NOW), Err(Refused::Over(State::Expired)));
        let early = Request::new("oscar", 1, Some(NOW + 1));
        assert_eq!(apply(&early, &Step::Expire, NOW), Err(Refused::NotExpired));
    }

    #[test]
    fn only_the_requester_cancels_and_a_changed_target_supersedes() {
        let request = Request::new("oscar", 1, None);
        let by_other = Step::Cancel { by: "bob".to_owned() };
        assert_eq!(apply(&request, &by_other, NOW), Err(Refused::NotTheRequester));
        let cancelled = ok(&request, &Step::Cancel { by: "oscar".to_owned() });
        assert_eq!(cancelled.state, State::Cancelled);
        let approved = run(request, &[approve("bob")]);
        let superseded = ok(&approved, &Step::Supersede);
        assert_eq!(superseded.state, State::Superseded);
        assert_eq!(apply(&superseded, &Step::Claim, NOW), Err(Refused::Over(State::Superseded)));
        let executing = run(approved, &[Step::Claim]);
        // Once claimed, only the executor's own re-check can find the target changed.
        assert!(matches!(
            apply(&executing, &Step::Supersede, NOW),
            Err(Refused::WrongState { .. })
        ));
        let found_changed = ok(&executing, &Step::Finish { outcome: State::Superseded });
        assert_eq!(found_changed.state, State::Superseded);
        assert!(matches!(
            apply(&executing, &Step::Finish { outcome: State::Pending }, NOW),
            Err(Refused::WrongState { .. })
        ));
        assert!(matches!(
            apply(&executing, &Step::Cancel { by: "oscar".to_owned() }, NOW),
            Err(Refused::WrongState { .. })
        ));
    }
}
