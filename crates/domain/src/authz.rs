//! Who may do what. Roles are held per agency; every check also needs the agency scope, which
//! the storage layer applies (an officer sees only the dossiers of agencies they serve).

use crate::dossier::{Action, DossierState};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A role an official holds in one agency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// One-stop desk officer: receives dossiers, requests supplements, returns results.
    Reception,
    /// Specialist who handles the substance.
    Specialist,
    /// Head of unit who approves or refuses.
    Approver,
    /// Manages the agency's procedures and officials.
    AgencyAdmin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Reception, Role::Specialist, Role::Approver, Role::AgencyAdmin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reception => "reception",
            Role::Specialist => "specialist",
            Role::Approver => "approver",
            Role::AgencyAdmin => "agency_admin",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
    pub fn label_vi(self) -> &'static str {
        match self {
            Role::Reception => "Cán bộ tiếp nhận (một cửa)",
            Role::Specialist => "Chuyên viên xử lý",
            Role::Approver => "Lãnh đạo phê duyệt",
            Role::AgencyAdmin => "Quản trị cơ quan",
        }
    }
}

/// What an authenticated principal may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Work on a dossier of the agency (read it, claim it).
    WorkOnDossier,
    /// Take a lifecycle action on a dossier of the agency.
    Act(Action),
    /// Send an apology letter with a new appointment date.
    Apologise,
    /// Add and edit the agency's procedures.
    ManageProcedures,
}

/// Whether holding `roles` in an agency grants `p` there, for a dossier in `state`.
pub fn officer_may(roles: &[Role], p: Permission, state: DossierState) -> bool {
    let has = |r: Role| roles.contains(&r);
    let officer = has(Role::Reception) || has(Role::Specialist) || has(Role::Approver);
    match p {
        Permission::WorkOnDossier => officer,
        Permission::ManageProcedures => has(Role::AgencyAdmin),
        Permission::Apologise => officer,
        Permission::Act(a) => match a {
            Action::Receive | Action::IssueResult => has(Role::Reception),
            Action::RequestSupplement => has(Role::Reception) || has(Role::Specialist),
            Action::HandOff => officer,
            Action::Approve => has(Role::Approver),
            // The desk may refuse a dossier it has not received yet; after that, the approver.
            Action::Refuse => has(Role::Approver) || (has(Role::Reception) && state == DossierState::Submitted),
            Action::Supply | Action::Withdraw => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applicant_actions_are_never_granted_to_officers() {
        for s in DossierState::ALL {
            assert!(!officer_may(&Role::ALL, Permission::Act(Action::Supply), s));
            assert!(!officer_may(&Role::ALL, Permission::Act(Action::Withdraw), s));
        }
    }

    #[test]
    fn desk_refuses_only_before_receipt() {
        let desk = [Role::Reception];
        assert!(officer_may(&desk, Permission::Act(Action::Refuse), DossierState::Submitted));
        assert!(!officer_may(&desk, Permission::Act(Action::Refuse), DossierState::InProcessing));
        assert!(officer_may(&[Role::Approver], Permission::Act(Action::Refuse), DossierState::InProcessing));
    }

    #[test]
    fn admins_alone_do_not_process() {
        assert!(!officer_may(&[Role::AgencyAdmin], Permission::WorkOnDossier, DossierState::Submitted));
    }
}
