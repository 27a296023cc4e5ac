//! The one error type of the HTTP edge, rendered as RFC 9457 `application/problem+json` with a
//! stable `code`. Pages render the same errors as HTML.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use sen_domain::eform::FieldError;
use sen_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{detail}")]
    BadRequest { code: &'static str, detail: String, pointer: Option<String> },
    #[error("sign in first")]
    Unauthenticated,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{detail}")]
    Conflict { code: &'static str, detail: String, state: Option<String>, version: Option<i64> },
    #[error("the submitted data is not valid")]
    Invalid(Vec<FieldError>),
    #[error("the upload exceeds the limit of {limit} bytes per file")]
    TooLarge { limit: usize },
    #[error("the request body is larger than this server accepts")]
    BodyTooLarge,
    #[error("too many attempts; try again later")]
    RateLimited,
    #[error("internal error")]
    Internal(String),
    /// A read on consent without an effective consent of the data's subject.
    #[error("{0}")]
    ConsentRequired(String),
    /// A service this answer depends on did not answer.
    #[error("{0}")]
    Unavailable(String),
}

impl AppError {
    pub fn bad(code: &'static str, detail: impl Into<String>) -> Self {
        AppError::BadRequest { code, detail: detail.into(), pointer: None }
    }

    pub fn field(field: &str, code: &str, message: &str) -> Self {
        AppError::Invalid(vec![FieldError {
            field: field.to_string(),
            pointer: format!("/{field}"),
            code: code.to_string(),
            message: message.to_string(),
        }])
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::TooLarge { .. } | AppError::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            AppError::ConsentRequired(_) => StatusCode::FORBIDDEN,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::BadRequest { code, .. } => code,
            AppError::Unauthenticated => "authentication_required",
            AppError::Forbidden(_) => "forbidden",
            AppError::NotFound(_) => "not_found",
            AppError::Conflict { code, .. } => code,
            AppError::Invalid(_) => "validation_failed",
            AppError::TooLarge { .. } | AppError::BodyTooLarge => "payload_too_large",
            AppError::RateLimited => "rate_limited",
            AppError::Internal(_) => "internal_error",
            AppError::ConsentRequired(_) => "consent_required",
            AppError::Unavailable(_) => "service_unavailable",
        }
    }

    pub fn problem(&self) -> Problem {
        let status = self.status();
        let mut p = Problem {
            kind: format!("urn:sen:problem:{}", self.code()),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            code: self.code().to_string(),
            detail: self.to_string(),
            pointer: None,
            errors: Vec::new(),
            current_state: None,
            current_version: None,
        };
        match self {
            AppError::BadRequest { pointer, .. } => p.pointer = pointer.clone(),
            AppError::Invalid(errors) => p.errors = errors.clone(),
            AppError::Conflict { state, version, .. } => {
                p.current_state = state.clone();
                p.current_version = *version;
            }
            AppError::Internal(_) => p.detail = "an internal error occurred; it has been logged".into(),
            _ => {}
        }
        p
    }
}

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// Stable error code, e.g. `validation_failed`, `illegal_transition`, `stale_version`.
    pub code: String,
    pub detail: String,
    /// JSON pointer to the offending part of a malformed request body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
    /// One entry per invalid field (422).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_version: Option<i64>,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Internal(e) = &self {
            tracing::error!(error = %e, "internal error");
        }
        let status = self.status();
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        (status, [(header::CONTENT_TYPE, "application/problem+json")], body).into_response()
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => AppError::NotFound("record"),
            StoreError::Conflict { state, version } => AppError::Conflict {
                code: "stale_version",
                detail: format!("the dossier was changed meanwhile; it is now {state} at version {version}"),
                state: Some(state),
                version: Some(version),
            },
            StoreError::Transition(t) => AppError::Conflict {
                code: "illegal_transition",
                detail: t.to_string(),
                state: Some(t.from.as_str().to_string()),
                version: None,
            },
            StoreError::Duplicate(what) => AppError::Conflict {
                code: "duplicate",
                detail: format!("{what} already exists"),
                state: None,
                version: None,
            },
            StoreError::Invalid(m) => AppError::bad("invalid_request", m),
            StoreError::IdempotencyMismatch => AppError::Conflict {
                code: "idempotency_key_reused",
                detail: "this Idempotency-Key was already used for a different request".into(),
                state: None,
                version: None,
            },
            StoreError::Closed => AppError::Internal("store closed".into()),
            StoreError::Journal(e) => AppError::Internal(format!("journal: {e}")),
            StoreError::Database(e) => AppError::Internal(e.to_string()),
        }
    }
}

pub type AppResult<T> = Result<T, AppError>;
