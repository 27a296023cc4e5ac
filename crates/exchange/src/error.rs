//! X-Road's error types. An error raised by the exchange itself (not by the provider's
//! system) is answered with an `X-Road-Error` header naming its type and a JSON body
//! `{type, message, detail}`; the type says where it arose: `Client.*` (the caller's request),
//! `Server.ClientProxy.*` (the caller's own gateway) or `Server.ServerProxy.*` (the provider's
//! gateway). A provider's own answers, errors included, pass through unchanged.

use serde::Serialize;

/// Where an error arose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The caller's request does not follow the protocol.
    Client,
    /// The caller's gateway.
    ClientProxy,
    /// The provider's gateway.
    ServerProxy,
}

/// What went wrong, in X-Road's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The request is not an X-Road REST request (path, headers, size).
    BadRequest,
    /// The client identifier is malformed.
    InvalidClientIdentifier,
    /// The service identifier is malformed.
    InvalidServiceIdentifier,
    /// The named member or subsystem is not in the directory, or is not this gateway's.
    UnknownMember,
    /// The named service is not in the directory.
    UnknownService,
    /// The service is registered but switched off.
    ServiceDisabled,
    /// The client has no right to this service, method and path.
    AccessDenied,
    /// The peer gateway presented no certificate, or one the exchange does not trust.
    SslAuthenticationFailed,
    /// A message carries no signature.
    MissingSignature,
    /// A message's signature does not verify, or it does not cover the message received.
    InvalidSignatureValue,
    /// A message between gateways is malformed.
    InvalidMessage,
    /// The provider's system could not be reached or did not answer.
    ServiceFailed,
    /// A gateway could not be reached.
    NetworkError,
    /// No answer came within the time allowed.
    Timeout,
    /// The gateway's copy of the directory is older than it may be used (it could not fetch
    /// a new one): it refuses rather than decide on stale rights.
    OutdatedGlobalConf,
    /// A gateway's own database failed.
    DatabaseError,
    /// Anything else inside a gateway.
    InternalError,
}

impl Origin {
    pub fn prefix(self) -> &'static str {
        match self {
            Origin::Client => "Client",
            Origin::ClientProxy => "Server.ClientProxy",
            Origin::ServerProxy => "Server.ServerProxy",
        }
    }
}

impl Fault {
    pub fn code(self) -> &'static str {
        match self {
            Fault::BadRequest => "BadRequest",
            Fault::InvalidClientIdentifier => "InvalidClientIdentifier",
            Fault::InvalidServiceIdentifier => "InvalidServiceIdentifier",
            Fault::UnknownMember => "UnknownMember",
            Fault::UnknownService => "UnknownService",
            Fault::ServiceDisabled => "ServiceDisabled",
            Fault::AccessDenied => "AccessDenied",
            Fault::SslAuthenticationFailed => "SslAuthenticationFailed",
            Fault::MissingSignature => "MissingSignature",
            Fault::InvalidSignatureValue => "InvalidSignatureValue",
            Fault::InvalidMessage => "InvalidMessage",
            Fault::ServiceFailed => "ServiceFailed",
            Fault::NetworkError => "NetworkError",
            Fault::Timeout => "Timeout",
            Fault::OutdatedGlobalConf => "OutdatedGlobalConf",
            Fault::DatabaseError => "DatabaseError",
            Fault::InternalError => "InternalError",
        }
    }
}

/// An error of the exchange layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", self.type_string())]
pub struct ExchangeError {
    pub origin: Origin,
    pub fault: Fault,
    /// A further fault that caused this one (`ServiceFailed` because of a `Timeout`).
    pub cause: Option<Fault>,
    /// For people; never holds payload data.
    pub message: String,
}

/// The JSON body of an error answer.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ErrorBody {
    #[serde(rename = "type")]
    pub kind: String,
    pub message: String,
    /// The message id (`X-Road-Id`), so the caller can quote it to the operators.
    pub detail: String,
}

impl ExchangeError {
    pub fn new(origin: Origin, fault: Fault, message: impl Into<String>) -> Self {
        ExchangeError { origin, fault, cause: None, message: message.into() }
    }

    pub fn client(fault: Fault, message: impl Into<String>) -> Self {
        Self::new(Origin::Client, fault, message)
    }

    pub fn client_proxy(fault: Fault, message: impl Into<String>) -> Self {
        Self::new(Origin::ClientProxy, fault, message)
    }

    pub fn server_proxy(fault: Fault, message: impl Into<String>) -> Self {
        Self::new(Origin::ServerProxy, fault, message)
    }

    pub fn because(mut self, cause: Fault) -> Self {
        self.cause = Some(cause);
        self
    }

    /// The type, as it goes in the `X-Road-Error` header: `Server.ServerProxy.AccessDenied`.
    pub fn type_string(&self) -> String {
        match self.cause {
            Some(c) => format!("{}.{}.{}", self.origin.prefix(), self.fault.code(), c.code()),
            None => format!("{}.{}", self.origin.prefix(), self.fault.code()),
        }
    }

    /// The HTTP status: 400 for a request that breaks the protocol, 500 for everything
    /// else the exchange itself answers (the protocol uses only these two).
    pub fn status(&self) -> u16 {
        if self.origin == Origin::Client { 400 } else { 500 }
    }

    pub fn body(&self, message_id: &str) -> ErrorBody {
        ErrorBody { kind: self.type_string(), message: self.message.clone(), detail: message_id.to_string() }
    }

    /// Reads a type string back (as a gateway does with its peer's `X-Road-Error`).
    pub fn parse_type(s: &str) -> Option<(Origin, Fault, Option<Fault>)> {
        let (origin, rest) = [Origin::ServerProxy, Origin::ClientProxy, Origin::Client]
            .into_iter()
            .find_map(|o| s.strip_prefix(o.prefix()).and_then(|r| r.strip_prefix('.')).map(|r| (o, r)))?;
        let mut parts = rest.splitn(2, '.');
        let fault = fault_from_code(parts.next()?)?;
        let cause = match parts.next() {
            Some(c) => Some(fault_from_code(c)?),
            None => None,
        };
        Some((origin, fault, cause))
    }
}

const ALL_FAULTS: [Fault; 17] = [
    Fault::BadRequest,
    Fault::InvalidClientIdentifier,
    Fault::InvalidServiceIdentifier,
    Fault::UnknownMember,
    Fault::UnknownService,
    Fault::ServiceDisabled,
    Fault::AccessDenied,
    Fault::SslAuthenticationFailed,
    Fault::MissingSignature,
    Fault::InvalidSignatureValue,
    Fault::InvalidMessage,
    Fault::ServiceFailed,
    Fault::NetworkError,
    Fault::Timeout,
    Fault::OutdatedGlobalConf,
    Fault::DatabaseError,
    Fault::InternalError,
];

fn fault_from_code(code: &str) -> Option<Fault> {
    ALL_FAULTS.into_iter().find(|f| f.code() == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_read_as_x_road_writes_them() {
        let e = ExchangeError::server_proxy(Fault::AccessDenied, "no right");
        assert_eq!(e.type_string(), "Server.ServerProxy.AccessDenied");
        assert_eq!(e.status(), 500);
        let e = ExchangeError::client(Fault::BadRequest, "no client header");
        assert_eq!(e.type_string(), "Client.BadRequest");
        assert_eq!(e.status(), 400);
        let e = ExchangeError::server_proxy(Fault::ServiceFailed, "provider slow").because(Fault::Timeout);
        assert_eq!(e.type_string(), "Server.ServerProxy.ServiceFailed.Timeout");
        let body = serde_json::to_value(e.body("id-1")).unwrap();
        assert_eq!(body["type"], "Server.ServerProxy.ServiceFailed.Timeout");
        assert_eq!(body["detail"], "id-1");
    }

    #[test]
    fn every_type_string_parses_back() {
        for origin in [Origin::Client, Origin::ClientProxy, Origin::ServerProxy] {
            for fault in ALL_FAULTS {
                for cause in [None, Some(Fault::NetworkError)] {
                    let mut e = ExchangeError::new(origin, fault, "m");
                    e.cause = cause;
                    assert_eq!(ExchangeError::parse_type(&e.type_string()), Some((origin, fault, cause)));
                }
            }
        }
        assert_eq!(ExchangeError::parse_type("Server.Other.Thing"), None);
        assert_eq!(ExchangeError::parse_type("Client.Nope"), None);
    }
}
