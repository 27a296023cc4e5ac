//! HTTP routes of the trust layer: CA certificates and CRLs at stable addresses, the
//! RFC 3161 time-stamping authority, verification (page and API), result downloads,
//! signed work records, and the Merkle log's checkpoint and proofs.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use maud::html;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Principal;
use crate::error::{AppError, AppResult, Problem};
use crate::i18n::Lang;
use crate::pages::{OrPage, PageResult, fmt_time, html_page, read_multipart};
use sen_trust::cert::RevocationReason;
use sen_trust::verify::Verdict;

/// Largest file accepted for verification.
pub const MAX_VERIFY_BYTES: usize = 20 * 1024 * 1024;

fn der_response(content_type: &'static str, filename: &str, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        ],
        bytes,
    )
        .into_response()
}

async fn root_crt(State(st): State<AppState>) -> AppResult<Response> {
    Ok(der_response("application/pkix-cert", "sen-root-ca.crt", st.trust.ca_certificate(true).await?))
}

async fn issuing_crt(State(st): State<AppState>) -> AppResult<Response> {
    Ok(der_response("application/pkix-cert", "sen-issuing-ca.crt", st.trust.ca_certificate(false).await?))
}

fn pem(label: &str, der_bytes: &[u8]) -> String {
    let b = B64.encode(der_bytes);
    let lines: Vec<&str> = b.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap_or_default()).collect();
    format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", lines.join("\n"))
}

/// The issuing CA then the root, PEM: what `openssl -CAfile` wants.
async fn chain_pem(State(st): State<AppState>) -> AppResult<Response> {
    let issuing = st.trust.ca_certificate(false).await?;
    let root = st.trust.ca_certificate(true).await?;
    let body = format!("{}{}", pem("CERTIFICATE", &issuing), pem("CERTIFICATE", &root));
    Ok(([(header::CONTENT_TYPE, "application/x-pem-file")], body).into_response())
}

async fn root_crl(State(st): State<AppState>) -> AppResult<Response> {
    Ok(der_response("application/pkix-crl", "sen-root-ca.crl", st.trust.crl(true).await?))
}

async fn issuing_crl(State(st): State<AppState>) -> AppResult<Response> {
    Ok(der_response("application/pkix-crl", "sen-issuing-ca.crl", st.trust.crl(false).await?))
}

/// RFC 3161 over HTTP (RFC 3161 §3.4): a DER `TimeStampReq` in, a `TimeStampResp` out.
async fn tsa(State(st): State<AppState>, headers: HeaderMap, body: Bytes) -> AppResult<Response> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !ct.starts_with("application/timestamp-query") {
        return Err(AppError::bad("unsupported_media_type", "send a DER TimeStampReq as application/timestamp-query"));
    }
    if body.len() > 64 * 1024 {
        return Err(AppError::BodyTooLarge);
    }
    let reply = st.trust.time_stamp(&body).await?;
    Ok(([(header::CONTENT_TYPE, "application/timestamp-reply")], reply).into_response())
}

/// Reads the file to verify (and, for a detached `.p7s`, the signed file) from a form.
async fn verify_inputs(mp: Multipart) -> AppResult<(Vec<u8>, Option<Vec<u8>>)> {
    let form = read_multipart(mp, MAX_VERIFY_BYTES).await?;
    let mut signature = None;
    let mut content = None;
    for (name, f) in form.files {
        match name.as_str() {
            "content" | "document" => content = Some(f.content),
            _ if signature.is_none() => signature = Some(f.content),
            _ => content = Some(f.content),
        }
    }
    let sig = signature.ok_or_else(|| AppError::field("file", "required", "choose a file to verify"))?;
    Ok((sig, content))
}

/// A PDF on its own is checked against the signature Sen keeps for it.
async fn resolve_pdf(st: &AppState, file: Vec<u8>, content: Option<Vec<u8>>) -> AppResult<(Vec<u8>, Option<Vec<u8>>)> {
    if content.is_none() && file.starts_with(b"%PDF") {
        let hash = sen_store::dossiers::sha256_hex(&file);
        if let Some(r) = st.store.result_by_pdf(&hash).await? {
            return Ok((st.trust.result_p7s(&r).await?, Some(file)));
        }
    }
    Ok((file, content))
}

#[utoipa::path(post, path = "/api/v1/verify", request_body(content_type = "multipart/form-data", description = "`file`: a result JWS (JSON), a `.p7s` or a result PDF; `content`: the signed file of a detached `.p7s`."),
    responses((status = 200, description = "The verdict, valid or not", body = Value), (status = 400, body = Problem), (status = 413, body = Problem)), tag = "trust")]
pub async fn verify_api(State(st): State<AppState>, mp: Multipart) -> AppResult<Json<Verdict>> {
    let (file, content) = verify_inputs(mp).await?;
    let (file, content) = resolve_pdf(&st, file, content).await?;
    Ok(Json(st.trust.verify(&file, content.as_deref())))
}

/// The verdict on a stored result, found by its verification code.
#[derive(Serialize, ToSchema)]
pub struct CodeVerdict {
    pub verification_code: String,
    pub dossier_code: String,
    pub issued_at: DateTime<Utc>,
    /// Verdict on the JAdES JWS of the result document.
    #[schema(value_type = Object)]
    pub document: Verdict,
    /// Verdict on the CAdES signature of the PDF.
    #[schema(value_type = Object)]
    pub pdf: Verdict,
    pub downloads: Downloads,
}

#[derive(Serialize, ToSchema)]
pub struct Downloads {
    pub jws: String,
    pub pdf: String,
    pub p7s: String,
}

async fn code_verdict(st: &AppState, code: &str) -> AppResult<(CodeVerdict, sen_store::trust::ResultRow)> {
    let code = code.trim().to_ascii_uppercase();
    let r = st.store.result_by_code(&code).await?.ok_or(AppError::NotFound("result"))?;
    let jws = st.trust.result_jws(&r).await?;
    let p7s = st.trust.result_p7s(&r).await?;
    let d = st.store.dossier(r.dossier_id).await?;
    let base = format!("/verify/{}", r.verification_code);
    Ok((
        CodeVerdict {
            verification_code: r.verification_code.clone(),
            dossier_code: d.code,
            issued_at: r.issued_at,
            document: st.trust.verify(jws.as_bytes(), None),
            pdf: st.trust.verify(&p7s, Some(&r.pdf)),
            downloads: Downloads {
                jws: format!("{base}/result.json"),
                pdf: format!("{base}/result.pdf"),
                p7s: format!("{base}/result.pdf.p7s"),
            },
        },
        r,
    ))
}

#[utoipa::path(get, path = "/api/v1/verify/{code}", params(("code" = String, Path, description = "The short verification code printed on the result")),
    responses((status = 200, body = CodeVerdict), (status = 404, body = Problem)), tag = "trust")]
pub async fn verify_code_api(State(st): State<AppState>, Path(code): Path<String>) -> AppResult<Json<CodeVerdict>> {
    Ok(Json(code_verdict(&st, &code).await?.0))
}

#[derive(Clone, Copy)]
enum Part {
    Jws,
    Pdf,
    P7s,
}

async fn result_part(
    st: &AppState,
    r: &sen_store::trust::ResultRow,
    dossier_code: &str,
    part: Part,
) -> AppResult<Response> {
    Ok(match part {
        Part::Jws => der_response(
            "application/jose+json",
            &format!("{dossier_code}.json"),
            st.trust.result_jws(r).await?.into_bytes(),
        ),
        Part::Pdf => der_response("application/pdf", &format!("{dossier_code}.pdf"), r.pdf.clone()),
        Part::P7s => der_response(
            "application/pkcs7-signature",
            &format!("{dossier_code}.pdf.p7s"),
            st.trust.result_p7s(r).await?,
        ),
    })
}

async fn public_part(st: AppState, code: String, part: Part) -> AppResult<Response> {
    let (v, r) = code_verdict(&st, &code).await?;
    result_part(&st, &r, &v.dossier_code, part).await
}

async fn public_jws(State(st): State<AppState>, Path(code): Path<String>) -> AppResult<Response> {
    public_part(st, code, Part::Jws).await
}
async fn public_pdf(State(st): State<AppState>, Path(code): Path<String>) -> AppResult<Response> {
    public_part(st, code, Part::Pdf).await
}
async fn public_p7s(State(st): State<AppState>, Path(code): Path<String>) -> AppResult<Response> {
    public_part(st, code, Part::P7s).await
}

async fn own_part(st: AppState, principal: Principal, id: i64, part: Part) -> AppResult<Response> {
    let (d, _) = st.open_dossier(&principal, id, "tải kết quả").await?;
    let r = st.store.result_of(d.id).await?.ok_or(AppError::NotFound("result"))?;
    result_part(&st, &r, &d.code, part).await
}

#[utoipa::path(get, path = "/api/v1/dossiers/{id}/result.jws", params(("id" = i64, Path)), responses((status = 200, description = "The result document as a JAdES JWS (flattened JSON), time-stamped once its batch is stamped", content_type = "application/jose+json"), (status = 404, body = Problem)), tag = "trust")]
pub async fn result_jws(State(st): State<AppState>, p: Principal, Path(id): Path<i64>) -> AppResult<Response> {
    own_part(st, p, id, Part::Jws).await
}
#[utoipa::path(get, path = "/api/v1/dossiers/{id}/result.pdf", params(("id" = i64, Path)), responses((status = 200, description = "The printable result", content_type = "application/pdf"), (status = 404, body = Problem)), tag = "trust")]
pub async fn result_pdf(State(st): State<AppState>, p: Principal, Path(id): Path<i64>) -> AppResult<Response> {
    own_part(st, p, id, Part::Pdf).await
}
#[utoipa::path(get, path = "/api/v1/dossiers/{id}/result.pdf.p7s", params(("id" = i64, Path)), responses((status = 200, description = "Detached CAdES signature of the PDF", content_type = "application/pkcs7-signature"), (status = 404, body = Problem)), tag = "trust")]
pub async fn result_p7s(State(st): State<AppState>, p: Principal, Path(id): Path<i64>) -> AppResult<Response> {
    own_part(st, p, id, Part::P7s).await
}

/// One signed work record and its verdict.
#[derive(Serialize, ToSchema)]
pub struct WorkRecordOut {
    pub seq: i64,
    pub action: String,
    pub at: DateTime<Utc>,
    pub signer_serial: String,
    /// The record as signed (JAdES JWS, flattened JSON).
    #[schema(value_type = Object)]
    pub jws: Value,
    pub record_sha256: String,
    /// Does the record name the previous one's hash (the chain is unbroken)?
    pub chained: bool,
    #[schema(value_type = Object)]
    pub verdict: Verdict,
}

#[utoipa::path(get, path = "/api/v1/dossiers/{id}/work-records", params(("id" = i64, Path)), responses((status = 200, body = Vec<WorkRecordOut>), (status = 404, body = Problem)), tag = "trust")]
pub async fn work_records(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<Json<Vec<WorkRecordOut>>> {
    let (d, _) = st.open_dossier(&p, id, "xem chuỗi phiếu xử lý đã ký").await?;
    Ok(Json(work_records_of(&st, d.id).await?))
}

pub async fn work_records_of(st: &AppState, dossier_id: i64) -> AppResult<Vec<WorkRecordOut>> {
    let mut out = Vec::new();
    let mut previous: Option<String> = None;
    for w in st.store.work_records(dossier_id).await? {
        let jws = st.trust.work_record_jws(&w.jws, w.signature_id).await?;
        let verdict = st.trust.verify(jws.as_bytes(), None);
        let payload = verdict.payload.clone().unwrap_or(Value::Null);
        let recomputed = payload
            .is_object()
            .then(|| sen_store::dossiers::sha256_hex(&serde_json::to_vec(&payload).unwrap_or_default()));
        let chained = payload["previous"].as_str().map(str::to_string) == previous
            && recomputed.as_deref() == Some(w.record_sha256.as_str());
        previous = Some(w.record_sha256.clone());
        out.push(WorkRecordOut {
            seq: w.seq,
            action: w.action,
            at: w.at,
            signer_serial: w.signer_serial,
            jws: serde_json::from_str(&jws).unwrap_or(Value::Null),
            record_sha256: w.record_sha256,
            chained,
            verdict,
        });
    }
    Ok(out)
}

/// A signed checkpoint of the log.
#[derive(Serialize, ToSchema)]
pub struct CheckpointOut {
    pub size: i64,
    /// Base64 SHA-256 Merkle tree hash (RFC 9162).
    pub root: String,
    pub time: DateTime<Utc>,
    /// JWS (flattened JSON) by the log's certificate over `{origin, size, root, time}`.
    #[schema(value_type = Object)]
    pub signed: Value,
    /// Base64 DER RFC 3161 token whose imprint is the root.
    pub timestamp_token: Option<String>,
}

fn checkpoint_out(c: sen_store::log::Checkpoint) -> CheckpointOut {
    CheckpointOut {
        size: c.size,
        root: B64.encode(&c.root),
        time: c.at,
        signed: serde_json::from_str(&c.signed).unwrap_or(Value::Null),
        timestamp_token: c.tst.map(|t| B64.encode(t)),
    }
}

#[utoipa::path(get, path = "/api/v1/log/checkpoint", responses((status = 200, body = CheckpointOut), (status = 404, body = Problem)), tag = "trust")]
pub async fn latest_checkpoint(State(st): State<AppState>) -> AppResult<Json<CheckpointOut>> {
    Ok(Json(checkpoint_out(st.store.latest_checkpoint().await?.ok_or(AppError::NotFound("checkpoint"))?)))
}

#[utoipa::path(get, path = "/api/v1/log/checkpoints/{size}", params(("size" = u64, Path)), responses((status = 200, body = CheckpointOut), (status = 404, body = Problem)), tag = "trust")]
pub async fn checkpoint_at(State(st): State<AppState>, Path(size): Path<u64>) -> AppResult<Json<CheckpointOut>> {
    Ok(Json(checkpoint_out(st.store.checkpoint_at(size).await.map_err(|_| AppError::NotFound("checkpoint"))?)))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct InclusionQuery {
    /// The entry's position (0-based).
    pub index: u64,
    /// The tree size (a checkpoint's); default: the latest checkpoint.
    pub size: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub struct InclusionOut {
    pub index: u64,
    pub size: u64,
    /// Base64 leaf hash: SHA-256(0x00 || entry).
    pub leaf_hash: String,
    /// Base64 hashes, leaf to root (RFC 9162 §2.1.3).
    pub path: Vec<String>,
}

async fn size_or_latest(st: &AppState, size: Option<u64>) -> AppResult<u64> {
    match size {
        Some(s) => Ok(s),
        None => Ok(st.store.latest_checkpoint().await?.ok_or(AppError::NotFound("checkpoint"))?.size as u64),
    }
}

#[utoipa::path(get, path = "/api/v1/log/proof/inclusion", params(InclusionQuery), responses((status = 200, body = InclusionOut), (status = 400, body = Problem), (status = 404, body = Problem)), tag = "trust")]
pub async fn inclusion(State(st): State<AppState>, Query(q): Query<InclusionQuery>) -> AppResult<Json<InclusionOut>> {
    let size = size_or_latest(&st, q.size).await?;
    let (logged, _) = st.store.log_head().await?;
    if q.index >= size || size > logged {
        return Err(AppError::bad("out_of_range", format!("need index < size ≤ {logged}")));
    }
    let (leaf, path) = st.store.inclusion_proof(q.index, size).await?;
    Ok(Json(InclusionOut {
        index: q.index,
        size,
        leaf_hash: B64.encode(leaf),
        path: path.iter().map(|h| B64.encode(h)).collect(),
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ConsistencyQuery {
    pub from: u64,
    /// Default: the latest checkpoint.
    pub to: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub struct ConsistencyOut {
    pub from: u64,
    pub to: u64,
    /// Base64 hashes (RFC 9162 §2.1.4).
    pub proof: Vec<String>,
}

#[utoipa::path(get, path = "/api/v1/log/proof/consistency", params(ConsistencyQuery), responses((status = 200, body = ConsistencyOut), (status = 400, body = Problem)), tag = "trust")]
pub async fn consistency(
    State(st): State<AppState>,
    Query(q): Query<ConsistencyQuery>,
) -> AppResult<Json<ConsistencyOut>> {
    let to = size_or_latest(&st, q.to).await?;
    let (logged, _) = st.store.log_head().await?;
    if q.from == 0 || q.from > to || to > logged {
        return Err(AppError::bad("out_of_range", format!("need 0 < from ≤ to ≤ {logged}")));
    }
    let proof = st.store.consistency_proof(q.from, to).await?;
    Ok(Json(ConsistencyOut { from: q.from, to, proof: proof.iter().map(|h| B64.encode(h)).collect() }))
}

#[derive(Serialize, ToSchema)]
pub struct LogEntryOut {
    pub seq: i64,
    /// The entry exactly as hashed into its leaf.
    pub body: String,
    pub logged_at: DateTime<Utc>,
}

#[utoipa::path(get, path = "/api/v1/log/entries/{seq}", params(("seq" = u64, Path)), responses((status = 200, body = LogEntryOut), (status = 403, body = Problem), (status = 404, body = Problem)), tag = "trust")]
pub async fn log_entry(State(st): State<AppState>, p: Principal, Path(seq): Path<u64>) -> AppResult<Json<LogEntryOut>> {
    if !p.is_admin() {
        return Err(AppError::Forbidden("log entries name people: auditors (system administrators) only".into()));
    }
    let e = st.store.log_entry(seq).await.map_err(|_| AppError::NotFound("log entry"))?;
    Ok(Json(LogEntryOut { seq: e.seq, body: e.body, logged_at: e.logged_at }))
}

#[derive(Serialize, ToSchema)]
pub struct CertificateOut {
    pub serial: String,
    pub kind: String,
    pub subject: String,
    pub agency_id: Option<i64>,
    pub user_id: Option<i64>,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    pub status: String,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revocation_reason: Option<String>,
    /// Base64 DER.
    pub certificate: String,
}

fn cert_out(c: sen_store::trust::CertRow) -> CertificateOut {
    CertificateOut {
        serial: c.serial,
        kind: c.kind,
        subject: c.subject,
        agency_id: c.agency_id,
        user_id: c.user_id,
        not_before: c.not_before,
        not_after: c.not_after,
        status: c.status,
        revoked_at: c.revoked_at,
        revocation_reason: c.revocation_reason,
        certificate: B64.encode(c.der),
    }
}

#[utoipa::path(get, path = "/api/v1/ca/certificates/{serial}", params(("serial" = String, Path, description = "Hex serial number")), responses((status = 200, body = CertificateOut), (status = 404, body = Problem)), tag = "trust")]
pub async fn certificate(State(st): State<AppState>, Path(serial): Path<String>) -> AppResult<Json<CertificateOut>> {
    Ok(Json(cert_out(
        st.store.cert_by_serial(&serial.to_ascii_lowercase()).await.map_err(|_| AppError::NotFound("certificate"))?,
    )))
}

#[derive(Deserialize, ToSchema)]
pub struct RevokeIn {
    /// `keyCompromise`, `affiliationChanged`, `superseded`, `cessationOfOperation` or `unspecified`.
    pub reason: String,
}

#[utoipa::path(post, path = "/api/v1/ca/certificates/{serial}/revoke", params(("serial" = String, Path)), request_body = RevokeIn,
    responses((status = 200, body = CertificateOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)), tag = "trust")]
pub async fn revoke(
    State(st): State<AppState>,
    p: Principal,
    Path(serial): Path<String>,
    crate::api::JsonBody(input): crate::api::JsonBody<RevokeIn>,
) -> AppResult<Json<CertificateOut>> {
    if !p.is_admin() {
        return Err(AppError::Forbidden("only system administrators revoke certificates".into()));
    }
    let reason = RevocationReason::parse(&input.reason)
        .ok_or_else(|| AppError::field("reason", "enum", "unknown revocation reason"))?;
    let row = st.trust.revoke(&serial.to_ascii_lowercase(), reason, &st.actor(&p, None)).await?;
    Ok(Json(cert_out(row)))
}

#[utoipa::path(post, path = "/api/v1/agencies/{id}/seal/rotate", params(("id" = i64, Path)),
    responses((status = 200, body = CertificateOut), (status = 403, body = Problem)), tag = "trust")]
pub async fn rotate_seal(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> AppResult<Json<CertificateOut>> {
    let agency_admin = p.roles.iter().any(|r| r.agency_id == id && r.role == "agency_admin");
    if !p.is_admin() && !agency_admin {
        return Err(AppError::Forbidden("only the agency's administrators rotate its seal".into()));
    }
    let row = st.trust.rotate_seal(id, &st.actor(&p, Some(id))).await?;
    Ok(Json(cert_out(row)))
}

pub fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/verify", post(verify_api))
        .route("/verify/{code}", get(verify_code_api))
        .route("/dossiers/{id}/result.jws", get(result_jws))
        .route("/dossiers/{id}/result.pdf", get(result_pdf))
        .route("/dossiers/{id}/result.pdf.p7s", get(result_p7s))
        .route("/dossiers/{id}/work-records", get(work_records))
        .route("/log/checkpoint", get(latest_checkpoint))
        .route("/log/checkpoints/{size}", get(checkpoint_at))
        .route("/log/proof/inclusion", get(inclusion))
        .route("/log/proof/consistency", get(consistency))
        .route("/log/entries/{seq}", get(log_entry))
        .route("/ca/certificates/{serial}", get(certificate))
        .route("/ca/certificates/{serial}/revoke", post(revoke))
        .route("/agencies/{id}/seal/rotate", post(rotate_seal))
}

pub fn public_routes() -> Router<AppState> {
    Router::new()
        .route("/ca/root.crt", get(root_crt))
        .route("/ca/issuing.crt", get(issuing_crt))
        .route("/ca/chain.pem", get(chain_pem))
        .route("/ca/root.crl", get(root_crl))
        .route("/ca/issuing.crl", get(issuing_crl))
        .route("/tsa", post(tsa))
        .route("/verify", get(verify_page).post(verify_upload_page))
        .route("/verify/{code}", get(verify_code_page))
        .route("/verify/{code}/result.json", get(public_jws))
        .route("/verify/{code}/result.pdf", get(public_pdf))
        .route("/verify/{code}/result.pdf.p7s", get(public_p7s))
}

// ---- pages ----

#[derive(Deserialize)]
struct CodeQuery {
    code: Option<String>,
}

fn verify_form(lang: Lang) -> maud::Markup {
    html! {
        form.card method="post" action="/verify" enctype="multipart/form-data" {
            h2 { (lang.t("Kiểm tra tệp", "Check a file")) }
            p.hint { (lang.t(
                "Tệp kết quả dạng JSON (JWS), tệp PDF kết quả, hoặc chữ ký .p7s kèm tệp PDF đã ký.",
                "A result JSON (JWS), a result PDF, or a .p7s signature with the signed PDF.")) }
            label for="file" { (lang.t("Tệp cần kiểm tra", "File to check")) }
            input #file type="file" name="file" required;
            label for="content" { (lang.t("Tệp đã ký (nếu chữ ký tách rời .p7s)", "Signed file (for a detached .p7s)")) }
            input #content type="file" name="content";
            button type="submit" { (lang.t("Kiểm tra", "Verify")) }
        }
        form.card method="get" action="/verify" {
            h2 { (lang.t("Nhập mã xác thực", "Type the verification code")) }
            label for="code" { (lang.t("Mã xác thực in trên kết quả", "Code printed on the result")) }
            input #code type="text" name="code" autocomplete="off" placeholder="XXXX-XXXX-XXXX";
            button type="submit" { (lang.t("Tra cứu", "Look up")) }
        }
    }
}

fn verdict_view(lang: Lang, v: &Verdict) -> maud::Markup {
    let status_text = |s: &str| match s {
        "valid" => lang.t("còn hiệu lực", "valid"),
        "revoked" => lang.t("đã bị thu hồi", "revoked"),
        "expired" => lang.t("đã hết hạn", "expired"),
        _ => lang.t("chưa có hiệu lực", "not yet valid"),
    };
    html! {
        div class=(if v.valid { "verdict ok" } else { "verdict bad" }) role="status" {
            @if v.valid {
                p.big { "✔ " (lang.t("Chữ ký hợp lệ, nội dung toàn vẹn.", "Valid signature; the content is intact.")) }
            } @else {
                p.big { "✘ " (lang.t("Không hợp lệ", "Not valid")) ": " (verdict_reason(lang, v.code)) }
                @if let Some(r) = &v.reason { p.hint { (r) } }
            }
            dl.facts {
                @if let Some(f) = v.format { dt { (lang.t("Định dạng", "Format")) } dd { (f) } }
                dt { (lang.t("Nội dung", "Content")) } dd { (if v.intact { lang.t("toàn vẹn", "intact") } else { lang.t("đã bị thay đổi hoặc không đọc được", "changed or unreadable") }) }
                @if let Some(s) = &v.signer {
                    dt { (lang.t("Người ký", "Signer")) } dd { (s.subject) }
                    @if let Some(o) = &s.organization { dt { (lang.t("Cơ quan", "Agency")) } dd { (o) } }
                    dt { (lang.t("Số hiệu chứng thư", "Certificate serial")) } dd { code { (s.serial) } }
                }
                @if let Some(t) = v.signing_time { dt { (lang.t("Thời điểm ký (khai báo)", "Signing time (claimed)")) } dd { (fmt_time(t)) } }
                @if let Some(ts) = &v.timestamp {
                    dt { (lang.t("Dấu thời gian", "Time-stamp")) }
                    dd { (fmt_time(ts.time)) " — " (ts.authority) " (" (lang.t("lô", "batch of")) " " (ts.batch_size) ")" }
                }
                @if let Some(c) = &v.certificate {
                    dt { (lang.t("Chứng thư tại thời điểm ký", "Certificate at signing time")) }
                    dd {
                        (status_text(c.status))
                        @if let Some(at) = c.revoked_at { " · " (lang.t("thu hồi lúc", "revoked at")) " " (fmt_time(at)) @if let Some(r) = c.revocation_reason { " (" (r) ")" } }
                        " · " (lang.t("hết hạn", "expires")) " " (fmt_time(c.not_after))
                    }
                }
            }
        }
    }
}

fn verdict_reason(lang: Lang, code: &str) -> &'static str {
    match code {
        "not_signed" => lang.t("tệp không phải văn bản đã ký của Sen", "the file is not a signed Sen document"),
        "malformed" => lang.t("tệp bị cắt cụt hoặc hỏng", "the file is truncated or damaged"),
        "signature_invalid" => lang.t("chữ ký không khớp với nội dung", "the signature does not match the content"),
        "content_changed" => lang.t("nội dung đã bị thay đổi sau khi ký", "the content was changed after signing"),
        "content_missing" => lang.t("cần kèm tệp đã ký", "the signed file is needed too"),
        "unknown_issuer" => lang.t("chứng thư không do Sen cấp", "the certificate was not issued by Sen"),
        "wrong_key_usage" => {
            lang.t("chứng thư không dùng để ký văn bản", "the certificate is not for signing documents")
        }
        "certificate_revoked" => {
            lang.t("chứng thư đã bị thu hồi trước khi ký", "the certificate was revoked before signing")
        }
        "certificate_expired" => lang.t("chứng thư đã hết hạn", "the certificate had expired"),
        "certificate_not_yet_valid" => lang.t("chứng thư chưa có hiệu lực", "the certificate was not yet valid"),
        "timestamp_invalid" => lang.t("dấu thời gian không hợp lệ", "the time-stamp is not valid"),
        _ => lang.t("không xác định", "unknown"),
    }
}

async fn verify_page(lang: Lang, who: Option<Principal>, Query(q): Query<CodeQuery>) -> PageResult {
    if let Some(code) = q.code.filter(|c| !c.trim().is_empty()) {
        let target = format!("/verify/{}", code.trim().to_ascii_uppercase());
        return Ok(axum::response::Redirect::to(&target).into_response());
    }
    let body = html! {
        h1 { (lang.t("Kiểm tra văn bản điện tử", "Verify an electronic document")) }
        p { (lang.t(
            "Ai cũng có thể kiểm tra kết quả do Sen cấp: ai đã ký, cơ quan nào, khi nào, chứng thư còn hiệu lực không và nội dung có bị sửa không.",
            "Anyone can check a result issued through Sen: who signed it, for which agency, when, whether the certificate was valid and whether the content was changed.")) }
        (verify_form(lang))
        p.hint { (lang.t("Chứng thư gốc và danh sách thu hồi:", "Root certificate and revocation list:")) " "
            a href="/ca/chain.pem" { "chain.pem" } " · " a href="/ca/issuing.crl" { "issuing.crl" } " · " a href="/ca/root.crl" { "root.crl" } }
    };
    Ok(html_page(lang, None, who.as_ref(), lang.t("Kiểm tra văn bản", "Verify"), body))
}

async fn verify_upload_page(
    State(st): State<AppState>,
    lang: Lang,
    who: Option<Principal>,
    mp: Multipart,
) -> PageResult {
    let (file, content) = verify_inputs(mp).await.page(lang)?;
    let (file, content) = resolve_pdf(&st, file, content).await.page(lang)?;
    let v = st.trust.verify(&file, content.as_deref());
    let body = html! {
        h1 { (lang.t("Kết quả kiểm tra", "Verification result")) }
        (verdict_view(lang, &v))
        (verify_form(lang))
    };
    // A verdict is an answer, valid or not: 200 either way.
    Ok((StatusCode::OK, html_page(lang, None, who.as_ref(), lang.t("Kết quả kiểm tra", "Verification result"), body))
        .into_response())
}

async fn verify_code_page(
    State(st): State<AppState>,
    lang: Lang,
    who: Option<Principal>,
    Path(code): Path<String>,
) -> PageResult {
    let (v, _) = code_verdict(&st, &code).await.page(lang)?;
    let doc = v.document.payload.clone().unwrap_or(Value::Null);
    let body = html! {
        h1 { (lang.t("Kết quả giải quyết thủ tục", "Result of a procedure")) " " code { (v.verification_code) } }
        dl.facts {
            dt { (lang.t("Văn bản", "Document")) } dd { (doc["document"].as_str().unwrap_or_default()) }
            dt { (lang.t("Thủ tục", "Procedure")) } dd { (doc["procedure"]["name"].as_str().unwrap_or_default()) }
            dt { (lang.t("Người được cấp", "Holder")) } dd { (doc["holder"].as_str().unwrap_or_default()) }
            dt { (lang.t("Cơ quan cấp", "Issued by")) } dd { (doc["agency"]["name"].as_str().unwrap_or_default()) }
            dt { (lang.t("Mã hồ sơ", "Dossier code")) } dd { (v.dossier_code) }
            dt { (lang.t("Ngày cấp", "Issued")) } dd { (fmt_time(v.issued_at)) }
        }
        h2 { (lang.t("Văn bản điện tử (JSON, JAdES)", "Electronic document (JSON, JAdES)")) }
        (verdict_view(lang, &v.document))
        h2 { (lang.t("Bản in (PDF, CAdES)", "Printable copy (PDF, CAdES)")) }
        (verdict_view(lang, &v.pdf))
        p {
            a href=(v.downloads.pdf) { (lang.t("Tải PDF", "Download PDF")) } " · "
            a href=(v.downloads.p7s) { (lang.t("Tải chữ ký .p7s", "Download .p7s signature")) } " · "
            a href=(v.downloads.jws) { (lang.t("Tải văn bản JSON đã ký", "Download signed JSON")) }
        }
    };
    Ok(html_page(lang, None, who.as_ref(), lang.t("Kiểm tra kết quả", "Verify a result"), body))
}
