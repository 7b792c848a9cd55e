//! What each billing period reconciled to, kept forever: the per-company, per-product lines
//! (`period_line`, migration 0012) and the per-account, per-service vendor counts
//! (`period_service_count`, migration 0013) `db prune` keeps when it drops a period's
//! item-level records, so `history`, the HTML report's charts and `db kept` still show the
//! months whose syncs were pruned. Written once per period, never replaced: the first summary
//! is the one made from whole records.

use std::str::FromStr;

use anyhow::{Context, Result};
use rusqlite::params;
use rust_decimal::Decimal;
use serde::Serialize;

use super::Store;
use crate::engine::ServiceCount;

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

/// One vendor service's counted units on one account in one period, as kept (`db kept`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeptCount {
    pub period: String,
    pub connection: String,
    pub account_id: String,
    pub account: String,
    pub service: String,
    pub latest: Decimal,
    pub peak: Decimal,
    pub average: Decimal,
    pub end_of_period: Decimal,
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
            .prepare("SELECT period FROM period_line UNION SELECT period FROM period_service_count ORDER BY 1")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Keeps period `period`'s `lines` and vendor `counts`, in one transaction; a line or
    /// count already kept stays as it was. Returns how many lines were new.
    pub fn keep_period(
        &mut self,
        period: &str,
        lines: &[PeriodLine],
        counts: &[ServiceCount],
    ) -> Result<usize> {
        let now = jiff::Timestamp::now().to_string();
        let tx = self.write()?;
        let mut added = 0;
        {
            let mut stmt = tx.prepare(
                "INSERT OR IGNORE INTO period_service_count (period, connection, account_id,
                    service, account, latest, peak, average, end_of_period, snapshots, kept_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?;
            for c in counts {
                stmt.execute(params![
                    period,
                    c.connection,
                    c.account_id,
                    c.service,
                    c.account,
                    c.latest.to_string(),
                    c.peak.to_string(),
                    c.average.to_string(),
                    c.end_of_period.to_string(),
                    c.snapshots as i64,
                    now,
                ])?;
            }
        }
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

    /// The kept vendor counts, oldest period first: every period's or only `period`'s, every
    /// connection's or only `connection`'s.
    pub fn kept_counts(
        &self,
        period: Option<&str>,
        connection: Option<&str>,
    ) -> Result<Vec<KeptCount>> {
        let mut stmt = self.conn.prepare(
            "SELECT period, connection, account_id, account, service, latest, peak, average,
                    end_of_period, snapshots
             FROM period_service_count
             WHERE (?1 IS NULL OR period = ?1) AND (?2 IS NULL OR connection = ?2)
             ORDER BY period, connection, account_id, service",
        )?;
        let mut rows = stmt.query(params![period, connection])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let n = |i: usize| -> Result<Decimal> {
                dec(Some(r.get(i)?)).map(Option::unwrap_or_default)
            };
            out.push(KeptCount {
                period: r.get(0)?,
                connection: r.get(1)?,
                account_id: r.get(2)?,
                account: r.get(3)?,
                service: r.get(4)?,
                latest: n(5)?,
                peak: n(6)?,
                average: n(7)?,
                end_of_period: n(8)?,
                snapshots: r.get::<_, i64>(9)?.max(0) as usize,
            });
        }
        Ok(out)
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

    fn count(account: &str, service: &str, peak: &str) -> ServiceCount {
        ServiceCount {
            connection: "ninja".into(),
            account_id: account.into(),
            account: format!("Account {account}"),
            service: service.into(),
            latest: Decimal::from(3),
            peak: peak.parse().unwrap(),
            average: "2.67".parse().unwrap(),
            end_of_period: Decimal::from(2),
            snapshots: 3,
        }
    }

    #[test]
    fn kept_lines_and_counts_read_back_exactly_and_the_first_kept_stays() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("r.db")).unwrap();
        let first = vec![line("2026-01", "1", "WS", 7), line("2026-01", "2", "WS", 9)];
        let counts = [count("7", "ws", "4"), count("7", "srv", "0.50")];
        assert_eq!(store.keep_period("2026-01", &first, &counts).unwrap(), 2);
        // Kept again later (from fewer records): the first summary stays.
        let again = vec![line("2026-01", "1", "WS", 1)];
        assert_eq!(
            store
                .keep_period("2026-01", &again, &[count("7", "ws", "1")])
                .unwrap(),
            0
        );
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
        // A period with vendor counts and no PSA line is kept too.
        store
            .keep_period("2026-02", &[], &[count("8", "ws", "5")])
            .unwrap();
        assert_eq!(store.kept_periods().unwrap(), ["2026-01", "2026-02"]);
        let kept = store.kept_counts(Some("2026-01"), Some("ninja")).unwrap();
        let got: Vec<(String, String, String, String)> = kept
            .iter()
            .map(|k| {
                (
                    k.period.clone(),
                    k.service.clone(),
                    k.peak.to_string(),
                    k.average.to_string(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("2026-01".into(), "srv".into(), "0.50".into(), "2.67".into()),
                ("2026-01".into(), "ws".into(), "4".into(), "2.67".into()),
            ]
        );
        assert_eq!(store.kept_counts(None, None).unwrap().len(), 3);
        assert!(store.kept_counts(None, Some("other")).unwrap().is_empty());
    }
}
