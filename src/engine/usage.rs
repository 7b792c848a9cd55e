//! The usage records the engine counts, behind one trait: a [`VendorSnapshot`] as connectors and
//! tests build it, or an [`ItemTable`], the compact form the `reconcile` and `report` commands
//! load from the store.
//!
//! A million `UsageItem`s with their strings and attribute maps take about a gigabyte; counting
//! needs only each item's account, class, pending flag, last contact and the few attributes the
//! configured services filter on. The table keeps exactly those (repeated strings interned, no
//! raw record, names and ids only when a rule reads them), about 40 bytes per item.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use jiff::Timestamp;

use crate::model::{ItemView, UsageItem, VendorAccount, VendorSnapshot};

/// A vendor connection's accounts and usage items, however they are held. `Sync`: a billing
/// period's snapshots are counted side by side.
pub trait Usage: Sync {
    fn accounts(&self) -> &[VendorAccount];
    /// Accounts listed but not read, by id → why.
    fn unreadable(&self) -> &BTreeMap<String, String>;
    /// Calls `f` on every item, in the store's order.
    fn each_item(&self, f: &mut dyn FnMut(&dyn ItemView));
    /// For one run's view of a table of item versions (see [`ItemTable::view`]): that table's
    /// identity, so what depends only on a version (which services count it) is worked out
    /// once for all the runs that share it; `None` for anything else.
    fn versions(&self) -> Option<usize> {
        None
    }
    /// For a view ([`Usage::versions`]): calls `f` on every version of its table, live in this
    /// run or not, without last contacts; anything else is [`Usage::each_version`]. What
    /// depends only on a version is worked out in one pass for every run of the table.
    fn each_table_version(&self, f: &mut dyn FnMut(usize, &dyn ItemView)) {
        self.each_version(f)
    }
    /// Calls `f` on every item with its index in the table of versions ([`Usage::versions`]);
    /// anything else calls it with indexes counting from 0.
    fn each_version(&self, f: &mut dyn FnMut(usize, &dyn ItemView)) {
        let mut i = 0;
        self.each_item(&mut |item| {
            f(i, item);
            i += 1;
        });
    }
}

impl Usage for VendorSnapshot {
    fn accounts(&self) -> &[VendorAccount] {
        &self.accounts
    }
    fn unreadable(&self) -> &BTreeMap<String, String> {
        &self.unreadable
    }
    fn each_item(&self, f: &mut dyn FnMut(&dyn ItemView)) {
        for i in &self.items {
            f(i);
        }
    }
}

/// Which parts of each item to keep when loading an [`ItemTable`]. Whatever is not kept reads
/// as empty, so a spec must name everything the services and rules it is used with read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ItemSpec {
    /// Item names (exclusions by device name, services filtering on the name, explain).
    pub names: bool,
    /// Item ids (explain).
    pub ids: bool,
    /// Attributes to keep; `None` keeps every attribute.
    pub attrs: Option<BTreeSet<String>>,
    /// Service families, as (attribute naming the service, attribute naming it readably): their
    /// services are derived from the values items carry, see [`ItemTable::samples`].
    pub families: Vec<(String, Option<String>)>,
}

impl ItemSpec {
    /// Everything: for explaining single items.
    pub fn full(families: Vec<(String, Option<String>)>) -> ItemSpec {
        ItemSpec {
            names: true,
            ids: true,
            attrs: None,
            families,
        }
    }

    /// Whether rows need their attributes parsed at all.
    pub fn wants_attrs(&self) -> bool {
        self.attrs.as_ref().is_none_or(|a| !a.is_empty()) || !self.families.is_empty()
    }

    fn keeps(&self, key: &str) -> bool {
        self.attrs.as_ref().is_none_or(|a| a.contains(key))
    }
}

#[derive(Debug, Clone, Copy)]
struct Packed {
    last_contact: Option<Timestamp>,
    account: u32,
    class: u32,
    attrs_start: u32,
    attrs_len: u32,
    pending: bool,
}

/// Items in compact form: see the module header. Built row by row with [`ItemTable::push`].
#[derive(Debug, Default)]
pub struct ItemTable {
    pub accounts: Vec<VendorAccount>,
    pub unreadable: BTreeMap<String, String>,
    /// One item per distinct value of each family's attribute (with its readable name), in
    /// the order the full snapshot would list the first item carrying it, so that
    /// [`crate::config::Config::services_seen`] derives the same services (and names) from
    /// these as from every item.
    pub samples: VendorSnapshot,
    spec: ItemSpec,
    strings: Vec<Box<str>>,
    index: HashMap<Box<str>, u32>,
    items: Vec<Packed>,
    attrs: Vec<(u32, u32)>,
    names: String,
    name_ends: Vec<u32>,
    ids: String,
    id_ends: Vec<u32>,
    /// Per family, per (value, name) pair: the smallest (account id, item id) carrying it.
    first_seen: Vec<FirstSeen>,
    /// A table of item versions (see [`ItemTable::push_version`]): per item, the runs it is
    /// live in, `[from, to)`. Empty for one snapshot's table.
    ranges: Vec<(i64, i64)>,
    /// When this table is one run's view of a shared table of versions: that table, the run,
    /// and the last contact of each item live in the run, in order.
    view: Option<View>,
}

#[derive(Debug)]
struct View {
    versions: std::sync::Arc<ItemTable>,
    run: i64,
    contacts: Vec<Option<Timestamp>>,
}

/// (attribute value, readable name) → the smallest (account id, item id) carrying the pair.
type FirstSeen = BTreeMap<(String, Option<String>), (String, String)>;

/// One row as the store reads it, borrowed from the row.
pub struct Row<'r> {
    pub id: &'r str,
    pub account_id: &'r str,
    pub name: &'r str,
    pub class: &'r str,
    pub pending_approval: bool,
    pub last_contact: Option<Timestamp>,
}

impl ItemTable {
    pub fn new(spec: ItemSpec) -> ItemTable {
        let first_seen = vec![BTreeMap::new(); spec.families.len()];
        ItemTable {
            spec,
            first_seen,
            ..ItemTable::default()
        }
    }

    pub fn spec(&self) -> &ItemSpec {
        &self.spec
    }

    fn intern(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        let i = u32::try_from(self.strings.len()).expect("fewer than 4 billion distinct strings");
        self.strings.push(s.into());
        self.index.insert(s.into(), i);
        i
    }

    /// Adds one item; `attrs` are its attributes (all of them: the spec picks).
    pub fn push<'a>(&mut self, row: Row<'_>, attrs: impl IntoIterator<Item = (&'a str, &'a str)>) {
        let account = self.intern(row.account_id);
        let class = self.intern(row.class);
        let attrs_start = self.attrs.len() as u32;
        let mut family_values: Vec<(usize, &str)> = Vec::new();
        let mut family_names: Vec<(usize, &str)> = Vec::new();
        for (k, v) in attrs {
            for (fi, (attr, name_attr)) in self.spec.families.iter().enumerate() {
                if attr == k {
                    family_values.push((fi, v));
                }
                if name_attr.as_deref() == Some(k) {
                    family_names.push((fi, v));
                }
            }
            if self.spec.keeps(k) {
                let kv = (self.intern(k), self.intern(v));
                self.attrs.push(kv);
            }
        }
        for (fi, value) in family_values {
            let name = family_names
                .iter()
                .find(|(f, _)| *f == fi)
                .map(|(_, n)| n.to_string());
            let key = (row.account_id, row.id);
            let seen = &mut self.first_seen[fi];
            match seen.get_mut(&(value.to_string(), name.clone())) {
                Some(first) if (first.0.as_str(), first.1.as_str()) <= key => {}
                Some(first) => *first = (row.account_id.to_string(), row.id.to_string()),
                None => {
                    seen.insert(
                        (value.to_string(), name),
                        (row.account_id.to_string(), row.id.to_string()),
                    );
                }
            }
        }
        if self.spec.names {
            self.names.push_str(row.name);
            self.name_ends.push(self.names.len() as u32);
        }
        if self.spec.ids {
            self.ids.push_str(row.id);
            self.id_ends.push(self.ids.len() as u32);
        }
        self.items.push(Packed {
            last_contact: row.last_contact,
            account,
            class,
            attrs_start,
            attrs_len: self.attrs.len() as u32 - attrs_start,
            pending: row.pending_approval,
        });
    }

    /// Adds one version of an item, live in the runs `from <= run < to` (the store's run ids):
    /// a table of the versions of many runs, of which [`ItemTable::view`] makes each run's
    /// table without copying. Its last contact is the view's, not `row`'s.
    pub fn push_version<'a>(
        &mut self,
        row: Row<'_>,
        attrs: impl IntoIterator<Item = (&'a str, &'a str)>,
        from: i64,
        to: i64,
    ) {
        self.push(row, attrs);
        self.ranges.push((from, to));
    }

    /// Whether version `i` of a table of versions is live in `run`.
    pub fn live_at(&self, i: usize, run: i64) -> bool {
        self.ranges
            .get(i)
            .is_some_and(|(from, to)| *from <= run && run < *to)
    }

    /// Run `run`'s table, from a finished table of versions: its items are the versions live
    /// in the run, in the order pushed, each with its last contact from `contacts` (one per
    /// live version, in order); the accounts are the run's own. The family samples are the
    /// whole table's: a service seen in some run of the table is offered in each.
    pub fn view(
        versions: &std::sync::Arc<ItemTable>,
        run: i64,
        accounts: Vec<VendorAccount>,
        unreadable: BTreeMap<String, String>,
        contacts: Vec<Option<Timestamp>>,
    ) -> ItemTable {
        ItemTable {
            accounts,
            unreadable,
            samples: versions.samples.clone(),
            spec: versions.spec.clone(),
            view: Some(View {
                versions: versions.clone(),
                run,
                contacts,
            }),
            ..ItemTable::default()
        }
    }

    /// Ends loading: builds [`ItemTable::samples`] and frees what only loading needed.
    pub fn finish(mut self) -> ItemTable {
        let mut samples: Vec<((String, String), UsageItem)> = Vec::new();
        for (fi, seen) in std::mem::take(&mut self.first_seen).into_iter().enumerate() {
            let (attr, name_attr) = &self.spec.families[fi];
            for ((value, name), (account_id, id)) in seen {
                let mut attrs = BTreeMap::from([(attr.clone(), value)]);
                if let (Some(a), Some(n)) = (name_attr, name) {
                    attrs.insert(a.clone(), n);
                }
                samples.push((
                    (account_id.clone(), id.clone()),
                    UsageItem {
                        id,
                        account_id,
                        name: String::new(),
                        class: String::new(),
                        raw_class: String::new(),
                        online: None,
                        last_contact: None,
                        pending_approval: false,
                        attrs,
                        raw: None,
                    },
                ));
            }
        }
        samples.sort_by(|a, b| a.0.cmp(&b.0));
        self.samples.items = samples.into_iter().map(|(_, i)| i).collect();
        self.index = HashMap::new();
        self.items.shrink_to_fit();
        self.attrs.shrink_to_fit();
        self
    }

    pub fn len(&self) -> usize {
        match &self.view {
            Some(v) => v.contacts.len(),
            None => self.items.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Usage for ItemTable {
    fn accounts(&self) -> &[VendorAccount] {
        &self.accounts
    }
    fn unreadable(&self) -> &BTreeMap<String, String> {
        &self.unreadable
    }
    fn each_item(&self, f: &mut dyn FnMut(&dyn ItemView)) {
        self.each_version(&mut |_, item| f(item));
    }

    fn versions(&self) -> Option<usize> {
        self.view
            .as_ref()
            .map(|v| std::sync::Arc::as_ptr(&v.versions) as usize)
    }

    fn each_table_version(&self, f: &mut dyn FnMut(usize, &dyn ItemView)) {
        let Some(view) = self.view.as_ref() else {
            return self.each_version(f);
        };
        let table = &*view.versions;
        for i in 0..table.items.len() {
            f(
                i,
                &ItemRef {
                    table,
                    i,
                    contact: Some(None),
                },
            );
        }
    }

    fn each_version(&self, f: &mut dyn FnMut(usize, &dyn ItemView)) {
        let Some(view) = self.view.as_ref() else {
            for i in 0..self.items.len() {
                f(
                    i,
                    &ItemRef {
                        table: self,
                        i,
                        contact: None,
                    },
                );
            }
            return;
        };
        let table = &*view.versions;
        let mut contacts = view.contacts.iter();
        for i in 0..table.items.len() {
            if table.live_at(i, view.run) {
                let contact = contacts.next().copied().flatten();
                f(
                    i,
                    &ItemRef {
                        table,
                        i,
                        contact: Some(contact),
                    },
                );
            }
        }
    }
}

/// One item of an [`ItemTable`].
struct ItemRef<'t> {
    table: &'t ItemTable,
    i: usize,
    /// A view's last contact, in place of the table's.
    contact: Option<Option<Timestamp>>,
}

impl ItemRef<'_> {
    fn packed(&self) -> &Packed {
        &self.table.items[self.i]
    }

    fn slice<'s>(&self, text: &'s str, ends: &[u32]) -> &'s str {
        if ends.is_empty() {
            return "";
        }
        let start = if self.i == 0 {
            0
        } else {
            ends[self.i - 1] as usize
        };
        &text[start..ends[self.i] as usize]
    }
}

impl ItemView for ItemRef<'_> {
    fn item_id(&self) -> &str {
        self.slice(&self.table.ids, &self.table.id_ends)
    }
    fn account_id(&self) -> &str {
        &self.table.strings[self.packed().account as usize]
    }
    fn name(&self) -> &str {
        self.slice(&self.table.names, &self.table.name_ends)
    }
    fn class(&self) -> &str {
        &self.table.strings[self.packed().class as usize]
    }
    fn pending_approval(&self) -> bool {
        self.packed().pending
    }
    fn last_contact(&self) -> Option<Timestamp> {
        match self.contact {
            Some(c) => c,
            None => self.packed().last_contact,
        }
    }
    fn attr(&self, key: &str) -> Option<&str> {
        let p = self.packed();
        let range = p.attrs_start as usize..(p.attrs_start + p.attrs_len) as usize;
        self.table.attrs[range]
            .iter()
            .find(|(k, _)| &*self.table.strings[*k as usize] == key)
            .map(|(_, v)| &*self.table.strings[*v as usize])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row<'a>(id: &'a str, account: &'a str, name: &'a str) -> Row<'a> {
        Row {
            id,
            account_id: account,
            name,
            class: "WINDOWS_WORKSTATION",
            pending_approval: id == "2",
            last_contact: Some("2026-01-02T03:04:05Z".parse().unwrap()),
        }
    }

    #[test]
    fn a_table_reads_back_what_its_spec_keeps() {
        let spec = ItemSpec {
            names: true,
            ids: false,
            attrs: Some(["role".to_string()].into()),
            families: Vec::new(),
        };
        let mut t = ItemTable::new(spec);
        t.push(
            row("1", "a", "pc1"),
            [("role", "server"), ("os", "windows")],
        );
        t.push(row("2", "b", "pc2"), []);
        let t = t.finish();
        let mut seen = Vec::new();
        t.each_item(&mut |i| {
            seen.push((
                i.item_id().to_string(),
                i.account_id().to_string(),
                i.name().to_string(),
                i.class().to_string(),
                i.pending_approval(),
                i.attr("role").map(str::to_string),
                i.attr("os").map(str::to_string),
                i.last_contact(),
            ))
        });
        let at = Some("2026-01-02T03:04:05Z".parse().unwrap());
        assert_eq!(
            seen,
            [
                (
                    String::new(),
                    "a".into(),
                    "pc1".into(),
                    "WINDOWS_WORKSTATION".into(),
                    false,
                    Some("server".into()),
                    None,
                    at
                ),
                (
                    String::new(),
                    "b".into(),
                    "pc2".into(),
                    "WINDOWS_WORKSTATION".into(),
                    true,
                    None,
                    None,
                    at
                ),
            ]
        );
    }

    #[test]
    fn family_samples_follow_the_first_item_in_account_then_id_order() {
        let spec = ItemSpec {
            families: vec![("sku".into(), Some("sku_name".into()))],
            ..ItemSpec::default()
        };
        let mut t = ItemTable::new(spec);
        // Read in id order; account order puts b/1 after a/9.
        t.push(row("1", "b", ""), [("sku", "E3"), ("sku_name", "Later")]);
        t.push(row("9", "a", ""), [("sku", "E3"), ("sku_name", "First")]);
        t.push(row("5", "a", ""), [("sku", "E5")]);
        let t = t.finish();
        let got: Vec<(&str, &str, Option<&str>)> = t
            .samples
            .items
            .iter()
            .map(|i| {
                (
                    i.id.as_str(),
                    i.attrs["sku"].as_str(),
                    i.attrs.get("sku_name").map(String::as_str),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("5", "E5", None),
                ("9", "E3", Some("First")),
                ("1", "E3", Some("Later"))
            ]
        );
    }
}
