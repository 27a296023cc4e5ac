//! The citizen assistant (issue #5, first slice): `POST /api/v1/assistant/ask` and the page
//! `/assistant`, reached from the "Hỏi trợ lý" box on every page (a plain form, no
//! JavaScript). Answers are composed only from the catalogue's published facts of the
//! procedures retrieval found (`sen_domain::assistant`); when none answers, the reply says
//! so, is `grounded: false`, names no source and points to a human channel. Every exchange
//! is kept with its question redacted (no personal numbers, phone numbers or addresses),
//! and the asker may rate it (`POST /api/v1/assistant/feedback`, the thumbs on the page);
//! the ratings feed the quality page `/admin/assistant`.

use crate::AppState;
use crate::auth::Principal;
use crate::error::{AppError, AppResult, Problem};
use crate::i18n::Lang;
use crate::pages::{PageResult, html_page};
use axum::Json;
use axum::extract::{Query, State};
use maud::html;
use sen_domain::assistant::Source;
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
    /// `procedure` (from the catalogue) or `faq` (an FAQ about the portal, on `/faq`).
    pub kind: &'static str,
    /// The procedure's exact name in the catalogue; for an FAQ, its question.
    pub procedure: String,
    /// The procedure's code; for an FAQ, `faq:{id}`.
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
    /// Names this exchange for a rating (`POST /api/v1/assistant/feedback`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exchange_id: Option<String>,
    /// True when a chat model rephrased the grounded answer (and the rephrasing kept every
    /// fact); false when the answer is the catalogue's facts as composed by Sen.
    pub rephrased: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackIn {
    pub exchange_id: String,
    /// Thumbs up (true) or down (false).
    pub helpful: bool,
}

fn check_question(question: &str) -> AppResult<&str> {
    let question = question.trim();
    if question.is_empty() {
        return Err(AppError::field("question", "required", "ask a question"));
    }
    if question.chars().count() > MAX_QUESTION_CHARS {
        return Err(AppError::field("question", "max_length", "at most 500 characters"));
    }
    Ok(question)
}

impl AppState {
    /// Answers from the catalogue and the FAQs; `question_vector`, the question's embedding
    /// when a re-ranker is loaded.
    pub fn ask(&self, question: &str, english: bool, question_vector: Option<&[f32]>) -> AppResult<AnswerOut> {
        let question = check_question(question)?;
        let catalogue = self.catalogue();
        let base = self.config.public_url.trim_end_matches('/');
        let faqs = catalogue.assistant.faqs();
        // (source, the FAQ that answered with it, the procedure if any)
        let found: Vec<(SourceOut, Option<&sen_domain::assistant::Faq>, Option<&sen_store::ProcedureRow>)> = catalogue
            .assistant
            .answer_sources_with(question, 3, question_vector)
            .into_iter()
            .filter_map(|s| match s {
                Source::Procedure { id, faq, .. } => catalogue.get(id).map(|p| {
                    let out = SourceOut {
                        kind: "procedure",
                        procedure: p.name.clone(),
                        code: p.code.clone(),
                        url: format!("{base}/procedures/{}", p.id),
                    };
                    (out, faq.map(|i| &faqs[i]), Some(p))
                }),
                Source::Faq { index, .. } => {
                    let f = &faqs[index];
                    let out = SourceOut {
                        kind: "faq",
                        procedure: if english { f.question_en.clone() } else { f.question.clone() },
                        code: format!("faq:{}", f.id),
                        url: format!("{base}/faq#{}", f.id),
                    };
                    Some((out, Some(f), None))
                }
            })
            .collect();
        let Some((first, faq, procedure)) = found.first() else {
            return Ok(AnswerOut {
                answer: sen_domain::assistant::not_grounded(english),
                grounded: false,
                sources: vec![],
                exchange_id: None,
                rephrased: false,
            });
        };
        let mut parts = Vec::new();
        if let Some(f) = faq {
            parts.push(sen_domain::assistant::faq_answer(f, base, english));
        }
        match procedure {
            Some(p) => parts.push(sen_domain::assistant::answer_for(&p.spec(), &first.url, english)),
            None => parts.push(format!("{} {}", if english { "More:" } else { "Thêm:" }, first.url)),
        }
        let mut answer = parts.join(" ");
        if found.len() > 1 {
            let others: Vec<String> = found[1..]
                .iter()
                .map(|(s, _, p)| match p {
                    Some(p) if english => p.name_en.clone(),
                    _ => s.procedure.clone(),
                })
                .collect();
            answer.push_str(if english { " You may also need: " } else { " Có thể bạn cũng cần: " });
            answer.push_str(&others.join("; "));
            answer.push('.');
        }
        Ok(AnswerOut {
            answer,
            grounded: true,
            sources: found.into_iter().map(|(s, _, _)| s).collect(),
            exchange_id: None,
            rephrased: false,
        })
    }

    /// The question's embedding, when a re-ranker is loaded (off the async workers: it is a
    /// few milliseconds of CPU). A failure only leaves the sources in retrieval's order.
    async fn embed_question(&self, question: &str) -> Option<Vec<f32>> {
        let model = self.config.assistant_model.clone()?;
        if !self.catalogue().assistant.has_vectors() {
            return None;
        }
        let q = question.to_string();
        match tokio::task::spawn_blocking(move || model.embed(&[&q])).await {
            Ok(Ok(mut v)) => v.pop(),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "assistant: question not embedded");
                None
            }
            Err(e) => {
                tracing::warn!(error = %e, "assistant: embedding task failed");
                None
            }
        }
    }

    /// Lets the configured chat model rephrase a grounded answer, keeping the rephrasing only
    /// if it brings no number, amount or link the catalogue's facts do not hold and keeps the
    /// link to apply (`sen_domain::assistant::faithful`). Any failure — unreachable, slow,
    /// malformed, unfaithful — leaves the facts as composed.
    async fn rephrase(&self, question: &str, english: bool, a: &mut AnswerOut) {
        let (Some(llm), true) = (&self.config.assistant_llm, a.grounded) else { return };
        let Some(apply_url) = a.sources.first().map(|s| s.url.clone()) else { return };
        let (system, user) = sen_domain::assistant::rephrase_request(question, &a.answer, english);
        match llm.complete(&system, &user).await {
            Ok(text) => match sen_domain::assistant::faithful(&text, &a.answer, &apply_url) {
                Ok(()) => {
                    a.answer = text.trim().to_string();
                    a.rephrased = true;
                    self.metrics.assistant_llm("rephrased");
                }
                Err(why) => {
                    // The reason names a number or link of the model's, never the question.
                    tracing::info!(reason = %why, "assistant: rephrasing not faithful, facts kept");
                    self.metrics.assistant_llm("unfaithful");
                }
            },
            Err(e) => {
                tracing::warn!(error = %e, "assistant: chat model failed, facts kept");
                self.metrics.assistant_llm("failed");
            }
        }
    }

    /// Answers and keeps the exchange (redacted). Keeping it never fails the answer.
    pub async fn ask_and_log(&self, question: &str, english: bool) -> AppResult<AnswerOut> {
        let started = std::time::Instant::now();
        let question_vector = self.embed_question(check_question(question)?).await;
        let mut a = self.ask(question, english, question_vector.as_deref())?;
        self.rephrase(question.trim(), english, &mut a).await;
        let codes: Vec<String> = a.sources.iter().map(|s| s.code.clone()).collect();
        let redacted = sen_domain::assistant::redact(question.trim());
        let latency = started.elapsed().as_micros() as i64;
        match self
            .store
            .log_assistant_exchange(if english { "en" } else { "vi" }, &redacted, a.grounded, &codes, latency)
            .await
        {
            Ok(id) => a.exchange_id = Some(id),
            Err(e) => tracing::warn!(error = %e, "assistant exchange not kept"),
        }
        Ok(a)
    }

    pub async fn rate_answer(&self, exchange_id: &str, helpful: bool) -> AppResult<()> {
        if exchange_id.len() != 32 || !exchange_id.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(AppError::NotFound("exchange"));
        }
        match self.store.rate_assistant_exchange(exchange_id, helpful).await {
            Err(sen_store::StoreError::NotFound) => Err(AppError::NotFound("exchange")),
            r => Ok(r?),
        }
    }
}

#[utoipa::path(post, path = "/api/v1/assistant/feedback", request_body = FeedbackIn,
    responses((status = 204), (status = 404, body = Problem), (status = 422, body = Problem)), tag = "assistant")]
pub async fn feedback(
    State(st): State<AppState>,
    crate::api::JsonBody(body): crate::api::JsonBody<FeedbackIn>,
) -> AppResult<axum::http::StatusCode> {
    st.rate_answer(&body.exchange_id, body.helpful).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub struct FeedbackForm {
    exchange: String,
    helpful: String,
    q: Option<String>,
}

/// The thumbs on the page: a plain form (no session needed; the exchange id is the asker's).
pub async fn feedback_form(
    State(st): State<AppState>,
    lang: Lang,
    axum::Form(f): axum::Form<FeedbackForm>,
) -> PageResult {
    use crate::pages::OrPage;
    st.rate_answer(&f.exchange, f.helpful == "1").await.page(lang)?;
    // Back to the page without asking again (that would be a new exchange).
    let _ = f.q;
    Ok(axum::response::IntoResponse::into_response(axum::response::Redirect::to("/assistant?rated=1")))
}

#[derive(Deserialize)]
pub struct SinceQuery {
    since: Option<String>,
}

/// The quality page: how often the assistant answered from the catalogue and how people
/// rated it, per day, with the questions to learn from.
pub async fn quality_page(
    State(st): State<AppState>,
    lang: Lang,
    who: Principal,
    Query(q): Query<SinceQuery>,
) -> PageResult {
    use crate::pages::OrPage;
    if !(who.is_admin() || who.is_officer()) {
        return Err(crate::pages::PageError(AppError::Forbidden("for officers and administrators".into()), lang));
    }
    let today = crate::app::today();
    let since = q
        .since
        .as_deref()
        .and_then(|s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        .unwrap_or(today - chrono::Duration::days(30));
    let qa = st.store.assistant_quality(since).await.page(lang)?;
    let pct = |a: i64, b: i64| if b == 0 { "—".to_string() } else { format!("{:.1}%", a as f64 * 100.0 / b as f64) };
    let title = lang.t("Chất lượng trợ lý", "Assistant quality");
    let max = qa.days.iter().map(|d| d.1).max().unwrap_or(1).max(1);
    let (w, h) = (24i64, 120i64);
    let body = html! {
        h1 { (title) }
        p.kpi { (lang.t("Câu hỏi: ", "Questions: ")) strong { (qa.asked) } " · " (lang.t("trả lời từ danh mục: ", "answered from the catalogue: ")) strong { (pct(qa.grounded, qa.asked)) }
            " · " (lang.t("hữu ích: ", "helpful: ")) strong { (pct(qa.helpful, qa.rated)) } " (" (qa.rated) " " (lang.t("lượt đánh giá", "ratings")) ")" }
        @if !qa.days.is_empty() {
            figure {
                figcaption { (lang.t("Câu hỏi mỗi ngày (đậm: trả lời từ danh mục)", "Questions per day (dark: answered from the catalogue)")) }
                svg role="img" aria-label=(lang.t("Biểu đồ câu hỏi theo ngày", "Chart of questions per day")) width=(w * qa.days.len() as i64 + 10) height=(h + 20) {
                    @for (i, d) in qa.days.iter().enumerate() {
                        @let x = i as i64 * w;
                        @let all = d.1 * h / max;
                        @let g = d.2 * h / max;
                        rect x=(x) y=(h - all) width=(w - 4) height=(all) fill="#e6a0a6" {}
                        rect x=(x) y=(h - g) width=(w - 4) height=(g) fill="#a3111d" {}
                        text x=(x) y=(h + 14) font-size="9" fill="#1a1a1a" { (d.0.format("%d/%m")) }
                    }
                }
            }
        }
        h2 { (lang.t("Bị đánh giá không hữu ích", "Rated not helpful")) }
        @if qa.unhelpful.is_empty() { p { (lang.t("Chưa có.", "None yet.")) } }
        ul { @for e in &qa.unhelpful { li { (crate::pages::fmt_time(e.asked_at)) " — " q { (e.question) } " → " (e.sources) } } }
        h2 { (lang.t("Chưa trả lời được", "Not answered")) }
        ul { @for e in &qa.unanswered { li { (crate::pages::fmt_time(e.asked_at)) " — " q { (e.question) } } } }
    };
    Ok(html_page(lang, None, Some(&who), title, body))
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
    Ok(Json(st.ask_and_log(&body.question, english).await?))
}

/// The FAQs the assistant answers from, for people to read: about the portal first, then
/// those about a procedure, each linking to it.
pub async fn faq_page(State(st): State<AppState>, lang: Lang, who: Option<Principal>) -> PageResult {
    let title = lang.t("Câu hỏi thường gặp", "Frequently asked questions");
    let catalogue = st.catalogue();
    let english = lang == Lang::En;
    let faqs = catalogue.assistant.faqs();
    let (about_procedures, about_portal): (Vec<_>, Vec<_>) = faqs.iter().partition(|f| f.procedure.is_some());
    let entry = |f: &sen_domain::assistant::Faq| {
        let procedure = f.procedure.as_deref().and_then(|c| catalogue.by_code(c));
        html! {
            section.card id=(f.id) {
                h3 { (if english { &f.question_en } else { &f.question }) }
                p { (if english { &f.answer_en } else { &f.answer }) }
                @if !f.links.is_empty() || procedure.is_some() {
                    ul.links {
                        @if let Some(p) = procedure {
                            li { a href={ "/procedures/" (p.id) } { (if english { &p.name_en } else { &p.name }) } }
                        }
                        @for l in &f.links { li { a href=(l) { (l) } } }
                    }
                }
            }
        }
    };
    let body = html! {
        h1 { (title) }
        p { (lang.t("Trợ lý dịch vụ công trả lời từ danh mục thủ tục và các câu hỏi dưới đây.", "The public service assistant answers from the procedure catalogue and the questions below.")) " "
            a href="/assistant" { (lang.t("Hỏi trợ lý", "Ask the assistant")) } }
        h2 { (lang.t("Về cổng dịch vụ công", "About the portal")) }
        @for f in &about_portal { (entry(f)) }
        @if !about_procedures.is_empty() {
            h2 { (lang.t("Về thủ tục", "About procedures")) }
            @for f in &about_procedures { (entry(f)) }
        }
    };
    Ok(html_page(lang, None, who.as_ref(), title, body))
}

#[derive(Deserialize)]
pub struct PageQuery {
    q: Option<String>,
    rated: Option<String>,
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
    let reply = if question.trim().is_empty() { None } else { Some(st.ask_and_log(&question, english).await) };
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
                    @if let Some(id) = &a.exchange_id {
                        form.feedback method="post" action="/assistant/feedback" {
                            input type="hidden" name="exchange" value=(id);
                            input type="hidden" name="q" value=(question);
                            span { (lang.t("Câu trả lời có hữu ích không?", "Was this helpful?")) " " }
                            button type="submit" name="helpful" value="1" aria-label=(lang.t("Có, hữu ích", "Yes, helpful")) { "👍 " (lang.t("Có", "Yes")) }
                            " "
                            button type="submit" name="helpful" value="0" aria-label=(lang.t("Không hữu ích", "Not helpful")) { "👎 " (lang.t("Không", "No")) }
                        }
                    }
                }
            }
            Some(Err(e)) => { p.error-text role="alert" { (e.to_string()) } }
            None if q.rated.is_some() => { p.notice role="status" { (lang.t("Cảm ơn bạn đã đánh giá: ý kiến giúp trợ lý trả lời tốt hơn.", "Thank you: your rating helps the assistant improve.")) } }
            None => { p.hint { (lang.t("Ví dụ: \"làm CCCD cho con 14 tuổi\", \"đăng ký kết hôn cần giấy tờ gì\".", "For example: \"how do I register my baby's birth\".")) } }
        }
        p { a href="/faq" { (lang.t("Câu hỏi thường gặp", "Frequently asked questions")) } }
    };
    Ok(html_page(lang, None, who.as_ref(), title, body))
}
