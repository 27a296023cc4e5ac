//! The schema, as one list of migrations written with the query builder, so the same
//! definition creates the SQLite and the PostgreSQL tables.
//!
//! Migrations are append-only: never edit a released one, add the next.

use crate::Result;
use crate::exec::{Db, Tx};
use sea_query::{
    ColumnDef, Expr, ExprTrait, ForeignKey, ForeignKeyAction, ForeignKeyCreateStatement, Index, IndexCreateStatement,
    Query, Table, TableCreateStatement, TableDropStatement,
};

pub(crate) fn id(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).big_integer().not_null().auto_increment().primary_key().to_owned()
}
fn text(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).text().not_null().to_owned()
}
fn text_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).text().null().to_owned()
}
fn big(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).big_integer().not_null().to_owned()
}
fn big_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).big_integer().null().to_owned()
}
fn ts(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).timestamp_with_time_zone().not_null().to_owned()
}
fn ts_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).timestamp_with_time_zone().null().to_owned()
}
fn date_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).date().null().to_owned()
}
fn flag(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).boolean().not_null().default(false).to_owned()
}
fn fk(from: (&'static str, &'static str), to: (&'static str, &'static str)) -> ForeignKeyCreateStatement {
    ForeignKey::create().from(from.0, from.1).to(to.0, to.1).on_delete(ForeignKeyAction::Restrict).to_owned()
}
fn index(name: &'static str, table: &'static str, cols: &[&'static str]) -> IndexCreateStatement {
    let mut i = Index::create().name(name).table(table).if_not_exists().to_owned();
    for c in cols {
        i.col(*c);
    }
    i
}
fn unique(name: &'static str, table: &'static str, cols: &[&'static str]) -> IndexCreateStatement {
    index(name, table, cols).unique().to_owned()
}

/// One step of the schema.
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub tables: Vec<TableCreateStatement>,
    pub indexes: Vec<IndexCreateStatement>,
    /// Tables dropped once the migration's data step (see [`data_step`]) moved their rows.
    pub drops: Vec<TableDropStatement>,
}

pub fn migrations() -> Vec<Migration> {
    vec![
        Migration { version: 1, name: "core portal", tables: core_tables(), indexes: core_indexes(), drops: vec![] },
        Migration { version: 2, name: "trust", tables: trust_tables(), indexes: trust_indexes(), drops: vec![] },
        Migration {
            version: 3,
            name: "log tiles",
            // The log's hashes as tiles of 256 (see `sen_trust::tiles`): one row per tile
            // instead of one per node. A full tile never changes; the right edge grows.
            tables: vec![
                Table::create()
                    .table("log_tiles")
                    .if_not_exists()
                    .col(big("level"))
                    .col(big("idx"))
                    .col(blob("hashes"))
                    .primary_key(Index::create().col("level").col("idx"))
                    .to_owned(),
            ],
            indexes: vec![],
            drops: vec![Table::drop().table("log_nodes").to_owned()],
        },
        Migration {
            version: 4,
            name: "exchange directory",
            tables: exchange_tables(),
            indexes: vec![
                unique("exchange_members_id", "exchange_members", &["instance", "class", "code"]),
                unique("exchange_subsystems_code", "exchange_subsystems", &["member_id", "code"]),
                unique("exchange_services_code", "exchange_services", &["subsystem_id", "code"]),
                unique("exchange_rights_grant", "exchange_rights", &["service_id", "client", "method", "path"]),
            ],
            drops: vec![],
        },
        Migration {
            version: 5,
            name: "base registries",
            tables: registry_tables(),
            indexes: vec![
                unique("civil_events_number", "civil_events", &["agency_code", "kind", "book_year", "number"]),
                index("civil_events_by_subject", "civil_events", &["subject_person_number", "kind"]),
                index("civil_events_by_other", "civil_events", &["other_person_number", "kind"]),
                unique("insurance_by_social_number", "insurance_records", &["social_insurance_number"]),
                unique("land_parcels_code", "land_parcels", &["commune_code", "map_sheet", "parcel_number"]),
                index("land_parcels_by_holder", "land_parcels", &["holder_id", "holder_kind"]),
            ],
            drops: vec![],
        },
        Migration {
            version: 6,
            name: "consents",
            // A person's or an enterprise's consent for one client to read their data from one
            // service, for a purpose, until a date; revocable at once.
            tables: vec![
                Table::create()
                    .table("consents")
                    .if_not_exists()
                    .col(id("id"))
                    .col(text("subject_kind"))
                    .col(text("subject_id"))
                    .col(text("client"))
                    .col(text("service"))
                    .col(text("purpose"))
                    .col(ts("granted_at"))
                    .col(ts("valid_until"))
                    .col(ts_null("revoked_at"))
                    .col(big_null("granted_by"))
                    .to_owned(),
            ],
            indexes: vec![index("consents_by_subject", "consents", &["subject_kind", "subject_id", "service"])],
            drops: vec![],
        },
        Migration {
            version: 7,
            name: "exchange gateways and message log",
            tables: gateway_tables(),
            indexes: vec![
                unique("exchange_gateways_code", "exchange_gateways", &["member_id", "code"]),
                unique("exchange_gateways_tls", "exchange_gateways", &["tls_sha256"]),
                unique("exchange_gateway_clients_pair", "exchange_gateway_clients", &["gateway_id", "subsystem_id"]),
                index("exchange_messages_by_service", "exchange_messages", &["service", "started_at"]),
                index("exchange_messages_by_id", "exchange_messages", &["message_id"]),
            ],
            drops: vec![],
        },
        Migration {
            version: 8,
            name: "data reads",
            // Every read of a person's or an enterprise's data that a registry answered, as the
            // registry's owner records it ("who read my data"); each row's digest goes to the
            // tamper-evident log in the same transaction.
            tables: vec![
                Table::create()
                    .table("data_reads")
                    .if_not_exists()
                    .col(id("id"))
                    .col(text("subject_kind"))
                    .col(text("subject_id"))
                    .col(text("service"))
                    .col(text("client"))
                    .col(text_null("user_id"))
                    .col(text_null("purpose"))
                    .col(text_null("message_id"))
                    .col(ts("read_at"))
                    .to_owned(),
            ],
            indexes: vec![index("data_reads_by_subject", "data_reads", &["subject_kind", "subject_id", "read_at"])],
            drops: vec![],
        },
        Migration {
            version: 9,
            name: "once-only evidence",
            tables: evidence_tables(),
            indexes: vec![
                index("fetched_evidence_by_batch", "fetched_evidence", &["user_id", "batch"]),
                index("dossier_components_by_dossier", "dossier_components", &["dossier_id"]),
                index("dossier_components_by_month", "dossier_components", &["month", "procedure_id", "agency_id"]),
            ],
            drops: vec![],
        },
        Migration {
            version: 10,
            name: "registry change events",
            // The transactional outbox of registry changes, and what each consumer processed.
            tables: vec![
                Table::create()
                    .table("outbox_events")
                    .if_not_exists()
                    .col(id("id"))
                    .col(text("event_id"))
                    .col(text("topic"))
                    .col(text("payload"))
                    .col(ts("created_at"))
                    .col(ts_null("published_at"))
                    .to_owned(),
                Table::create()
                    .table("processed_events")
                    .if_not_exists()
                    .col(text("consumer"))
                    .col(text("event_id"))
                    .col(text("topic"))
                    .col(ts("processed_at"))
                    .primary_key(Index::create().col("consumer").col("event_id"))
                    .to_owned(),
            ],
            indexes: vec![
                unique("outbox_events_id", "outbox_events", &["event_id"]),
                index("outbox_events_pending", "outbox_events", &["published_at", "id"]),
            ],
            drops: vec![],
        },
        Migration {
            version: 11,
            name: "exchange usage",
            // At the directory: messages each gateway reports per subsystem and day (K12).
            tables: vec![
                Table::create()
                    .table("exchange_usage")
                    .if_not_exists()
                    .col(big("gateway_id"))
                    .col(text("subsystem"))
                    .col(ColumnDef::new("day").date().not_null())
                    .col(big("messages"))
                    .col(ts("reported_at"))
                    .to_owned(),
            ],
            indexes: vec![unique("exchange_usage_key", "exchange_usage", &["gateway_id", "subsystem", "day"])],
            drops: vec![],
        },
        Migration {
            version: 12,
            name: "proactive services",
            tables: proactive_tables(),
            indexes: vec![
                unique("proactive_rules_key", "proactive_rules", &["rule_key"]),
                unique("offers_once", "offers", &["rule_key", "event_id", "recipient"]),
                index("offers_by_recipient", "offers", &["recipient", "created_at"]),
                index("offers_by_dossier", "offers", &["dossier_id"]),
            ],
            drops: vec![],
        },
        Migration {
            version: 13,
            name: "notifications",
            tables: notify_tables(),
            indexes: vec![
                index("notifications_due", "notifications", &["status", "next_attempt_at"]),
                index("notifications_by_time", "notifications", &["created_at", "id"]),
                index("notifications_by_reference", "notifications", &["reference"]),
                index("inbox_by_user", "inbox_messages", &["user_id", "id"]),
            ],
            drops: vec![],
        },
        Migration {
            version: 14,
            name: "assistant exchanges",
            // The assistant's exchanges, redacted, with the asker's rating (issue #5).
            tables: vec![
                Table::create()
                    .table("assistant_exchanges")
                    .if_not_exists()
                    .col(text("id").primary_key())
                    .col(ts("asked_at"))
                    .col(text("lang"))
                    .col(text("question"))
                    .col(flag("grounded"))
                    .col(text("sources"))
                    .col(big("latency_us"))
                    .col(text_null("feedback"))
                    .col(ts_null("feedback_at"))
                    .to_owned(),
            ],
            indexes: vec![index("assistant_exchanges_by_time", "assistant_exchanges", &["asked_at"])],
            drops: vec![],
        },
        Migration {
            version: 15,
            name: "life-event bundles",
            // One application splitting into dossiers for several agencies (issue #5).
            tables: vec![
                Table::create()
                    .table("bundles")
                    .if_not_exists()
                    .col(id("id"))
                    .col(text("kind"))
                    .col(big("user_id"))
                    .col(text("status"))
                    .col(big_null("first_dossier_id"))
                    .col(text("parts"))
                    .col(text("first_data"))
                    .col(date_null("documents_due"))
                    .col(text_null("reason"))
                    .col(ts("created_at"))
                    .col(ts("updated_at"))
                    .col(big("version"))
                    .to_owned(),
            ],
            indexes: vec![
                index("bundles_by_status", "bundles", &["status", "id"]),
                index("bundles_by_user", "bundles", &["user_id", "id"]),
            ],
            drops: vec![],
        },
        Migration {
            version: 16,
            name: "petitions",
            // Feedback and petitions with the classifier's route and officers' corrections.
            tables: vec![
                Table::create()
                    .table("petitions")
                    .if_not_exists()
                    .col(id("id"))
                    .col(big("user_id"))
                    .col(text("text"))
                    .col(text("predicted"))
                    .col(ColumnDef::new("confidence").double().not_null())
                    .col(text("label"))
                    .col(big_null("agency_id"))
                    .col(big_null("corrected_by"))
                    .col(ts("created_at"))
                    .col(ts_null("corrected_at"))
                    .to_owned(),
            ],
            indexes: vec![
                index("petitions_by_user", "petitions", &["user_id", "id"]),
                index("petitions_by_agency", "petitions", &["agency_id", "id"]),
            ],
            drops: vec![],
        },
        Migration {
            version: 17,
            name: "ai uses",
            // The days an agency's officers were shown an AI aid (completeness check, delay
            // risk): programme target K13 counts them.
            tables: vec![
                Table::create()
                    .table("ai_uses")
                    .if_not_exists()
                    .col(big("agency_id"))
                    .col(text("application"))
                    .col(ColumnDef::new("day").date().not_null())
                    .primary_key(Index::create().col("agency_id").col("application").col("day"))
                    .to_owned(),
            ],
            indexes: vec![index("ai_uses_by_day", "ai_uses", &["day"])],
            drops: vec![],
        },
        Migration {
            version: 18,
            name: "open data catalogue",
            // Datasets and their resources (issue #6), each kept as its CKAN dictionary (the
            // fields Sen does not interpret survive a round trip), with the columns queries
            // filter on beside it. Ids are UUIDs, as CKAN clients expect.
            tables: vec![
                Table::create()
                    .table("od_datasets")
                    .if_not_exists()
                    .col(ColumnDef::new("id").text().not_null().primary_key())
                    .col(text("name"))
                    .col(big("agency_id"))
                    .col(text("state"))
                    .col(text("body"))
                    .col(ts("created_at"))
                    .col(ts("modified_at"))
                    .foreign_key(&mut fk(("od_datasets", "agency_id"), ("agencies", "id")))
                    .to_owned(),
                Table::create()
                    .table("od_resources")
                    .if_not_exists()
                    .col(ColumnDef::new("id").text().not_null().primary_key())
                    .col(text("dataset_id"))
                    .col(big("position"))
                    .col(text("body"))
                    .col(ts("created_at"))
                    .col(ts("modified_at"))
                    .foreign_key(&mut fk(("od_resources", "dataset_id"), ("od_datasets", "id")))
                    .to_owned(),
            ],
            indexes: vec![
                unique("od_datasets_by_name", "od_datasets", &["name"]),
                index("od_datasets_by_modified", "od_datasets", &["modified_at", "id"]),
                index("od_resources_by_dataset", "od_resources", &["dataset_id", "position"]),
            ],
            drops: vec![],
        },
        Migration {
            version: 19,
            name: "open data files",
            // Files uploaded as resources (issue #6), by resource id. A dataset's resources
            // are rewritten on every update, so a file hangs on its dataset, not its row.
            tables: vec![
                Table::create()
                    .table("od_files")
                    .if_not_exists()
                    .col(ColumnDef::new("resource_id").text().not_null().primary_key())
                    .col(text("dataset_id"))
                    .col(text("file_name"))
                    .col(text("media_type"))
                    .col(big("size"))
                    .col(text("sha256"))
                    .col(blob("content"))
                    .col(ts("created_at"))
                    .foreign_key(&mut fk(("od_files", "dataset_id"), ("od_datasets", "id")))
                    .to_owned(),
            ],
            indexes: vec![index("od_files_by_dataset", "od_files", &["dataset_id"])],
            drops: vec![],
        },
        Migration {
            version: 20,
            name: "open data publication plans",
            // Each agency's publication plan (issue #6): its priority datasets as JSON, and
            // when and by whom the list was last reviewed (the law asks every 6 months).
            tables: vec![
                Table::create()
                    .table("od_plans")
                    .if_not_exists()
                    .col(ColumnDef::new("agency_id").big_integer().not_null().primary_key())
                    .col(text("items"))
                    .col(ts("reviewed_at"))
                    .col(text("reviewed_by"))
                    .foreign_key(&mut fk(("od_plans", "agency_id"), ("agencies", "id")))
                    .to_owned(),
            ],
            indexes: vec![],
            drops: vec![],
        },
        Migration {
            version: 21,
            name: "open data link checks",
            // Whether each resource's address answered when last checked (issue #6): the
            // accessibility of the metadata quality score. A file Sen holds is checked too
            // (it always answers), so every resource gets a row.
            tables: vec![
                Table::create()
                    .table("od_link_checks")
                    .if_not_exists()
                    .col(ColumnDef::new("resource_id").text().not_null().primary_key())
                    .col(text("url"))
                    .col(big_null("status"))
                    .col(text_null("error"))
                    .col(ts("checked_at"))
                    .to_owned(),
            ],
            indexes: vec![index("od_link_checks_by_time", "od_link_checks", &["checked_at"])],
            drops: vec![],
        },
        Migration {
            version: 22,
            name: "open data usage",
            // Views, downloads and API reads per dataset, resource ('' for the dataset itself)
            // and day (issue #6), robots left out; counted in memory and added in batches.
            tables: vec![
                Table::create()
                    .table("od_usage")
                    .if_not_exists()
                    .col(text("dataset_id"))
                    .col(text("resource_id"))
                    .col(ColumnDef::new("day").date().not_null())
                    .col(text("kind"))
                    .col(big("count"))
                    .primary_key(Index::create().col("dataset_id").col("resource_id").col("day").col("kind"))
                    .to_owned(),
            ],
            indexes: vec![index("od_usage_by_day", "od_usage", &["day"])],
            drops: vec![],
        },
        Migration {
            version: 23,
            name: "open data reuses",
            // Applications, articles, visualisations … that reuse open datasets (issue #6),
            // each linked to the datasets it uses.
            tables: vec![
                Table::create()
                    .table("od_reuses")
                    .if_not_exists()
                    .col(ColumnDef::new("id").text().not_null().primary_key())
                    .col(text("title"))
                    .col(text("kind"))
                    .col(text("url"))
                    .col(text("description"))
                    .col(big("author_id"))
                    .col(ts("created_at"))
                    .foreign_key(&mut fk(("od_reuses", "author_id"), ("users", "id")))
                    .to_owned(),
                Table::create()
                    .table("od_reuse_datasets")
                    .if_not_exists()
                    .col(text("reuse_id"))
                    .col(text("dataset_id"))
                    .primary_key(Index::create().col("reuse_id").col("dataset_id"))
                    .foreign_key(&mut fk(("od_reuse_datasets", "reuse_id"), ("od_reuses", "id")))
                    .foreign_key(&mut fk(("od_reuse_datasets", "dataset_id"), ("od_datasets", "id")))
                    .to_owned(),
            ],
            indexes: vec![index("od_reuse_datasets_by_dataset", "od_reuse_datasets", &["dataset_id"])],
            drops: vec![],
        },
        Migration {
            version: 24,
            name: "open data datastore",
            // The datastore's tables (issue #6): one per loaded tabular resource, `ds_{id}`,
            // with its columns as JSON and how far its load got (see `crate::datastore`).
            tables: vec![
                Table::create()
                    .table("od_datastore")
                    .if_not_exists()
                    .col(id("id"))
                    .col(text("resource_id"))
                    .col(text("dataset_id"))
                    .col(text("fields"))
                    .col(text("state"))
                    .col(big("rows"))
                    .col(text_null("error"))
                    .col(ts("updated_at"))
                    .to_owned(),
            ],
            indexes: vec![
                unique("od_datastore_by_resource", "od_datastore", &["resource_id"]),
                index("od_datastore_by_state", "od_datastore", &["state", "updated_at"]),
                index("od_datastore_by_dataset", "od_datastore", &["dataset_id"]),
            ],
            drops: vec![],
        },
        Migration {
            version: 25,
            name: "write-ahead journals",
            // How far each write-ahead journal (see `crate::journal`) was imported, written in
            // the transaction that imports: a gateway's message records.
            tables: vec![
                Table::create()
                    .table("journal_positions")
                    .if_not_exists()
                    .col(ColumnDef::new("name").text().not_null().primary_key())
                    .col(big("position"))
                    .to_owned(),
            ],
            indexes: vec![],
            drops: vec![],
        },
        Migration {
            version: 26,
            name: "exchange records logged in batches",
            // A gateway's message records are logged one entry per import (the Merkle root of
            // the batch's records, see `crate::exchange_log`): each row names that entry and
            // its place in the batch (columns added by the data step); an entry is found in
            // the log by its id.
            // The day counts of messages that exchanged data, per client and service, which
            // each import adds to (the usage reports read them, not the messages).
            tables: vec![
                Table::create()
                    .table("exchange_message_counts")
                    .if_not_exists()
                    .col(ColumnDef::new("day").date().not_null())
                    .col(text("client"))
                    .col(text("service"))
                    .col(big("messages"))
                    .primary_key(Index::create().col("day").col("client").col("service"))
                    .to_owned(),
                // Per minute, service and side, the calls, failures, slowest call and a
                // latency histogram (monitoring reads these, not the messages).
                Table::create()
                    .table("exchange_timing_minutes")
                    .if_not_exists()
                    .col(ts("minute"))
                    .col(text("service"))
                    .col(text("side"))
                    .col(big("calls"))
                    .col(big("failures"))
                    .col(big("max_us"))
                    .primary_key(Index::create().col("minute").col("service").col("side"))
                    .to_owned(),
                Table::create()
                    .table("exchange_timing_buckets")
                    .if_not_exists()
                    .col(ts("minute"))
                    .col(text("service"))
                    .col(text("side"))
                    .col(big("bucket"))
                    .col(big("calls"))
                    .primary_key(Index::create().col("minute").col("service").col("side").col("bucket"))
                    .to_owned(),
            ],
            indexes: vec![index("log_leaves_by_entry", "log_leaves", &["entry_id"])],
            drops: vec![],
        },
    ]
}

/// Migration 26: the columns by which a message record names its batch's log entry, and the
/// tallies (day counts, minutes' timings) of the messages of the last 7 days.
async fn exchange_record_batches(tx: &mut Tx) -> Result<()> {
    for column in ["log_entry", "log_index"] {
        tx.execute_schema(&Table::alter().table("exchange_messages").add_column(big_null(column)).to_owned()).await?;
    }
    tx.execute_schema(&index("exchange_messages_by_log_entry", "exchange_messages", &["log_entry", "log_index"]))
        .await?;
    crate::exchange_log::tally_recent_messages(tx).await
}

/// Notifications (issue #5): templates by version, messages with their delivery state,
/// the portal inbox, and how far the feed has read the tracking log and the offers.
fn notify_tables() -> Vec<TableCreateStatement> {
    let t = |name: &'static str| Table::create().table(name).if_not_exists().to_owned();
    vec![
        t("notify_templates")
            .col(text("id"))
            .col(big("version"))
            .col(text("name"))
            .col(text("kind"))
            .col(text_null("subject"))
            .col(text("body"))
            .col(ts("created_at"))
            .col(text("created_by"))
            .primary_key(Index::create().col("id").col("version"))
            .to_owned(),
        t("notifications")
            .col(text("id").primary_key())
            .col(text_null("reference"))
            .col(text("template_id"))
            .col(big("template_version"))
            .col(text("kind"))
            .col(text("recipient"))
            .col(text_null("subject"))
            .col(text("body"))
            .col(text("status"))
            .col(big("attempts"))
            .col(ts("next_attempt_at"))
            .col(ts_null("claimed_until"))
            .col(ts("created_at"))
            .col(ts_null("sent_at"))
            .col(ts_null("completed_at"))
            .col(text_null("last_error"))
            .col(text("created_by"))
            .to_owned(),
        t("inbox_messages")
            .col(id("id"))
            .col(big("user_id"))
            .col(text("subject"))
            .col(text("body"))
            .col(text_null("link"))
            .col(ts("created_at"))
            .col(ts_null("read_at"))
            .to_owned(),
        t("notify_cursors").col(text("name").primary_key()).col(big("last_id")).to_owned(),
    ]
}

/// Proactive services (issue #5): the rules agencies edit, the offers they made to people,
/// who turned offers off, and how far the population registry's age scan has gone.
fn proactive_tables() -> Vec<TableCreateStatement> {
    let t = |name: &'static str| Table::create().table(name).if_not_exists().to_owned();
    vec![
        t("proactive_rules")
            .col(id("id"))
            .col(text("rule_key"))
            .col(text("topic"))
            // The agency whose administrators edit it; none: the platform's.
            .col(text_null("agency_code"))
            // The rule as JSON (`sen_domain::proactive::Rule`).
            .col(text("body"))
            .col(flag("enabled"))
            .col(big("version"))
            .col(ts("updated_at"))
            .col(text("updated_by"))
            .to_owned(),
        t("offers")
            .col(id("id"))
            .col(text("event_id"))
            .col(text("topic"))
            .col(text("rule_key"))
            .col(big("level"))
            .col(text("procedure_code"))
            // The personal number of whom the offer is for.
            .col(text("recipient"))
            // The dossier whose result made the event (a life-event bundle follows it).
            .col(text_null("origin"))
            .col(text("title"))
            .col(text("because"))
            .col(text("guidance"))
            .col(text("prepared"))
            .col(text("documents"))
            .col(text("alternatives"))
            // open | postponed | accepted | declined
            .col(text("status"))
            .col(ColumnDef::new("valid_until").date().not_null())
            .col(date_null("postponed_until"))
            .col(big_null("dossier_id"))
            .col(ts("created_at"))
            .col(ts_null("decided_at"))
            .col(big("version"))
            .to_owned(),
        t("proactive_preferences")
            .col(text("person_number").primary_key())
            .col(flag("opted_out"))
            .col(ts("updated_at"))
            .to_owned(),
        t("population_scans")
            .col(big("id").primary_key())
            .col(ColumnDef::new("scanned_through").date().not_null())
            .to_owned(),
    ]
}

/// Once-only (issue #4): what the portal fetched from the registries at an applicant's
/// explicit request, and where every component of a submitted dossier came from.
fn evidence_tables() -> Vec<TableCreateStatement> {
    let t = |name: &'static str| Table::create().table(name).if_not_exists().to_owned();
    vec![
        // One row per registry asked in one request (a batch): what it answered, for the
        // applicant to preview, confirm and use in one dossier.
        t("fetched_evidence")
            .col(id("id"))
            .col(text("batch"))
            .col(big("user_id"))
            .col(big("procedure_id"))
            .col(text("registry"))
            .col(text("service"))
            // found | not_found | unavailable
            .col(text("status"))
            .col(text_null("record_id"))
            .col(text_null("facts"))
            // SHA-256 of the registry's answer, and the exchange message that carried it.
            .col(text_null("digest"))
            .col(text_null("message_id"))
            .col(ts("fetched_at"))
            .col(ts_null("confirmed_at"))
            .to_owned(),
        // Where each component of a dossier came from: upload, form, fetched, prefill.
        // Procedure, agency and month are copied from the dossier so that reuse figures are
        // one grouped read of this table.
        t("dossier_components")
            .col(big("dossier_id"))
            .col(text("component"))
            .col(text("source"))
            .col(text_null("registry"))
            .col(text_null("service"))
            .col(text_null("record_id"))
            .col(ts_null("fetched_at"))
            .col(text_null("message_id"))
            .col(text_null("digest"))
            // The e-form fields whose submitted values are the fetched ones (JSON array).
            .col(text_null("fields"))
            .col(big("procedure_id"))
            .col(big("agency_id"))
            // YYYY-MM of the submission, in Vietnam's time.
            .col(text("month"))
            .foreign_key(&mut fk(("dossier_components", "dossier_id"), ("dossiers", "id")))
            .to_owned(),
    ]
}

/// Gateways registered in the central directory, the subsystems each serves, and (in each
/// gateway's own database) the record of every message it passed (issue #4).
fn gateway_tables() -> Vec<TableCreateStatement> {
    let t = |name: &'static str| Table::create().table(name).if_not_exists().to_owned();
    vec![
        t("exchange_gateways")
            .col(id("id"))
            .col(big("member_id"))
            .col(text("code"))
            .col(text("address"))
            // The TLS certificate (DER) it presents, and its SHA-256 in hex.
            .col(blob("tls_cert"))
            .col(text("tls_sha256"))
            // The certificate of its Ed25519 message key (DER).
            .col(blob("message_cert"))
            .col(ts("created_at"))
            .col(ts_null("retired_at"))
            .foreign_key(&mut fk(("exchange_gateways", "member_id"), ("exchange_members", "id")))
            .to_owned(),
        t("exchange_gateway_clients")
            .col(big("gateway_id"))
            .col(big("subsystem_id"))
            .foreign_key(&mut fk(("exchange_gateway_clients", "gateway_id"), ("exchange_gateways", "id")))
            .foreign_key(&mut fk(("exchange_gateway_clients", "subsystem_id"), ("exchange_subsystems", "id")))
            .to_owned(),
        // One row per message a gateway passed, on its side: digests and signatures, never
        // payloads. The same facts go to the tamper-evident log in the same transaction.
        t("exchange_messages")
            .col(id("id"))
            .col(text("message_id"))
            // client (the caller's gateway) | provider (the provider's gateway)
            .col(text("side"))
            .col(text("client"))
            .col(text("service"))
            .col(text("method"))
            .col(text("request_hash"))
            .col(text_null("request_signature"))
            .col(text_null("response_digest"))
            .col(text_null("response_signature"))
            .col(big("status"))
            .col(text_null("error_type"))
            // The other gateway, OWNER/CODE.
            .col(text_null("peer"))
            .col(ts("started_at"))
            .col(big("duration_us"))
            .to_owned(),
    ]
}

/// The base registries besides population (`persons`, `households`) and enterprises
/// (`enterprises`) (issue #4): civil status (Ministry of Justice), health and social insurance
/// (Vietnam Social Security), land parcels and their certificates (Ministry of Agriculture
/// and Environment). Each record carries the master-data identifier of the person it is about.
fn registry_tables() -> Vec<TableCreateStatement> {
    let t = |name: &'static str| Table::create().table(name).if_not_exists().to_owned();
    vec![
        // Births, marriages and deaths as registered in the civil-status books of a commune
        // authority: number `number` of the `kind` book of `book_year`.
        t("civil_events")
            .col(id("id"))
            // birth | marriage | death
            .col(text("kind"))
            .col(text("agency_code"))
            .col(big("book_year"))
            .col(big("number"))
            .col(ColumnDef::new("registered_on").date().not_null())
            .col(ColumnDef::new("event_date").date().not_null())
            // The child born, one spouse, the deceased.
            .col(text("subject_person_number"))
            .col(text("subject_name"))
            // The other spouse; for a birth the mother, when known.
            .col(text_null("other_person_number"))
            .col(text_null("other_name"))
            .col(text("place"))
            // Further facts (parents, declarant, cause), as JSON.
            .col(text("details"))
            .to_owned(),
        // One record per insured person: the social insurance number (mã số BHXH) and the
        // health insurance card.
        t("insurance_records")
            .col(text("person_number").primary_key())
            .col(text("social_insurance_number"))
            .col(text("health_card_number"))
            .col(ColumnDef::new("health_card_valid_from").date().not_null())
            .col(ColumnDef::new("health_card_valid_to").date().not_null())
            .col(text("initial_care_facility"))
            .col(big("contribution_months"))
            .col(text_null("employer_tax_code"))
            .to_owned(),
        // A parcel in a commune's cadastral map and the certificate of land use rights over it.
        t("land_parcels")
            .col(id("id"))
            .col(text("commune_code"))
            .col(big("map_sheet"))
            .col(big("parcel_number"))
            .col(ColumnDef::new("area_m2").double().not_null())
            // Land use code of the Land Law: ODT urban residential, ONT rural residential, CLN perennial crops, LUC rice.
            .col(text("land_use"))
            .col(text("address"))
            // person | enterprise, and the holder's personal number or tax code.
            .col(text("holder_kind"))
            .col(text("holder_id"))
            .col(text("holder_name"))
            .col(text("certificate_serial"))
            .col(ColumnDef::new("certificate_issued_on").date().not_null())
            .to_owned(),
    ]
}

/// The data exchange layer's central directory (issue #4): members, their subsystems
/// (information systems), the services each offers, and the rights granted to clients.
fn exchange_tables() -> Vec<TableCreateStatement> {
    let t = |name: &'static str| Table::create().table(name).if_not_exists().to_owned();
    vec![
        t("exchange_members")
            .col(id("id"))
            .col(text("instance"))
            .col(text("class"))
            .col(text("code"))
            .col(text("name"))
            // The agency this member is, when it is a state body of the demo's reference data.
            .col(big_null("agency_id"))
            .col(ts("created_at"))
            .to_owned(),
        t("exchange_subsystems")
            .col(id("id"))
            .col(big("member_id"))
            .col(text("code"))
            .col(text("name"))
            .col(ts("created_at"))
            .foreign_key(&mut fk(("exchange_subsystems", "member_id"), ("exchange_members", "id")))
            .to_owned(),
        t("exchange_services")
            .col(id("id"))
            .col(big("subsystem_id"))
            .col(text("code"))
            .col(text("title"))
            // Where the provider's gateway sends calls of this service.
            .col(text("base_url"))
            .col(text_null("openapi"))
            .col(flag("disabled"))
            .col(big("timeout_ms"))
            .col(ts("updated_at"))
            .foreign_key(&mut fk(("exchange_services", "subsystem_id"), ("exchange_subsystems", "id")))
            .to_owned(),
        t("exchange_rights")
            .col(id("id"))
            .col(big("service_id"))
            // The client as printed: INSTANCE/CLASS/MEMBER[/SUBSYSTEM].
            .col(text("client"))
            .col(text("method"))
            .col(text("path"))
            .col(ts("granted_at"))
            .col(big_null("granted_by"))
            .foreign_key(&mut fk(("exchange_rights", "service_id"), ("exchange_services", "id")))
            .to_owned(),
    ]
}

/// Moves rows a migration reshapes, after its tables exist and before its drops.
async fn data_step(version: i64, tx: &mut Tx) -> Result<()> {
    match version {
        3 => crate::log::tiles_from_nodes(tx).await,
        12 => crate::proactive::install_default_rules(tx).await,
        13 => crate::notify::install_default_templates(tx).await,
        26 => exchange_record_batches(tx).await,
        _ => Ok(()),
    }
}

fn core_tables() -> Vec<TableCreateStatement> {
    let t = |name: &'static str| Table::create().table(name).if_not_exists().to_owned();
    vec![
        t("provinces").col(text("code").primary_key()).col(text("name")).col(text("kind")).to_owned(),
        t("communes")
            .col(text("code").primary_key())
            .col(text("province_code"))
            .col(text("name"))
            .col(text("kind"))
            .foreign_key(&mut fk(("communes", "province_code"), ("provinces", "code")))
            .to_owned(),
        t("agencies")
            .col(id("id"))
            .col(text("code"))
            .col(text("name"))
            .col(text("name_en"))
            .col(text("kind"))
            .col(text("level"))
            .col(text_null("province_code"))
            .col(text_null("commune_code"))
            .col(big_null("parent_id"))
            .to_owned(),
        t("households")
            .col(id("id"))
            .col(text("head_person_number"))
            .col(text("address"))
            .col(text("commune_code"))
            .to_owned(),
        t("persons")
            .col(text("person_number").primary_key())
            .col(text("full_name"))
            .col(ColumnDef::new("birth_date").date().not_null())
            .col(text("sex"))
            .col(text("birth_province_code"))
            .col(text("commune_code"))
            .col(text("address"))
            .col(big_null("household_id"))
            .col(text("relation_to_head"))
            .to_owned(),
        t("enterprises")
            .col(text("tax_code").primary_key())
            .col(text("name"))
            .col(text("kind"))
            .col(text("owner_person_number"))
            .col(text("address"))
            .col(text("province_code"))
            .col(ColumnDef::new("registered_on").date().not_null())
            .to_owned(),
        t("users")
            .col(id("id"))
            .col(text("username"))
            .col(text("password_hash"))
            .col(text("display_name"))
            .col(text("kind"))
            .col(text_null("person_number"))
            .col(text_null("tax_code"))
            .col(text_null("email"))
            .col(flag("disabled"))
            .col(ts("created_at"))
            .to_owned(),
        t("user_roles")
            .col(big("user_id"))
            .col(big("agency_id"))
            .col(text("role"))
            .primary_key(Index::create().col("user_id").col("agency_id").col("role"))
            .foreign_key(&mut fk(("user_roles", "user_id"), ("users", "id")))
            .foreign_key(&mut fk(("user_roles", "agency_id"), ("agencies", "id")))
            .to_owned(),
        t("sessions")
            .col(text("token_hash").primary_key())
            .col(big("user_id"))
            .col(text("csrf_token"))
            .col(ts("created_at"))
            .col(ts("expires_at"))
            .to_owned(),
        t("api_tokens")
            .col(id("id"))
            .col(text("token_hash"))
            .col(big("user_id"))
            .col(text("name"))
            .col(ts("created_at"))
            .col(ts_null("revoked_at"))
            .to_owned(),
        t("holidays")
            .col(ColumnDef::new("day").date().not_null().primary_key())
            .col(text("name"))
            .col(flag("working"))
            .to_owned(),
        t("procedures")
            .col(id("id"))
            .col(text("code"))
            .col(text("name"))
            .col(text("name_en"))
            .col(text("sector"))
            .col(text("level"))
            .col(text("agency_kind"))
            .col(big("deadline_days"))
            .col(text("fees"))
            .col(big("fee_vnd"))
            .col(text("service_level"))
            .col(text("applicants"))
            .col(text("conditions"))
            .col(text("steps"))
            .col(text("legal_basis"))
            .col(text("result_document"))
            .col(text("components"))
            .col(text("keywords"))
            .col(big("form_version"))
            .col(flag("published"))
            .col(ts("updated_at"))
            .to_owned(),
        t("procedure_forms")
            .col(big("procedure_id"))
            .col(big("version"))
            .col(text("schema"))
            .col(ts("created_at"))
            .col(big_null("created_by"))
            .primary_key(Index::create().col("procedure_id").col("version"))
            .foreign_key(&mut fk(("procedure_forms", "procedure_id"), ("procedures", "id")))
            .to_owned(),
        t("dossiers")
            .col(id("id"))
            .col(text("code"))
            .col(big("procedure_id"))
            .col(big("form_version"))
            .col(big("agency_id"))
            .col(big("applicant_user_id"))
            .col(text("applicant_name"))
            .col(text("applicant_id_number"))
            .col(text("state"))
            .col(text_null("resume_state"))
            .col(text("data"))
            .col(ts("submitted_at"))
            .col(ts_null("received_at"))
            .col(date_null("due_date"))
            .col(date_null("original_due_date"))
            .col(date_null("paused_on"))
            .col(big_null("remaining_days"))
            .col(ts_null("decided_at"))
            .col(ts_null("closed_at"))
            .col(big_null("assignee_user_id"))
            .col(flag("overdue"))
            .col(big("apologies"))
            .col(big("version"))
            .col(big_null("rating"))
            .col(text_null("rating_comment"))
            .col(ts_null("rated_at"))
            .col(text_null("result"))
            .col(ts("updated_at"))
            .foreign_key(&mut fk(("dossiers", "procedure_id"), ("procedures", "id")))
            .foreign_key(&mut fk(("dossiers", "agency_id"), ("agencies", "id")))
            .to_owned(),
        t("dossier_files")
            .col(id("id"))
            .col(big("dossier_id"))
            .col(text("component"))
            .col(text("filename"))
            .col(text("content_type"))
            .col(big("size"))
            .col(text("sha256"))
            .col(ColumnDef::new("content").blob().not_null())
            .col(text("purpose"))
            .col(ts("uploaded_at"))
            .foreign_key(&mut fk(("dossier_files", "dossier_id"), ("dossiers", "id")))
            .to_owned(),
        t("dossier_events")
            .col(id("id"))
            .col(big("dossier_id"))
            .col(ts("at"))
            .col(big_null("actor_user_id"))
            .col(text("actor_name"))
            .col(text_null("actor_role"))
            .col(big_null("actor_agency_id"))
            .col(text("action"))
            .col(text_null("from_state"))
            .col(text("to_state"))
            .col(text_null("reason"))
            .col(text("detail"))
            .foreign_key(&mut fk(("dossier_events", "dossier_id"), ("dossiers", "id")))
            .to_owned(),
        t("audit_log")
            .col(id("id"))
            .col(ts("at"))
            .col(big_null("actor_user_id"))
            .col(text("actor_name"))
            .col(text_null("actor_role"))
            .col(big_null("actor_agency_id"))
            .col(text("action"))
            .col(text("subject_type"))
            .col(text("subject_id"))
            .col(big_null("dossier_id"))
            .col(text_null("reason"))
            .col(text("detail"))
            .to_owned(),
        t("idempotency_keys")
            .col(big("user_id"))
            .col(text("key"))
            .col(text("request_hash"))
            .col(big("dossier_id"))
            .col(ts("created_at"))
            .primary_key(Index::create().col("user_id").col("key"))
            .to_owned(),
    ]
}

fn core_indexes() -> Vec<IndexCreateStatement> {
    vec![
        index("communes_by_province", "communes", &["province_code"]),
        unique("agencies_code", "agencies", &["code"]),
        index("agencies_by_kind", "agencies", &["kind", "province_code"]),
        index("persons_by_household", "persons", &["household_id"]),
        unique("users_username", "users", &["username"]),
        index("users_by_person", "users", &["person_number"]),
        index("user_roles_by_agency", "user_roles", &["agency_id", "role"]),
        index("sessions_by_user", "sessions", &["user_id"]),
        unique("api_tokens_hash", "api_tokens", &["token_hash"]),
        unique("procedures_code", "procedures", &["code"]),
        unique("dossiers_code", "dossiers", &["code"]),
        index("dossiers_queue", "dossiers", &["agency_id", "state", "submitted_at"]),
        index("dossiers_due", "dossiers", &["agency_id", "state", "due_date"]),
        index("dossiers_by_applicant", "dossiers", &["applicant_user_id", "submitted_at"]),
        index("dossiers_by_assignee", "dossiers", &["assignee_user_id", "state", "due_date"]),
        // The overdue job seeks the rows not yet marked, however many are marked already.
        index("dossiers_by_state", "dossiers", &["overdue", "state", "due_date"]),
        index("dossier_files_by_dossier", "dossier_files", &["dossier_id"]),
        index("dossier_events_by_dossier", "dossier_events", &["dossier_id", "at"]),
        index("audit_by_dossier", "audit_log", &["dossier_id", "at"]),
        index("audit_by_actor", "audit_log", &["actor_user_id", "at"]),
    ]
}

fn blob(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).blob().not_null().to_owned()
}
fn blob_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).blob().null().to_owned()
}

/// The certificate authority, signatures, time-stamps and the Merkle log (issue #3).
fn trust_tables() -> Vec<TableCreateStatement> {
    let t = |name: &'static str| Table::create().table(name).if_not_exists().to_owned();
    vec![
        // The data key, wrapped by the operator's passphrase. One row.
        t("trust_vault").col(big("id").primary_key()).col(text("wrapped")).col(ts("created_at")).to_owned(),
        // Private keys sealed by the data key.
        t("trust_keys").col(id("id")).col(blob("sealed")).col(ts("created_at")).to_owned(),
        t("certificates")
            .col(id("id"))
            .col(text("serial"))
            .col(text("kind"))
            .col(big_null("agency_id"))
            .col(big_null("user_id"))
            .col(text("subject"))
            .col(blob("der"))
            .col(big("key_id"))
            .col(text_null("issuer_serial"))
            .col(ts("not_before"))
            .col(ts("not_after"))
            // active | retired (superseded by rotation, still valid for old signatures) | revoked
            .col(text("status"))
            .col(ts_null("revoked_at"))
            .col(text_null("revocation_reason"))
            .col(ts("created_at"))
            .to_owned(),
        t("crls")
            .col(text("issuer_serial"))
            .col(big("number"))
            .col(blob("der"))
            .col(ts("this_update"))
            .primary_key(Index::create().col("issuer_serial").col("number"))
            .to_owned(),
        // Every signature Sen makes, waiting for (then holding) its batched time-stamp.
        t("signatures")
            .col(id("id"))
            .col(text("purpose"))
            .col(blob("value"))
            .col(text("signer_serial"))
            .col(ts("signed_at"))
            .col(flag("stamped"))
            .col(text_null("stamp"))
            .to_owned(),
        // RFC 3161 tokens issued; the id is the token's serial number.
        t("timestamp_tokens").col(id("id")).col(blob("imprint")).col(ts("gen_time")).col(big("batch_size")).to_owned(),
        // Signed results: the JSON document in a JWS, the PDF and its detached CMS signature.
        t("results")
            .col(big("dossier_id").primary_key())
            .col(text("verification_code"))
            .col(text("document"))
            .col(text("jws"))
            .col(big("jws_signature_id"))
            .col(blob("pdf"))
            .col(text("pdf_sha256"))
            .col(blob("p7s"))
            .col(big("cms_signature_id"))
            .col(text("seal_serial"))
            .col(ts("issued_at"))
            .foreign_key(&mut fk(("results", "dossier_id"), ("dossiers", "id")))
            .to_owned(),
        // Officers' signed decisions: a hash chain per dossier.
        t("work_records")
            .col(id("id"))
            .col(big("dossier_id"))
            .col(big("seq"))
            .col(text("action"))
            .col(text("jws"))
            .col(text("record_sha256"))
            .col(big("signature_id"))
            .col(text("signer_serial"))
            .col(ts("at"))
            .foreign_key(&mut fk(("work_records", "dossier_id"), ("dossiers", "id")))
            .to_owned(),
        // The tamper-evident log. An entry's body is written once, in the transaction of the
        // change it records, with a narrow pending row; the sequencer later gives it its
        // position (log_leaves) and stores the complete subtree hashes (log_nodes, replaced
        // by log_tiles in migration 3).
        t("log_entries").col(id("id")).col(text("body")).col(ts("queued_at")).to_owned(),
        t("log_pending").col(big("entry_id").primary_key()).to_owned(),
        t("log_leaves").col(big("seq").primary_key()).col(big("entry_id")).col(ts("logged_at")).to_owned(),
        t("log_nodes")
            .col(big("level"))
            .col(big("idx"))
            .col(blob("hash"))
            .primary_key(Index::create().col("level").col("idx"))
            .to_owned(),
        t("log_checkpoints")
            .col(big("size").primary_key())
            .col(blob("root"))
            .col(ts("at"))
            .col(text("signed"))
            .col(blob_null("tst"))
            .to_owned(),
    ]
}

fn trust_indexes() -> Vec<IndexCreateStatement> {
    vec![
        unique("certificates_serial", "certificates", &["serial"]),
        index("certificates_by_agency", "certificates", &["kind", "agency_id", "status"]),
        index("certificates_by_user", "certificates", &["kind", "user_id", "status"]),
        index("signatures_unstamped", "signatures", &["stamped", "id"]),
        unique("results_code", "results", &["verification_code"]),
        index("results_by_pdf", "results", &["pdf_sha256"]),
        unique("work_records_chain", "work_records", &["dossier_id", "seq"]),
    ]
}

#[derive(sqlx::FromRow)]
struct Applied {
    version: i64,
}

/// Applies the migrations not yet applied, each in its own transaction.
pub async fn migrate(db: &Db, upto: i64) -> Result<Vec<i64>> {
    let mut tx = db.begin_write().await?;
    tx.lock_schema().await?;
    tx.execute_schema(
        &Table::create()
            .table("schema_migrations")
            .if_not_exists()
            .col(big("version").primary_key())
            .col(text("name"))
            .col(ts("applied_at"))
            .to_owned(),
    )
    .await?;
    tx.commit().await?;

    let mut applied_now = Vec::new();
    for m in migrations().into_iter().filter(|m| m.version <= upto) {
        let mut tx: Tx = db.begin_write().await?;
        tx.lock_schema().await?;
        let done: Option<Applied> = tx
            .fetch_optional(
                &Query::select()
                    .column("version")
                    .from("schema_migrations")
                    .and_where(Expr::col("version").eq(m.version))
                    .to_owned(),
            )
            .await?;
        if done.is_some_and(|a| a.version == m.version) {
            tx.rollback().await?;
            continue;
        }
        for t in &m.tables {
            tx.execute_schema(t).await?;
        }
        for i in &m.indexes {
            tx.execute_schema(i).await?;
        }
        data_step(m.version, &mut tx).await?;
        for d in &m.drops {
            tx.execute_schema(d).await?;
        }
        let inserted = tx
            .execute(
                &Query::insert()
                    .into_table("schema_migrations")
                    .columns(["version", "name", "applied_at"])
                    .values_panic([m.version.into(), m.name.into(), chrono::Utc::now().into()])
                    .to_owned(),
            )
            .await;
        match inserted {
            Ok(_) => {
                tx.commit().await?;
                applied_now.push(m.version);
            }
            // Another node applied it at the same moment: its work stands.
            Err(e) if e.is_unique_violation() => tx.rollback().await?,
            Err(e) => return Err(e),
        }
    }
    Ok(applied_now)
}
