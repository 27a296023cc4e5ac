//! The exchange directory's page (`/admin/exchange`): the members, their systems, services
//! and rights, with forms for what the viewer may change. Forms post without JavaScript;
//! a refused change shows the page again with the reason, and changes nothing.

use crate::AppState;
use crate::auth::Principal;
use crate::error::AppError;
use crate::exchange_http::{MemberIn, RightIn, ServiceIn, SubsystemIn, may_administer};
use crate::i18n::Lang;
use crate::pages::{OrPage, PageResult, html_page};
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use maud::{Markup, html};
use sen_exchange::{ClientId, Directory};
use std::collections::HashMap;

fn title(lang: Lang) -> &'static str {
    lang.t("Danh bạ trao đổi dữ liệu", "Data exchange directory")
}

fn text_field(id: &str, name: &str, label: &str, hint: Option<&str>) -> Markup {
    html! {
        div.field {
            label for=(id) { (label) }
            @if let Some(h) = hint { p.hint { (h) } }
            input #(id) type="text" name=(name);
        }
    }
}

fn body(lang: Lang, who: &Principal, d: &Directory, error: Option<&str>, figures: Option<Markup>) -> Markup {
    let csrf = who.csrf.clone().unwrap_or_default();
    let mine: Vec<&sen_exchange::directory::Member> = d.members.iter().filter(|m| may_administer(who, m)).collect();
    let providers: Vec<String> = mine
        .iter()
        .flat_map(|m| {
            m.subsystems
                .iter()
                .map(|s| ClientId { member: m.member.clone(), subsystem: Some(s.code.clone()) }.to_string())
        })
        .collect();
    let services: Vec<String> = mine
        .iter()
        .flat_map(|m| {
            m.subsystems
                .iter()
                .flat_map(move |s| s.services.iter().map(move |svc| format!("{}/{}/{}", m.member, s.code, svc.code)))
        })
        .collect();
    html! {
        h1 { (title(lang)) }
        @if let Some(f) = figures { (f) }
        p { (lang.t(
            "Các thành viên, hệ thống thông tin, dịch vụ và quyền truy cập của nền tảng trao đổi dữ liệu. Mọi thay đổi đều được ghi nhật ký.",
            "Members, information systems, services and access rights of the data exchange. Every change is logged.")) }
        @if let Some(e) = error { div.error-summary role="alert" { h2 { (lang.t("Chưa lưu được", "Not saved")) } p { (e) } } }
        @for m in &d.members {
            section {
                h2 { (m.name) " " code { (m.member.to_string()) } }
                @if m.subsystems.is_empty() { p { (lang.t("Chưa có hệ thống thông tin.", "No information system yet.")) } }
                @for s in &m.subsystems {
                    h3 { (s.name) " " code { (s.code) } }
                    @if s.services.is_empty() { p { (lang.t("Chưa đăng ký dịch vụ.", "No service registered.")) } } @else {
                        table {
                            caption { (lang.t("Dịch vụ", "Services")) " · " (s.name) }
                            thead { tr { th scope="col" { (lang.t("Mã", "Code")) } th scope="col" { (lang.t("Tên", "Title")) } th scope="col" { (lang.t("Địa chỉ", "Address")) } th scope="col" { (lang.t("Quyền truy cập", "Access rights")) } } }
                            tbody { @for svc in &s.services { tr {
                                td { code { (svc.code) } @if svc.disabled { " (" (lang.t("tạm dừng", "off")) ")" } }
                                td { (svc.title) }
                                td { code { (svc.base_url) } }
                                td { ul { @for r in &svc.rights { li {
                                    code { (r.client.to_string()) } " " (r.method) " " code { (r.path) }
                                    @if may_administer(who, m) {
                                        form.inline method="post" action={"/admin/exchange/rights/" (r.id) "/revoke"} {
                                            input type="hidden" name="csrf" value=(csrf);
                                            button type="submit" aria-label={(lang.t("Thu hồi quyền của ", "Revoke the right of ")) (r.client.to_string())} { (lang.t("Thu hồi", "Revoke")) }
                                        }
                                    }
                                } } } }
                            } } }
                        }
                    }
                }
            }
        }
        section {
            h2 { (lang.t("Cổng kết nối (máy chủ an ninh)", "Gateways (security servers)")) }
            @if d.gateways.is_empty() {
                p { (lang.t("Chưa có cổng kết nối nào. Đăng ký bằng lệnh sen exchange enrol-gateway.", "No gateway yet. Enrol one with sen exchange enrol-gateway.")) }
            } @else {
                table {
                    caption { (lang.t("Cổng kết nối", "Gateways")) }
                    thead { tr {
                        th scope="col" { (lang.t("Cổng", "Gateway")) } th scope="col" { (lang.t("Địa chỉ", "Address")) }
                        th scope="col" { (lang.t("Phục vụ", "Serves")) } th scope="col" { (lang.t("Chứng thư TLS (SHA-256)", "TLS certificate (SHA-256)")) }
                    } }
                    tbody { @for g in &d.gateways { tr {
                        td { code { (g.owner.to_string()) "/" (g.code) } @if g.retired { " (" (lang.t("đã rút", "retired")) ")" } }
                        td { code { (g.address) } }
                        td { ul { @for c in &g.serves { li { code { (c.to_string()) } } } } }
                        td { code { (g.tls_sha256.get(..16).unwrap_or(&g.tls_sha256)) "…" } }
                    } } }
                }
            }
        }
        @if who.is_admin() {
            section { h2 { (lang.t("Đăng ký thành viên", "Register a member")) }
                form method="post" action="/admin/exchange/members" {
                    input type="hidden" name="csrf" value=(csrf);
                    div.field { label for="m-class" { (lang.t("Loại thành viên", "Member class")) }
                        select #m-class name="class" { @for (c, vi, en) in sen_exchange::MEMBER_CLASSES { option value=(c) { (c) " — " (lang.t(vi, en)) } } } }
                    (text_field("m-code", "code", lang.t("Mã thành viên (mã cơ quan, mã số thuế)", "Member code (agency code, tax code)"), None))
                    (text_field("m-name", "name", lang.t("Tên", "Name"), None))
                    button type="submit" { (lang.t("Đăng ký", "Register")) }
                }
            }
        }
        @if !mine.is_empty() {
            section { h2 { (lang.t("Thêm hệ thống thông tin", "Add an information system")) }
                form method="post" action="/admin/exchange/subsystems" {
                    input type="hidden" name="csrf" value=(csrf);
                    div.field { label for="s-member" { (lang.t("Thành viên", "Member")) }
                        select #s-member name="member" { @for m in &mine { option value=(m.member.to_string()) { (m.name) } } } }
                    (text_field("s-code", "code", lang.t("Mã hệ thống", "System code"), None))
                    (text_field("s-name", "name", lang.t("Tên hệ thống", "System name"), None))
                    button type="submit" { (lang.t("Thêm", "Add")) }
                }
            }
        }
        @if !providers.is_empty() {
            section { h2 { (lang.t("Đăng ký hoặc sửa dịch vụ", "Register or change a service")) }
                form method="post" action="/admin/exchange/services" {
                    input type="hidden" name="csrf" value=(csrf);
                    div.field { label for="v-provider" { (lang.t("Hệ thống cung cấp", "Provider system")) }
                        select #v-provider name="provider" { @for p in &providers { option value=(p) { (p) } } } }
                    (text_field("v-code", "code", lang.t("Mã dịch vụ", "Service code"), None))
                    (text_field("v-title", "title", lang.t("Tên dịch vụ", "Title"), None))
                    (text_field("v-base", "base_url", lang.t("Địa chỉ hệ thống cung cấp", "Provider address"), Some("https://…")))
                    (text_field("v-timeout", "timeout_ms", lang.t("Thời gian chờ tối đa (ms)", "Time-out (ms)"), Some("100–60000")))
                    div.field { label for="v-openapi" { (lang.t("Mô tả OpenAPI 3 (JSON, không bắt buộc)", "OpenAPI 3 description (JSON, optional)")) }
                        textarea #v-openapi name="openapi" rows="6" {} }
                    button type="submit" { (lang.t("Lưu", "Save")) }
                }
            }
        }
        @if !services.is_empty() {
            section { h2 { (lang.t("Cấp quyền truy cập", "Grant an access right")) }
                form method="post" action="/admin/exchange/rights" {
                    input type="hidden" name="csrf" value=(csrf);
                    div.field { label for="r-service" { (lang.t("Dịch vụ", "Service")) }
                        select #r-service name="service" { @for s in &services { option value=(s) { (s) } } } }
                    (text_field("r-client", "client", lang.t("Bên được cấp quyền", "Client"), Some("VN/GOV/VPCP/DVCQG")))
                    div.field { label for="r-method" { (lang.t("Phương thức", "Method")) }
                        select #r-method name="method" { @for m in ["*", "GET", "POST", "PUT", "PATCH", "DELETE"] { option value=(m) { (m) } } } }
                    (text_field("r-path", "path", lang.t("Đường dẫn (* một đoạn, ** nhiều đoạn)", "Path (* one segment, ** any)"), Some("/**")))
                    button type="submit" { (lang.t("Cấp quyền", "Grant")) }
                }
            }
        }
    }
}

pub async fn page(State(st): State<AppState>, lang: Lang, who: Principal) -> PageResult {
    let d = st.exchange_directory(&who).await.page(lang)?;
    let activity = st.exchange_activity(&who, 30).await.page(lang)?;
    let k12 = maud::html! {
        p.kpi {
            (lang.t("Hệ thống thông tin đã trao đổi dữ liệu trong 30 ngày qua (K12): ", "Information systems that exchanged data in the last 30 days (K12): "))
            strong { (activity.exchanged.len()) " / " (activity.registered) }
            @if let Some(s) = activity.share { " (" (format!("{:.0}%", s * 100.0)) ")" }
        }
    };
    Ok(html_page(lang, None, Some(&who), title(lang), body(lang, &who, &d, None, Some(k12))))
}

fn field(v: &HashMap<String, String>, k: &str) -> String {
    v.get(k).map(|s| s.trim().to_string()).unwrap_or_default()
}

fn optional(v: &HashMap<String, String>, k: &str) -> Option<String> {
    Some(field(v, k)).filter(|s| !s.is_empty())
}

/// One change from the page's forms, through the same checks as the API.
pub async fn change(
    State(st): State<AppState>,
    lang: Lang,
    who: Principal,
    Path(what): Path<String>,
    Form(v): Form<HashMap<String, String>>,
) -> PageResult {
    who.check_csrf(v.get("csrf").map(String::as_str)).page(lang)?;
    let outcome: Result<(), AppError> = match what.as_str() {
        "members" => st
            .add_exchange_member(
                &who,
                MemberIn {
                    instance: None,
                    class: field(&v, "class"),
                    code: field(&v, "code"),
                    name: field(&v, "name"),
                    agency_id: None,
                },
            )
            .await
            .map(|_| ()),
        "subsystems" => st
            .add_exchange_subsystem(
                &who,
                SubsystemIn { member: field(&v, "member"), code: field(&v, "code"), name: field(&v, "name") },
            )
            .await
            .map(|_| ()),
        "services" => {
            let openapi = match optional(&v, "openapi").map(|t| serde_json::from_str(&t)) {
                None => Ok(None),
                Some(Ok(doc)) => Ok(Some(doc)),
                Some(Err(e)) => Err(AppError::field("openapi", "json", &format!("the description is not JSON: {e}"))),
            };
            let timeout = match optional(&v, "timeout_ms").map(|t| t.parse::<u64>()) {
                None => Ok(None),
                Some(Ok(n)) => Ok(Some(n)),
                Some(Err(_)) => {
                    Err(AppError::field("timeout_ms", "integer", "the time-out is a whole number of milliseconds"))
                }
            };
            match (openapi, timeout) {
                (Ok(openapi), Ok(timeout_ms)) => st
                    .put_exchange_service(
                        &who,
                        ServiceIn {
                            provider: field(&v, "provider"),
                            code: field(&v, "code"),
                            title: field(&v, "title"),
                            base_url: field(&v, "base_url"),
                            openapi,
                            disabled: false,
                            timeout_ms,
                        },
                    )
                    .await
                    .map(|_| ()),
                (Err(e), _) | (_, Err(e)) => Err(e),
            }
        }
        "rights" => st
            .grant_exchange_right(
                &who,
                RightIn {
                    service: field(&v, "service"),
                    client: field(&v, "client"),
                    method: optional(&v, "method"),
                    path: optional(&v, "path"),
                },
            )
            .await
            .map(|_| ()),
        _ => Err(AppError::NotFound("form")),
    };
    match outcome {
        Ok(()) => Ok(Redirect::to("/admin/exchange").into_response()),
        // A refused change: the page again, with the reason.
        Err(e @ (AppError::Invalid(_) | AppError::BadRequest { .. } | AppError::Conflict { .. })) => {
            let d = st.exchange_directory(&who).await.page(lang)?;
            let message = crate::pages::refusal_message(&e);
            let mut r = html_page(lang, None, Some(&who), title(lang), body(lang, &who, &d, Some(&message), None));
            *r.status_mut() = if matches!(e, AppError::Conflict { .. }) {
                StatusCode::CONFLICT
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            Ok(r)
        }
        Err(e) => Err(e).page(lang),
    }
}

pub async fn revoke(
    State(st): State<AppState>,
    lang: Lang,
    who: Principal,
    Path(id): Path<i64>,
    Form(v): Form<HashMap<String, String>>,
) -> PageResult {
    who.check_csrf(v.get("csrf").map(String::as_str)).page(lang)?;
    st.revoke_exchange_right(&who, id).await.page(lang)?;
    Ok(Redirect::to("/admin/exchange").into_response())
}
