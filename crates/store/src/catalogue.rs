//! The procedure catalogue and its versioned e-forms, and the holiday calendar.

use crate::dossiers::{Actor, audit};
use crate::models::*;
use crate::{Result, Store, StoreError};
use chrono::{NaiveDate, Utc};
use sea_query::{Expr, ExprTrait, OnConflict, Order, Query};
use sen_domain::calendar::CalendarDay;
use sen_domain::procedure::ProcedureSpec;
use serde_json::{Value, json};

const PROCEDURE_COLUMNS: [&str; 21] = [
    "id",
    "code",
    "name",
    "name_en",
    "sector",
    "level",
    "agency_kind",
    "deadline_days",
    "fees",
    "fee_vnd",
    "service_level",
    "applicants",
    "conditions",
    "steps",
    "legal_basis",
    "result_document",
    "components",
    "keywords",
    "form_version",
    "published",
    "updated_at",
];

fn spec_values(s: &ProcedureSpec) -> Vec<(&'static str, sea_query::Value)> {
    vec![
        ("code", s.code.clone().into()),
        ("name", s.name.clone().into()),
        ("name_en", s.name_en.clone().into()),
        ("sector", s.sector.clone().into()),
        ("level", s.level.as_str().into()),
        ("agency_kind", s.agency_kind.clone().into()),
        ("deadline_days", (s.deadline_working_days as i64).into()),
        ("fees", s.fees.clone().into()),
        ("fee_vnd", s.fee_vnd.into()),
        ("service_level", s.service_level.as_str().into()),
        ("applicants", s.applicants.as_str().into()),
        ("conditions", s.conditions.clone().into()),
        ("steps", s.steps.clone().into()),
        ("legal_basis", s.legal_basis.clone().into()),
        ("result_document", s.result_document.clone().into()),
        ("components", serde_json::to_string(&s.components).unwrap_or_else(|_| "[]".into()).into()),
        ("keywords", s.keywords.clone().into()),
    ]
}

#[derive(sqlx::FromRow)]
struct IdRow {
    id: i64,
}

impl Store {
    /// Adds a procedure with its first e-form version.
    pub async fn create_procedure(&self, spec: &ProcedureSpec, form: &Value, actor: &Actor) -> Result<i64> {
        spec.check().map_err(|e| StoreError::Invalid(e.to_string()))?;
        let now = Utc::now();
        let mut tx = self.db.begin_write().await?;
        let mut values = spec_values(spec);
        values.push(("form_version", 1i64.into()));
        values.push(("published", true.into()));
        values.push(("updated_at", now.into()));
        let (cols, vals): (Vec<_>, Vec<_>) = values.into_iter().unzip();
        let row: IdRow = tx
            .fetch_one(
                &Query::insert()
                    .into_table("procedures")
                    .columns(cols)
                    .values_panic(vals.into_iter().map(Into::into))
                    .returning_col("id")
                    .to_owned(),
            )
            .await
            .map_err(|e| if e.is_unique_violation() { StoreError::Duplicate(spec.code.clone()) } else { e })?;
        tx.execute(
            &Query::insert()
                .into_table("procedure_forms")
                .columns(["procedure_id", "version", "schema", "created_at", "created_by"])
                .values_panic([row.id.into(), 1i64.into(), form.to_string().into(), now.into(), actor.user_id.into()])
                .to_owned(),
        )
        .await?;
        audit(&mut tx, actor, "procedure.create", "procedure", &spec.code, None, None, &json!({"id": row.id}), now)
            .await?;
        tx.commit().await?;
        Ok(row.id)
    }

    /// Edits a procedure. A changed e-form becomes a new version; dossiers already running keep
    /// the version they were submitted with.
    pub async fn update_procedure(
        &self,
        id: i64,
        spec: &ProcedureSpec,
        form: Option<&Value>,
        actor: &Actor,
    ) -> Result<i64> {
        spec.check().map_err(|e| StoreError::Invalid(e.to_string()))?;
        let now = Utc::now();
        let mut tx = self.db.begin_write().await?;
        let current: ProcedureRow = tx
            .fetch_one(
                &Query::select()
                    .columns(PROCEDURE_COLUMNS)
                    .from("procedures")
                    .and_where(Expr::col("id").eq(id))
                    .to_owned(),
            )
            .await?;
        let mut version = current.form_version;
        if let Some(form) = form {
            let latest: ProcedureForm = tx
                .fetch_one(
                    &Query::select()
                        .columns(["procedure_id", "version", "schema", "created_at"])
                        .from("procedure_forms")
                        .and_where(Expr::col("procedure_id").eq(id))
                        .and_where(Expr::col("version").eq(current.form_version))
                        .to_owned(),
                )
                .await?;
            let unchanged = serde_json::from_str::<Value>(&latest.schema).ok().as_ref() == Some(form);
            if !unchanged {
                version += 1;
                tx.execute(
                    &Query::insert()
                        .into_table("procedure_forms")
                        .columns(["procedure_id", "version", "schema", "created_at", "created_by"])
                        .values_panic([
                            id.into(),
                            version.into(),
                            form.to_string().into(),
                            now.into(),
                            actor.user_id.into(),
                        ])
                        .to_owned(),
                )
                .await?;
            }
        }
        let mut upd = Query::update();
        upd.table("procedures").and_where(Expr::col("id").eq(id));
        for (c, v) in spec_values(spec) {
            upd.value(c, v);
        }
        upd.value("form_version", version).value("updated_at", now);
        tx.execute(&upd)
            .await
            .map_err(|e| if e.is_unique_violation() { StoreError::Duplicate(spec.code.clone()) } else { e })?;
        audit(
            &mut tx,
            actor,
            "procedure.update",
            "procedure",
            &spec.code,
            None,
            None,
            &json!({"id": id, "form_version": version}),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(version)
    }

    pub async fn procedures(&self) -> Result<Vec<ProcedureRow>> {
        self.db
            .fetch_all(
                &Query::select().columns(PROCEDURE_COLUMNS).from("procedures").order_by("id", Order::Asc).to_owned(),
            )
            .await
    }

    pub async fn procedure(&self, id: i64) -> Result<ProcedureRow> {
        self.db
            .fetch_one(
                &Query::select()
                    .columns(PROCEDURE_COLUMNS)
                    .from("procedures")
                    .and_where(Expr::col("id").eq(id))
                    .to_owned(),
            )
            .await
    }

    pub async fn procedure_by_code(&self, code: &str) -> Result<ProcedureRow> {
        self.db
            .fetch_one(
                &Query::select()
                    .columns(PROCEDURE_COLUMNS)
                    .from("procedures")
                    .and_where(Expr::col("code").eq(code))
                    .to_owned(),
            )
            .await
    }

    pub async fn procedure_form(&self, procedure_id: i64, version: i64) -> Result<ProcedureForm> {
        self.db
            .fetch_one(
                &Query::select()
                    .columns(["procedure_id", "version", "schema", "created_at"])
                    .from("procedure_forms")
                    .and_where(Expr::col("procedure_id").eq(procedure_id))
                    .and_where(Expr::col("version").eq(version))
                    .to_owned(),
            )
            .await
    }

    /// Replaces the holiday calendar with `days`.
    pub async fn set_holidays(&self, days: &[CalendarDay]) -> Result<()> {
        let mut tx = self.db.begin_write().await?;
        tx.execute(&Query::delete().from_table("holidays").to_owned()).await?;
        for d in days {
            tx.execute(
                &Query::insert()
                    .into_table("holidays")
                    .columns(["day", "name", "working"])
                    .values_panic([d.date.into(), d.name.clone().into(), d.working.into()])
                    .on_conflict(OnConflict::column("day").update_columns(["name", "working"]).to_owned())
                    .to_owned(),
            )
            .await?;
        }
        tx.commit().await
    }

    pub async fn holidays(&self) -> Result<Vec<CalendarDay>> {
        #[derive(sqlx::FromRow)]
        struct DayRow {
            day: NaiveDate,
            name: String,
            working: bool,
        }
        let rows: Vec<DayRow> = self
            .db
            .fetch_all(
                &Query::select()
                    .columns(["day", "name", "working"])
                    .from("holidays")
                    .order_by("day", Order::Asc)
                    .to_owned(),
            )
            .await?;
        Ok(rows.into_iter().map(|r| CalendarDay { date: r.day, name: r.name, working: r.working }).collect())
    }
}
