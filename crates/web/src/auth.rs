//! Who is asking: a session cookie (people) or a bearer API token (system clients), the roles
//! they hold per agency, CSRF checks for forms, and login rate limiting.

use crate::AppState;
use crate::error::AppError;
use crate::i18n::Lang;
use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use base64::Engine;
use sen_domain::authz::{Permission, officer_may};
use sen_domain::{DossierState, Role};
use sen_store::{RoleGrant, User, user_kind};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const SESSION_COOKIE: &str = "sen_session";
pub const LANG_COOKIE: &str = "sen_lang";
pub const SESSION_HOURS: i64 = 8;

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: User,
    pub roles: Vec<RoleGrant>,
    /// The CSRF token of the session; `None` for API tokens (no ambient authority).
    pub csrf: Option<String>,
    /// The commune of residence in the population registry, for a person.
    pub home_commune: Option<String>,
    /// The province of that commune.
    pub home_province: Option<String>,
}

impl Principal {
    pub fn is_admin(&self) -> bool {
        self.user.kind == user_kind::ADMIN
    }
    pub fn is_officer(&self) -> bool {
        self.user.kind == user_kind::OFFICER
    }
    pub fn is_applicant(&self) -> bool {
        self.user.kind == user_kind::CITIZEN || self.user.kind == user_kind::BUSINESS
    }
    /// Agencies where the caller holds any role.
    pub fn agencies(&self) -> Vec<i64> {
        let mut a: Vec<i64> = self.roles.iter().map(|r| r.agency_id).collect();
        a.sort_unstable();
        a.dedup();
        a
    }
    /// Agencies where the caller may work on dossiers.
    pub fn working_agencies(&self) -> Vec<i64> {
        self.agencies()
            .into_iter()
            .filter(|a| officer_may(&self.roles_in(*a), Permission::WorkOnDossier, DossierState::Submitted))
            .collect()
    }
    pub fn roles_in(&self, agency_id: i64) -> Vec<Role> {
        self.roles.iter().filter(|r| r.agency_id == agency_id).filter_map(|r| Role::parse(&r.role)).collect()
    }
    pub fn may(&self, agency_id: i64, p: Permission, state: DossierState) -> bool {
        officer_may(&self.roles_in(agency_id), p, state)
    }
    /// The role recorded in the audit trail for an action in `agency_id`.
    pub fn role_label(&self, agency_id: i64) -> String {
        let roles = self.roles_in(agency_id);
        roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(",")
    }
    /// Checks the CSRF token of a form or of the `X-CSRF-Token` header.
    pub fn check_csrf(&self, token: Option<&str>) -> Result<(), AppError> {
        match &self.csrf {
            None => Ok(()),
            Some(expected) if token.is_some_and(|t| constant_time_eq(t.as_bytes(), expected.as_bytes())) => Ok(()),
            Some(_) => Err(AppError::Forbidden("missing or wrong CSRF token; reload the page and try again".into())),
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A random URL-safe token of 32 bytes.
pub fn random_token() -> String {
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// How long an authenticated principal is reused without asking the database again. Sign-out
/// clears it at once on this node; role changes and sign-outs on other nodes take effect
/// within this time.
pub const PRINCIPAL_TTL: Duration = Duration::from_secs(5);

/// Recently authenticated principals, by a hash of their credential.
#[derive(Default)]
pub struct PrincipalCache {
    entries: Mutex<HashMap<String, (Instant, Principal)>>,
}

impl PrincipalCache {
    fn get(&self, key: &str) -> Option<Principal> {
        let m = self.entries.lock().expect("principal cache");
        m.get(key).filter(|(at, _)| at.elapsed() < PRINCIPAL_TTL).map(|(_, p)| p.clone())
    }
    fn put(&self, key: String, p: Principal) {
        let mut m = self.entries.lock().expect("principal cache");
        if m.len() > 50_000 {
            m.retain(|_, (at, _)| at.elapsed() < PRINCIPAL_TTL);
        }
        m.insert(key, (Instant::now(), p));
    }
    pub fn forget(&self, credential: &str) {
        self.entries.lock().expect("principal cache").remove(&sen_store::dossiers::sha256_hex(credential.as_bytes()));
    }
}

async fn load(state: &AppState, parts: &Parts) -> Result<Option<Principal>, AppError> {
    let bearer = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let jar = CookieJar::from_headers(&parts.headers);
    let credential = bearer.map(str::to_string).or_else(|| jar.get(SESSION_COOKIE).map(|c| c.value().to_string()));
    let Some(credential) = credential else { return Ok(None) };
    let key = sen_store::dossiers::sha256_hex(credential.as_bytes());
    if let Some(p) = state.principals.get(&key) {
        return Ok(Some(p));
    }
    let p = load_uncached(state, parts).await?;
    if let Some(p) = &p {
        state.principals.put(key, p.clone());
    }
    Ok(p)
}

async fn load_uncached(state: &AppState, parts: &Parts) -> Result<Option<Principal>, AppError> {
    let bearer = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let (user_id, csrf) = if let Some(token) = bearer {
        match state.store.api_token_user(token.trim()).await? {
            Some(uid) => (uid, None),
            None => return Err(AppError::Unauthenticated),
        }
    } else {
        let jar = CookieJar::from_headers(&parts.headers);
        let Some(c) = jar.get(SESSION_COOKIE) else { return Ok(None) };
        match state.store.session(c.value()).await? {
            Some(s) => (s.user_id, Some(s.csrf_token)),
            None => return Ok(None),
        }
    };
    principal_for_user(state, user_id, csrf).await.map(Some)
}

/// The principal of a user (for work Sen does on a person's behalf, such as the parts of a
/// bundle they applied for; `csrf` none: no ambient authority).
pub(crate) async fn principal_for_user(
    state: &AppState,
    user_id: i64,
    csrf: Option<String>,
) -> Result<Principal, AppError> {
    let user = state.store.user(user_id).await?;
    if user.disabled {
        return Err(AppError::Forbidden("this account is disabled".into()));
    }
    let roles = state.store.roles(user.id).await?;
    let home_commune = match &user.person_number {
        Some(n) => state.store.person(n).await.ok().map(|p| p.commune_code),
        None => None,
    };
    let home_province = home_commune.as_deref().and_then(|c| {
        state
            .catalogue()
            .agencies
            .iter()
            .find(|a| a.commune_code.as_deref() == Some(c))
            .and_then(|a| a.province_code.clone())
    });
    Ok(Principal { user, roles, csrf, home_commune, home_province })
}

impl<S> FromRequestParts<S> for Principal
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(p) = parts.extensions.get::<Principal>() {
            return Ok(p.clone());
        }
        let st = AppState::from_ref(state);
        let p = load(&st, parts).await?.ok_or(AppError::Unauthenticated)?;
        parts.extensions.insert(p.clone());
        Ok(p)
    }
}

impl<S> OptionalFromRequestParts<S> for Principal
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Option<Self>, Self::Rejection> {
        if let Some(p) = parts.extensions.get::<Principal>() {
            return Ok(Some(p.clone()));
        }
        let st = AppState::from_ref(state);
        let p = load(&st, parts).await?;
        if let Some(p) = &p {
            parts.extensions.insert(p.clone());
        }
        Ok(p)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let from_query =
            parts.uri.query().and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("lang=")).and_then(Lang::parse));
        let from_cookie =
            || CookieJar::from_headers(&parts.headers).get(LANG_COOKIE).and_then(|c| Lang::parse(c.value()));
        Ok(from_query.or_else(from_cookie).unwrap_or(Lang::Vi))
    }
}

/// The session cookie: HttpOnly, SameSite=Lax, Secure unless serving plain HTTP on loopback.
pub fn session_cookie(token: String, secure: bool) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, token)).http_only(true).secure(secure).same_site(SameSite::Lax).path("/").build()
}

/// Failed logins allowed per account and client address within the window.
pub const LOGIN_ATTEMPTS: u32 = 5;
pub const LOGIN_WINDOW: Duration = Duration::from_secs(15 * 60);

/// Counts failed logins per (account, client) in memory. On several nodes each node counts on
/// its own, so the effective limit is per node.
#[derive(Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl LoginLimiter {
    pub fn check(&self, key: &str) -> Result<(), AppError> {
        let mut m = self.failures.lock().expect("limiter lock");
        if let Some((n, since)) = m.get(key) {
            if since.elapsed() > LOGIN_WINDOW {
                m.remove(key);
            } else if *n >= LOGIN_ATTEMPTS {
                return Err(AppError::RateLimited);
            }
        }
        Ok(())
    }
    pub fn failed(&self, key: &str) {
        let mut m = self.failures.lock().expect("limiter lock");
        if m.len() > 100_000 {
            m.retain(|_, (_, since)| since.elapsed() <= LOGIN_WINDOW);
        }
        let e = m.entry(key.to_string()).or_insert((0, Instant::now()));
        e.0 += 1;
    }
    pub fn succeeded(&self, key: &str) {
        self.failures.lock().expect("limiter lock").remove(key);
    }
}
