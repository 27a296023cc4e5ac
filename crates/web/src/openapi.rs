//! The OpenAPI 3.1 description, generated from the handlers and committed as
//! `docs/openapi.json` (a test keeps the two equal).

use crate::{api, consent_http, data_reads_http, exchange_http, once_only, trust_http};
use axum::Json;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(title = "Sen API", version = "1", description = "Sen, the open digital-government platform: procedure catalogue, online dossiers and back office. Errors are RFC 9457 problem documents with a stable `code`."),
    paths(
        api::list_procedures, api::get_procedure, api::get_form, api::create_procedure, api::update_procedure, api::agencies, api::get_calendar, api::put_calendar,
        api::submit, api::my_dossiers, api::get_dossier, api::events, api::reads, api::files, api::act, api::claim, api::apology, api::rate,
        api::lookup, api::queue_counts, api::queue, api::login, api::create_token,
        trust_http::verify_api, trust_http::verify_code_api, trust_http::result_jws, trust_http::result_pdf, trust_http::result_p7s,
        trust_http::work_records, trust_http::latest_checkpoint, trust_http::checkpoint_at, trust_http::inclusion, trust_http::consistency,
        trust_http::log_entry, trust_http::certificate, trust_http::revoke, trust_http::rotate_seal,
        exchange_http::directory, exchange_http::global_configuration, exchange_http::add_member, exchange_http::add_subsystem, exchange_http::put_service,
        exchange_http::grant, exchange_http::revoke, exchange_http::usage, exchange_http::activity, consent_http::list, consent_http::give, consent_http::revoke, data_reads_http::list,
        crate::assistant_http::ask, crate::assistant_http::feedback, once_only::api_fetch, once_only::api_show, once_only::api_confirm, once_only::api_components, once_only::api_reuse,
        crate::proactive_http::api_offers, crate::proactive_http::api_accept, crate::proactive_http::api_postpone, crate::proactive_http::api_decline,
        crate::proactive_http::api_preference, crate::proactive_http::api_rules, crate::proactive_http::api_save_rule, crate::proactive_http::api_test_rule, crate::proactive_http::api_stats,
        crate::completeness_http::api, crate::petitions_http::api_send, crate::petitions_http::api_list, crate::petitions_http::api_route, crate::petitions_http::api_k13, crate::recommend_http::api_also_needed, crate::recommend_http::api_mine,
        crate::bundle_http::api_apply, crate::bundle_http::api_list, crate::bundle_http::api_get, crate::bundle_http::api_documents,
        crate::notify_http::send_email, crate::notify_http::send_sms, crate::notify_http::get_one, crate::notify_http::list, crate::notify_http::templates,
        crate::notify_http::template_version, crate::notify_http::template_latest, crate::notify_http::preview, crate::notify_http::save_template,
        crate::plan_http::api_list, crate::plan_http::api_save, crate::quality_http::api_report, crate::quality_http::api_dataset, crate::usage_http::api_metrics, crate::usage_http::api_reuses, crate::usage_http::api_add_reuse, crate::usage_http::api_delete_reuse,
    ),
    components(schemas(crate::error::Problem, sen_domain::eform::FieldError)),
    modifiers(&Security),
    tags((name = "catalogue"), (name = "dossiers"), (name = "back office"), (name = "accounts"), (name = "trust"), (name = "exchange"), (name = "once-only"), (name = "assistant"), (name = "proactive"), (name = "notifications"), (name = "ai"), (name = "open data"))
)]
pub struct ApiDoc;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
        let c = openapi.components.get_or_insert_with(Default::default);
        c.add_security_scheme("token", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()));
        c.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(crate::auth::SESSION_COOKIE))),
        );
    }
}

/// The document as served and committed.
pub fn document() -> String {
    ApiDoc::openapi().to_pretty_json().expect("the OpenAPI document serialises")
}

pub async fn serve() -> Json<serde_json::Value> {
    Json(serde_json::to_value(ApiDoc::openapi()).unwrap_or_default())
}
