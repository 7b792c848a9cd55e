//! NinjaOne (NinjaRMM) public API v2: organizations are accounts, devices are usage items.
//!
//! Auth is the OAuth2 client-credentials grant at `{host}/ws/oauth/token` with scope `monitoring`
//! (read only). Lists page with `pageSize` + `after=<last id>` until a short page. Device classes
//! roll up: a class this build does not know is replaced by its device role's class when the role
//! names a known one (custom roles sit under a built-in class), and is kept as sent otherwise, so
//! it still counts in Total Devices and never breaks a sync.

mod args;
mod convert;
mod settings;
mod wire;

pub use args::Args;
pub use settings::{DeviceListing, Region, Settings};

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use futures_util::{StreamExt, TryStreamExt, stream};
use secrecy::SecretString;

use crate::connectors::{Connector, ConnectorKind, SyncCx};
use crate::http::{
    ConnectorError, HttpClient, OAuth2, Pages, Paging, Param, RateLimit, Request, RetryPolicy,
    check_url,
};
use crate::model::{ServiceDef, Snapshot, UsageItem, VendorAccount, VendorSnapshot};

use convert::device_item;

pub const DEFAULT_PAGE_SIZE: usize = 1000;

/// Every `nodeClass` the API describes (spec 2.0.9).
pub const KNOWN_CLASSES: &[&str] = &[
    "WINDOWS_SERVER",
    "WINDOWS_WORKSTATION",
    "LINUX_WORKSTATION",
    "MAC",
    "ANDROID",
    "APPLE_IOS",
    "APPLE_IPADOS",
    "VMWARE_VM_HOST",
    "VMWARE_VM_GUEST",
    "HYPERV_VMM_HOST",
    "HYPERV_VMM_GUEST",
    "LINUX_SERVER",
    "MAC_SERVER",
    "CLOUD_MONITOR_TARGET",
    "NMS_SWITCH",
    "NMS_ROUTER",
    "NMS_FIREWALL",
    "NMS_PRIVATE_NETWORK_GATEWAY",
    "NMS_PRINTER",
    "NMS_SCANNER",
    "NMS_DIAL_MANAGER",
    "NMS_WAP",
    "NMS_IPSLA",
    "NMS_COMPUTER",
    "NMS_VM_HOST",
    "NMS_APPLIANCE",
    "NMS_OTHER",
    "NMS_SERVER",
    "NMS_PHONE",
    "NMS_VIRTUAL_MACHINE",
    "NMS_NETWORK_MANAGEMENT_AGENT",
    "UNMANAGED_DEVICE",
    "MANAGED_DEVICE",
];

const PHYSICAL_SERVERS: &[&str] = &["WINDOWS_SERVER", "LINUX_SERVER", "MAC_SERVER", "NMS_SERVER"];
const VIRTUAL_SERVERS: &[&str] = &[
    "VMWARE_VM_HOST",
    "HYPERV_VMM_HOST",
    "VMWARE_VM_GUEST",
    "HYPERV_VMM_GUEST",
    "NMS_VM_HOST",
    "NMS_VIRTUAL_MACHINE",
];
const WORKSTATIONS: &[&str] = &[
    "WINDOWS_WORKSTATION",
    "LINUX_WORKSTATION",
    "MAC",
    "NMS_COMPUTER",
];
const NETWORK: &[&str] = &[
    "NMS_SWITCH",
    "NMS_ROUTER",
    "NMS_PRIVATE_NETWORK_GATEWAY",
    "NMS_WAP",
    "NMS_FIREWALL",
    "NMS_PRINTER",
    "NMS_APPLIANCE",
    "NMS_SCANNER",
    "NMS_OTHER",
    "CLOUD_MONITOR_TARGET",
    "NMS_DIAL_MANAGER",
    "NMS_PHONE",
    "NMS_IPSLA",
    "NMS_NETWORK_MANAGEMENT_AGENT",
];
const MOBILE: &[&str] = &["ANDROID", "APPLE_IOS", "APPLE_IPADOS"];

/// The eight NinjaOne services of the product brief.
pub fn services() -> Vec<ServiceDef> {
    let servers: Vec<&str> = [
        "WINDOWS_SERVER",
        "VMWARE_VM_HOST",
        "HYPERV_VMM_HOST",
        "LINUX_SERVER",
        "MAC_SERVER",
        "VMWARE_VM_GUEST",
        "HYPERV_VMM_GUEST",
        "NMS_VM_HOST",
        "NMS_SERVER",
        "NMS_VIRTUAL_MACHINE",
    ]
    .to_vec();
    let mut ws_and_servers: Vec<&str> = WORKSTATIONS.to_vec();
    ws_and_servers.extend(&servers);
    let def = |key: &str, name: &str, classes: Option<&[&str]>| ServiceDef {
        key: key.into(),
        name: name.into(),
        classes: classes.map(|c| c.iter().map(|s| s.to_string()).collect()),
        ..ServiceDef::default()
    };
    vec![
        def("total-devices", "Total Devices", None),
        def("total-servers", "Total Servers", Some(&servers)),
        def(
            "total-physical-servers",
            "Total Physical Servers",
            Some(PHYSICAL_SERVERS),
        ),
        def(
            "total-virtual-servers",
            "Total Virtual Servers",
            Some(VIRTUAL_SERVERS),
        ),
        def(
            "total-workstations",
            "Total Workstations",
            Some(WORKSTATIONS),
        ),
        def(
            "total-workstations-and-servers",
            "Total Workstations and Servers",
            Some(&ws_and_servers),
        ),
        def(
            "total-network-devices",
            "Total Network Devices",
            Some(NETWORK),
        ),
        def("total-mobile-devices", "Total Mobile Devices", Some(MOBILE)),
    ]
}

pub struct NinjaOne {
    name: String,
    client: HttpClient,
    page_size: usize,
    listing: DeviceListing,
    /// Requests in flight at most: the `concurrency` setting, else the kind's default.
    concurrency: usize,
}

impl NinjaOne {
    pub fn new(
        name: &str,
        settings: &Settings,
        secret: SecretString,
        retry: RetryPolicy,
    ) -> anyhow::Result<NinjaOne> {
        let base = check_url(name, &settings.base_url(name)?)?;
        let token_url = base.join("ws/oauth/token").expect("a fixed path joins");
        let hint = format!(
            "Check the client id and secret of the NinjaOne API app (Administration > Apps > API, client credentials, scope Monitoring), then run `reconcile connect ninjaone --name {name} ...` again"
        );
        let auth = OAuth2::client_credentials(
            name,
            token_url,
            &settings.client_id,
            secret,
            "monitoring",
            retry.clone(),
            hint,
        );
        let concurrency = retry.concurrency_or(ConnectorKind::NinjaOne.default_concurrency());
        Ok(NinjaOne {
            name: name.to_string(),
            client: HttpClient::new(name, base, Arc::new(auth), retry)
                .with_rate_limit(Arc::new(RateLimit::in_flight(concurrency))),
            page_size: settings.page_size.unwrap_or(DEFAULT_PAGE_SIZE),
            listing: settings.device_listing,
            concurrency,
        })
    }
}

#[async_trait]
impl Connector for NinjaOne {
    fn kind(&self) -> ConnectorKind {
        ConnectorKind::NinjaOne
    }

    async fn check(&self) -> Result<String, ConnectorError> {
        let (orgs, _) = self
            .client
            .get_list::<wire::Organization>("v2/organizations", &[("pageSize", "1".to_string())])
            .await?;
        Ok(format!(
            "signed in to {} with scope monitoring; organizations are readable{}",
            self.client.base().origin().ascii_serialization(),
            if orgs.is_empty() { " (none yet)" } else { "" }
        ))
    }

    async fn sync(&self, cx: &SyncCx) -> Result<Snapshot, ConnectorError> {
        let orgs_read = |n| cx.report("organizations", n);
        let (orgs, roles) = tokio::try_join!(
            self.client
                .pages::<wire::Organization>(Request::get("v2/organizations"), self.paging(), "")
                .all_tolerant(&orgs_read),
            self.client
                .pages::<wire::NodeRole>(Request::get("v2/roles"), Paging::Single, "")
                .all_tolerant(&|_| {}),
        )?;
        // A role or organization without an id cannot be referred to: dropping it leaves its
        // devices with an unknown role, or set aside below as of no listed organization.
        let roles: HashMap<i64, wire::NodeRole> = roles
            .records
            .into_iter()
            .map(|r| (r.value.id, r.value))
            .collect();
        let mut set_aside: Vec<String> = orgs
            .set_aside
            .iter()
            .map(|s| format!("GET /v2/organizations {s}"))
            .collect();
        let org_ids: Vec<i64> = orgs.records.iter().map(|o| o.value.id).collect();
        let by_org = match self.listing {
            DeviceListing::ByOrganization => true,
            DeviceListing::SingleList => false,
            DeviceListing::Auto => cx.previous.as_deref().is_some_and(|prev| {
                by_organization_is_faster(prev, &org_ids, self.page_size, self.concurrency)
            }),
        };
        tracing::debug!(connection = %self.name, orgs = org_ids.len(), by_org, "listing NinjaOne devices");
        let read = AtomicUsize::new(0);
        let mut kept = Vec::new();
        if by_org {
            let per_org: Vec<(Vec<UsageItem>, Vec<String>)> = stream::iter(org_ids)
                .map(|id| {
                    let (roles, read) = (&roles, &read);
                    async move {
                        let path = format!("v2/organization/{id}/devices");
                        let (mut kept, mut aside) = (Vec::new(), Vec::new());
                        let pages = self.client.pages(Request::get(path), self.paging(), "");
                        self.read_devices(cx, pages, roles, read, &mut kept, &mut aside)
                            .await?;
                        Ok::<_, ConnectorError>((kept, aside))
                    }
                })
                .buffer_unordered(self.concurrency)
                .try_collect()
                .await?;
            for (items, aside) in per_org {
                kept.extend(items);
                set_aside.extend(aside);
            }
            kept.sort_by(|a, b| a.account_id.cmp(&b.account_id).then(a.id.cmp(&b.id)));
            set_aside.sort();
        } else {
            let pages = self
                .client
                .pages(Request::get("v2/devices"), self.paging(), "");
            self.read_devices(cx, pages, &roles, &read, &mut kept, &mut set_aside)
                .await?;
        }
        tracing::debug!(connection = %self.name, devices = read.load(Ordering::Relaxed), "read NinjaOne");
        let accounts = orgs
            .records
            .into_iter()
            .map(|o| VendorAccount {
                id: o.value.id.to_string(),
                name: (o.value.name)
                    .filter(|n| !n.trim().is_empty())
                    .unwrap_or_else(|| format!("organization {}", o.value.id)),
                raw: Some(o.raw),
            })
            .collect();
        Ok(Snapshot::Vendor(VendorSnapshot {
            accounts,
            items: kept,
            set_aside,
            ..VendorSnapshot::default()
        }))
    }
}

impl NinjaOne {
    /// NinjaOne lists: `pageSize` and `after=<id of the last record>`, until a short page.
    fn paging(&self) -> Paging {
        Paging::Keyset {
            size: Param::new("pageSize", self.page_size),
            after: "after",
            id: "/id",
        }
    }

    /// Reads a device list to its end. The next page is requested while the current one is
    /// converted and stored, so a long chain of pages waits only on the network.
    async fn read_devices(
        &self,
        cx: &SyncCx,
        pages: Pages<'_, wire::Device>,
        roles: &HashMap<i64, wire::NodeRole>,
        read: &AtomicUsize,
        kept: &mut Vec<UsageItem>,
        set_aside: &mut Vec<String>,
    ) -> Result<(), ConnectorError> {
        let mut pages = pages.tolerant();
        let mut page = pages.next().await?;
        while let Some(current) = page {
            let endpoint = &current.endpoint;
            set_aside.extend(current.set_aside.iter().map(|s| format!("{endpoint} {s}")));
            let (next, taken) = tokio::join!(
                pages.next(),
                self.take_page(cx, current.items, current.odd, roles, read, kept)
            );
            taken?;
            page = next?;
        }
        Ok(())
    }

    /// Turns a page of devices into items and hands them on (stored now when the sync
    /// streams, else kept for the snapshot).
    async fn take_page(
        &self,
        cx: &SyncCx,
        page: Vec<(wire::Device, String)>,
        odd: Vec<Vec<String>>,
        roles: &HashMap<i64, wire::NodeRole>,
        read: &AtomicUsize,
        kept: &mut Vec<UsageItem>,
    ) -> Result<(), ConnectorError> {
        let n = read.fetch_add(page.len(), Ordering::Relaxed) + page.len();
        cx.report("devices", n);
        let items = page
            .into_iter()
            .zip(odd)
            .map(|((d, raw), odd)| {
                let mut item = device_item(d, raw, roles);
                if !odd.is_empty() {
                    item.attrs.insert("odd_fields".into(), odd.join(","));
                }
                item
            })
            .collect();
        cx.emit(&self.name, items, kept).await
    }
}

/// Whether listing devices organization by organization (`concurrency` organizations at once)
/// beats the one `/v2/devices` keyset chain, judged by the previous sync's device counts. The
/// chain takes one request per page, one after another; the per-organization reads take at
/// least one request per organization but run side by side. Per organization must be at least
/// twice as fast in round trips to be picked, since it spends more of the API's requests.
pub fn by_organization_is_faster(
    previous: &BTreeMap<String, usize>,
    orgs: &[i64],
    page_size: usize,
    concurrency: usize,
) -> bool {
    let page_size = page_size.max(1);
    let total: usize = previous.values().sum();
    // A page shorter than pageSize ends a list, so n devices take n / pageSize + 1 requests.
    let chain = total / page_size + 1;
    let per_org: Vec<usize> = orgs
        .iter()
        .map(|id| previous.get(&id.to_string()).copied().unwrap_or(0) / page_size + 1)
        .collect();
    let requests: usize = per_org.iter().sum();
    let longest = per_org.iter().copied().max().unwrap_or(0);
    let rounds = longest.max(requests.div_ceil(concurrency.max(1)));
    rounds * 2 <= chain
}

/// Whether the API describes `class` (one of [`KNOWN_CLASSES`]).
fn is_known(class: &str) -> bool {
    KNOWN_CLASSES.contains(&class)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eight_services_match_the_brief() {
        let s = services();
        assert_eq!(s.len(), 8);
        let classes = |key: &str| s.iter().find(|d| d.key == key).unwrap().classes.clone();
        assert_eq!(classes("total-devices"), None);
        assert_eq!(classes("total-servers").unwrap().len(), 10);
        assert_eq!(classes("total-physical-servers").unwrap().len(), 4);
        assert_eq!(classes("total-virtual-servers").unwrap().len(), 6);
        assert_eq!(classes("total-workstations").unwrap().len(), 4);
        assert_eq!(classes("total-workstations-and-servers").unwrap().len(), 14);
        assert_eq!(classes("total-network-devices").unwrap().len(), 14);
        assert!(
            classes("total-mobile-devices")
                .unwrap()
                .contains(&"APPLE_IPADOS".to_string())
        );
        // Every class a service names is one the API knows.
        for def in &s {
            for c in def.classes.iter().flatten() {
                assert!(is_known(c), "{c}");
            }
        }
    }

    #[test]
    fn per_organization_listing_is_picked_only_when_twice_as_fast() {
        let prev = |counts: &[(i64, usize)]| -> BTreeMap<String, usize> {
            counts.iter().map(|(k, v)| (k.to_string(), *v)).collect()
        };
        let many_orgs: Vec<(i64, usize)> = (1..=1000).map(|i| (i, 100)).collect();
        let ids = |c: &[(i64, usize)]| c.iter().map(|(k, _)| *k).collect::<Vec<_>>();
        // (previous counts, page size, concurrency, by organization?)
        type Case = (Vec<(i64, usize)>, usize, usize, bool);
        let cases: Vec<Case> = vec![
            // 100,000 devices in 1,000 orgs: a chain of 101 pages against 1,000 requests at 10
            // at once (100 rounds): not twice as fast.
            (many_orgs.clone(), 1000, 10, false),
            // At 64 at once, 16 rounds against 101: per organization.
            (many_orgs, 1000, 64, true),
            // 200 orgs of 500 devices: 20 rounds against 101.
            ((1..=200).map(|i| (i, 500)).collect(), 1000, 10, true),
            // One org of 50,000: its own chain is as long as the single list.
            (vec![(1, 50_000), (2, 10)], 1000, 10, false),
            // Small tenants: one page either way.
            (vec![(1, 3), (2, 4)], 1000, 10, false),
            // Exactly one full page per org counts the empty page that ends it.
            (vec![(1, 4), (2, 4), (3, 3)], 4, 10, false),
        ];
        for (counts, page, conc, want) in cases {
            let got = by_organization_is_faster(&prev(&counts), &ids(&counts), page, conc);
            assert_eq!(
                got,
                want,
                "{} orgs, page {page}, concurrency {conc}",
                counts.len()
            );
        }
        // Organizations new since the last sync cost one request each.
        let known = prev(&[(1, 100_000)]);
        assert!(!by_organization_is_faster(&known, &[1, 2, 3], 1000, 10));
    }
}
