//! The datastore (issue #6): tabular resources loaded into typed database tables, queried by
//! CKAN's `datastore_search` and `datastore_search_sql`. This module holds the rules — which
//! tables can be loaded, what a search asks for and whether it is well formed, whether a
//! piece of SQL is one read-only SELECT over datastore tables — and no I/O.

use std::collections::HashSet;
use std::ops::ControlFlow;

use serde_json::{Map, Value, json};
use sqlparser::ast::{
    CastKind, Expr, ObjectName, ObjectNamePart, Query, SetExpr, Statement, TableFactor, Visit, Visitor, VisitorMut,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use super::table::ColumnType;

/// Rows a search gives when it does not say (CKAN's default).
pub const DEFAULT_LIMIT: u64 = 100;
/// Rows a search or an SQL query gives at most (CKAN's `ckan.datastore.search.rows_max`).
pub const MAX_LIMIT: u64 = 32_000;
/// Values one filter may list.
pub const MAX_FILTER_VALUES: usize = 100;
/// Words of a full-text `q`.
pub const MAX_Q_WORDS: usize = 10;
/// Characters of a `datastore_search_sql` query.
pub const MAX_SQL_CHARS: usize = 10_000;
/// Columns of a table that get an index, at most (the first ones whose cells are short).
pub const MAX_INDEXED_COLUMNS: usize = 32;
/// Average characters of a column's cells above which it gets no index (free text).
pub const MAX_INDEXED_CELL_CHARS: usize = 64;
/// Bytes of a column name that PostgreSQL keeps (NAMEDATALEN − 1): longer names are cut
/// there, so two names must differ within them.
pub const NAME_BYTES: usize = 63;

/// The column every datastore table numbers its rows with (1, 2, … in the file's order).
pub const ROW_ID: &str = "_id";
/// The column holding a row's cells folded to lower-case ASCII, which `q` matches.
pub const FULL_TEXT: &str = "_full_text";

/// A column's type as CKAN's datastore names it.
pub fn ckan_type(t: ColumnType) -> &'static str {
    match t {
        ColumnType::Integer => "int",
        ColumnType::Number => "numeric",
        ColumnType::Boolean => "bool",
        ColumnType::Date => "date",
        ColumnType::DateTime => "timestamp",
        ColumnType::String => "text",
    }
}

/// The fields of a loaded table as CKAN lists them, `_id` first.
pub fn fields_json(columns: &[(String, ColumnType)]) -> Vec<Value> {
    std::iter::once(json!({"id": ROW_ID, "type": "int"}))
        .chain(columns.iter().map(|(name, t)| json!({"id": name, "type": ckan_type(*t)})))
        .collect()
}

/// Whether a table's columns can be loaded as they are: names beginning with `_` are the
/// datastore's own (CKAN refuses them too), and names must differ in their first
/// [`NAME_BYTES`] bytes.
pub fn check_columns(columns: &[(String, ColumnType)]) -> Result<(), String> {
    let mut seen = HashSet::new();
    for (name, _) in columns {
        if name.starts_with('_') {
            return Err(format!("column \"{name}\": names beginning with _ are reserved"));
        }
        let mut cut = NAME_BYTES.min(name.len());
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        if !seen.insert(&name[..cut]) {
            return Err(format!("column \"{name}\": two column names begin with the same {NAME_BYTES} bytes"));
        }
    }
    Ok(())
}

/// Which columns get an index: the first [`MAX_INDEXED_COLUMNS`] whose cells average at
/// most [`MAX_INDEXED_CELL_CHARS`] characters. `rows` is a sample of the table.
pub fn indexed_columns(columns: &[(String, ColumnType)], rows: &[Vec<String>]) -> Vec<usize> {
    (0..columns.len())
        .filter(|&i| {
            let chars: usize = rows.iter().map(|r| r.get(i).map_or(0, |c| c.chars().count())).sum();
            rows.is_empty() || chars / rows.len() <= MAX_INDEXED_CELL_CHARS
        })
        .take(MAX_INDEXED_COLUMNS)
        .collect()
}

/// A cell as stored: empty cells are NULL.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    Num(f64),
    Bool(bool),
    Text(String),
}

/// A file's cell in a column of type `t` (the type was inferred from the whole column, so
/// every non-empty cell parses; one that does not is kept as NULL rather than lost silently
/// elsewhere — the loader only calls this on inferred columns).
pub fn cell(t: ColumnType, raw: &str) -> Cell {
    if raw.is_empty() {
        return Cell::Null;
    }
    match t {
        ColumnType::Integer => raw.parse().map(Cell::Int).unwrap_or(Cell::Null),
        ColumnType::Number => raw.parse().map(Cell::Num).unwrap_or(Cell::Null),
        ColumnType::Boolean => Cell::Bool(raw.eq_ignore_ascii_case("true")),
        _ => Cell::Text(raw.to_string()),
    }
}

/// A row's cells folded for `q`: lower-case, without diacritics, separated by spaces.
pub fn full_text(row: &[String]) -> String {
    crate::text::fold(&row.join(" "))
}

/// A column a search names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// `_id`.
    RowId,
    /// The table's column at this position.
    Field(usize),
}

/// How records are given back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordsFormat {
    Objects,
    Lists,
    Csv,
    Tsv,
}

impl RecordsFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordsFormat::Objects => "objects",
            RecordsFormat::Lists => "lists",
            RecordsFormat::Csv => "csv",
            RecordsFormat::Tsv => "tsv",
        }
    }
}

/// A checked `datastore_search`.
#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    /// Each filter: a column and the values it may hold (one or more).
    pub filters: Vec<(Column, Vec<Cell>)>,
    /// Folded words that must all appear in a row.
    pub words: Vec<String>,
    /// The columns given back, in order.
    pub fields: Vec<Column>,
    /// Sort keys: a column and whether descending. `_id` ascending when none.
    pub sort: Vec<(Column, bool)>,
    pub limit: u64,
    pub offset: u64,
    pub include_total: bool,
    pub records_format: RecordsFormat,
}

/// What is wrong with a request, by parameter (CKAN's "Validation Error").
pub type Problems = Vec<(String, String)>;

fn problem(field: &str, message: impl Into<String>) -> Problems {
    vec![(field.to_string(), message.into())]
}

/// A parameter that clients send either as JSON or, in a query string, as JSON text.
fn json_param(p: &Map<String, Value>, k: &str) -> Result<Option<Value>, Problems> {
    match p.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) if s.trim_start().starts_with(['{', '[']) => {
            serde_json::from_str(s).map(Some).map_err(|e| problem(k, format!("Invalid JSON: {e}")))
        }
        Some(v) => Ok(Some(v.clone())),
    }
}

fn natural(p: &Map<String, Value>, k: &str, default: u64) -> Result<u64, Problems> {
    let n = match p.get(k) {
        None | Some(Value::Null) => return Ok(default),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(default),
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
        Some(_) => None,
    };
    match n {
        Some(n) if n >= 0 => Ok(n as u64),
        Some(_) => Err(problem(k, "Must be a natural number")),
        None => Err(problem(k, "Invalid integer")),
    }
}

fn boolean(p: &Map<String, Value>, k: &str, default: bool) -> Result<bool, Problems> {
    match p.get(k) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) => match s.trim().to_lowercase().as_str() {
            "" => Ok(default),
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err(problem(k, "Must be a boolean")),
        },
        Some(_) => Err(problem(k, "Must be a boolean")),
    }
}

/// A column by the name a client gives (CKAN accepts it quoted too).
fn column(columns: &[(String, ColumnType)], name: &str) -> Option<Column> {
    let name = name.trim();
    let name = name.strip_prefix('"').and_then(|n| n.strip_suffix('"')).unwrap_or(name);
    if name == ROW_ID {
        return Some(Column::RowId);
    }
    columns.iter().position(|(n, _)| n == name).map(Column::Field)
}

/// A filter value in a column's type.
fn filter_cell(t: Option<ColumnType>, v: &Value) -> Option<Cell> {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => return Some(Cell::Null),
        _ => return None,
    };
    match t {
        None | Some(ColumnType::Integer) => text.trim().parse().ok().map(Cell::Int),
        Some(ColumnType::Number) => text.trim().parse::<f64>().ok().filter(|f| f.is_finite()).map(Cell::Num),
        Some(ColumnType::Boolean) => match text.trim().to_lowercase().as_str() {
            "true" => Some(Cell::Bool(true)),
            "false" => Some(Cell::Bool(false)),
            _ => None,
        },
        Some(_) => Some(Cell::Text(text)),
    }
}

/// Checks a `datastore_search` against the table's columns.
pub fn check_search(p: &Map<String, Value>, columns: &[(String, ColumnType)]) -> Result<Search, Problems> {
    let type_of = |c: Column| match c {
        Column::RowId => None,
        Column::Field(i) => Some(columns[i].1),
    };
    let mut filters = Vec::new();
    match json_param(p, "filters")? {
        None => {}
        Some(Value::Object(m)) => {
            for (name, v) in m {
                let c = column(columns, &name)
                    .ok_or_else(|| problem("filters", format!("field \"{name}\" not in table")))?;
                let values = match v {
                    Value::Array(a) => a,
                    v => vec![v],
                };
                if values.is_empty() || values.len() > MAX_FILTER_VALUES {
                    return Err(problem("filters", format!("between 1 and {MAX_FILTER_VALUES} values per field")));
                }
                let cells = values
                    .iter()
                    .map(|v| filter_cell(type_of(c), v))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| problem("filters", format!("a value of \"{name}\" is not of its type")))?;
                filters.push((c, cells));
            }
        }
        Some(_) => return Err(problem("filters", "Must be a JSON object of field names and values")),
    }
    let words = match p.get("q") {
        None | Some(Value::Null) => vec![],
        Some(Value::String(q)) => crate::text::tokens(&crate::text::fold(q)),
        Some(_) => return Err(problem("q", "Must be a string")),
    };
    if words.len() > MAX_Q_WORDS {
        return Err(problem("q", format!("At most {MAX_Q_WORDS} words")));
    }
    let names = |v: Value, k: &str| -> Result<Vec<String>, Problems> {
        match v {
            Value::String(s) => Ok(s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()),
            Value::Array(a) => a
                .into_iter()
                .map(|v| v.as_str().map(str::to_string).ok_or_else(|| problem(k, "Must be a list of field names")))
                .collect(),
            _ => Err(problem(k, "Must be a list of field names")),
        }
    };
    let fields = match json_param(p, "fields")? {
        None => std::iter::once(Column::RowId).chain((0..columns.len()).map(Column::Field)).collect(),
        Some(v) => names(v, "fields")?
            .iter()
            .map(|n| column(columns, n).ok_or_else(|| problem("fields", format!("field \"{n}\" not in table"))))
            .collect::<Result<Vec<_>, _>>()?,
    };
    if fields.is_empty() {
        return Err(problem("fields", "At least one field"));
    }
    let sort = match json_param(p, "sort")? {
        None => vec![],
        Some(v) => names(v, "sort")?
            .iter()
            .map(|key| {
                let lower = key.to_lowercase();
                let (name, desc) = if lower.ends_with(" desc") {
                    (&key[..key.len() - 5], true)
                } else if lower.ends_with(" asc") {
                    (&key[..key.len() - 4], false)
                } else {
                    (key.as_str(), false)
                };
                column(columns, name)
                    .map(|c| (c, desc))
                    .ok_or_else(|| problem("sort", format!("field \"{}\" not in table", name.trim())))
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    let records_format = match p.get("records_format").and_then(Value::as_str).unwrap_or("objects") {
        "objects" => RecordsFormat::Objects,
        "lists" => RecordsFormat::Lists,
        "csv" => RecordsFormat::Csv,
        "tsv" => RecordsFormat::Tsv,
        _ => return Err(problem("records_format", "One of objects, lists, csv, tsv")),
    };
    Ok(Search {
        filters,
        words,
        fields,
        sort,
        // As CKAN: a limit over the maximum is brought down to it.
        limit: natural(p, "limit", DEFAULT_LIMIT)?.min(MAX_LIMIT),
        offset: natural(p, "offset", 0)?,
        include_total: boolean(p, "include_total", true)?,
        records_format,
    })
}

/// The fields a search gives back, as CKAN lists them.
pub fn search_fields(columns: &[(String, ColumnType)], s: &Search) -> Vec<Value> {
    s.fields
        .iter()
        .map(|c| match c {
            Column::RowId => json!({"id": ROW_ID, "type": "int"}),
            Column::Field(i) => json!({"id": columns[*i].0, "type": ckan_type(columns[*i].1)}),
        })
        .collect()
}

/// Records in the asked format: a list of objects or of lists, or CSV/TSV text (no header,
/// as CKAN gives it).
pub fn records(names: &[String], rows: Vec<Vec<Value>>, format: RecordsFormat) -> Value {
    match format {
        RecordsFormat::Objects => Value::Array(
            rows.into_iter()
                .map(|r| Value::Object(names.iter().cloned().zip(r).collect::<Map<String, Value>>()))
                .collect(),
        ),
        RecordsFormat::Lists => Value::Array(rows.into_iter().map(Value::Array).collect()),
        RecordsFormat::Csv | RecordsFormat::Tsv => {
            let delimiter = if format == RecordsFormat::Csv { b',' } else { b'\t' };
            let mut w = csv::WriterBuilder::new().delimiter(delimiter).from_writer(Vec::new());
            for r in rows {
                let cells: Vec<String> = r
                    .into_iter()
                    .map(|v| match v {
                        Value::Null => String::new(),
                        Value::String(s) => s,
                        v => v.to_string(),
                    })
                    .collect();
                // Writing to memory cannot fail.
                let _ = w.write_record(&cells);
            }
            Value::String(String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default())
        }
    }
}

/// Why a `datastore_search_sql` query is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SqlError {
    /// Not one well-formed SELECT, or one using what is not allowed (CKAN's "Validation
    /// Error" on `sql`).
    #[error("{0}")]
    Invalid(String),
    /// A table that is not a datastore resource one may read (CKAN's "Authorization Error").
    #[error("{0}")]
    NotPermitted(String),
}

/// Functions a query may call: aggregates and plain scalar functions that both backends
/// have. Anything else — reading files, sleeping, the server's settings, system
/// catalogues — is refused before the query reaches the database.
const FUNCTIONS: &[&str] = &[
    "count",
    "sum",
    "avg",
    "min",
    "max",
    "lower",
    "upper",
    "length",
    "abs",
    "round",
    "coalesce",
    "nullif",
    "substr",
    "replace",
    "trim",
    "ltrim",
    "rtrim",
    "row_number",
    "rank",
    "dense_rank",
];

/// Types a value may be cast to.
const TYPES: &[&str] = &[
    "int",
    "integer",
    "bigint",
    "smallint",
    "numeric",
    "decimal",
    "real",
    "double",
    "float",
    "text",
    "varchar",
    "char",
    "character",
    "boolean",
    "bool",
    "date",
    "timestamp",
];

fn type_allowed(t: &sqlparser::ast::DataType) -> bool {
    let s = t.to_string().to_lowercase();
    let head = s.split(['(', ' ']).next().unwrap_or_default();
    TYPES.contains(&head)
}

struct Checks {
    ctes: HashSet<String>,
    error: Option<SqlError>,
}

impl Visitor for Checks {
    type Break = ();

    fn pre_visit_statement(&mut self, s: &Statement) -> ControlFlow<()> {
        if !matches!(s, Statement::Query(_)) {
            self.error = Some(SqlError::Invalid("Only a SELECT may be run".into()));
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<()> {
        if !q.locks.is_empty() || q.for_clause.is_some() || q.format_clause.is_some() || q.settings.is_some() {
            self.error = Some(SqlError::Invalid("Locking and output clauses are not allowed".into()));
            return ControlFlow::Break(());
        }
        if let Some(w) = &q.with {
            if w.recursive {
                self.error = Some(SqlError::Invalid("WITH RECURSIVE is not allowed".into()));
                return ControlFlow::Break(());
            }
            for c in &w.cte_tables {
                self.ctes.insert(c.alias.name.value.to_lowercase());
            }
        }
        if let SetExpr::Select(s) = q.body.as_ref()
            && s.into.is_some()
        {
            self.error = Some(SqlError::Invalid("SELECT INTO is not allowed".into()));
            return ControlFlow::Break(());
        }
        if !matches!(q.body.as_ref(), SetExpr::Select(_) | SetExpr::Query(_) | SetExpr::SetOperation { .. }) {
            self.error = Some(SqlError::Invalid("Only a SELECT may be run".into()));
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, t: &TableFactor) -> ControlFlow<()> {
        let ok = match t {
            TableFactor::Table { args, with_hints, version, sample, .. } => {
                args.is_none() && with_hints.is_empty() && version.is_none() && sample.is_none()
            }
            TableFactor::Derived { .. } | TableFactor::NestedJoin { .. } => true,
            _ => false,
        };
        if !ok {
            self.error = Some(SqlError::Invalid("Only datastore tables and subqueries may be read".into()));
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
        let refused = match e {
            Expr::Function(f) => {
                let name = match f.name.0.as_slice() {
                    [ObjectNamePart::Identifier(i)] => i.value.to_lowercase(),
                    _ => String::new(),
                };
                (!FUNCTIONS.contains(&name.as_str())).then(|| format!("function {} is not allowed", f.name))
            }
            Expr::Cast { data_type, .. } | Expr::TypedString(sqlparser::ast::TypedString { data_type, .. })
                if !type_allowed(data_type) =>
            {
                Some(format!("type {data_type} is not allowed"))
            }
            _ => None,
        };
        if let Some(m) = refused {
            self.error = Some(SqlError::Invalid(m));
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }
}

/// How the database that runs a query quotes identifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quotes {
    /// `"name"` (PostgreSQL).
    Double,
    /// `` `name` `` (SQLite: a double-quoted name that names no column would be taken
    /// there for a string, and a misspelt column would silently give its own name).
    Backtick,
}

/// Rewrites table names to the database's and casts to the standard form both backends read.
struct Rewrite<'a, F> {
    ctes: &'a HashSet<String>,
    table: F,
    quotes: Quotes,
    error: Option<SqlError>,
}

impl<F: Fn(&str) -> Option<String>> VisitorMut for Rewrite<'_, F> {
    type Break = ();

    fn pre_visit_relation(&mut self, rel: &mut ObjectName) -> ControlFlow<()> {
        let ident = match rel.0.as_slice() {
            [ObjectNamePart::Identifier(i)] => i.clone(),
            _ => {
                self.error = Some(SqlError::NotPermitted(format!("Not authorized to read {rel}")));
                return ControlFlow::Break(());
            }
        };
        if ident.quote_style.is_none() && self.ctes.contains(&ident.value.to_lowercase()) {
            return ControlFlow::Continue(());
        }
        match (self.table)(&ident.value) {
            Some(physical) => {
                *rel = ObjectName(vec![ObjectNamePart::Identifier(sqlparser::ast::Ident::new(physical))]);
                ControlFlow::Continue(())
            }
            None => {
                self.error = Some(SqlError::NotPermitted(format!(
                    "Not authorized to read {rel}: only datastore resources may be queried, by their resource id"
                )));
                ControlFlow::Break(())
            }
        }
    }

    fn post_visit_expr(&mut self, e: &mut Expr) -> ControlFlow<()> {
        if let Expr::Cast { kind, .. } = e {
            *kind = CastKind::Cast;
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_ident(&mut self, ident: &mut sqlparser::ast::Ident) -> ControlFlow<()> {
        if self.quotes == Quotes::Backtick && ident.quote_style == Some('"') {
            ident.quote_style = Some('`');
        }
        ControlFlow::Continue(())
    }
}

/// Checks that `sql` is one read-only SELECT over datastore tables, calling only allowed
/// functions, and gives it back with each resource id replaced by its table's name
/// (`table` maps a resource id to it, or refuses it).
pub fn check_sql(sql: &str, quotes: Quotes, table: impl Fn(&str) -> Option<String>) -> Result<String, SqlError> {
    if sql.chars().count() > MAX_SQL_CHARS {
        return Err(SqlError::Invalid(format!("Query is longer than {MAX_SQL_CHARS} characters")));
    }
    let mut statements = Parser::new(&PostgreSqlDialect {})
        .with_recursion_limit(50)
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_statements())
        .map_err(|e| SqlError::Invalid(format!("Query is not valid SQL: {e}")))?;
    if statements.len() != 1 {
        return Err(SqlError::Invalid("Query is not a single statement.".into()));
    }
    let mut checks = Checks { ctes: HashSet::new(), error: None };
    let _ = statements.visit(&mut checks);
    if let Some(e) = checks.error {
        return Err(e);
    }
    let mut rewrite = Rewrite { ctes: &checks.ctes, table, quotes, error: None };
    let _ = sqlparser::ast::VisitMut::visit(&mut statements, &mut rewrite);
    if let Some(e) = rewrite.error {
        return Err(e);
    }
    Ok(statements.remove(0).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols() -> Vec<(String, ColumnType)> {
        vec![
            ("Tỉnh".into(), ColumnType::String),
            ("Năm".into(), ColumnType::Integer),
            ("Tỷ lệ".into(), ColumnType::Number),
            ("Đạt".into(), ColumnType::Boolean),
        ]
    }

    fn params(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn a_search_is_checked_against_the_table() {
        let s = check_search(
            &params(json!({"filters": {"Năm": [2024, "2025"], "Tỉnh": "Hà Nội"}, "q": "Hà  nội", "sort": "Năm desc, _id", "fields": "_id,Tỉnh", "limit": 50000})),
            &cols(),
        )
        .unwrap();
        assert_eq!(
            s.filters,
            vec![
                (Column::Field(1), vec![Cell::Int(2024), Cell::Int(2025)]),
                (Column::Field(0), vec![Cell::Text("Hà Nội".into())])
            ]
        );
        assert_eq!(s.words, vec!["ha", "noi"]);
        assert_eq!(s.sort, vec![(Column::Field(1), true), (Column::RowId, false)]);
        assert_eq!(s.fields, vec![Column::RowId, Column::Field(0)]);
        assert_eq!(s.limit, MAX_LIMIT, "brought down to the maximum, as CKAN does");
        assert!(s.include_total);
        // Filters sent as JSON text in a query string.
        let s = check_search(&params(json!({"filters": "{\"Đạt\": \"true\"}", "include_total": "false"})), &cols())
            .unwrap();
        assert_eq!(s.filters, vec![(Column::Field(3), vec![Cell::Bool(true)])]);
        assert!(!s.include_total);
        assert_eq!(s.limit, DEFAULT_LIMIT);
    }

    #[test]
    fn bad_searches_say_which_parameter() {
        let bad = |v: Value| check_search(&params(v), &cols()).unwrap_err()[0].0.clone();
        assert_eq!(bad(json!({"filters": {"Huyện": "x"}})), "filters");
        assert_eq!(bad(json!({"filters": {"Năm": "hai nghìn"}})), "filters");
        assert_eq!(bad(json!({"filters": "{not json"})), "filters");
        assert_eq!(bad(json!({"filters": [1]})), "filters");
        assert_eq!(bad(json!({"sort": "Huyện asc"})), "sort");
        assert_eq!(bad(json!({"fields": ["Tỉnh", "x"]})), "fields");
        assert_eq!(bad(json!({"limit": -1})), "limit");
        assert_eq!(bad(json!({"offset": "abc"})), "offset");
        assert_eq!(bad(json!({"records_format": "xml"})), "records_format");
        assert_eq!(bad(json!({"q": "a b c d e f g h i j k"})), "q");
    }

    #[test]
    fn records_in_each_format() {
        let names = vec!["_id".to_string(), "Tỉnh".to_string()];
        let rows = || vec![vec![json!(1), json!("Hà Nội")], vec![json!(2), json!("Huế, TP")]];
        assert_eq!(records(&names, rows(), RecordsFormat::Objects)[1], json!({"_id": 2, "Tỉnh": "Huế, TP"}));
        assert_eq!(records(&names, rows(), RecordsFormat::Lists)[0], json!([1, "Hà Nội"]));
        assert_eq!(records(&names, rows(), RecordsFormat::Csv), json!("1,Hà Nội\n2,\"Huế, TP\"\n"));
        assert_eq!(records(&names, rows(), RecordsFormat::Tsv), json!("1\tHà Nội\n2\tHuế, TP\n"));
    }

    #[test]
    fn columns_that_cannot_be_loaded() {
        assert!(check_columns(&cols()).is_ok());
        assert!(check_columns(&[("_id".into(), ColumnType::Integer)]).is_err());
        let long = "Số hộ gia đình được hỗ trợ theo chương trình mục tiêu quốc gia";
        assert!(long.len() > NAME_BYTES);
        let twins =
            [(format!("{long} năm 2024"), ColumnType::Integer), (format!("{long} năm 2025"), ColumnType::Integer)];
        assert!(check_columns(&twins).is_err());
    }

    fn tables(id: &str) -> Option<String> {
        (id == "5b1c0f3e-0000-4000-8000-000000000001").then(|| "ds_1".to_string())
    }

    #[test]
    fn a_select_over_datastore_tables_is_rewritten() {
        let sql = check_sql(
            r#"SELECT "Tỉnh", count(*) AS n, sum("Năm"::int) FROM "5b1c0f3e-0000-4000-8000-000000000001" t WHERE "Năm" > 2020 GROUP BY "Tỉnh" ORDER BY n DESC LIMIT 5"#,
            Quotes::Double,
            tables,
        )
        .unwrap();
        assert!(sql.contains("FROM ds_1 AS t") || sql.contains("FROM ds_1 t"), "{sql}");
        assert!(sql.contains("CAST(\"Năm\" AS INT)"), "casts are written the standard way: {sql}");
        // Subqueries and CTEs are checked the same way.
        let sql = check_sql(
            r#"WITH x AS (SELECT * FROM "5b1c0f3e-0000-4000-8000-000000000001") SELECT * FROM x WHERE "_id" IN (SELECT "_id" FROM "5b1c0f3e-0000-4000-8000-000000000001")"#,
            Quotes::Double,
            tables,
        )
        .unwrap();
        assert_eq!(sql.matches("ds_1").count(), 2, "{sql}");
        // For SQLite, names in backticks (never taken for strings there).
        let sql = check_sql(
            r#"SELECT "Tỉnh" AS "a`b" FROM "5b1c0f3e-0000-4000-8000-000000000001""#,
            Quotes::Backtick,
            tables,
        )
        .unwrap();
        assert_eq!(sql, "SELECT `Tỉnh` AS `a``b` FROM ds_1");
    }

    #[test]
    fn anything_but_one_select_over_datastore_tables_is_refused() {
        let invalid = |sql: &str| matches!(check_sql(sql, Quotes::Double, tables), Err(SqlError::Invalid(_)));
        let refused = |sql: &str| matches!(check_sql(sql, Quotes::Double, tables), Err(SqlError::NotPermitted(_)));
        assert!(invalid("SELEC 1"));
        assert!(invalid("SELECT 1; SELECT 2"));
        assert!(invalid(r#"DELETE FROM "5b1c0f3e-0000-4000-8000-000000000001""#));
        assert!(invalid("DROP TABLE users"));
        assert!(invalid(r#"UPDATE "5b1c0f3e-0000-4000-8000-000000000001" SET "Năm" = 1"#));
        assert!(invalid("SELECT pg_sleep(10)"));
        assert!(invalid("SELECT pg_read_file('/etc/passwd')"));
        assert!(invalid("SELECT 'users'::regclass"));
        assert!(invalid(r#"SELECT * FROM "5b1c0f3e-0000-4000-8000-000000000001" FOR UPDATE"#));
        assert!(invalid("SELECT * INTO copy FROM \"5b1c0f3e-0000-4000-8000-000000000001\""));
        assert!(invalid("SELECT * FROM generate_series(1, 10)"));
        assert!(invalid("WITH RECURSIVE r(n) AS (SELECT 1 UNION SELECT n + 1 FROM r) SELECT * FROM r"));
        assert!(invalid(&format!("SELECT '{}'", "x".repeat(MAX_SQL_CHARS))));
        assert!(refused("SELECT * FROM users"));
        assert!(refused("SELECT * FROM sqlite_master"));
        assert!(refused("SELECT * FROM pg_catalog.pg_tables"));
        assert!(refused(r#"SELECT * FROM "5b1c0f3e-0000-4000-8000-000000000001" a JOIN accounts b ON true"#));
        assert!(refused(r#"SELECT (SELECT password_hash FROM users LIMIT 1)"#));
    }
}
