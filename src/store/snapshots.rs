//! The records of a sync run's snapshot: writing a vendor snapshot (accounts, the unreadable
//! ones with why, usage items, also streamed in while the run goes on) or a PSA snapshot
//! (companies, agreements, lines, products), and reading them back whole. Decimals are stored as
//! text and read back exactly.

use std::collections::BTreeMap;
use std::str::FromStr;

use anyhow::{Context, Result};
use jiff::Timestamp;
use rusqlite::params;
use rust_decimal::Decimal;

use super::Store;
use super::versions::{Stream, read_items};
use crate::model::{
    BillCustomer, PsaAgreement, PsaCompany, PsaLine, PsaProduct, PsaSnapshot, UsageItem,
    VendorSnapshot,
};

fn dec(s: String) -> Result<Decimal> {
    Decimal::from_str(&s)
        .with_context(|| format!("the database holds `{s}` where a decimal belongs"))
}

fn ts_opt(s: Option<String>) -> Result<Option<Timestamp>> {
    s.map(|s| {
        s.parse::<Timestamp>()
            .with_context(|| format!("the database holds `{s}` where a timestamp belongs"))
    })
    .transpose()
}

fn opt_ts(t: Option<Timestamp>) -> Option<String> {
    t.map(|t| t.to_string())
}

impl Store {
    /// Stores a page of a run still going (a streaming sync), in its own short transaction,
    /// compared with the connection's current versions as it arrives (see `versions.rs`):
    /// nothing of it is read until [`Store::finish_run_ok_streamed`] makes the run current,
    /// so readers never see a half-read snapshot, and a failed or killed run's rows are
    /// deleted. Short transactions, rather than one for the whole run, let connections
    /// syncing side by side and `report` share the database meanwhile.
    pub fn write_items(&mut self, run_id: i64, items: &[UsageItem]) -> Result<()> {
        // A failed page ends the stream: the run can then only fail (see
        // `finish_run_ok_streamed`), which drops what it wrote.
        let stream = self.streams.remove(&run_id);
        let tx = self.write()?;
        let mut stream = match stream {
            Some(s) => s,
            None => Stream::begin(&tx, run_id)?,
        };
        stream.write(&tx, run_id, items)?;
        tx.commit()?;
        self.streams.insert(run_id, stream);
        Ok(())
    }

    /// Items per account in a run's snapshot (what a connector plans its next reads by).
    pub fn items_per_account(&self, run_id: i64) -> Result<BTreeMap<String, usize>> {
        let mut out: BTreeMap<String, usize> = BTreeMap::new();
        read_items(&self.conn, run_id, |r| {
            match out.get_mut(r.account_id) {
                Some(n) => *n += 1,
                None => {
                    out.insert(r.account_id.to_string(), 1);
                }
            }
            Ok(())
        })?;
        Ok(out)
    }

    pub fn load_vendor_snapshot(&self, run_id: i64) -> Result<VendorSnapshot> {
        let (accounts, unreadable) = self.load_vendor_accounts(run_id)?;
        let mut items = Vec::new();
        read_items(&self.conn, run_id, |r| {
            items.push(UsageItem {
                id: r.id.to_string(),
                account_id: r.account_id.to_string(),
                name: r.name.to_string(),
                class: r.class.to_string(),
                raw_class: r.raw_class.to_string(),
                online: r.online,
                last_contact: r.last_contact,
                pending_approval: r.pending_approval,
                attrs: serde_json::from_str(r.attrs).unwrap_or_default(),
                raw: None,
            });
            Ok(())
        })?;
        // The order the engine and `explain` have always seen: by account, then id.
        items.sort_by(|a, b| (&a.account_id, &a.id).cmp(&(&b.account_id, &b.id)));
        Ok(VendorSnapshot {
            accounts,
            items,
            unreadable,
            // Counted in the run's meta, never needed again to reconcile.
            set_aside: Vec::new(),
        })
    }

    pub fn load_psa_snapshot(&self, run_id: i64) -> Result<PsaSnapshot> {
        let mut stmt = self.conn.prepare(
            "SELECT id, identifier, name, status, types, billable, not_billable_reason FROM psa_company WHERE run_id = ?1 ORDER BY name, id",
        )?;
        let companies = stmt
            .query_map([run_id], |r| {
                let types: String = r.get(4)?;
                Ok(PsaCompany {
                    id: r.get(0)?,
                    identifier: r.get(1)?,
                    name: r.get(2)?,
                    status: r.get(3)?,
                    types: serde_json::from_str(&types).unwrap_or_default(),
                    billable: r.get(5)?,
                    not_billable_reason: r.get(6)?,
                    raw: None,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;

        let mut stmt = self.conn.prepare(
            "SELECT id, company_id, name, agreement_type, status, start_at, end_at, cancelled, billing_cycle
             FROM psa_agreement WHERE run_id = ?1 ORDER BY id",
        )?;
        let rows = stmt
            .query_map([run_id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, bool>(7)?,
                    r.get::<_, Option<String>>(8)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let agreements = rows
            .into_iter()
            .map(
                |(
                    id,
                    company_id,
                    name,
                    agreement_type,
                    status,
                    start,
                    end,
                    cancelled,
                    billing_cycle,
                )| {
                    Ok(PsaAgreement {
                        id,
                        company_id,
                        name,
                        agreement_type,
                        status,
                        start: ts_opt(start)?,
                        end: ts_opt(end)?,
                        cancelled,
                        billing_cycle,
                        raw: None,
                    })
                },
            )
            .collect::<Result<Vec<_>>>()?;

        let mut stmt = self.conn.prepare(
            "SELECT id, agreement_id, company_id, product_id, product_identifier, description, quantity,
                    less_included, unit_price, unit_cost, effective_at, cancelled_at, bill_customer, invoiced
             FROM psa_line WHERE run_id = ?1 ORDER BY agreement_id, id",
        )?;
        type LineRow = (
            String,
            String,
            String,
            Option<String>,
            String,
            Option<String>,
            String,
            String,
            String,
            String,
            Option<String>,
            Option<String>,
            String,
            Option<String>,
        );
        let rows: Vec<LineRow> = stmt
            .query_map([run_id], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                    r.get(10)?,
                    r.get(11)?,
                    r.get(12)?,
                    r.get(13)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let lines = rows
            .into_iter()
            .map(
                |(
                    id,
                    agreement_id,
                    company_id,
                    product_id,
                    product_identifier,
                    description,
                    q,
                    li,
                    up,
                    uc,
                    eff,
                    can,
                    bc,
                    invoiced,
                )| {
                    Ok(PsaLine {
                        id,
                        agreement_id,
                        company_id,
                        product_id,
                        product_identifier,
                        description,
                        quantity: dec(q)?,
                        less_included: dec(li)?,
                        unit_price: dec(up)?,
                        unit_cost: dec(uc)?,
                        effective: ts_opt(eff)?,
                        cancelled: ts_opt(can)?,
                        bill_customer: BillCustomer::parse(&bc),
                        invoiced,
                        raw: None,
                    })
                },
            )
            .collect::<Result<Vec<_>>>()?;

        let mut stmt = self.conn.prepare(
            "SELECT id, identifier, description, price, cost, inactive FROM psa_product WHERE run_id = ?1 ORDER BY identifier, id",
        )?;
        let rows = stmt
            .query_map([run_id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, bool>(5)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let products = rows
            .into_iter()
            .map(|(id, identifier, description, price, cost, inactive)| {
                Ok(PsaProduct {
                    id,
                    identifier,
                    description,
                    price: price.map(dec).transpose()?,
                    cost: cost.map(dec).transpose()?,
                    inactive,
                    raw: None,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let (meta, whole_units): (String, bool) = self.conn.query_row(
            "SELECT meta, whole_units FROM sync_run WHERE id = ?1",
            [run_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let mut stmt = self
            .conn
            .prepare("SELECT company_id, why FROM psa_unreadable WHERE run_id = ?1")?;
        let unreadable = stmt
            .query_map([run_id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(PsaSnapshot {
            companies,
            agreements,
            lines,
            products,
            whole_units,
            meta: serde_json::from_str(&meta).unwrap_or_default(),
            unreadable,
            // Counted in the run's meta, never needed again to reconcile.
            set_aside: Vec::new(),
        })
    }
}

/// A vendor snapshot's accounts (its items become versions: see `versions.rs`).
pub(super) fn write_accounts(
    tx: &rusqlite::Transaction,
    run_id: i64,
    v: &VendorSnapshot,
) -> Result<()> {
    let mut stmt =
        tx.prepare("INSERT INTO vendor_account (run_id, id, name, raw, unreadable) VALUES (?1, ?2, ?3, ?4, ?5)")?;
    for a in &v.accounts {
        stmt.execute(params![
            run_id,
            a.id,
            a.name,
            a.raw,
            v.unreadable.get(&a.id)
        ])
        .with_context(|| format!("cannot store account {} (is the id repeated?)", a.id))?;
    }
    Ok(())
}

pub(super) fn write_items(
    tx: &rusqlite::Transaction,
    run_id: i64,
    items: &[UsageItem],
) -> Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO temp.stage_item (run_id, id, account_id, name, class, raw_class, online, last_contact, pending_approval, attrs)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    let mut raw =
        tx.prepare_cached("INSERT INTO temp.stage_raw (run_id, id, raw) VALUES (?1, ?2, ?3)")?;
    for i in items {
        if let Some(r) = &i.raw {
            raw.execute(params![run_id, i.id, r])
                .with_context(|| format!("cannot store item {} (is the id repeated?)", i.id))?;
        }
        stmt.execute(params![
            run_id,
            i.id,
            i.account_id,
            i.name,
            i.class,
            i.raw_class,
            i.online,
            opt_ts(i.last_contact),
            i.pending_approval,
            serde_json::to_string(&i.attrs)?,
        ])
        .with_context(|| format!("cannot store item {} (is the id repeated?)", i.id))?;
    }
    Ok(())
}

pub(super) fn write_psa(tx: &rusqlite::Transaction, run_id: i64, p: &PsaSnapshot) -> Result<()> {
    let mut stmt = tx.prepare(
        "INSERT INTO psa_company (run_id, id, identifier, name, status, types, billable, not_billable_reason, raw)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    for c in &p.companies {
        stmt.execute(params![
            run_id,
            c.id,
            c.identifier,
            c.name,
            c.status,
            serde_json::to_string(&c.types)?,
            c.billable,
            c.not_billable_reason,
            c.raw
        ])
        .with_context(|| format!("cannot store company {}", c.id))?;
    }
    let mut stmt = tx.prepare(
        "INSERT INTO psa_agreement (run_id, id, company_id, name, agreement_type, status, start_at, end_at, cancelled, billing_cycle, raw)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    for a in &p.agreements {
        stmt.execute(params![
            run_id,
            a.id,
            a.company_id,
            a.name,
            a.agreement_type,
            a.status,
            opt_ts(a.start),
            opt_ts(a.end),
            a.cancelled,
            a.billing_cycle,
            a.raw
        ])
        .with_context(|| format!("cannot store agreement {}", a.id))?;
    }
    let mut stmt = tx.prepare(
        "INSERT INTO psa_line (run_id, id, agreement_id, company_id, product_id, product_identifier, description, quantity,
                               less_included, unit_price, unit_cost, effective_at, cancelled_at, bill_customer, raw, invoiced)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    )?;
    for l in &p.lines {
        stmt.execute(params![
            run_id,
            l.id,
            l.agreement_id,
            l.company_id,
            l.product_id,
            l.product_identifier,
            l.description,
            l.quantity.to_string(),
            l.less_included.to_string(),
            l.unit_price.to_string(),
            l.unit_cost.to_string(),
            opt_ts(l.effective),
            opt_ts(l.cancelled),
            l.bill_customer.as_str(),
            l.raw,
            l.invoiced
        ])
        .with_context(|| format!("cannot store line {}", l.id))?;
    }
    let mut stmt = tx.prepare(
        "INSERT INTO psa_product (run_id, id, identifier, description, price, cost, inactive, raw) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for pr in &p.products {
        stmt.execute(params![
            run_id,
            pr.id,
            pr.identifier,
            pr.description,
            pr.price.map(|d| d.to_string()),
            pr.cost.map(|d| d.to_string()),
            pr.inactive,
            pr.raw
        ])
        .with_context(|| format!("cannot store product {}", pr.id))?;
    }
    let mut stmt =
        tx.prepare("INSERT INTO psa_unreadable (run_id, company_id, why) VALUES (?1, ?2, ?3)")?;
    for (company, why) in &p.unreadable {
        stmt.execute(params![run_id, company, why])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Snapshot, VendorAccount};
    use crate::store::runs::tests::vendor;

    #[test]
    fn an_unreadable_account_is_stored_with_why_and_the_run_counts_it() {
        let mut s = Store::open_in_memory().unwrap();
        let Snapshot::Vendor(mut v) = vendor(2) else {
            unreachable!()
        };
        v.accounts.push(VendorAccount {
            id: "2".into(),
            name: "Contoso".into(),
            raw: None,
        });
        v.unreadable
            .insert("2".into(), "admin consent missing (AADSTS65001)".into());
        let r = s.begin_run("m", "m365").unwrap();
        s.finish_run_ok(r, "m", &Snapshot::Vendor(v)).unwrap();
        let run = s.current_run("m").unwrap().unwrap();
        assert_eq!(run.unreadable, 1);
        let back = s.load_vendor_snapshot(run.id).unwrap();
        assert_eq!(back.accounts.len(), 2);
        assert_eq!(
            back.unreadable_notes(),
            ["Contoso was not read: admin consent missing (AADSTS65001)"]
        );
        let r2 = s.begin_run("n", "ninjaone").unwrap();
        s.finish_run_ok(r2, "n", &vendor(1)).unwrap();
        assert_eq!(s.current_run("n").unwrap().unwrap().unreadable, 0);
    }

    #[test]
    fn records_set_aside_are_counted_in_the_run_meta_that_status_shows() {
        let mut s = Store::open_in_memory().unwrap();
        let Snapshot::Vendor(mut v) = vendor(2) else {
            unreachable!()
        };
        v.set_aside = vec!["GET /v2/devices [3]: missing field `id`".into()];
        let r = s.begin_run("n", "ninjaone").unwrap();
        s.finish_run_ok(r, "n", &Snapshot::Vendor(v)).unwrap();
        let run = s.current_run("n").unwrap().unwrap();
        assert_eq!(
            run.meta[crate::model::SET_ASIDE_META],
            "1 record set aside, not attributable to an account: GET /v2/devices [3]: missing field `id`"
        );
        let r2 = s.begin_run("m", "ninjaone").unwrap();
        s.finish_run_ok(r2, "m", &vendor(1)).unwrap();
        assert!(s.current_run("m").unwrap().unwrap().meta.is_empty());
    }

    #[test]
    fn psa_snapshots_round_trip_exact_decimals() {
        let mut s = Store::open_in_memory().unwrap();
        let psa = PsaSnapshot {
            companies: vec![PsaCompany {
                id: "1".into(),
                identifier: "ACME".into(),
                name: "Acme".into(),
                status: "Active".into(),
                types: vec!["Client".into()],
                billable: true,
                not_billable_reason: None,
                raw: None,
            }],
            agreements: vec![PsaAgreement {
                id: "5".into(),
                company_id: "1".into(),
                name: "MSA".into(),
                agreement_type: Some("Managed".into()),
                status: "Active".into(),
                start: Some("2024-01-01T00:00:00Z".parse().unwrap()),
                end: None,
                cancelled: false,
                billing_cycle: Some("Monthly".into()),
                raw: None,
            }],
            lines: vec![PsaLine {
                id: "9".into(),
                agreement_id: "5".into(),
                company_id: "1".into(),
                product_id: Some("77".into()),
                product_identifier: "WS".into(),
                description: Some("Workstations".into()),
                quantity: Decimal::from_str("24.5").unwrap(),
                less_included: Decimal::from_str("0").unwrap(),
                unit_price: Decimal::from_str("22.99").unwrap(),
                unit_cost: Decimal::from_str("18.50").unwrap(),
                effective: Some("2024-02-01T00:00:00Z".parse().unwrap()),
                cancelled: None,
                bill_customer: BillCustomer::NoCharge,
                invoiced: Some("invoice 1042 of 2026-11-01".into()),
                raw: None,
            }],
            products: vec![PsaProduct {
                id: "77".into(),
                identifier: "WS".into(),
                description: None,
                price: Some(Decimal::from_str("30.10").unwrap()),
                cost: None,
                inactive: false,
                raw: None,
            }],
            whole_units: true,
            meta: [(
                "api requests this hour".to_string(),
                "12 of 10000".to_string(),
            )]
            .into(),
            unreadable: [(
                "1".to_string(),
                "line 9 has no readable quantity".to_string(),
            )]
            .into(),
            set_aside: Vec::new(),
        };
        let r = s.begin_run("cw", "connectwise").unwrap();
        s.finish_run_ok(r, "cw", &Snapshot::Psa(psa.clone()))
            .unwrap();
        assert_eq!(s.load_psa_snapshot(r).unwrap(), psa);
        assert_eq!(
            s.current_run("cw").unwrap().unwrap().meta["api requests this hour"],
            "12 of 10000"
        );
    }
}
