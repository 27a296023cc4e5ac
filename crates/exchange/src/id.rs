//! X-Road identifiers: a member (instance, class, code), a client (a member or one of its
//! subsystems) and a service (a code under a provider subsystem).
//!
//! On the wire each part is UTF-8, percent-encoded on its own, and the parts are joined with
//! `/` (`VN/GOV/000.00.00.H01/DVCQG`). Parts are checked after decoding: not empty, at most
//! [`MAX_PART`] characters, and none of the characters X-Road forbids in identifiers
//! (`:`, `;`, `/`, `\`, `%`, control characters), so a decoded identifier can always be
//! encoded back to the same text.

use crate::error::{ExchangeError, Fault};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The longest identifier part accepted (characters, after decoding).
pub const MAX_PART: usize = 255;

/// Characters left as they are when a part is encoded: RFC 3986's unreserved set.
const PART: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Checks one decoded identifier part.
pub fn check_part(part: &str) -> Result<(), String> {
    if part.is_empty() {
        return Err("an identifier part is empty".into());
    }
    if part.chars().count() > MAX_PART {
        return Err(format!("an identifier part is longer than {MAX_PART} characters"));
    }
    if let Some(c) = part.chars().find(|c| matches!(c, ':' | ';' | '/' | '\\' | '%') || c.is_control()) {
        return Err(format!("an identifier part contains the forbidden character {c:?}"));
    }
    Ok(())
}

fn decode_part(raw: &str) -> Result<String, String> {
    let decoded = percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| "an identifier part is not UTF-8 once decoded".to_string())?;
    check_part(&decoded)?;
    Ok(decoded.into_owned())
}

fn encode_part(part: &str) -> String {
    utf8_percent_encode(part, PART).to_string()
}

/// A member of the exchange: an agency, an enterprise or another organisation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MemberId {
    /// The exchange instance (one per country or environment: `VN`, `VN-TEST`).
    pub instance: String,
    /// The member class: `GOV` (state bodies), `COM` (enterprises), `ORG` (other organisations).
    pub class: String,
    /// The member code: for a state body its budget-unit code, for an enterprise its tax code.
    pub code: String,
}

/// Who calls: a member, or a subsystem (information system) of a member.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ClientId {
    #[serde(flatten)]
    pub member: MemberId,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub subsystem: Option<String>,
}

/// What is called: a service code registered under a provider's subsystem.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ServiceId {
    pub provider: ClientId,
    pub code: String,
}

impl MemberId {
    pub fn new(instance: &str, class: &str, code: &str) -> Result<Self, String> {
        for p in [instance, class, code] {
            check_part(p)?;
        }
        Ok(MemberId { instance: instance.into(), class: class.into(), code: code.into() })
    }

    /// The member's subsystem `code`.
    pub fn subsystem(&self, code: &str) -> Result<ClientId, String> {
        check_part(code)?;
        Ok(ClientId { member: self.clone(), subsystem: Some(code.into()) })
    }
}

impl ClientId {
    /// Parses `INSTANCE/CLASS/MEMBER[/SUBSYSTEM]`, each part percent-encoded.
    pub fn parse(s: &str) -> Result<Self, String> {
        let parts: Vec<&str> = s.trim().split('/').collect();
        if !(3..=4).contains(&parts.len()) {
            return Err("a client identifier has the form INSTANCE/CLASS/MEMBER[/SUBSYSTEM]".into());
        }
        let d: Vec<String> = parts.iter().map(|p| decode_part(p)).collect::<Result<_, _>>()?;
        Ok(ClientId {
            member: MemberId { instance: d[0].clone(), class: d[1].clone(), code: d[2].clone() },
            subsystem: d.get(3).cloned(),
        })
    }

    /// The service `code` of this subsystem.
    pub fn service(&self, code: &str) -> Result<ServiceId, String> {
        if self.subsystem.is_none() {
            return Err("services are registered under a subsystem".into());
        }
        check_part(code)?;
        Ok(ServiceId { provider: self.clone(), code: code.into() })
    }
}

impl ServiceId {
    /// Parses `INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE`, each part percent-encoded.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (provider, code) = s.trim().rsplit_once('/').ok_or("a service identifier has five parts")?;
        let provider = ClientId::parse(provider)?;
        if provider.subsystem.is_none() {
            return Err("a service identifier has the form INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE".into());
        }
        Ok(ServiceId { provider, code: decode_part(code)? })
    }
}

impl fmt::Display for MemberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", encode_part(&self.instance), encode_part(&self.class), encode_part(&self.code))
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.member)?;
        if let Some(s) = &self.subsystem {
            write!(f, "/{}", encode_part(s))?;
        }
        Ok(())
    }
}

impl fmt::Display for ServiceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.provider, encode_part(&self.code))
    }
}

/// The request headers that name the client, in the order they are read. X-Road's own comes
/// first; GovStack's Information Mediator building block names the same header two ways.
pub const CLIENT_HEADERS: [&str; 3] = ["x-road-client", "x-govstack-client", "information-mediator-client"];

/// The client named by a request's headers. `headers` yields (lower-case name, value) pairs.
/// Exactly one identity must be given: the same value under several names is accepted,
/// different values are refused.
pub fn client_from_headers<'a>(
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<ClientId, ExchangeError> {
    let mut found: Option<ClientId> = None;
    for (name, value) in headers {
        if !CLIENT_HEADERS.contains(&name) {
            continue;
        }
        let id = ClientId::parse(value).map_err(|e| ExchangeError::client(Fault::InvalidClientIdentifier, e))?;
        match &found {
            Some(other) if *other != id => {
                return Err(ExchangeError::client(Fault::BadRequest, "the request names two different clients"));
            }
            _ => found = Some(id),
        }
    }
    found.ok_or_else(|| ExchangeError::client(Fault::BadRequest, "the request has no X-Road-Client header"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_and_prints_a_client() {
        let c = ClientId::parse("VN/GOV/000.00.00.H01/DVCQG").unwrap();
        assert_eq!(c.member.code, "000.00.00.H01");
        assert_eq!(c.subsystem.as_deref(), Some("DVCQG"));
        assert_eq!(c.to_string(), "VN/GOV/000.00.00.H01/DVCQG");
        let m = ClientId::parse("VN/COM/0101234567").unwrap();
        assert_eq!(m.subsystem, None);
    }

    #[test]
    fn refuses_malformed_clients() {
        for bad in ["", "VN", "VN/GOV", "VN/GOV/A/B/C", "VN//A", "VN/GOV/A%2FB", "VN/GOV/%FF", "VN/GOV/a%3Bb"] {
            assert!(ClientId::parse(bad).is_err(), "{bad} must be refused");
        }
        assert!(ClientId::parse(&format!("VN/GOV/{}", "x".repeat(256))).is_err());
    }

    #[test]
    fn services_need_a_subsystem() {
        assert!(ServiceId::parse("VN/GOV/M/SUB/residence").is_ok());
        assert!(ServiceId::parse("VN/GOV/M/residence").is_err());
        assert!(ClientId::parse("VN/GOV/M").unwrap().service("x").is_err());
    }

    #[test]
    fn client_headers_must_agree() {
        let ok = client_from_headers([("x-govstack-client", "VN/GOV/M/S"), ("accept", "application/json")]).unwrap();
        assert_eq!(ok.to_string(), "VN/GOV/M/S");
        let same =
            client_from_headers([("x-road-client", "VN/GOV/M/S"), ("information-mediator-client", "VN/GOV/M/S")]);
        assert!(same.is_ok());
        let two = client_from_headers([("x-road-client", "VN/GOV/M/S"), ("x-govstack-client", "VN/GOV/M/T")]);
        assert_eq!(two.unwrap_err().type_string(), "Client.BadRequest");
        let none = client_from_headers([("accept", "*/*")]);
        assert_eq!(none.unwrap_err().type_string(), "Client.BadRequest");
        let bad = client_from_headers([("x-road-client", "VN/GOV")]);
        assert_eq!(bad.unwrap_err().type_string(), "Client.InvalidClientIdentifier");
    }

    fn part() -> impl Strategy<Value = String> {
        // Any printable text without the forbidden characters, Vietnamese letters included.
        proptest::string::string_regex("[A-Za-z0-9 .+()_~ăâđêôơưạảấầẩẫậ-]{1,20}").unwrap()
    }

    proptest! {
        #[test]
        fn any_valid_client_survives_printing(i in part(), c in part(), m in part(), s in proptest::option::of(part())) {
            let id = ClientId { member: MemberId { instance: i, class: c, code: m }, subsystem: s };
            prop_assert_eq!(ClientId::parse(&id.to_string()).unwrap(), id);
        }

        #[test]
        fn any_valid_service_survives_printing(i in part(), c in part(), m in part(), s in part(), code in part()) {
            let id = ServiceId { provider: ClientId { member: MemberId { instance: i, class: c, code: m }, subsystem: Some(s) }, code };
            prop_assert_eq!(ServiceId::parse(&id.to_string()).unwrap(), id);
        }

        #[test]
        fn parsing_never_panics(s in ".{0,80}") {
            let _ = ClientId::parse(&s);
            let _ = ServiceId::parse(&s);
        }
    }
}
