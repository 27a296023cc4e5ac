//! The dossier state machine of the one-stop mechanism (Circular 01/2018).
//!
//! The diagram lives in `docs/dossier-states.md`. This module is the only place that decides
//! whether a transition is legal; storage persists what it returns and the HTTP edge only
//! translates requests into [`Action`]s.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Where a dossier stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DossierState {
    /// Submitted online, waiting for the one-stop desk to receive it.
    Submitted,
    /// Received: a receipt slip with an appointment date was issued; the clock runs.
    Received,
    /// Being handled by a specialist, possibly in another agency.
    InProcessing,
    /// A supplement was requested; the clock stops while it is with the applicant.
    AwaitingSupplement,
    /// Approved by the competent official; the result is being prepared.
    Approved,
    /// Refused, with reasons (end state).
    Rejected,
    /// The result was issued to the applicant (end state).
    ResultIssued,
    /// Withdrawn by the applicant (end state).
    Withdrawn,
}

impl DossierState {
    pub const ALL: [DossierState; 8] = [
        Self::Submitted,
        Self::Received,
        Self::InProcessing,
        Self::AwaitingSupplement,
        Self::Approved,
        Self::Rejected,
        Self::ResultIssued,
        Self::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submitted => "SUBMITTED",
            Self::Received => "RECEIVED",
            Self::InProcessing => "IN_PROCESSING",
            Self::AwaitingSupplement => "AWAITING_SUPPLEMENT",
            Self::Approved => "APPROVED",
            Self::Rejected => "REJECTED",
            Self::ResultIssued => "RESULT_ISSUED",
            Self::Withdrawn => "WITHDRAWN",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// End states accept no further transition; the applicant may rate the service there.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Rejected | Self::ResultIssued | Self::Withdrawn)
    }

    /// Whether the legal clock runs in this state (it runs from receipt until a decision).
    pub fn clock_runs(self) -> bool {
        matches!(self, Self::Received | Self::InProcessing | Self::Approved)
    }

    pub fn label_vi(self) -> &'static str {
        match self {
            Self::Submitted => "Chờ tiếp nhận",
            Self::Received => "Đã tiếp nhận",
            Self::InProcessing => "Đang xử lý",
            Self::AwaitingSupplement => "Chờ bổ sung",
            Self::Approved => "Đã phê duyệt",
            Self::Rejected => "Từ chối",
            Self::ResultIssued => "Đã trả kết quả",
            Self::Withdrawn => "Đã rút",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Self::Submitted => "Awaiting receipt",
            Self::Received => "Received",
            Self::InProcessing => "In processing",
            Self::AwaitingSupplement => "Awaiting supplement",
            Self::Approved => "Approved",
            Self::Rejected => "Rejected",
            Self::ResultIssued => "Result issued",
            Self::Withdrawn => "Withdrawn",
        }
    }
}

/// Something that someone does to a dossier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// One-stop desk accepts the dossier and issues the receipt slip.
    Receive,
    /// Officer asks the applicant for more documents (clock stops).
    RequestSupplement,
    /// Applicant answers a supplement request (clock resumes).
    Supply,
    /// Hand-off to the next step, officer or agency (processing-control form).
    HandOff,
    /// Competent official approves.
    Approve,
    /// Refusal with reasons.
    Refuse,
    /// Result document issued to the applicant.
    IssueResult,
    /// Applicant withdraws the dossier.
    Withdraw,
}

impl Action {
    pub const ALL: [Action; 8] = [
        Self::Receive,
        Self::RequestSupplement,
        Self::Supply,
        Self::HandOff,
        Self::Approve,
        Self::Refuse,
        Self::IssueResult,
        Self::Withdraw,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Receive => "receive",
            Self::RequestSupplement => "request_supplement",
            Self::Supply => "supply",
            Self::HandOff => "hand_off",
            Self::Approve => "approve",
            Self::Refuse => "refuse",
            Self::IssueResult => "issue_result",
            Self::Withdraw => "withdraw",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// Actions taken by the applicant; all others are taken by officials.
    pub fn by_applicant(self) -> bool {
        matches!(self, Self::Supply | Self::Withdraw)
    }

    /// Actions that must carry a written reason (refusal notice, supplement request).
    pub fn needs_reason(self) -> bool {
        matches!(self, Self::RequestSupplement | Self::Refuse)
    }
}

/// The persisted lifecycle of a dossier: its state and, while a supplement is awaited,
/// the state it returns to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lifecycle {
    pub state: DossierState,
    pub resume_state: Option<DossierState>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("action `{}` is not allowed when the dossier is {}", action.as_str(), from.as_str())]
pub struct TransitionError {
    pub from: DossierState,
    pub action: Action,
}

/// What a transition does to the legal clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockEffect {
    None,
    /// Start the clock: due date = receipt date + deadline in working days.
    Start,
    /// Stop the clock, keeping the working days left.
    Pause,
    /// Restart the clock with the working days that were left.
    Resume,
    /// A decision was reached; the clock stops for good.
    Stop,
}

/// The legal clock of a dossier as stored: the appointment date and, while paused, the working
/// days left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Clock {
    pub due_date: Option<chrono::NaiveDate>,
    pub original_due_date: Option<chrono::NaiveDate>,
    pub paused_on: Option<chrono::NaiveDate>,
    pub remaining_days: Option<i64>,
}

impl Clock {
    /// The clock after `effect` on `today`, for a procedure with `deadline` working days.
    pub fn after(self, effect: ClockEffect, today: chrono::NaiveDate, deadline: u32, cal: &crate::Calendar) -> Clock {
        match effect {
            ClockEffect::Start => {
                let due = cal.add_working_days(today, deadline);
                Clock { due_date: Some(due), original_due_date: Some(due), paused_on: None, remaining_days: None }
            }
            ClockEffect::Pause => {
                let left = self.due_date.map(|due| cal.working_days_between(today, due).max(0)).unwrap_or(0);
                Clock { paused_on: Some(today), remaining_days: Some(left), ..self }
            }
            ClockEffect::Resume => {
                let left = self.remaining_days.unwrap_or(0).max(0) as u32;
                Clock {
                    due_date: Some(cal.add_working_days(today, left)),
                    paused_on: None,
                    remaining_days: None,
                    ..self
                }
            }
            ClockEffect::Stop | ClockEffect::None => self,
        }
    }
}

impl Lifecycle {
    pub fn new() -> Self {
        Lifecycle { state: DossierState::Submitted, resume_state: None }
    }

    /// Applies `action`, returning the new lifecycle and what happens to the clock, or the
    /// reason it is illegal. This table is the whole state machine.
    pub fn apply(self, action: Action) -> Result<(Lifecycle, ClockEffect), TransitionError> {
        use Action as A;
        use DossierState as S;
        let illegal = Err(TransitionError { from: self.state, action });
        let to = |state| Lifecycle { state, resume_state: None };
        match (self.state, action) {
            (S::Submitted, A::Receive) => Ok((to(S::Received), ClockEffect::Start)),
            (S::Submitted | S::Received | S::InProcessing, A::RequestSupplement) => Ok((
                Lifecycle { state: S::AwaitingSupplement, resume_state: Some(self.state) },
                if self.state == S::Submitted { ClockEffect::None } else { ClockEffect::Pause },
            )),
            (S::AwaitingSupplement, A::Supply) => {
                let back = self.resume_state.unwrap_or(S::Submitted);
                let effect = if back == S::Submitted { ClockEffect::None } else { ClockEffect::Resume };
                Ok((to(back), effect))
            }
            (S::Received | S::InProcessing, A::HandOff) => Ok((to(S::InProcessing), ClockEffect::None)),
            (S::Received | S::InProcessing, A::Approve) => Ok((to(S::Approved), ClockEffect::Stop)),
            (S::Submitted | S::Received | S::InProcessing | S::AwaitingSupplement, A::Refuse) => {
                Ok((to(S::Rejected), ClockEffect::Stop))
            }
            (S::Approved, A::IssueResult) => Ok((to(S::ResultIssued), ClockEffect::None)),
            (S::Submitted | S::Received | S::InProcessing | S::AwaitingSupplement, A::Withdraw) => {
                Ok((to(S::Withdrawn), ClockEffect::Stop))
            }
            _ => illegal,
        }
    }

    /// The actions that are legal now, in a stable order (for buttons and the API).
    pub fn allowed_actions(self) -> Vec<Action> {
        Action::ALL.into_iter().filter(|a| self.apply(*a).is_ok()).collect()
    }
}

impl Default for Lifecycle {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn any_action() -> impl Strategy<Value = Action> {
        prop::sample::select(Action::ALL.to_vec())
    }

    #[test]
    fn happy_path_with_a_supplement() {
        let l = Lifecycle::new();
        let (l, e) = l.apply(Action::Receive).unwrap();
        assert_eq!(e, ClockEffect::Start);
        let (l, e) = l.apply(Action::RequestSupplement).unwrap();
        assert_eq!((l.state, e), (DossierState::AwaitingSupplement, ClockEffect::Pause));
        let (l, e) = l.apply(Action::Supply).unwrap();
        assert_eq!((l.state, e), (DossierState::Received, ClockEffect::Resume));
        let (l, _) = l.apply(Action::HandOff).unwrap();
        let (l, _) = l.apply(Action::Approve).unwrap();
        let (l, _) = l.apply(Action::IssueResult).unwrap();
        assert_eq!(l.state, DossierState::ResultIssued);
        assert!(l.allowed_actions().is_empty());
    }

    #[test]
    fn supplement_before_receipt_does_not_touch_the_clock() {
        let (l, e) = Lifecycle::new().apply(Action::RequestSupplement).unwrap();
        assert_eq!(e, ClockEffect::None);
        let (l, e) = l.apply(Action::Supply).unwrap();
        assert_eq!((l.state, e), (DossierState::Submitted, ClockEffect::None));
    }

    #[test]
    fn cannot_issue_before_approval() {
        let err = Lifecycle::new().apply(Action::IssueResult).unwrap_err();
        assert_eq!(err.from, DossierState::Submitted);
    }

    #[test]
    fn state_names_round_trip() {
        for s in DossierState::ALL {
            assert_eq!(DossierState::parse(s.as_str()), Some(s));
        }
        for a in Action::ALL {
            assert_eq!(Action::parse(a.as_str()), Some(a));
        }
    }

    proptest! {
        /// Whatever sequence of actions is tried, the machine never leaves its table: end
        /// states stay put, a paused dossier always knows where to resume, and the clock is
        /// started at most once.
        #[test]
        fn random_walks_respect_the_invariants(actions in prop::collection::vec(any_action(), 0..40)) {
            let mut l = Lifecycle::new();
            let mut starts = 0;
            for a in actions {
                let before = l;
                match l.apply(a) {
                    Ok((next, effect)) => {
                        prop_assert!(!before.state.is_terminal(), "left an end state");
                        if effect == ClockEffect::Start { starts += 1; }
                        if next.state == DossierState::AwaitingSupplement {
                            prop_assert!(next.resume_state.is_some());
                        } else {
                            prop_assert!(next.resume_state.is_none());
                        }
                        if a == Action::Supply {
                            prop_assert_eq!(Some(next.state), before.resume_state);
                        }
                        l = next;
                    }
                    Err(e) => {
                        prop_assert_eq!(e.from, before.state);
                        prop_assert!(!before.allowed_actions().contains(&a));
                    }
                }
            }
            prop_assert!(starts <= 1);
        }

        /// `allowed_actions` is exactly the set `apply` accepts.
        #[test]
        fn allowed_actions_agree_with_apply(state in prop::sample::select(DossierState::ALL.to_vec()), a in any_action()) {
            let resume_state = (state == DossierState::AwaitingSupplement).then_some(DossierState::Received);
            let l = Lifecycle { state, resume_state };
            prop_assert_eq!(l.apply(a).is_ok(), l.allowed_actions().contains(&a));
        }
    }
}
