//! The neutral model: what every connector converts its wire types into, what the store persists
//! and what the reconcile engine reads. Nothing here knows about a particular vendor or PSA.
//!
//! Vendor side: accounts (the vendor's customers) and usage items (one device, agent or user each,
//! with the attributes rules look at). PSA side: companies, agreements, recurring billing lines and
//! catalog products. Quantities and money are `rust_decimal::Decimal`, never floats.

use std::collections::BTreeMap;

use jiff::Timestamp;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A vendor's customer: a NinjaOne organization, an M365 tenant, a JumpCloud org.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VendorAccount {
    /// The vendor's stable id, as a string.
    pub id: String,
    pub name: String,
    /// The record as the vendor sent it (compact JSON), kept for audits.
    #[serde(skip)]
    pub raw: Option<String>,
}

/// One billable thing a vendor knows about: a device, an agent, a user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageItem {
    pub id: String,
    pub account_id: String,
    pub name: String,
    /// The class rules count on, after the connector rolled custom classes up to their parent.
    pub class: String,
    /// The class exactly as the vendor sent it.
    pub raw_class: String,
    pub online: Option<bool>,
    pub last_contact: Option<Timestamp>,
    /// Waiting for approval in the vendor tool: not billable.
    pub pending_approval: bool,
    /// Further attributes rules may filter on (role, location, OS, tags).
    pub attrs: BTreeMap<String, String>,
    #[serde(skip)]
    pub raw: Option<String>,
}

/// The item attribute a connector sets where the vendor reports what one unit costs the MSP:
/// per month, as a decimal (Pax8's partner cost, Sherweb's fee, a CSV import's cost column).
/// The engine's cost and margin read it.
pub const UNIT_COST_ATTR: &str = "unit_cost";
/// The item attribute with the currency of [`UNIT_COST_ATTR`] (ISO 4217; the report's when
/// absent).
pub const COST_CURRENCY_ATTR: &str = "cost_currency";

/// What the counting rules read of a usage item. [`UsageItem`] has it all; the engine's compact
/// table ([`crate::engine::ItemTable`]) keeps only what the configured services and rules look
/// at, so a million records fit in a fraction of the memory.
pub trait ItemView {
    fn item_id(&self) -> &str;
    fn account_id(&self) -> &str;
    fn name(&self) -> &str;
    fn class(&self) -> &str;
    fn pending_approval(&self) -> bool;
    fn last_contact(&self) -> Option<Timestamp>;
    /// The attribute `key`, if the item has it.
    fn attr(&self, key: &str) -> Option<&str>;
}

impl ItemView for UsageItem {
    fn item_id(&self) -> &str {
        &self.id
    }
    fn account_id(&self) -> &str {
        &self.account_id
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn class(&self) -> &str {
        &self.class
    }
    fn pending_approval(&self) -> bool {
        self.pending_approval
    }
    fn last_contact(&self) -> Option<Timestamp> {
        self.last_contact
    }
    fn attr(&self, key: &str) -> Option<&str> {
        self.attrs.get(key).map(String::as_str)
    }
}

/// So callers holding `&&UsageItem` (iterator closures) pass it as they always did.
impl<T: ItemView + ?Sized> ItemView for &T {
    fn item_id(&self) -> &str {
        (**self).item_id()
    }
    fn account_id(&self) -> &str {
        (**self).account_id()
    }
    fn name(&self) -> &str {
        (**self).name()
    }
    fn class(&self) -> &str {
        (**self).class()
    }
    fn pending_approval(&self) -> bool {
        (**self).pending_approval()
    }
    fn last_contact(&self) -> Option<Timestamp> {
        (**self).last_contact()
    }
    fn attr(&self, key: &str) -> Option<&str> {
        (**self).attr(key)
    }
}

/// Everything one vendor sync read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VendorSnapshot {
    pub accounts: Vec<VendorAccount>,
    pub items: Vec<UsageItem>,
    /// Accounts listed but not read (a tenant whose consent is missing), by id → why. The
    /// sync still succeeds; findings that count these accounts become `stale_source`, since
    /// their usage is unknown rather than zero.
    pub unreadable: BTreeMap<String, String>,
    /// Records the API listed that cannot be attributed (no id, no account), one line each
    /// naming where and why. The sync still succeeds; they are counted in its warnings and in
    /// `status`, since the counts may be short by them.
    pub set_aside: Vec<String>,
}

/// The warning for records set aside by a sync (`None` when there were none): how many, and
/// the first few by place and reason.
pub fn set_aside_note(set_aside: &[String]) -> Option<String> {
    const SHOWN: usize = 3;
    let n = set_aside.len();
    if n == 0 {
        return None;
    }
    let more = if n > SHOWN {
        format!("; and {} more", n - SHOWN)
    } else {
        String::new()
    };
    Some(format!(
        "{n} record{} set aside, not attributable to an account: {}{more}",
        if n == 1 { "" } else { "s" },
        set_aside[..n.min(SHOWN)].join("; ")
    ))
}

/// The `meta` key (shown by `status`, warned of by `sync`) holding a sync's [`set_aside_note`].
pub const SET_ASIDE_META: &str = "set aside";

/// How many records a run's meta says were set aside (the count [`set_aside_note`] starts with).
pub fn set_aside_count(meta: &BTreeMap<String, String>) -> usize {
    meta.get(SET_ASIDE_META)
        .and_then(|note| note.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

impl VendorSnapshot {
    /// One line per unreadable account, naming it: for the sync's warnings and `status`.
    pub fn unreadable_notes(&self) -> Vec<String> {
        self.unreadable
            .iter()
            .map(|(id, why)| {
                let name = self
                    .accounts
                    .iter()
                    .find(|a| &a.id == id)
                    .map(|a| a.name.as_str())
                    .unwrap_or(id);
                format!("{name} was not read: {why}")
            })
            .collect()
    }
}

/// A company in the PSA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PsaCompany {
    pub id: String,
    /// The PSA's short code (ConnectWise `identifier`).
    pub identifier: String,
    pub name: String,
    pub status: String,
    pub types: Vec<String>,
    /// Whether the connection's rules count this company as a billable client.
    pub billable: bool,
    /// Why not, when `billable` is false.
    pub not_billable_reason: Option<String>,
    #[serde(skip)]
    pub raw: Option<String>,
}

/// An agreement (contract) that carries recurring lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PsaAgreement {
    pub id: String,
    pub company_id: String,
    pub name: String,
    pub agreement_type: Option<String>,
    /// `Active`, `Cancelled`, `Expired`, `Inactive` or whatever the PSA sent.
    pub status: String,
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
    pub cancelled: bool,
    /// The billing cycle name (`Monthly`, `Quarterly`, `Annual`, ...), when the PSA says.
    pub billing_cycle: Option<String>,
    #[serde(skip)]
    pub raw: Option<String>,
}

impl PsaAgreement {
    /// Active at `at`: status Active, not cancelled, started, not ended.
    pub fn is_active_at(&self, at: Timestamp) -> bool {
        self.status.eq_ignore_ascii_case("active")
            && !self.cancelled
            && self.start.is_none_or(|s| s <= at)
            && self.end.is_none_or(|e| e >= at)
    }
}

/// Whether a line is charged to the client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BillCustomer {
    Billable,
    DoNotBill,
    NoCharge,
    Other(String),
}

impl BillCustomer {
    pub fn as_str(&self) -> &str {
        match self {
            BillCustomer::Billable => "Billable",
            BillCustomer::DoNotBill => "DoNotBill",
            BillCustomer::NoCharge => "NoCharge",
            BillCustomer::Other(s) => s,
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "Billable" => BillCustomer::Billable,
            "DoNotBill" => BillCustomer::DoNotBill,
            "NoCharge" => BillCustomer::NoCharge,
            other => BillCustomer::Other(other.to_string()),
        }
    }
}

/// A recurring billing line: a ConnectWise agreement addition, an Autotask contract service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PsaLine {
    pub id: String,
    pub agreement_id: String,
    pub company_id: String,
    pub product_id: Option<String>,
    /// The product's identifier (the key services map to).
    pub product_identifier: String,
    pub description: Option<String>,
    pub quantity: Decimal,
    /// Units included at no charge.
    pub less_included: Decimal,
    pub unit_price: Decimal,
    pub unit_cost: Decimal,
    pub effective: Option<Timestamp>,
    pub cancelled: Option<Timestamp>,
    pub bill_customer: BillCustomer,
    /// Where the quantity was read when the PSA's API has no recurring lines and the line is
    /// last period's invoice line (`invoice 1042 of 2026-11-01`); `None` for a recurring line.
    /// Findings on such lines say so in their note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoiced: Option<String>,
    #[serde(skip)]
    pub raw: Option<String>,
}

impl PsaLine {
    /// In force at `at`: effective on or before, not cancelled on or before.
    pub fn is_active_at(&self, at: Timestamp) -> bool {
        self.effective.is_none_or(|e| e <= at) && self.cancelled.is_none_or(|c| c > at)
    }
}

/// A catalog product (what a line refers to).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PsaProduct {
    pub id: String,
    pub identifier: String,
    pub description: Option<String>,
    pub price: Option<Decimal>,
    pub cost: Option<Decimal>,
    pub inactive: bool,
    #[serde(skip)]
    pub raw: Option<String>,
}

/// Everything one PSA sync read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PsaSnapshot {
    pub companies: Vec<PsaCompany>,
    pub agreements: Vec<PsaAgreement>,
    pub lines: Vec<PsaLine>,
    pub products: Vec<PsaProduct>,
    /// The PSA takes whole units only (Autotask): usage is rounded up before it is compared.
    pub whole_units: bool,
    /// What the connector learned about the API itself while syncing (`api requests this
    /// hour: 2310 of 10000`), shown by `status`.
    pub meta: BTreeMap<String, String>,
    /// Companies whose billing was not read in full (a line whose quantity the API sent as
    /// null), by company id → why. The sync still succeeds; the findings of these companies
    /// become `stale_source`, since what they are billed is unknown rather than zero.
    pub unreadable: BTreeMap<String, String>,
    /// Records the API listed that cannot be attributed (no id, no company), one line each
    /// naming where and why, as for [`VendorSnapshot::set_aside`].
    pub set_aside: Vec<String>,
}

/// The result of one successful sync of one connection.
#[derive(Debug, Clone, PartialEq)]
pub enum Snapshot {
    Vendor(VendorSnapshot),
    Psa(PsaSnapshot),
}

impl Snapshot {
    /// What a successful sync warns of: each account (or company) not read in full, naming it,
    /// and the records set aside. Shown by `sync` and, through the stored run, by `status`.
    pub fn warnings(&self) -> Vec<String> {
        match self {
            Snapshot::Vendor(v) => v
                .unreadable_notes()
                .into_iter()
                .chain(set_aside_note(&v.set_aside))
                .collect(),
            Snapshot::Psa(p) => p
                .unreadable
                .iter()
                .map(|(id, why)| {
                    let name = (p.companies.iter().find(|c| &c.id == id))
                        .map_or(id.as_str(), |c| c.name.as_str());
                    format!("what {name} is billed was not read in full: {why}")
                })
                .chain(set_aside_note(&p.set_aside))
                .collect(),
        }
    }

    /// The records set aside (see [`VendorSnapshot::set_aside`]).
    pub fn set_aside(&self) -> &[String] {
        match self {
            Snapshot::Vendor(v) => &v.set_aside,
            Snapshot::Psa(p) => &p.set_aside,
        }
    }

    /// Record counts by kind, as shown by `status` and stored with the sync run.
    pub fn counts(&self) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        match self {
            Snapshot::Vendor(v) => {
                m.insert("accounts".into(), v.accounts.len());
                m.insert("items".into(), v.items.len());
            }
            Snapshot::Psa(p) => {
                m.insert("companies".into(), p.companies.len());
                m.insert("agreements".into(), p.agreements.len());
                m.insert("lines".into(), p.lines.len());
                m.insert("products".into(), p.products.len());
            }
        }
        m
    }
}

/// A named rule over usage items: what a vendor's usage is counted as.
///
/// Built-in services filter on the class only; custom services (`[[custom_service]]` in the
/// config) may also filter on the OS, the device name, the role and the tags, or be a bundle: the
/// sum of other services' counts (`sum_of`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ServiceDef {
    /// Stable key used in mappings (`total-workstations`).
    pub key: String,
    /// Display name (`Total Workstations`).
    pub name: String,
    /// Item classes counted; `None` counts every class.
    pub classes: Option<Vec<String>>,
    /// Further filters (custom services only); every filter given must hold.
    #[serde(skip_serializing_if = "ServiceFilters::is_empty")]
    pub filters: ServiceFilters,
    /// A bundle: the sum of these services' counts (an item counted by two of them counts
    /// twice); `classes` and `filters` are then not used.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sum_of: Vec<ServiceDef>,
    /// The item attribute that holds its units (`purchased`, `quantity`): for vendors that
    /// report quantities (licenses, seats, subscriptions) rather than one record per unit.
    /// `None` counts 1 per item. A missing or unreadable value counts 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<String>,
}

/// Services that exist once per distinct value of an item attribute: one per Microsoft 365
/// SKU, per Sherweb product, per SKU of an imported CSV. Their set depends on the data, so
/// [`ServiceFamily::expand`] derives them from the snapshots; their keys are the value's
/// [`slug`] plus the family's suffix (`spe_e3:assigned`), so a mapping made today still
/// matches after the next sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceFamily {
    /// The attribute whose value names the service (`sku`).
    pub attr: &'static str,
    /// The attribute holding a readable name for the value (`sku_name`), if any.
    pub name_attr: Option<&'static str>,
    /// Appended to the key (`:assigned`); `""` for none. Never contains a slug character
    /// only, so keys of two families cannot collide.
    pub key_suffix: &'static str,
    /// Appended to the display name (` (assigned)`).
    pub name_suffix: &'static str,
    /// The attribute holding the item's units, as in [`ServiceDef::quantity`].
    pub quantity: Option<&'static str>,
    /// Classes counted, as in [`ServiceDef::classes`].
    pub classes: Option<&'static [&'static str]>,
}

impl ServiceFamily {
    /// The family's service for the key `key`, when the key has the family's shape.
    pub fn service_for_key(&self, key: &str) -> Option<ServiceDef> {
        let slug = key.strip_suffix(self.key_suffix)?;
        if slug.is_empty() || slug != self::slug(slug) {
            return None;
        }
        Some(self.service(slug, slug))
    }

    fn service(&self, slug: &str, name: &str) -> ServiceDef {
        ServiceDef {
            key: format!("{slug}{}", self.key_suffix),
            name: format!("{name}{}", self.name_suffix),
            classes: self
                .classes
                .map(|c| c.iter().map(|s| s.to_string()).collect()),
            filters: ServiceFilters {
                attr_slug: Some((self.attr.to_string(), slug.to_string())),
                ..ServiceFilters::default()
            },
            sum_of: Vec::new(),
            quantity: self.quantity.map(str::to_string),
        }
    }

    /// One service per distinct value the items carry, sorted by key.
    pub fn expand<'a>(&self, items: impl IntoIterator<Item = &'a UsageItem>) -> Vec<ServiceDef> {
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        for item in items {
            if let Some(v) = item.attrs.get(self.attr) {
                let s = slug(v);
                if s.is_empty() {
                    continue;
                }
                let name = self
                    .name_attr
                    .and_then(|a| item.attrs.get(a))
                    .filter(|n| !n.trim().is_empty())
                    .cloned()
                    .unwrap_or_else(|| v.trim().to_string());
                seen.entry(s).or_insert(name);
            }
        }
        seen.iter().map(|(s, n)| self.service(s, n)).collect()
    }
}

/// The key form of a value: lowercase letters and digits and `_` kept, every other run of
/// characters one `-`, no `-` at either end (`Microsoft 365 E3` → `microsoft-365-e3`).
pub fn slug(value: &str) -> String {
    let mut out = String::new();
    for ch in value.trim().chars().flat_map(char::to_lowercase) {
        if ch.is_alphanumeric() || ch == '_' {
            out.push(ch);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// Whether `slug(value) == want`, without building the slug: services of a family compare
/// every item's attribute with their key.
pub fn slug_is(value: &str, want: &str) -> bool {
    let mut want = want.chars();
    let mut any = false;
    let mut dash = false;
    for ch in value.trim().chars().flat_map(char::to_lowercase) {
        if ch.is_alphanumeric() || ch == '_' {
            if dash && want.next() != Some('-') {
                return false;
            }
            if want.next() != Some(ch) {
                return false;
            }
            any = true;
            dash = false;
        } else if any {
            dash = true;
        }
    }
    want.next().is_none()
}

/// The filters of a custom service. Patterns are globs (`*`, `?`), case-insensitive.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ServiceFilters {
    /// The item's OS: its `os` attribute, else the family of its class ([`os_of`]).
    pub os: Option<String>,
    /// A glob over the item's name.
    pub name_pattern: Option<String>,
    /// Globs over the item's `role` attribute; any may match.
    pub roles: Vec<String>,
    /// Tags (the item's `tags` attribute, comma-separated); any may match.
    pub tags: Vec<String>,
    /// Globs over named attributes (`sku = "complete"`); every one must match, and an item
    /// without the attribute does not match.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub attrs: BTreeMap<String, String>,
    /// (attribute, slug): the item's attribute, as a [`slug`], must equal it (family services).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attr_slug: Option<(String, String)>,
}

impl ServiceFilters {
    pub fn is_empty(&self) -> bool {
        self.os.is_none()
            && self.name_pattern.is_none()
            && self.roles.is_empty()
            && self.tags.is_empty()
            && self.attrs.is_empty()
            && self.attr_slug.is_none()
    }

    fn matches<I: ItemView + ?Sized>(&self, item: &I) -> bool {
        if let Some(os) = &self.os
            && !os_of(item).is_some_and(|o| glob_match(os, &o))
        {
            return false;
        }
        if let Some(p) = &self.name_pattern
            && !glob_match(p, item.name())
        {
            return false;
        }
        if !self.roles.is_empty() {
            let role = item.attr("role").unwrap_or("");
            if !self.roles.iter().any(|r| glob_match(r, role)) {
                return false;
            }
        }
        if !self.tags.is_empty() {
            let tags: Vec<&str> = item
                .attr("tags")
                .map(|t| t.split(',').map(str::trim).collect())
                .unwrap_or_default();
            if !self
                .tags
                .iter()
                .any(|want| tags.iter().any(|t| glob_match(want, t)))
            {
                return false;
            }
        }
        for (key, pattern) in &self.attrs {
            if !item.attr(key).is_some_and(|v| glob_match(pattern, v)) {
                return false;
            }
        }
        if let Some((attr, want)) = &self.attr_slug
            && item.attr(attr).is_none_or(|v| !slug_is(v, want))
        {
            return false;
        }
        true
    }
}

/// The OS family of an item: its `os` attribute when the vendor gives one, else derived from
/// the class (`windows`, `mac`, `linux`, `android`, `ios`), else `None`.
pub fn os_of<I: ItemView + ?Sized>(item: &I) -> Option<String> {
    if let Some(os) = item.attr("os") {
        return Some(os.to_string());
    }
    let c = item.class().to_ascii_uppercase();
    let os = if c.contains("WINDOWS") {
        "windows"
    } else if c.contains("LINUX") {
        "linux"
    } else if c == "MAC" || c.starts_with("MAC_") {
        "mac"
    } else if c.contains("ANDROID") {
        "android"
    } else if c.starts_with("APPLE_I") {
        "ios"
    } else {
        return None;
    };
    Some(os.to_string())
}

/// A glob match: `*` any run of characters, `?` one character, case-insensitive, whole text.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let t: Vec<char> = text.to_lowercase().chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

impl ServiceDef {
    /// A service counting the items of `classes`, one each.
    pub fn of_classes(key: &str, name: &str, classes: &[&str]) -> ServiceDef {
        ServiceDef {
            key: key.into(),
            name: name.into(),
            classes: Some(classes.iter().map(|s| s.to_string()).collect()),
            ..ServiceDef::default()
        }
    }

    /// Whether the service counts `item` at all.
    pub fn counts<I: ItemView + ?Sized>(&self, item: &I) -> bool {
        self.weight(item) > Decimal::ZERO
    }

    /// How many units `item` adds to this service: 0 or 1, or its quantity attribute for a
    /// quantity service, or for a bundle the sum over its parts.
    pub fn weight<I: ItemView + ?Sized>(&self, item: &I) -> Decimal {
        if !self.sum_of.is_empty() {
            return self.sum_of.iter().map(|s| s.weight(item)).sum();
        }
        let class_ok = match &self.classes {
            None => true,
            Some(classes) => classes.iter().any(|c| c == item.class()),
        };
        if !(class_ok && self.filters.matches(item)) {
            return Decimal::ZERO;
        }
        match &self.quantity {
            None => Decimal::ONE,
            Some(attr) => item
                .attr(attr)
                .and_then(|v| v.trim().parse::<Decimal>().ok())
                .filter(|q| *q > Decimal::ZERO)
                .unwrap_or(Decimal::ZERO),
        }
    }
}

/// How a mapping came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MapSource {
    /// Exact name match, applied by `reconcile map`.
    Auto,
    /// Set by a person with `map account` / `map service`.
    Manual,
    /// Read from a CSV by `map import`.
    Import,
}

impl MapSource {
    pub fn as_str(self) -> &'static str {
        match self {
            MapSource::Auto => "auto",
            MapSource::Manual => "manual",
            MapSource::Import => "import",
        }
    }

    pub fn parse(s: &str) -> Option<MapSource> {
        match s {
            "auto" => Some(MapSource::Auto),
            "manual" => Some(MapSource::Manual),
            "import" => Some(MapSource::Import),
            _ => None,
        }
    }
}

/// A PSA company a vendor account maps to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompanyTarget {
    pub connection: String,
    pub company_id: String,
    pub company_name: String,
}

/// Vendor account → PSA company; `target: None` means deliberately not billed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountMapping {
    pub vendor_connection: String,
    pub account_id: String,
    pub account_name: String,
    pub target: Option<CompanyTarget>,
    pub source: MapSource,
}

/// A PSA product a vendor service maps to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductTarget {
    pub connection: String,
    pub product_identifier: String,
}

/// Vendor service → PSA product; `target: None` means deliberately not billed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceMapping {
    pub vendor_connection: String,
    pub service_key: String,
    pub target: Option<ProductTarget>,
    pub source: MapSource,
}

/// Months per billing cycle, for cycle names ConnectWise and most PSAs use; `None` if unknown.
pub fn months_per_cycle(cycle: Option<&str>) -> Option<Decimal> {
    let Some(c) = cycle else {
        return Some(Decimal::ONE);
    };
    let c: String = c
        .to_ascii_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    Some(match c.as_str() {
        "monthly" | "month" => Decimal::ONE,
        "quarterly" | "quarter" => Decimal::from(3),
        "semiannual" | "semiannually" | "biannual" | "biannually" | "halfyearly" => {
            Decimal::from(6)
        }
        "annual" | "annually" | "yearly" | "year" => Decimal::from(12),
        "biennial" | "biennially" => Decimal::from(24),
        "weekly" => Decimal::from(12) / Decimal::from(52),
        "biweekly" => Decimal::from(12) / Decimal::from(26),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::{slug, slug_is};

    #[test]
    fn slug_is_agrees_with_slug() {
        let values = [
            "Microsoft 365 Business Premium",
            "  -- E3 (annual) --  ",
            "ÉCOLE Été",
            "a__b",
            "x",
            "",
            "---",
            "CFQ7TTC0LDPB:0001",
            "İstanbul",
        ];
        for v in values {
            let s = slug(v);
            assert!(slug_is(v, &s), "{v:?} vs {s:?}");
            for other in [
                format!("{s}-"),
                format!("-{s}"),
                format!("{s}x"),
                "e3".into(),
            ] {
                if other != s {
                    assert!(!slug_is(v, &other), "{v:?} is not {other:?}");
                }
            }
            if let Some(shorter) = s.get(..s.len().saturating_sub(1))
                && shorter != s
            {
                assert!(!slug_is(v, shorter), "{v:?} is not {shorter:?}");
            }
        }
    }
}
