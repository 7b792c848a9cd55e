//! Reconcile runs: each stored result (as-of date, currency, the sync run each connection's
//! numbers came from, totals) with its findings in order, and what it was computed from when it
//! may be reused.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::Store;
use crate::engine::{Finding, Totals};

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

impl Store {
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
        let data = to_json_on_every_core(&record.findings)?;
        {
            let mut stmt = tx.prepare(
                "INSERT INTO finding (run_id, seq, id, kind, data) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for (seq, (f, data)) in record.findings.iter().zip(&data).enumerate() {
                stmt.execute(params![id, seq as i64, f.id, f.kind.as_str(), data])?;
            }
        }
        tx.commit()?;
        Ok(id)
    }

    /// The most recent reconcile result's id, as-of time and sources (source connection →
    /// sync run), without its findings.
    pub fn latest_reconcile_head(&self) -> Result<Option<(i64, String, String)>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, as_of, sources FROM reconcile_run ORDER BY id DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?)
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

/// Each finding as JSON, the findings split over the machine's cores: a period's findings list
/// a count per snapshot in their notes, megabytes in all.
fn to_json_on_every_core(findings: &[crate::engine::Finding]) -> Result<Vec<String>> {
    let threads = std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(1)
        .clamp(1, findings.len().max(1));
    let chunk = findings.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let parts: Vec<_> = findings
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(serde_json::to_string)
                        .collect::<serde_json::Result<Vec<String>>>()
                })
            })
            .collect();
        let mut out = Vec::with_capacity(findings.len());
        for p in parts {
            out.extend(p.join().expect("writing JSON does not panic")?);
        }
        Ok(out)
    })
}
