//! `[connections.<name>]` of the BMS family (`kind = "kaseya-bms"`, `"pulseway"`,
//! `"cloudblue"`): where the API is (a region, a URL), who signs in (user name and tenant; the
//! password is the secret), which accounts bill, how far back invoices are read and the request
//! rate. One struct, typed by its [`Family`] so each kind is its own settings type.

use std::marker::PhantomData;

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

use super::{Family, MAX_REQUESTS_PER_HOUR};
use crate::connectors::{Connector, KindInfo, KindSettings, SecretFn};
use crate::http::{RetryPolicy, check_url};

/// Account types that bill unless the settings say otherwise.
pub const DEFAULT_BILLABLE_TYPE: &str = "Customer";
/// Months of invoices read unless `invoice_months` says otherwise: a quarterly contract's last
/// invoice is at most three months old.
pub const DEFAULT_INVOICE_MONTHS: u32 = 3;
/// The most `invoice_months` allows (an annual contract needs 12; two years covers a biennial).
pub const MAX_INVOICE_MONTHS: u32 = 24;

fn default_billable_types() -> Vec<String> {
    vec![DEFAULT_BILLABLE_TYPE.to_string()]
}

/// Kaseya BMS's data centres, each with its own API host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Region {
    /// North America: `https://api.bms.kaseya.com`.
    Na,
    /// Europe, Middle East and Africa: `https://api.bmsemea.kaseya.com`.
    Emea,
    /// Asia-Pacific: `https://api.bmsapac.kaseya.com`.
    Apac,
}

impl Region {
    pub fn host(self) -> &'static str {
        match self {
            Region::Na => "https://api.bms.kaseya.com",
            Region::Emea => "https://api.bmsemea.kaseya.com",
            Region::Apac => "https://api.bmsapac.kaseya.com",
        }
    }
}

/// `[connections.<name>]` of a BMS-family kind.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, bound = "")]
pub struct Settings<F> {
    /// Kaseya BMS only: the data centre (`na`, `emea`, `apac`); default `na`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<Region>,
    /// The API host instead of the default (`https://api.bms.kaseya.com`; http only on
    /// loopback, for tests and the demo). Required for CloudBlue PSA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The API user's user name.
    pub user: String,
    /// The tenant (company) name, as shown in My Settings.
    pub tenant: String,
    /// Account types that bill (compared without case); the others are kept, not billable.
    /// Empty: every active account bills.
    #[serde(default = "default_billable_types")]
    pub billable_types: Vec<String>,
    /// How many months of invoices to read for each contract's last invoice (1 to 24; default
    /// 3). Contracts billed yearly need 12.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice_months: Option<u32>,
    /// At most this many requests an hour on each endpoint (1 to 1,500; default 1,500, the
    /// API's limit), lower when other integrations use the same tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_hour: Option<usize>,
    #[serde(skip)]
    pub family: PhantomData<F>,
}

impl<F: Family> Settings<F> {
    /// The API host, from `url`, `region` or the family's default.
    pub fn host(&self) -> Option<String> {
        match (&self.url, self.region) {
            (Some(u), _) => Some(u.trim().trim_end_matches('/').to_string()),
            (None, Some(r)) => Some(r.host().to_string()),
            (None, None) => F::DEFAULT_HOST.map(str::to_string),
        }
    }

    pub fn invoice_months(&self) -> u32 {
        self.invoice_months.unwrap_or(DEFAULT_INVOICE_MONTHS)
    }

    pub fn requests_per_hour(&self) -> usize {
        self.requests_per_hour.unwrap_or(MAX_REQUESTS_PER_HOUR)
    }
}

impl<F: Family> KindSettings for Settings<F> {
    const KIND: KindInfo = F::KIND;
    const REPORT_ONLY: Option<&'static str> = Some(
        "its API adds a new contract service row on every write, and has no public way to change the units of an existing one",
    );
    type Args = F::Args;

    fn validate(&self, name: &str) -> Result<()> {
        let kind = F::KIND.key;
        if self.region.is_some() && !F::REGIONS {
            bail!(
                "connection `{name}`: `region` is for Kaseya BMS only; give {} its API host as `url`",
                F::KIND.name
            );
        }
        if self.region.is_some() && self.url.is_some() {
            bail!("connection `{name}`: give `region` or `url`, not both");
        }
        match self.host() {
            Some(h) => {
                check_url(name, &h)?;
            }
            None => bail!(
                "connection `{name}`: `url` is missing: {} has no one API host; give yours (the host of the tenant's Swagger page, e.g. https://api.example.com) with `reconcile connect {kind} --url ...`",
                F::KIND.name
            ),
        }
        if self.user.trim().is_empty() {
            bail!("connection `{name}`: `user` is empty; give the API user's user name");
        }
        if self.tenant.trim().is_empty() {
            bail!(
                "connection `{name}`: `tenant` is empty; give the tenant (company) name shown in {} under My Settings",
                F::KIND.name
            );
        }
        let months = self.invoice_months();
        if !(1..=MAX_INVOICE_MONTHS).contains(&months) {
            bail!(
                "connection `{name}`: `invoice_months` is {months}; give 1 to {MAX_INVOICE_MONTHS}"
            );
        }
        let per_hour = self.requests_per_hour();
        if !(1..=MAX_REQUESTS_PER_HOUR).contains(&per_hour) {
            bail!(
                "connection `{name}`: `requests_per_hour` is {per_hour}; give 1 to {MAX_REQUESTS_PER_HOUR} ({} allows {MAX_REQUESTS_PER_HOUR} an hour per endpoint)",
                F::KIND.name
            );
        }
        Ok(())
    }

    fn connect(
        &self,
        name: &str,
        secret: SecretFn,
        retry: RetryPolicy,
    ) -> Result<Box<dyn Connector>> {
        Ok(Box::new(super::Bms::<F>::new(name, self, secret, retry)?))
    }
}
