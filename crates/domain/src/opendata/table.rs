//! Tabular resources (issue #6): an uploaded CSV file read into a header and rows, its
//! columns' types inferred as a Frictionless Table Schema, and a dataset described as a
//! Frictionless Data Package. No I/O.

use serde_json::{Value, json};

/// Columns of a table, at most.
pub const MAX_COLUMNS: usize = 500;
/// Characters of a column name, at most.
pub const MAX_COLUMN_NAME: usize = 200;

/// A column's type, as Table Schema names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ColumnType {
    Integer,
    Number,
    Boolean,
    Date,
    DateTime,
    String,
}

impl ColumnType {
    pub fn as_str(self) -> &'static str {
        match self {
            ColumnType::Integer => "integer",
            ColumnType::Number => "number",
            ColumnType::Boolean => "boolean",
            ColumnType::Date => "date",
            ColumnType::DateTime => "datetime",
            ColumnType::String => "string",
        }
    }

    pub fn parse(s: &str) -> Option<ColumnType> {
        Some(match s {
            "integer" => ColumnType::Integer,
            "number" => ColumnType::Number,
            "boolean" => ColumnType::Boolean,
            "date" => ColumnType::Date,
            "datetime" => ColumnType::DateTime,
            "string" => ColumnType::String,
            _ => return None,
        })
    }

    /// Whether a (non-empty) cell is of this type, in the forms Table Schema reads by default.
    pub fn accepts(self, cell: &str) -> bool {
        match self {
            ColumnType::Integer => {
                let digits = cell.strip_prefix('-').unwrap_or(cell);
                !digits.is_empty() && digits.len() <= 18 && digits.bytes().all(|b| b.is_ascii_digit())
            }
            ColumnType::Number => {
                let body = cell.strip_prefix('-').unwrap_or(cell);
                let mut parts = body.splitn(2, '.');
                let whole = parts.next().unwrap_or_default();
                let frac = parts.next();
                !whole.is_empty()
                    && whole.bytes().all(|b| b.is_ascii_digit())
                    && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
            }
            ColumnType::Boolean => matches!(cell, "true" | "false" | "True" | "False" | "TRUE" | "FALSE"),
            ColumnType::Date => cell.len() == 10 && chrono::NaiveDate::parse_from_str(cell, "%Y-%m-%d").is_ok(),
            ColumnType::DateTime => {
                cell.len() == 20 && chrono::NaiveDateTime::parse_from_str(cell, "%Y-%m-%dT%H:%M:%SZ").is_ok()
            }
            ColumnType::String => true,
        }
    }
}

/// A table read from a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub columns: Vec<(String, ColumnType)>,
    pub rows: Vec<Vec<String>>,
}

/// Why a file is not a table Sen can load.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    #[error("the file is not UTF-8 text (row {row})")]
    NotUtf8 { row: usize },
    #[error("the file has no header row")]
    NoHeader,
    #[error("column {column} has no name")]
    BlankColumn { column: usize },
    #[error("two columns are named \"{name}\"")]
    DuplicateColumn { name: String },
    #[error("more than {MAX_COLUMNS} columns, or a column name over {MAX_COLUMN_NAME} characters")]
    TooWide,
    #[error("row {row} has {found} cells where the header has {expected}")]
    Ragged { row: usize, expected: usize, found: usize },
    #[error("more than {max} rows")]
    TooLong { max: usize },
    #[error("the CSV is malformed at row {row}: {what}")]
    Malformed { row: usize, what: String },
}

/// Reads a CSV file (comma-separated, UTF-8, an optional byte-order mark, a header row) of at
/// most `max_rows` rows, and infers each column's type: the narrowest of integer, number,
/// boolean, date, datetime that holds every non-empty cell, else string.
pub fn read_csv(bytes: &[u8], max_rows: usize) -> Result<Table, TableError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF".as_slice()).unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(bytes);
    let mut records = reader.byte_records();
    let header = match records.next() {
        None => return Err(TableError::NoHeader),
        Some(r) => r.map_err(|e| TableError::Malformed { row: 1, what: e.to_string() })?,
    };
    let names: Vec<String> = header
        .iter()
        .map(|c| std::str::from_utf8(c).map(|s| s.trim().to_string()).map_err(|_| TableError::NotUtf8 { row: 1 }))
        .collect::<Result<_, _>>()?;
    if names.len() > MAX_COLUMNS || names.iter().any(|n| n.chars().count() > MAX_COLUMN_NAME) {
        return Err(TableError::TooWide);
    }
    if names.is_empty() || (names.len() == 1 && names[0].is_empty()) {
        return Err(TableError::NoHeader);
    }
    for (i, n) in names.iter().enumerate() {
        if n.is_empty() {
            return Err(TableError::BlankColumn { column: i + 1 });
        }
        if names[..i].contains(n) {
            return Err(TableError::DuplicateColumn { name: n.clone() });
        }
    }
    let mut rows = Vec::new();
    for (i, rec) in records.enumerate() {
        let row = i + 2;
        let rec = rec.map_err(|e| TableError::Malformed { row, what: e.to_string() })?;
        if rec.len() == 1 && rec[0].is_empty() {
            continue; // a blank line
        }
        if rec.len() != names.len() {
            return Err(TableError::Ragged { row, expected: names.len(), found: rec.len() });
        }
        if rows.len() == max_rows {
            return Err(TableError::TooLong { max: max_rows });
        }
        let cells: Vec<String> = rec
            .iter()
            .map(|c| std::str::from_utf8(c).map(str::to_string).map_err(|_| TableError::NotUtf8 { row }))
            .collect::<Result<_, _>>()?;
        rows.push(cells);
    }
    let columns = names
        .into_iter()
        .enumerate()
        .map(|(i, name)| {
            let cells = rows.iter().map(|r| r[i].as_str()).filter(|c| !c.is_empty());
            (name, infer(cells))
        })
        .collect();
    Ok(Table { columns, rows })
}

fn infer<'a>(cells: impl Iterator<Item = &'a str> + Clone) -> ColumnType {
    use ColumnType::*;
    if cells.clone().next().is_none() {
        return String;
    }
    [Integer, Number, Boolean, Date, DateTime]
        .into_iter()
        .find(|t| cells.clone().all(|c| t.accepts(c)))
        .unwrap_or(String)
}

impl Table {
    /// The Frictionless Table Schema of the table.
    pub fn schema(&self) -> Value {
        json!({
            "fields": self.columns.iter().map(|(name, t)| json!({"name": name, "type": t.as_str()})).collect::<Vec<_>>(),
            "missingValues": [""],
        })
    }

    /// The numeric columns (integer or number): what a chart can draw.
    pub fn numeric_columns(&self) -> Vec<usize> {
        self.columns
            .iter()
            .enumerate()
            .filter(|(_, (_, t))| matches!(t, ColumnType::Integer | ColumnType::Number))
            .map(|(i, _)| i)
            .collect()
    }
}

/// Rows of an uploaded table, at most.
pub const MAX_UPLOAD_ROWS: usize = 1_000_000;

/// A file name safe in a URL path: its last component, in ASCII letters, digits, `.-_`.
pub fn safe_file_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let folded = crate::text::fold(last);
    let clean: String =
        folded.chars().map(|c| if c.is_ascii_alphanumeric() || ".-_".contains(c) { c } else { '-' }).collect();
    let clean = clean.trim_matches(['-', '.']).to_string();
    if clean.is_empty() { "data".into() } else { clean.chars().take(100).collect() }
}

/// Where a resource's uploaded file is served, as a path (what is stored; dictionaries give
/// it under the address Sen is reached at).
pub fn download_path(dataset_id: &str, resource_id: &str, file_name: &str) -> String {
    format!("/dataset/{dataset_id}/resource/{resource_id}/download/{file_name}")
}

/// What a kept file is called and served as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadMeta {
    pub file_name: String,
    pub media_type: String,
}

/// Describes an uploaded file in its resource's body — its address, format, media type,
/// size, hash (`sha256` in hex), and for a CSV table its Table Schema (unless the body has
/// one) — after checking that a CSV file is a table.
pub fn describe_upload(
    body: &mut serde_json::Map<String, Value>,
    dataset_id: &str,
    resource_id: &str,
    file_name: &str,
    bytes: &[u8],
    sha256: &str,
) -> Result<UploadMeta, TableError> {
    let file_name = safe_file_name(file_name);
    let format = match body.get("format").and_then(Value::as_str).filter(|f| !f.is_empty()) {
        Some(f) => f.to_uppercase(),
        None => super::package::guess_format(&file_name),
    };
    let media = super::dcat::file_type(&format).and_then(|(_, m)| m).unwrap_or("application/octet-stream");
    if format == "CSV" {
        let table = read_csv(bytes, MAX_UPLOAD_ROWS)?;
        if !body.get("schema").is_some_and(Value::is_object) {
            body.insert("schema".into(), table.schema());
        }
    }
    body.insert("url".into(), json!(download_path(dataset_id, resource_id, &file_name)));
    body.insert("url_type".into(), json!("upload"));
    body.insert("format".into(), json!(format));
    body.insert("mimetype".into(), json!(media));
    body.insert("size".into(), json!(bytes.len()));
    body.insert("hash".into(), json!(format!("sha256:{sha256}")));
    if body.get("name").and_then(Value::as_str).is_none_or(str::is_empty) {
        body.insert("name".into(), json!(file_name));
    }
    let media_type = if format == "CSV" { "text/csv; charset=utf-8".to_string() } else { media.to_string() };
    Ok(UploadMeta { file_name, media_type })
}

/// A name Frictionless accepts for a resource (`^[a-z0-9._-]+$`) from a title or file name.
pub fn resource_name(title: &str, position: usize) -> String {
    let n = super::name_from_title(title);
    if n.is_empty() { format!("resource-{}", position + 1) } else { n }
}

/// A Frictionless licence entry for one of the portal's licences.
fn licence_entry(id: &str) -> Option<Value> {
    let l = super::licence(id)?;
    let name = match l.id {
        "cc-by-4.0" => "CC-BY-4.0",
        "cc-zero" => "CC0-1.0",
        "cc-by-sa-4.0" => "CC-BY-SA-4.0",
        "odc-by" => "ODC-By-1.0",
        "odc-odbl" => "ODbL-1.0",
        "odc-pddl" => "PDDL-1.0",
        other => other,
    };
    Some(json!({"name": name, "path": l.url, "title": l.title}))
}

/// A dataset's Frictionless Data Package from its CKAN dictionary: every resource with its
/// address, format and media type; a tabular resource with its Table Schema (the resource's
/// `schema`), its size and hash when Sen holds the file.
pub fn data_package(pkg: &Value) -> Value {
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let mut used = std::collections::HashSet::new();
    let resources: Vec<Value> = pkg
        .get("resources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .filter(|(_, r)| !text(r, "url").is_empty())
        .map(|(i, r)| {
            let mut name = resource_name(&text(r, "name"), i);
            while !used.insert(name.clone()) {
                name = format!("{name}-{}", i + 1);
            }
            let format = text(r, "format").to_lowercase();
            let mut out = json!({"name": name, "path": text(r, "url"), "title": text(r, "name")});
            if !format.is_empty() {
                out["format"] = json!(format);
            }
            if let Some((_, Some(media))) = super::dcat::file_type(&format) {
                out["mediatype"] = json!(media);
            }
            if let Some(n) = r.get("size").and_then(Value::as_u64) {
                out["bytes"] = json!(n);
            }
            let hash = text(r, "hash");
            if let Some(h) = hash.strip_prefix("sha256:") {
                out["hash"] = json!(format!("sha256:{h}"));
            }
            if let Some(schema) = r.get("schema").filter(|s| s.is_object()) {
                out["schema"] = schema.clone();
                out["profile"] = json!("tabular-data-resource");
                out["encoding"] = json!("utf-8");
            }
            let description = text(r, "description");
            if !description.is_empty() {
                out["description"] = json!(description);
            }
            out
        })
        .collect();
    let mut p = json!({
        "profile": "data-package",
        "name": text(pkg, "name"),
        "id": text(pkg, "id"),
        "title": text(pkg, "title"),
        "description": text(pkg, "notes"),
        "keywords": pkg.get("tags").and_then(Value::as_array).map(|t| t.iter().map(|t| text(t, "name")).collect::<Vec<_>>()).unwrap_or_default(),
        "created": text(pkg, "metadata_created"),
        "resources": resources,
    });
    if let Some(l) = pkg.get("license_id").and_then(Value::as_str).and_then(licence_entry) {
        p["licenses"] = json!([l]);
    }
    if let Some(org) = pkg.get("organization").filter(|o| o.is_object()) {
        p["contributors"] = json!([{"title": text(org, "title"), "role": "publisher"}]);
    }
    let version = text(pkg, "version");
    if !version.is_empty() {
        p["version"] = json!(version);
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_get_the_narrowest_type_that_holds_every_cell() {
        let t = read_csv(
            "\u{feff}ma,ten,so_luong,ty_le,hoat_dong,ngay,luc\n1,Hà Nội,12,1.5,true,2025-01-31,2025-01-31T08:00:00Z\n2,Huế,-3,2,false,2025-02-01,\n"
                .as_bytes(),
            100,
        )
        .unwrap();
        let types: Vec<&str> = t.columns.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(types, ["integer", "string", "integer", "number", "boolean", "date", "datetime"]);
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.numeric_columns(), vec![0, 2, 3]);
        assert_eq!(t.schema()["fields"][1], json!({"name": "ten", "type": "string"}));
    }

    #[test]
    fn bad_tables_say_what_is_wrong() {
        assert_eq!(read_csv(b"", 10), Err(TableError::NoHeader));
        assert_eq!(read_csv(b"a,,c\n1,2,3\n", 10), Err(TableError::BlankColumn { column: 2 }));
        assert_eq!(read_csv(b"a,a\n1,2\n", 10), Err(TableError::DuplicateColumn { name: "a".into() }));
        assert_eq!(read_csv(b"a,b\n1,2\n3\n", 10), Err(TableError::Ragged { row: 3, expected: 2, found: 1 }));
        assert_eq!(read_csv(b"a\n1\n2\n3\n", 2), Err(TableError::TooLong { max: 2 }));
        assert_eq!(read_csv(b"a\n\xff\n", 2), Err(TableError::NotUtf8 { row: 2 }));
    }

    #[test]
    fn a_data_package_lists_resources_with_their_schemas() {
        let pkg = json!({"name": "truong-hoc", "id": "x", "title": "Trường học", "notes": "", "license_id": "cc-by-4.0",
        "tags": [{"name": "giáo dục"}], "organization": {"title": "Sở Giáo dục"},
        "resources": [
            {"name": "Trường học", "url": "https://sen.vn/a.csv", "format": "CSV", "size": 10, "hash": "sha256:ab",
             "schema": {"fields": [{"name": "ten", "type": "string"}]}},
            {"name": "Trường học", "url": "https://sen.vn/b.json", "format": "JSON"},
            {"name": "no url", "url": ""}
        ]});
        let p = data_package(&pkg);
        assert_eq!(p["licenses"][0]["name"], "CC-BY-4.0");
        assert_eq!(p["resources"].as_array().unwrap().len(), 2);
        assert_eq!(p["resources"][0]["name"], "truong-hoc");
        assert_eq!(p["resources"][1]["name"], "truong-hoc-2");
        assert_eq!(p["resources"][0]["profile"], "tabular-data-resource");
        assert_eq!(p["resources"][0]["mediatype"], "text/csv");
        assert!(p["resources"][1].get("schema").is_none());
    }
}
