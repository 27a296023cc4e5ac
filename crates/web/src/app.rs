//! Application logic shared by the JSON API and the pages: every rule about who may do what is
//! checked here once, whichever door the request came through.

use crate::AppState;
use crate::auth::Principal;
use crate::error::{AppError, AppResult};
use chrono::{FixedOffset, NaiveDate, Utc};
use sen_domain::authz::Permission;
use sen_domain::eform::EForm;
use sen_domain::procedure::Applicants;
use sen_domain::search::{CatalogueIndex, SearchDoc};
use sen_domain::{Action, Calendar, DossierState};
use sen_store::dossiers::{ActRequest, Actor, Idempotency, NewDossier, NewFile, Queue, Submitted};
use sen_store::{Agency, Dossier, ProcedureRow, Store, user_kind};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Vietnam's time zone (no daylight saving).
pub fn vn_offset() -> FixedOffset {
    FixedOffset::east_opt(7 * 3600).expect("valid offset")
}

/// Today's date in Vietnam: deadlines are counted in Vietnamese working days.
pub fn today() -> NaiveDate {
    Utc::now().with_timezone(&vn_offset()).date_naive()
}

/// The catalogue in memory: procedures, the search index and compiled e-forms.
pub struct Catalogue {
    pub procedures: Vec<ProcedureRow>,
    /// Agencies change rarely and are read on every submission: kept here, reloaded with the
    /// catalogue.
    pub agencies: Vec<Agency>,
    pub index: CatalogueIndex,
    /// The citizen assistant's retrieval over the published procedures and the FAQs.
    pub assistant: sen_domain::assistant::Assistant,
    forms: Mutex<HashMap<(i64, i64), Arc<EForm>>>,
}

impl Catalogue {
    /// `faqs`: the assistant's FAQs beside the catalogue (`Config::assistant_faqs`); `model`:
    /// the re-ranker's embedding model, which embeds every document once here.
    pub async fn load(
        store: &Store,
        faqs: &[sen_domain::assistant::Faq],
        model: Option<&Arc<sen_ai::embed::Embedder>>,
    ) -> AppResult<Catalogue> {
        let procedures = store.procedures().await?;
        let agencies = store.agencies().await?;
        let index = CatalogueIndex::new(procedures.iter().map(|p| SearchDoc {
            id: p.id,
            code: p.code.clone(),
            name: p.name.clone(),
            name_en: p.name_en.clone(),
            sector: p.sector.clone(),
            keywords: p.keywords.clone(),
        }));
        let specs: Vec<(i64, sen_domain::procedure::ProcedureSpec)> =
            procedures.iter().filter(|p| p.published).map(|p| (p.id, p.spec())).collect();
        let mut assistant = sen_domain::assistant::Assistant::new(specs.iter().map(|(id, s)| (*id, s)), faqs.to_vec());
        if let Some(model) = model {
            let model = model.clone();
            let weight = sen_domain::assistant::RERANK_WEIGHT;
            assistant = match tokio::task::spawn_blocking(move || {
                let vectors = sen_ai::embed::document_vectors(&model, &assistant, weight);
                (assistant, vectors)
            })
            .await
            {
                Ok((mut a, Ok(v))) => {
                    a.set_vectors(v);
                    a
                }
                Ok((a, Err(e))) => {
                    tracing::warn!(error = %e, "assistant: documents not embedded, no re-ranking");
                    a
                }
                Err(e) => return Err(AppError::Internal(format!("embedding the catalogue: {e}"))),
            };
        }
        Ok(Catalogue { procedures, agencies, index, assistant, forms: Mutex::new(HashMap::new()) })
    }

    /// Agencies that can handle a procedure (its agency kind), borrowed: a submission reads
    /// them and must not copy hundreds of agencies.
    pub fn agencies_for(&self, p: &ProcedureRow) -> Vec<&Agency> {
        self.agencies.iter().filter(|a| a.kind == p.agency_kind).collect()
    }

    pub fn by_code(&self, code: &str) -> Option<&ProcedureRow> {
        self.procedures.iter().find(|p| p.code == code)
    }

    pub fn get(&self, id: i64) -> Option<&ProcedureRow> {
        self.procedures.iter().find(|p| p.id == id)
    }

    pub fn search(&self, q: &str, limit: usize) -> Vec<&ProcedureRow> {
        if q.trim().is_empty() {
            return self.procedures.iter().take(limit).collect();
        }
        self.index.search(q, limit).into_iter().filter_map(|(id, _)| self.get(id)).collect()
    }

    /// A compiled e-form version, cached.
    pub async fn form(&self, store: &Store, procedure_id: i64, version: i64) -> AppResult<Arc<EForm>> {
        if let Some(f) = self.forms.lock().expect("forms lock").get(&(procedure_id, version)) {
            return Ok(f.clone());
        }
        let row = store.procedure_form(procedure_id, version).await?;
        let schema: Value = serde_json::from_str(&row.schema).map_err(|e| AppError::Internal(e.to_string()))?;
        let form = Arc::new(EForm::compile(schema).map_err(|e| AppError::Internal(e.to_string()))?);
        self.forms.lock().expect("forms lock").insert((procedure_id, version), form.clone());
        Ok(form)
    }
}

/// Components that the e-form itself provides (the declaration), so no file is attached.
pub fn is_filled_online(component: &str) -> bool {
    component.starts_with("Tờ khai")
}

/// What the caller may see of a dossier, decided once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Applicant,
    Officer,
    Admin,
}

pub struct SubmitRequest {
    pub procedure_id: i64,
    pub agency_id: Option<i64>,
    pub data: Value,
    pub files: Vec<NewFile>,
    pub idempotency_key: Option<String>,
    /// A confirmed explicit request (once-only): its registries' records stand in for
    /// documents, and provenance is recorded per component.
    pub evidence_batch: Option<String>,
    /// A proactive offer this dossier comes from: the documents it names are held by the
    /// registries, so nobody uploads them.
    pub offer_id: Option<i64>,
}

/// Hand-off, reasons and files that come with an action.
#[derive(Default)]
pub struct ActInput {
    pub version: Option<i64>,
    pub reason: Option<String>,
    pub to_agency_id: Option<i64>,
    pub to_user_id: Option<i64>,
    pub files: Vec<NewFile>,
}

pub const MAX_FILES: usize = 20;
/// Queue tabs count up to this many dossiers and then show "100+": counting is bounded.
pub const QUEUE_COUNT_CAP: u64 = 100;
pub const MAX_REASON: usize = 4000;

impl AppState {
    pub fn catalogue(&self) -> Arc<Catalogue> {
        self.catalogue.read().expect("catalogue lock").clone()
    }

    pub async fn reload_catalogue(&self) -> AppResult<()> {
        let c = Catalogue::load(&self.store, &self.config.assistant_faqs, self.config.assistant_model.as_ref()).await?;
        *self.catalogue.write().expect("catalogue lock") = Arc::new(c);
        Ok(())
    }

    pub fn calendar(&self) -> Arc<Calendar> {
        self.calendar.read().expect("calendar lock").clone()
    }

    pub fn procedure(&self, id: i64) -> AppResult<ProcedureRow> {
        self.catalogue().get(id).cloned().ok_or(AppError::NotFound("procedure"))
    }

    /// System administrators edit any procedure; an agency administrator edits the procedures
    /// implemented by agencies of the kind they administer.
    pub async fn check_procedure_admin(&self, principal: &Principal, agency_kind: &str) -> AppResult<()> {
        if principal.is_admin() {
            return Ok(());
        }
        for r in principal.roles.iter().filter(|r| r.role == sen_domain::Role::AgencyAdmin.as_str()) {
            if self.store.agency(r.agency_id).await?.kind == agency_kind {
                return Ok(());
            }
        }
        Err(AppError::Forbidden("only administrators of an implementing agency edit this procedure".into()))
    }

    /// The agency the applicant's dossier goes to by default: in their commune or province.
    pub fn default_agency<'a>(principal: &Principal, candidates: &[&'a Agency]) -> Option<&'a Agency> {
        let home = principal.home_commune.as_deref();
        // The applicant's commune, else their province (a provincial agency), else the first.
        let province = principal.home_province.as_deref();
        candidates
            .iter()
            .find(|a| home.is_some() && a.commune_code.as_deref() == home)
            .or_else(|| {
                candidates
                    .iter()
                    .find(|a| a.commune_code.is_none() && province.is_some() && a.province_code.as_deref() == province)
            })
            .or(candidates.first())
            .copied()
    }

    fn check_files(&self, files: &[NewFile]) -> AppResult<()> {
        if files.len() > MAX_FILES {
            return Err(AppError::bad("too_many_files", format!("at most {MAX_FILES} files per request")));
        }
        for f in files {
            if f.content.len() > self.config.max_file_bytes {
                return Err(AppError::TooLarge { limit: self.config.max_file_bytes });
            }
            if f.filename.len() > 255 || f.filename.contains(['/', '\\', '\0']) {
                return Err(AppError::field(
                    "files",
                    "filename",
                    "file names must be plain names of at most 255 bytes",
                ));
            }
        }
        Ok(())
    }

    /// Submits a dossier for the caller (citizen or business).
    pub async fn submit(&self, principal: &Principal, req: SubmitRequest) -> AppResult<Submitted> {
        if !principal.is_applicant() {
            return Err(AppError::Forbidden("only citizens and businesses submit dossiers".into()));
        }
        let p = self.procedure(req.procedure_id)?;
        let spec = p.spec();
        let business = principal.user.kind == user_kind::BUSINESS;
        let eligible = match spec.applicants {
            Applicants::Both => true,
            Applicants::Citizens => !business,
            Applicants::Businesses => business,
        };
        if !eligible {
            return Err(AppError::Forbidden(format!("{} is not open to this kind of applicant", p.name)));
        }
        let form = self.catalogue().form(&self.store, p.id, p.form_version).await?;
        form.validate(&req.data).map_err(AppError::Invalid)?;
        self.check_files(&req.files)?;
        let now = Utc::now();
        let evidence = match &req.evidence_batch {
            Some(batch) => self.usable_evidence(principal, p.id, batch, now).await?,
            None => vec![],
        };
        let mut components = crate::once_only::provenance(&spec, &req.data, &req.files, &evidence);
        if let Some(offer) = req.offer_id {
            for c in self.offer_components(principal, offer, &p.code).await? {
                let listed = spec.components.iter().any(|s| s.name == c.component);
                if listed
                    && !components
                        .iter()
                        .any(|r| r.component == c.component && r.source != sen_domain::evidence::Provenance::Prefill)
                {
                    components.push(c);
                }
            }
        }
        // Mandatory documents must be attached or fetched; the declaration ("Tờ khai…") is
        // the e-form itself.
        let missing: Vec<String> = spec
            .components
            .iter()
            .filter(|c| c.mandatory && !components.iter().any(|r| r.component == c.name))
            .map(|c| c.name.clone())
            .collect();
        if !missing.is_empty() {
            return Err(AppError::Invalid(
                missing
                    .into_iter()
                    .map(|name| sen_domain::eform::FieldError {
                        pointer: "/files".into(),
                        field: format!("component:{name}"),
                        code: "required".into(),
                        message: format!("attach: {name}"),
                    })
                    .collect(),
            ));
        }
        let catalogue = self.catalogue();
        let candidates = catalogue.agencies_for(&p);
        let agency =
            match req.agency_id {
                Some(id) => candidates.iter().copied().find(|a| a.id == id).ok_or_else(|| {
                    AppError::field("agency_id", "enum", "this agency does not handle this procedure")
                })?,
                None => Self::default_agency(principal, &candidates).ok_or(AppError::NotFound("agency"))?,
            };
        let idempotency = req.idempotency_key.map(|key| {
            let fingerprint = json!({"p": p.id, "a": agency.id, "d": req.data, "e": req.evidence_batch, "o": req.offer_id, "f": req.files.iter().map(|f| sen_store::dossiers::sha256_hex(&f.content)).collect::<Vec<_>>()});
            Idempotency { key, request_hash: sen_store::dossiers::sha256_hex(fingerprint.to_string().as_bytes()) }
        });
        let day = now.with_timezone(&vn_offset()).date_naive();
        let cal = self.calendar();
        // The provisional appointment counts from the next working day after submission.
        let due = cal.add_working_days(cal.next_working_day_from(day), p.deadline_days.max(0) as u32);
        let submitted = self
            .store
            .submit_dossier(NewDossier {
                procedure_id: p.id,
                form_version: p.form_version,
                agency_id: agency.id,
                agency_code: agency.code.clone(),
                applicant_user_id: principal.user.id,
                applicant_name: principal.user.display_name.clone(),
                applicant_id_number: principal
                    .user
                    .tax_code
                    .clone()
                    .or(principal.user.person_number.clone())
                    .unwrap_or_default(),
                data: req.data,
                due_date: due,
                files: req.files,
                components,
                idempotency,
                submitted_at: now,
            })
            .await?;
        self.metrics.submissions.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(submitted)
    }

    /// Notes (for K13) that an agency's officers were shown an AI aid: written once per agency,
    /// aid and day, in the background, so pages never wait for it.
    pub fn note_ai_use(&self, agency_id: i64, application: &'static str) {
        let day = today();
        let mut noted = self.ai_uses.lock().expect("ai uses");
        if noted.len() > 100_000 {
            noted.retain(|(_, _, d)| *d == day);
        }
        if !noted.insert((agency_id, application, day)) {
            return;
        }
        drop(noted);
        let (store, ai_uses) = (self.store.clone(), self.ai_uses.clone());
        tokio::spawn(async move {
            if let Err(e) = store.record_ai_use(agency_id, application, day).await {
                tracing::warn!(error = %e, "AI use not recorded");
                ai_uses.lock().expect("ai uses").remove(&(agency_id, application, day));
            }
        });
    }

    /// The delay risk of each listed dossier that is still open.
    pub async fn delay_risks(&self, rows: &[sen_store::DossierSummary]) -> AppResult<HashMap<i64, f64>> {
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let supplements = self.store.supplement_counts(&ids).await?;
        let model = self.delay_model.read().expect("delay model").clone();
        let cat = self.catalogue();
        if model.trained_on > 0 {
            let mut agencies: Vec<i64> = rows.iter().map(|r| r.agency_id).collect();
            agencies.sort_unstable();
            agencies.dedup();
            for a in agencies {
                self.note_ai_use(a, "delay_risk");
            }
        }
        Ok(rows
            .iter()
            .filter(|r| !DossierState::parse(&r.state).is_some_and(|s| s.is_terminal()))
            .map(|r| {
                let case = sen_domain::delay::Case {
                    procedure_id: r.procedure_id,
                    agency_id: r.agency_id,
                    deadline_days: cat.get(r.procedure_id).map(|p| p.deadline_days).unwrap_or(0),
                    supplements: *supplements.get(&r.id).unwrap_or(&0),
                    late: false,
                };
                (r.id, model.risk(&case))
            })
            .collect())
    }

    /// Loads a dossier the caller may see, recording reads by officials in the audit trail.
    pub async fn open_dossier(&self, principal: &Principal, id: i64, purpose: &str) -> AppResult<(Dossier, Access)> {
        let d = self.store.dossier(id).await.map_err(|_| AppError::NotFound("dossier"))?;
        let access = self.access(principal, &d)?;
        if access != Access::Applicant {
            let actor = self.actor(principal, Some(d.agency_id));
            self.store.record_read(&actor, d.id, purpose).await?;
        }
        Ok((d, access))
    }

    pub fn access(&self, principal: &Principal, d: &Dossier) -> AppResult<Access> {
        if principal.is_applicant() && d.applicant_user_id == principal.user.id {
            Ok(Access::Applicant)
        } else if principal.is_officer() && principal.may(d.agency_id, Permission::WorkOnDossier, d.state()) {
            Ok(Access::Officer)
        } else if principal.is_admin() {
            Ok(Access::Admin)
        } else {
            // Same answer whether the dossier exists or not: codes are not an oracle.
            Err(AppError::NotFound("dossier"))
        }
    }

    pub fn actor(&self, principal: &Principal, agency_id: Option<i64>) -> Actor {
        Actor {
            user_id: Some(principal.user.id),
            name: principal.user.display_name.clone(),
            role: Some(match agency_id {
                Some(a) if principal.is_officer() => principal.role_label(a),
                _ => principal.user.kind.clone(),
            }),
            agency_id: agency_id.filter(|_| principal.is_officer()),
        }
    }

    /// Takes a lifecycle action on a dossier, after checking who may take it.
    pub async fn act(&self, principal: &Principal, id: i64, action: Action, input: ActInput) -> AppResult<Dossier> {
        let d = self.store.dossier(id).await.map_err(|_| AppError::NotFound("dossier"))?;
        let access = self.access(principal, &d)?;
        let allowed = if action.by_applicant() {
            access == Access::Applicant
        } else {
            access == Access::Officer && principal.may(d.agency_id, Permission::Act(action), d.state())
        };
        if !allowed {
            return Err(AppError::Forbidden(format!("you may not `{}` this dossier", action.as_str())));
        }
        let reason = input.reason.map(|r| r.trim().to_string()).filter(|r| !r.is_empty());
        if action.needs_reason() && reason.is_none() {
            return Err(AppError::field("reason", "required", "a reason is required for this action"));
        }
        if reason.as_ref().is_some_and(|r| r.len() > MAX_REASON) {
            return Err(AppError::field("reason", "maxLength", "the reason is too long"));
        }
        self.check_files(&input.files)?;
        if action == Action::Supply && input.files.is_empty() && reason.is_none() {
            return Err(AppError::field("files", "required", "attach the requested documents or explain"));
        }
        if action == Action::HandOff {
            if let Some(a) = input.to_agency_id {
                self.store.agency(a).await.map_err(|_| AppError::field("to_agency_id", "enum", "unknown agency"))?;
            }
            if let Some(u) = input.to_user_id {
                let target_agency = input.to_agency_id.unwrap_or(d.agency_id);
                let roles = self.store.roles(u).await?;
                if !roles.iter().any(|r| r.agency_id == target_agency) {
                    return Err(AppError::field(
                        "to_user_id",
                        "enum",
                        "that official does not serve the receiving agency",
                    ));
                }
            }
        }
        let p = self.procedure(d.procedure_id)?;
        let mut result = None;
        let mut issued = None;
        if action == Action::IssueResult {
            let agency = self.store.agency(d.agency_id).await?;
            let code = crate::trust::verification_code();
            let verify_url = format!("{}/verify/{code}", self.trust.urls.base.trim_end_matches('/'));
            let form_data: Value = serde_json::from_str(&d.data).unwrap_or(Value::Null);
            let place = match agency.province_code.as_deref() {
                Some(code) => self
                    .store
                    .provinces()
                    .await?
                    .into_iter()
                    .find(|p| p.code == code)
                    .map(|p| p.name.trim_start_matches("Thành phố ").trim_start_matches("Tỉnh ").to_string()),
                None => None,
            }
            .unwrap_or_else(|| "Hà Nội".to_string());
            let document = json!({
                "type": "sen.result/v1",
                "verification_code": code,
                "document": p.result_document,
                "procedure": {"code": p.code, "name": p.name},
                "dossier_code": d.code,
                "holder": d.applicant_name,
                "agency": {"code": agency.code, "name": agency.name},
                "decision": "approved",
                "issued_on": today(),
                "data": form_data,
                "verify_url": verify_url,
            });
            let sheet = sen_pdf::ResultSheet {
                agency: agency.name.clone(),
                title: p.result_document.clone(),
                dossier_code: d.code.clone(),
                procedure: p.name.clone(),
                applicant: d.applicant_name.clone(),
                decision: "Chấp thuận — kết quả giải quyết thủ tục hành chính được cấp".into(),
                lines: result_lines(&*self.catalogue().form(&self.store, p.id, d.form_version).await?, &form_data),
                place_and_date: crate::trust::place_and_date(&place, chrono::Utc::now()),
                verification_code: code.clone(),
                verify_url: verify_url.clone(),
            };
            let signed = self.trust.sign_result(d.agency_id, document.clone(), sheet).await?;
            result = Some(json!({
                "document": p.result_document,
                "procedure": p.name,
                "dossier_code": d.code,
                "holder": d.applicant_name,
                "issued_on": today(),
                "issued_by_agency_id": d.agency_id,
                "verification_code": code,
                "signature": {"format": "JAdES-B-T / CAdES-B-T", "seal_serial": signed.jws.signer_serial},
            }));
            issued = Some(signed);
        }
        let signer = if sen_store::dossiers::is_decision(action) && access == Access::Officer {
            self.trust.personal(principal.user.id).await?;
            Some(sen_store::dossiers::SignerHandle(self.trust.clone()))
        } else {
            None
        };
        let updated = self
            .store
            .act(
                ActRequest {
                    dossier_id: d.id,
                    action,
                    actor: self.actor(principal, Some(d.agency_id)),
                    expected_version: input.version,
                    reason,
                    to_agency_id: input.to_agency_id,
                    to_user_id: input.to_user_id,
                    result,
                    files: input.files,
                    today: today(),
                    deadline_days: p.deadline_days.max(0) as u32,
                    signer,
                    issued,
                },
                &self.calendar(),
            )
            .await?;
        Ok(updated)
    }

    pub async fn claim(&self, principal: &Principal, id: i64, version: Option<i64>) -> AppResult<Dossier> {
        let d = self.store.dossier(id).await.map_err(|_| AppError::NotFound("dossier"))?;
        if self.access(principal, &d)? != Access::Officer {
            return Err(AppError::Forbidden("only officials of the handling agency claim dossiers".into()));
        }
        Ok(self.store.claim(id, version, &self.actor(principal, Some(d.agency_id))).await?)
    }

    pub async fn apologise(
        &self,
        principal: &Principal,
        id: i64,
        version: Option<i64>,
        new_due: NaiveDate,
        reason: &str,
    ) -> AppResult<Dossier> {
        let d = self.store.dossier(id).await.map_err(|_| AppError::NotFound("dossier"))?;
        if self.access(principal, &d)? != Access::Officer
            || !principal.may(d.agency_id, Permission::Apologise, d.state())
        {
            return Err(AppError::Forbidden("only officials of the handling agency send apology letters".into()));
        }
        if reason.trim().is_empty() {
            return Err(AppError::field("reason", "required", "say why the dossier is late"));
        }
        if !self.calendar().is_working_day(new_due)
            || d.due_date.is_some_and(|due| new_due <= due)
            || new_due <= today()
        {
            return Err(AppError::field(
                "new_due_date",
                "minimum",
                "the new appointment must be a working day after the current one",
            ));
        }
        if !d.state().clock_runs() {
            return Err(AppError::Conflict {
                code: "illegal_transition",
                detail: "an apology letter is sent only while the dossier is being processed".into(),
                state: Some(d.state.clone()),
                version: Some(d.version),
            });
        }
        Ok(self.store.apologise(id, version, &self.actor(principal, Some(d.agency_id)), new_due, reason.trim()).await?)
    }

    pub async fn rate(&self, principal: &Principal, id: i64, score: i64, comment: &str) -> AppResult<()> {
        let d = self.store.dossier(id).await.map_err(|_| AppError::NotFound("dossier"))?;
        if self.access(principal, &d)? != Access::Applicant {
            return Err(AppError::Forbidden("only the applicant rates the service".into()));
        }
        if !(1..=5).contains(&score) {
            return Err(AppError::field("score", "maximum", "the score is 1 to 5"));
        }
        if comment.len() > MAX_REASON {
            return Err(AppError::field("comment", "maxLength", "the comment is too long"));
        }
        if !d.state().is_terminal() {
            return Err(AppError::Conflict {
                code: "illegal_transition",
                detail: "the service is rated once the dossier has ended".into(),
                state: Some(d.state.clone()),
                version: Some(d.version),
            });
        }
        if d.rating.is_some() {
            return Err(AppError::Conflict {
                code: "already_rated",
                detail: "this dossier was already rated".into(),
                state: Some(d.state),
                version: Some(d.version),
            });
        }
        Ok(self.store.rate(id, principal.user.id, score, comment.trim()).await?)
    }

    /// The last day that counts as "due soon": two working days from today.
    pub fn soon(&self) -> NaiveDate {
        self.calendar().add_working_days(today(), 2)
    }

    pub async fn queue(
        &self,
        principal: &Principal,
        queue: Queue,
        limit: u64,
        offset: u64,
    ) -> AppResult<Vec<sen_store::DossierSummary>> {
        if !principal.is_officer() {
            return Err(AppError::Forbidden("queues are for officials".into()));
        }
        Ok(self
            .store
            .queue(
                &principal.working_agencies(),
                principal.user.id,
                queue,
                today(),
                self.soon(),
                limit.min(200),
                offset,
            )
            .await?)
    }

    /// Whether the dossier will be late: the clock runs and the appointment is today or past.
    pub fn needs_apology(&self, d: &Dossier) -> bool {
        d.state().clock_runs() && d.due_date.is_some_and(|due| due <= today())
    }

    pub fn state_label(&self, s: &str, lang: crate::i18n::Lang) -> &'static str {
        let st = DossierState::parse(s).unwrap_or(DossierState::Submitted);
        lang.t(st.label_vi(), st.label_en())
    }
}

/// Up to eight labelled lines of the applicant's form for the printed result, titled as
/// the e-form titles its fields.
fn result_lines(form: &EForm, data: &Value) -> Vec<(String, String)> {
    form.fields()
        .iter()
        .filter_map(|f| {
            let text = match data.get(&f.name)? {
                Value::String(s) if !s.is_empty() => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => {
                    if *b {
                        "Có".into()
                    } else {
                        "Không".into()
                    }
                }
                _ => return None,
            };
            Some((f.title_vi.clone(), text))
        })
        .take(8)
        .collect()
}
