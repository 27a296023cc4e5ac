//! The central directory as every gateway sees it: members, their subsystems, the services
//! each subsystem offers, and the rights granted on each service. A gateway decides from it
//! alone whether a call may pass (see [`Directory::authorise`]).

use crate::error::{ExchangeError, Fault};
use crate::id::{ClientId, MemberId, ServiceId};
use crate::rights::{AccessRight, Endpoint, allowed, covers};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Directory {
    pub members: Vec<Member>,
    /// The gateways (security servers) through which members' subsystems exchange.
    #[serde(default)]
    pub gateways: Vec<Gateway>,
}

/// What the central directory publishes to every gateway, signed (a JWS by the platform's log
/// key): the directory with its gateways, and each service's OpenAPI description.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GlobalConf {
    pub instance: String,
    pub generated_at: chrono::DateTime<chrono::Utc>,
    pub directory: Directory,
    /// OpenAPI descriptions by service identifier (`VN/GOV/BCA/CSDLQGDC/residence`).
    #[serde(default)]
    pub openapi: std::collections::BTreeMap<String, String>,
}

impl GlobalConf {
    /// Publishes `directory`: the descriptions move out of the services into [`GlobalConf::openapi`].
    pub fn new(instance: &str, generated_at: chrono::DateTime<chrono::Utc>, mut directory: Directory) -> GlobalConf {
        let mut openapi = std::collections::BTreeMap::new();
        for m in &mut directory.members {
            for sub in &mut m.subsystems {
                for svc in &mut sub.services {
                    if let Some(doc) = svc.openapi.take() {
                        openapi.insert(format!("{}/{}/{}", m.member, sub.code, svc.code), doc);
                    }
                }
            }
        }
        GlobalConf { instance: instance.to_string(), generated_at, directory, openapi }
    }

    /// The directory with every service's description back in place.
    pub fn into_directory(self) -> Directory {
        let mut d = self.directory;
        for m in &mut d.members {
            let member = m.member.to_string();
            for sub in &mut m.subsystems {
                for svc in &mut sub.services {
                    svc.openapi = self.openapi.get(&format!("{member}/{}/{}", sub.code, svc.code)).cloned();
                }
            }
        }
        d
    }
}

/// A gateway as registered in the directory: who runs it, where it answers, the certificates
/// that identify it, and the subsystems whose messages it carries.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Gateway {
    pub id: i64,
    /// The member that runs it.
    pub owner: MemberId,
    /// Its code, unique for its owner (`GW1`).
    pub code: String,
    /// Where peer gateways reach its server proxy: `https://host:port`.
    pub address: String,
    /// SHA-256 (hex) of its TLS certificate, as it must present in mutual TLS.
    pub tls_sha256: String,
    /// Its message-signing certificate (DER, base64), holding the Ed25519 key.
    pub message_cert: String,
    /// The subsystems it serves, as client and as provider.
    #[serde(serialize_with = "printed_all", deserialize_with = "parsed_all")]
    pub serves: Vec<ClientId>,
    /// Withdrawn from the exchange: peers refuse it.
    #[serde(default)]
    pub retired: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Member {
    pub id: i64,
    #[serde(flatten)]
    pub member: MemberId,
    pub name: String,
    pub agency_id: Option<i64>,
    pub subsystems: Vec<Subsystem>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Subsystem {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub services: Vec<Service>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Service {
    pub id: i64,
    pub code: String,
    pub title: String,
    /// Where the provider's gateway sends the calls (the provider's own system).
    pub base_url: String,
    #[serde(skip)]
    pub openapi: Option<String>,
    #[serde(default)]
    pub has_openapi: bool,
    pub disabled: bool,
    pub timeout_ms: u64,
    pub rights: Vec<Right>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Right {
    pub id: i64,
    #[serde(serialize_with = "printed", deserialize_with = "parsed")]
    pub client: ClientId,
    pub method: String,
    pub path: String,
}

fn printed<S: Serializer>(c: &ClientId, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&c.to_string())
}

fn parsed<'de, D: Deserializer<'de>>(d: D) -> Result<ClientId, D::Error> {
    let text = String::deserialize(d)?;
    ClientId::parse(&text).map_err(serde::de::Error::custom)
}

fn printed_all<S: Serializer>(c: &[ClientId], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(c.iter().map(ToString::to_string))
}

fn parsed_all<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<ClientId>, D::Error> {
    Vec::<String>::deserialize(d)?.iter().map(|t| ClientId::parse(t).map_err(serde::de::Error::custom)).collect()
}

impl Right {
    pub fn endpoint(&self) -> Endpoint {
        Endpoint { method: self.method.clone(), path: self.path.clone() }
    }
}

impl Service {
    pub fn access_rights(&self) -> Vec<AccessRight> {
        self.rights
            .iter()
            .map(|r| AccessRight { client: r.client.clone(), service_code: self.code.clone(), endpoint: r.endpoint() })
            .collect()
    }

    /// Whether `client` may call `method path` of this service.
    pub fn allows(&self, client: &ClientId, method: &str, path: &str) -> bool {
        allowed(&self.access_rights(), client, &self.code, method, path)
    }

    /// Whether `client` holds any right on this service.
    pub fn grants_anything_to(&self, client: &ClientId) -> bool {
        self.rights.iter().any(|r| covers(&r.client, client))
    }
}

impl Directory {
    pub fn member(&self, id: &MemberId) -> Option<&Member> {
        self.members.iter().find(|m| m.member == *id)
    }

    pub fn subsystem(&self, client: &ClientId) -> Option<(&Member, &Subsystem)> {
        let m = self.member(&client.member)?;
        let code = client.subsystem.as_deref()?;
        m.subsystems.iter().find(|s| s.code == code).map(|s| (m, s))
    }

    pub fn service(&self, id: &ServiceId) -> Option<&Service> {
        self.subsystem(&id.provider)?.1.services.iter().find(|s| s.code == id.code)
    }

    /// The service on which the right `right_id` is granted.
    pub fn service_of_right(&self, right_id: i64) -> Option<ServiceId> {
        self.members.iter().find_map(|m| {
            m.subsystems.iter().find_map(|sub| {
                sub.services.iter().find(|svc| svc.rights.iter().any(|r| r.id == right_id)).map(|svc| ServiceId {
                    provider: ClientId { member: m.member.clone(), subsystem: Some(sub.code.clone()) },
                    code: svc.code.clone(),
                })
            })
        })
    }

    /// Whether the client is registered: a member, or a subsystem of one.
    pub fn knows(&self, client: &ClientId) -> bool {
        match &client.subsystem {
            None => self.member(&client.member).is_some(),
            Some(_) => self.subsystem(client).is_some(),
        }
    }

    /// Every registered client of an instance (all instances when `None`): each member and
    /// each of its subsystems, as `listClients` lists them.
    pub fn clients(&self, instance: Option<&str>) -> Vec<(ClientId, &str)> {
        let mut out = Vec::new();
        for m in self.members.iter().filter(|m| instance.is_none_or(|i| m.member.instance == i)) {
            out.push((ClientId { member: m.member.clone(), subsystem: None }, m.name.as_str()));
            for s in &m.subsystems {
                out.push((ClientId { member: m.member.clone(), subsystem: Some(s.code.clone()) }, m.name.as_str()));
            }
        }
        out
    }

    /// The provider's decision on a call, from the directory alone: the service if `client`
    /// may call `method path` of it; otherwise the X-Road error that says why not.
    pub fn authorise(
        &self,
        client: &ClientId,
        service: &ServiceId,
        method: &str,
        path: &str,
    ) -> Result<&Service, ExchangeError> {
        if !self.knows(client) {
            return Err(ExchangeError::server_proxy(
                Fault::UnknownMember,
                format!("client {client} is not registered"),
            ));
        }
        let s = self.service(service).ok_or_else(|| {
            ExchangeError::server_proxy(Fault::UnknownService, format!("service {service} is not registered"))
        })?;
        if s.disabled {
            return Err(ExchangeError::server_proxy(
                Fault::ServiceDisabled,
                format!("service {service} is switched off"),
            ));
        }
        if !s.allows(client, method, path) {
            return Err(ExchangeError::server_proxy(
                Fault::AccessDenied,
                format!("client {client} has no right to {method} {path} of {service}"),
            ));
        }
        Ok(s)
    }

    /// The gateway that carries the messages of a subsystem (none if it has none, or only
    /// retired ones).
    pub fn gateway_of(&self, subsystem: &ClientId) -> Option<&Gateway> {
        self.gateways.iter().find(|g| !g.retired && g.serves.contains(subsystem))
    }

    /// The gateway that presents this TLS certificate (SHA-256, hex), if it is registered and
    /// not retired.
    pub fn gateway_by_tls(&self, sha256_hex: &str) -> Option<&Gateway> {
        self.gateways.iter().find(|g| !g.retired && g.tls_sha256.eq_ignore_ascii_case(sha256_hex))
    }

    /// The services of `provider` on which `client` holds any right (`allowedMethods`).
    pub fn allowed_services(&self, provider: &ClientId, client: &ClientId) -> Vec<&Service> {
        self.subsystem(provider)
            .map(|(_, s)| s.services.iter().filter(|svc| svc.grants_anything_to(client)).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> Directory {
        let bca = MemberId::new("VN", "GOV", "000.00.00.G01").unwrap();
        let portal = MemberId::new("VN", "GOV", "000.00.00.H01").unwrap();
        Directory {
            members: vec![
                Member {
                    id: 1,
                    member: bca.clone(),
                    name: "Bộ Công an".into(),
                    agency_id: None,
                    subsystems: vec![Subsystem {
                        id: 1,
                        code: "CSDLQGDC".into(),
                        name: "Cơ sở dữ liệu quốc gia về dân cư".into(),
                        services: vec![Service {
                            id: 1,
                            code: "residence".into(),
                            title: "Thông tin cư trú".into(),
                            base_url: "http://127.0.0.1:9000".into(),
                            openapi: None,
                            has_openapi: false,
                            disabled: false,
                            timeout_ms: 5000,
                            rights: vec![Right {
                                id: 1,
                                client: portal.subsystem("DVCQG").unwrap(),
                                method: "GET".into(),
                                path: "/persons/*".into(),
                            }],
                        }],
                    }],
                },
                Member {
                    id: 2,
                    member: portal,
                    name: "Văn phòng Chính phủ".into(),
                    agency_id: None,
                    subsystems: vec![Subsystem {
                        id: 2,
                        code: "DVCQG".into(),
                        name: "Cổng Dịch vụ công".into(),
                        services: vec![],
                    }],
                },
            ],
            gateways: vec![],
        }
    }

    #[test]
    fn the_provider_decides_from_the_directory() {
        let d = demo();
        let portal = ClientId::parse("VN/GOV/000.00.00.H01/DVCQG").unwrap();
        let residence = ServiceId::parse("VN/GOV/000.00.00.G01/CSDLQGDC/residence").unwrap();
        assert!(d.authorise(&portal, &residence, "GET", "/persons/001203004567").is_ok());
        let kind = |c: &ClientId, s: &ServiceId, m: &str, p: &str| d.authorise(c, s, m, p).unwrap_err().type_string();
        assert_eq!(kind(&portal, &residence, "DELETE", "/persons/1"), "Server.ServerProxy.AccessDenied");
        let stranger = ClientId::parse("VN/COM/0100112437/CORE").unwrap();
        assert_eq!(kind(&stranger, &residence, "GET", "/persons/1"), "Server.ServerProxy.UnknownMember");
        let nothing = ServiceId::parse("VN/GOV/000.00.00.G01/CSDLQGDC/nothing").unwrap();
        assert_eq!(kind(&portal, &nothing, "GET", "/"), "Server.ServerProxy.UnknownService");
        let mut off = d.clone();
        off.members[0].subsystems[0].services[0].disabled = true;
        assert_eq!(off.authorise(&portal, &residence, "GET", "/persons/1").unwrap_err().fault, Fault::ServiceDisabled);
    }

    #[test]
    fn lists_clients_and_allowed_services() {
        let d = demo();
        assert_eq!(d.clients(Some("VN")).len(), 4);
        assert!(d.clients(Some("LA")).is_empty());
        let provider = ClientId::parse("VN/GOV/000.00.00.G01/CSDLQGDC").unwrap();
        let portal = ClientId::parse("VN/GOV/000.00.00.H01/DVCQG").unwrap();
        assert_eq!(d.allowed_services(&provider, &portal).len(), 1);
        let other = ClientId::parse("VN/GOV/000.00.00.H01").unwrap();
        assert!(d.allowed_services(&provider, &other).is_empty());
        assert_eq!(d.service_of_right(1).unwrap().to_string(), "VN/GOV/000.00.00.G01/CSDLQGDC/residence");
        assert_eq!(d.service_of_right(2), None);
    }

    #[test]
    fn finds_the_gateway_of_a_subsystem_and_of_a_certificate() {
        let mut d = demo();
        let provider = ClientId::parse("VN/GOV/000.00.00.G01/CSDLQGDC").unwrap();
        d.gateways.push(Gateway {
            id: 1,
            owner: provider.member.clone(),
            code: "GW1".into(),
            address: "https://127.0.0.1:8443".into(),
            tls_sha256: "AB".repeat(32),
            message_cert: String::new(),
            serves: vec![provider.clone()],
            retired: false,
        });
        assert_eq!(d.gateway_of(&provider).unwrap().code, "GW1");
        assert_eq!(d.gateway_by_tls(&"ab".repeat(32)).unwrap().code, "GW1");
        assert!(d.gateway_of(&ClientId::parse("VN/GOV/000.00.00.H01/DVCQG").unwrap()).is_none());
        // The directory travels as JSON to every gateway and reads back the same.
        let text = serde_json::to_string(&d).unwrap();
        let back: Directory = serde_json::from_str(&text).unwrap();
        assert_eq!(back.gateways, d.gateways);
        assert_eq!(
            back.members[0].subsystems[0].services[0].rights[0].client,
            d.members[0].subsystems[0].services[0].rights[0].client
        );
        let mut with_doc = d.clone();
        with_doc.members[0].subsystems[0].services[0].openapi = Some("{\"openapi\":\"3.0.3\"}".into());
        let conf = GlobalConf::new("VN", chrono::Utc::now(), with_doc);
        assert_eq!(conf.openapi.keys().collect::<Vec<_>>(), ["VN/GOV/000.00.00.G01/CSDLQGDC/residence"]);
        let text = serde_json::to_string(&conf).unwrap();
        let back: GlobalConf = serde_json::from_str(&text).unwrap();
        assert!(
            back.into_directory()
                .service(&ServiceId::parse("VN/GOV/000.00.00.G01/CSDLQGDC/residence").unwrap())
                .unwrap()
                .openapi
                .is_some()
        );
        d.gateways[0].retired = true;
        assert!(d.gateway_of(&provider).is_none());
        assert!(d.gateway_by_tls(&"ab".repeat(32)).is_none());
    }
}
