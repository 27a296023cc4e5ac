//! "Who read my data" (issue #4): every read of a person's or an enterprise's data that the
//! base registries answered — which agency, which system, which official where known, for
//! what, when, through which exchange message. The registries keep these records at the
//! source (each with an entry of their tamper-evident log, `sen_store::data_reads`); the portal
//! asks each registry for them through its own gateway, like any other read, and shows them
//! to the subject only. Page `/my-data`, API `GET /api/v1/me/data-reads`.

use crate::AppState;
use crate::auth::Principal;
use crate::error::{AppError, AppResult, Problem};
use crate::i18n::Lang;
use crate::pages::{OrPage, PageResult, fmt_time, html_page};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use maud::html;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// How the portal reaches the exchange: its member's gateway, and the subsystem it calls as.
#[derive(Debug, Clone)]
pub struct ExchangeClient {
    /// The client proxy of the portal's gateway, e.g. `http://127.0.0.1:8081`.
    pub gateway: String,
    /// The portal's subsystem, e.g. `VN/GOV/VPCP/DVCQG`.
    pub client: String,
}

/// The issue (`X-Road-Issue`) the portal names when it lists a subject's reads.
pub const WHO_READ_ISSUE: &str = "who-read-my-data";

/// How long the portal waits for one registry's list.
const READS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DataReadOut {
    /// The registry service read, `INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE`.
    pub service: String,
    /// Who read: the client system, `INSTANCE/CLASS/MEMBER/SUBSYSTEM`.
    pub client: String,
    /// The client's organisation, by its name in the directory.
    #[serde(default)]
    pub client_name: Option<String>,
    /// The official, where the caller named one.
    pub user_id: Option<String>,
    /// Why: the procedure or dossier.
    pub purpose: Option<String>,
    pub message_id: Option<String>,
    pub read_at: DateTime<Utc>,
    /// SHA-256 of the registry's record, as its tamper-evident log holds it.
    pub digest: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DataReadsOut {
    pub reads: Vec<DataReadOut>,
    /// Registries that could not be asked just now (their service identifiers).
    pub unavailable: Vec<String>,
}

#[derive(Deserialize)]
struct ReadsAnswer {
    reads: Vec<DataReadOut>,
}

impl AppState {
    /// The reads of the caller's own data, newest first, from every registry that holds data
    /// of their kind.
    pub async fn my_data_reads(&self, principal: &Principal) -> AppResult<DataReadsOut> {
        let (kind, id) = crate::consent_http::subject(principal)?;
        let exchange = self.config.exchange.clone().ok_or_else(|| {
            AppError::bad("exchange_not_configured", "this portal is not connected to the data exchange")
        })?;
        let kind = kind.as_str();
        let services: Vec<&crate::registry_http::RegistryService> = crate::registry_http::REGISTRY_SERVICES
            .iter()
            .filter(|s| match kind {
                "enterprise" => ["enterprises", "land"].contains(&s.code),
                _ => s.code != "enterprises",
            })
            .collect();
        // One task per registry, asked at once; each answers or is named unavailable.
        let calls: Vec<_> = services
            .iter()
            .map(|s| {
                let url = format!("{}/r1/{}/reads/{kind}/{id}", exchange.gateway.trim_end_matches('/'), s.id());
                let request = self
                    .http
                    .get(url)
                    .timeout(READS_TIMEOUT)
                    .header("X-Road-Client", &exchange.client)
                    .header("X-Road-Issue", WHO_READ_ISSUE);
                tokio::spawn(async move {
                    let answer = request.send().await.ok().filter(|r| r.status().is_success())?;
                    answer.json::<ReadsAnswer>().await.ok()
                })
            })
            .collect();
        let directory = self.store.exchange_directory().await?;
        let mut out = DataReadsOut { reads: vec![], unavailable: vec![] };
        for (s, call) in services.iter().zip(calls) {
            match call.await.ok().flatten() {
                Some(a) => out.reads.extend(a.reads),
                None => out.unavailable.push(s.id()),
            }
        }
        for r in &mut out.reads {
            r.client_name = sen_exchange::ClientId::parse(&r.client)
                .ok()
                .and_then(|c| directory.member(&c.member).map(|m| m.name.clone()));
        }
        out.reads.sort_by_key(|r| std::cmp::Reverse(r.read_at));
        Ok(out)
    }
}

#[utoipa::path(get, path = "/api/v1/me/data-reads",
    responses((status = 200, body = DataReadsOut), (status = 400, body = Problem), (status = 403, body = Problem)), tag = "exchange")]
pub async fn list(State(st): State<AppState>, p: Principal) -> AppResult<Json<DataReadsOut>> {
    Ok(Json(st.my_data_reads(&p).await?))
}

pub fn api_routes() -> Router<AppState> {
    Router::new().route("/me/data-reads", get(list))
}

pub async fn page(State(st): State<AppState>, lang: Lang, who: Principal) -> PageResult {
    let title = lang.t("Ai đã đọc dữ liệu của tôi", "Who read my data");
    if st.config.exchange.is_none() {
        crate::consent_http::subject(&who).page(lang)?;
        let body = html! {
            h1 { (title) }
            div.notice role="status" { p { (lang.t(
                "Cổng dịch vụ công này chưa được kết nối với nền tảng trao đổi dữ liệu, nên chưa hỏi được các cơ sở dữ liệu quốc gia về những lượt đọc dữ liệu của bạn.",
                "This portal is not connected to the data exchange yet, so it cannot ask the national databases who read your data.")) } }
        };
        return Ok(html_page(lang, None, Some(&who), title, body));
    }
    let data = st.my_data_reads(&who).await.page(lang)?;
    let catalogue = st.catalogue();
    // A purpose that is a procedure's code reads as the procedure's name.
    let purpose = |p: &Option<String>| match p.as_deref() {
        None => "—".to_string(),
        Some(code) => match catalogue.by_code(code) {
            Some(proc_) => format!("{} ({code})", lang.t(&proc_.name, &proc_.name_en)),
            None => code.to_string(),
        },
    };
    let body = html! {
        h1 { (title) }
        p { (lang.t(
            "Mỗi lần một cơ quan, tổ chức đọc dữ liệu của bạn từ các cơ sở dữ liệu quốc gia, cơ sở dữ liệu ghi lại: ai đọc, từ hệ thống nào, cán bộ nào (nếu có), vì việc gì và lúc nào. Bản ghi được đưa vào sổ nhật ký chống sửa đổi của cơ sở dữ liệu đó.",
            "Every time an agency or organisation reads your data from the national databases, the database records who read it, from which system, which official (where known), for what and when. Each record goes into that database's tamper-evident log.")) }
        @if !data.unavailable.is_empty() {
            div.notice role="status" {
                p { (lang.t("Chưa lấy được danh sách từ:", "Could not reach just now:")) " "
                    @for (i, s) in data.unavailable.iter().enumerate() { @if i > 0 { ", " } code { (s) } } }
            }
        }
        @if data.reads.is_empty() { p { (lang.t("Chưa có lượt đọc nào được ghi nhận.", "No read recorded yet.")) } } @else {
            table {
                caption { (title) }
                thead { tr {
                    th scope="col" { (lang.t("Thời gian", "When")) }
                    th scope="col" { (lang.t("Cơ quan, tổ chức", "Who")) }
                    th scope="col" { (lang.t("Hệ thống", "System")) }
                    th scope="col" { (lang.t("Cán bộ", "Official")) }
                    th scope="col" { (lang.t("Dữ liệu", "Data")) }
                    th scope="col" { (lang.t("Mục đích", "Purpose")) }
                } }
                tbody { @for r in &data.reads {
                    tr {
                        td { (fmt_time(r.read_at)) }
                        td { (r.client_name.clone().unwrap_or_else(|| r.client.clone())) }
                        td { code { (r.client) } }
                        td { (r.user_id.clone().unwrap_or_else(|| "—".into())) }
                        td { code { (r.service) } }
                        td { (purpose(&r.purpose)) }
                    }
                } }
            }
        }
    };
    Ok(html_page(lang, None, Some(&who), title, body))
}
