//! The rules of Sen's data exchange layer, free of I/O.
//!
//! Agencies' information systems exchange data through gateways that speak X-Road's message
//! protocol for REST. This crate holds what every part of that layer must agree on: the
//! identifiers of members, subsystems and services ([`id`]), how a request names what it
//! calls ([`route`]), the access rights that the provider's gateway enforces ([`rights`]),
//! X-Road's error types ([`error`]) and the request hash that binds a response to its
//! request ([`hash`]). The directory (`sen-store`) and the gateways (`sen-web`) build on it.

pub mod consent;
pub mod directory;
pub mod error;
pub mod hash;
pub mod id;
pub mod message;
pub mod rights;
pub mod route;

pub use directory::{Directory, Gateway};
pub use error::{ExchangeError, Fault, Origin};
pub use id::{ClientId, MemberId, ServiceId};
pub use rights::{AccessRight, Endpoint};
pub use route::Route;

/// Member classes of the exchange, with their meaning in Vietnamese and in English.
pub const MEMBER_CLASSES: [(&str, &str, &str); 3] = [
    ("GOV", "cơ quan nhà nước", "state bodies"),
    ("COM", "doanh nghiệp", "enterprises"),
    ("ORG", "tổ chức khác", "other organisations"),
];

/// The instance of Sen's demo exchange.
pub const DEMO_INSTANCE: &str = "VN";
