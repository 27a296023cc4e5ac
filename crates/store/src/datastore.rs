//! The datastore (issue #6): each tabular resource loaded into a typed table of its own,
//! `ds_{n}`, with `_id` numbering the rows, one column per file column (its name as in the
//! file; integer, double, boolean or text), and `_full_text` for `q`. `od_datastore` lists
//! the tables, their columns and how far each load got. Tables are made and queried with
//! the query builder on both backends; `datastore_search_sql` runs SQL that
//! `sen_domain::opendata::datastore::check_sql` checked, read-only and under a time limit.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sea_query::{Alias, ColumnDef, Expr, ExprTrait, Index, Order, Query, SelectStatement, Table};
use sen_domain::opendata::datastore::{self as ds, Cell, Column, FULL_TEXT, ROW_ID, Search};
use sen_domain::opendata::table::ColumnType;
use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, Column as _, Row as _, SqlSafeStr, TypeInfo as _, ValueRef as _};

use crate::exec::Db;
use crate::{Result, Store, StoreError};

/// A load is waiting for the loader.
pub const PENDING: &str = "pending";
/// The loader is filling the table.
pub const LOADING: &str = "loading";
/// The table answers searches.
pub const ACTIVE: &str = "active";
/// The file could not be loaded (see `error`).
pub const FAILED: &str = "failed";

/// A load not heard from for this long was interrupted (the node stopped): another loader
/// starts it again.
const STALE_LOAD: Duration = Duration::from_secs(60);

/// Totals of filtered searches kept in memory, at most (then forgotten all at once).
const TOTALS_KEPT: usize = 10_000;

/// A resource's datastore table.
#[derive(Debug, Clone, PartialEq)]
pub struct DatastoreTable {
    pub no: i64,
    pub resource_id: String,
    pub dataset_id: String,
    pub columns: Vec<(String, ColumnType)>,
    pub state: String,
    /// Rows loaded so far.
    pub rows: i64,
    pub error: Option<String>,
    pub updated_at: DateTime<Utc>,
}

impl DatastoreTable {
    /// The table's name in the database.
    pub fn table_name(&self) -> String {
        table_name(self.no)
    }
}

/// The name in the database of datastore table `no`.
pub fn table_name(no: i64) -> String {
    format!("ds_{no}")
}

#[derive(sqlx::FromRow)]
struct TableRow {
    id: i64,
    resource_id: String,
    dataset_id: String,
    fields: String,
    state: String,
    rows: i64,
    error: Option<String>,
    updated_at: DateTime<Utc>,
}

const TABLE_COLUMNS: [&str; 8] = ["id", "resource_id", "dataset_id", "fields", "state", "rows", "error", "updated_at"];

impl From<TableRow> for DatastoreTable {
    fn from(r: TableRow) -> Self {
        let columns = serde_json::from_str::<Vec<(String, String)>>(&r.fields)
            .unwrap_or_default()
            .into_iter()
            .map(|(n, t)| (n, ColumnType::parse(&t).unwrap_or(ColumnType::String)))
            .collect();
        DatastoreTable {
            no: r.id,
            resource_id: r.resource_id,
            dataset_id: r.dataset_id,
            columns,
            state: r.state,
            rows: r.rows,
            error: r.error,
            updated_at: r.updated_at,
        }
    }
}

fn col(name: &str) -> Expr {
    Expr::col(Alias::new(name))
}

fn column_name(columns: &[(String, ColumnType)], c: Column) -> &str {
    match c {
        Column::RowId => ROW_ID,
        Column::Field(i) => &columns[i].0,
    }
}

fn value(c: &Cell) -> sea_query::Value {
    match c {
        Cell::Null => sea_query::Value::String(None),
        Cell::Int(n) => (*n).into(),
        Cell::Num(f) => (*f).into(),
        Cell::Bool(b) => (*b).into(),
        Cell::Text(s) => s.clone().into(),
    }
}

/// How a column's cells are read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Num,
    Bool,
    Text,
}

fn kind(t: ColumnType) -> Kind {
    match t {
        ColumnType::Integer => Kind::Int,
        ColumnType::Number => Kind::Num,
        ColumnType::Boolean => Kind::Bool,
        _ => Kind::Text,
    }
}

fn number(f: Option<f64>) -> Value {
    f.and_then(serde_json::Number::from_f64).map_or(Value::Null, Value::Number)
}

macro_rules! decode_row {
    ($row:expr, $kinds:expr) => {
        $kinds
            .iter()
            .enumerate()
            .map(|(i, k)| -> std::result::Result<Value, sqlx::Error> {
                Ok(match k {
                    Kind::Int => json!($row.try_get::<Option<i64>, _>(i)?),
                    Kind::Num => number($row.try_get::<Option<f64>, _>(i)?),
                    Kind::Bool => json!($row.try_get::<Option<bool>, _>(i)?),
                    Kind::Text => json!($row.try_get::<Option<String>, _>(i)?),
                })
            })
            .collect::<std::result::Result<Vec<Value>, sqlx::Error>>()
    };
}

/// Why a `datastore_search_sql` query gave no rows.
#[derive(Debug, thiserror::Error)]
pub enum SqlRunError {
    #[error("Query took too long")]
    Timeout,
    /// The database refused the query (an unknown column, a type mismatch …).
    #[error("{0}")]
    Rejected(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for SqlRunError {
    fn from(e: sqlx::Error) -> Self {
        SqlRunError::Store(e.into())
    }
}

/// What a `datastore_search_sql` query gave: its columns (name, type), rows, and whether
/// rows were left off at the cap.
#[derive(Debug, Clone, PartialEq)]
pub struct SqlRows {
    pub columns: Vec<(String, String)>,
    pub rows: Vec<Vec<Value>>,
    pub truncated: bool,
}

fn sql_error(e: sqlx::Error) -> SqlRunError {
    match &e {
        sqlx::Error::Database(d) => {
            let code = d.code().unwrap_or_default();
            // PostgreSQL's query_canceled (statement_timeout); SQLite's SQLITE_INTERRUPT.
            if code == "57014" || code == "9" || d.message().contains("interrupted") {
                SqlRunError::Timeout
            } else {
                SqlRunError::Rejected(d.message().to_string())
            }
        }
        _ => SqlRunError::Store(e.into()),
    }
}

fn sqlite_value(row: &sqlx::sqlite::SqliteRow, i: usize) -> std::result::Result<(Value, &'static str), sqlx::Error> {
    let raw = row.try_get_raw(i)?;
    let t = raw.type_info().name().to_string();
    Ok(match t.as_str() {
        "NULL" => (Value::Null, ""),
        "INTEGER" => (json!(row.try_get::<i64, _>(i)?), "int"),
        "REAL" => (number(Some(row.try_get::<f64, _>(i)?)), "float"),
        "TEXT" => (json!(row.try_get::<String, _>(i)?), "text"),
        _ => (Value::Null, "blob"),
    })
}

fn postgres_value(row: &sqlx::postgres::PgRow, i: usize) -> std::result::Result<Value, sqlx::Error> {
    let t = row.columns()[i].type_info().name().to_string();
    Ok(match t.as_str() {
        "INT2" => json!(row.try_get::<Option<i16>, _>(i)?),
        "INT4" => json!(row.try_get::<Option<i32>, _>(i)?),
        "INT8" => json!(row.try_get::<Option<i64>, _>(i)?),
        "FLOAT4" => number(row.try_get::<Option<f32>, _>(i)?.map(f64::from)),
        "FLOAT8" => number(row.try_get::<Option<f64>, _>(i)?),
        // Sums and averages of integers; a value beyond 28 digits is given as NULL.
        "NUMERIC" => match row.try_get::<Option<sqlx::types::Decimal>, _>(i) {
            Ok(d) => d.and_then(|d| serde_json::from_str(&d.normalize().to_string()).ok()).unwrap_or(Value::Null),
            Err(_) => Value::Null,
        },
        "BOOL" => json!(row.try_get::<Option<bool>, _>(i)?),
        "DATE" => json!(row.try_get::<Option<chrono::NaiveDate>, _>(i)?.map(|d| d.to_string())),
        "TIMESTAMP" => {
            json!(
                row.try_get::<Option<chrono::NaiveDateTime>, _>(i)?.map(|d| d.format("%Y-%m-%dT%H:%M:%S").to_string())
            )
        }
        "TIMESTAMPTZ" => json!(row.try_get::<Option<DateTime<Utc>>, _>(i)?.map(|d| d.to_rfc3339())),
        _ => row.try_get::<Option<String>, _>(i).map(|s| json!(s)).unwrap_or(Value::Null),
    })
}

impl Store {
    /// Asks for a resource's file to be (re)loaded into the datastore; the loader picks it up.
    pub(crate) async fn request_datastore_load(tx: &mut crate::Tx, resource_id: &str, dataset_id: &str) -> Result<()> {
        let now = Utc::now();
        let updated = tx
            .execute(
                &Query::update()
                    .table("od_datastore")
                    .value("state", PENDING)
                    .value("dataset_id", dataset_id)
                    .value("error", Option::<String>::None)
                    .value("updated_at", now)
                    .and_where(Expr::col("resource_id").eq(resource_id))
                    .to_owned(),
            )
            .await?;
        if updated == 0 {
            tx.execute(
                &Query::insert()
                    .into_table("od_datastore")
                    .columns(["resource_id", "dataset_id", "fields", "state", "rows", "updated_at"])
                    .values_panic([
                        resource_id.into(),
                        dataset_id.into(),
                        "[]".into(),
                        PENDING.into(),
                        0i64.into(),
                        now.into(),
                    ])
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    /// Resources waiting to be loaded, or whose load was interrupted; oldest first.
    pub async fn datastore_due(&self, limit: u64) -> Result<Vec<String>> {
        let stale = Utc::now() - chrono::Duration::from_std(STALE_LOAD).expect("a short duration");
        let rows: Vec<TableRow> = self
            .db
            .fetch_all(
                &Query::select()
                    .columns(TABLE_COLUMNS)
                    .from("od_datastore")
                    .cond_where(
                        Expr::col("state")
                            .eq(PENDING)
                            .or(Expr::col("state").eq(LOADING).and(Expr::col("updated_at").lt(stale))),
                    )
                    .order_by("updated_at", Order::Asc)
                    .limit(limit)
                    .to_owned(),
            )
            .await?;
        Ok(rows.into_iter().map(|r| r.resource_id).collect())
    }

    /// A resource's datastore table, in whatever state.
    pub async fn datastore_table(&self, resource_id: &str) -> Result<DatastoreTable> {
        let row: TableRow = self
            .db
            .fetch_one(
                &Query::select()
                    .columns(TABLE_COLUMNS)
                    .from("od_datastore")
                    .and_where(Expr::col("resource_id").eq(resource_id))
                    .to_owned(),
            )
            .await?;
        Ok(row.into())
    }

    /// The tables that answer queries, of datasets that are published: resource id and
    /// table number.
    pub async fn datastore_active_tables(&self) -> Result<Vec<(String, i64)>> {
        #[derive(sqlx::FromRow)]
        struct Active {
            resource_id: String,
            id: i64,
        }
        let rows: Vec<Active> = self
            .db
            .fetch_all(
                &Query::select()
                    .column(("od_datastore", "resource_id"))
                    .column(("od_datastore", "id"))
                    .from("od_datastore")
                    .inner_join("od_datasets", Expr::col(("od_datasets", "id")).equals(("od_datastore", "dataset_id")))
                    .and_where(Expr::col(("od_datastore", "state")).eq(ACTIVE))
                    .and_where(Expr::col(("od_datasets", "state")).eq("active"))
                    .to_owned(),
            )
            .await?;
        Ok(rows.into_iter().map(|r| (r.resource_id, r.id)).collect())
    }

    /// Claims a due load and makes its table afresh with these columns; gives the table, or
    /// `None` when another loader has it or a newer request replaced it.
    pub async fn datastore_begin_load(
        &self,
        resource_id: &str,
        columns: &[(String, ColumnType)],
    ) -> Result<Option<DatastoreTable>> {
        let mut tx = self.db.begin_write().await?;
        tx.lock(crate::exec::Lock::Schema).await?;
        let row: Option<TableRow> = tx
            .fetch_optional(
                &Query::select()
                    .columns(TABLE_COLUMNS)
                    .from("od_datastore")
                    .and_where(Expr::col("resource_id").eq(resource_id))
                    .to_owned(),
            )
            .await?;
        let stale = Utc::now() - chrono::Duration::from_std(STALE_LOAD).expect("a short duration");
        let Some(row) = row.filter(|r| r.state == PENDING || (r.state == LOADING && r.updated_at < stale)) else {
            tx.rollback().await?;
            return Ok(None);
        };
        let name = table_name(row.id);
        tx.execute_schema(&Table::drop().table(Alias::new(&name)).if_exists().to_owned()).await?;
        let mut create = Table::create().table(Alias::new(&name)).to_owned();
        create.col(ColumnDef::new(ROW_ID).big_integer().not_null().primary_key());
        for (n, t) in columns {
            let mut c = ColumnDef::new(Alias::new(n));
            match t {
                ColumnType::Integer => c.big_integer(),
                ColumnType::Number => c.double(),
                ColumnType::Boolean => c.boolean(),
                _ => c.text(),
            };
            create.col(c.null());
        }
        create.col(ColumnDef::new(FULL_TEXT).text().not_null());
        tx.execute_schema(&create).await?;
        let fields: Vec<(&str, &str)> = columns.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
        let now = Utc::now();
        tx.execute(
            &Query::update()
                .table("od_datastore")
                .value("state", LOADING)
                .value("fields", serde_json::to_string(&fields).expect("fields as JSON"))
                .value("rows", 0i64)
                .value("error", Option::<String>::None)
                .value("updated_at", now)
                .and_where(Expr::col("id").eq(row.id))
                .to_owned(),
        )
        .await?;
        tx.commit().await?;
        Ok(Some(DatastoreTable {
            no: row.id,
            resource_id: row.resource_id,
            dataset_id: row.dataset_id,
            columns: columns.to_vec(),
            state: LOADING.into(),
            rows: 0,
            error: None,
            updated_at: now,
        }))
    }

    /// Adds rows (cells as in the file) numbered from `first_id`, in one transaction, and
    /// records how far the load got. `false` when the load was replaced meanwhile (a newer
    /// file): the loader stops.
    pub async fn datastore_append(&self, t: &DatastoreTable, first_id: i64, rows: &[Vec<String>]) -> Result<bool> {
        let name = t.table_name();
        let mut names: Vec<Alias> = vec![Alias::new(ROW_ID)];
        names.extend(t.columns.iter().map(|(n, _)| Alias::new(n)));
        names.push(Alias::new(FULL_TEXT));
        // SQLite binds at most 32,766 values a statement.
        let per_statement = (30_000 / names.len()).max(1);
        let mut tx = self.db.begin_write().await?;
        let live = tx.execute(while_loading(t.no).value("rows", first_id - 1 + rows.len() as i64)).await?;
        if live == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        for (chunk_no, chunk) in rows.chunks(per_statement).enumerate() {
            let mut insert = Query::insert().into_table(Alias::new(&name)).columns(names.clone()).to_owned();
            for (i, row) in chunk.iter().enumerate() {
                let id = first_id + (chunk_no * per_statement + i) as i64;
                let mut values: Vec<Expr> = Vec::with_capacity(names.len());
                values.push(Expr::value(id));
                for ((_, ty), raw) in t.columns.iter().zip(row) {
                    values.push(Expr::value(value(&ds::cell(*ty, raw))));
                }
                values.push(Expr::value(ds::full_text(row)));
                insert.values_panic(values);
            }
            tx.execute(&insert).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Ends a load: indexes the chosen columns (each with `_id`, so that a filtered page
    /// comes in row order from the index), refreshes the planner's statistics, and opens the
    /// table to searches; the resource says `datastore_active`.
    pub async fn datastore_finish(&self, t: &DatastoreTable, indexed: &[usize]) -> Result<bool> {
        let name = t.table_name();
        let mut tx = self.db.begin_write().await?;
        for &i in indexed {
            let mut index = Index::create().name(format!("{name}_{i}")).table(Alias::new(&name)).to_owned();
            index.col(Alias::new(&t.columns[i].0)).col(Alias::new(ROW_ID));
            tx.execute_schema(&index).await?;
        }
        tx.commit().await?;
        // The planner's statistics, before the first search, so that of two filtered columns
        // it reads the more selective one's index. SQLite reads every index in full: a sample
        // (analysis_limit) takes the first entries of a sorted index, sees one value, and
        // misleads the planner by orders of magnitude. PostgreSQL samples at random.
        // On PostgreSQL, VACUUM also marks the new pages all-visible, so that counts and
        // filters read the indexes alone instead of visiting the table for every match.
        match &self.db {
            Db::Sqlite(p, _) => sqlx::query(AssertSqlSafe(format!("ANALYZE {name}"))).execute(p).await.map(|_| ())?,
            Db::Postgres(p) => {
                sqlx::query(AssertSqlSafe(format!("VACUUM (ANALYZE) {name}"))).execute(p).await.map(|_| ())?
            }
        }
        let mut tx = self.db.begin_write().await?;
        let active = tx.execute(while_loading(t.no).value("state", ACTIVE)).await?;
        if active == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        // Not a change of the dataset's metadata: its modification time (what harvesters,
        // the plan's staleness and the quality score read) stays.
        set_datastore_active(&mut tx, &t.resource_id, true).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Records why a file could not be loaded.
    pub async fn datastore_fail(&self, resource_id: &str, error: &str) -> Result<()> {
        self.db
            .execute(
                &Query::update()
                    .table("od_datastore")
                    .value("state", FAILED)
                    .value("error", error.chars().take(500).collect::<String>())
                    .value("updated_at", Utc::now())
                    .and_where(Expr::col("resource_id").eq(resource_id))
                    .and_where(Expr::col("state").is_in([PENDING, LOADING]))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    /// Drops the datastore tables of a dataset's resources other than `kept`.
    pub(crate) async fn drop_datastore_tables(tx: &mut crate::Tx, dataset_id: &str, kept: &[String]) -> Result<()> {
        let mut q = Query::select()
            .columns(TABLE_COLUMNS)
            .from("od_datastore")
            .and_where(Expr::col("dataset_id").eq(dataset_id))
            .to_owned();
        if !kept.is_empty() {
            q.and_where(Expr::col("resource_id").is_not_in(kept.to_vec()));
        }
        let gone: Vec<TableRow> = tx.fetch_all(&q).await?;
        for r in gone {
            tx.execute_schema(&Table::drop().table(Alias::new(table_name(r.id))).if_exists().to_owned()).await?;
            tx.execute(&Query::delete().from_table("od_datastore").and_where(Expr::col("id").eq(r.id)).to_owned())
                .await?;
        }
        Ok(())
    }

    /// Rows of a loaded table that a checked search asks for, and their total when asked.
    pub async fn datastore_search(&self, t: &DatastoreTable, s: &Search) -> Result<(Vec<Vec<Value>>, Option<i64>)> {
        let name = t.table_name();
        let mut filtered = Query::select().from(Alias::new(&name)).to_owned();
        apply_conditions(&mut filtered, t, s);
        let mut page = filtered.clone();
        for c in &s.fields {
            page.expr(col(column_name(&t.columns, *c)));
        }
        let narrowed = !s.filters.is_empty() || !s.words.is_empty();
        for (c, desc) in &s.sort {
            let key = col(column_name(&t.columns, *c));
            // With a filter, SQLite is told not to walk the sort column's index (`+x` is an
            // expression no index orders): it would read the table in that order looking for
            // the few rows that match — seconds on millions of rows — where reading the
            // matches by the filter's index and sorting them takes milliseconds.
            let key = if narrowed && *c != Column::RowId && self.db.backend() == crate::Backend::Sqlite {
                // (sea-query puts the column where SQLite's placeholder is.)
                Expr::cust_with_expr("+?", key)
            } else {
                key
            };
            page.order_by_expr(key, if *desc { Order::Desc } else { Order::Asc });
        }
        if !s.sort.iter().any(|(c, _)| *c == Column::RowId) {
            page.order_by_expr(col(ROW_ID), Order::Asc);
        }
        match (&s.sort[..], narrowed) {
            // Without a filter, in `_id` order, a page is a range of `_id`: rows are numbered
            // 1, 2, … with no gap and a loaded table never changes, so `offset` needs no scan.
            ([] | [(Column::RowId, false)], false) => {
                page.and_where(col(ROW_ID).gt(s.offset as i64)).limit(s.limit);
            }
            ([(Column::RowId, true)], false) => {
                page.and_where(col(ROW_ID).lte(t.rows - s.offset as i64)).limit(s.limit);
            }
            _ => {
                page.limit(s.limit).offset(s.offset);
            }
        }
        let kinds: Vec<Kind> = s
            .fields
            .iter()
            .map(|c| match c {
                Column::RowId => Kind::Int,
                Column::Field(i) => kind(t.columns[*i].1),
            })
            .collect();
        let rows = self.fetch_values(&page, &kinds).await?;
        let total = if !s.include_total {
            None
        } else if s.filters.is_empty() && s.words.is_empty() {
            Some(t.rows)
        } else {
            // A loaded table never changes: a total, once counted, holds until the next load
            // (which makes a new `updated_at`).
            let key = format!("{}:{}:{:?}:{:?}", t.no, t.updated_at.timestamp_micros(), s.filters, s.words);
            let cached = self.datastore_totals.lock().expect("datastore totals").get(&key).copied();
            match cached {
                Some(n) => Some(n),
                None => {
                    let mut count = filtered;
                    count.expr(Expr::cust("COUNT(*)"));
                    let n = self.fetch_values(&count, &[Kind::Int]).await?[0][0].as_i64().unwrap_or(0);
                    let mut totals = self.datastore_totals.lock().expect("datastore totals");
                    if totals.len() >= TOTALS_KEPT {
                        totals.clear();
                    }
                    totals.insert(key, n);
                    Some(n)
                }
            }
        };
        Ok((rows, total))
    }

    async fn fetch_values(&self, stmt: &SelectStatement, kinds: &[Kind]) -> Result<Vec<Vec<Value>>> {
        use sea_query_sqlx::SqlxBinder;
        match &self.db {
            Db::Sqlite(p, _) => {
                let (sql, v) = crate::exec::sqlite_statement(stmt);
                let rows = sqlx::query_with(AssertSqlSafe(sql), v).fetch_all(p).await?;
                Ok(rows.iter().map(|r| decode_row!(r, kinds)).collect::<std::result::Result<_, _>>()?)
            }
            Db::Postgres(p) => {
                let (sql, v) = stmt.build_sqlx(sea_query::PostgresQueryBuilder);
                let rows = sqlx::query_with(AssertSqlSafe(sql), v).fetch_all(p).await?;
                Ok(rows.iter().map(|r| decode_row!(r, kinds)).collect::<std::result::Result<_, _>>()?)
            }
        }
    }

    /// Runs a checked read-only query over datastore tables: in a read-only transaction
    /// (PostgreSQL) or on a connection in `query_only` mode (SQLite), stopped after `timeout`,
    /// with at most `cap` rows.
    pub async fn datastore_sql(
        &self,
        sql: &str,
        timeout: Duration,
        cap: usize,
    ) -> std::result::Result<SqlRows, SqlRunError> {
        use futures_util::TryStreamExt;
        match &self.db {
            Db::Sqlite(p, _) => {
                let mut conn = p.acquire().await?;
                let deadline = Instant::now() + timeout;
                conn.lock_handle().await?.set_progress_handler(1_000, move || Instant::now() < deadline);
                sqlx::query("PRAGMA query_only = ON").execute(&mut *conn).await?;
                let mut out = SqlRows { columns: vec![], rows: vec![], truncated: false };
                let run = async {
                    let stmt = sqlx::Executor::prepare(&mut *conn, AssertSqlSafe(sql.to_string()).into_sql_str())
                        .await
                        .map_err(sql_error)?;
                    let names: Vec<String> =
                        sqlx::Statement::columns(&stmt).iter().map(|c| c.name().to_string()).collect();
                    let mut types = vec![""; names.len()];
                    let mut stream = sqlx::Statement::query(&stmt).fetch(&mut *conn);
                    while let Some(row) = stream.try_next().await.map_err(sql_error)? {
                        if out.rows.len() == cap {
                            out.truncated = true;
                            break;
                        }
                        let mut values = Vec::with_capacity(names.len());
                        for (i, ty) in types.iter_mut().enumerate() {
                            let (v, t) = sqlite_value(&row, i)?;
                            if ty.is_empty() {
                                *ty = t;
                            }
                            values.push(v);
                        }
                        out.rows.push(values);
                    }
                    out.columns = names
                        .into_iter()
                        .zip(types)
                        .map(|(n, t)| (n, if t.is_empty() { "text" } else { t }.to_string()))
                        .collect();
                    Ok::<_, SqlRunError>(())
                }
                .await;
                // The connection goes back to the pool as it came, or not at all.
                let reset = sqlx::query("PRAGMA query_only = OFF").execute(&mut *conn).await;
                let cleared = match conn.lock_handle().await {
                    Ok(mut h) => {
                        h.remove_progress_handler();
                        true
                    }
                    Err(_) => false,
                };
                if reset.is_err() || !cleared {
                    drop(conn.detach());
                }
                run.map(|_| out)
            }
            Db::Postgres(p) => {
                let mut tx = p.begin().await?;
                sqlx::query("SET TRANSACTION READ ONLY").execute(&mut *tx).await?;
                sqlx::query(AssertSqlSafe(format!("SET LOCAL statement_timeout = {}", timeout.as_millis().max(1))))
                    .execute(&mut *tx)
                    .await?;
                let stmt = sqlx::Executor::prepare(&mut *tx, AssertSqlSafe(sql.to_string()).into_sql_str())
                    .await
                    .map_err(sql_error)?;
                let columns: Vec<(String, String)> = sqlx::Statement::columns(&stmt)
                    .iter()
                    .map(|c| (c.name().to_string(), c.type_info().name().to_lowercase()))
                    .collect();
                let mut out = SqlRows { columns, rows: vec![], truncated: false };
                {
                    let mut stream = sqlx::Statement::query(&stmt).fetch(&mut *tx);
                    while let Some(row) = stream.try_next().await.map_err(sql_error)? {
                        if out.rows.len() == cap {
                            out.truncated = true;
                            break;
                        }
                        out.rows.push(
                            (0..out.columns.len())
                                .map(|i| postgres_value(&row, i))
                                .collect::<std::result::Result<_, _>>()?,
                        );
                    }
                }
                tx.rollback().await?;
                Ok(out)
            }
        }
    }
}

/// An update of table `no`'s load that applies only while it is still loading (a newer
/// request for the resource makes it a no-op), marking it heard from.
fn while_loading(no: i64) -> sea_query::UpdateStatement {
    Query::update()
        .table("od_datastore")
        .value("updated_at", Utc::now())
        .and_where(Expr::col("id").eq(no))
        .and_where(Expr::col("state").eq(LOADING))
        .to_owned()
}

/// The conditions of a search: each filter (one value, several, or NULL) and each word of
/// `q` in the row's folded text.
fn apply_conditions(q: &mut SelectStatement, t: &DatastoreTable, s: &Search) {
    for (c, cells) in &s.filters {
        let name = column_name(&t.columns, *c);
        let values: Vec<sea_query::Value> = cells.iter().filter(|c| **c != Cell::Null).map(value).collect();
        let with_null = cells.contains(&Cell::Null);
        let cond = match (values.len(), with_null) {
            (0, _) => col(name).is_null(),
            (1, false) => col(name).eq(values.into_iter().next().expect("one value")),
            (_, false) => col(name).is_in(values),
            (_, true) => col(name).is_in(values).or(col(name).is_null()),
        };
        q.and_where(cond);
    }
    for w in &s.words {
        q.and_where(col(FULL_TEXT).like(format!("%{w}%")));
    }
}

/// Sets a resource's `datastore_active` in its stored dictionary.
async fn set_datastore_active(tx: &mut crate::Tx, resource_id: &str, active: bool) -> Result<()> {
    #[derive(sqlx::FromRow)]
    struct Body {
        body: String,
    }
    let Some(row) = tx
        .fetch_optional::<Body, _>(
            &Query::select().column("body").from("od_resources").and_where(Expr::col("id").eq(resource_id)).to_owned(),
        )
        .await?
    else {
        return Ok(());
    };
    let mut body: Value = serde_json::from_str(&row.body).map_err(|e| StoreError::Invalid(e.to_string()))?;
    if let Some(m) = body.as_object_mut() {
        m.insert("datastore_active".into(), json!(active));
    }
    tx.execute(
        &Query::update()
            .table("od_resources")
            .value("body", body.to_string())
            .and_where(Expr::col("id").eq(resource_id))
            .to_owned(),
    )
    .await?;
    Ok(())
}
