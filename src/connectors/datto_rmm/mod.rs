//! Datto RMM API v2: sites are accounts, devices are usage items. Read only.
//!
//! Auth is the OAuth2 password grant at `{host}/auth/oauth/token` (outside `/api`): the API key
//! as the user name and the API secret as the password, Datto's public client
//! `public-client:public` as HTTP Basic. A token lives about 100 hours; one is cached per
//! connection. Datto RMM has no read-only key: a key acts as its user with read and write access
//! to the whole account, so this connector sends only the three GETs below.
//!
//! The REST API is at `{host}/api/v2`, one host per platform
//! (`https://{pinotage|merlot|concord|vidal|zinfandel|syrah}-api.centrastage.net`). Lists page
//! with `page`/`max` and link the next page in `pageDetails.nextPageUrl`, followed until it is
//! null or empty; without `max` a page is the API's default size, which is also its maximum.
//! Devices are read from the account-wide list (`GET /v2/account/devices`, each device naming
//! its `siteUid`) rather than site by site: a few pages instead of at least one request a site,
//! on an API that blocks callers who ask too much.
//!
//! Limits: 600 reads a minute per account (sliding window); past it Datto answers 429 with
//! `Retry-After`, and a caller that keeps going gets its IP address blocked with 403. So every
//! request goes through one [`RateLimit`] (600 a minute, one in flight by default), `Retry-After`
//! is honoured by `crate::http`, and a 403 is never retried, not even with a fresh token
//! ([`OAuth2::no_retry_on_forbidden`]): its message says it may be that block.
//!
//! Classes: a device's `deviceType.category` (`Desktop`, `Laptop`, `Server`, `ESXi Host`,
//! `Printer`, `Network Device`, case and spacing ignored; `deviceClass` where the category says
//! nothing known) becomes `DESKTOP`, `LAPTOP`, `SERVER`, `ESXI_HOST`, `PRINTER`,
//! `NETWORK_DEVICE` or `MOBILE`; any other becomes `OTHER` with `unknown_class`, and still counts
//! in Total Devices and in its own device-type service. Deleted devices are `DELETED`, suspended
//! ones `SUSPENDED`: no built-in service counts them. Datto RMM has no approval step, so no
//! device is ever pending.

mod args;
mod convert;
mod settings;
mod wire;

pub use args::Args;
pub use convert::class_of;
pub use settings::{Platform, Settings};

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::connectors::{Connector, ConnectorKind, SyncCx};
use crate::http::{
    ConnectorError, HttpClient, OAuth2, Paging, RateLimit, Request, RetryPolicy, check_url,
};
use crate::model::{ServiceDef, ServiceFamily, Snapshot, VendorSnapshot};

/// Datto RMM's read limit: 600 requests a minute per account.
pub const MAX_REQUESTS_PER_MINUTE: usize = 600;

/// The class of a deleted device: counted by no built-in service.
pub const DELETED: &str = "DELETED";
/// The class of a suspended device: counted by no built-in service.
pub const SUSPENDED: &str = "SUSPENDED";
/// The class of a device whose type this build does not know.
pub const OTHER: &str = "OTHER";

const SITES: &str = "v2/account/sites";
const DEVICES: &str = "v2/account/devices";
const ACCOUNT: &str = "v2/account";

const WORKSTATIONS: &[&str] = &["DESKTOP", "LAPTOP"];
const SERVERS: &[&str] = &["SERVER", "ESXI_HOST"];
const WORKSTATIONS_AND_SERVERS: &[&str] = &["DESKTOP", "LAPTOP", "SERVER", "ESXI_HOST"];
const NETWORK: &[&str] = &["NETWORK_DEVICE", "PRINTER"];
const MOBILE: &[&str] = &["MOBILE"];
/// Every class of a device that is neither deleted nor suspended.
const LIVE: &[&str] = &[
    "DESKTOP",
    "LAPTOP",
    "SERVER",
    "ESXI_HOST",
    "PRINTER",
    "NETWORK_DEVICE",
    "MOBILE",
    OTHER,
];

/// The Datto RMM services: devices by class, in the shape of NinjaOne's (the same keys where
/// the meaning is the same), plus ESXi hosts and other devices.
pub fn services() -> Vec<ServiceDef> {
    let def = ServiceDef::of_classes;
    vec![
        def("total-devices", "Total Devices", LIVE),
        def("total-servers", "Total Servers", SERVERS),
        def("total-esxi-hosts", "Total ESXi Hosts", &["ESXI_HOST"]),
        def("total-workstations", "Total Workstations", WORKSTATIONS),
        def(
            "total-workstations-and-servers",
            "Total Workstations and Servers",
            WORKSTATIONS_AND_SERVERS,
        ),
        def("total-network-devices", "Total Network Devices", NETWORK),
        def("total-mobile-devices", "Total Mobile Devices", MOBILE),
        def("total-other-devices", "Total Other Devices", &[OTHER]),
    ]
}

/// One service per Datto RMM device type (`deviceType.category` as the account names it:
/// `desktop:device-type`), live devices only: types this build does not know can be mapped too.
pub fn families() -> Vec<ServiceFamily> {
    vec![ServiceFamily {
        attr: "device_type",
        name_attr: None,
        key_suffix: ":device-type",
        name_suffix: " (device type)",
        quantity: None,
        classes: Some(LIVE),
    }]
}

pub struct DattoRmm {
    name: String,
    client: HttpClient,
    page_size: Option<usize>,
}

impl DattoRmm {
    /// `keys` is the API key and the API secret.
    pub fn new(
        name: &str,
        settings: &Settings,
        keys: (SecretString, SecretString),
        retry: RetryPolicy,
    ) -> anyhow::Result<DattoRmm> {
        let host = settings.host_url(name)?;
        let host = check_url(name, &host)?;
        let base = host.join("api/").expect("a fixed path joins");
        let token_url = host.join("auth/oauth/token").expect("a fixed path joins");
        let again = match settings.platform {
            Some(_) => format!("reconcile connect datto-rmm --name {name} --platform <platform>"),
            None => format!(
                "reconcile connect datto-rmm --name {name} --url {}",
                host.as_str().trim_end_matches('/')
            ),
        };
        let hint = format!(
            "Datto RMM refused the API key and secret: check both were copied whole from Setup > Users > the API user > API Keys (generating keys again replaces them), that the user is enabled and that this is your account's platform, then run `{again}` again"
        );
        let forbidden = format!(
            "Datto RMM answers 403 when API access is off for the account (Setup > Global Settings > Access Control > Enable API Access), when the API user is disabled, and when it has blocked this machine's IP address after too many requests. It was not retried, since more requests prolong a block: wait 10 minutes, check those settings, then run `reconcile sync {name}` (or `{again}`) again"
        );
        let auth = OAuth2::password(
            name,
            token_url,
            ("public-client", "public"),
            keys.0.expose_secret().trim(),
            keys.1,
            "",
            retry.clone(),
            hint,
        )
        .forbidden_hint(forbidden)
        .no_retry_on_forbidden();
        let per_minute = settings
            .requests_per_minute
            .unwrap_or(MAX_REQUESTS_PER_MINUTE)
            .clamp(1, MAX_REQUESTS_PER_MINUTE);
        let concurrency = retry.concurrency_or(ConnectorKind::DattoRmm.default_concurrency());
        let limit =
            RateLimit::per(per_minute, Duration::from_secs(60)).with_concurrency(concurrency);
        Ok(DattoRmm {
            name: name.to_string(),
            client: HttpClient::new(name, base, Arc::new(auth), retry)
                .with_rate_limit(Arc::new(limit)),
            page_size: settings.page_size,
        })
    }

    /// The first page's request of a list: `page=0`, and `max` when a page size is set.
    fn first(&self, path: &str) -> Request {
        let req = Request::get(path).query("page", 0);
        match self.page_size {
            Some(n) => req.query("max", n),
            None => req,
        }
    }

    fn paging() -> Paging {
        Paging::next_url_at("/pageDetails/nextPageUrl")
    }
}

/// A 403 says which read was refused, beside why Datto RMM refuses.
fn name_the_read(e: ConnectorError, path: &str) -> ConnectorError {
    match e {
        ConnectorError::Auth {
            connection,
            endpoint,
            status: 403,
            detail,
            hint,
        } => {
            let what = match path {
                SITES => "the account's sites",
                DEVICES => "the account's devices",
                _ => "the account",
            };
            ConnectorError::Auth {
                connection,
                endpoint,
                status: 403,
                detail,
                hint: format!("The API user may not read {what}. {hint}"),
            }
        }
        other => other,
    }
}

#[async_trait]
impl Connector for DattoRmm {
    fn kind(&self) -> ConnectorKind {
        ConnectorKind::DattoRmm
    }

    async fn check(&self) -> Result<String, ConnectorError> {
        let account: wire::Account = self
            .client
            .get_one(ACCOUNT, &[])
            .await
            .map_err(|e| name_the_read(e, ACCOUNT))?;
        // Sync reads the sites list: prove it readable with one record.
        let req = Request::get(SITES).query("page", 0).query("max", 1);
        self.client
            .pages::<wire::Site>(req, Paging::Single, "/sites")
            .tolerant()
            .next()
            .await
            .map_err(|e| name_the_read(e, SITES))?;
        let name = match &account.name {
            Value::String(s) if !s.trim().is_empty() => format!(" `{}`", s.trim()),
            _ => String::new(),
        };
        let devices = account
            .devices_status
            .get("numberOfDevices")
            .and_then(Value::as_u64)
            .map(|n| format!("; {n} devices"))
            .unwrap_or_default();
        Ok(format!(
            "signed in to {} (account{name}{devices}); sites and devices are readable",
            self.client.base().origin().ascii_serialization()
        ))
    }

    async fn sync(&self, cx: &SyncCx) -> Result<Snapshot, ConnectorError> {
        let sites_read = |n| cx.report("sites", n);
        let sites = self
            .client
            .pages::<wire::Site>(self.first(SITES), Self::paging(), "/sites")
            .all_tolerant(&sites_read)
            .await
            .map_err(|e| name_the_read(e, SITES))?;
        let mut set_aside: Vec<String> = (sites.set_aside.iter())
            .map(|s| format!("GET /api/{SITES} {s}"))
            .collect();
        let sites: Vec<convert::SiteInfo> = sites
            .records
            .into_iter()
            .map(|s| convert::site(s.value, s.raw))
            .collect();
        let by_uid: HashMap<String, &convert::SiteInfo> =
            sites.iter().map(|s| (s.account.id.clone(), s)).collect();
        let mut pages = self
            .client
            .pages::<wire::Device>(self.first(DEVICES), Self::paging(), "/devices")
            .tolerant();
        let mut kept = Vec::new();
        let mut unreadable = BTreeMap::new();
        let mut read = 0;
        while let Some(page) = pages.next().await.map_err(|e| name_the_read(e, DEVICES))? {
            let endpoint = format!("GET /api/{DEVICES}");
            set_aside.extend(page.set_aside.iter().map(|s| format!("{endpoint} {s}")));
            read += page.items.len();
            cx.report("devices", read);
            let mut items = Vec::new();
            for ((d, raw), odd) in page.items.into_iter().zip(page.odd) {
                match convert::device(d, raw, &odd, &by_uid) {
                    Ok(item) => items.push(item),
                    Err(convert::NotCounted::NoSite(why)) => {
                        set_aside.push(format!("{endpoint} {why}"))
                    }
                    Err(convert::NotCounted::Unreadable { site, why }) => {
                        unreadable.entry(site).or_insert(why);
                    }
                }
            }
            cx.emit(&self.name, items, &mut kept).await?;
        }
        tracing::debug!(connection = %self.name, sites = sites.len(), devices = read, "read Datto RMM");
        Ok(Snapshot::Vendor(VendorSnapshot {
            accounts: sites.into_iter().map(|s| s.account).collect(),
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
    fn services_follow_ninjaone_and_count_no_deleted_or_suspended_device() {
        let s = services();
        let keys: Vec<&str> = s.iter().map(|d| d.key.as_str()).collect();
        for k in [
            "total-devices",
            "total-servers",
            "total-workstations",
            "total-workstations-and-servers",
            "total-network-devices",
            "total-mobile-devices",
        ] {
            assert!(keys.contains(&k), "{k}");
        }
        for def in &s {
            for c in def.classes.iter().flatten() {
                assert!(LIVE.contains(&c.as_str()), "{c}");
            }
        }
        let family = &families()[0];
        assert!(!family.classes.unwrap().contains(&DELETED));
        assert!(!family.classes.unwrap().contains(&SUSPENDED));
        let svc = family.service_for_key("esxi-host:device-type").unwrap();
        assert_eq!(svc.key, "esxi-host:device-type");
    }
}
