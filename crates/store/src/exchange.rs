//! The exchange directory (issue #4): members, subsystems, services and access rights,
//! each change audited in the transaction that makes it.

use crate::dossiers::{Actor, audit};
use crate::{Result, Store, StoreError};
use chrono::Utc;
use sea_query::{Expr, ExprTrait, Order, Query};
use sen_exchange::directory::{Directory, Gateway, Member, Right, Service, Subsystem};
use sen_exchange::{ClientId, Endpoint, MemberId, ServiceId};
use serde_json::json;
use std::collections::HashMap;

/// The largest OpenAPI description stored for a service.
pub const MAX_OPENAPI_BYTES: usize = 1024 * 1024;
/// How long a provider's gateway waits for the provider's system, at most.
pub const TIMEOUT_MS: std::ops::RangeInclusive<u64> = 100..=60_000;

/// A service as an administrator describes it.
#[derive(Debug, Clone)]
pub struct ServiceInput {
    pub code: String,
    pub title: String,
    pub base_url: String,
    pub openapi: Option<String>,
    pub disabled: bool,
    pub timeout_ms: u64,
}

impl ServiceInput {
    fn check(&self) -> Result<()> {
        let invalid = |m: String| Err(StoreError::Invalid(m));
        sen_exchange::id::check_part(&self.code).map_err(StoreError::Invalid)?;
        if sen_exchange::route::METASERVICES.contains(&self.code.as_str()) {
            return invalid(format!("{} is the name of a metaservice", self.code));
        }
        if self.title.trim().is_empty() || self.title.len() > 500 {
            return invalid("a service has a title of 1 to 500 characters".into());
        }
        let url = self.base_url.trim();
        if !(url.starts_with("http://") || url.starts_with("https://"))
            || url.len() > 2000
            || url.contains(char::is_whitespace)
        {
            return invalid("the base URL is an http:// or https:// address".into());
        }
        if let Some(doc) = &self.openapi {
            if doc.len() > MAX_OPENAPI_BYTES {
                return invalid(format!("the OpenAPI description is larger than {MAX_OPENAPI_BYTES} bytes"));
            }
            let v: serde_json::Value = serde_json::from_str(doc)
                .map_err(|e| StoreError::Invalid(format!("the OpenAPI description is not JSON: {e}")))?;
            if !v.get("openapi").is_some_and(|o| o.as_str().is_some_and(|s| s.starts_with('3'))) {
                return invalid("the description is not an OpenAPI 3 document (no \"openapi\": \"3.x\")".into());
            }
        }
        if !TIMEOUT_MS.contains(&self.timeout_ms) {
            return invalid(format!("the time-out is {} to {} ms", TIMEOUT_MS.start(), TIMEOUT_MS.end()));
        }
        Ok(())
    }
}

#[derive(sqlx::FromRow)]
struct MemberRow {
    id: i64,
    instance: String,
    class: String,
    code: String,
    name: String,
    agency_id: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct SubsystemRow {
    id: i64,
    member_id: i64,
    code: String,
    name: String,
}

#[derive(sqlx::FromRow)]
struct ServiceRow {
    id: i64,
    subsystem_id: i64,
    code: String,
    title: String,
    base_url: String,
    openapi: Option<String>,
    disabled: bool,
    timeout_ms: i64,
}

#[derive(sqlx::FromRow)]
struct RightRow {
    id: i64,
    service_id: i64,
    client: String,
    method: String,
    path: String,
}

#[derive(sqlx::FromRow)]
struct IdRow {
    id: i64,
}

#[derive(sqlx::FromRow)]
struct GatewayRow {
    id: i64,
    member_id: i64,
    code: String,
    address: String,
    tls_sha256: String,
    message_cert: Vec<u8>,
    retired_at: Option<chrono::DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct GatewayClientRow {
    gateway_id: i64,
    subsystem_id: i64,
}

/// A gateway as its owner registers it.
#[derive(Debug, Clone)]
pub struct GatewayInput {
    pub owner: MemberId,
    pub code: String,
    /// `https://host:port`, where peers reach its server proxy.
    pub address: String,
    /// Its TLS certificate (DER), issued by Sen's CA.
    pub tls_cert: Vec<u8>,
    /// Its message-signing certificate (DER), issued by Sen's CA.
    pub message_cert: Vec<u8>,
    /// The subsystems it serves.
    pub serves: Vec<ClientId>,
}

/// The host and port of a gateway address `https://host:port`.
pub fn gateway_host_port(address: &str) -> Result<(String, u16)> {
    let bad = || StoreError::Invalid(format!("a gateway address is https://host:port, not {address}"));
    let rest = address.strip_prefix("https://").ok_or_else(bad)?.trim_end_matches('/');
    let (host, port) = rest.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    if host.is_empty() || host.contains(['/', '@', '?', '#']) || host.contains(char::is_whitespace) || port == 0 {
        return Err(bad());
    }
    Ok((host.to_string(), port))
}

fn duplicate(what: String) -> impl FnOnce(StoreError) -> StoreError {
    move |e| if e.is_unique_violation() { StoreError::Duplicate(what) } else { e }
}

impl Store {
    /// Every row of a directory table, in the order they were added.
    async fn all_rows<T: crate::exec::Row>(&self, table: &'static str, columns: &[&'static str]) -> Result<Vec<T>> {
        self.db
            .fetch_all(
                &Query::select().columns(columns.iter().copied()).from(table).order_by("id", Order::Asc).to_owned(),
            )
            .await
    }

    /// The whole directory, as gateways and the pages use it.
    pub async fn exchange_directory(&self) -> Result<Directory> {
        let members: Vec<MemberRow> =
            self.all_rows("exchange_members", &["id", "instance", "class", "code", "name", "agency_id"]).await?;
        let subsystems: Vec<SubsystemRow> =
            self.all_rows("exchange_subsystems", &["id", "member_id", "code", "name"]).await?;
        let services: Vec<ServiceRow> = self
            .all_rows(
                "exchange_services",
                &["id", "subsystem_id", "code", "title", "base_url", "openapi", "disabled", "timeout_ms"],
            )
            .await?;
        let rights: Vec<RightRow> =
            self.all_rows("exchange_rights", &["id", "service_id", "client", "method", "path"]).await?;
        let mut rights_of: HashMap<i64, Vec<Right>> = HashMap::new();
        for r in rights {
            // Rows are only written from parsed identifiers; one that no longer parses is skipped.
            let Ok(client) = ClientId::parse(&r.client) else { continue };
            rights_of.entry(r.service_id).or_default().push(Right { id: r.id, client, method: r.method, path: r.path });
        }
        let mut services_of: HashMap<i64, Vec<Service>> = HashMap::new();
        for s in services {
            services_of.entry(s.subsystem_id).or_default().push(Service {
                id: s.id,
                has_openapi: s.openapi.is_some(),
                rights: rights_of.remove(&s.id).unwrap_or_default(),
                code: s.code,
                title: s.title,
                base_url: s.base_url,
                openapi: s.openapi,
                disabled: s.disabled,
                timeout_ms: u64::try_from(s.timeout_ms).unwrap_or(0),
            });
        }
        let mut subsystems_of: HashMap<i64, Vec<Subsystem>> = HashMap::new();
        for s in subsystems {
            subsystems_of.entry(s.member_id).or_default().push(Subsystem {
                id: s.id,
                services: services_of.remove(&s.id).unwrap_or_default(),
                code: s.code,
                name: s.name,
            });
        }
        let gateways = self.gateways(&members, &subsystems_of).await?;
        Ok(Directory {
            gateways,
            members: members
                .into_iter()
                .map(|m| Member {
                    id: m.id,
                    subsystems: subsystems_of.remove(&m.id).unwrap_or_default(),
                    member: MemberId { instance: m.instance, class: m.class, code: m.code },
                    name: m.name,
                    agency_id: m.agency_id,
                })
                .collect(),
        })
    }

    async fn gateways(
        &self,
        members: &[MemberRow],
        subsystems_of: &HashMap<i64, Vec<Subsystem>>,
    ) -> Result<Vec<Gateway>> {
        use base64::Engine;
        let rows: Vec<GatewayRow> = self
            .all_rows(
                "exchange_gateways",
                &["id", "member_id", "code", "address", "tls_sha256", "message_cert", "retired_at"],
            )
            .await?;
        if rows.is_empty() {
            return Ok(vec![]);
        }
        let served: Vec<GatewayClientRow> = self
            .db
            .fetch_all(
                &Query::select().columns(["gateway_id", "subsystem_id"]).from("exchange_gateway_clients").to_owned(),
            )
            .await?;
        let member_of = |id: i64| {
            members.iter().find(|m| m.id == id).map(|m| MemberId {
                instance: m.instance.clone(),
                class: m.class.clone(),
                code: m.code.clone(),
            })
        };
        let subsystem = |id: i64| {
            subsystems_of.iter().find_map(|(member_id, subs)| {
                let s = subs.iter().find(|s| s.id == id)?;
                Some(ClientId { member: member_of(*member_id)?, subsystem: Some(s.code.clone()) })
            })
        };
        Ok(rows
            .into_iter()
            .filter_map(|g| {
                Some(Gateway {
                    owner: member_of(g.member_id)?,
                    serves: served
                        .iter()
                        .filter(|c| c.gateway_id == g.id)
                        .filter_map(|c| subsystem(c.subsystem_id))
                        .collect(),
                    id: g.id,
                    code: g.code,
                    address: g.address,
                    tls_sha256: g.tls_sha256,
                    message_cert: base64::engine::general_purpose::STANDARD.encode(g.message_cert),
                    retired: g.retired_at.is_some(),
                })
            })
            .collect())
    }

    /// Registers a gateway of a member with its certificates and the subsystems it serves.
    pub async fn add_exchange_gateway(&self, input: &GatewayInput, actor: &Actor) -> Result<i64> {
        use sha2::Digest;
        sen_exchange::id::check_part(&input.code).map_err(StoreError::Invalid)?;
        gateway_host_port(&input.address)?;
        if input.serves.is_empty() {
            return Err(StoreError::Invalid("a gateway serves at least one subsystem".into()));
        }
        if input.tls_cert.is_empty() || input.message_cert.is_empty() {
            return Err(StoreError::Invalid("a gateway has a TLS and a message-signing certificate".into()));
        }
        let tls_sha256 = hex::encode(sha2::Sha256::digest(&input.tls_cert));
        let name = format!("{}/{}", input.owner, input.code);
        let now = Utc::now();
        let mut tx = self.db.begin_write().await?;
        let member_id = Self::member_row_id(&mut tx, &input.owner).await?;
        let mut subsystem_ids = Vec::new();
        for c in &input.serves {
            match Self::subsystem_row_id(&mut tx, c).await {
                Ok(id) => subsystem_ids.push(id),
                Err(StoreError::NotFound) => {
                    return Err(StoreError::Invalid(format!("subsystem {c} is not registered in the directory")));
                }
                Err(e) => return Err(e),
            }
        }
        let row: IdRow = tx
            .fetch_one(
                &Query::insert()
                    .into_table("exchange_gateways")
                    .columns(["member_id", "code", "address", "tls_cert", "tls_sha256", "message_cert", "created_at"])
                    .values_panic([
                        member_id.into(),
                        input.code.clone().into(),
                        input.address.trim_end_matches('/').into(),
                        input.tls_cert.clone().into(),
                        tls_sha256.clone().into(),
                        input.message_cert.clone().into(),
                        now.into(),
                    ])
                    .returning_col("id")
                    .to_owned(),
            )
            .await
            .map_err(duplicate(name.clone()))?;
        subsystem_ids.sort_unstable();
        subsystem_ids.dedup();
        for s in subsystem_ids {
            tx.execute(
                &Query::insert()
                    .into_table("exchange_gateway_clients")
                    .columns(["gateway_id", "subsystem_id"])
                    .values_panic([row.id.into(), s.into()])
                    .to_owned(),
            )
            .await?;
        }
        let serves: Vec<String> = input.serves.iter().map(ToString::to_string).collect();
        let detail = json!({"address": input.address, "tls_sha256": tls_sha256, "serves": serves});
        audit(&mut tx, actor, "exchange.gateway.add", "exchange_gateway", &name, None, None, &detail, now).await?;
        tx.commit().await?;
        Ok(row.id)
    }

    /// Withdraws a gateway: peers refuse its certificate and its messages from then on.
    pub async fn retire_exchange_gateway(&self, owner: &MemberId, code: &str, actor: &Actor) -> Result<()> {
        let now = Utc::now();
        let mut tx = self.db.begin_write().await?;
        let member_id = Self::member_row_id(&mut tx, owner).await?;
        let changed = tx
            .execute(
                &Query::update()
                    .table("exchange_gateways")
                    .value("retired_at", now)
                    .and_where(Expr::col("member_id").eq(member_id))
                    .and_where(Expr::col("code").eq(code))
                    .and_where(Expr::col("retired_at").is_null())
                    .to_owned(),
            )
            .await?;
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        let name = format!("{owner}/{code}");
        audit(&mut tx, actor, "exchange.gateway.retire", "exchange_gateway", &name, None, None, &json!({}), now)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Registers a member.
    pub async fn add_exchange_member(
        &self,
        member: &MemberId,
        name: &str,
        agency_id: Option<i64>,
        actor: &Actor,
    ) -> Result<i64> {
        if name.trim().is_empty() || name.len() > 500 {
            return Err(StoreError::Invalid("a member has a name of 1 to 500 characters".into()));
        }
        let now = Utc::now();
        let mut tx = self.db.begin_write().await?;
        let row: IdRow = tx
            .fetch_one(
                &Query::insert()
                    .into_table("exchange_members")
                    .columns(["instance", "class", "code", "name", "agency_id", "created_at"])
                    .values_panic([
                        member.instance.clone().into(),
                        member.class.clone().into(),
                        member.code.clone().into(),
                        name.trim().into(),
                        agency_id.into(),
                        now.into(),
                    ])
                    .returning_col("id")
                    .to_owned(),
            )
            .await
            .map_err(duplicate(member.to_string()))?;
        let detail = json!({"name": name.trim(), "agency_id": agency_id});
        audit(&mut tx, actor, "exchange.member.add", "exchange_member", &member.to_string(), None, None, &detail, now)
            .await?;
        tx.commit().await?;
        Ok(row.id)
    }

    pub(crate) async fn member_row_id(tx: &mut crate::Tx, member: &MemberId) -> Result<i64> {
        let row: Option<IdRow> = tx
            .fetch_optional(
                &Query::select()
                    .column("id")
                    .from("exchange_members")
                    .and_where(Expr::col("instance").eq(member.instance.as_str()))
                    .and_where(Expr::col("class").eq(member.class.as_str()))
                    .and_where(Expr::col("code").eq(member.code.as_str()))
                    .to_owned(),
            )
            .await?;
        row.map(|r| r.id).ok_or(StoreError::NotFound)
    }

    pub(crate) async fn subsystem_row_id(tx: &mut crate::Tx, subsystem: &ClientId) -> Result<i64> {
        let member_id = Self::member_row_id(tx, &subsystem.member).await?;
        let code = subsystem.subsystem.as_deref().ok_or(StoreError::Invalid("a subsystem is needed here".into()))?;
        let row: Option<IdRow> = tx
            .fetch_optional(
                &Query::select()
                    .column("id")
                    .from("exchange_subsystems")
                    .and_where(Expr::col("member_id").eq(member_id))
                    .and_where(Expr::col("code").eq(code))
                    .to_owned(),
            )
            .await?;
        row.map(|r| r.id).ok_or(StoreError::NotFound)
    }

    pub(crate) async fn service_row_id(tx: &mut crate::Tx, service: &ServiceId) -> Result<i64> {
        let subsystem_id = Self::subsystem_row_id(tx, &service.provider).await?;
        let row: Option<IdRow> = tx
            .fetch_optional(
                &Query::select()
                    .column("id")
                    .from("exchange_services")
                    .and_where(Expr::col("subsystem_id").eq(subsystem_id))
                    .and_where(Expr::col("code").eq(service.code.as_str()))
                    .to_owned(),
            )
            .await?;
        row.map(|r| r.id).ok_or(StoreError::NotFound)
    }

    /// Registers an information system of a member.
    pub async fn add_exchange_subsystem(&self, subsystem: &ClientId, name: &str, actor: &Actor) -> Result<i64> {
        let code =
            subsystem.subsystem.clone().ok_or(StoreError::Invalid("the identifier names no subsystem".into()))?;
        if name.trim().is_empty() || name.len() > 500 {
            return Err(StoreError::Invalid("a subsystem has a name of 1 to 500 characters".into()));
        }
        let now = Utc::now();
        let mut tx = self.db.begin_write().await?;
        let member_id = Self::member_row_id(&mut tx, &subsystem.member).await?;
        let row: IdRow = tx
            .fetch_one(
                &Query::insert()
                    .into_table("exchange_subsystems")
                    .columns(["member_id", "code", "name", "created_at"])
                    .values_panic([member_id.into(), code.into(), name.trim().into(), now.into()])
                    .returning_col("id")
                    .to_owned(),
            )
            .await
            .map_err(duplicate(subsystem.to_string()))?;
        let detail = json!({"name": name.trim()});
        audit(
            &mut tx,
            actor,
            "exchange.subsystem.add",
            "exchange_subsystem",
            &subsystem.to_string(),
            None,
            None,
            &detail,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(row.id)
    }

    /// Adds a service to a subsystem, or changes the one registered under that code.
    /// Returns its id and whether it was new.
    pub async fn put_exchange_service(
        &self,
        provider: &ClientId,
        input: &ServiceInput,
        actor: &Actor,
    ) -> Result<(i64, bool)> {
        input.check()?;
        let service = provider.service(&input.code).map_err(StoreError::Invalid)?;
        let now = Utc::now();
        let mut tx = self.db.begin_write().await?;
        let subsystem_id = Self::subsystem_row_id(&mut tx, provider).await?;
        let existing = match Self::service_row_id(&mut tx, &service).await {
            Ok(id) => Some(id),
            Err(StoreError::NotFound) => None,
            Err(e) => return Err(e),
        };
        let values = [
            ("title", input.title.trim().into()),
            ("base_url", input.base_url.trim().into()),
            ("openapi", input.openapi.clone().into()),
            ("disabled", input.disabled.into()),
            ("timeout_ms", (input.timeout_ms as i64).into()),
            ("updated_at", now.into()),
        ];
        let id = match existing {
            Some(id) => {
                let mut upd = Query::update();
                upd.table("exchange_services").and_where(Expr::col("id").eq(id));
                for (c, v) in values {
                    upd.value(c, v);
                }
                tx.execute(&upd).await?;
                id
            }
            None => {
                let (cols, vals): (Vec<&str>, Vec<sea_query::Value>) = values.into_iter().unzip();
                let row: IdRow = tx
                    .fetch_one(
                        &Query::insert()
                            .into_table("exchange_services")
                            .columns(["subsystem_id", "code"].into_iter().chain(cols))
                            .values_panic(
                                [subsystem_id.into(), input.code.clone().into()]
                                    .into_iter()
                                    .chain(vals.into_iter().map(Into::into)),
                            )
                            .returning_col("id")
                            .to_owned(),
                    )
                    .await?;
                row.id
            }
        };
        let action = if existing.is_some() { "exchange.service.update" } else { "exchange.service.add" };
        let detail = json!({
            "title": input.title.trim(), "base_url": input.base_url.trim(), "disabled": input.disabled,
            "timeout_ms": input.timeout_ms, "openapi_bytes": input.openapi.as_ref().map(|d| d.len()),
        });
        audit(&mut tx, actor, action, "exchange_service", &service.to_string(), None, None, &detail, now).await?;
        tx.commit().await?;
        Ok((id, existing.is_none()))
    }

    /// Grants `client` a right on a service. The client must be registered.
    pub async fn grant_exchange_right(
        &self,
        service: &ServiceId,
        client: &ClientId,
        endpoint: &Endpoint,
        actor: &Actor,
    ) -> Result<i64> {
        let now = Utc::now();
        let mut tx = self.db.begin_write().await?;
        let service_id = Self::service_row_id(&mut tx, service).await?;
        let known = match &client.subsystem {
            Some(_) => Self::subsystem_row_id(&mut tx, client).await,
            None => Self::member_row_id(&mut tx, &client.member).await,
        };
        match known {
            Ok(_) => {}
            Err(StoreError::NotFound) => {
                return Err(StoreError::Invalid(format!("client {client} is not registered in the directory")));
            }
            Err(e) => return Err(e),
        }
        let row: IdRow = tx
            .fetch_one(
                &Query::insert()
                    .into_table("exchange_rights")
                    .columns(["service_id", "client", "method", "path", "granted_at", "granted_by"])
                    .values_panic([
                        service_id.into(),
                        client.to_string().into(),
                        endpoint.method.clone().into(),
                        endpoint.path.clone().into(),
                        now.into(),
                        actor.user_id.into(),
                    ])
                    .returning_col("id")
                    .to_owned(),
            )
            .await
            .map_err(duplicate(format!("{client} {} {} on {service}", endpoint.method, endpoint.path)))?;
        let detail =
            json!({"client": client.to_string(), "method": endpoint.method, "path": endpoint.path, "right_id": row.id});
        audit(
            &mut tx,
            actor,
            "exchange.right.grant",
            "exchange_service",
            &service.to_string(),
            None,
            None,
            &detail,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(row.id)
    }

    /// Withdraws a right; calls that depend on it are refused from then on.
    pub async fn revoke_exchange_right(&self, service: &ServiceId, right_id: i64, actor: &Actor) -> Result<()> {
        let now = Utc::now();
        let mut tx = self.db.begin_write().await?;
        let service_id = Self::service_row_id(&mut tx, service).await?;
        let right: Option<RightRow> = tx
            .fetch_optional(
                &Query::select()
                    .columns(["id", "service_id", "client", "method", "path"])
                    .from("exchange_rights")
                    .and_where(Expr::col("id").eq(right_id))
                    .and_where(Expr::col("service_id").eq(service_id))
                    .to_owned(),
            )
            .await?;
        let right = right.ok_or(StoreError::NotFound)?;
        tx.execute(&Query::delete().from_table("exchange_rights").and_where(Expr::col("id").eq(right_id)).to_owned())
            .await?;
        let detail = json!({"client": right.client, "method": right.method, "path": right.path, "right_id": right.id});
        audit(
            &mut tx,
            actor,
            "exchange.right.revoke",
            "exchange_service",
            &service.to_string(),
            None,
            None,
            &detail,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
