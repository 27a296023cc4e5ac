//! What an X-Road REST request asks for, read from its method, path and query:
//! `{METHOD} /r1/{INSTANCE}/{CLASS}/{MEMBER}/{SUBSYSTEM}/{SERVICE}[/path][?query]`, or one of
//! the metaservices (`listClients`, `listMethods`, `allowedMethods`, `getOpenAPI`).
//!
//! The service path is passed on to the provider as it came (still percent-encoded), after
//! checks that keep it inside the service's base address: no `.` or `..` segment, no
//! backslash, no encoded slash or dot that a provider might decode into one.

use crate::error::{ExchangeError, Fault};
use crate::id::{ClientId, MemberId, ServiceId};
use percent_encoding::percent_decode_str;

/// The protocol version this gateway speaks.
pub const PROTOCOL_VERSION: &str = "r1";

/// The longest request target accepted (path and query), as the protocol recommends.
pub const MAX_TARGET: usize = 2000;

/// Metaservice codes; no service may be registered under these names.
pub const METASERVICES: [&str; 3] = ["listMethods", "allowedMethods", "getOpenAPI"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /listClients[?xRoadInstance=VN]`: the members and subsystems of an instance.
    ListClients { instance: Option<String> },
    /// `GET /r1/{provider}/listMethods`: the provider subsystem's REST services.
    ListMethods { provider: ClientId },
    /// `GET /r1/{provider}/allowedMethods`: the services the caller may use.
    AllowedMethods { provider: ClientId },
    /// `GET /r1/{provider}/getOpenAPI?serviceCode=X`: a service's OpenAPI description.
    GetOpenApi { provider: ClientId, service_code: String },
    /// A call of a service: the path after the service code and the query, as received.
    Service { service: ServiceId, path: String, query: Option<String> },
}

fn bad(message: impl Into<String>) -> ExchangeError {
    ExchangeError::client(Fault::BadRequest, message)
}

fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then(|| percent_decode_str(v).decode_utf8_lossy().into_owned())
    })
}

/// Reads the route of a request. `path` is the raw (still encoded) path, `query` the raw
/// query without `?`.
pub fn route(method: &str, path: &str, query: Option<&str>) -> Result<Route, ExchangeError> {
    if path.len() + query.map_or(0, |q| q.len() + 1) > MAX_TARGET {
        return Err(bad(format!("the request target is longer than {MAX_TARGET} characters")));
    }
    if path == "/listClients" {
        if method != "GET" {
            return Err(bad("listClients is read with GET"));
        }
        return Ok(Route::ListClients { instance: query_param(query, "xRoadInstance") });
    }
    let rest = path.strip_prefix('/').ok_or_else(|| bad("the path must start with /"))?;
    let mut segments = rest.splitn(7, '/');
    match segments.next() {
        Some(PROTOCOL_VERSION) => {}
        Some(v) if v.starts_with('r') && v.len() > 1 && v[1..].chars().all(|c| c.is_ascii_digit()) => {
            return Err(bad(format!("protocol version {v} is not supported; this gateway speaks {PROTOCOL_VERSION}")));
        }
        _ => return Err(bad(format!("the path must start with /{PROTOCOL_VERSION}/"))),
    }
    let ids: Vec<&str> = segments.by_ref().take(5).collect();
    if ids.len() < 5 || ids.iter().any(|s| s.is_empty()) {
        return Err(ExchangeError::client(
            Fault::InvalidServiceIdentifier,
            "the path must name INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE",
        ));
    }
    let provider =
        ClientId::parse(&ids[..4].join("/")).map_err(|e| ExchangeError::client(Fault::InvalidServiceIdentifier, e))?;
    let code = percent_decode_str(ids[4]).decode_utf8_lossy().into_owned();
    let tail = segments.next();
    if METASERVICES.contains(&code.as_str()) {
        if method != "GET" {
            return Err(bad(format!("{code} is read with GET")));
        }
        if tail.is_some_and(|t| !t.is_empty()) {
            return Err(bad(format!("{code} takes no path")));
        }
        return Ok(match code.as_str() {
            "listMethods" => Route::ListMethods { provider },
            "allowedMethods" => Route::AllowedMethods { provider },
            _ => {
                let service_code =
                    query_param(query, "serviceCode").ok_or_else(|| bad("getOpenAPI needs ?serviceCode="))?;
                Route::GetOpenApi { provider, service_code }
            }
        });
    }
    let service = provider.service(&code).map_err(|e| ExchangeError::client(Fault::InvalidServiceIdentifier, e))?;
    let path = match tail {
        None => String::new(),
        Some(t) => format!("/{t}"),
    };
    check_service_path(&path)?;
    Ok(Route::Service { service, path, query: query.map(str::to_string) })
}

/// Keeps a service path inside the provider's base address.
fn check_service_path(path: &str) -> Result<(), ExchangeError> {
    let lower = path.to_ascii_lowercase();
    if path.contains('\\') || lower.contains("%2f") || lower.contains("%5c") || lower.contains("%2e") {
        return Err(bad("the service path contains an encoded separator"));
    }
    if path.split('/').any(|s| s == "." || s == "..") {
        return Err(bad("the service path may not contain . or .. segments"));
    }
    if path.chars().any(|c| c.is_control() || c == ' ') {
        return Err(bad("the service path contains a control character or a space"));
    }
    Ok(())
}

impl Route {
    /// The member the request is addressed to (its gateway answers), if any.
    pub fn provider_member(&self) -> Option<&MemberId> {
        match self {
            Route::ListClients { .. } => None,
            Route::ListMethods { provider }
            | Route::AllowedMethods { provider }
            | Route::GetOpenApi { provider, .. } => Some(&provider.member),
            Route::Service { service, .. } => Some(&service.provider.member),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_a_service_call() {
        let r =
            route("GET", "/r1/VN/GOV/000.00.00.G01/CSDLQGDC/residence/v1/persons/001203004567", Some("fields=address"))
                .unwrap();
        let Route::Service { service, path, query } = r else { panic!("a service call") };
        assert_eq!(service.to_string(), "VN/GOV/000.00.00.G01/CSDLQGDC/residence");
        assert_eq!(path, "/v1/persons/001203004567");
        assert_eq!(query.as_deref(), Some("fields=address"));
        let Route::Service { path, .. } = route("POST", "/r1/VN/GOV/M/S/svc", None).unwrap() else { panic!() };
        assert_eq!(path, "");
    }

    #[test]
    fn reads_metaservices() {
        assert_eq!(
            route("GET", "/listClients", Some("xRoadInstance=VN")).unwrap(),
            Route::ListClients { instance: Some("VN".into()) }
        );
        assert!(matches!(route("GET", "/r1/VN/GOV/M/S/listMethods", None).unwrap(), Route::ListMethods { .. }));
        assert!(matches!(route("GET", "/r1/VN/GOV/M/S/allowedMethods", None).unwrap(), Route::AllowedMethods { .. }));
        let Route::GetOpenApi { service_code, .. } =
            route("GET", "/r1/VN/GOV/M/S/getOpenAPI", Some("serviceCode=residence")).unwrap()
        else {
            panic!()
        };
        assert_eq!(service_code, "residence");
        assert!(route("GET", "/r1/VN/GOV/M/S/getOpenAPI", None).is_err());
        assert!(route("POST", "/r1/VN/GOV/M/S/listMethods", None).is_err());
    }

    #[test]
    fn refuses_what_is_not_the_protocol() {
        let kind = |m: &str, p: &str| route(m, p, None).unwrap_err().type_string();
        assert_eq!(kind("GET", "/r2/VN/GOV/M/S/svc"), "Client.BadRequest");
        assert_eq!(kind("GET", "/v1/VN/GOV/M/S/svc"), "Client.BadRequest");
        assert_eq!(kind("GET", "/r1/VN/GOV/M/S"), "Client.InvalidServiceIdentifier");
        assert_eq!(kind("GET", "/r1/VN/GOV//S/svc"), "Client.InvalidServiceIdentifier");
        assert_eq!(kind("GET", "/r1/VN/GOV/M/S/svc/../admin"), "Client.BadRequest");
        assert_eq!(kind("GET", "/r1/VN/GOV/M/S/svc/a%2F..%2Fb"), "Client.BadRequest");
        assert_eq!(kind("GET", "/r1/VN/GOV/M/S/svc/%2e%2e/x"), "Client.BadRequest");
        assert_eq!(kind("GET", &format!("/r1/VN/GOV/M/S/svc/{}", "a".repeat(2000))), "Client.BadRequest");
    }

    proptest! {
        #[test]
        fn never_panics_and_never_escapes(path in "(/[a-zA-Z0-9.%_-]{0,6}){0,12}", q in proptest::option::of("[a-z=&%0-9]{0,20}")) {
            if let Ok(Route::Service { path, .. }) = route("GET", &path, q.as_deref()) {
                prop_assert!(!path.split('/').any(|s| s == ".." || s == "."));
            }
        }
    }
}
