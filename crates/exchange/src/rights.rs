//! Access rights: which client may call which service, with which methods, on which paths.
//!
//! A right names a client (a member or a subsystem), a service code of the provider
//! subsystem, and an endpoint: a method (`GET`, … or `*` for any) and a path pattern in which
//! `*` stands for one segment and `**` for any number of segments, none included (`/**`
//! covers the whole service). Nothing is allowed unless a right allows it. Rights are
//! enforced by the provider's gateway.

use crate::id::ClientId;
use serde::{Deserialize, Serialize};

/// The longest endpoint path pattern accepted.
pub const MAX_PATTERN: usize = 255;

/// An endpoint: a method and a path pattern.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Endpoint {
    /// `GET`, `POST`, `PUT`, `PATCH`, `DELETE`, `HEAD`, `OPTIONS` or `*`.
    pub method: String,
    /// Starts with `/`; `*` is one segment, `**` any number of them.
    pub path: String,
}

const METHODS: [&str; 8] = ["*", "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

impl Endpoint {
    /// The whole service, every method.
    pub fn all() -> Self {
        Endpoint { method: "*".into(), path: "/**".into() }
    }

    pub fn new(method: &str, path: &str) -> Result<Self, String> {
        let method = method.trim().to_ascii_uppercase();
        if !METHODS.contains(&method.as_str()) {
            return Err(format!("unknown method {method}; use one of {}", METHODS.join(", ")));
        }
        let path = path.trim();
        if !path.starts_with('/') {
            return Err("an endpoint path starts with /".into());
        }
        if path.len() > MAX_PATTERN {
            return Err(format!("an endpoint path is at most {MAX_PATTERN} characters"));
        }
        if path.split('/').any(|s| s.contains('*') && s != "*" && s != "**") {
            return Err("* and ** stand alone as a whole segment".into());
        }
        if path.chars().any(|c| c.is_control() || c == ' ' || c == '?' || c == '#') {
            return Err("an endpoint path has no spaces, control characters, query or fragment".into());
        }
        Ok(Endpoint { method, path: path.to_string() })
    }

    /// Whether a request with this method and service path (as in [`crate::route::Route`]:
    /// empty or starting with `/`) falls under the endpoint.
    pub fn matches(&self, method: &str, path: &str) -> bool {
        if self.method != "*" && !self.method.eq_ignore_ascii_case(method) {
            return false;
        }
        let pattern: Vec<&str> = self.path.split('/').skip(1).collect();
        let path = if path.is_empty() { "/" } else { path };
        let segments: Vec<&str> = path.split('/').skip(1).collect();
        matches_segments(&pattern, &segments)
    }
}

fn matches_segments(pattern: &[&str], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((&"**", rest)) => (0..=path.len()).any(|skip| matches_segments(rest, &path[skip..])),
        Some((p, rest)) => match path.split_first() {
            Some((s, tail)) => (if *p == "*" { !s.is_empty() } else { p == s }) && matches_segments(rest, tail),
            None => false,
        },
    }
}

/// One granted right.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessRight {
    pub client: ClientId,
    pub service_code: String,
    pub endpoint: Endpoint,
}

/// Whether a right granted to `granted` covers `client`: the same client, or the member
/// of a member-wide right.
pub fn covers(granted: &ClientId, client: &ClientId) -> bool {
    granted == client || (granted.subsystem.is_none() && granted.member == client.member)
}

/// Whether any of `rights` lets `client` call `method path` of the service `service_code`.
/// A right granted to a member covers its subsystems too.
pub fn allowed(rights: &[AccessRight], client: &ClientId, service_code: &str, method: &str, path: &str) -> bool {
    rights
        .iter()
        .any(|r| covers(&r.client, client) && r.service_code == service_code && r.endpoint.matches(method, path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn c(s: &str) -> ClientId {
        ClientId::parse(s).unwrap()
    }

    #[test]
    fn patterns_match_as_x_road_describes() {
        let e = |m: &str, p: &str| Endpoint::new(m, p).unwrap();
        assert!(e("*", "/**").matches("DELETE", ""));
        assert!(e("*", "/**").matches("GET", "/a/b/c"));
        assert!(e("GET", "/persons/*").matches("get", "/persons/001203004567"));
        assert!(!e("GET", "/persons/*").matches("GET", "/persons/1/address"));
        assert!(!e("GET", "/persons/*").matches("POST", "/persons/1"));
        assert!(e("GET", "/persons/**").matches("GET", "/persons"));
        assert!(e("GET", "/persons/**/address").matches("GET", "/persons/1/x/address"));
        assert!(e("GET", "/persons/**/address").matches("GET", "/persons/address"));
        assert!(!e("GET", "/persons").matches("GET", "/persons/1"));
    }

    #[test]
    fn refuses_malformed_endpoints() {
        for (m, p) in [("FETCH", "/x"), ("GET", "x"), ("GET", "/a*"), ("GET", "/a?b=1"), ("GET", "/a b")] {
            assert!(Endpoint::new(m, p).is_err(), "{m} {p}");
        }
    }

    #[test]
    fn nothing_is_allowed_without_a_right() {
        let portal = c("VN/GOV/000.00.00.H01/DVCQG");
        let bank = c("VN/COM/0100112437/CORE");
        let rights = vec![AccessRight {
            client: portal.clone(),
            service_code: "residence".into(),
            endpoint: Endpoint::new("GET", "/persons/*").unwrap(),
        }];
        assert!(allowed(&rights, &portal, "residence", "GET", "/persons/1"));
        assert!(!allowed(&rights, &bank, "residence", "GET", "/persons/1"));
        assert!(!allowed(&rights, &portal, "civil-status", "GET", "/persons/1"));
        assert!(!allowed(&[], &portal, "residence", "GET", "/persons/1"));
        let member_wide = vec![AccessRight {
            client: c("VN/GOV/000.00.00.H01"),
            service_code: "residence".into(),
            endpoint: Endpoint::all(),
        }];
        assert!(allowed(&member_wide, &portal, "residence", "POST", "/anything"));
        assert!(!allowed(&member_wide, &bank, "residence", "POST", "/anything"));
    }

    proptest! {
        #[test]
        fn a_literal_pattern_matches_only_itself(a in "(/[a-z0-9]{1,4}){0,5}", b in "(/[a-z0-9]{1,4}){0,5}") {
            let pattern = if a.is_empty() { "/".to_string() } else { a.clone() };
            let e = Endpoint::new("GET", &pattern).unwrap();
            prop_assert_eq!(e.matches("GET", &b), a == b);
        }

        #[test]
        fn one_star_is_exactly_one_segment(prefix in "(/[a-z]{1,3}){0,3}", n in 0usize..4) {
            let e = Endpoint::new("*", &format!("{prefix}/*")).unwrap();
            let path = format!("{prefix}{}", "/x".repeat(n));
            prop_assert_eq!(e.matches("GET", &path), n == 1);
        }

        #[test]
        fn double_star_covers_any_depth(prefix in "(/[a-z]{1,3}){0,3}", tail in "(/[a-z0-9]{1,3}){0,6}") {
            let e = Endpoint::new("*", &format!("{prefix}/**")).unwrap();
            let path = format!("{prefix}{tail}");
            prop_assert!(e.matches("PUT", &path));
        }
    }
}
