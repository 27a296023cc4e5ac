//! The open-data catalogue (issue #6): datasets and resources, each stored as its CKAN
//! dictionary with the columns that queries filter on beside it.

use chrono::{DateTime, Utc};
use sea_query::{Expr, ExprTrait, Order, Query};
use serde_json::Value;
use std::collections::HashMap;

use crate::{Result, Store, StoreError};

/// A dataset as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredDataset {
    pub id: String,
    pub name: String,
    pub agency_id: i64,
    /// `active` or `deleted`.
    pub state: String,
    /// The CKAN dictionary without its resources and derived fields.
    pub body: Value,
    pub created_at: DateTime<Utc>,
    pub modified_at: DateTime<Utc>,
}

/// A resource as stored: its CKAN dictionary.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredResource {
    pub id: String,
    pub dataset_id: String,
    pub position: i64,
    pub body: Value,
    pub created_at: DateTime<Utc>,
    pub modified_at: DateTime<Utc>,
}

/// A file uploaded as a resource.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ResourceFile {
    pub resource_id: String,
    pub dataset_id: String,
    pub file_name: String,
    pub media_type: String,
    pub size: i64,
    pub sha256: String,
    pub content: Vec<u8>,
    pub created_at: DateTime<Utc>,
}

/// An agency's publication plan as stored: its items as JSON.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct StoredPlan {
    pub agency_id: i64,
    pub items: String,
    pub reviewed_at: DateTime<Utc>,
    pub reviewed_by: String,
}

/// The last check of a resource's address.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct LinkCheck {
    pub resource_id: String,
    /// The address checked (a later change of the resource's URL makes it due again).
    pub url: String,
    /// The HTTP status it answered with; none when it did not answer.
    pub status: Option<i64>,
    /// Why it did not answer (time-out, refused, bad address).
    pub error: Option<String>,
    pub checked_at: DateTime<Utc>,
}

impl LinkCheck {
    /// It answered with success or a redirect.
    pub fn reachable(&self) -> bool {
        self.status.is_some_and(|s| (200..400).contains(&s))
    }
}

/// Uses of a dataset or one of its resources (`resource_id` empty) on a day.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Usage {
    pub dataset_id: String,
    pub resource_id: String,
    pub day: chrono::NaiveDate,
    /// `view`, `download` or `api`.
    pub kind: String,
    pub count: i64,
}

/// Uses summed over a period.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UsageTotal {
    pub dataset_id: String,
    pub resource_id: String,
    pub kind: String,
    pub count: i64,
}

/// A reuse of open data: an application, article, visualisation … and the datasets it uses.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredReuse {
    pub id: String,
    pub title: String,
    /// `application`, `article`, `visualisation`, `api`, `paper` or `other`.
    pub kind: String,
    pub url: String,
    pub description: String,
    pub author_id: i64,
    pub created_at: DateTime<Utc>,
    /// Ids of the datasets it uses.
    pub datasets: Vec<String>,
}

#[derive(sqlx::FromRow)]
struct ReuseRow {
    id: String,
    title: String,
    kind: String,
    url: String,
    description: String,
    author_id: i64,
    created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct ReuseLink {
    reuse_id: String,
    dataset_id: String,
}

const REUSE_COLUMNS: [&str; 7] = ["id", "title", "kind", "url", "description", "author_id", "created_at"];

/// A dossier as the platform's own statistics read it: no applicant, only what it was,
/// where, and when.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DossierFactRow {
    pub id: i64,
    pub procedure_id: i64,
    pub agency_id: i64,
    pub state: String,
    pub submitted_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub due_date: Option<chrono::NaiveDate>,
    pub rating: Option<i64>,
}

const LINK_CHECK_COLUMNS: [&str; 5] = ["resource_id", "url", "status", "error", "checked_at"];

#[derive(sqlx::FromRow)]
struct DueRow {
    id: String,
    body: String,
}

#[derive(sqlx::FromRow)]
struct DatasetRow {
    id: String,
    name: String,
    agency_id: i64,
    state: String,
    body: String,
    created_at: DateTime<Utc>,
    modified_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct ResourceRow {
    id: String,
    dataset_id: String,
    position: i64,
    body: String,
    created_at: DateTime<Utc>,
    modified_at: DateTime<Utc>,
}

const DATASET_COLUMNS: [&str; 7] = ["id", "name", "agency_id", "state", "body", "created_at", "modified_at"];
const FILE_COLUMNS: [&str; 8] =
    ["resource_id", "dataset_id", "file_name", "media_type", "size", "sha256", "content", "created_at"];
const RESOURCE_COLUMNS: [&str; 6] = ["id", "dataset_id", "position", "body", "created_at", "modified_at"];

fn json(s: &str) -> Result<Value> {
    serde_json::from_str(s).map_err(|e| StoreError::Invalid(format!("stored open-data JSON: {e}")))
}

impl TryFrom<DatasetRow> for StoredDataset {
    type Error = StoreError;
    fn try_from(r: DatasetRow) -> Result<Self> {
        Ok(StoredDataset {
            body: json(&r.body)?,
            id: r.id,
            name: r.name,
            agency_id: r.agency_id,
            state: r.state,
            created_at: r.created_at,
            modified_at: r.modified_at,
        })
    }
}

impl TryFrom<ResourceRow> for StoredResource {
    type Error = StoreError;
    fn try_from(r: ResourceRow) -> Result<Self> {
        Ok(StoredResource {
            body: json(&r.body)?,
            id: r.id,
            dataset_id: r.dataset_id,
            position: r.position,
            created_at: r.created_at,
            modified_at: r.modified_at,
        })
    }
}

impl Store {
    /// Dossiers submitted since `since`, by id after `after`, at most `limit`: the platform's
    /// own statistics read them a page at a time.
    pub async fn dossier_facts(&self, since: DateTime<Utc>, after: i64, limit: u64) -> Result<Vec<DossierFactRow>> {
        self.db
            .fetch_all(
                &Query::select()
                    .columns([
                        "id",
                        "procedure_id",
                        "agency_id",
                        "state",
                        "submitted_at",
                        "closed_at",
                        "due_date",
                        "rating",
                    ])
                    .from("dossiers")
                    .and_where(Expr::col("id").gt(after))
                    .and_where(Expr::col("submitted_at").gte(since))
                    .order_by("id", Order::Asc)
                    .limit(limit)
                    .to_owned(),
            )
            .await
    }

    /// Keeps a reuse with the datasets it uses, in one transaction.
    pub async fn save_reuse(&self, r: &StoredReuse) -> Result<()> {
        let mut tx = self.db.begin_write().await?;
        tx.execute(
            &Query::insert()
                .into_table("od_reuses")
                .columns(REUSE_COLUMNS)
                .values_panic([
                    r.id.clone().into(),
                    r.title.clone().into(),
                    r.kind.clone().into(),
                    r.url.clone().into(),
                    r.description.clone().into(),
                    r.author_id.into(),
                    r.created_at.into(),
                ])
                .to_owned(),
        )
        .await?;
        let mut links = Query::insert().into_table("od_reuse_datasets").columns(["reuse_id", "dataset_id"]).to_owned();
        for d in &r.datasets {
            links.values_panic([r.id.clone().into(), d.clone().into()]);
        }
        if !r.datasets.is_empty() {
            tx.execute(&links).await?;
        }
        tx.commit().await
    }

    /// Reuses, the newest first: all, or those of one dataset; at most `limit`.
    pub async fn reuses(&self, dataset_id: Option<&str>, limit: u64) -> Result<Vec<StoredReuse>> {
        let mut q = Query::select()
            .columns(REUSE_COLUMNS.map(|c| ("od_reuses", c)))
            .from("od_reuses")
            .order_by(("od_reuses", "created_at"), Order::Desc)
            .limit(limit)
            .to_owned();
        if let Some(d) = dataset_id {
            q.and_where(
                Expr::col(("od_reuses", "id")).in_subquery(
                    Query::select()
                        .column("reuse_id")
                        .from("od_reuse_datasets")
                        .and_where(Expr::col("dataset_id").eq(d))
                        .to_owned(),
                ),
            );
        }
        let rows: Vec<ReuseRow> = self.db.fetch_all(&q).await?;
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let mut links: HashMap<String, Vec<String>> = HashMap::new();
        for chunk in ids.chunks(500) {
            let got: Vec<ReuseLink> = self
                .db
                .fetch_all(
                    &Query::select()
                        .columns(["reuse_id", "dataset_id"])
                        .from("od_reuse_datasets")
                        .and_where(Expr::col("reuse_id").is_in(chunk.to_vec()))
                        .order_by("dataset_id", Order::Asc)
                        .to_owned(),
                )
                .await?;
            for l in got {
                links.entry(l.reuse_id).or_default().push(l.dataset_id);
            }
        }
        Ok(rows
            .into_iter()
            .map(|r| StoredReuse {
                datasets: links.remove(&r.id).unwrap_or_default(),
                id: r.id,
                title: r.title,
                kind: r.kind,
                url: r.url,
                description: r.description,
                author_id: r.author_id,
                created_at: r.created_at,
            })
            .collect())
    }

    /// Who added a reuse.
    pub async fn reuse_author(&self, id: &str) -> Result<i64> {
        #[derive(sqlx::FromRow)]
        struct Row {
            author_id: i64,
        }
        let r: Row = self
            .db
            .fetch_one(
                &Query::select().column("author_id").from("od_reuses").and_where(Expr::col("id").eq(id)).to_owned(),
            )
            .await?;
        Ok(r.author_id)
    }

    /// Removes a reuse and its links.
    pub async fn delete_reuse(&self, id: &str) -> Result<()> {
        let mut tx = self.db.begin_write().await?;
        tx.execute(&Query::delete().from_table("od_reuse_datasets").and_where(Expr::col("reuse_id").eq(id)).to_owned())
            .await?;
        let n =
            tx.execute(&Query::delete().from_table("od_reuses").and_where(Expr::col("id").eq(id)).to_owned()).await?;
        if n == 0 {
            let _ = tx.rollback().await;
            return Err(StoreError::NotFound);
        }
        tx.commit().await
    }

    /// How many reuses each dataset has (datasets without any left out).
    pub async fn reuse_counts(&self) -> Result<HashMap<String, i64>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            dataset_id: String,
            n: i64,
        }
        let rows: Vec<Row> = self
            .db
            .fetch_all(
                &Query::select()
                    .column("dataset_id")
                    .expr_as(sea_query::Func::count(Expr::col("reuse_id")), "n")
                    .from("od_reuse_datasets")
                    .group_by_col("dataset_id")
                    .to_owned(),
            )
            .await?;
        Ok(rows.into_iter().map(|r| (r.dataset_id, r.n)).collect())
    }

    /// Adds counted uses to the stored ones (several nodes may add to the same day).
    pub async fn add_usage(&self, uses: &[Usage]) -> Result<()> {
        for chunk in uses.chunks(500) {
            let mut ins = Query::insert()
                .into_table("od_usage")
                .columns(["dataset_id", "resource_id", "day", "kind", "count"])
                .to_owned();
            for u in chunk {
                ins.values_panic([
                    u.dataset_id.clone().into(),
                    u.resource_id.clone().into(),
                    u.day.into(),
                    u.kind.clone().into(),
                    u.count.into(),
                ]);
            }
            ins.on_conflict(
                sea_query::OnConflict::columns(["dataset_id", "resource_id", "day", "kind"])
                    .value("count", Expr::col(("od_usage", "count")).add(Expr::cust("excluded.count")))
                    .to_owned(),
            );
            self.db.execute(&ins).await?;
        }
        Ok(())
    }

    /// A dataset's uses per day in `[from, to)`.
    pub async fn dataset_usage(
        &self,
        dataset_id: &str,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> Result<Vec<Usage>> {
        self.db
            .fetch_all(
                &Query::select()
                    .columns(["dataset_id", "resource_id", "day", "kind", "count"])
                    .from("od_usage")
                    .and_where(Expr::col("dataset_id").eq(dataset_id))
                    .and_where(Expr::col("day").gte(from))
                    .and_where(Expr::col("day").lt(to))
                    .order_by("day", Order::Asc)
                    .to_owned(),
            )
            .await
    }

    /// Every dataset's and resource's uses summed over `[from, to)`.
    pub async fn usage_totals(&self, from: chrono::NaiveDate, to: chrono::NaiveDate) -> Result<Vec<UsageTotal>> {
        self.db
            .fetch_all(
                &Query::select()
                    .columns(["dataset_id", "resource_id", "kind"])
                    .expr_as(sea_query::Func::sum(Expr::col("count")).cast_as("bigint"), "count")
                    .from("od_usage")
                    .and_where(Expr::col("day").gte(from))
                    .and_where(Expr::col("day").lt(to))
                    .group_by_columns(["dataset_id", "resource_id", "kind"])
                    .order_by("dataset_id", Order::Asc)
                    .to_owned(),
            )
            .await
    }

    /// Resources of active datasets whose address was never checked, was checked before
    /// `before`, or that changed since their check: (resource id, its CKAN dictionary), at most
    /// `limit`, the never-checked first.
    pub async fn links_due(&self, before: DateTime<Utc>, limit: u64) -> Result<Vec<(String, Value)>> {
        let rows: Vec<DueRow> = self
            .db
            .fetch_all(
                &Query::select()
                    .expr_as(Expr::col(("od_resources", "id")), "id")
                    .expr_as(Expr::col(("od_resources", "body")), "body")
                    .from("od_resources")
                    .inner_join("od_datasets", Expr::col(("od_datasets", "id")).equals(("od_resources", "dataset_id")))
                    .left_join(
                        "od_link_checks",
                        Expr::col(("od_link_checks", "resource_id")).equals(("od_resources", "id")),
                    )
                    .and_where(Expr::col(("od_datasets", "state")).eq("active"))
                    .cond_where(
                        sea_query::Cond::any()
                            .add(Expr::col(("od_link_checks", "resource_id")).is_null())
                            .add(Expr::col(("od_link_checks", "checked_at")).lt(before))
                            .add(
                                Expr::col(("od_link_checks", "checked_at"))
                                    .lt(Expr::col(("od_resources", "modified_at"))),
                            ),
                    )
                    .order_by_with_nulls(("od_link_checks", "checked_at"), Order::Asc, sea_query::NullOrdering::First)
                    .limit(limit)
                    .to_owned(),
            )
            .await?;
        rows.into_iter().map(|r| Ok((r.id, json(&r.body)?))).collect()
    }

    /// Keeps the latest check of each resource's address.
    pub async fn save_link_checks(&self, checks: &[LinkCheck]) -> Result<()> {
        if checks.is_empty() {
            return Ok(());
        }
        let mut ins = Query::insert().into_table("od_link_checks").columns(LINK_CHECK_COLUMNS).to_owned();
        for c in checks {
            ins.values_panic([
                c.resource_id.clone().into(),
                c.url.clone().into(),
                c.status.into(),
                c.error.clone().into(),
                c.checked_at.into(),
            ]);
        }
        ins.on_conflict(
            sea_query::OnConflict::column("resource_id")
                .update_columns(["url", "status", "error", "checked_at"])
                .to_owned(),
        );
        self.db.execute(&ins).await.map(|_| ())
    }

    /// The latest checks of these resources' addresses.
    pub async fn link_checks(&self, resource_ids: &[String]) -> Result<Vec<LinkCheck>> {
        let mut out = Vec::new();
        for chunk in resource_ids.chunks(500) {
            let rows: Vec<LinkCheck> = self
                .db
                .fetch_all(
                    &Query::select()
                        .columns(LINK_CHECK_COLUMNS)
                        .from("od_link_checks")
                        .and_where(Expr::col("resource_id").is_in(chunk.to_vec()))
                        .to_owned(),
                )
                .await?;
            out.extend(rows);
        }
        Ok(out)
    }

    /// Replaces an agency's publication plan; saving it is reviewing it.
    pub async fn save_plan(&self, p: &StoredPlan) -> Result<()> {
        let mut tx = self.db.begin_write().await?;
        tx.execute(
            &Query::delete().from_table("od_plans").and_where(Expr::col("agency_id").eq(p.agency_id)).to_owned(),
        )
        .await?;
        tx.execute(
            &Query::insert()
                .into_table("od_plans")
                .columns(["agency_id", "items", "reviewed_at", "reviewed_by"])
                .values_panic([
                    p.agency_id.into(),
                    p.items.clone().into(),
                    p.reviewed_at.into(),
                    p.reviewed_by.clone().into(),
                ])
                .to_owned(),
        )
        .await?;
        tx.commit().await
    }

    /// Every agency's publication plan, by agency.
    pub async fn plans(&self) -> Result<Vec<StoredPlan>> {
        self.db
            .fetch_all(
                &Query::select()
                    .columns(["agency_id", "items", "reviewed_at", "reviewed_by"])
                    .from("od_plans")
                    .order_by("agency_id", Order::Asc)
                    .to_owned(),
            )
            .await
    }

    /// Keeps an uploaded file (a resource's id names it; a new upload replaces the old).
    pub async fn save_resource_file(&self, f: &ResourceFile) -> Result<()> {
        let mut tx = self.db.begin_write().await?;
        tx.execute(
            &Query::delete().from_table("od_files").and_where(Expr::col("resource_id").eq(&f.resource_id)).to_owned(),
        )
        .await?;
        tx.execute(
            &Query::insert()
                .into_table("od_files")
                .columns(FILE_COLUMNS)
                .values_panic([
                    f.resource_id.clone().into(),
                    f.dataset_id.clone().into(),
                    f.file_name.clone().into(),
                    f.media_type.clone().into(),
                    f.size.into(),
                    f.sha256.clone().into(),
                    f.content.clone().into(),
                    f.created_at.into(),
                ])
                .to_owned(),
        )
        .await?;
        // A CSV table is loaded into the datastore by the loader, from the file kept here.
        if f.media_type.starts_with("text/csv") {
            Store::request_datastore_load(&mut tx, &f.resource_id, &f.dataset_id).await?;
        }
        tx.commit().await
    }

    /// Forgets the files of a dataset's resources that it no longer lists (after an update
    /// replaced its resources). Returns how many went.
    /// Their datastore tables go too.
    pub async fn drop_unlisted_files(&self, dataset_id: &str, listed: &[String]) -> Result<u64> {
        let mut q = Query::delete().from_table("od_files").and_where(Expr::col("dataset_id").eq(dataset_id)).to_owned();
        if !listed.is_empty() {
            q.and_where(Expr::col("resource_id").is_not_in(listed.to_vec()));
        }
        let mut tx = self.db.begin_write().await?;
        let n = tx.execute(&q).await?;
        Store::drop_datastore_tables(&mut tx, dataset_id, listed).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// The file uploaded as a resource.
    pub async fn resource_file(&self, resource_id: &str) -> Result<ResourceFile> {
        self.db
            .fetch_one(
                &Query::select()
                    .columns(FILE_COLUMNS)
                    .from("od_files")
                    .and_where(Expr::col("resource_id").eq(resource_id))
                    .to_owned(),
            )
            .await
    }

    /// Writes a dataset with its whole list of resources, replacing what was stored under its
    /// id (CKAN's `package_update` replaces the resources too). A name another dataset holds
    /// is [`StoreError::Duplicate`].
    pub async fn save_dataset(&self, d: &StoredDataset, resources: &[StoredResource]) -> Result<()> {
        let mut tx = self.db.begin_write().await?;
        let exists: Option<IdOnly> = tx
            .fetch_optional(
                &Query::select().column("id").from("od_datasets").and_where(Expr::col("id").eq(&d.id)).to_owned(),
            )
            .await?;
        let dup = |e: StoreError| if e.is_unique_violation() { StoreError::Duplicate(d.name.clone()) } else { e };
        if exists.is_some() {
            tx.execute(
                &Query::delete().from_table("od_resources").and_where(Expr::col("dataset_id").eq(&d.id)).to_owned(),
            )
            .await?;
            tx.execute(
                &Query::update()
                    .table("od_datasets")
                    .value("name", &d.name)
                    .value("agency_id", d.agency_id)
                    .value("state", &d.state)
                    .value("body", d.body.to_string())
                    .value("modified_at", d.modified_at)
                    .and_where(Expr::col("id").eq(&d.id))
                    .to_owned(),
            )
            .await
            .map_err(dup)?;
        } else {
            insert_dataset_row(&mut tx, d).await.map_err(dup)?;
        }
        insert_resource_rows(&mut tx, &d.id, resources).await?;
        tx.commit().await
    }

    /// Adds new datasets in one transaction: a bulk load (the benchmark, imports).
    pub async fn insert_datasets(&self, batch: &[(StoredDataset, Vec<StoredResource>)]) -> Result<()> {
        let mut tx = self.db.begin_write().await?;
        for (d, resources) in batch {
            insert_dataset_row(&mut tx, d)
                .await
                .map_err(|e| if e.is_unique_violation() { StoreError::Duplicate(d.name.clone()) } else { e })?;
            insert_resource_rows(&mut tx, &d.id, resources).await?;
        }
        tx.commit().await
    }

    /// A dataset by id or by name, deleted ones included.
    pub async fn dataset(&self, id_or_name: &str) -> Result<StoredDataset> {
        let row: DatasetRow = self
            .db
            .fetch_one(
                &Query::select()
                    .columns(DATASET_COLUMNS)
                    .from("od_datasets")
                    .cond_where(Expr::col("id").eq(id_or_name).or(Expr::col("name").eq(id_or_name)))
                    .to_owned(),
            )
            .await?;
        row.try_into()
    }

    /// A published (active) dataset by id or by name, with its resources; a deleted one is
    /// [`StoreError::NotFound`].
    pub async fn published_dataset(&self, id_or_name: &str) -> Result<(StoredDataset, Vec<StoredResource>)> {
        let d = self.dataset(id_or_name).await?;
        if d.state != "active" {
            return Err(StoreError::NotFound);
        }
        let r = self.dataset_resources(&d.id).await?;
        Ok((d, r))
    }

    /// Active datasets in name order after `after`, at most `limit`.
    pub async fn dataset_names(&self, offset: u64, limit: u64) -> Result<Vec<String>> {
        #[derive(sqlx::FromRow)]
        struct Name {
            name: String,
        }
        let rows: Vec<Name> = self
            .db
            .fetch_all(
                &Query::select()
                    .column("name")
                    .from("od_datasets")
                    .and_where(Expr::col("state").eq("active"))
                    .order_by("name", Order::Asc)
                    .limit(limit)
                    .offset(offset)
                    .to_owned(),
            )
            .await?;
        Ok(rows.into_iter().map(|r| r.name).collect())
    }

    /// Active datasets by last change (newest first, then id), one page of `limit` from
    /// `offset`: `current_package_list_with_resources` and the DCAT catalogue page through it.
    pub async fn datasets_by_modified(&self, offset: u64, limit: u64) -> Result<Vec<StoredDataset>> {
        let rows: Vec<DatasetRow> = self
            .db
            .fetch_all(
                &Query::select()
                    .columns(DATASET_COLUMNS)
                    .from("od_datasets")
                    .and_where(Expr::col("state").eq("active"))
                    .order_by("modified_at", Order::Desc)
                    .order_by("id", Order::Asc)
                    .limit(limit)
                    .offset(offset)
                    .to_owned(),
            )
            .await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// Every active dataset with its resources, in pages of `page`: what the search index is
    /// built from at start.
    pub async fn all_datasets(&self, page: u64) -> Result<Vec<(StoredDataset, Vec<StoredResource>)>> {
        let mut out = Vec::new();
        let mut after = String::new();
        loop {
            let rows: Vec<DatasetRow> = self
                .db
                .fetch_all(
                    &Query::select()
                        .columns(DATASET_COLUMNS)
                        .from("od_datasets")
                        .and_where(Expr::col("state").eq("active"))
                        .and_where(Expr::col("id").gt(&after))
                        .order_by("id", Order::Asc)
                        .limit(page)
                        .to_owned(),
                )
                .await?;
            let Some(last) = rows.last() else { break };
            after = last.id.clone();
            let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
            let mut by_dataset = self.resources_of(ids).await?;
            let n = rows.len() as u64;
            for r in rows {
                let d: StoredDataset = r.try_into()?;
                let res = by_dataset.remove(&d.id).unwrap_or_default();
                out.push((d, res));
            }
            if n < page {
                break;
            }
        }
        Ok(out)
    }

    /// Datasets by id with their resources, in the order of `ids` (missing ones left out):
    /// a page of search results.
    pub async fn datasets_with_resources(&self, ids: &[String]) -> Result<Vec<(StoredDataset, Vec<StoredResource>)>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let rows: Vec<DatasetRow> = self
            .db
            .fetch_all(
                &Query::select()
                    .columns(DATASET_COLUMNS)
                    .from("od_datasets")
                    .and_where(Expr::col("id").is_in(ids.to_vec()))
                    .to_owned(),
            )
            .await?;
        let mut by_id: std::collections::HashMap<String, StoredDataset> = Default::default();
        for r in rows {
            let d: StoredDataset = r.try_into()?;
            by_id.insert(d.id.clone(), d);
        }
        let mut res = self.resources_of(ids.to_vec()).await?;
        Ok(ids.iter().filter_map(|id| by_id.remove(id).map(|d| (d, res.remove(id).unwrap_or_default()))).collect())
    }

    async fn resources_of(&self, ids: Vec<String>) -> Result<std::collections::HashMap<String, Vec<StoredResource>>> {
        let res: Vec<ResourceRow> = self
            .db
            .fetch_all(
                &Query::select()
                    .columns(RESOURCE_COLUMNS)
                    .from("od_resources")
                    .and_where(Expr::col("dataset_id").is_in(ids))
                    .order_by("dataset_id", Order::Asc)
                    .order_by("position", Order::Asc)
                    .to_owned(),
            )
            .await?;
        let mut by_dataset: std::collections::HashMap<String, Vec<StoredResource>> = Default::default();
        for r in res {
            let r: StoredResource = r.try_into()?;
            by_dataset.entry(r.dataset_id.clone()).or_default().push(r);
        }
        Ok(by_dataset)
    }

    /// Datasets changed at or after `since`, deleted ones included, oldest change first, at
    /// most `limit`, with their resources: what another node's index catches up from.
    pub async fn datasets_changed_since(
        &self,
        since: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<(StoredDataset, Vec<StoredResource>)>> {
        let rows: Vec<DatasetRow> = self
            .db
            .fetch_all(
                &Query::select()
                    .columns(DATASET_COLUMNS)
                    .from("od_datasets")
                    .and_where(Expr::col("modified_at").gte(since))
                    .order_by("modified_at", Order::Asc)
                    .order_by("id", Order::Asc)
                    .limit(limit)
                    .to_owned(),
            )
            .await?;
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let mut res = self.resources_of(ids).await?;
        rows.into_iter()
            .map(|r| {
                let d: StoredDataset = r.try_into()?;
                let r = res.remove(&d.id).unwrap_or_default();
                Ok((d, r))
            })
            .collect()
    }

    /// A dataset's resources in order.
    pub async fn dataset_resources(&self, dataset_id: &str) -> Result<Vec<StoredResource>> {
        let rows: Vec<ResourceRow> = self
            .db
            .fetch_all(
                &Query::select()
                    .columns(RESOURCE_COLUMNS)
                    .from("od_resources")
                    .and_where(Expr::col("dataset_id").eq(dataset_id))
                    .order_by("position", Order::Asc)
                    .to_owned(),
            )
            .await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    pub async fn resource(&self, id: &str) -> Result<StoredResource> {
        let row: ResourceRow = self
            .db
            .fetch_one(
                &Query::select()
                    .columns(RESOURCE_COLUMNS)
                    .from("od_resources")
                    .and_where(Expr::col("id").eq(id))
                    .to_owned(),
            )
            .await?;
        row.try_into()
    }

    /// Active datasets per agency: how many each publishes (programme target K5).
    pub async fn datasets_per_agency(&self) -> Result<Vec<(i64, i64)>> {
        #[derive(sqlx::FromRow)]
        struct Count {
            agency_id: i64,
            n: i64,
        }
        let rows: Vec<Count> = self
            .db
            .fetch_all(
                &Query::select()
                    .column("agency_id")
                    .expr_as(sea_query::Func::count(Expr::col("id")), "n")
                    .from("od_datasets")
                    .and_where(Expr::col("state").eq("active"))
                    .group_by_col("agency_id")
                    .order_by("agency_id", Order::Asc)
                    .to_owned(),
            )
            .await?;
        Ok(rows.into_iter().map(|r| (r.agency_id, r.n)).collect())
    }
}

async fn insert_dataset_row(tx: &mut crate::Tx, d: &StoredDataset) -> Result<()> {
    tx.execute(
        &Query::insert()
            .into_table("od_datasets")
            .columns(DATASET_COLUMNS)
            .values_panic([
                d.id.clone().into(),
                d.name.clone().into(),
                d.agency_id.into(),
                d.state.clone().into(),
                d.body.to_string().into(),
                d.created_at.into(),
                d.modified_at.into(),
            ])
            .to_owned(),
    )
    .await?;
    Ok(())
}

async fn insert_resource_rows(tx: &mut crate::Tx, dataset_id: &str, resources: &[StoredResource]) -> Result<()> {
    for r in resources {
        tx.execute(
            &Query::insert()
                .into_table("od_resources")
                .columns(RESOURCE_COLUMNS)
                .values_panic([
                    r.id.clone().into(),
                    dataset_id.into(),
                    r.position.into(),
                    r.body.to_string().into(),
                    r.created_at.into(),
                    r.modified_at.into(),
                ])
                .to_owned(),
        )
        .await
        .map_err(|e| if e.is_unique_violation() { StoreError::Duplicate(r.id.clone()) } else { e })?;
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct IdOnly {
    #[allow(dead_code)]
    id: String,
}
