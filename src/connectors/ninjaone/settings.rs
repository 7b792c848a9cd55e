//! `[connections.<name>]` with `kind = "ninjaone"`: the instance (a region or a URL), the API
//! client's id, and how devices are listed.

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

use super::Args;
use crate::connectors::{Connector, KindInfo, KindSettings, Role, SecretFn};
use crate::http::RetryPolicy;
use crate::model::ServiceDef;

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// One of the NinjaOne regions; or give `url` instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<Region>,
    /// The instance URL (`https://eu.ninjarmm.com`), for instances not in the region list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub client_id: String,
    /// Records per request (default 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<usize>,
    /// How devices are listed (default `auto`).
    #[serde(default, skip_serializing_if = "DeviceListing::is_auto")]
    pub device_listing: DeviceListing,
}

/// NinjaOne regions and their hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Region {
    Us,
    Us2,
    Ca,
    Eu,
    Oc,
}

impl Region {
    pub fn host_url(self) -> &'static str {
        match self {
            Region::Us => "https://app.ninjarmm.com",
            Region::Us2 => "https://us2.ninjarmm.com",
            Region::Ca => "https://ca.ninjarmm.com",
            Region::Eu => "https://eu.ninjarmm.com",
            Region::Oc => "https://oc.ninjarmm.com",
        }
    }
}

/// `device_listing` of a NinjaOne connection.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum DeviceListing {
    /// Per organization when the previous sync's counts say that is at least twice as fast,
    /// else one list; the first sync uses one list.
    #[default]
    Auto,
    /// `GET /v2/organization/{id}/devices` for `concurrency` organizations at once.
    ByOrganization,
    /// The one keyset-paged `GET /v2/devices` chain: the fewest requests.
    SingleList,
}

impl DeviceListing {
    fn is_auto(&self) -> bool {
        *self == DeviceListing::Auto
    }
}

impl Settings {
    /// The instance URL: the region's host, or `url`.
    pub fn base_url(&self, name: &str) -> Result<String> {
        match (&self.region, &self.url) {
            (Some(r), None) => Ok(r.host_url().to_string()),
            (None, Some(u)) => Ok(u.trim_end_matches('/').to_string()),
            (Some(_), Some(_)) => bail!(
                "connection `{name}` sets both `region` and `url`; keep one of them in the config file"
            ),
            (None, None) => bail!(
                "connection `{name}` sets neither `region` nor `url`; add `region = \"us\"` (or us2, ca, eu, oc) or `url = \"https://...\"`"
            ),
        }
    }
}

impl KindSettings for Settings {
    const KIND: KindInfo = KindInfo {
        key: "ninjaone",
        name: "NinjaOne",
        role: Role::Vendor,
        secrets: &["client_secret"],
        // No published limits; 10 in flight keeps a per-organization fan-out quick without
        // looking like a flood.
        concurrency: 10,
        reads_files: false,
    };
    type Args = Args;

    fn validate(&self, name: &str) -> Result<()> {
        self.base_url(name)?;
        if self.page_size.is_some_and(|p| !(1..=10_000).contains(&p)) {
            bail!("[connections.{name}] page_size must be between 1 and 10000");
        }
        Ok(())
    }

    fn services() -> Vec<ServiceDef> {
        super::services()
    }

    fn connect(
        &self,
        name: &str,
        secret: SecretFn,
        retry: RetryPolicy,
    ) -> Result<Box<dyn Connector>> {
        Ok(Box::new(super::NinjaOne::new(
            name,
            self,
            secret("client_secret")?,
            retry,
        )?))
    }
}
