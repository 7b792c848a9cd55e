//! Sync runs and the snapshots they wrote; reconcile runs and their findings.
//!
//! A sync run is recorded as `running` when it starts. Its records are written, and it becomes
//! the connection's current snapshot, in one transaction when it completes; a failure records
//! only the error. Older runs stay as history.

use std::collections::BTreeMap;
use std::str::FromStr;

use anyhow::{Context, Result};
use jiff::Timestamp;
use rusqlite::{OptionalExtension, params};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::Store;
use crate::engine::{Finding, Totals};
use crate::model::{
    BillCustomer, PsaAgreement, PsaCompany, PsaLine, PsaProduct, PsaSnapshot, Snapshot, UsageItem,
    VendorSnapshot,
};

/// Another live `reconcile` process is syncing the connection.
#[derive(Debug, thiserror::Error)]
#[error(
    "`{connection}` is being synced by another reconcile process (pid {pid}, started {started_at})"
)]
pub struct Busy {
    pub connection: String,
    pub pid: u32,
    pub started_at: String,
}

/// Whether a process with this id is running (on this machine).
#[cfg(unix)]
fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // Signal 0 only checks: EPERM means it exists under another user.
    // SAFETY: kill with signal 0 sends nothing; it only reports whether the pid exists.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(not(unix))]
fn process_alive(_pid: u32) -> bool {
    // No cheap check here: trust the run until INTERRUPTED_AFTER_HOURS.
    true
}

/// A `running` run older than this is taken as interrupted (the process died).
const INTERRUPTED_AFTER_HOURS: i64 = 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Running,
    Ok,
    Failed,
}

impl RunStatus {
    fn parse(s: &str) -> RunStatus {
        match s {
            "ok" => RunStatus::Ok,
            "running" => RunStatus::Running,
            _ => RunStatus::Failed,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Ok => "ok",
            RunStatus::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    pub id: i64,
    pub connection: String,
    pub kind: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub status: RunStatus,
    pub error: Option<String>,
    pub counts: BTreeMap<String, usize>,
    /// Accounts the run listed but could not read (a partial run when not 0).
    pub unreadable: usize,
    /// The connector's notes on the API (PSA runs), e.g. its request quota.
    pub meta: BTreeMap<String, String>,
}

/// One stored `reconcile` result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReconcileRecord {
    pub id: i64,
    pub created_at: String,
    pub as_of: String,
    pub currency: String,
    /// The sync run each connection's numbers came from.
    pub sources: BTreeMap<String, i64>,
    pub totals: Totals,
    pub findings: Vec<Finding>,
}

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

pub(super) fn run_from_row(r: &rusqlite::Row) -> rusqlite::Result<RunInfo> {
    let counts: String = r.get(7)?;
    Ok(RunInfo {
        id: r.get(0)?,
        connection: r.get(1)?,
        kind: r.get(2)?,
        started_at: r.get(3)?,
        finished_at: r.get(4)?,
        status: RunStatus::parse(&r.get::<_, String>(5)?),
        error: r.get(6)?,
        counts: serde_json::from_str(&counts).unwrap_or_default(),
        unreadable: r.get::<_, i64>(8)? as usize,
        meta: serde_json::from_str(&r.get::<_, String>(9)?).unwrap_or_default(),
    })
}

pub(super) const RUN_COLUMNS: &str = "id, connection, kind, started_at, finished_at, status, error, counts,
    (SELECT count(*) FROM vendor_account va WHERE va.run_id = sync_run.id AND va.unreadable IS NOT NULL),
    meta";

impl Store {
    /// Records that a sync of `connection` started; returns the run id, or
    /// [`Busy`] when another live process is syncing the connection. Runs left `running` by a
    /// process that is gone (killed) are marked failed first.
    pub fn begin_run(&mut self, connection: &str, kind: &str) -> Result<i64> {
        let now = Timestamp::now();
        let stale = now - jiff::SignedDuration::from_hours(INTERRUPTED_AFTER_HOURS);
        let me = std::process::id();
        let tx = self.write()?;
        let running: Vec<(i64, Option<u32>, String)> = {
            let mut stmt = tx.prepare(
                "SELECT id, pid, started_at FROM sync_run WHERE connection = ?1 AND status = 'running'",
            )?;
            stmt.query_map([connection], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<rusqlite::Result<_>>()?
        };
        for (id, pid, started_at) in running {
            let old = started_at
                .parse::<Timestamp>()
                .map(|t| t < stale)
                .unwrap_or(true);
            let alive = pid.is_some_and(|p| p != me && process_alive(p));
            if alive && !old {
                return Err(Busy {
                    connection: connection.to_string(),
                    pid: pid.unwrap_or_default(),
                    started_at,
                }
                .into());
            }
            let why = match pid {
                Some(p) if !old => {
                    format!("interrupted: the process (pid {p}) ended before the sync finished")
                }
                _ => "interrupted: the process ended before the sync finished".to_string(),
            };
            tx.execute(
                "UPDATE sync_run SET status = 'failed', finished_at = ?1, error = ?2 WHERE id = ?3",
                params![now.to_string(), why, id],
            )?;
            drop_partial_rows(&tx, id)?;
        }
        tx.execute(
            "INSERT INTO sync_run (connection, kind, started_at, status, pid) VALUES (?1, ?2, ?3, 'running', ?4)",
            params![connection, kind, now.to_string(), me],
        )?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(id)
    }

    /// Writes a completed run's records and makes them the current snapshot, all at once.
    pub fn finish_run_ok(
        &mut self,
        run_id: i64,
        connection: &str,
        snapshot: &Snapshot,
    ) -> Result<()> {
        self.finish_run_ok_streamed(run_id, connection, snapshot, 0)
    }

    /// Stores items of a run still going (a streaming sync), in their own short transaction:
    /// they hang off the run, which is not current until [`Store::finish_run_ok_streamed`],
    /// so readers never see a half-read snapshot, and a failed or killed run's rows are
    /// deleted. Short transactions, rather than one for the whole run, let connections
    /// syncing side by side and `report` share the database meanwhile.
    pub fn write_items(&mut self, run_id: i64, items: &[UsageItem]) -> Result<()> {
        let tx = self.write()?;
        write_items(&tx, run_id, items)?;
        tx.commit()?;
        Ok(())
    }

    /// [`Store::finish_run_ok`] for a run that already streamed `streamed` items through
    /// [`Store::write_items`]; they count in the run's item count.
    pub fn finish_run_ok_streamed(
        &mut self,
        run_id: i64,
        connection: &str,
        snapshot: &Snapshot,
        streamed: usize,
    ) -> Result<()> {
        let mut counts = snapshot.counts();
        if streamed > 0 {
            *counts.entry("items".into()).or_default() += streamed;
        }
        let counts = serde_json::to_string(&counts)?;
        let tx = self.write()?;
        match snapshot {
            Snapshot::Vendor(v) => write_vendor(&tx, run_id, v)?,
            Snapshot::Psa(p) => write_psa(&tx, run_id, p)?,
        }
        let (meta, whole_units) = match snapshot {
            Snapshot::Psa(p) => (serde_json::to_string(&p.meta)?, p.whole_units),
            Snapshot::Vendor(_) => ("{}".to_string(), false),
        };
        tx.execute(
            "UPDATE sync_run SET status = 'ok', finished_at = ?1, counts = ?2, meta = ?3, whole_units = ?4 WHERE id = ?5",
            params![Timestamp::now().to_string(), counts, meta, whole_units, run_id],
        )?;
        tx.execute(
            "INSERT INTO snapshot_current (connection, sync_run_id) VALUES (?1, ?2)
             ON CONFLICT (connection) DO UPDATE SET sync_run_id = excluded.sync_run_id
             WHERE excluded.sync_run_id > snapshot_current.sync_run_id",
            params![connection, run_id],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Records a failed run and drops any items it streamed; the current snapshot stays as it
    /// was.
    pub fn finish_run_failed(&mut self, run_id: i64, error: &str) -> Result<()> {
        let tx = self.write()?;
        tx.execute(
            "UPDATE sync_run SET status = 'failed', finished_at = ?1, error = ?2 WHERE id = ?3",
            params![Timestamp::now().to_string(), error, run_id],
        )?;
        drop_partial_rows(&tx, run_id)?;
        tx.commit()?;
        Ok(())
    }

    /// Marks a run failed if it is still running (the process is being interrupted); a run that
    /// already finished keeps its outcome.
    pub fn abandon_run(&mut self, run_id: i64, error: &str) -> Result<bool> {
        let tx = self.write()?;
        let n = tx.execute(
            "UPDATE sync_run SET status = 'failed', finished_at = ?1, error = ?2 WHERE id = ?3 AND status = 'running'",
            params![Timestamp::now().to_string(), error, run_id],
        )?;
        if n > 0 {
            drop_partial_rows(&tx, run_id)?;
        }
        tx.commit()?;
        Ok(n > 0)
    }

    /// Items per account in a run's snapshot (what a connector plans its next reads by).
    pub fn items_per_account(&self, run_id: i64) -> Result<BTreeMap<String, usize>> {
        let mut stmt = self.conn.prepare(
            "SELECT account_id, count(*) FROM usage_item WHERE run_id = ?1 GROUP BY account_id",
        )?;
        let rows = stmt.query_map([run_id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as usize))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The most recent run of a connection, whatever its outcome.
    pub fn latest_run(&self, connection: &str) -> Result<Option<RunInfo>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {RUN_COLUMNS} FROM sync_run WHERE connection = ?1 ORDER BY id DESC LIMIT 1"),
                [connection],
                run_from_row,
            )
            .optional()?)
    }

    /// The run whose records are the connection's current snapshot.
    pub fn current_run(&self, connection: &str) -> Result<Option<RunInfo>> {
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT {RUN_COLUMNS} FROM sync_run WHERE id = (SELECT sync_run_id FROM snapshot_current WHERE connection = ?1)"
                ),
                [connection],
                run_from_row,
            )
            .optional()?)
    }

    /// The latest successful run of a connection before run `before` (the one whose snapshot a
    /// new one replaced), for comparing record counts.
    pub fn previous_ok_run(&self, connection: &str, before: i64) -> Result<Option<RunInfo>> {
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT {RUN_COLUMNS} FROM sync_run WHERE connection = ?1 AND status = 'ok' AND id < ?2 ORDER BY id DESC LIMIT 1"
                ),
                params![connection, before],
                run_from_row,
            )
            .optional()?)
    }

    /// Every run of a connection, newest first.
    pub fn runs(&self, connection: &str) -> Result<Vec<RunInfo>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {RUN_COLUMNS} FROM sync_run WHERE connection = ?1 ORDER BY id DESC"
        ))?;
        let rows = stmt
            .query_map([connection], run_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Connections that have sync history (configured or not).
    pub fn connections_with_history(&self) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT connection FROM sync_run ORDER BY connection")?;
        let rows = stmt
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(rows)
    }

    /// Deletes a connection's sync history and snapshots; returns how many runs went.
    pub fn purge_history(&mut self, connection: &str) -> Result<usize> {
        let tx = self.write()?;
        tx.execute(
            "DELETE FROM snapshot_current WHERE connection = ?1",
            [connection],
        )?;
        let n = tx.execute("DELETE FROM sync_run WHERE connection = ?1", [connection])?;
        tx.commit()?;
        Ok(n)
    }

    pub fn load_vendor_snapshot(&self, run_id: i64) -> Result<VendorSnapshot> {
        let (accounts, unreadable) = self.load_vendor_accounts(run_id)?;
        let mut stmt = self.conn.prepare(
            "SELECT id, account_id, name, class, raw_class, online, last_contact, pending_approval, attrs
             FROM usage_item WHERE run_id = ?1 ORDER BY account_id, id",
        )?;
        // Straight from each row into its item: no intermediate copy of a million rows.
        let mut items = Vec::new();
        let mut rows = stmt.query([run_id])?;
        while let Some(r) = rows.next()? {
            let attrs: String = r.get(8)?;
            items.push(UsageItem {
                id: r.get(0)?,
                account_id: r.get(1)?,
                name: r.get(2)?,
                class: r.get(3)?,
                raw_class: r.get(4)?,
                online: r.get(5)?,
                last_contact: ts_opt(r.get(6)?)?,
                pending_approval: r.get(7)?,
                attrs: serde_json::from_str(&attrs).unwrap_or_default(),
                raw: None,
            });
        }
        Ok(VendorSnapshot {
            accounts,
            items,
            unreadable,
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
                    less_included, unit_price, unit_cost, effective_at, cancelled_at, bill_customer
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
        Ok(PsaSnapshot {
            companies,
            agreements,
            lines,
            products,
            whole_units,
            meta: serde_json::from_str(&meta).unwrap_or_default(),
        })
    }

    /// Stores a reconcile result; returns its id.
    pub fn save_reconcile(&mut self, record: &ReconcileRecord) -> Result<i64> {
        self.save_reconcile_with(record, None)
    }

    /// Stores a reconcile result with what it was computed from (`None`: never reused).
    pub fn save_reconcile_with(
        &mut self,
        record: &ReconcileRecord,
        inputs: Option<&super::Inputs>,
    ) -> Result<i64> {
        let tx = self.write()?;
        tx.execute(
            "INSERT INTO reconcile_run (created_at, as_of, currency, sources, totals, inputs, valid_until, unhealthy)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                record.created_at,
                record.as_of,
                record.currency,
                serde_json::to_string(&record.sources)?,
                serde_json::to_string(&record.totals)?,
                inputs.map(|i| i.fingerprint.clone()),
                inputs.map(|i| i.valid_until.to_string()),
                inputs
                    .map(|i| serde_json::to_string(&i.unhealthy))
                    .transpose()?
            ],
        )?;
        let id = tx.last_insert_rowid();
        {
            let mut stmt = tx.prepare(
                "INSERT INTO finding (run_id, seq, id, kind, data) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for (seq, f) in record.findings.iter().enumerate() {
                stmt.execute(params![
                    id,
                    seq as i64,
                    f.id,
                    f.kind.as_str(),
                    serde_json::to_string(f)?
                ])?;
            }
        }
        tx.commit()?;
        Ok(id)
    }

    /// The most recent reconcile result.
    pub fn latest_reconcile(&self) -> Result<Option<ReconcileRecord>> {
        let head = self
            .conn
            .query_row(
                "SELECT id, created_at, as_of, currency, sources, totals FROM reconcile_run ORDER BY id DESC LIMIT 1",
                [],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, String>(5)?,
                    ))
                },
            )
            .optional()?;
        let Some((id, created_at, as_of, currency, sources, totals)) = head else {
            return Ok(None);
        };
        let mut stmt = self
            .conn
            .prepare("SELECT data FROM finding WHERE run_id = ?1 ORDER BY seq")?;
        let findings = stmt
            .query_map([id], |r| r.get::<_, String>(0))?
            .map(|d| {
                serde_json::from_str::<Finding>(&d?)
                    .context("a stored finding does not parse; run `reconcile reconcile` again")
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(ReconcileRecord {
            id,
            created_at,
            as_of,
            currency,
            sources: serde_json::from_str(&sources)?,
            totals: serde_json::from_str(&totals)?,
            findings,
        }))
    }
}

fn opt_ts(t: Option<Timestamp>) -> Option<String> {
    t.map(|t| t.to_string())
}

fn write_vendor(tx: &rusqlite::Transaction, run_id: i64, v: &VendorSnapshot) -> Result<()> {
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
    write_items(tx, run_id, &v.items)
}

/// Items of an unfinished run that failed or was killed: never current, so only clutter.
fn drop_partial_rows(tx: &rusqlite::Transaction, run_id: i64) -> Result<()> {
    tx.execute("DELETE FROM usage_item WHERE run_id = ?1", [run_id])?;
    Ok(())
}

fn write_items(tx: &rusqlite::Transaction, run_id: i64, items: &[UsageItem]) -> Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO usage_item (run_id, id, account_id, name, class, raw_class, online, last_contact, pending_approval, attrs, raw)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    for i in items {
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
            i.raw
        ])
        .with_context(|| format!("cannot store item {} (is the id repeated?)", i.id))?;
    }
    Ok(())
}

fn write_psa(tx: &rusqlite::Transaction, run_id: i64, p: &PsaSnapshot) -> Result<()> {
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
                               less_included, unit_price, unit_cost, effective_at, cancelled_at, bill_customer, raw)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
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
            l.raw
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
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::VendorAccount;

    fn vendor(n: usize) -> Snapshot {
        Snapshot::Vendor(VendorSnapshot {
            accounts: vec![VendorAccount {
                id: "1".into(),
                name: "Acme".into(),
                raw: Some("{}".into()),
            }],
            items: (0..n)
                .map(|i| UsageItem {
                    id: i.to_string(),
                    account_id: "1".into(),
                    name: format!("pc{i}"),
                    class: "WINDOWS_WORKSTATION".into(),
                    raw_class: "WINDOWS_WORKSTATION".into(),
                    online: Some(true),
                    last_contact: Some("2026-01-02T03:04:05.5Z".parse().unwrap()),
                    pending_approval: i == 0,
                    attrs: [("role".to_string(), "x".to_string())].into(),
                    raw: None,
                })
                .collect(),
            ..VendorSnapshot::default()
        })
    }

    #[test]
    fn a_failed_run_leaves_the_current_snapshot_alone() {
        let mut s = Store::open_in_memory().unwrap();
        let r1 = s.begin_run("n", "ninjaone").unwrap();
        s.finish_run_ok(r1, "n", &vendor(3)).unwrap();
        let r2 = s.begin_run("n", "ninjaone").unwrap();
        s.finish_run_failed(r2, "boom").unwrap();
        let current = s.current_run("n").unwrap().unwrap();
        assert_eq!(current.id, r1);
        assert_eq!(current.counts["items"], 3);
        let latest = s.latest_run("n").unwrap().unwrap();
        assert_eq!(latest.status, RunStatus::Failed);
        assert_eq!(latest.error.as_deref(), Some("boom"));
        let snap = s.load_vendor_snapshot(current.id).unwrap();
        assert_eq!(snap.items.len(), 3);
        assert!(snap.items[0].pending_approval);
        assert_eq!(snap.items[1].attrs["role"], "x");
        assert_eq!(
            snap.items[1].last_contact,
            Some("2026-01-02T03:04:05.5Z".parse().unwrap())
        );
    }

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
    fn the_previous_ok_run_skips_failed_runs() {
        let mut s = Store::open_in_memory().unwrap();
        let r1 = s.begin_run("n", "ninjaone").unwrap();
        s.finish_run_ok(r1, "n", &vendor(4)).unwrap();
        let r2 = s.begin_run("n", "ninjaone").unwrap();
        s.finish_run_failed(r2, "boom").unwrap();
        let r3 = s.begin_run("n", "ninjaone").unwrap();
        s.finish_run_ok(r3, "n", &vendor(1)).unwrap();
        let prev = s.previous_ok_run("n", r3).unwrap().unwrap();
        assert_eq!(prev.id, r1);
        assert_eq!(prev.counts["items"], 4);
        assert!(s.previous_ok_run("n", r1).unwrap().is_none());
        assert!(s.previous_ok_run("other", r3).unwrap().is_none());
    }

    #[test]
    fn history_is_kept_and_purge_removes_it() {
        let mut s = Store::open_in_memory().unwrap();
        for n in [2, 5] {
            let r = s.begin_run("n", "ninjaone").unwrap();
            s.finish_run_ok(r, "n", &vendor(n)).unwrap();
        }
        assert_eq!(s.runs("n").unwrap().len(), 2);
        assert_eq!(s.current_run("n").unwrap().unwrap().counts["items"], 5);
        assert_eq!(s.purge_history("n").unwrap(), 2);
        assert!(s.current_run("n").unwrap().is_none());
        let items: i64 = s
            .conn
            .query_row("SELECT COUNT(*) FROM usage_item", [], |r| r.get(0))
            .unwrap();
        assert_eq!(items, 0);
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
