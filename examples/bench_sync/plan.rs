//! The request plan of each connection at a given scale: the fewest requests a sync can make and
//! the critical path of sequential requests in rounds, given the concurrency limits. The ideal
//! wall time of a run is its rounds times the latency.

use std::collections::BTreeMap;

use reconcile::demo::sample::SampleMsp;

/// NinjaOne and ConnectWise page size the config asks for (both APIs' maximum).
pub const PAGE: usize = 1000;
/// Microsoft 365: `delegatedAdminCustomers` is read with `$top=300`; `subscribedSkus` in one page.
pub const M365_PAGE: usize = 300;

/// Requests per connection's plan: the fewest requests and the critical path in rounds.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub min_requests: usize,
    pub rounds: usize,
}

/// Keyset paging that stops at a short page (NinjaOne): a full last page costs one more request.
fn keyset_pages(n: usize) -> usize {
    n / PAGE + 1
}

/// Paging that follows a `Link: rel="next"` (ConnectWise) or `@odata.nextLink` (Graph).
fn linked_pages(n: usize, page: usize) -> usize {
    n.div_ceil(page).max(1)
}

/// Independent chains of sequential requests, `c` in flight at once: a lower bound on rounds
/// (no schedule beats the longest chain, nor total / c).
fn parallel_rounds(chains: &[usize], c: usize) -> usize {
    let longest = chains.iter().copied().max().unwrap_or(0);
    let total: usize = chains.iter().sum();
    longest.max(total.div_ceil(c.max(1)))
}

/// NinjaOne: a token; the organizations and the roles side by side; then the devices (the
/// connector lists them once it has the organizations), from the single `/v2/devices` keyset
/// chain or, by organization, one chain per organization, `c` organizations at once.
pub fn ninja_plan(msp: &SampleMsp, by_org: bool, c: usize) -> Plan {
    let n = &msp.ninjaone;
    let org_pages = keyset_pages(n.organizations.len());
    let prefix = 1 + org_pages.max(1);
    if by_org {
        let mut per_org: BTreeMap<i64, usize> = n.organizations.iter().map(|o| (o.id, 0)).collect();
        for d in &n.devices {
            *per_org.entry(d.organization_id).or_default() += 1;
        }
        let chains: Vec<usize> = per_org.values().map(|&k| keyset_pages(k)).collect();
        Plan {
            min_requests: 1 + org_pages + 1 + chains.iter().sum::<usize>(),
            rounds: prefix + parallel_rounds(&chains, c),
        }
    } else {
        let device_pages = keyset_pages(n.devices.len());
        Plan {
            min_requests: 1 + org_pages + 1 + device_pages,
            rounds: prefix + device_pages,
        }
    }
}

/// ConnectWise: companyinfo; then statuses, companies, agreements and the catalog side by side;
/// then every active agreement's additions, `c` agreements at once.
pub fn cw_plan(msp: &SampleMsp, c: usize) -> Plan {
    let cw = &msp.connectwise;
    let lists = [
        linked_pages(cw.company_statuses.len(), PAGE),
        linked_pages(cw.companies.iter().filter(|c| !c.deleted).count(), PAGE),
        linked_pages(cw.agreements.iter().filter(|a| !a.cancelled).count(), PAGE),
        linked_pages(cw.catalog.iter().filter(|p| !p.inactive).count(), PAGE),
    ];
    let mut per_agreement: BTreeMap<i64, usize> = cw
        .agreements
        .iter()
        .filter(|a| !a.cancelled && a.status.eq_ignore_ascii_case("active"))
        .map(|a| (a.id, 0))
        .collect();
    for add in &cw.additions {
        if let Some(k) = per_agreement.get_mut(&add.agreement_id) {
            *k += 1;
        }
    }
    let chains: Vec<usize> = per_agreement
        .values()
        .map(|&k| linked_pages(k, PAGE))
        .collect();
    Plan {
        min_requests: 1 + lists.iter().sum::<usize>() + chains.iter().sum::<usize>(),
        rounds: 1 + lists.iter().copied().max().unwrap_or(0) + parallel_rounds(&chains, c),
    }
}

/// Microsoft 365 (GDAP): the partner token, the customers, then per tenant a token and its
/// `subscribedSkus`, `c` tenants at once.
pub fn m365_plan(msp: &SampleMsp, c: usize) -> Plan {
    let tenants = &msp.vendor_records.m365.tenants;
    let chains: Vec<usize> = tenants
        .iter()
        .map(|t| 1 + linked_pages(t.skus.len(), M365_PAGE))
        .collect();
    let customers = linked_pages(tenants.len(), M365_PAGE);
    Plan {
        min_requests: 1 + customers + chains.iter().sum::<usize>(),
        rounds: 1 + customers + parallel_rounds(&chains, c),
    }
}
