//! What each billing period reconciled to, kept forever (`period_line`, migration 0012): the
//! per-company, per-product counts `db prune` keeps when it drops a period's item-level records,
//! so `history` and the HTML report's charts still show the months whose syncs were pruned.
//! Written once per period, never replaced: the first summary is the one made from whole
//! records.

use std::str::FromStr;

use anyhow::{Context, Result};
use rusqlite::params;
use rust_decimal::Decimal;

use super::Store;

/// One company's product in one period, as it was reconciled before the period was pruned.
#[derive(Debug, Clone, PartialEq)]
pub struct PeriodLine {
    /// `2026-10`.
    pub period: String,
    pub psa_connection: String,
    pub company_id: String,
    pub product: String,
    pub company: String,
    /// The vendor count on the configured basis (what the difference was taken from).
    pub vendor: Option<Decimal>,
    pub vendor_latest: Option<Decimal>,
    pub vendor_peak: Option<Decimal>,
    pub billed: Option<Decimal>,
    pub difference: Option<Decimal>,
    pub monthly_impact: Option<Decimal>,
    pub currency: String,
    /// The finding's type (`under_billed`, `match`, ...).
    pub kind: String,
    pub snapshots: usize,
}

fn dec(s: Option<String>) -> Result<Option<Decimal>> {
    s.map(|s| {
        Decimal::from_str(&s).with_context(|| {
            format!("the database holds `{s}` where a decimal belongs (period_line)")
        })
    })
    .transpose()
}

impl Store {
    /// The periods that have kept lines.
    pub fn kept_periods(&self) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT period FROM period_line ORDER BY period")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Keeps `lines`, in one transaction; a line already kept for its period, company and
    /// product stays as it was. Returns how many were new.
    pub fn keep_period_lines(&mut self, lines: &[PeriodLine]) -> Result<usize> {
        let now = jiff::Timestamp::now().to_string();
        let tx = self.write()?;
        let mut added = 0;
        {
            let mut stmt = tx.prepare(
                "INSERT OR IGNORE INTO period_line (period, psa_connection, company_id, product,
                    company, vendor, vendor_latest, vendor_peak, billed, difference,
                    monthly_impact, currency, kind, snapshots, kept_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            )?;
            let text = |d: Option<Decimal>| d.map(|d| d.to_string());
            for l in lines {
                added += stmt.execute(params![
                    l.period,
                    l.psa_connection,
                    l.company_id,
                    l.product,
                    l.company,
                    text(l.vendor),
                    text(l.vendor_latest),
                    text(l.vendor_peak),
                    text(l.billed),
                    text(l.difference),
                    text(l.monthly_impact),
                    l.currency,
                    l.kind,
                    l.snapshots as i64,
                    now,
                ])?;
            }
        }
        tx.commit()?;
        Ok(added)
    }

    /// The kept lines of `period`: every company's, or only those of `company` (PSA connection,
    /// company id).
    pub fn period_lines(
        &self,
        period: &str,
        company: Option<(&str, &str)>,
    ) -> Result<Vec<PeriodLine>> {
        let mut stmt = self.conn.prepare(
            "SELECT period, psa_connection, company_id, product, company, vendor, vendor_latest,
                    vendor_peak, billed, difference, monthly_impact, currency, kind, snapshots
             FROM period_line
             WHERE period = ?1 AND (?2 IS NULL OR (psa_connection = ?2 AND company_id = ?3))
             ORDER BY psa_connection, company_id, product",
        )?;
        let (psa, id) = company.unzip();
        let mut rows = stmt.query(params![period, psa, id])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(PeriodLine {
                period: r.get(0)?,
                psa_connection: r.get(1)?,
                company_id: r.get(2)?,
                product: r.get(3)?,
                company: r.get(4)?,
                vendor: dec(r.get(5)?)?,
                vendor_latest: dec(r.get(6)?)?,
                vendor_peak: dec(r.get(7)?)?,
                billed: dec(r.get(8)?)?,
                difference: dec(r.get(9)?)?,
                monthly_impact: dec(r.get(10)?)?,
                currency: r.get(11)?,
                kind: r.get(12)?,
                snapshots: r.get::<_, i64>(13)?.max(0) as usize,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(period: &str, company_id: &str, product: &str, vendor: i64) -> PeriodLine {
        PeriodLine {
            period: period.into(),
            psa_connection: "cw".into(),
            company_id: company_id.into(),
            product: product.into(),
            company: format!("Company {company_id}"),
            vendor: Some(Decimal::from(vendor)),
            vendor_latest: Some(Decimal::from(vendor)),
            vendor_peak: Some(Decimal::new(vendor * 10 + 5, 1)),
            billed: Some(Decimal::from(5)),
            difference: Some(Decimal::from(vendor - 5)),
            monthly_impact: None,
            currency: "USD".into(),
            kind: "under_billed".into(),
            snapshots: 31,
        }
    }

    #[test]
    fn kept_lines_read_back_exactly_and_the_first_kept_stays() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("r.db")).unwrap();
        let first = vec![line("2026-01", "1", "WS", 7), line("2026-01", "2", "WS", 9)];
        assert_eq!(store.keep_period_lines(&first).unwrap(), 2);
        // Kept again later (from fewer records): the first summary stays.
        let again = vec![line("2026-01", "1", "WS", 1), line("2026-02", "1", "WS", 8)];
        assert_eq!(store.keep_period_lines(&again).unwrap(), 1);
        assert_eq!(store.period_lines("2026-01", None).unwrap(), first);
        assert_eq!(
            store.period_lines("2026-01", Some(("cw", "2"))).unwrap(),
            vec![first[1].clone()]
        );
        assert!(
            store
                .period_lines("2026-01", Some(("other", "2")))
                .unwrap()
                .is_empty()
        );
        assert_eq!(store.kept_periods().unwrap(), ["2026-01", "2026-02"]);
    }
}
