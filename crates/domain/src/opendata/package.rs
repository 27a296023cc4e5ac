//! A dataset as a CKAN client sends it (`package_create`, `package_update`): checked field by
//! field, with CKAN's error dictionary (`{"name": ["…"]}`) for what is wrong.

use super::{licence, theme, valid_name};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

pub const MAX_TITLE: usize = 500;
pub const MAX_NOTES: usize = 20_000;
pub const MAX_TAGS: usize = 100;
pub const MAX_RESOURCES: usize = 200;
pub const MAX_URL: usize = 2_000;

/// Field errors in CKAN's shape: each field with its messages.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

/// Keys Sen computes or keeps in their own columns: never stored in a dataset's body.
pub const DERIVED_KEYS: &[&str] = &[
    "id",
    "name",
    "state",
    "owner_org",
    "organization",
    "resources",
    "metadata_created",
    "metadata_modified",
    "num_resources",
    "num_tags",
    "license_title",
    "license_url",
    "isopen",
    "type",
    "private",
    "creator_user_id",
    "revision_id",
    "relationships_as_object",
    "relationships_as_subject",
    "tracking_summary",
];

/// Keys of a resource that Sen computes.
pub const RESOURCE_DERIVED_KEYS: &[&str] =
    &["id", "package_id", "position", "created", "metadata_modified", "last_modified", "datastore_active", "state"];

/// A checked dataset, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct PackageInput {
    pub name: String,
    /// The organisation as the client named it (an id or a name).
    pub owner_org: String,
    /// The body to store: the client's dictionary without derived keys, with tags and groups
    /// normalised to `[{"name": …}]` and `title` and `license_id` always present.
    pub body: Map<String, Value>,
    pub resources: Vec<Map<String, Value>>,
}

fn str_of<'a>(m: &'a Map<String, Value>, k: &str) -> Option<&'a str> {
    m.get(k).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty())
}

/// Names in a list of `{"name": …}` objects or of plain strings.
fn names(v: Option<&Value>) -> Result<Vec<String>, String> {
    match v {
        None | Some(Value::Null) => Ok(vec![]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Ok(s.trim().to_string()),
                Value::Object(o) => o
                    .get("name")
                    .and_then(Value::as_str)
                    .map(|s| s.trim().to_string())
                    .ok_or("each needs a name".to_string()),
                _ => Err("a list of names or of {\"name\": …} objects".into()),
            })
            .collect(),
        Some(Value::String(s)) => Ok(s.split(',').map(|t| t.trim().to_string()).filter(|t| !t.is_empty()).collect()),
        Some(_) => Err("a list of names or of {\"name\": …} objects".into()),
    }
}

fn valid_tag(t: &str) -> bool {
    (2..=100).contains(&t.chars().count()) && t.chars().all(|c| c.is_alphanumeric() || " -_.".contains(c))
}

/// Checks a dataset dictionary. `org_known` says whether an organisation id or name exists.
pub fn check(input: &Map<String, Value>, org_known: &dyn Fn(&str) -> bool) -> Result<PackageInput, FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut err = |k: &str, m: &str| errors.entry(k.to_string()).or_default().push(m.to_string());
    let name = str_of(input, "name").unwrap_or_default().to_string();
    if name.is_empty() {
        err("name", "Missing value");
    } else if !valid_name(&name) {
        err("name", "Must be purely lowercase alphanumeric (ascii) characters and these symbols: -_, 2 to 100 long");
    }
    let title = str_of(input, "title").unwrap_or(&name).to_string();
    if title.chars().count() > MAX_TITLE {
        err("title", &format!("At most {MAX_TITLE} characters"));
    }
    if str_of(input, "notes").is_some_and(|n| n.chars().count() > MAX_NOTES) {
        err("notes", &format!("At most {MAX_NOTES} characters"));
    }
    let owner_org = str_of(input, "owner_org").unwrap_or_default().to_string();
    if owner_org.is_empty() {
        err("owner_org", "Missing value: a dataset belongs to the agency that publishes it");
    } else if !org_known(&owner_org) {
        err("owner_org", "Organization does not exist");
    }
    let licence_id = str_of(input, "license_id").unwrap_or("cc-by-4.0").to_string();
    if licence(&licence_id).is_none() {
        err("license_id", "Not an open licence of this portal (see license_list)");
    }
    if input.get("private").and_then(Value::as_bool) == Some(true) {
        err("private", "Only open data is published here: private datasets are not accepted");
    }
    let tags = match names(input.get("tags")) {
        Ok(t) => t,
        Err(m) => {
            err("tags", &m);
            vec![]
        }
    };
    if tags.len() > MAX_TAGS {
        err("tags", &format!("At most {MAX_TAGS} tags"));
    }
    for t in &tags {
        if !valid_tag(t) {
            err("tags", &format!("Tag \"{t}\" must be 2 to 100 letters, digits, spaces or -_."));
        }
    }
    let groups = match names(input.get("groups")) {
        Ok(g) => g,
        Err(m) => {
            err("groups", &m);
            vec![]
        }
    };
    for g in &groups {
        if theme(&g.to_lowercase()).is_none() {
            err("groups", &format!("Group \"{g}\" is not a theme of this portal (see group_list)"));
        }
    }
    if let Some(f) = str_of(input, "frequency")
        && !super::FREQUENCIES.iter().any(|x| x.0 == f)
    {
        err("frequency", "One of DAILY, WEEKLY, MONTHLY, QUARTERLY, ANNUAL, IRREG");
    }
    for k in ["temporal_start", "temporal_end"] {
        if let Some(v) = str_of(input, k)
            && chrono::NaiveDate::parse_from_str(v.get(..10).unwrap_or(v), "%Y-%m-%d").is_err()
        {
            err(k, "A date, 2025-01-31");
        }
    }
    let mut resources = Vec::new();
    match input.get("resources") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) if items.len() <= MAX_RESOURCES => {
            for (i, r) in items.iter().enumerate() {
                match r {
                    Value::Object(o) => match check_resource(o) {
                        Ok(r) => resources.push(r),
                        Err(e) => {
                            for (k, v) in e {
                                for m in v {
                                    err("resources", &format!("resource {i}: {k}: {m}"));
                                }
                            }
                        }
                    },
                    _ => err("resources", &format!("resource {i} is not an object")),
                }
            }
        }
        Some(Value::Array(_)) => err("resources", &format!("At most {MAX_RESOURCES} resources")),
        Some(_) => err("resources", "A list of resources"),
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut body: Map<String, Value> = input
        .iter()
        .filter(|(k, _)| !DERIVED_KEYS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    body.insert("title".into(), Value::String(title));
    body.insert("license_id".into(), Value::String(licence_id));
    body.insert("tags".into(), Value::Array(tags.into_iter().map(|t| serde_json::json!({"name": t})).collect()));
    body.insert(
        "groups".into(),
        Value::Array(groups.into_iter().map(|g| serde_json::json!({"name": g.to_lowercase()})).collect()),
    );
    Ok(PackageInput { name, owner_org, body, resources })
}

/// Checks a resource dictionary; returns what to store.
pub fn check_resource(input: &Map<String, Value>) -> Result<Map<String, Value>, FieldErrors> {
    let mut errors = FieldErrors::new();
    let url = str_of(input, "url").unwrap_or_default();
    if url.len() > MAX_URL {
        errors.entry("url".into()).or_default().push(format!("At most {MAX_URL} characters"));
    } else if !(url.is_empty() || url.starts_with("http://") || url.starts_with("https://")) {
        errors.entry("url".into()).or_default().push("An http:// or https:// address".into());
    }
    if str_of(input, "name").is_some_and(|n| n.chars().count() > MAX_TITLE) {
        errors.entry("name".into()).or_default().push(format!("At most {MAX_TITLE} characters"));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut body: Map<String, Value> = input
        .iter()
        .filter(|(k, _)| !RESOURCE_DERIVED_KEYS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    body.insert("url".into(), Value::String(url.to_string()));
    let format = str_of(input, "format").map(str::to_uppercase).unwrap_or_else(|| guess_format(url));
    body.insert("format".into(), Value::String(format));
    Ok(body)
}

/// A format from a URL's extension: `…/x.csv` → `CSV`.
pub fn guess_format(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    let file = path.rsplit('/').next().unwrap_or_default();
    match file.rsplit_once('.') {
        Some((_, ext)) if (1..=8).contains(&ext.len()) && ext.chars().all(|c| c.is_ascii_alphanumeric()) => {
            ext.to_uppercase()
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn orgs(o: &str) -> bool {
        o == "h01-stttt"
    }
    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn a_good_dataset_is_normalised() {
        let p = check(
            &obj(json!({"name": "dan-so", "owner_org": "h01-stttt", "tags": ["dân số", {"name": "thống kê"}], "groups": [{"name": "SOCI"}],
                "resources": [{"url": "https://example.vn/dan-so.csv", "name": "Dân số"}], "metadata_modified": "x", "custom": 1})),
            &orgs,
        )
        .unwrap();
        assert_eq!(p.name, "dan-so");
        assert_eq!(p.body["title"], "dan-so");
        assert_eq!(p.body["license_id"], "cc-by-4.0");
        assert_eq!(p.body["tags"], json!([{"name": "dân số"}, {"name": "thống kê"}]));
        assert_eq!(p.body["groups"], json!([{"name": "soci"}]));
        assert_eq!(p.body["custom"], 1);
        assert!(!p.body.contains_key("metadata_modified") && !p.body.contains_key("resources"));
        assert_eq!(p.resources[0]["format"], "CSV");
    }

    #[test]
    fn every_wrong_field_is_reported() {
        let e = check(
            &obj(json!({"name": "Dân Số", "owner_org": "nobody", "license_id": "proprietary", "private": true, "tags": ["x"],
                "groups": ["colours"], "frequency": "HOURLY", "temporal_start": "soon", "resources": [{"url": "ftp://x"}]})),
            &orgs,
        )
        .unwrap_err();
        let keys: Vec<&str> = e.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            vec![
                "frequency",
                "groups",
                "license_id",
                "name",
                "owner_org",
                "private",
                "resources",
                "tags",
                "temporal_start"
            ]
        );
        assert!(check(&obj(json!({"owner_org": "h01-stttt"})), &orgs).unwrap_err().contains_key("name"));
    }

    #[test]
    fn formats_from_urls() {
        assert_eq!(guess_format("https://x.vn/a/b.json?x=1"), "JSON");
        assert_eq!(guess_format("https://x.vn/a/"), "");
    }
}
