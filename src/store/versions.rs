//! Usage items as versions (migration 0011): how a completed run's items become versions, and
//! how any retained run's items are read back, identical to what the run saw.
//!
//! A sync held in memory hands its items over at the end ([`merge_items`]): they are compared
//! with the connection's current versions in the transaction that makes the run current. A
//! version whose item is gone or changed moves to `item_past`, ending at this run; an item new
//! or changed opens a version in `item_current`; the unchanged ones (nearly all, day to day) are
//! not written at all. The run's last contacts and online flags go into one compact blob
//! ([`super::pulse`]). So a daily sync stores what changed plus a few bytes per item.
//!
//! A streamed sync makes the same comparison page by page while it reads ([`Stream`]), so
//! completing it costs what changed, not what exists. Its items new to the connection are
//! written to `item_current` as their page arrives, with `valid_from` the running run: no
//! reader sees them, since every read asks for versions that began by a completed run, and a
//! run that fails (or is found interrupted, or left them by a kill) has them deleted. Its
//! changed items wait in `temp.stage_item` (the connection's temporary database: no
//! write-ahead log, a kill leaves nothing) and open their versions when the run completes.
//!
//! [`read_items`] gives run R's items in id order: the current versions that began by R, and
//! the past versions that began by R and ended after it, merged, each with its last contact
//! from R's blob.

use anyhow::{Context, Result, bail};
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::pulse::{PulseReader, PulseWriter};
use crate::model::UsageItem;

/// The current versions of a connection's items, in id order, each as its id and its
/// comparison key (the fields a version is compared on: what a reconcile reads, apart from the
/// fast-moving ones; `raw` is not compared, it repeats the fast-moving fields). One buffer for
/// all: no allocation per row.
struct CurrentKeys {
    buf: String,
    /// Per version: where its id starts, where its key starts, where it ends.
    spans: Vec<(usize, usize, usize)>,
}

impl CurrentKeys {
    /// The versions that began by run `by` (the connection's newest completed run: a run
    /// still streaming has its own new items there too).
    fn read(tx: &Transaction, connection: &str, by: i64) -> Result<CurrentKeys> {
        let mut keys = CurrentKeys {
            buf: String::new(),
            spans: Vec::new(),
        };
        let mut stmt = tx.prepare_cached(
            "SELECT id, account_id, name, class, raw_class, pending_approval, attrs FROM item_current
             WHERE connection = ?1 AND valid_from <= ?2",
        )?;
        let mut rows = stmt.query(params![connection, by])?;
        while let Some(r) = rows.next()? {
            let text = |i: usize| -> Result<&str> { Ok(r.get_ref(i)?.as_str()?) };
            let start = keys.buf.len();
            keys.buf.push_str(text(0)?);
            let mid = keys.buf.len();
            key_into(
                &mut keys.buf,
                [text(1)?, text(2)?, text(3)?, text(4)?, text(6)?],
                r.get(5)?,
            );
            keys.spans.push((start, mid, keys.buf.len()));
        }
        Ok(keys)
    }

    fn id(&self, j: usize) -> &str {
        let (s, m, _) = self.spans[j];
        &self.buf[s..m]
    }

    fn key(&self, j: usize) -> &str {
        let (_, m, e) = self.spans[j];
        &self.buf[m..e]
    }

    /// The index of the version of item `id` (read in id order, as SQLite compares text).
    fn find(&self, id: &str) -> Option<usize> {
        let (mut lo, mut hi) = (0, self.spans.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.id(mid).cmp(id) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(mid),
            }
        }
        None
    }
}

/// The id of `connection`'s newest completed run (0 when it has none): every version in
/// `item_current` that began by it is the connection's current snapshot.
fn newest_ok(tx: &Transaction, connection: &str) -> Result<i64> {
    Ok(tx
        .prepare_cached(
            "SELECT coalesce(max(id), 0) FROM sync_run WHERE connection = ?1 AND status = 'ok'",
        )?
        .query_row([connection], |r| r.get(0))?)
}

/// Appends a version's comparison key: each field after its length, so two different versions
/// never make the same key whatever their text holds.
fn key_into(out: &mut String, fields: [&str; 5], pending: bool) {
    use std::fmt::Write as _;
    for f in fields {
        let _ = write!(out, "{}:", f.len());
        out.push_str(f);
    }
    out.push(if pending { '1' } else { '0' });
}

/// Compares incoming items (in id order: `(id, key)`) with the current versions: which
/// current ones end (by index) and which incoming ones open a version (by their position).
struct Diff {
    close: Vec<usize>,
    open: Vec<usize>,
}

fn diff<'a>(cur: &CurrentKeys, incoming: impl Iterator<Item = (&'a str, &'a str)>) -> Diff {
    let mut d = Diff {
        close: Vec::new(),
        open: Vec::new(),
    };
    let n = cur.spans.len();
    let mut j = 0;
    for (k, (id, key)) in incoming.enumerate() {
        while j < n && cur.id(j) < id {
            d.close.push(j);
            j += 1;
        }
        if j < n && cur.id(j) == id {
            if cur.key(j) != key {
                d.close.push(j);
                d.open.push(k);
            }
            j += 1;
        } else {
            d.open.push(k);
        }
    }
    d.close.extend(j..n);
    d
}

/// Ends the versions `close` (indexes into `cur`) at `run_id`: moved to `item_past`.
fn close_versions(
    tx: &Transaction,
    connection: &str,
    run_id: i64,
    cur: &CurrentKeys,
    close: &[usize],
) -> Result<()> {
    let mut take = tx.prepare_cached(
        "DELETE FROM item_current WHERE connection = ?1 AND id = ?2
         RETURNING valid_from, account_id, name, class, raw_class, pending_approval, attrs, raw",
    )?;
    let mut keep = tx.prepare_cached(
        "INSERT INTO item_past (connection, valid_to, id, valid_from, account_id, name, class, raw_class, pending_approval, attrs, raw)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    for &j in close {
        let id = cur.id(j);
        let row: [rusqlite::types::Value; 8] = take.query_row(params![connection, id], |r| {
            Ok([
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
            ])
        })?;
        let [from, account, name, class, raw_class, pending, attrs, raw] = row;
        keep.execute(params![
            connection, run_id, id, from, account, name, class, raw_class, pending, attrs, raw
        ])?;
    }
    Ok(())
}

/// Turns the items of completed run `run_id` of `connection`, held in memory (a sync that did
/// not stream), into versions and its pulse blob; see the module header. Only what changed is
/// written. Runs must be merged in id order per connection.
pub(super) fn merge_items(
    tx: &Transaction,
    connection: &str,
    run_id: i64,
    items: &[UsageItem],
) -> Result<()> {
    let mut sorted: Vec<&UsageItem> = items.iter().collect();
    sorted.sort_unstable_by(|a, b| a.id.cmp(&b.id));
    if let Some(w) = sorted.windows(2).find(|w| w[0].id == w[1].id) {
        bail!("cannot store item {} (is the id repeated?)", w[0].id);
    }
    let mut keys = String::new();
    let mut ends = Vec::with_capacity(sorted.len());
    let mut attrs = Vec::with_capacity(sorted.len());
    for i in &sorted {
        let a = serde_json::to_string(&i.attrs)?;
        key_into(
            &mut keys,
            [&i.account_id, &i.name, &i.class, &i.raw_class, &a],
            i.pending_approval,
        );
        ends.push(keys.len());
        attrs.push(a);
    }
    let base = newest_ok(tx, connection)?;
    drop_orphans(tx, connection, base, run_id)?;
    let cur = CurrentKeys::read(tx, connection, base)?;
    let d = diff(
        &cur,
        sorted.iter().enumerate().map(|(k, i)| {
            let start = if k == 0 { 0 } else { ends[k - 1] };
            (i.id.as_str(), &keys[start..ends[k]])
        }),
    );
    close_versions(tx, connection, run_id, &cur, &d.close)?;
    for &k in &d.open {
        if !open_version(tx, connection, run_id, sorted[k], &attrs[k])? {
            bail!("cannot store item {} (is the id repeated?)", sorted[k].id);
        }
    }
    let mut pulse = PulseWriter::default();
    for i in &sorted {
        pulse.push(i.online, i.last_contact);
    }
    write_pulse(tx, run_id, pulse)
}

/// A streamed run's comparison with its connection's current versions, made page by page as
/// its items arrive (see the module header): [`Stream::begin`] at the first page,
/// [`Stream::write`] per page, [`Stream::finish`] in the transaction that completes the run.
pub(super) struct Stream {
    connection: String,
    /// The connection's newest completed run when the stream began: its versions are what the
    /// pages are compared with, so no other run may complete meanwhile.
    base: i64,
    cur: CurrentKeys,
    /// Per current version: this run saw its item (unchanged or changed).
    seen: Vec<bool>,
    /// Current versions whose item this run saw changed: their new versions wait in staging.
    changed: Vec<usize>,
    /// Every item's id, online flag and last contact, for the run's pulse.
    pulse: Vec<(Box<str>, Option<bool>, Option<Timestamp>)>,
    key: String,
}

impl Stream {
    /// Starts comparing the items of run `run_id`, still running. Versions a killed run of the
    /// same connection left in `item_current` are deleted first.
    pub(super) fn begin(tx: &Transaction, run_id: i64) -> Result<Stream> {
        let (connection, status): (String, String) = tx
            .query_row(
                "SELECT connection, status FROM sync_run WHERE id = ?1",
                [run_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .with_context(|| format!("sync run {run_id} is not in the database"))?;
        if status != "running" {
            bail!(
                "sync run {run_id} of `{connection}` is {status}, not running: its records cannot be stored"
            );
        }
        let base = newest_ok(tx, &connection)?;
        drop_orphans(tx, &connection, base, run_id)?;
        let cur = CurrentKeys::read(tx, &connection, base)?;
        Ok(Stream {
            connection,
            base,
            seen: vec![false; cur.spans.len()],
            cur,
            changed: Vec::new(),
            pulse: Vec::new(),
            key: String::new(),
        })
    }

    /// Errors when a run of the connection completed since the stream began.
    fn check_base(&self, tx: &Transaction, run_id: i64) -> Result<()> {
        let now = newest_ok(tx, &self.connection)?;
        if now != self.base {
            bail!(
                "sync run {now} of `{}` completed while run {run_id} was reading; run `reconcile sync {}` again",
                self.connection,
                self.connection
            );
        }
        Ok(())
    }

    /// Compares one page: an item new to the connection opens its version now, a changed one
    /// is staged, an unchanged one only adds to the pulse.
    pub(super) fn write(
        &mut self,
        tx: &Transaction,
        run_id: i64,
        items: &[UsageItem],
    ) -> Result<()> {
        self.check_base(tx, run_id)?;
        for i in items {
            let attrs = serde_json::to_string(&i.attrs)?;
            let repeated = || anyhow::anyhow!("cannot store item {} (is the id repeated?)", i.id);
            match self.cur.find(&i.id) {
                Some(j) => {
                    if std::mem::replace(&mut self.seen[j], true) {
                        return Err(repeated());
                    }
                    self.key.clear();
                    key_into(
                        &mut self.key,
                        [&i.account_id, &i.name, &i.class, &i.raw_class, &attrs],
                        i.pending_approval,
                    );
                    if self.cur.key(j) != self.key {
                        super::snapshots::write_items(tx, run_id, std::slice::from_ref(i))?;
                        self.changed.push(j);
                    }
                }
                None => {
                    if !open_version(tx, &self.connection, run_id, i, &attrs)? {
                        return Err(repeated());
                    }
                }
            }
            self.pulse
                .push((i.id.as_str().into(), i.online, i.last_contact));
        }
        Ok(())
    }

    /// Completes the comparison in the transaction that makes run `run_id` current: the
    /// versions of items gone or changed end, the changed items' new versions open from
    /// staging, and the pulse is written. The staged rows are deleted.
    pub(super) fn finish(self, tx: &Transaction, run_id: i64) -> Result<()> {
        self.check_base(tx, run_id)?;
        let Stream {
            connection,
            cur,
            seen,
            mut changed,
            mut pulse,
            ..
        } = self;
        let staged = changed.len();
        // The items this run did not see are gone: their versions end too.
        changed.extend(
            seen.iter()
                .enumerate()
                .filter(|(_, s)| !**s)
                .map(|(j, _)| j),
        );
        changed.sort_unstable();
        close_versions(tx, &connection, run_id, &cur, &changed)?;
        // After the closing, the staged items are exactly those with no current version.
        let opened = tx
            .prepare_cached(
                "INSERT INTO item_current (connection, id, valid_from, account_id, name, class, raw_class, pending_approval, attrs, raw)
                 SELECT ?1, s.id, ?2, s.account_id, s.name, s.class, s.raw_class, s.pending_approval, s.attrs,
                        (SELECT r.raw FROM temp.stage_raw r WHERE r.run_id = s.run_id AND r.id = s.id)
                 FROM temp.stage_item s WHERE s.run_id = ?2",
            )?
            .execute(params![connection, run_id])?;
        if opened != staged {
            bail!(
                "sync run {run_id} of `{connection}`: {opened} item versions opened where {staged} changed items were found; nothing was stored"
            );
        }
        pulse.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut writer = PulseWriter::default();
        for (_, online, last_contact) in &pulse {
            writer.push(*online, *last_contact);
        }
        write_pulse(tx, run_id, writer)?;
        drop_staged(tx, run_id)
    }
}

/// Deletes run `run_id`'s staged rows; with nothing else staged (the usual case), emptied at
/// once rather than row by row.
pub(super) fn drop_staged(tx: &Transaction, run_id: i64) -> Result<()> {
    let others: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM temp.stage_item WHERE run_id <> ?1)",
        [run_id],
        |r| r.get(0),
    )?;
    if others {
        tx.execute("DELETE FROM temp.stage_item WHERE run_id = ?1", [run_id])?;
        tx.execute("DELETE FROM temp.stage_raw WHERE run_id = ?1", [run_id])?;
    } else {
        tx.execute_batch("DELETE FROM temp.stage_item; DELETE FROM temp.stage_raw;")?;
    }
    Ok(())
}

/// [`merge_items`] for a completed run whose items an earlier release staged in `usage_item`
/// (migration 0011); its rows there are deleted after.
fn merge_legacy(tx: &Transaction, connection: &str, run_id: i64) -> Result<()> {
    let cur = CurrentKeys::read(tx, connection, run_id)?;
    // The staged rows' ids and keys in id order, and their pulse.
    let mut ids = String::new();
    let mut id_ends = Vec::new();
    let mut keys = String::new();
    let mut key_ends = Vec::new();
    let mut pulse = PulseWriter::default();
    {
        let mut stmt = tx.prepare_cached(
            "SELECT id, account_id, name, class, raw_class, pending_approval, attrs, online, last_contact
             FROM usage_item WHERE run_id = ?1 ORDER BY id",
        )?;
        let mut rows = stmt.query([run_id])?;
        while let Some(r) = rows.next()? {
            let text = |i: usize| -> Result<&str> { Ok(r.get_ref(i)?.as_str()?) };
            ids.push_str(text(0)?);
            id_ends.push(ids.len());
            key_into(
                &mut keys,
                [text(1)?, text(2)?, text(3)?, text(4)?, text(6)?],
                r.get(5)?,
            );
            key_ends.push(keys.len());
            pulse.push(r.get(7)?, timestamp(r.get_ref(8)?.as_str_or_null()?)?);
        }
    }
    let span = |ends: &[usize], k: usize| (if k == 0 { 0 } else { ends[k - 1] }, ends[k]);
    let d = diff(
        &cur,
        (0..id_ends.len()).map(|k| {
            let (a, b) = span(&id_ends, k);
            let (c, e) = span(&key_ends, k);
            (&ids[a..b], &keys[c..e])
        }),
    );
    close_versions(tx, connection, run_id, &cur, &d.close)?;
    // Once the changed and vanished versions are closed, the versions to open are exactly the
    // staged items with no current version: one statement, not one per item (a first sync
    // opens every item).
    let opened = tx
        .prepare_cached(
            "INSERT INTO item_current (connection, id, valid_from, account_id, name, class, raw_class, pending_approval, attrs, raw)
             SELECT ?1, s.id, ?2, s.account_id, s.name, s.class, s.raw_class, s.pending_approval, s.attrs, s.raw
             FROM usage_item s WHERE s.run_id = ?2
               AND NOT EXISTS (SELECT 1 FROM item_current c WHERE c.connection = ?1 AND c.id = s.id)",
        )?
        .execute(params![connection, run_id])?;
    if opened != d.open.len() {
        bail!(
            "sync run {run_id} of `{connection}`: {opened} item versions opened where {} changed or new items were found; nothing was stored",
            d.open.len()
        );
    }
    write_pulse(tx, run_id, pulse)?;
    tx.prepare_cached("DELETE FROM usage_item WHERE run_id = ?1")?
        .execute([run_id])?;
    Ok(())
}

fn write_pulse(tx: &Transaction, run_id: i64, pulse: PulseWriter) -> Result<()> {
    let (items, data) = pulse.finish();
    tx.prepare_cached("INSERT INTO item_pulse (run_id, items, data) VALUES (?1, ?2, ?3)")?
        .execute(params![run_id, items as i64, data])?;
    Ok(())
}

/// Opens a version of `item` beginning at run `run_id`; `false` when the connection already
/// has a current version of it.
fn open_version(
    tx: &Transaction,
    connection: &str,
    run_id: i64,
    item: &UsageItem,
    attrs: &str,
) -> Result<bool> {
    let n = tx
        .prepare_cached(
            "INSERT INTO item_current (connection, id, valid_from, account_id, name, class, raw_class, pending_approval, attrs, raw)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT DO NOTHING",
        )?
        .execute(params![
            connection,
            item.id,
            run_id,
            item.account_id,
            item.name,
            item.class,
            item.raw_class,
            item.pending_approval,
            attrs,
            item.raw
        ])?;
    Ok(n == 1)
}

/// Deletes the versions run `run_id` opened in `item_current` without completing: a run that
/// failed or was killed writes its items new to the connection there as they arrive.
pub(super) fn drop_run_versions(tx: &Transaction, run_id: i64) -> Result<()> {
    tx.prepare_cached(
        "DELETE FROM item_current
         WHERE connection = (SELECT connection FROM sync_run WHERE id = ?1) AND valid_from = ?1",
    )?
    .execute([run_id])?;
    Ok(())
}

/// Deletes the versions a streamed run of `connection` newer than `base` (its newest completed
/// run) left in `item_current` without completing, unless it is `run_id` itself: a run marked
/// failed without its cleanup (killed between the two, or an edited database). Their items
/// would otherwise be read as part of the next run. Looked for only when such a run exists, so
/// the usual sync pays one small query.
fn drop_orphans(tx: &Transaction, connection: &str, base: i64, run_id: i64) -> Result<()> {
    let left: Vec<i64> = tx
        .prepare_cached(
            "SELECT id FROM sync_run WHERE connection = ?1 AND id > ?2 AND id <> ?3 AND status <> 'ok'",
        )?
        .query_map(params![connection, base, run_id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for id in left {
        drop_run_versions(tx, id)?;
    }
    Ok(())
}

/// Errors when `connection` already has a successful run newer than `run_id`: versions are
/// built in run order, so an older run can no longer complete.
pub(super) fn check_newest(tx: &Transaction, connection: &str, run_id: i64) -> Result<()> {
    let newer: Option<i64> = tx
        .query_row(
            "SELECT id FROM sync_run WHERE connection = ?1 AND status = 'ok' AND id > ?2 LIMIT 1",
            params![connection, run_id],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(newer) = newer {
        bail!(
            "sync run {run_id} of `{connection}` cannot complete: run {newer} of the same connection completed after it started; sync again"
        );
    }
    Ok(())
}

/// Migration 0011's step: every completed vendor run's items, staged in `usage_item` by
/// earlier builds, merged into versions oldest first; the rows failed runs left are dropped.
/// Runs still going keep theirs (they are merged when they complete).
pub(super) fn convert_history(tx: &Transaction) -> Result<()> {
    let runs: Vec<(i64, String)> = {
        let mut stmt = tx.prepare(
            "SELECT id, connection FROM sync_run
             WHERE status = 'ok' AND json_extract(counts, '$.items') IS NOT NULL
             ORDER BY connection, id",
        )?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?
    };
    for (id, connection) in runs {
        merge_legacy(tx, &connection, id)
            .with_context(|| format!("converting sync run {id} of `{connection}`"))?;
    }
    tx.execute(
        "DELETE FROM usage_item WHERE run_id NOT IN (SELECT id FROM sync_run WHERE status = 'running')",
        [],
    )?;
    Ok(())
}

/// One item of a run as read back, borrowed from the row.
pub(super) struct ItemRow<'r> {
    pub id: &'r str,
    pub account_id: &'r str,
    pub name: &'r str,
    pub class: &'r str,
    pub raw_class: &'r str,
    pub pending_approval: bool,
    pub attrs: &'r str,
    pub online: Option<bool>,
    pub last_contact: Option<Timestamp>,
}

/// A past version, read ahead of the current ones it is merged with.
struct Owned {
    id: String,
    account_id: String,
    name: String,
    class: String,
    raw_class: String,
    pending_approval: bool,
    attrs: String,
}

/// Calls `f` on each item of run `run_id`, in id order; see the module header.
pub(super) fn read_items(
    conn: &Connection,
    run_id: i64,
    mut f: impl FnMut(ItemRow<'_>) -> Result<()>,
) -> Result<()> {
    let (connection, pruned, pulse): (String, bool, Option<Vec<u8>>) = conn
        .prepare_cached(
            "SELECT r.connection, r.pruned, p.data FROM sync_run r LEFT JOIN item_pulse p ON p.run_id = r.id WHERE r.id = ?1",
        )?
        .query_row([run_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?
        .with_context(|| format!("sync run {run_id} is not in the database"))?;
    if pruned {
        bail!(
            "the records of sync run {run_id} of `{connection}` were pruned (`reconcile db prune`, [history] keep_months); only its counts are kept"
        );
    }
    let Some(pulse) = pulse else {
        // Only a vendor run that completed has items (its pulse lists them all).
        let status: String =
            conn.query_row("SELECT status FROM sync_run WHERE id = ?1", [run_id], |r| {
                r.get(0)
            })?;
        bail!(
            "sync run {run_id} of `{connection}` has no stored items: it is {status}; only a completed vendor sync's items can be read"
        );
    };
    let mut pulse = PulseReader::new(&pulse, run_id)?;
    // The versions live in this one run: one per item, in id order, as the blob lists them.
    read_versions(conn, &connection, run_id, run_id, |row, _, _| {
        let (online, last_contact) = pulse.next_item()?;
        f(ItemRow {
            online,
            last_contact,
            ..row
        })
    })?;
    pulse.finish()
}

/// Calls `f` on every version of `connection`'s items live in some run from `first` to `last`
/// (run ids), ordered by item id then first run, with the runs it is live in, `[from, to)`
/// (`i64::MAX` for a current one). Last contacts are per run: see [`run_pulse`].
pub(super) fn read_versions(
    conn: &Connection,
    connection: &str,
    first: i64,
    last: i64,
    mut f: impl FnMut(ItemRow<'_>, i64, i64) -> Result<()>,
) -> Result<()> {
    let mut past: Vec<(Owned, i64, i64)> = {
        let mut stmt = conn.prepare_cached(
            "SELECT id, account_id, name, class, raw_class, pending_approval, attrs, valid_from, valid_to
             FROM item_past WHERE connection = ?1 AND valid_to > ?2 AND valid_from <= ?3",
        )?;
        stmt.query_map(params![connection, first, last], |r| {
            Ok((
                Owned {
                    id: r.get(0)?,
                    account_id: r.get(1)?,
                    name: r.get(2)?,
                    class: r.get(3)?,
                    raw_class: r.get(4)?,
                    pending_approval: r.get(5)?,
                    attrs: r.get(6)?,
                },
                r.get(7)?,
                r.get(8)?,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?
    };
    past.sort_unstable_by(|a, b| (a.0.id.as_str(), a.1).cmp(&(b.0.id.as_str(), b.1)));
    let mut past = past.iter().peekable();
    let mut stmt = conn.prepare_cached(
        "SELECT id, account_id, name, class, raw_class, pending_approval, attrs, valid_from FROM item_current
         WHERE connection = ?1 AND valid_from <= ?2",
    )?;
    let mut rows = stmt.query(params![connection, last])?;
    while let Some(r) = rows.next()? {
        let text = |i: usize| -> Result<&str> { Ok(r.get_ref(i)?.as_str()?) };
        let id = text(0)?;
        // An item's past versions began before its current one.
        while let Some((o, from, to)) = past.next_if(|(o, _, _)| o.id.as_str() <= id) {
            f(owned_row(o), *from, *to)?;
        }
        f(
            ItemRow {
                id,
                account_id: text(1)?,
                name: text(2)?,
                class: text(3)?,
                raw_class: text(4)?,
                pending_approval: r.get(5)?,
                attrs: text(6)?,
                online: None,
                last_contact: None,
            },
            r.get(7)?,
            i64::MAX,
        )?;
    }
    for (o, from, to) in past {
        f(owned_row(o), *from, *to)?;
    }
    Ok(())
}

/// Run `run_id`'s last-contact blob, when it has one (a completed run whose records are kept).
pub(super) fn run_pulse(conn: &Connection, run_id: i64) -> Result<Option<Vec<u8>>> {
    Ok(conn
        .prepare_cached("SELECT data FROM item_pulse WHERE run_id = ?1")?
        .query_row([run_id], |r| r.get(0))
        .optional()?)
}

fn owned_row(o: &Owned) -> ItemRow<'_> {
    ItemRow {
        id: &o.id,
        account_id: &o.account_id,
        name: &o.name,
        class: &o.class,
        raw_class: &o.raw_class,
        pending_approval: o.pending_approval,
        attrs: &o.attrs,
        online: None,
        last_contact: None,
    }
}

fn timestamp(s: Option<&str>) -> Result<Option<Timestamp>> {
    s.map(|s| {
        s.parse::<Timestamp>()
            .with_context(|| format!("the database holds `{s}` where a timestamp belongs"))
    })
    .transpose()
}

#[cfg(test)]
#[path = "versions_tests.rs"]
mod tests;
