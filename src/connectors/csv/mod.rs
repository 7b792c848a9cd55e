//! CSV import: any vendor's CSV or JSON export, read through a column profile, as a vendor
//! snapshot like any API's. For every vendor without a connector of its own.
//!
//! The profile (`[connections.NAME.columns]`) names, per role, the header aliases to look
//! for (matched ignoring case, spaces, `_`, `-` and `.`); a role the profile leaves out is
//! looked for under built-in aliases ([`Role::builtin`]). Roles: `account` (required),
//! `account_id`, `sku`, `sku_name`, `quantity`, `item_id`, `last_seen`.
//!
//! Rows are summed: rows with the same account and SKU become one usage item whose
//! `quantity` attribute is the sum of their quantities (1 a row without a quantity column).
//! With an `item_id` column each row is an item of its own instead, and an item id that appears
//! twice for one SKU is an error (a file pasted together twice must not double a count). A bad
//! row anywhere fails the whole import, naming file, line, column and header, so a snapshot is
//! never made of half a file; the first [`MAX_ERRORS`] problems are reported together.
//!
//! Services: one per SKU ([`families`], key = the SKU's slug, units from `quantity`), and
//! `all`, every unit of the file (a SKU whose slug is `all` is shadowed by it).

mod wire;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use jiff::Timestamp;
use rust_decimal::Decimal;
use secrecy::SecretString;
use serde::Deserialize;

use crate::connectors::{Connector, ConnectorKind, SyncCx};
use crate::http::{ConnectorError, RetryPolicy};
use crate::model::{
    ServiceDef, ServiceFamily, Snapshot, UsageItem, VendorAccount, VendorSnapshot, slug,
};

use wire::{Pos, Source, Table};

/// The class of every imported item (a file has no device types).
pub const CLASS: &str = "IMPORTED";
/// The key of the service that counts every unit of the file.
pub const ALL: &str = "all";
/// Problems listed in one failed import; the rest are counted.
pub const MAX_ERRORS: usize = 10;

/// `format = "csv" | "json"`.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Json,
}

/// One alias or a list of them (`account = "Customer"` or `account = ["Customer", "Client"]`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Aliases {
    One(String),
    Many(Vec<String>),
}

impl Aliases {
    pub fn list(&self) -> Vec<String> {
        match self {
            Aliases::One(s) => vec![s.clone()],
            Aliases::Many(v) => v.clone(),
        }
    }
}

/// `[connections.NAME.columns]`: the header aliases of each role.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Columns {
    pub account: Option<Aliases>,
    pub account_id: Option<Aliases>,
    pub sku: Option<Aliases>,
    pub sku_name: Option<Aliases>,
    pub quantity: Option<Aliases>,
    pub item_id: Option<Aliases>,
    pub last_seen: Option<Aliases>,
}

impl Columns {
    fn get(&self, role: Role) -> Option<&Aliases> {
        match role {
            Role::Account => self.account.as_ref(),
            Role::AccountId => self.account_id.as_ref(),
            Role::Sku => self.sku.as_ref(),
            Role::SkuName => self.sku_name.as_ref(),
            Role::Quantity => self.quantity.as_ref(),
            Role::ItemId => self.item_id.as_ref(),
            Role::LastSeen => self.last_seen.as_ref(),
        }
    }

    pub fn is_empty(&self) -> bool {
        Role::ALL.iter().all(|r| self.get(*r).is_none())
    }
}

/// `[connections.<name>]` with `kind = "csv"`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The file `sync` reads when not given `--file` (relative to the working directory; `~/`
    /// is the home directory).
    #[serde(default)]
    pub path: Option<String>,
    /// Default: from the file's extension (`.json` is JSON, anything else CSV).
    #[serde(default)]
    pub format: Option<Format>,
    /// One character (`";"`, `"\t"`); default: sniffed from the header line.
    #[serde(default)]
    pub delimiter: Option<String>,
    #[serde(default)]
    pub columns: Columns,
    /// Kept for the shape every connection shares; an import has no secrets.
    #[serde(default)]
    pub secret_command: BTreeMap<String, String>,
}

impl Settings {
    /// Checks what deserializing cannot; errors name the config key.
    pub fn validate(&self, name: &str) -> anyhow::Result<()> {
        if let Some(d) = &self.delimiter {
            delimiter_byte(d)
                .map_err(|e| anyhow::anyhow!("[connections.{name}] delimiter: {e}"))?;
        }
        if self.path.as_deref().is_some_and(|p| p.trim().is_empty()) {
            anyhow::bail!(
                "[connections.{name}] path is empty; remove it, or name the file to import"
            );
        }
        for role in Role::ALL {
            if let Some(a) = self.columns.get(role) {
                let list = a.list();
                if list.is_empty() || list.iter().any(|s| normalize(s).is_empty()) {
                    anyhow::bail!(
                        "[connections.{name}.columns] {} needs at least one header name, and none empty (e.g. {} = [\"{}\"])",
                        role.key(),
                        role.key(),
                        role.example()
                    );
                }
            }
        }
        Ok(())
    }

    /// The file to read: `--file` first, else `path`.
    pub fn file(&self, given: Option<&Path>) -> Option<PathBuf> {
        given
            .map(Path::to_path_buf)
            .or_else(|| self.path.as_deref().map(expand_home))
    }
}

fn expand_home(p: &str) -> PathBuf {
    match (p.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(p),
    }
}

/// The byte of a `delimiter` setting: one ASCII character, `\t` or `tab` for a tab.
pub fn delimiter_byte(d: &str) -> Result<u8, String> {
    match d {
        "\t" | "\\t" | "tab" | "TAB" => Ok(b'\t'),
        s if s.len() == 1 && s.is_ascii() && s != "\"" && s != "\n" && s != "\r" => {
            Ok(s.as_bytes()[0])
        }
        s => Err(format!(
            "`{}` is not one character; use e.g. \",\", \";\", \"|\" or \"\\t\"",
            s.escape_debug()
        )),
    }
}

/// What a column is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Account,
    AccountId,
    Sku,
    SkuName,
    Quantity,
    ItemId,
    LastSeen,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Account,
        Role::AccountId,
        Role::Sku,
        Role::SkuName,
        Role::Quantity,
        Role::ItemId,
        Role::LastSeen,
    ];

    /// The key in `[connections.NAME.columns]`.
    pub fn key(self) -> &'static str {
        match self {
            Role::Account => "account",
            Role::AccountId => "account_id",
            Role::Sku => "sku",
            Role::SkuName => "sku_name",
            Role::Quantity => "quantity",
            Role::ItemId => "item_id",
            Role::LastSeen => "last_seen",
        }
    }

    fn example(self) -> &'static str {
        match self {
            Role::Account => "Customer",
            Role::AccountId => "Customer ID",
            Role::Sku => "Product",
            Role::SkuName => "Product Name",
            Role::Quantity => "Seats",
            Role::ItemId => "Device ID",
            Role::LastSeen => "Last Backup",
        }
    }

    /// Headers looked for when the profile does not name any, best first (a name before a bare
    /// word that may be a number: `Company Name` before `Company`). Kept apart: no alias
    /// belongs to two roles, so one header never fills two. No money-like word (`Total`,
    /// `Amount`) is a quantity alias: summing prices as units would be silently wrong.
    pub fn builtin(self) -> &'static [&'static str] {
        match self {
            Role::Account => &[
                "customer name",
                "customer",
                "company name",
                "company",
                "client name",
                "client",
                "organization name",
                "organization",
                "organisation",
                "tenant name",
                "tenant",
                "account name",
                "account",
                "site name",
                "site",
            ],
            Role::AccountId => &[
                "account id",
                "customer id",
                "company id",
                "client id",
                "organization id",
                "tenant id",
                "site id",
            ],
            Role::Sku => &[
                "sku",
                "product",
                "product code",
                "product id",
                "service",
                "plan",
                "license",
                "license type",
                "edition",
            ],
            Role::SkuName => &[
                "sku name",
                "product name",
                "service name",
                "plan name",
                "description",
            ],
            Role::Quantity => &[
                "quantity", "qty", "count", "units", "seats", "licenses", "usage",
            ],
            Role::ItemId => &[
                "item id",
                "device id",
                "asset id",
                "user id",
                "serial number",
            ],
            Role::LastSeen => &[
                "last seen",
                "last contact",
                "last activity",
                "last check in",
                "last checkin",
                "last backup",
            ],
        }
    }
}

/// The comparable form of a header: lowercase, without spaces, `_`, `-` and `.`.
pub fn normalize(h: &str) -> String {
    h.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '_' | '-' | '.'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Which header index fills each role.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolved {
    cols: BTreeMap<&'static str, usize>,
}

impl Resolved {
    fn get(&self, role: Role) -> Option<usize> {
        self.cols.get(role.key()).copied()
    }
}

/// Finds each role's column; an error when `account` is missing, when a role the profile names
/// matches no header, or when the matched header appears twice.
pub fn resolve(headers: &[String], columns: &Columns) -> Result<Resolved, String> {
    let normalized: Vec<String> = headers.iter().map(|h| normalize(h)).collect();
    let mut out = Resolved::default();
    for role in Role::ALL {
        let configured = columns.get(role).map(Aliases::list);
        let aliases: Vec<String> = match &configured {
            Some(list) => list.clone(),
            None => role.builtin().iter().map(|s| s.to_string()).collect(),
        };
        let found = aliases.iter().find_map(|a| {
            let want = normalize(a);
            let hits: Vec<usize> = (0..headers.len())
                .filter(|i| normalized[*i] == want)
                .collect();
            (!hits.is_empty()).then_some(hits)
        });
        match found {
            Some(hits) if hits.len() > 1 => {
                return Err(format!(
                    "columns {} are all headed `{}`, so the {} column is ambiguous; rename all but one in the file",
                    hits.iter()
                        .map(|i| (i + 1).to_string())
                        .collect::<Vec<_>>()
                        .join(" and "),
                    headers[hits[0]],
                    role.key()
                ));
            }
            Some(hits) => {
                if let Some((other, _)) = out.cols.iter().find(|(_, c)| **c == hits[0]) {
                    return Err(format!(
                        "the header `{}` would be both the {other} and the {} column; name the columns apart in [columns]",
                        headers[hits[0]],
                        role.key()
                    ));
                }
                out.cols.insert(role.key(), hits[0]);
            }
            None if configured.is_some() || role == Role::Account => {
                return Err(format!(
                    "no column for {} (looked for {}); the header has {}. Set `{} = [\"<header>\"]` under [connections.<name>.columns], or pass --{}-column to `reconcile connect csv`",
                    role.key(),
                    aliases
                        .iter()
                        .map(|a| format!("`{a}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    if headers.is_empty() {
                        "no columns".to_string()
                    } else {
                        headers
                            .iter()
                            .map(|h| format!("`{h}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    },
                    role.key(),
                    role.key().replace('_', "-")
                ));
            }
            None => {}
        }
    }
    Ok(out)
}

/// A cell's quantity: a non-negative decimal, thousands separated by `,` allowed (`1,250.5`).
fn parse_quantity(cell: &str) -> Result<Decimal, String> {
    let s = cell.trim();
    if s.is_empty() {
        return Err("the quantity is empty (write 0 for none)".into());
    }
    let q = s.parse::<Decimal>().ok().or_else(|| {
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        let groups: Vec<&str> = int.split(',').collect();
        let grouped = groups.len() > 1
            && (1..=3).contains(&groups[0].len())
            && groups[1..].iter().all(|g| g.len() == 3);
        grouped
            .then(|| format!("{}.{frac}", groups.concat()))
            .and_then(|t| t.trim_end_matches('.').parse::<Decimal>().ok())
    });
    match q {
        Some(q) if q < Decimal::ZERO => Err(format!("`{s}` is negative; a quantity is 0 or more")),
        Some(q) => Ok(q.normalize()),
        None if s.contains(',') => Err(format!(
            "`{s}` is not a number (write decimals with a point: 1.5, not 1,5)"
        )),
        None => Err(format!("`{s}` is not a number")),
    }
}

/// A cell's time: RFC 3339, `YYYY-MM-DD`, or `YYYY-MM-DD HH:MM[:SS]` (read as UTC).
fn parse_time(cell: &str) -> Result<Timestamp, String> {
    let s = cell.trim();
    // A civil date-time before a date: jiff reads `2024-05-01 10:00` as a date too, dropping
    // the time.
    s.parse::<Timestamp>()
        .ok()
        .or_else(|| {
            s.parse::<jiff::civil::DateTime>()
                .ok()
                .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
                .map(|z| z.timestamp())
        })
        .or_else(|| crate::connectors::de::parse_timestamp(s).ok())
        .ok_or_else(|| {
            format!("`{s}` is not a date or time such as 2024-05-01 or 2024-05-01T10:00:00Z")
        })
}

/// What an import read: the snapshot and a line for `connect`'s check.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    pub snapshot: VendorSnapshot,
    pub rows: usize,
    pub columns: String,
}

/// One item being summed.
struct Acc {
    item: UsageItem,
    quantity: Decimal,
    lines: Vec<u64>,
}

/// Reads `bytes` (the file `file`) into a vendor snapshot, all or nothing.
pub fn import(file: &Path, bytes: &[u8], settings: &Settings) -> Result<Imported, String> {
    let shown = file.display().to_string();
    let format =
        settings
            .format
            .unwrap_or_else(|| match file.extension().and_then(|e| e.to_str()) {
                Some(e) if e.eq_ignore_ascii_case("json") => Format::Json,
                _ => Format::Csv,
            });
    let table = match format {
        Format::Json => wire::read_json(bytes),
        Format::Csv => {
            let d = match settings.delimiter.as_deref() {
                Some(d) => delimiter_byte(d)?,
                None if file
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("tsv")) =>
                {
                    b'\t'
                }
                None => wire::sniff_delimiter(bytes),
            };
            wire::read_csv(bytes, d)
        }
    }
    .map_err(|e| {
        if e.pos.line == 0 {
            format!("{shown}: {}", e.message)
        } else {
            let loc = wire::locate(
                match format {
                    Format::Csv => Source::Csv,
                    Format::Json => Source::Json,
                },
                &[],
                &shown,
                e.pos,
            );
            format!("{loc}: {}", e.message)
        }
    })?;
    let cols = resolve(&table.headers, &settings.columns).map_err(|e| format!("{shown}: {e}"))?;
    convert(&shown, &table, &cols)
}

fn convert(shown: &str, table: &Table, cols: &Resolved) -> Result<Imported, String> {
    let mut errors: Vec<String> = Vec::new();
    let mut accounts: Vec<VendorAccount> = Vec::new();
    let mut account_index: HashMap<String, usize> = HashMap::new();
    let mut items: Vec<Acc> = Vec::new();
    let mut item_index: HashMap<String, usize> = HashMap::new();
    let with_ids = cols.get(Role::ItemId).is_some();

    for row in &table.rows {
        let mut bad = |col: usize, message: String| {
            errors.push(format!(
                "{}: column `{}`: {message}",
                table.locate(
                    shown,
                    Pos {
                        line: row.line,
                        column: Some(col + 1)
                    }
                ),
                table.headers.get(col).map(String::as_str).unwrap_or("")
            ));
        };
        let cell = |role: Role| -> Option<(usize, &str)> {
            cols.get(role)
                .map(|c| (c, row.cells.get(c).map(|s| s.trim()).unwrap_or_default()))
        };
        let required = |role: Role, bad: &mut dyn FnMut(usize, String)| -> Option<String> {
            let (c, v) = cell(role)?;
            if v.is_empty() {
                bad(c, format!("the {} is empty", role.key().replace('_', " ")));
                None
            } else {
                Some(v.to_string())
            }
        };
        let name = required(Role::Account, &mut bad);
        let account_id = match cols.get(Role::AccountId) {
            Some(_) => required(Role::AccountId, &mut bad),
            None => name.clone(),
        };
        let sku = match cols.get(Role::Sku) {
            Some(_) => required(Role::Sku, &mut bad).map(Some),
            None => Some(None),
        };
        let item_id = match cols.get(Role::ItemId) {
            Some(_) => required(Role::ItemId, &mut bad).map(Some),
            None => Some(None),
        };
        let quantity = match cell(Role::Quantity) {
            None => Some(Decimal::ONE),
            Some((c, v)) => parse_quantity(v).map_err(|e| bad(c, e)).ok(),
        };
        let last_seen = match cell(Role::LastSeen) {
            Some((c, v)) if !v.is_empty() => parse_time(v).map_err(|e| bad(c, e)).map(Some).ok(),
            _ => Some(None),
        };
        let sku_name = cell(Role::SkuName)
            .map(|(_, v)| v.to_string())
            .filter(|v| !v.is_empty());
        let (Some(name), Some(account_id), Some(sku), Some(item_id), Some(quantity), Some(seen)) =
            (name, account_id, sku, item_id, quantity, last_seen)
        else {
            continue;
        };
        if sku.as_deref().is_some_and(|s| slug(s).is_empty()) {
            let c = cols.get(Role::Sku).expect("a SKU was read");
            bad(
                c,
                format!(
                    "`{}` has no letter or digit to make a service key of",
                    sku.as_deref().unwrap_or_default()
                ),
            );
            continue;
        }

        if !account_index.contains_key(&account_id) {
            account_index.insert(account_id.clone(), accounts.len());
            accounts.push(VendorAccount {
                id: account_id.clone(),
                name: name.clone(),
                raw: None,
            });
        }
        let sku_slug = sku.as_deref().map(slug);
        let key = match (&item_id, &sku_slug) {
            (Some(i), Some(s)) => format!("{i}/{s}"),
            (Some(i), None) => i.clone(),
            (None, Some(s)) => format!("{account_id}/{s}"),
            (None, None) => account_id.clone(),
        };
        if let Some(&at) = item_index.get(&key) {
            let acc = &mut items[at];
            if with_ids {
                let c = cols.get(Role::ItemId).expect("with ids");
                bad(
                    c,
                    format!(
                        "item `{}`{} is already on line {}; each item id may appear once per SKU",
                        item_id.as_deref().unwrap_or_default(),
                        sku.as_deref()
                            .map(|s| format!(" with SKU `{s}`"))
                            .unwrap_or_default(),
                        acc.lines[0]
                    ),
                );
                continue;
            }
            acc.quantity += quantity;
            acc.lines.push(row.line);
            if let Some(t) = seen
                && acc.item.last_contact.is_none_or(|c| c < t)
            {
                acc.item.last_contact = Some(t);
            }
            if let Some(n) = sku_name
                && !acc.item.attrs.contains_key("sku_name")
            {
                acc.item.attrs.insert("sku_name".into(), n);
            }
            continue;
        }
        let mut attrs = BTreeMap::new();
        attrs.insert("account".to_string(), name.clone());
        if let Some(s) = &sku {
            attrs.insert("sku".to_string(), s.clone());
        }
        if let Some(n) = sku_name {
            attrs.insert("sku_name".to_string(), n);
        }
        let item_name = match (&item_id, &sku) {
            (Some(i), _) => i.clone(),
            (None, Some(s)) => format!("{name} - {s}"),
            (None, None) => name.clone(),
        };
        item_index.insert(key.clone(), items.len());
        items.push(Acc {
            item: UsageItem {
                id: key,
                account_id: account_id.clone(),
                name: item_name,
                class: CLASS.to_string(),
                raw_class: sku.clone().unwrap_or_default(),
                online: None,
                last_contact: seen,
                pending_approval: false,
                attrs,
                raw: None,
            },
            quantity,
            lines: vec![row.line],
        });
    }
    if !errors.is_empty() {
        let more = errors.len().saturating_sub(MAX_ERRORS);
        let mut text = errors
            .iter()
            .take(MAX_ERRORS)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n  ");
        if more > 0 {
            text.push_str(&format!("\n  ... and {more} more"));
        }
        return Err(format!(
            "{} bad row{} (nothing was imported):\n  {text}",
            errors.len(),
            if errors.len() == 1 { "" } else { "s" }
        ));
    }
    let rows = table.rows.len();
    let items = items
        .into_iter()
        .map(|mut a| {
            a.item
                .attrs
                .insert("quantity".into(), a.quantity.normalize().to_string());
            a.item.attrs.insert("rows".into(), a.lines.len().to_string());
            // Kept for audits: where in the file the item came from.
            a.item.raw = Some(
                serde_json::json!({ "file": shown, "lines": a.lines, "quantity": a.quantity.normalize().to_string() })
                    .to_string(),
            );
            a.item
        })
        .collect();
    let columns = Role::ALL
        .iter()
        .filter_map(|r| {
            cols.get(*r)
                .map(|c| format!("{} = `{}`", r.key(), table.headers[c]))
        })
        .collect::<Vec<_>>()
        .join(", ");
    Ok(Imported {
        snapshot: VendorSnapshot {
            accounts,
            items,
            ..VendorSnapshot::default()
        },
        rows,
        columns,
    })
}

/// Built-in services: `all`, every unit of the file (handy for single-product exports).
pub fn services() -> Vec<ServiceDef> {
    vec![ServiceDef {
        key: ALL.into(),
        name: "All units".into(),
        classes: Some(vec![CLASS.to_string()]),
        quantity: Some("quantity".into()),
        ..ServiceDef::default()
    }]
}

/// One service per SKU the file holds, named by its `sku_name` when the file has one.
pub fn families() -> Vec<ServiceFamily> {
    vec![ServiceFamily {
        attr: "sku",
        name_attr: Some("sku_name"),
        key_suffix: "",
        name_suffix: "",
        quantity: Some("quantity"),
        classes: Some(&[CLASS]),
    }]
}

pub struct CsvImport {
    name: String,
    settings: Settings,
}

impl CsvImport {
    /// An import has no secrets, so `secret` is never called.
    pub fn new(
        name: &str,
        settings: &Settings,
        _secret: &dyn Fn(&str) -> anyhow::Result<SecretString>,
        _retry: RetryPolicy,
    ) -> anyhow::Result<CsvImport> {
        Ok(CsvImport {
            name: name.to_string(),
            settings: settings.clone(),
        })
    }

    fn invalid(&self, message: String) -> ConnectorError {
        ConnectorError::Invalid {
            connection: self.name.clone(),
            message,
        }
    }

    async fn read(&self, given: Option<&Path>) -> Result<(PathBuf, Imported), ConnectorError> {
        let Some(file) = self.settings.file(given) else {
            return Err(self.invalid(format!(
                "no file to import: run `reconcile sync {0} --file PATH`, or set `path` under [connections.{0}]",
                self.name
            )));
        };
        let settings = self.settings.clone();
        let path = file.clone();
        let name = self.name.clone();
        let result = tokio::task::spawn_blocking(move || {
            let bytes = std::fs::read(&path).map_err(|e| {
                format!(
                    "cannot read {}: {e}. Check the path, or give the file with `reconcile sync {name} --file PATH`",
                    path.display()
                )
            })?;
            import(&path, &bytes, &settings).map_err(|e| {
                format!("{e}\nFix the file (or the [connections.{name}.columns] profile), then sync again")
            })
        })
        .await
        .map_err(|e| self.invalid(format!("the import stopped: {e}")))?;
        result.map(|i| (file, i)).map_err(|e| self.invalid(e))
    }
}

#[async_trait]
impl Connector for CsvImport {
    fn kind(&self) -> ConnectorKind {
        ConnectorKind::Csv
    }

    async fn check(&self) -> Result<String, ConnectorError> {
        let (file, i) = self.read(None).await?;
        Ok(format!(
            "read {}: {} row{} for {} account{} ({})",
            file.display(),
            i.rows,
            if i.rows == 1 { "" } else { "s" },
            i.snapshot.accounts.len(),
            if i.snapshot.accounts.len() == 1 {
                ""
            } else {
                "s"
            },
            i.columns
        ))
    }

    async fn sync(&self, cx: &SyncCx) -> Result<Snapshot, ConnectorError> {
        let (file, i) = self.read(cx.file.as_deref()).await?;
        cx.report("rows", i.rows);
        tracing::debug!(connection = %self.name, file = %file.display(), rows = i.rows, items = i.snapshot.items.len(), "imported");
        Ok(Snapshot::Vendor(i.snapshot))
    }
}

#[cfg(test)]
mod tests;
