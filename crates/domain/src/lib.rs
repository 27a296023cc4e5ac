//! Sen's domain rules, free of I/O.
//!
//! Everything here is pure: the dossier state machine, the working-day calendar, the
//! identifiers people and businesses carry, procedures and their e-forms, catalogue search
//! and the authorisation policy. Storage (`sen-store`) and the HTTP edge (`sen-web`) call
//! into this crate; it never calls out.

pub mod assistant;
pub mod authz;
pub mod bundle;
pub mod calendar;
pub mod completeness;
pub mod delay;
pub mod dossier;
pub mod eform;
pub mod evidence;
pub mod ident;
pub mod notify;
pub mod opendata;
pub mod password;
pub mod proactive;
pub mod procedure;
pub mod recommend;
pub mod registry_change;
pub mod routing;
pub mod search;
pub mod text;

pub use authz::{Permission, Role};
pub use calendar::Calendar;
pub use dossier::{Action, DossierState, Lifecycle, TransitionError};
