//! N-able Cove Data Protection through its JSON-RPC API: end customers are accounts, backup
//! devices are usage items (servers, workstations, virtual machines, with product and used
//! storage).
//!
//! Auth is `Login {partner, username, password}` at `https://api.backup.management/jsonapi`,
//! which answers with a visa: the session token every later call carries and every answer
//! renews. Calls are therefore serial, one at a time over the shared [`VisaRpc`]; an expired
//! visa gets one new login. **Use a dedicated API user** at the top partner level with the
//! least role that still enumerates devices: the same API changes devices and partners. This
//! connector only calls `Login`, `EnumeratePartners` and `EnumerateAccountStatistics`.
//!
//! Reads: `EnumeratePartners` under the login's partner (recursively) for the hierarchy; end
//! customers (`Level` `EndCustomer`) are accounts, and a `Site` under one rolls up to it. Then
//! `EnumerateAccountStatistics` for the devices under the login's partner, `RecordsCount` at a
//! time from `StartRecordNumber` 0 until a short page, asking for the columns in `convert.rs`.
//! A device's account is its partner's end customer, or its partner when none is above it.
//!
//! N-able bills Cove on the month's peak (its "Maximum Value" report), so `map` suggests the
//! `peak` basis. A device whose used storage is not a number makes its customer's counts
//! unknown, never 0.

mod args;
mod convert;
mod settings;
mod wire;

pub use args::Args;
pub use convert::{OTHER, SERVER, VIRTUAL, WORKSTATION};
pub use settings::Settings;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use async_trait::async_trait;
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::connectors::{Connector, ConnectorKind, SyncCx};
use crate::http::{
    ConnectorError, HttpClient, RetryPolicy, StaticHeaders, VisaRpc, check_url, decode_tolerant,
};
use crate::model::{ServiceDef, ServiceFamily, Snapshot, VendorAccount, VendorSnapshot};
use reqwest::header::HeaderMap;

use convert::{COLUMNS, device_item};

/// The JSON-RPC host.
pub const DEFAULT_URL: &str = "https://api.backup.management";
/// The JSON-RPC path under it.
pub const PATH: &str = "jsonapi";
/// Devices per `EnumerateAccountStatistics` page.
pub const PAGE_SIZE: usize = 1000;
/// Every method this connector calls: reads only.
pub const METHODS: &[&str] = &["Login", "EnumeratePartners", "EnumerateAccountStatistics"];

fn classes(c: &[&str]) -> Option<Vec<String>> {
    Some(c.iter().map(|s| s.to_string()).collect())
}

/// Built-in services: devices by kind, all devices, and used storage in GB.
pub fn services() -> Vec<ServiceDef> {
    let def = |key: &str, name: &str, c: &[&str]| ServiceDef {
        key: key.into(),
        name: name.into(),
        classes: classes(c),
        ..ServiceDef::default()
    };
    vec![
        def("servers", "Cove protected servers", &[SERVER]),
        def(
            "workstations",
            "Cove protected workstations",
            &[WORKSTATION],
        ),
        def("virtual", "Cove protected virtual machines", &[VIRTUAL]),
        def(
            "devices",
            "Cove devices (all kinds)",
            &[SERVER, WORKSTATION, VIRTUAL, OTHER],
        ),
        ServiceDef {
            key: "storage-gb".into(),
            name: "Cove used storage (GB)".into(),
            quantity: Some("used_gb".into()),
            ..ServiceDef::default()
        },
    ]
}

/// One service per Cove product (`I10`: `Server`, `Workstation`, `Documents`, ...).
pub fn families() -> Vec<ServiceFamily> {
    vec![ServiceFamily {
        attr: "product",
        name_attr: None,
        key_suffix: ":product",
        name_suffix: " (Cove product)",
        quantity: None,
        classes: None,
    }]
}

pub struct Cove {
    name: String,
    rpc: VisaRpc,
}

impl std::fmt::Debug for Cove {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cove")
            .field("name", &self.name)
            .field("rpc", &self.rpc)
            .finish()
    }
}

impl Cove {
    /// `secret` is asked for `password`.
    pub fn new(
        name: &str,
        settings: &Settings,
        secret: &dyn Fn(&str) -> anyhow::Result<SecretString>,
        retry: RetryPolicy,
    ) -> anyhow::Result<Cove> {
        let base = check_url(name, settings.url().trim_end_matches('/'))?;
        let hint = format!(
            "Cove refused the login: check the partner name (exactly as shown in the Management Console, case included), the API user's name and password, and that the user is not locked; then run `reconcile connect cove --name {name} --partner '{}' --username {}` again",
            settings.partner, settings.username
        );
        let forbidden = format!(
            "Cove refused the request: the API user's role may not list partners or devices. Give it a role that can at the top partner level, then run `reconcile connect cove --name {name}` again"
        );
        // No header carries the credentials (the visa goes in the body); the hints are what a
        // 401 or 403 from the host says.
        let auth = StaticHeaders::from_headers(HeaderMap::new(), hint.clone(), forbidden);
        let client = HttpClient::new(name, base, Arc::new(auth), retry);
        let rpc = VisaRpc::new(
            client,
            PATH,
            (&settings.partner, &settings.username, secret("password")?),
            hint,
        );
        Ok(Cove {
            name: name.to_string(),
            rpc,
        })
    }

    /// The login's partner id.
    async fn root(&self) -> Result<i64, ConnectorError> {
        self.rpc
            .partner_id()
            .await?
            .ok_or_else(|| ConnectorError::Invalid {
                connection: self.name.clone(),
                message:
                    "Cove's Login answer names no PartnerId; the partner's devices cannot be listed"
                        .into(),
            })
    }

    /// Every partner under `root`.
    async fn partners(
        &self,
        root: i64,
    ) -> Result<(Vec<wire::Partner>, Vec<String>), ConnectorError> {
        let result = self
            .rpc
            .call(
                "EnumeratePartners",
                json!({"parentPartnerId": root, "fetchRecursively": true, "fields": [0, 1, 3, 4, 5, 8]}),
            )
            .await?;
        let rows = list(result);
        let t = decode_tolerant::<wire::Partner>("result", 0, rows);
        let set_aside = t
            .set_aside
            .iter()
            .map(|s| format!("EnumeratePartners {s}"))
            .collect();
        Ok((t.records.into_iter().map(|r| r.value).collect(), set_aside))
    }
}

/// A result's rows: `result.result` (Cove nests them), else `result` itself.
fn list(mut result: Value) -> Vec<Value> {
    let inner = match result.get_mut("result") {
        Some(r) => r.take(),
        None => result,
    };
    match inner {
        Value::Array(a) => a,
        _ => Vec::new(),
    }
}

/// Each partner's account: itself when an end customer; the end customer above it (a site);
/// itself when none is above (devices kept at a reseller).
fn accounts_of(partners: &[wire::Partner]) -> BTreeMap<String, (String, String)> {
    let by_id: BTreeMap<&str, &wire::Partner> =
        partners.iter().map(|p| (p.id.as_str(), p)).collect();
    let name = |p: &wire::Partner| {
        p.name
            .clone()
            .unwrap_or_else(|| format!("partner {}", p.id))
    };
    let mut out = BTreeMap::new();
    for p in partners {
        let mut at = p;
        let mut seen = BTreeSet::new();
        let owner = loop {
            if at.level.as_deref() == Some("EndCustomer") {
                break at;
            }
            match at.parent_id.as_deref().and_then(|id| by_id.get(id)) {
                Some(parent) if seen.insert(at.id.clone()) => at = parent,
                _ => break p,
            }
        };
        out.insert(p.id.clone(), (owner.id.clone(), name(owner)));
    }
    out
}

#[async_trait]
impl Connector for Cove {
    fn kind(&self) -> ConnectorKind {
        ConnectorKind::Cove
    }

    async fn check(&self) -> Result<String, ConnectorError> {
        let root = self.root().await?;
        let (partners, _) = self.partners(root).await?;
        let customers = partners
            .iter()
            .filter(|p| p.level.as_deref() == Some("EndCustomer"))
            .count();
        Ok(format!(
            "signed in to {} as partner {root}; {customers} end customer(s) readable (calls are serial: Cove chains each one's visa)",
            self.rpc.client().base().origin().ascii_serialization()
        ))
    }

    async fn sync(&self, cx: &SyncCx) -> Result<Snapshot, ConnectorError> {
        let root = self.root().await?;
        let (partners, mut set_aside) = self.partners(root).await?;
        let owners = accounts_of(&partners);
        cx.report("partners", partners.len());
        let mut accounts: BTreeMap<String, VendorAccount> = BTreeMap::new();
        for (id, name) in owners.values() {
            if partners
                .iter()
                .any(|p| &p.id == id && p.level.as_deref() == Some("EndCustomer"))
            {
                accounts.entry(id.clone()).or_insert_with(|| VendorAccount {
                    id: id.clone(),
                    name: name.clone(),
                    raw: None,
                });
            }
        }
        let mut items = Vec::new();
        let mut unknown: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut start = 0;
        loop {
            let result = self
                .rpc
                .call(
                    "EnumerateAccountStatistics",
                    json!({"query": {"PartnerId": root, "StartRecordNumber": start,
                        "RecordsCount": PAGE_SIZE, "Columns": COLUMNS, "Filter": ""}}),
                )
                .await?;
            let rows = list(result);
            let n = rows.len();
            let t = decode_tolerant::<wire::Device>("result", start, rows);
            set_aside.extend(
                t.set_aside
                    .into_iter()
                    .map(|s| format!("EnumerateAccountStatistics {s}")),
            );
            for r in t.records {
                let partner = r.value.partner_id.clone().unwrap_or_default();
                let (account, name) = owners
                    .get(&partner)
                    .cloned()
                    .unwrap_or_else(|| (partner.clone(), format!("partner {partner}")));
                accounts
                    .entry(account.clone())
                    .or_insert_with(|| VendorAccount {
                        id: account.clone(),
                        name,
                        raw: None,
                    });
                let (item, why) = device_item(r.value, r.raw, &account);
                if let Some(why) = why {
                    unknown.entry(account).or_default().push(why);
                }
                items.push(item);
            }
            cx.report("devices", items.len());
            start += n;
            if n < PAGE_SIZE || n == 0 {
                break;
            }
        }
        let unreadable = unknown
            .into_iter()
            .map(|(id, why)| (id, format!("its counts are unknown: {}", why.join("; "))))
            .collect();
        tracing::debug!(connection = %self.name, devices = items.len(), "read Cove");
        Ok(Snapshot::Vendor(VendorSnapshot {
            accounts: accounts.into_values().collect(),
            items,
            unreadable,
            set_aside,
        }))
    }
}
