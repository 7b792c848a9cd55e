//! `reconcile push`'s tables: the per-service opt-ins (user data, like the mappings), the saved
//! plans (their body is the plan as JSON, which `crate::pipeline::push` owns), the append-only
//! audit, and the per-tenant apply lock.

use anyhow::{Context, Result, bail};
use jiff::Timestamp;
use rusqlite::{OptionalExtension, params};

use super::Store;
use super::runs::process_alive;

/// One service's opt-in to write-back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushOptIn {
    pub vendor_connection: String,
    pub service_key: String,
    pub push: bool,
    pub push_cost: bool,
}

/// A saved plan.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredPlan {
    pub id: i64,
    pub created_at: Timestamp,
    pub operator: String,
    pub reverts: Option<i64>,
    pub body: String,
}

/// One audit row: a line an apply touched (or tried to).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AuditRow {
    pub at: String,
    pub operator: String,
    pub tool_version: String,
    pub plan_id: i64,
    pub psa_connection: String,
    pub tenant: String,
    pub company_id: Option<String>,
    pub company: Option<String>,
    pub agreement_id: String,
    pub line_id: String,
    pub product: String,
    pub before_qty: Option<String>,
    pub after_qty: String,
    pub before_cost: Option<String>,
    pub after_cost: Option<String>,
    pub effective: String,
    /// The vendor source: connections, services, snapshot ids and counts.
    pub source: String,
    /// The guard results, as `name=ok|why` joined with `; `.
    pub guards: String,
    /// `written`, `at_target`, `drift`, `mismatch`, `failed`, `exported`.
    pub outcome: String,
    pub http_status: Option<u16>,
    pub returned_id: Option<String>,
    pub read_back_qty: Option<String>,
    pub read_back_cost: Option<String>,
    pub error: Option<String>,
}

/// Another process holds the apply lock of a tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyBusy {
    pub pid: u32,
    pub plan_id: i64,
    pub started_at: String,
}

impl Store {
    /// Sets one service's opt-in (both flags), replacing any earlier one.
    pub fn set_push_opt_in(&mut self, o: &PushOptIn) -> Result<()> {
        let tx = self.write()?;
        tx.execute(
            "INSERT INTO push_opt_in (vendor_connection, service_key, push, push_cost, set_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (vendor_connection, service_key) DO UPDATE SET
                push = excluded.push, push_cost = excluded.push_cost, set_at = excluded.set_at",
            params![
                o.vendor_connection,
                o.service_key,
                o.push,
                o.push_cost,
                Timestamp::now().to_string()
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Every stored opt-in.
    pub fn push_opt_ins(&self) -> Result<Vec<PushOptIn>> {
        let mut stmt = self.conn.prepare(
            "SELECT vendor_connection, service_key, push, push_cost FROM push_opt_in
             ORDER BY vendor_connection, service_key",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok(PushOptIn {
                    vendor_connection: r.get(0)?,
                    service_key: r.get(1)?,
                    push: r.get(2)?,
                    push_cost: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Saves a plan; returns its id.
    pub fn save_plan(&mut self, operator: &str, reverts: Option<i64>, body: &str) -> Result<i64> {
        let tx = self.write()?;
        tx.execute(
            "INSERT INTO push_plan (created_at, operator, reverts, body) VALUES (?1, ?2, ?3, ?4)",
            params![Timestamp::now().to_string(), operator, reverts, body],
        )?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(id)
    }

    /// The plan with this id.
    pub fn plan(&self, id: i64) -> Result<Option<StoredPlan>> {
        let row: Option<(i64, String, String, Option<i64>, String)> = self
            .conn
            .query_row(
                "SELECT id, created_at, operator, reverts, body FROM push_plan WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()?;
        row.map(|(id, created_at, operator, reverts, body)| {
            Ok(StoredPlan {
                id,
                created_at: created_at
                    .parse()
                    .with_context(|| format!("plan {id} has an unreadable creation time"))?,
                operator,
                reverts,
                body,
            })
        })
        .transpose()
    }

    /// Appends one audit row.
    pub fn record_audit(&mut self, a: &AuditRow) -> Result<()> {
        let tx = self.write()?;
        tx.execute(
            "INSERT INTO push_audit (at, operator, tool_version, plan_id, psa_connection, tenant, company_id, company,
                agreement_id, line_id, product, before_qty, after_qty, before_cost, after_cost, effective, source,
                guards, outcome, http_status, returned_id, read_back_qty, read_back_cost, error)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)",
            params![
                a.at,
                a.operator,
                a.tool_version,
                a.plan_id,
                a.psa_connection,
                a.tenant,
                a.company_id,
                a.company,
                a.agreement_id,
                a.line_id,
                a.product,
                a.before_qty,
                a.after_qty,
                a.before_cost,
                a.after_cost,
                a.effective,
                a.source,
                a.guards,
                a.outcome,
                a.http_status,
                a.returned_id,
                a.read_back_qty,
                a.read_back_cost,
                a.error
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The audit, oldest first; of one plan when `plan` is given.
    pub fn audit(&self, plan: Option<i64>) -> Result<Vec<AuditRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT at, operator, tool_version, plan_id, psa_connection, tenant, company_id, company,
                agreement_id, line_id, product, before_qty, after_qty, before_cost, after_cost, effective, source,
                guards, outcome, http_status, returned_id, read_back_qty, read_back_cost, error
             FROM push_audit WHERE ?1 IS NULL OR plan_id = ?1 ORDER BY id",
        )?;
        let rows = stmt
            .query_map([plan], |r| {
                Ok(AuditRow {
                    at: r.get(0)?,
                    operator: r.get(1)?,
                    tool_version: r.get(2)?,
                    plan_id: r.get(3)?,
                    psa_connection: r.get(4)?,
                    tenant: r.get(5)?,
                    company_id: r.get(6)?,
                    company: r.get(7)?,
                    agreement_id: r.get(8)?,
                    line_id: r.get(9)?,
                    product: r.get(10)?,
                    before_qty: r.get(11)?,
                    after_qty: r.get(12)?,
                    before_cost: r.get(13)?,
                    after_cost: r.get(14)?,
                    effective: r.get(15)?,
                    source: r.get(16)?,
                    guards: r.get(17)?,
                    outcome: r.get(18)?,
                    http_status: r.get(19)?,
                    returned_id: r.get(20)?,
                    read_back_qty: r.get(21)?,
                    read_back_cost: r.get(22)?,
                    error: r.get(23)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Takes the apply lock of `tenant` for this process, or says who holds it. A lock whose
    /// process is gone (killed mid-apply) is taken over.
    pub fn lock_tenant(&mut self, tenant: &str, plan_id: i64) -> Result<Result<(), ApplyBusy>> {
        let me = std::process::id();
        let tx = self.write()?;
        let held: Option<(u32, i64, String)> = tx
            .query_row(
                "SELECT pid, plan_id, started_at FROM push_lock WHERE tenant = ?1",
                [tenant],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        if let Some((pid, plan_id, started_at)) = held
            && pid != me
            && process_alive(pid)
        {
            return Ok(Err(ApplyBusy {
                pid,
                plan_id,
                started_at,
            }));
        }
        tx.execute(
            "INSERT INTO push_lock (tenant, pid, plan_id, started_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (tenant) DO UPDATE SET pid = excluded.pid, plan_id = excluded.plan_id,
                started_at = excluded.started_at",
            params![tenant, me, plan_id, Timestamp::now().to_string()],
        )?;
        tx.commit()?;
        Ok(Ok(()))
    }

    /// Releases this process's lock of `tenant`.
    pub fn unlock_tenant(&mut self, tenant: &str) -> Result<()> {
        let tx = self.write()?;
        let n = tx.execute(
            "DELETE FROM push_lock WHERE tenant = ?1 AND pid = ?2",
            params![tenant, std::process::id()],
        )?;
        tx.commit()?;
        if n == 0 {
            bail!("the apply lock of {tenant} was not held by this process");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_audit_and_opt_ins_round_trip() {
        let mut s = Store::open_in_memory().unwrap();
        let o = PushOptIn {
            vendor_connection: "n".into(),
            service_key: "ws".into(),
            push: true,
            push_cost: false,
        };
        s.set_push_opt_in(&o).unwrap();
        s.set_push_opt_in(&PushOptIn {
            push_cost: true,
            ..o.clone()
        })
        .unwrap();
        assert_eq!(
            s.push_opt_ins().unwrap(),
            vec![PushOptIn {
                push_cost: true,
                ..o
            }]
        );
        let id = s.save_plan("jane", None, "{}").unwrap();
        let again = s.save_plan("jane", Some(id), "{}").unwrap();
        assert_eq!(s.plan(again).unwrap().unwrap().reverts, Some(id));
        assert!(s.plan(99).unwrap().is_none());
        let row = AuditRow {
            plan_id: id,
            outcome: "written".into(),
            http_status: Some(200),
            ..AuditRow::default()
        };
        s.record_audit(&row).unwrap();
        s.record_audit(&AuditRow {
            plan_id: again,
            ..row.clone()
        })
        .unwrap();
        assert_eq!(s.audit(Some(id)).unwrap(), vec![row]);
        assert_eq!(s.audit(None).unwrap().len(), 2);
    }

    #[test]
    fn a_tenant_is_applied_by_one_live_process_at_a_time() {
        let mut s = Store::open_in_memory().unwrap();
        assert!(s.lock_tenant("t", 1).unwrap().is_ok());
        // The same process may take it again (a second plan in the same run).
        assert!(s.lock_tenant("t", 2).unwrap().is_ok());
        s.unlock_tenant("t").unwrap();
        // A live other process holds it: pid 1 (init) is always alive.
        s.conn_for_tests()
            .execute(
                "INSERT INTO push_lock (tenant, pid, plan_id, started_at) VALUES ('t', 1, 7, 'x')",
                [],
            )
            .unwrap();
        let busy = s.lock_tenant("t", 3).unwrap().unwrap_err();
        assert_eq!((busy.pid, busy.plan_id), (1, 7));
        // A dead one's lock is taken over.
        s.conn_for_tests()
            .execute(
                "UPDATE push_lock SET pid = 999999999 WHERE tenant = 't'",
                [],
            )
            .unwrap();
        assert!(s.lock_tenant("t", 3).unwrap().is_ok());
    }
}
