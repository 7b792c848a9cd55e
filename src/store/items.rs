//! Reading a vendor snapshot into the engine's compact [`ItemTable`]: rows in primary-key order
//! (no sort), strings borrowed from the row and interned, the attributes' JSON parsed only when
//! the spec keeps some attribute, `raw` never read.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use jiff::Timestamp;

use super::Store;
use crate::engine::{ItemSpec, ItemTable, Row};
use crate::model::VendorAccount;

impl Store {
    /// A vendor snapshot's accounts, and why each unreadable one was not read.
    pub(super) fn load_vendor_accounts(
        &self,
        run_id: i64,
    ) -> Result<(Vec<VendorAccount>, BTreeMap<String, String>)> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, name, unreadable FROM vendor_account WHERE run_id = ?1 ORDER BY name, id",
        )?;
        let mut unreadable = BTreeMap::new();
        let mut accounts = Vec::new();
        let mut rows = stmt.query([run_id])?;
        while let Some(r) = rows.next()? {
            let a = VendorAccount {
                id: r.get(0)?,
                name: r.get(1)?,
                raw: None,
            };
            if let Some(why) = r.get::<_, Option<String>>(2)? {
                unreadable.insert(a.id.clone(), why);
            }
            accounts.push(a);
        }
        Ok((accounts, unreadable))
    }

    /// A vendor snapshot as an [`ItemTable`] keeping what `spec` asks for.
    pub fn load_item_table(&self, run_id: i64, spec: &ItemSpec) -> Result<ItemTable> {
        let (accounts, unreadable) = self.load_vendor_accounts(run_id)?;
        let mut table = ItemTable::new(spec.clone());
        table.accounts = accounts;
        table.unreadable = unreadable;
        let wants_attrs = spec.wants_attrs();
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, account_id, name, class, pending_approval, last_contact, attrs
             FROM usage_item WHERE run_id = ?1",
        )?;
        let mut rows = stmt.query([run_id])?;
        while let Some(r) = rows.next()? {
            let text = |i: usize| -> Result<&str> { Ok(r.get_ref(i)?.as_str()?) };
            let last_contact = match r.get_ref(5)?.as_str_or_null()? {
                None => None,
                Some(s) => Some(s.parse::<Timestamp>().with_context(|| {
                    format!("the database holds `{s}` where a timestamp belongs")
                })?),
            };
            let row = Row {
                id: text(0)?,
                account_id: text(1)?,
                name: text(2)?,
                class: text(3)?,
                pending_approval: r.get(4)?,
                last_contact,
            };
            let attrs_json = text(6)?;
            if wants_attrs && attrs_json != "{}" {
                let attrs: BTreeMap<String, String> =
                    serde_json::from_str(attrs_json).unwrap_or_default();
                table.push(row, attrs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            } else {
                table.push(row, []);
            }
        }
        Ok(table.finish())
    }
}
