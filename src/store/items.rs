//! Reading a vendor snapshot into the engine's compact [`ItemTable`]: rows in id order (no sort),
//! strings borrowed from the row and interned, the attributes' JSON parsed only when
//! the spec keeps some attribute, `raw` never read.

use std::collections::BTreeMap;

use anyhow::Result;

use super::Store;
use super::versions::read_items;
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
        read_items(&self.conn, run_id, |r| {
            let row = Row {
                id: r.id,
                account_id: r.account_id,
                name: r.name,
                class: r.class,
                pending_approval: r.pending_approval,
                last_contact: r.last_contact,
            };
            if wants_attrs && r.attrs != "{}" {
                let attrs: BTreeMap<String, String> =
                    serde_json::from_str(r.attrs).unwrap_or_default();
                table.push(row, attrs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            } else {
                table.push(row, []);
            }
            Ok(())
        })?;
        Ok(table.finish())
    }
}
