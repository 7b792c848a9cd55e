//! N-able N-sight RMM (ex-SolarWinds RMM) Data Extraction API: clients are accounts, their
//! workstations and servers usage items with the per-device feature flags N-able bills
//! (patch, Managed Antivirus, backup, web protection, ...). Read only.
//!
//! The API is `GET {dashboard server}/api/?apikey=<key>&service=<service>&...`, answering XML
//! (`<result status="OK"><items>...</items></result>`, or `status="FAIL"` with an
//! `<error><errorcode>` and `<message>`; error 3 is a refused key or the wrong region's server).
//! The key is a dashboard user's, sent as the `apikey` query parameter
//! ([`crate::http::QueryKey`]: never in a message or log). One server per region; the key works
//! only on its own.
//!
//! Reads: `list_clients` (each client an account; its `mobile_device_count` one item), then per
//! client `list_devices_at_client` with `devicetype=workstation` and `devicetype=server` (the
//! client's sites with their devices and flags). The lists are not paged. A single record is
//! not wrapped in a list by the XML, so lists are taken as lists either way
//! ([`crate::http::list_at`]).
//!
//! N-able bills N-sight on the month's device high watermark: `map` suggests the `peak` basis.
//!
//! Limits: none published; calls are made one at a time.

mod args;
mod convert;
mod settings;
mod wire;

pub use args::Args;
pub use settings::Settings;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use secrecy::SecretString;
use serde_json::Value;

use crate::connectors::{Connector, ConnectorKind, SyncCx};
use crate::http::{
    ConnectorError, HttpClient, QueryKey, Request, RetryPolicy, check_url, decode_tolerant,
    list_at, parse_xml,
};
use crate::model::{ServiceDef, ServiceFilters, Snapshot, VendorSnapshot};

/// A client's mobile device count (its `quantity` attribute).
pub const MOBILE_COUNT: &str = "MOBILE_COUNT";
/// The per-device feature flags and the services that count them.
pub const FEATURES: &[(&str, &str)] = &[
    ("patch", "Patch Management"),
    ("mav", "Managed Antivirus"),
    ("mob", "Managed Online Backup"),
    ("webprotection", "Web Protection"),
    ("takecontrol", "Take Control"),
    ("riskintelligence", "Risk Intelligence"),
    ("mavbreck", "Managed Antivirus (mavbreck flag)"),
];
const DEVICES: &[&str] = &["WORKSTATION", "SERVER"];
const PATH: &str = "api/";

/// Devices by type, in NinjaOne's shape, the mobile device count, and one service per feature
/// flag counting the workstations and servers that have it.
pub fn services() -> Vec<ServiceDef> {
    let def = ServiceDef::of_classes;
    let mut out = vec![
        def("total-devices", "Total Devices", DEVICES),
        def("total-servers", "Total Servers", &["SERVER"]),
        def("total-workstations", "Total Workstations", &["WORKSTATION"]),
        ServiceDef {
            quantity: Some("quantity".into()),
            ..def(
                "total-mobile-devices",
                "Total Mobile Devices",
                &[MOBILE_COUNT],
            )
        },
    ];
    for (flag, name) in FEATURES {
        out.push(ServiceDef {
            filters: ServiceFilters {
                attrs: BTreeMap::from([(flag.to_string(), "true".to_string())]),
                ..ServiceFilters::default()
            },
            ..def(flag, name, DEVICES)
        });
    }
    out
}

pub struct Nsight {
    name: String,
    client: HttpClient,
    /// What to do when the key is refused: with an HTTP status, or (as N-sight answers) with
    /// error 3 in an HTTP 200.
    refused: String,
}

impl Nsight {
    pub fn new(
        name: &str,
        settings: &Settings,
        key: SecretString,
        retry: RetryPolicy,
    ) -> anyhow::Result<Nsight> {
        let base = check_url(name, &format!("{}/", settings.server()))?;
        let hint = format!(
            "N-sight refused the API key: check it was copied whole from the dashboard (Settings > General Settings > API), that its user is enabled, and that {} is your dashboard's server (a key works only on its region's server), then run `reconcile connect nsight --name {name} --url ...` again",
            settings.server()
        );
        let auth = QueryKey::new("apikey", key, hint.clone());
        Ok(Nsight {
            name: name.to_string(),
            client: HttpClient::new(name, base, Arc::new(auth), retry),
            refused: hint,
        })
    }

    /// One call of `service` with `params`: the `<items>` of its `<result>`, or its error.
    async fn call(&self, service: &str, params: &[(&str, &str)]) -> Result<Value, ConnectorError> {
        let mut req = Request::get(PATH).query("service", service);
        for (k, v) in params {
            req = req.query(k, v);
        }
        let resp = self.client.send(&req).await?;
        let mut doc = parse_xml(&self.name, &resp.endpoint, &resp.body)?;
        let endpoint = format!("{} ({service})", resp.endpoint);
        let result = doc
            .get_mut("result")
            .map(Value::take)
            .unwrap_or(Value::Null);
        let status = result.get("@status").and_then(Value::as_str).unwrap_or("");
        if status.eq_ignore_ascii_case("OK") {
            return match result.get("items") {
                Some(Value::Object(o)) => Ok(Value::Object(o.clone())),
                None | Some(Value::Null) => Ok(Value::Null),
                Some(Value::String(s)) if s.is_empty() => Ok(Value::Null),
                Some(other) => Err(ConnectorError::Decode {
                    connection: self.name.clone(),
                    endpoint: resp.endpoint,
                    path: "result.items".into(),
                    detail: format!("expected elements, got {}", crate::http::kind_of(other)),
                }),
            };
        }
        let code = result
            .pointer("/error/errorcode")
            .and_then(Value::as_str)
            .unwrap_or("?");
        let message = result
            .pointer("/error/message")
            .and_then(Value::as_str)
            .unwrap_or("no message");
        if code == "3" {
            return Err(ConnectorError::Auth {
                connection: self.name.clone(),
                endpoint,
                status: resp.status,
                detail: format!(": N-sight error 3, {message}"),
                hint: self.refused.clone(),
            });
        }
        Err(ConnectorError::Invalid {
            connection: self.name.clone(),
            message: format!(
                "{endpoint} answered N-sight error {code} ({message}); check the connection's URL and the key's dashboard user, and run the command again later if it names a temporary fault"
            ),
        })
    }

    async fn clients(&self) -> Result<crate::http::Tolerant<wire::Client>, ConnectorError> {
        let items = self.call("list_clients", &[]).await?;
        Ok(decode_tolerant("client", 0, list_at(&items, "/client")))
    }
}

#[async_trait]
impl Connector for Nsight {
    fn kind(&self) -> ConnectorKind {
        ConnectorKind::Nsight
    }

    async fn check(&self) -> Result<String, ConnectorError> {
        let clients = self.clients().await?;
        if let Some(c) = clients.records.first() {
            let id = c.value.clientid.as_str();
            self.call(
                "list_devices_at_client",
                &[("clientid", id), ("devicetype", "server")],
            )
            .await?;
        }
        Ok(format!(
            "signed in to {} ({} clients); clients and their devices are readable",
            self.client.base().origin().ascii_serialization(),
            clients.records.len()
        ))
    }

    async fn sync(&self, cx: &SyncCx) -> Result<Snapshot, ConnectorError> {
        let clients = self.clients().await?;
        let at = |service: &str| format!("GET /{PATH} ({service})");
        let mut set_aside: Vec<String> = (clients.set_aside.iter())
            .map(|s| format!("{} {s}", at("list_clients")))
            .collect();
        let mut accounts = Vec::new();
        let mut kept = Vec::new();
        let mut unreadable = BTreeMap::new();
        let mut read = 0;
        for c in clients.records {
            let c_odd = c.odd.iter().any(|o| o == "mobile_device_count");
            let (account, mobile) = convert::client(c.value, c.raw);
            let id = account.id.clone();
            accounts.push(account);
            let mut items: Vec<_> = mobile.into_iter().collect();
            // A count the client's mobile service depends on is never guessed.
            let mut why =
                c_odd.then(|| format!("client {id} has no readable `mobile_device_count`"));
            for (devicetype, element, class) in [
                ("workstation", "workstation", "WORKSTATION"),
                ("server", "server", "SERVER"),
            ] {
                let tree = self
                    .call(
                        "list_devices_at_client",
                        &[("clientid", &id), ("devicetype", devicetype)],
                    )
                    .await?;
                for site in list_at(&tree, "/client")
                    .iter()
                    .flat_map(|c| list_at(c, "/site"))
                {
                    let site_name = site.get("name").and_then(Value::as_str);
                    let devices = decode_tolerant::<wire::Device>(
                        element,
                        0,
                        list_at(&site, &format!("/{element}")),
                    );
                    let place = format!("{} client {id}", at("list_devices_at_client"));
                    set_aside.extend(devices.set_aside.iter().map(|s| format!("{place} {s}")));
                    for r in devices.records {
                        match convert::device(r.value, r.raw, &r.odd, &id, class, site_name) {
                            Ok(item) => items.push(item),
                            Err(w) => why = why.or(Some(w)),
                        }
                    }
                }
            }
            if let Some(w) = why {
                unreadable.insert(id, w);
                continue;
            }
            read += items.len();
            cx.report("devices", read);
            cx.emit(&self.name, items, &mut kept).await?;
        }
        Ok(Snapshot::Vendor(VendorSnapshot {
            accounts,
            items: kept,
            unreadable,
            set_aside,
        }))
    }
}
