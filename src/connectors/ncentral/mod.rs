//! N-able N-central REST API (the API-Service of an N-central server): customers are accounts,
//! devices are usage items. Read only.
//!
//! Auth: an API-only user's User-API Token (a long-lived JWT generated in N-central) is
//! exchanged at `POST /api/auth/authenticate` (`Authorization: Bearer <token>`, no body) for an
//! access token of about an hour, sent as `Authorization: Bearer` on every request
//! ([`TokenExchange`]: renewed before it expires and once after a 401; a 403 is never retried).
//!
//! One host per N-central server (`https://ncentral.example.com`, self-hosted or hosted by
//! N-able), the API under `/api`. Lists page with `pageNumber` (from 1) and `pageSize` (1 to
//! 1000): customers and device filters answer `{data, totalItems}`, devices also `totalPages`
//! and `_links`. Pages are numbered and read until the stated total, which needs no guess
//! about the form of `_links.nextPage`.
//!
//! Limits: N-central limits the requests in flight per endpoint and answers 429 past them
//! (no published per-minute figure). So one request at a time by default, and 429 is retried
//! with backoff by `crate::http`.
//!
//! Accounts: `GET /api/customers`. A device carries its customer's id even under a site, so
//! sites roll up to their customer. A device whose customer is not in the list (the API user
//! sees the device but not the customer) gets an account named as the device names it.
//!
//! Classes: `deviceClass` is text (`Servers - Windows`, `Laptops - Windows`); the part before
//! ` - ` becomes `WORKSTATION`, `LAPTOP`, `SERVER`, `ESXI_HOST`, `PRINTER`, `NETWORK_DEVICE` or
//! `MOBILE`, anything else `OTHER` with `unknown_class` (still in Total Devices and its own
//! device-class service). Probes (`isProbe`) are `PROBE`, counted by no built-in service.
//!
//! Device filters: N-central's own PSA billing maps a device filter to a product, so the
//! connection's `device_filters` (names or ids) are read too: each filter's devices
//! (`GET /api/devices?filterId=`) become one more item each, of the class `FILTER_MEMBER`,
//! counted only by that filter's service (`<filter>:device-filter`).

mod args;
mod convert;
mod settings;
mod wire;

pub use args::Args;
pub use convert::class_of;
pub use settings::Settings;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use secrecy::SecretString;

use crate::connectors::{Connector, ConnectorKind, SyncCx};
use crate::http::{
    ConnectorError, End, HttpClient, Paging, Param, Request, RetryPolicy, TokenExchange, check_url,
};
use crate::model::{ServiceDef, ServiceFamily, Snapshot, VendorAccount, VendorSnapshot};

/// The class of a probe: counted by no built-in service.
pub const PROBE: &str = "PROBE";
/// The class of a device whose class this build does not know.
pub const OTHER: &str = "OTHER";
/// The class of a device's membership of a configured device filter.
pub const FILTER_MEMBER: &str = "FILTER_MEMBER";
/// The largest page the API serves.
pub const MAX_PAGE: usize = 1000;

const SERVER_INFO: &str = "server-info";
const CUSTOMERS: &str = "customers";
const DEVICES: &str = "devices";
const FILTERS: &str = "device-filters";

const WORKSTATIONS: &[&str] = &["WORKSTATION", "LAPTOP"];
const SERVERS: &[&str] = &["SERVER", "ESXI_HOST"];
const NETWORK: &[&str] = &["NETWORK_DEVICE", "PRINTER"];
/// Every class of a device that is not a probe (and not a filter membership).
const LIVE: &[&str] = &[
    "WORKSTATION",
    "LAPTOP",
    "SERVER",
    "ESXI_HOST",
    "PRINTER",
    "NETWORK_DEVICE",
    "MOBILE",
    OTHER,
];

/// The N-central services: devices by class, in the shape of NinjaOne's (the same keys where
/// the meaning is the same).
pub fn services() -> Vec<ServiceDef> {
    let def = ServiceDef::of_classes;
    vec![
        def("total-devices", "Total Devices", LIVE),
        def("total-servers", "Total Servers", SERVERS),
        def("total-workstations", "Total Workstations", WORKSTATIONS),
        def(
            "total-workstations-and-servers",
            "Total Workstations and Servers",
            &["WORKSTATION", "LAPTOP", "SERVER", "ESXI_HOST"],
        ),
        def("total-network-devices", "Total Network Devices", NETWORK),
        def("total-mobile-devices", "Total Mobile Devices", &["MOBILE"]),
        def("total-other-devices", "Total Other Devices", &[OTHER]),
    ]
}

/// One service per licence mode (`professional:license-mode`), per device class as N-central
/// names it (`servers-windows:device-class`), and per configured device filter
/// (`managed-servers:device-filter`); probes count in none.
pub fn families() -> Vec<ServiceFamily> {
    let family = |attr, key_suffix, name_suffix, classes| ServiceFamily {
        attr,
        name_attr: None,
        key_suffix,
        name_suffix,
        quantity: None,
        classes: Some(classes),
    };
    vec![
        family("license_mode", ":license-mode", " (licence mode)", LIVE),
        family("device_class", ":device-class", " (device class)", LIVE),
        family(
            "device_filter",
            ":device-filter",
            " (device filter)",
            &[FILTER_MEMBER],
        ),
    ]
}

pub struct Ncentral {
    name: String,
    client: HttpClient,
    page_size: usize,
    device_filters: Vec<String>,
}

impl Ncentral {
    pub fn new(
        name: &str,
        settings: &Settings,
        token: SecretString,
        retry: RetryPolicy,
    ) -> anyhow::Result<Ncentral> {
        let host = check_url(name, settings.host())?;
        let base = host.join("api/").expect("a fixed path joins");
        let again = format!(
            "reconcile connect ncentral --name {name} --url {}",
            settings.host()
        );
        let hint = format!(
            "N-central refused the User-API Token: generate it again for the API user (Administration > User Management > Users > the user > API Access > Generate JSON Web Token), check the user is enabled, has MFA off and is not locked, then run `{again}`"
        );
        let forbidden = format!(
            "The API user's role or access groups do not allow this read: give it a role with read access to customers and devices (Administration > User Management > Roles), then run `reconcile sync {name}`"
        );
        let auth_url = base.join("auth/authenticate").expect("a fixed path joins");
        let auth = TokenExchange::new(name, auth_url, token, retry.clone(), hint, forbidden);
        Ok(Ncentral {
            name: name.to_string(),
            client: HttpClient::new(name, base, Arc::new(auth), retry),
            page_size: settings.page_size.unwrap_or(MAX_PAGE),
            device_filters: settings.device_filters.clone(),
        })
    }

    /// Numbered pages of `pageSize` records until the stated total (`totalItems`).
    fn paging(&self) -> Paging {
        Paging::Numbered {
            page: "pageNumber",
            first: 1,
            size: Some(Param::new("pageSize", self.page_size)),
            end: End::TotalRecords("/totalItems"),
        }
    }

    /// The configured device filters resolved by name or id: (id, name), in the order given.
    async fn filters(&self, cx: &SyncCx) -> Result<Vec<(String, String)>, ConnectorError> {
        if self.device_filters.is_empty() {
            return Ok(Vec::new());
        }
        let req = Request::get(FILTERS).query("viewScope", "ALL");
        let all = self
            .client
            .pages::<wire::Filter>(req, self.paging(), "/data")
            .all_tolerant(&|n| cx.report("device filters", n))
            .await
            .map_err(|e| name_the_read(e, FILTERS))?;
        let known: Vec<(String, String)> = (all.records.into_iter())
            .map(|f| {
                let name = f
                    .value
                    .filter_name
                    .unwrap_or_else(|| f.value.filter_id.clone());
                (f.value.filter_id, name)
            })
            .collect();
        let mut out = Vec::new();
        for wanted in &self.device_filters {
            let w = wanted.trim();
            let found = known
                .iter()
                .find(|(id, _)| id == w)
                .or_else(|| known.iter().find(|(_, n)| n.eq_ignore_ascii_case(w)));
            match found {
                Some(f) => out.push(f.clone()),
                None => {
                    let names: Vec<&str> = known.iter().map(|(_, n)| n.as_str()).collect();
                    return Err(ConnectorError::Invalid {
                        connection: self.name.clone(),
                        message: format!(
                            "[connections.{}] device_filters names `{w}`, which is no device filter the API user can see (GET /api/{FILTERS} lists: {}); fix the name or id, or share the filter with the API user",
                            self.name,
                            if names.is_empty() {
                                "none".to_string()
                            } else {
                                names.join(", ")
                            }
                        ),
                    });
                }
            }
        }
        Ok(out)
    }

    /// The ids of the devices in a filter.
    async fn members(&self, filter_id: &str) -> Result<Vec<String>, ConnectorError> {
        let req = Request::get(DEVICES).query("filterId", filter_id);
        let read = self
            .client
            .pages::<wire::Member>(req, self.paging(), "/data")
            .all_tolerant(&|_| {})
            .await
            .map_err(|e| name_the_read(e, DEVICES))?;
        Ok(read
            .records
            .into_iter()
            .map(|r| r.value.device_id)
            .collect())
    }
}

/// A 403 says which read was refused and what the API user needs.
fn name_the_read(e: ConnectorError, path: &str) -> ConnectorError {
    let what = match path {
        CUSTOMERS => "customers",
        DEVICES => "devices",
        FILTERS => "device filters",
        _ => "the server's information",
    };
    e.name_permission(|_| {
        format!(
            "The API user may not read {what}: give it a role with read access to customers and devices (Administration > User Management > Roles) and access groups that cover every customer to reconcile, then sync again"
        )
    })
}

#[async_trait]
impl Connector for Ncentral {
    fn kind(&self) -> ConnectorKind {
        ConnectorKind::Ncentral
    }

    async fn check(&self) -> Result<String, ConnectorError> {
        let info: wire::ServerInfo = self
            .client
            .get_one(SERVER_INFO, &[])
            .await
            .map_err(|e| name_the_read(e, SERVER_INFO))?;
        // Sync reads customers and devices: prove both readable with one record each.
        for (path, what) in [(CUSTOMERS, "customers"), (DEVICES, "devices")] {
            let req = Request::get(path)
                .query("pageNumber", 1)
                .query("pageSize", 1);
            self.client
                .pages::<serde_json::Value>(req, Paging::Single, "/data")
                .next()
                .await
                .map_err(|e| name_the_read(e, path))
                .map(|_| tracing::debug!(connection = %self.name, "{what} readable"))?;
        }
        // And the device filters it counts, which must exist by those names.
        let filters = self.filters(&SyncCx::silent()).await?;
        let filters = match filters.len() {
            0 => String::new(),
            _ => format!(
                "; device filters found: {}",
                filters
                    .iter()
                    .map(|(id, n)| format!("{n} ({id})"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let version = info
            .ncentral
            .or(info.version)
            .map(|v| format!(", version {v}"))
            .unwrap_or_default();
        Ok(format!(
            "signed in to {} (N-central{version}); customers and devices are readable{filters}",
            self.client.base().origin().ascii_serialization()
        ))
    }

    async fn sync(&self, cx: &SyncCx) -> Result<Snapshot, ConnectorError> {
        let customers = self
            .client
            .pages::<wire::Customer>(Request::get(CUSTOMERS), self.paging(), "/data")
            .all_tolerant(&|n| cx.report("customers", n))
            .await
            .map_err(|e| name_the_read(e, CUSTOMERS))?;
        let mut set_aside: Vec<String> = (customers.set_aside.iter())
            .map(|s| format!("GET /api/{CUSTOMERS} {s}"))
            .collect();
        let mut accounts: Vec<VendorAccount> = (customers.records.into_iter())
            .map(|c| convert::customer(c.value, c.raw))
            .collect();
        let mut known: HashSet<String> = accounts.iter().map(|a| a.id.clone()).collect();

        let filters = self.filters(cx).await?;
        let mut members = Vec::new();
        for (id, name) in &filters {
            members.push((name.as_str(), self.members(id).await?));
        }
        let in_filters = convert::membership_index(members);

        let mut pages = self
            .client
            .pages::<wire::Device>(Request::get(DEVICES), self.paging(), "/data")
            .tolerant();
        let endpoint = format!("GET /api/{DEVICES}");
        let mut kept = Vec::new();
        let mut unreadable = BTreeMap::new();
        let mut read = 0;
        while let Some(page) = pages.next().await.map_err(|e| name_the_read(e, DEVICES))? {
            set_aside.extend(page.set_aside.iter().map(|s| format!("{endpoint} {s}")));
            read += page.items.len();
            cx.report("devices", read);
            let mut items = Vec::new();
            for ((d, raw), odd) in page.items.into_iter().zip(page.odd) {
                let customer_name = d.customer_name.clone();
                let filters = in_filters
                    .get(&d.device_id)
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                match convert::device(d, raw, &odd, filters) {
                    Ok(item) => {
                        if known.insert(item.account_id.clone()) {
                            accounts.push(VendorAccount {
                                name: customer_name.unwrap_or_else(|| item.account_id.clone()),
                                id: item.account_id.clone(),
                                raw: None,
                            });
                        }
                        if item.class != PROBE {
                            items.extend(convert::memberships(&item, filters));
                        }
                        items.push(item);
                    }
                    Err(convert::NotCounted::NoCustomer(why)) => {
                        set_aside.push(format!("{endpoint} {why}"))
                    }
                    Err(convert::NotCounted::Unreadable { customer, why }) => {
                        unreadable.entry(customer).or_insert(why);
                    }
                }
            }
            cx.emit(&self.name, items, &mut kept).await?;
        }
        tracing::debug!(connection = %self.name, customers = accounts.len(), devices = read, filters = filters.len(), "read N-central");
        Ok(Snapshot::Vendor(VendorSnapshot {
            accounts,
            items: kept,
            unreadable,
            set_aside,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_count_no_probe_and_filters_only_their_members() {
        for def in services() {
            for c in def.classes.iter().flatten() {
                assert!(LIVE.contains(&c.as_str()), "{c}");
            }
        }
        let fams = families();
        assert!(fams.iter().all(|f| !f.classes.unwrap().contains(&PROBE)));
        let filter = fams.iter().find(|f| f.attr == "device_filter").unwrap();
        assert_eq!(filter.classes.unwrap(), &[FILTER_MEMBER]);
        assert!(!LIVE.contains(&FILTER_MEMBER));
        let svc = fams[0]
            .service_for_key("professional:license-mode")
            .unwrap();
        assert_eq!(svc.name, "professional (licence mode)");
    }
}
