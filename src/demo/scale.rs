//! A scaled MSP for the sync benchmark (`examples/bench_sync/`): the demo's sample with its
//! NinjaOne, ConnectWise and Microsoft 365 data replaced by thousands of generated records, so
//! the same sandboxes serve a large tenant through the same routers.
//!
//! Deterministic like the demo: a fixed seed drives [`SplitMix64`], so every run serves the same
//! records. Devices are spread unevenly over organizations (most small, a few with thousands),
//! additions unevenly over agreements (some with none), so paging per organization or per
//! agreement has long and short chains, as at a real MSP.

use jiff::Timestamp;
use rust_decimal::Decimal;

use super::apis::m365;
use super::sample::{
    CwAddition, CwAgreement, CwCompany, NinjaDevice, NinjaLocation, NinjaOrganization, SampleMsp,
    SplitMix64, sample,
};

const SEED: u64 = 0x005C_A1ED_2026_0001;

/// How big the generated MSP is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scale {
    /// NinjaOne organizations.
    pub orgs: usize,
    /// NinjaOne devices, over all organizations.
    pub devices: usize,
    /// ConnectWise companies (all active, billable clients).
    pub companies: usize,
    /// ConnectWise agreements (all active), spread round-robin over the companies.
    pub agreements: usize,
    /// ConnectWise agreement additions, over all agreements.
    pub additions: usize,
    /// Microsoft 365 customer tenants (GDAP), all consented.
    pub tenants: usize,
}

impl Default for Scale {
    fn default() -> Self {
        Scale {
            orgs: 1_000,
            devices: 100_000,
            companies: 1_000,
            agreements: 2_000,
            additions: 20_000,
            tenants: 300,
        }
    }
}

/// (class, weight per mille): what an MSP's fleet is made of.
const CLASSES: &[(&str, u64)] = &[
    ("WINDOWS_WORKSTATION", 600),
    ("MAC", 100),
    ("WINDOWS_SERVER", 120),
    ("LINUX_SERVER", 40),
    ("VMWARE_VM_GUEST", 50),
    ("NMS_SWITCH", 40),
    ("ANDROID", 25),
    ("APPLE_IOS", 25),
];

/// The demo's sample with `scale`'s NinjaOne, ConnectWise and Microsoft 365 data in place of its
/// own; the other vendors keep the demo's data. The planted facts describe the demo, not this.
pub fn scaled(scale: &Scale) -> SampleMsp {
    let mut msp = sample();
    let mut rng = SplitMix64::new(SEED);
    ninjaone(&mut msp, scale, &mut rng);
    connectwise(&mut msp, scale, &mut rng);
    msp.vendor_records.m365 = m365::scaled(scale.tenants);
    msp
}

/// Splits `total` over `n` parts unevenly but deterministically: weights from 1 to 100, one part
/// in a hundred twenty times heavier, every part at least `min` when `total` allows it.
fn spread(rng: &mut SplitMix64, total: usize, n: usize, min: usize) -> Vec<usize> {
    if n == 0 {
        return Vec::new();
    }
    let min = if min * n <= total { min } else { 0 };
    let weights: Vec<u64> = (0..n)
        .map(|_| {
            let w = 1 + rng.below(100);
            if rng.chance(10) { w * 20 } else { w }
        })
        .collect();
    let sum: u64 = weights.iter().sum();
    let rest = (total - min * n) as u64;
    let mut parts: Vec<usize> = weights
        .iter()
        .map(|w| min + (rest * w / sum) as usize)
        .collect();
    let mut left = total - parts.iter().sum::<usize>();
    let mut i = 0;
    while left > 0 {
        parts[i % n] += 1;
        left -= 1;
        i += 1;
    }
    parts
}

/// A shuffled list with part `i` repeated `parts[i]` times: whose record each id is.
fn owners(rng: &mut SplitMix64, parts: &[usize]) -> Vec<usize> {
    let mut owners: Vec<usize> = parts
        .iter()
        .enumerate()
        .flat_map(|(i, &n)| std::iter::repeat_n(i, n))
        .collect();
    for i in (1..owners.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        owners.swap(i, j);
    }
    owners
}

fn ninjaone(msp: &mut SampleMsp, scale: &Scale, rng: &mut SplitMix64) {
    let data = &mut msp.ninjaone;
    data.organizations = (0..scale.orgs)
        .map(|i| NinjaOrganization {
            id: 1 + i as i64,
            name: format!("Client {:04}", i + 1),
            description: String::new(),
            node_approval_mode: "AUTOMATIC".into(),
            tags: Vec::new(),
        })
        .collect();
    data.locations = data
        .organizations
        .iter()
        .map(|o| NinjaLocation {
            id: o.id * 10,
            organization_id: o.id,
            name: "Main Office".into(),
            address: String::new(),
        })
        .collect();
    let role_of = |class: &str| {
        data.roles
            .iter()
            .find(|r| !r.custom && r.node_class == class)
            .map(|r| r.id)
    };
    let roles: Vec<(&str, Option<i64>)> = CLASSES.iter().map(|(c, _)| (*c, role_of(c))).collect();
    let per_org = spread(rng, scale.devices, scale.orgs, 1);
    let created = Timestamp::from_second(1_700_000_000)
        .expect("a valid time")
        .as_second();
    let mut id = 1_000;
    data.devices = owners(rng, &per_org)
        .into_iter()
        .map(|org| {
            id += 1 + rng.below(3) as i64;
            let pick = rng.below(1000);
            let mut acc = 0;
            let (class, role) = CLASSES
                .iter()
                .zip(&roles)
                .find(|((_, w), _)| {
                    acc += w;
                    pick < acc
                })
                .map(|(_, r)| *r)
                .unwrap_or(roles[0]);
            let name = format!("DEV-{id:07}");
            NinjaDevice {
                id,
                uid: format!("{:016x}", rng.next_u64()),
                organization_id: 1 + org as i64,
                location_id: (1 + org as i64) * 10,
                node_class: class.into(),
                node_role_id: role,
                policy_id: 10,
                approval_status: if rng.chance(5) { "PENDING" } else { "APPROVED" }.into(),
                offline: rng.chance(80),
                display_name: name.clone(),
                system_name: name,
                dns_name: None,
                netbios_name: None,
                parent_device_id: None,
                created,
                last_contact_age_secs: rng.below(40 * 86_400) as i64,
                tags: Vec::new(),
            }
        })
        .collect();
}

fn connectwise(msp: &mut SampleMsp, scale: &Scale, rng: &mut SplitMix64) {
    let data = &mut msp.connectwise;
    let template_company = data.companies[0].clone();
    let template_agreement = data
        .agreements
        .iter()
        .find(|a| !a.cancelled)
        .expect("the demo has an active agreement")
        .clone();
    let template_addition = data.additions[0].clone();
    let products: Vec<i64> = data
        .catalog
        .iter()
        .filter(|p| !p.inactive)
        .map(|p| p.id)
        .collect();
    let client_type = data
        .company_types
        .iter()
        .find(|t| t.name == super::DEMO_BILLABLE_TYPE)
        .map(|t| t.id)
        .expect("the demo has a Client company type");
    let active_status = data
        .company_statuses
        .iter()
        .find(|s| !s.inactive_flag)
        .map(|s| s.id)
        .expect("the demo has an active status");
    data.companies = (0..scale.companies)
        .map(|i| CwCompany {
            id: 5_000 + i as i64,
            identifier: format!("Client{:04}", i + 1),
            name: format!("Client {:04}", i + 1),
            status_id: active_status,
            type_ids: vec![client_type],
            deleted: false,
            ..template_company.clone()
        })
        .collect();
    let company_ids: Vec<i64> = data.companies.iter().map(|c| c.id).collect();
    data.agreements = (0..scale.agreements)
        .map(|i| {
            let company_id = if company_ids.is_empty() {
                0
            } else {
                company_ids[i % company_ids.len()]
            };
            CwAgreement {
                id: 20_000 + i as i64,
                name: format!("Agreement {:05}", i + 1),
                company_id,
                ..template_agreement.clone()
            }
        })
        .collect();
    let per_agreement = spread(rng, scale.additions, scale.agreements, 0);
    let agreement_ids: Vec<i64> = data.agreements.iter().map(|a| a.id).collect();
    data.additions = owners(rng, &per_agreement)
        .into_iter()
        .enumerate()
        .map(|(i, a)| {
            let id = 100_000 + i as i64;
            CwAddition {
                id,
                agreement_id: agreement_ids[a],
                product_id: products[i % products.len()],
                quantity: Decimal::from(1 + rng.below(200)),
                less_included: Decimal::ZERO,
                cancelled: None,
                sequence_number: (id % 100) + 1,
                ..template_addition.clone()
            }
        })
        .collect();
}

/// What a correct sync of `msp` stores: NinjaOne accounts and items, ConnectWise companies,
/// agreements, lines and products, Microsoft 365 accounts and items (every tenant consented).
pub fn expected(msp: &SampleMsp) -> Expected {
    Expected {
        ninja_accounts: msp.ninjaone.organizations.len(),
        ninja_items: msp.ninjaone.devices.len(),
        cw_companies: msp
            .connectwise
            .companies
            .iter()
            .filter(|c| !c.deleted)
            .count(),
        cw_agreements: msp
            .connectwise
            .agreements
            .iter()
            .filter(|a| !a.cancelled)
            .count(),
        cw_lines: msp.connectwise.additions.len(),
        cw_products: msp
            .connectwise
            .catalog
            .iter()
            .filter(|p| !p.inactive)
            .count(),
        m365_accounts: msp.vendor_records.m365.tenants.len(),
        m365_items: msp
            .vendor_records
            .m365
            .tenants
            .iter()
            .map(|t| t.skus.len())
            .sum(),
    }
}

/// Record counts a correct sync stores; see [`expected`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected {
    pub ninja_accounts: usize,
    pub ninja_items: usize,
    pub cw_companies: usize,
    pub cw_agreements: usize,
    pub cw_lines: usize,
    pub cw_products: usize,
    pub m365_accounts: usize,
    pub m365_items: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scaled_msp_has_the_asked_sizes_and_is_deterministic() {
        let scale = Scale {
            orgs: 50,
            devices: 5_000,
            companies: 20,
            agreements: 40,
            additions: 400,
            tenants: 7,
        };
        let msp = scaled(&scale);
        let e = expected(&msp);
        assert_eq!((e.ninja_accounts, e.ninja_items), (50, 5_000));
        assert_eq!((e.cw_companies, e.cw_agreements, e.cw_lines), (20, 40, 400));
        assert_eq!(e.m365_accounts, 7);
        let devices = &msp.ninjaone.devices;
        assert!(devices.windows(2).all(|w| w[0].id < w[1].id), "ids ascend");
        assert!(
            msp.ninjaone
                .organizations
                .iter()
                .all(|o| devices.iter().any(|d| d.organization_id == o.id)),
            "every organization has a device"
        );
        let per_org = |id: i64| devices.iter().filter(|d| d.organization_id == id).count();
        let sizes: Vec<usize> = (1..=50).map(per_org).collect();
        assert!(sizes.iter().max() > sizes.iter().min(), "uneven: {sizes:?}");
        assert_eq!(scaled(&scale), msp);
    }
}
