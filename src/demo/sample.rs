//! The sample MSP the demo and the tests run against: its NinjaOne tenant (organizations, device
//! roles, devices), its ConnectWise PSA (company statuses and types, companies, agreements,
//! additions, catalog) and the discrepancies planted in them on purpose ([`Planted`]).
//!
//! Everything comes from [`sample()`], which is deterministic: a fixed seed drives a hand-written
//! splitmix64, so every run, test and screenshot sees the same MSP. The planted facts are computed
//! from the generated records, not written down separately, so they cannot drift from the data.

use std::collections::{BTreeMap, HashMap};

use jiff::Timestamp;
use jiff::tz::TimeZone;
use rust_decimal::Decimal;

use super::vendors::{
    CSV_BILLED, ClientAgreement, DemoVendor, JUMPCLOUD_BILLED, KEEPER_BILLED, M365_BILLED,
    SENTINELONE_BILLED, SHERWEB_BILLED, plant,
};
use crate::connectors::ConnectorKind;
use crate::connectors::ninjaone::{KNOWN_CLASSES, services};
use crate::engine::FindingKind;

/// The seed of the sample; changing it changes every generated device.
pub const SEED: u64 = 0x005E_ED0F_2026_0001;

/// Which NinjaOne service the demo bills as which ConnectWise catalog product.
pub const DEMO_SERVICE_MAP: &[(&str, &str)] = &[
    ("total-workstations", "NINJA-WS"),
    ("total-servers", "NINJA-SRV"),
    ("total-network-devices", "NINJA-NET"),
    ("total-mobile-devices", "NINJA-MDM"),
];

/// The remaining built-in NinjaOne services: overlapping rollups the demo marks "not billed" so
/// they are not reported as unmapped.
pub const DEMO_UNBILLED_SERVICES: &[&str] = &[
    "total-devices",
    "total-physical-servers",
    "total-virtual-servers",
    "total-workstations-and-servers",
];

/// The company type the demo's PSA connection treats as billable.
pub const DEMO_BILLABLE_TYPE: &str = "Client";

/// The whole sample MSP.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleMsp {
    pub ninjaone: NinjaData,
    pub connectwise: CwData,
    /// What was planted for NinjaOne against ConnectWise.
    pub planted: Planted,
    pub sentinelone: super::sentinelone::Sample,
    pub jumpcloud: super::jumpcloud::Sample,
    pub sherweb: super::sherweb::Sample,
    pub keeper: super::keeper::Sample,
    /// A backup vendor's billing export, imported as CSV.
    pub backup: super::csv::Sample,
    pub m365: super::m365::Sample,
    /// The vendors beside NinjaOne, each with its billed services and expected findings.
    pub vendors: Vec<DemoVendor>,
}

/// The demo's connection names of the vendors beside NinjaOne.
pub const DEMO_SENTINELONE: &str = "demo-sentinelone";
pub const DEMO_JUMPCLOUD: &str = "demo-jumpcloud";
pub const DEMO_SHERWEB: &str = "demo-sherweb";
pub const DEMO_KEEPER: &str = "demo-keeper";
pub const DEMO_BACKUP_CSV: &str = "demo-backup-csv";
pub const DEMO_M365: &str = "demo-m365";

#[derive(Debug, Clone, PartialEq)]
pub struct NinjaData {
    /// Sorted by id.
    pub organizations: Vec<NinjaOrganization>,
    pub locations: Vec<NinjaLocation>,
    pub roles: Vec<NinjaRole>,
    /// Sorted by id; ids are increasing but not contiguous, and organizations interleave.
    pub devices: Vec<NinjaDevice>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NinjaOrganization {
    pub id: i64,
    pub name: String,
    pub description: String,
    /// `AUTOMATIC`, `MANUAL` or `REJECT`.
    pub node_approval_mode: String,
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NinjaLocation {
    pub id: i64,
    pub organization_id: i64,
    pub name: String,
    pub address: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NinjaRole {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub node_class: String,
    pub custom: bool,
    pub parent_id: Option<i64>,
    /// `DESKTOP`, `LAPTOP`, `MOBILE` or `UNKNOWN`, for roles that have one.
    pub chassis_type: Option<String>,
    /// Epoch seconds.
    pub created: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NinjaDevice {
    pub id: i64,
    pub uid: String,
    pub organization_id: i64,
    pub location_id: i64,
    /// As the API sends it; a few are classes this build does not know.
    pub node_class: String,
    pub node_role_id: Option<i64>,
    pub policy_id: i64,
    /// `APPROVED` or `PENDING`.
    pub approval_status: String,
    pub offline: bool,
    pub display_name: String,
    pub system_name: String,
    pub dns_name: Option<String>,
    pub netbios_name: Option<String>,
    pub parent_device_id: Option<i64>,
    /// Epoch seconds.
    pub created: i64,
    /// How long before "now" the device last checked in: the sandbox serves `now - age`, so the
    /// sample stays deterministic while looking current on any day it is run.
    pub last_contact_age_secs: i64,
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CwData {
    pub company_statuses: Vec<CwCompanyStatus>,
    pub company_types: Vec<CwCompanyType>,
    /// Including one deleted company the API hides behind `deletedFlag=false`.
    pub companies: Vec<CwCompany>,
    /// Including one cancelled agreement the API hides behind `cancelledFlag=false`.
    pub agreements: Vec<CwAgreement>,
    pub additions: Vec<CwAddition>,
    /// Including one inactive product the API hides behind `inactiveFlag=false`.
    pub catalog: Vec<CwCatalogItem>,
    pub billing_cycles: Vec<(i64, String)>,
    pub agreement_types: Vec<(i64, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CwCompanyStatus {
    pub id: i64,
    pub name: String,
    pub default_flag: bool,
    pub inactive_flag: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CwCompanyType {
    pub id: i64,
    pub name: String,
    pub default_flag: bool,
    pub vendor_flag: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CwCompany {
    pub id: i64,
    pub identifier: String,
    pub name: String,
    pub status_id: i64,
    pub type_ids: Vec<i64>,
    pub deleted: bool,
    pub address_line1: String,
    pub city: String,
    pub state: String,
    pub zip: String,
    pub phone_number: String,
    pub website: String,
    pub date_acquired: Timestamp,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CwAgreement {
    pub id: i64,
    pub name: String,
    pub company_id: i64,
    pub type_id: i64,
    /// `Active`, `Cancelled`, `Expired` or `Inactive`.
    pub status: String,
    pub start: Timestamp,
    pub end: Option<Timestamp>,
    pub cancelled: bool,
    pub date_cancelled: Option<Timestamp>,
    pub reason_cancelled: Option<String>,
    pub billing_cycle_id: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CwAddition {
    pub id: i64,
    pub agreement_id: i64,
    pub product_id: i64,
    pub description: String,
    pub quantity: Decimal,
    pub less_included: Decimal,
    pub unit_price: Decimal,
    pub unit_cost: Decimal,
    /// `Billable`, `DoNotBill` or `NoCharge`.
    pub bill_customer: String,
    pub effective: Timestamp,
    pub cancelled: Option<Timestamp>,
    pub sequence_number: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CwCatalogItem {
    pub id: i64,
    pub identifier: String,
    pub description: String,
    pub customer_description: String,
    pub price: Decimal,
    pub cost: Decimal,
    pub inactive: bool,
    pub category: String,
    pub subcategory: String,
}

/// The ConnectWise company a NinjaOne organization only fuzzily matches.
#[derive(Debug, Clone, PartialEq)]
pub struct FuzzyOrg {
    pub ninjaone: String,
    pub connectwise: String,
}

/// One (company, product) row the reconcile engine should report, given the demo's mappings:
/// exact-name auto-mapping, the fuzzy organization mapped by hand, [`DEMO_SERVICE_MAP`] and
/// [`DEMO_UNBILLED_SERVICES`] not billed.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedLine {
    /// ConnectWise company name.
    pub company: String,
    pub product: String,
    pub kind: FindingKind,
    /// Sum of the quantities of lines in force.
    pub billed: Decimal,
    /// Devices counted (pending approval excluded).
    pub actual: Decimal,
    /// Devices of this product's classes waiting for approval, not counted.
    pub pending: u64,
    /// Devices not in contact for more than [`DEMO_INACTIVE_AFTER_DAYS`] days (and not pending),
    /// not counted under the default `[rules]`.
    pub inactive: u64,
}

/// The default stale threshold of `[rules] inactive_after_days`, which the expected lines
/// assume. No sample device's last contact is within two hours of it, so the few seconds
/// between serving and reconciling never move a device across it.
pub const DEMO_INACTIVE_AFTER_DAYS: i64 = 30;

/// What was planted in the sample on purpose, so tests assert findings without restating them.
#[derive(Debug, Clone, PartialEq)]
pub struct Planted {
    /// ConnectWise company names with one product billed for fewer devices than used.
    pub under_billed: Vec<String>,
    /// ConnectWise company names with one product billed for more devices than used.
    pub over_billed: Vec<String>,
    /// Companies whose every line matches (the fuzzy one once mapped, the cancelled-line one).
    pub matched: Vec<String>,
    /// A client billed for devices NinjaOne no longer has (no organization at all).
    pub billing_no_usage: Vec<String>,
    /// A NinjaOne organization with no ConnectWise company.
    pub unmatched_org: String,
    /// Not equal after folding case and whitespace, similar enough to be suggested.
    pub fuzzy_org: FuzzyOrg,
    /// The client with a cancelled addition that must not count.
    pub cancelled_addition_company: String,
    pub cancelled_addition_id: i64,
    /// A client company with an inactive status (its active agreement must be ignored).
    pub inactive_company: String,
    /// A company whose only type is not `Client`.
    pub non_client_company: String,
    /// A company with `deletedFlag: true`, which the API never returns to the connector.
    pub deleted_company: String,
    /// A cancelled agreement, which the API never returns to the connector.
    pub cancelled_agreement: String,
    /// An inactive catalog item, which the API never returns to the connector.
    pub inactive_product: String,
    /// Devices with a class this build does not know that roll up through their custom role.
    pub rolled_up_devices: Vec<String>,
    /// A device with an unknown class and no role: kept as sent, counted only in total-devices.
    pub unknown_class_device: String,
    /// Every line finding the engine should produce, sorted by company then product.
    pub expected: Vec<ExpectedLine>,
}

/// A small, fast, well-mixed PRNG (splitmix64): good enough for plausible data, and owned here
/// so the sample never changes with a dependency's version.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0); the modulo bias is irrelevant at these sizes.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True with probability `per_mille` / 1000.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    fn weighted<'a>(&mut self, table: &[(&'a str, u64)]) -> &'a str {
        let total: u64 = table.iter().map(|(_, w)| w).sum();
        let mut r = self.below(total);
        for (item, w) in table {
            if r < *w {
                return item;
            }
            r -= w;
        }
        table[table.len() - 1].0
    }
}

fn day(y: i16, m: i8, d: i8) -> Timestamp {
    jiff::civil::date(y, m, d)
        .to_zoned(TimeZone::UTC)
        .expect("a valid date")
        .timestamp()
}

fn dec(s: &str) -> Decimal {
    s.parse().expect("a decimal literal")
}

#[derive(Clone, Copy, PartialEq)]
enum Plant {
    Match,
    Under(&'static str, u32),
    Over(&'static str, u32),
}

/// One client of the MSP as both systems know it.
struct ClientSpec {
    cw_name: &'static str,
    /// The organization's name in NinjaOne when it differs from the PSA's.
    ninja_name: Option<&'static str>,
    code: &'static str,
    workstations: u64,
    city: &'static str,
    state: &'static str,
    plant: Plant,
}

const fn client(
    cw_name: &'static str,
    code: &'static str,
    workstations: u64,
    city: &'static str,
    state: &'static str,
    plant: Plant,
) -> ClientSpec {
    ClientSpec {
        cw_name,
        ninja_name: None,
        code,
        workstations,
        city,
        state,
        plant,
    }
}

const CANCELLED_LINE_CLIENT: &str = "Cedar Point Logistics";
const CANCELLED_AGREEMENT_CLIENT: &str = "Acme Dental Group";
const ROLLUP_CLIENT: &str = "Pinecrest Academy";
const UNKNOWN_CLASS_CLIENT: &str = "Ironwood Manufacturing";
const LESS_INCLUDED_CLIENT: &str = "Granite State Credit Union";
const UNMATCHED_ORG: (&str, &str) = ("Harbor Light Church", "HLC");
const BILLING_NO_USAGE: (&str, &str, &str) = ("Summit Ridge Veterinary", "Bozeman", "MT");
const INACTIVE_COMPANY: (&str, &str, &str) = ("Old Mill Bakery", "Stowe", "VT");
const VENDOR_COMPANY: (&str, &str, &str) = ("Crestline Distribution", "Reno", "NV");
const DELETED_COMPANY: (&str, &str, &str) = ("Zenith Legal Services", "Tulsa", "OK");

fn clients() -> Vec<ClientSpec> {
    use Plant::*;
    let mut v = vec![
        client("Acme Dental Group", "ACME", 48, "Springfield", "IL", Match),
        client("Brightside Pediatrics", "BSP", 30, "Columbus", "OH", Match),
        client("Cedar Point Logistics", "CPL", 62, "Sandusky", "OH", Match),
        client(
            "Delta Ridge Engineering",
            "DRE",
            55,
            "Boulder",
            "CO",
            Under("NINJA-WS", 6),
        ),
        client("Evergreen Family Law", "EFL", 18, "Olympia", "WA", Match),
        client(
            "Foxglove Architects",
            "FOX",
            26,
            "Portland",
            "ME",
            Over("NINJA-WS", 5),
        ),
        client(
            "Granite State Credit Union",
            "GSCU",
            95,
            "Concord",
            "NH",
            Match,
        ),
        client(
            "Hillcrest Veterinary Clinic",
            "HVC",
            22,
            "Lexington",
            "KY",
            Match,
        ),
        client("Ironwood Manufacturing", "IWM", 80, "Gary", "IN", Match),
        client(
            "Juniper Health Partners",
            "JHP",
            70,
            "Sedona",
            "AZ",
            Under("NINJA-SRV", 3),
        ),
        client(
            "Keystone Title & Escrow",
            "KTE",
            24,
            "Harrisburg",
            "PA",
            Match,
        ),
        client(
            "Lakeside Orthopedics",
            "LSO",
            44,
            "Madison",
            "WI",
            Over("NINJA-NET", 4),
        ),
        client(
            "Maple Street Accounting",
            "MSA",
            16,
            "Burlington",
            "VT",
            Match,
        ),
        client("Northwind Traders, LLC", "NWT", 38, "Seattle", "WA", Match),
        client(
            "Oakridge Property Management",
            "OPM",
            28,
            "Knoxville",
            "TN",
            Match,
        ),
        client("Pinecrest Academy", "PCA", 65, "Asheville", "NC", Match),
        client(
            "Quarry Hill Construction",
            "QHC",
            34,
            "Barre",
            "VT",
            Under("NINJA-NET", 5),
        ),
        client(
            "Riverbend Insurance Agency",
            "RBI",
            20,
            "Dubuque",
            "IA",
            Match,
        ),
        client("Silverline Realty", "SLR", 26, "Boise", "ID", Match),
        client(
            "Tidewater Marine Supply",
            "TMS",
            32,
            "Norfolk",
            "VA",
            Over("NINJA-SRV", 2),
        ),
        client(
            "Union Square Bistro Group",
            "USB",
            40,
            "Providence",
            "RI",
            Match,
        ),
        client(
            "Valley View Senior Living",
            "VVSL",
            58,
            "Fresno",
            "CA",
            Under("NINJA-MDM", 7),
        ),
        client(
            "Westbrook Chiropractic",
            "WBC",
            12,
            "Westbrook",
            "ME",
            Match,
        ),
        client("Yellowstone Outfitters", "YSO", 28, "Cody", "WY", Match),
    ];
    // Equal once case and whitespace are folded: auto-mapped.
    v[1].ninja_name = Some("Brightside  Pediatrics");
    v[0].ninja_name = Some("ACME Dental Group");
    // Only similar: a person must confirm the suggestion.
    v[13].ninja_name = Some("Northwind Traders Inc");
    v
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Family {
    Agent,
    Nms,
    Mobile,
    Other,
}

/// Device name infix and family per class.
fn class_info(class: &str) -> (&'static str, Family) {
    use Family::*;
    match class {
        "WINDOWS_WORKSTATION" => ("WS", Agent),
        "MAC" => ("MAC", Agent),
        "LINUX_WORKSTATION" => ("LNXWS", Agent),
        "NMS_COMPUTER" => ("PC", Nms),
        "WINDOWS_SERVER" => ("SRV", Agent),
        "LINUX_SERVER" => ("LNX", Agent),
        "MAC_SERVER" => ("MACSRV", Agent),
        "HYPERV_VMM_HOST" => ("HV", Agent),
        "HYPERV_VMM_GUEST" => ("VM", Agent),
        "VMWARE_VM_HOST" => ("ESX", Agent),
        "VMWARE_VM_GUEST" => ("VMW", Agent),
        "NMS_SERVER" => ("NSRV", Nms),
        "NMS_VM_HOST" => ("VMH", Nms),
        "NMS_VIRTUAL_MACHINE" => ("NVM", Nms),
        "NMS_SWITCH" => ("SW", Nms),
        "NMS_ROUTER" => ("RTR", Nms),
        "NMS_FIREWALL" => ("FW", Nms),
        "NMS_PRIVATE_NETWORK_GATEWAY" => ("PNG", Nms),
        "NMS_PRINTER" => ("PRN", Nms),
        "NMS_SCANNER" => ("SCN", Nms),
        "NMS_DIAL_MANAGER" => ("DIAL", Nms),
        "NMS_WAP" => ("AP", Nms),
        "NMS_IPSLA" => ("IPSLA", Nms),
        "NMS_APPLIANCE" => ("APPL", Nms),
        "NMS_OTHER" => ("NET", Nms),
        "NMS_PHONE" => ("PHN", Nms),
        "NMS_NETWORK_MANAGEMENT_AGENT" => ("NMA", Agent),
        "CLOUD_MONITOR_TARGET" => ("CLD", Nms),
        "ANDROID" => ("AND", Mobile),
        "APPLE_IOS" => ("IPH", Mobile),
        "APPLE_IPADOS" => ("IPAD", Mobile),
        "UNMANAGED_DEVICE" => ("UNM", Other),
        "MANAGED_DEVICE" => ("MGD", Other),
        "WINDOWS_THIN_CLIENT" => ("TC", Agent),
        "NMS_UPS" => ("UPS", Nms),
        _ => ("DEV", Nms),
    }
}

fn role_name(class: &str) -> (&'static str, Option<&'static str>) {
    match class {
        "WINDOWS_WORKSTATION" => ("Windows Desktop/Laptop", Some("DESKTOP")),
        "MAC" => ("Mac", Some("LAPTOP")),
        "LINUX_WORKSTATION" => ("Linux Workstation", Some("DESKTOP")),
        "WINDOWS_SERVER" => ("Windows Server", None),
        "LINUX_SERVER" => ("Linux Server", None),
        "MAC_SERVER" => ("Mac Server", None),
        "HYPERV_VMM_HOST" => ("Hyper-V Host", None),
        "HYPERV_VMM_GUEST" => ("Hyper-V Guest", None),
        "VMWARE_VM_HOST" => ("VMware ESXi Host", None),
        "VMWARE_VM_GUEST" => ("VMware Guest", None),
        "ANDROID" => ("Android", Some("MOBILE")),
        "APPLE_IOS" => ("iPhone", Some("MOBILE")),
        "APPLE_IPADOS" => ("iPad", Some("MOBILE")),
        "CLOUD_MONITOR_TARGET" => ("Cloud Monitor Target", None),
        "NMS_SWITCH" => ("Switch", None),
        "NMS_ROUTER" => ("Router", None),
        "NMS_FIREWALL" => ("Firewall", None),
        "NMS_PRIVATE_NETWORK_GATEWAY" => ("Private Network Gateway", None),
        "NMS_PRINTER" => ("Printer", None),
        "NMS_SCANNER" => ("Scanner", None),
        "NMS_DIAL_MANAGER" => ("Dial Manager", None),
        "NMS_WAP" => ("Wireless Access Point", None),
        "NMS_IPSLA" => ("IP SLA", None),
        "NMS_COMPUTER" => ("Computer (NMS)", None),
        "NMS_VM_HOST" => ("VM Host (NMS)", None),
        "NMS_APPLIANCE" => ("Appliance", None),
        "NMS_OTHER" => ("Other Network Device", None),
        "NMS_SERVER" => ("Server (NMS)", None),
        "NMS_PHONE" => ("VoIP Phone", None),
        "NMS_VIRTUAL_MACHINE" => ("Virtual Machine (NMS)", None),
        "NMS_NETWORK_MANAGEMENT_AGENT" => ("Network Management Agent", None),
        "UNMANAGED_DEVICE" => ("Unmanaged Device", None),
        "MANAGED_DEVICE" => ("Managed Device", None),
        _ => ("Device", None),
    }
}

const WORKSTATION_MIX: &[(&str, u64)] = &[
    ("WINDOWS_WORKSTATION", 80),
    ("MAC", 14),
    ("LINUX_WORKSTATION", 4),
    ("NMS_COMPUTER", 2),
];
const SERVER_MIX: &[(&str, u64)] = &[
    ("WINDOWS_SERVER", 40),
    ("HYPERV_VMM_GUEST", 16),
    ("VMWARE_VM_GUEST", 10),
    ("LINUX_SERVER", 10),
    ("HYPERV_VMM_HOST", 8),
    ("VMWARE_VM_HOST", 5),
    ("NMS_SERVER", 4),
    ("NMS_VIRTUAL_MACHINE", 3),
    ("NMS_VM_HOST", 2),
    ("MAC_SERVER", 2),
];
const NETWORK_MIX: &[(&str, u64)] = &[
    ("NMS_SWITCH", 24),
    ("NMS_WAP", 20),
    ("NMS_PRINTER", 16),
    ("NMS_FIREWALL", 8),
    ("NMS_PHONE", 8),
    ("NMS_ROUTER", 7),
    ("NMS_SCANNER", 4),
    ("NMS_APPLIANCE", 3),
    ("NMS_OTHER", 3),
    ("CLOUD_MONITOR_TARGET", 3),
    ("NMS_PRIVATE_NETWORK_GATEWAY", 1),
    ("NMS_DIAL_MANAGER", 1),
    ("NMS_IPSLA", 1),
    ("NMS_NETWORK_MANAGEMENT_AGENT", 1),
];
const MOBILE_MIX: &[(&str, u64)] = &[("APPLE_IOS", 50), ("ANDROID", 30), ("APPLE_IPADOS", 20)];

/// The catalog: (id, identifier, description, price, cost, inactive).
const CATALOG: &[(i64, &str, &str, &str, &str, bool)] = &[
    (
        301,
        "NINJA-WS",
        "Managed Workstation (NinjaOne RMM)",
        "45.00",
        "12.50",
        false,
    ),
    (
        302,
        "NINJA-SRV",
        "Managed Server (NinjaOne RMM)",
        "125.00",
        "35.00",
        false,
    ),
    (
        303,
        "NINJA-NET",
        "Monitored Network Device (NinjaOne NMS)",
        "15.00",
        "4.00",
        false,
    ),
    (
        304,
        "NINJA-MDM",
        "Managed Mobile Device (NinjaOne MDM)",
        "8.50",
        "2.25",
        false,
    ),
    (
        305,
        "M365-BACKUP",
        "Microsoft 365 Backup per user",
        "4.00",
        "1.60",
        false,
    ),
    (
        306,
        "NINJA-LEGACY",
        "Managed Device (legacy flat rate)",
        "39.00",
        "11.00",
        true,
    ),
];

fn product_id(identifier: &str) -> i64 {
    CATALOG
        .iter()
        .find(|p| p.1 == identifier)
        .map(|p| p.0)
        .expect("a catalog product")
}

fn catalog_price(identifier: &str) -> (Decimal, Decimal) {
    let p = CATALOG
        .iter()
        .find(|p| p.1 == identifier)
        .expect("a catalog product");
    (dec(p.3), dec(p.4))
}

/// The product a device of `class` is billed as under [`DEMO_SERVICE_MAP`], if any.
pub fn demo_product_for_class(class: &str) -> Option<&'static str> {
    let defs = services();
    DEMO_SERVICE_MAP.iter().find_map(|(key, product)| {
        defs.iter()
            .find(|d| d.key == *key)
            .and_then(|d| d.classes.as_ref())
            .filter(|classes| classes.iter().any(|c| c == class))
            .map(|_| *product)
    })
}

/// The class the NinjaOne connector counts a device as: its own when known, else its role's
/// when that is known (custom roles sit under a built-in class), else its own.
pub fn effective_class<'a>(device: &'a NinjaDevice, roles: &'a [NinjaRole]) -> &'a str {
    if KNOWN_CLASSES.contains(&device.node_class.as_str()) {
        return &device.node_class;
    }
    device
        .node_role_id
        .and_then(|id| roles.iter().find(|r| r.id == id))
        .map(|r| r.node_class.as_str())
        .filter(|c| KNOWN_CLASSES.contains(c))
        .unwrap_or(&device.node_class)
}

fn identifier_of(name: &str) -> String {
    let words: Vec<String> = name
        .split_whitespace()
        .map(|w| w.chars().filter(|c| c.is_ascii_alphanumeric()).collect())
        .filter(|w: &String| !w.is_empty())
        .collect();
    let mut id: String = words.iter().take(2).cloned().collect();
    id.truncate(30);
    id
}

/// A device before ids are assigned.
struct Draft {
    org_index: usize,
    location_id: i64,
    class: String,
    role_id: Option<i64>,
    name: String,
    domain: String,
    pending: bool,
    offline: bool,
    age: i64,
    created: i64,
    tags: Vec<String>,
    ip: String,
}

/// The sample MSP. Deterministic: equal on every call.
pub fn sample() -> SampleMsp {
    let mut rng = SplitMix64::new(SEED);
    let specs = clients();

    // ---- NinjaOne ----------------------------------------------------------------------------
    let mut roles: Vec<NinjaRole> = Vec::new();
    let mut role_of_class: HashMap<&str, i64> = HashMap::new();
    let roles_created = day(2021, 3, 15).as_second();
    for (i, class) in KNOWN_CLASSES.iter().enumerate() {
        let (name, chassis) = role_name(class);
        let id = 1 + i as i64;
        role_of_class.insert(class, id);
        roles.push(NinjaRole {
            id,
            name: name.into(),
            description: format!("Default role for {name} devices"),
            node_class: class.to_string(),
            custom: false,
            parent_id: None,
            chassis_type: chassis.map(String::from),
            created: roles_created,
        });
    }
    let custom_role = |id: i64, name: &str, class: &str, parent: i64| NinjaRole {
        id,
        name: name.into(),
        description: format!("Custom role under {class}"),
        node_class: class.into(),
        custom: true,
        parent_id: Some(parent),
        chassis_type: None,
        created: day(2024, 8, 20).as_second(),
    };
    let thin_client_role = 501;
    let dc_role = 502;
    roles.push(custom_role(
        thin_client_role,
        "Library Thin Client",
        "WINDOWS_WORKSTATION",
        role_of_class["WINDOWS_WORKSTATION"],
    ));
    roles.push(custom_role(
        dc_role,
        "Domain Controller",
        "WINDOWS_SERVER",
        role_of_class["WINDOWS_SERVER"],
    ));

    // Organizations: every client NinjaOne knows, plus one the PSA does not.
    let mut org_names: Vec<(String, &str)> = specs
        .iter()
        .map(|s| (s.ninja_name.unwrap_or(s.cw_name).to_string(), s.code))
        .collect();
    org_names.push((UNMATCHED_ORG.0.to_string(), UNMATCHED_ORG.1));
    let mut organizations = Vec::new();
    let mut locations = Vec::new();
    let mut org_id = 2;
    for (i, (name, code)) in org_names.iter().enumerate() {
        let id = org_id;
        org_id += 1 + rng.below(3) as i64;
        let manual = i % 5 == 2 || name == UNMATCHED_ORG.0;
        organizations.push(NinjaOrganization {
            id,
            name: name.clone(),
            description: format!("{code} managed since onboarding"),
            node_approval_mode: if manual { "MANUAL" } else { "AUTOMATIC" }.into(),
            tags: Vec::new(),
        });
        let n_locations = 1 + rng.below(3) as i64;
        for k in 0..n_locations {
            locations.push(NinjaLocation {
                id: id * 10 + k,
                organization_id: id,
                name: if k == 0 {
                    "Main Office".into()
                } else {
                    format!("Branch {k}")
                },
                address: format!("{} Main St", 100 + rng.below(900)),
            });
        }
    }

    let mut drafts: Vec<Draft> = Vec::new();
    let mut counters: HashMap<(usize, &'static str), u32> = HashMap::new();
    let mut add = |rng: &mut SplitMix64, org_index: usize, class: &str, role: Option<i64>| {
        let (infix, family) = class_info(class);
        let code = org_names[org_index].1;
        let n = counters.entry((org_index, infix)).or_insert(0);
        *n += 1;
        let name = if infix == "WS" {
            format!("{code}-{infix}-{:03}", *n)
        } else {
            format!("{code}-{infix}-{:02}", *n)
        };
        let org = &organizations[org_index];
        let org_locations: Vec<i64> = locations
            .iter()
            .filter(|l| l.organization_id == org.id)
            .map(|l| l.id)
            .collect();
        let location_id = org_locations[rng.below(org_locations.len() as u64) as usize];
        let approvable = matches!(family, Family::Agent | Family::Mobile);
        let pending_per_mille = if org.node_approval_mode == "MANUAL" {
            60
        } else {
            8
        };
        let pending = approvable && rng.chance(pending_per_mille);
        let offline = match family {
            Family::Mobile => rng.chance(140),
            Family::Agent => rng.chance(60),
            _ => rng.chance(30),
        };
        let age = if offline {
            86_400 * (2 + rng.below(40) as i64) + rng.below(86_400) as i64
        } else {
            30 + rng.below(900) as i64
        };
        // Keep clear of the stale threshold (see DEMO_INACTIVE_AFTER_DAYS).
        let threshold = DEMO_INACTIVE_AFTER_DAYS * 86_400;
        let age = match age - threshold {
            d if d.abs() >= 7_200 => age,
            d if d >= 0 => threshold + 7_200,
            _ => threshold - 7_200,
        };
        let mut tags = Vec::new();
        if family == Family::Agent && rng.chance(25) {
            tags.push("loaner".to_string());
        }
        drafts.push(Draft {
            org_index,
            location_id,
            class: class.to_string(),
            role_id: role.or_else(|| role_of_class.get(class).copied()),
            name,
            domain: format!("{}.local", code.to_ascii_lowercase()),
            pending,
            offline,
            age,
            created: day(2022, 1, 1).as_second() + rng.below(3 * 365 * 86_400) as i64,
            tags,
            ip: format!(
                "10.{}.{}.{}",
                org_index + 10,
                rng.below(4),
                10 + rng.below(240)
            ),
        });
    };

    let org_index_of = |name: &str| {
        specs
            .iter()
            .position(|s| s.cw_name == name)
            .expect("a client")
    };
    // Every class the API knows appears at least once, whatever the dice say.
    for (i, class) in KNOWN_CLASSES.iter().enumerate() {
        add(&mut rng, (i * 7) % specs.len(), class, None);
    }
    for (oi, spec) in specs.iter().enumerate() {
        let ws = spec.workstations;
        let planted_product = match spec.plant {
            Plant::Under(p, d) | Plant::Over(p, d) => Some((p, d as u64)),
            Plant::Match => None,
        };
        // A planted product needs enough usage for the planted difference to stay a difference.
        let at_least = |product: &str, n: u64| match planted_product {
            Some((p, d)) if p == product => n.max(d + 4),
            _ => n,
        };
        let n_srv = at_least("NINJA-SRV", 1 + ws / 12 + rng.below(3));
        let n_net = at_least("NINJA-NET", 2 + ws / 8 + rng.below(4));
        let n_mob = at_least(
            "NINJA-MDM",
            if rng.below(4) == 0 {
                0
            } else {
                ws / 5 + rng.below(6)
            },
        );
        for _ in 0..ws {
            let class = rng.weighted(WORKSTATION_MIX);
            add(&mut rng, oi, class, None);
        }
        for i in 0..n_srv {
            let class = rng.weighted(SERVER_MIX);
            let role = (i == 0 && class == "WINDOWS_SERVER").then_some(dc_role);
            add(&mut rng, oi, class, role);
        }
        for _ in 0..n_net {
            let class = rng.weighted(NETWORK_MIX);
            add(&mut rng, oi, class, None);
        }
        for _ in 0..n_mob {
            let class = rng.weighted(MOBILE_MIX);
            add(&mut rng, oi, class, None);
        }
        if rng.chance(300) {
            let class = if rng.chance(500) {
                "UNMANAGED_DEVICE"
            } else {
                "MANAGED_DEVICE"
            };
            add(&mut rng, oi, class, None);
        }
    }
    // The unmatched organization is a small church office.
    let hlc = org_names.len() - 1;
    for _ in 0..14 {
        let class = rng.weighted(WORKSTATION_MIX);
        add(&mut rng, hlc, class, None);
    }
    add(&mut rng, hlc, "WINDOWS_SERVER", None);
    add(&mut rng, hlc, "NMS_FIREWALL", None);
    add(&mut rng, hlc, "NMS_WAP", None);
    // Classes a newer API may send: one rolls up through its custom role, one stays as sent.
    let rollup = org_index_of(ROLLUP_CLIENT);
    for _ in 0..4 {
        add(
            &mut rng,
            rollup,
            "WINDOWS_THIN_CLIENT",
            Some(thin_client_role),
        );
    }
    add(
        &mut rng,
        org_index_of(UNKNOWN_CLASS_CLIENT),
        "NMS_UPS",
        None,
    );
    let drafts_len = drafts.len();
    // Keep the planted extras approved so they always count.
    for d in drafts[drafts_len - 5..].iter_mut() {
        d.pending = false;
        d.offline = false;
        d.age = d.age.min(900);
    }

    // NinjaOne ids follow enrolment order, which interleaves organizations.
    for i in (1..drafts.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        drafts.swap(i, j);
    }
    let mut devices = Vec::with_capacity(drafts.len());
    let mut next_id = 1001;
    for d in drafts {
        let id = next_id;
        next_id += 1 + rng.below(3) as i64;
        let (_, family) = class_info(&d.class);
        let org = &organizations[d.org_index];
        let uid = format!(
            "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
            rng.next_u64() as u32,
            rng.below(0x10000),
            rng.below(0x1000),
            rng.below(0x1000),
            rng.next_u64() & 0xFFFF_FFFF_FFFF
        );
        let (dns_name, netbios_name) = match family {
            Family::Agent => (
                Some(format!("{}.{}", d.name.to_ascii_lowercase(), d.domain)),
                (d.class.starts_with("WINDOWS") || d.class.starts_with("HYPERV"))
                    .then(|| d.name.chars().take(15).collect()),
            ),
            Family::Nms | Family::Other => (Some(d.ip.clone()), None),
            Family::Mobile => (None, None),
        };
        devices.push(NinjaDevice {
            id,
            uid,
            organization_id: org.id,
            location_id: d.location_id,
            node_class: d.class,
            node_role_id: d.role_id,
            policy_id: 10 + d.org_index as i64 % 4,
            approval_status: if d.pending { "PENDING" } else { "APPROVED" }.into(),
            offline: d.offline,
            display_name: d.name.clone(),
            system_name: d.name,
            dns_name,
            netbios_name,
            parent_device_id: None,
            created: d.created,
            last_contact_age_secs: d.age,
            tags: d.tags,
        });
    }
    // Guests point at a host of their hypervisor in the same organization, as NinjaOne links them.
    for i in 0..devices.len() {
        let host_class = match devices[i].node_class.as_str() {
            "VMWARE_VM_GUEST" => "VMWARE_VM_HOST",
            "HYPERV_VMM_GUEST" => "HYPERV_VMM_HOST",
            _ => continue,
        };
        let org = devices[i].organization_id;
        devices[i].parent_device_id = devices
            .iter()
            .find(|h| h.organization_id == org && h.node_class == host_class)
            .map(|h| h.id);
    }

    // ---- ConnectWise -------------------------------------------------------------------------
    let company_statuses = vec![
        status(1, "Active", true, false),
        status(2, "Inactive", false, true),
        status(3, "Credit Hold", false, false),
        status(4, "Not Approved", false, true),
    ];
    let company_types = vec![
        ctype(1, "Client", true, false),
        ctype(2, "Prospect", false, false),
        ctype(3, "Vendor", false, true),
        ctype(4, "Partner", false, false),
    ];
    let billing_cycles = vec![
        (1, "Annual".into()),
        (2, "Monthly".into()),
        (3, "Quarterly".into()),
    ];
    let agreement_types = vec![(1, "Block Time".into()), (3, "Managed Services".into())];
    let catalog: Vec<CwCatalogItem> = CATALOG
        .iter()
        .map(|(id, ident, desc, price, cost, inactive)| CwCatalogItem {
            id: *id,
            identifier: ident.to_string(),
            description: desc.to_string(),
            customer_description: desc.to_string(),
            price: dec(price),
            cost: dec(cost),
            inactive: *inactive,
            category: "Managed Services".into(),
            subcategory: if ident.starts_with("NINJA") {
                "RMM".into()
            } else {
                "Backup".into()
            },
        })
        .collect();

    let mut companies = Vec::new();
    let mut company_id = 250;
    let mut new_company = |rng: &mut SplitMix64,
                           name: &str,
                           city: &str,
                           state: &str,
                           status_id: i64,
                           types: Vec<i64>,
                           deleted: bool| {
        let id = company_id;
        company_id += 1 + rng.below(4) as i64;
        let host: String = identifier_of(name).to_ascii_lowercase();
        companies.push(CwCompany {
            id,
            identifier: identifier_of(name),
            name: name.into(),
            status_id,
            type_ids: types,
            deleted,
            address_line1: format!("{} {} Ave", 10 + rng.below(990), city),
            city: city.into(),
            state: state.into(),
            zip: format!("{:05}", 1000 + rng.below(98_000)),
            phone_number: format!("{}555{:04}", 200 + rng.below(700), rng.below(10_000)),
            website: format!("www.{host}.com"),
            date_acquired: day(2018 + rng.below(6) as i16, 1 + rng.below(12) as i8, 1),
        });
        id
    };
    let mut client_company_ids = Vec::new();
    for s in &specs {
        client_company_ids.push(new_company(
            &mut rng,
            s.cw_name,
            s.city,
            s.state,
            1,
            vec![1],
            false,
        ));
    }
    let summit_id = new_company(
        &mut rng,
        BILLING_NO_USAGE.0,
        BILLING_NO_USAGE.1,
        BILLING_NO_USAGE.2,
        1,
        vec![1],
        false,
    );
    let old_mill_id = new_company(
        &mut rng,
        INACTIVE_COMPANY.0,
        INACTIVE_COMPANY.1,
        INACTIVE_COMPANY.2,
        2,
        vec![1],
        false,
    );
    new_company(
        &mut rng,
        VENDOR_COMPANY.0,
        VENDOR_COMPANY.1,
        VENDOR_COMPANY.2,
        1,
        vec![3],
        false,
    );
    new_company(
        &mut rng,
        DELETED_COMPANY.0,
        DELETED_COMPANY.1,
        DELETED_COMPANY.2,
        1,
        vec![1],
        true,
    );

    // Usage per (client, product) as the engine will count it.
    let mut usage: HashMap<(i64, &'static str), (u64, u64, u64)> = HashMap::new();
    for d in &devices {
        if let Some(p) = demo_product_for_class(effective_class(d, &roles)) {
            let e = usage.entry((d.organization_id, p)).or_default();
            if d.approval_status == "PENDING" {
                e.1 += 1;
            } else if d.last_contact_age_secs > DEMO_INACTIVE_AFTER_DAYS * 86_400 {
                e.2 += 1;
            } else {
                e.0 += 1;
            }
        }
    }

    let mut agreements = Vec::new();
    let mut additions = Vec::new();
    let mut agreement_id = 1200;
    let mut addition_id = 8800;
    let mut expected = Vec::new();
    let mut cancelled_addition_id = 0;
    let products = ["NINJA-WS", "NINJA-SRV", "NINJA-NET", "NINJA-MDM"];
    let mut new_agreement = |rng: &mut SplitMix64,
                             company: &str,
                             company_id: i64,
                             start: Timestamp,
                             cancelled: Option<Timestamp>| {
        let id = agreement_id;
        agreement_id += 1 + rng.below(5) as i64;
        let name = match cancelled {
            Some(_) => format!("{company} - Managed Services (2022)"),
            None => format!("{company} - Managed Services"),
        };
        agreements.push(CwAgreement {
            id,
            name,
            company_id,
            type_id: 3,
            status: if cancelled.is_some() {
                "Cancelled"
            } else {
                "Active"
            }
            .into(),
            start,
            end: cancelled,
            cancelled: cancelled.is_some(),
            date_cancelled: cancelled,
            reason_cancelled: cancelled.map(|_| "Replaced by a new agreement".into()),
            billing_cycle_id: 2,
        });
        id
    };
    let mut add_line = |agreement: i64,
                        product: &str,
                        quantity: u64,
                        price: Decimal,
                        effective: Timestamp,
                        cancelled: Option<Timestamp>,
                        less_included: u64| {
        let id = addition_id;
        addition_id += 1;
        let (_, cost) = catalog_price(product);
        let desc = CATALOG
            .iter()
            .find(|p| p.1 == product)
            .map(|p| p.2)
            .unwrap_or(product);
        additions.push(CwAddition {
            id,
            agreement_id: agreement,
            product_id: product_id(product),
            description: desc.to_string(),
            quantity: Decimal::from(quantity),
            less_included: Decimal::from(less_included),
            unit_price: price,
            unit_cost: cost,
            bill_customer: "Billable".into(),
            effective,
            cancelled,
            sequence_number: (id % 100) + 1,
        });
        id
    };

    let mut under_billed = Vec::new();
    let mut over_billed = Vec::new();
    let mut matched = Vec::new();
    let mut client_agreements = Vec::new();
    for (i, s) in specs.iter().enumerate() {
        let company_id = client_company_ids[i];
        let org = organizations[i].id;
        let start = day(2023 + rng.below(3) as i16, 1 + rng.below(12) as i8, 1);
        if s.cw_name == CANCELLED_AGREEMENT_CLIENT {
            let old = new_agreement(
                &mut rng,
                s.cw_name,
                company_id,
                day(2022, 1, 1),
                Some(day(2022, 12, 31)),
            );
            add_line(old, "NINJA-WS", 30, dec("49.00"), day(2022, 1, 1), None, 0);
        }
        let agreement = new_agreement(&mut rng, s.cw_name, company_id, start, None);
        client_agreements.push(ClientAgreement {
            name: s.cw_name.to_string(),
            agreement_id: agreement,
            start,
        });
        // Bigger clients negotiated 10% off list.
        let discount = if s.workstations >= 60 {
            dec("0.9")
        } else {
            Decimal::ONE
        };
        for product in products {
            let (actual, pending, inactive) =
                usage.get(&(org, product)).copied().unwrap_or_default();
            let billed = match s.plant {
                Plant::Under(p, d) if p == product => actual.saturating_sub(d as u64),
                Plant::Over(p, d) if p == product => actual + d as u64,
                _ => actual,
            };
            if billed == 0 && actual == 0 {
                // Devices only waiting for approval still make the engine look at the pair,
                // and it reports a match of nothing against nothing.
                if pending + inactive > 0 {
                    expected.push(ExpectedLine {
                        company: s.cw_name.into(),
                        product: product.into(),
                        kind: FindingKind::Match,
                        billed: Decimal::ZERO,
                        actual: Decimal::ZERO,
                        pending,
                        inactive,
                    });
                }
                continue;
            }
            let price = (catalog_price(product).0 * discount).round_dp(2);
            let less_included = if s.cw_name == LESS_INCLUDED_CLIENT && product == "NINJA-SRV" {
                2
            } else {
                0
            };
            if s.cw_name == CANCELLED_LINE_CLIENT && product == "NINJA-WS" {
                // The old rate ended mid-2025; its replacement starts the day after.
                cancelled_addition_id = add_line(
                    agreement,
                    product,
                    billed + 25,
                    dec("52.00"),
                    start,
                    Some(day(2025, 6, 30)),
                    0,
                );
                add_line(agreement, product, billed, price, day(2025, 7, 1), None, 0);
            } else {
                add_line(
                    agreement,
                    product,
                    billed,
                    price,
                    start,
                    None,
                    less_included,
                );
            }
            let kind = if billed > 0 && actual == 0 {
                FindingKind::BillingNoUsage
            } else if billed < actual {
                FindingKind::UnderBilled
            } else if billed > actual {
                FindingKind::OverBilled
            } else {
                FindingKind::Match
            };
            expected.push(ExpectedLine {
                company: s.cw_name.into(),
                product: product.into(),
                kind,
                billed: Decimal::from(billed),
                actual: Decimal::from(actual),
                pending,
                inactive,
            });
        }
        if rng.chance(400) {
            // Unmapped products on the same agreement are none of the NinjaOne reconciliation's
            // business.
            add_line(
                agreement,
                "M365-BACKUP",
                s.workstations,
                dec("4.00"),
                start,
                None,
                0,
            );
        }
        match s.plant {
            Plant::Under(..) => under_billed.push(s.cw_name.to_string()),
            Plant::Over(..) => over_billed.push(s.cw_name.to_string()),
            Plant::Match => matched.push(s.cw_name.to_string()),
        }
    }
    let summit = new_agreement(
        &mut rng,
        BILLING_NO_USAGE.0,
        summit_id,
        day(2024, 4, 1),
        None,
    );
    for (product, q) in [("NINJA-WS", 18), ("NINJA-SRV", 2)] {
        add_line(
            summit,
            product,
            q,
            catalog_price(product).0,
            day(2024, 4, 1),
            None,
            0,
        );
        expected.push(ExpectedLine {
            company: BILLING_NO_USAGE.0.into(),
            product: product.into(),
            kind: FindingKind::BillingNoUsage,
            billed: Decimal::from(q),
            actual: Decimal::ZERO,
            pending: 0,
            inactive: 0,
        });
    }
    // Nobody closed the agreement when the bakery left; the company's status says it all.
    let old_mill = new_agreement(
        &mut rng,
        INACTIVE_COMPANY.0,
        old_mill_id,
        day(2023, 5, 1),
        None,
    );
    add_line(
        old_mill,
        "NINJA-WS",
        9,
        dec("45.00"),
        day(2023, 5, 1),
        None,
        0,
    );
    expected.sort_by(|a, b| {
        a.company
            .to_lowercase()
            .cmp(&b.company.to_lowercase())
            .then(a.product.cmp(&b.product))
    });

    let fuzzy = &specs[13];
    let mut rolled_up_devices: Vec<String> = devices
        .iter()
        .filter(|d| d.node_class == "WINDOWS_THIN_CLIENT")
        .map(|d| d.display_name.clone())
        .collect();
    rolled_up_devices.sort();
    let unknown_class_device = devices
        .iter()
        .find(|d| d.node_class == "NMS_UPS")
        .map(|d| d.display_name.clone())
        .expect("the unknown-class device");
    let planted = Planted {
        under_billed,
        over_billed,
        matched,
        billing_no_usage: vec![BILLING_NO_USAGE.0.into()],
        unmatched_org: UNMATCHED_ORG.0.into(),
        fuzzy_org: FuzzyOrg {
            ninjaone: fuzzy.ninja_name.expect("a NinjaOne name").into(),
            connectwise: fuzzy.cw_name.into(),
        },
        cancelled_addition_company: CANCELLED_LINE_CLIENT.into(),
        cancelled_addition_id,
        inactive_company: INACTIVE_COMPANY.0.into(),
        non_client_company: VENDOR_COMPANY.0.into(),
        deleted_company: DELETED_COMPANY.0.into(),
        cancelled_agreement: format!("{CANCELLED_AGREEMENT_CLIENT} - Managed Services (2022)"),
        inactive_product: "NINJA-LEGACY".into(),
        rolled_up_devices,
        unknown_class_device,
        expected,
    };

    devices.sort_by_key(|d| d.id);
    let mut connectwise = CwData {
        company_statuses,
        company_types,
        companies,
        agreements,
        additions,
        catalog,
        billing_cycles,
        agreement_types,
    };

    // ---- Vendors beside NinjaOne, each on a few of the clients ---------------------------------
    let clients_from = |first: usize, n: usize| -> Vec<&ClientAgreement> {
        client_agreements.iter().skip(first).take(n).collect()
    };
    let names =
        |c: &[&ClientAgreement]| -> Vec<String> { c.iter().map(|c| c.name.clone()).collect() };
    let s1_clients = clients_from(1, 5);
    let s1_names = names(&s1_clients);
    let sentinelone =
        super::sentinelone::sample(&s1_names.iter().map(String::as_str).collect::<Vec<_>>());
    let mut vendors = vec![plant(
        &mut connectwise,
        &s1_clients,
        ConnectorKind::SentinelOne,
        DEMO_SENTINELONE,
        SENTINELONE_BILLED,
        &super::sentinelone::usage(&sentinelone),
    )];
    let jc_clients = clients_from(6, 4);
    let jc_names = names(&jc_clients);
    let jumpcloud =
        super::jumpcloud::sample(&jc_names.iter().map(String::as_str).collect::<Vec<_>>());
    vendors.push(plant(
        &mut connectwise,
        &jc_clients,
        ConnectorKind::JumpCloud,
        DEMO_JUMPCLOUD,
        JUMPCLOUD_BILLED,
        &super::jumpcloud::usage(&jumpcloud),
    ));
    let kp_clients = clients_from(0, 8);
    let kp_names = names(&kp_clients);
    let keeper = super::keeper::sample(&kp_names.iter().map(String::as_str).collect::<Vec<_>>());
    vendors.push(plant(
        &mut connectwise,
        &kp_clients,
        ConnectorKind::Keeper,
        DEMO_KEEPER,
        KEEPER_BILLED,
        &super::keeper::usage(&keeper),
    ));
    let csv_clients = clients_from(15, 5);
    let csv_names = names(&csv_clients);
    let backup = super::csv::sample(&csv_names.iter().map(String::as_str).collect::<Vec<_>>());
    vendors.push(plant(
        &mut connectwise,
        &csv_clients,
        ConnectorKind::Csv,
        DEMO_BACKUP_CSV,
        CSV_BILLED,
        &super::csv::usage(&backup),
    ));
    let m365_clients = clients_from(18, 5);
    let (m365_unconsented, m365_consented) = m365_clients.split_last().expect("five clients");
    let m365_names = names(m365_consented);
    let m365 = super::m365::sample_with_unconsented(
        &m365_names.iter().map(String::as_str).collect::<Vec<_>>(),
        &m365_unconsented.name,
    );
    let mut m365_vendor = plant(
        &mut connectwise,
        m365_consented,
        ConnectorKind::M365,
        DEMO_M365,
        M365_BILLED,
        &super::m365::usage(&m365),
    );
    m365_vendor.plant_unreadable(
        &mut connectwise,
        m365_unconsented,
        &M365_BILLED[0],
        Decimal::from(9),
    );
    vendors.push(m365_vendor);
    let sw_clients = clients_from(10, 5);
    let sw_names = names(&sw_clients);
    let sherweb = super::sherweb::sample(&sw_names.iter().map(String::as_str).collect::<Vec<_>>());
    vendors.push(plant(
        &mut connectwise,
        &sw_clients,
        ConnectorKind::Sherweb,
        DEMO_SHERWEB,
        SHERWEB_BILLED,
        &super::sherweb::usage(&sherweb),
    ));

    SampleMsp {
        ninjaone: NinjaData {
            organizations,
            locations,
            roles,
            devices,
        },
        connectwise,
        planted,
        sentinelone,
        jumpcloud,
        sherweb,
        keeper,
        backup,
        m365,
        vendors,
    }
}

fn status(id: i64, name: &str, default_flag: bool, inactive_flag: bool) -> CwCompanyStatus {
    CwCompanyStatus {
        id,
        name: name.into(),
        default_flag,
        inactive_flag,
    }
}

fn ctype(id: i64, name: &str, default_flag: bool, vendor_flag: bool) -> CwCompanyType {
    CwCompanyType {
        id,
        name: name.into(),
        default_flag,
        vendor_flag,
    }
}

impl SampleMsp {
    /// Device counts per effective class, for summaries.
    pub fn devices_by_class(&self) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for d in &self.ninjaone.devices {
            *m.entry(effective_class(d, &self.ninjaone.roles).to_string())
                .or_default() += 1;
        }
        m
    }
}
