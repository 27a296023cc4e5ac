//! The citizen assistant (issue #5, first slice): `POST /api/v1/assistant/ask` and the page
//! `/assistant`, reached from the "Hỏi trợ lý" box on every page (a plain form, no
//! JavaScript). Answers are composed only from the catalogue's published facts of the
//! procedures retrieval found (`sen_domain::assistant`); when none answers, the reply says
//! so, is `grounded: false`, names no source and points to a human channel. Questions are not
//! logged.

use crate::AppState;
use crate::auth::Principal;
use crate::error::{AppError, AppResult, Problem};
use crate::i18n::Lang;
use crate::pages::{PageResult, html_page};
use axum::Json;
use axum::extract::{Query, State};
use maud::html;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The longest question taken, in characters.
pub const MAX_QUESTION_CHARS: usize = 500;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AskIn {
    pub question: String,
    /// `vi` (default) or `en`.
    #[serde(default)]
    pub lang: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SourceOut {
    /// The procedure's exact name in the catalogue.
    pub procedure: String,
    pub code: String,
    pub url: String,
}

#[derive(Serialize, ToSchema)]
pub struct AnswerOut {
    pub answer: String,
    /// True when the answer comes from the catalogue; false when nothing in it answers.
    pub grounded: bool,
    /// Best first; empty when not grounded.
    pub sources: Vec<SourceOut>,
}

impl AppState {
    pub fn ask(&self, question: &str, english: bool) -> AppResult<AnswerOut> {
        let question = question.trim();
        if question.is_empty() {
            return Err(AppError::field("question", "required", "ask a question"));
        }
        if question.chars().count() > MAX_QUESTION_CHARS {
            return Err(AppError::field("question", "max_length", "at most 500 characters"));
        }
        let catalogue = self.catalogue();
        let base = self.config.public_url.trim_end_matches('/');
        let sources: Vec<(&sen_store::ProcedureRow, String)> = catalogue
            .assistant
            .sources(question, 3)
            .into_iter()
            .filter_map(|(id, _)| catalogue.get(id))
            .map(|p| (p, format!("{base}/procedures/{}", p.id)))
            .collect();
        let Some((first, url)) = sources.first() else {
            return Ok(AnswerOut {
                answer: sen_domain::assistant::not_grounded(english),
                grounded: false,
                sources: vec![],
            });
        };
        let mut answer = sen_domain::assistant::answer_for(&first.spec(), url, english);
        if sources.len() > 1 {
            let others: Vec<String> =
                sources[1..].iter().map(|(p, _)| if english { p.name_en.clone() } else { p.name.clone() }).collect();
            answer.push_str(if english { " You may also need: " } else { " Có thể bạn cũng cần: " });
            answer.push_str(&others.join("; "));
            answer.push('.');
        }
        Ok(AnswerOut {
            answer,
            grounded: true,
            sources: sources
                .iter()
                .map(|(p, url)| SourceOut { procedure: p.name.clone(), code: p.code.clone(), url: url.clone() })
                .collect(),
        })
    }
}

#[utoipa::path(post, path = "/api/v1/assistant/ask", request_body = AskIn,
    responses((status = 200, body = AnswerOut), (status = 422, body = Problem)), tag = "assistant")]
pub async fn ask(
    State(st): State<AppState>,
    crate::api::JsonBody(body): crate::api::JsonBody<AskIn>,
) -> AppResult<Json<AnswerOut>> {
    let english = match body.lang.as_deref() {
        None | Some("vi") => false,
        Some("en") => true,
        Some(_) => return Err(AppError::field("lang", "enum", "vi or en")),
    };
    Ok(Json(st.ask(&body.question, english)?))
}

#[derive(Deserialize)]
pub struct PageQuery {
    q: Option<String>,
}

pub async fn page(
    State(st): State<AppState>,
    lang: Lang,
    who: Option<Principal>,
    Query(q): Query<PageQuery>,
) -> PageResult {
    let title = lang.t("Trợ lý dịch vụ công", "Public service assistant");
    let question = q.q.unwrap_or_default();
    let english = lang == Lang::En;
    let reply = if question.trim().is_empty() { None } else { Some(st.ask(&question, english)) };
    let body = html! {
        h1 { (title) }
        form method="get" action="/assistant" {
            div.field {
                label for="a-q" { (lang.t("Câu hỏi của bạn", "Your question")) }
                input #a-q type="text" name="q" value=(question) maxlength="500";
            }
            button type="submit" { (lang.t("Hỏi", "Ask")) }
        }
        @match reply {
            Some(Ok(a)) => {
                section.card aria-live="polite" {
                    p { (a.answer) }
                    @if !a.sources.is_empty() {
                        h2 { (lang.t("Nguồn", "Sources")) }
                        ol { @for s in &a.sources { li { a href=(s.url) { (s.procedure) } " (" (s.code) ")" } } }
                    }
                }
            }
            Some(Err(e)) => { p.error-text role="alert" { (e.to_string()) } }
            None => { p.hint { (lang.t("Ví dụ: \"làm CCCD cho con 14 tuổi\", \"đăng ký kết hôn cần giấy tờ gì\".", "For example: \"how do I register my baby's birth\".")) } }
        }
    };
    Ok(html_page(lang, None, who.as_ref(), title, body))
}
