//! Webroot (OpenText) Unity API, GSM console: sites are accounts, their endpoints usage items,
//! and their keycodes' allowed endpoint and mobile seats one item each. Read only.
//!
//! Auth: the OAuth2 password grant at `{host}/auth/token`: the API client's id and secret (GSM
//! console > Settings > API Access) as HTTP Basic, a console admin's email and password in the
//! form, scope `Console.GSM`. An access token lives 5 minutes; `crate::http::OAuth2` renews it
//! early and once after a 401. Every request carries `User-Agent: reconcile/<version>`, which
//! Webroot requires.
//!
//! Reads: `GET /service/api/console/gsm/{gsmKey}/sites` (one answer, `Sites`) and per site
//! `GET .../sites/{siteId}/endpoints` (`Endpoints`, paged with `pageNr` from 1 and `pageSize`,
//! read to `TotalAvailable`). Deactivated sites are accounts with no endpoints read.
//!
//! What Webroot bills: devices seen in the 30 days before the invoice date. An endpoint's
//! `LastSeen` is its last contact, so the engine's inactive rule (`inactive_after_days`, 30 by
//! default) leaves out exactly the endpoints Webroot would not bill; deactivated endpoints are
//! `DEACTIVATED` and counted by no built-in service. The Reporting API's per-site report
//! (`EndpointsSeenInLast30Days`) is the same figure summed by Webroot; its member names are not
//! public, so it is not read (see the README). The deprecated usage API is never called.
//!
//! Limits: none published; one request in flight per connection by default.

mod args;
mod convert;
mod settings;
mod wire;

pub use args::Args;
pub use settings::{DEFAULT_URL, Settings};

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};

use crate::connectors::{Connector, ConnectorKind, SyncCx};
use crate::http::{
    ConnectorError, End, HttpClient, OAuth2, Paging, Param, Request, RetryPolicy, check_url,
};
use crate::model::{ServiceDef, Snapshot, VendorSnapshot};

/// The class of an endpoint that counts.
pub const ENDPOINT: &str = "ENDPOINT";
/// The class of a deactivated endpoint: counted by no built-in service.
pub const DEACTIVATED: &str = "DEACTIVATED";
/// The class of a site's allowed endpoint seats (its `quantity` attribute).
pub const SEATS: &str = "SEATS";
/// The class of a site's mobile seats (its `quantity` attribute).
pub const MOBILE_SEATS: &str = "MOBILE_SEATS";
/// Endpoints per page.
pub const PAGE_SIZE: usize = 100;
/// The scope a token is asked for.
pub const SCOPE: &str = "Console.GSM";

/// Endpoints per site, and the seats each site's keycode allows.
pub fn services() -> Vec<ServiceDef> {
    let def = |key: &str, name: &str, class: &str, quantity: Option<&str>| ServiceDef {
        quantity: quantity.map(str::to_string),
        ..ServiceDef::of_classes(key, name, &[class])
    };
    vec![
        def("total-endpoints", "Total Endpoints", ENDPOINT, None),
        def(
            "endpoint-seats",
            "Endpoint Seats (keycode)",
            SEATS,
            Some("quantity"),
        ),
        def(
            "mobile-seats",
            "Mobile Seats (keycode)",
            MOBILE_SEATS,
            Some("quantity"),
        ),
    ]
}

pub struct Webroot {
    name: String,
    client: HttpClient,
    gsm_key: String,
    page_size: usize,
}

impl Webroot {
    /// `secrets` is the API client secret and the console admin's password.
    pub fn new(
        name: &str,
        settings: &Settings,
        secrets: (SecretString, SecretString),
        retry: RetryPolicy,
    ) -> anyhow::Result<Webroot> {
        let host = check_url(name, settings.host())?;
        let token_url = host.join("auth/token").expect("a fixed path joins");
        let base = host.join("service/api/").expect("a fixed path joins");
        let hint = format!(
            "Webroot refused the sign-in: check the API client id and secret (GSM console > Settings > API Access), the console admin's email ({}) and password, and that the admin has no two-factor prompt for API sign-in, then run `reconcile connect webroot --name {name} ...` again",
            settings.username
        );
        let forbidden = format!(
            "The console admin or the API client may not read this GSM console: check the admin has access to the GSM keycode {} and every site, then run `reconcile sync {name}`",
            settings.gsm_key
        );
        let auth = OAuth2::password(
            name,
            token_url,
            (settings.client_id.as_str(), secrets.0.expose_secret()),
            &settings.username,
            secrets.1,
            SCOPE,
            retry.clone(),
            hint,
        )
        .forbidden_hint(forbidden);
        Ok(Webroot {
            name: name.to_string(),
            client: HttpClient::new(name, base, Arc::new(auth), retry),
            gsm_key: settings.gsm_key.clone(),
            page_size: settings.page_size.unwrap_or(PAGE_SIZE),
        })
    }

    fn sites_path(&self) -> String {
        format!("console/gsm/{}/sites", self.gsm_key)
    }

    fn paging(&self) -> Paging {
        Paging::Numbered {
            page: "pageNr",
            first: 1,
            size: Some(Param::new("pageSize", self.page_size)),
            end: End::TotalRecords("/TotalAvailable"),
        }
    }

    async fn sites(&self) -> Result<crate::http::Tolerant<wire::Site>, ConnectorError> {
        self.client
            .pages::<wire::Site>(Request::get(self.sites_path()), Paging::Single, "/Sites")
            .all_tolerant(&|_| {})
            .await
    }
}

#[async_trait]
impl Connector for Webroot {
    fn kind(&self) -> ConnectorKind {
        ConnectorKind::Webroot
    }

    async fn check(&self) -> Result<String, ConnectorError> {
        let sites = self.sites().await?;
        // Sync reads each site's endpoints: prove it with one page of one.
        if let Some(s) = sites.records.first() {
            let path = format!("{}/{}/endpoints", self.sites_path(), s.value.site_id);
            let req = Request::get(path).query("pageNr", 1).query("pageSize", 1);
            self.client
                .pages::<serde_json::Value>(req, Paging::Single, "/Endpoints")
                .next()
                .await?;
        }
        Ok(format!(
            "signed in to {} (GSM console {}, {} sites); sites and endpoints are readable",
            self.client.base().origin().ascii_serialization(),
            self.gsm_key,
            sites.records.len()
        ))
    }

    async fn sync(&self, cx: &SyncCx) -> Result<Snapshot, ConnectorError> {
        let sites = self.sites().await?;
        let sites_at = format!("GET /service/api/{}", self.sites_path());
        let mut set_aside: Vec<String> = (sites.set_aside.iter())
            .map(|s| format!("{sites_at} {s}"))
            .collect();
        let sites: Vec<convert::SiteInfo> = (sites.records.into_iter())
            .map(|s| convert::site(s.value, s.raw))
            .collect();
        cx.report("sites", sites.len());
        let mut kept = Vec::new();
        let mut unreadable = BTreeMap::new();
        let mut read = 0;
        for site in &sites {
            let mut items = site.seats.clone();
            if !site.deactivated {
                let id = &site.account.id;
                let path = format!("{}/{id}/endpoints", self.sites_path());
                let at = format!("GET /service/api/{path}");
                let listed = self
                    .client
                    .pages::<wire::Endpoint>(Request::get(path), self.paging(), "/Endpoints")
                    .all_tolerant(&|_| {})
                    .await?;
                set_aside.extend(listed.set_aside.iter().map(|s| format!("{at} {s}")));
                let mut why = None;
                for r in listed.records {
                    match convert::endpoint(r.value, r.raw, &r.odd, id) {
                        Ok(item) => items.push(item),
                        Err(w) => why = why.or(Some(w)),
                    }
                }
                if let Some(w) = why {
                    unreadable.insert(id.clone(), w);
                    continue;
                }
            }
            read += items.len();
            cx.report("endpoints", read);
            cx.emit(&self.name, items, &mut kept).await?;
        }
        Ok(Snapshot::Vendor(VendorSnapshot {
            accounts: sites.into_iter().map(|s| s.account).collect(),
            items: kept,
            unreadable,
            set_aside,
        }))
    }
}
