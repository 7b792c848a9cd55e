//! Reading a vendor snapshot into the engine's compact [`ItemTable`]: rows in id order (no sort),
//! strings borrowed from the row and interned, the attributes' JSON parsed only when
//! the spec keeps some attribute, `raw` never read.

use std::collections::BTreeMap;

use anyhow::Result;

use super::Store;
use super::pulse::PulseReader;
use super::versions::{ItemRow, read_items, read_versions, run_pulse};
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
            let (row, attrs) = table_row(&r, r.last_contact, wants_attrs);
            table.push(row, attrs.pairs());
            Ok(())
        })?;
        Ok(table.finish())
    }

    /// The tables of several successful runs of one connection (a billing period's), read in
    /// one pass: every version live in some of them once, each run a view of those with its own
    /// accounts and last contacts (see [`ItemTable::view`]). Far less reading and memory than
    /// one [`Store::load_item_table`] per run, since day to day nearly every item is the same.
    pub fn load_item_tables(&self, runs: &[i64], spec: &ItemSpec) -> Result<Vec<ItemTable>> {
        let (Some(&first), Some(&last)) = (runs.iter().min(), runs.iter().max()) else {
            return Ok(Vec::new());
        };
        let mut pulses = Vec::with_capacity(runs.len());
        for &run in runs {
            match run_pulse(&self.conn, run)? {
                Some(p) => pulses.push(p),
                // A run without versions (still going, or pruned): one at a time, which says
                // why when it cannot be read.
                None => {
                    return runs
                        .iter()
                        .map(|r| self.load_item_table(*r, spec))
                        .collect();
                }
            }
        }
        let connection: String = self.conn.query_row(
            "SELECT connection FROM sync_run WHERE id = ?1",
            [first],
            |r| r.get(0),
        )?;
        let wants_attrs = spec.wants_attrs();
        // Each run's last contacts are decoded on the other cores while this one reads the
        // versions: a blob says how many items it holds, and that they fit each run's live
        // versions is checked after.
        let decode = |run: i64, pulse: &[u8]| -> Result<(Vec<Option<jiff::Timestamp>>, u64)> {
            let mut reader = PulseReader::new(pulse, run)?;
            let n = reader.remaining();
            let mut contacts = Vec::with_capacity(usize::try_from(n).unwrap_or(0));
            for _ in 0..n {
                contacts.push(reader.next_item()?.1);
            }
            reader.finish()?;
            Ok((contacts, n))
        };
        let jobs: Vec<(i64, &[u8])> = runs
            .iter()
            .copied()
            .zip(pulses.iter().map(Vec::as_slice))
            .collect();
        let threads = std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(1)
            .saturating_sub(1)
            .clamp(1, jobs.len().max(1));
        let chunk = jobs.len().div_ceil(threads).max(1);
        let (versions, contacts) = std::thread::scope(|scope| {
            let handles: Vec<_> = jobs
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || {
                        part.iter()
                            .map(|(run, pulse)| decode(*run, pulse))
                            .collect::<Result<Vec<_>>>()
                    })
                })
                .collect();
            let mut table = ItemTable::new(spec.clone());
            let read = read_versions(&self.conn, &connection, first, last, |r, from, to| {
                let (row, attrs) = table_row(&r, None, wants_attrs);
                table.push_version(row, attrs.pairs(), from, to);
                Ok(())
            });
            let mut all = Vec::with_capacity(jobs.len());
            for h in handles {
                all.extend(h.join().expect("decoding last contacts does not panic")?);
            }
            read?;
            Ok::<_, anyhow::Error>((std::sync::Arc::new(table.finish()), all))
        })?;
        // Each blob must hold exactly its run's live versions.
        let mut live = vec![0usize; runs.len()];
        for i in 0..versions.len() {
            for (k, &run) in runs.iter().enumerate() {
                if versions.live_at(i, run) {
                    live[k] += 1;
                }
            }
        }
        let mut contacts_by_run = Vec::with_capacity(runs.len());
        for ((k, (contacts, n)), (&run, pulse)) in contacts
            .into_iter()
            .enumerate()
            .zip(runs.iter().zip(&pulses))
        {
            if n as usize != live[k] {
                return Err(PulseReader::new(pulse, run)?.misfit(live[k]));
            }
            contacts_by_run.push(contacts);
        }
        let contacts = contacts_by_run;
        let mut out = Vec::with_capacity(runs.len());
        for (&run, contacts) in runs.iter().zip(contacts) {
            let (accounts, unreadable) = self.load_vendor_accounts(run)?;
            out.push(ItemTable::view(
                &versions, run, accounts, unreadable, contacts,
            ));
        }
        Ok(out)
    }
}

/// An item as a table keeps it, with its attributes when the spec reads any.
fn table_row<'r>(
    r: &ItemRow<'r>,
    last_contact: Option<jiff::Timestamp>,
    wants_attrs: bool,
) -> (Row<'r>, Attrs<'r>) {
    let attrs = if wants_attrs && r.attrs != "{}" {
        match flat_pairs(r.attrs) {
            Some(pairs) => Attrs::Borrowed(pairs),
            None => Attrs::Owned(serde_json::from_str(r.attrs).unwrap_or_default()),
        }
    } else {
        Attrs::Borrowed(Vec::new())
    };
    let row = Row {
        id: r.id,
        account_id: r.account_id,
        name: r.name,
        class: r.class,
        pending_approval: r.pending_approval,
        last_contact,
    };
    (row, attrs)
}

/// An item's attributes as read back: borrowed from the row when they could be, else parsed.
enum Attrs<'r> {
    Borrowed(Vec<(&'r str, &'r str)>),
    Owned(BTreeMap<String, String>),
}

impl Attrs<'_> {
    fn pairs(&self) -> Box<dyn Iterator<Item = (&str, &str)> + '_> {
        match self {
            Attrs::Borrowed(p) => Box::new(p.iter().copied()),
            Attrs::Owned(m) => Box::new(m.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
        }
    }
}

/// The pairs of a stored attribute object as `serde_json` writes a map of strings
/// (`{"k":"v",...}`), borrowed from the text: no allocation per pair, where parsing costs a
/// quarter of reading a period's versions. `None` for anything else (an escape, a space, a
/// number), which `serde_json` then reads.
fn flat_pairs(s: &str) -> Option<Vec<(&str, &str)>> {
    // A string without escapes: its text up to the closing quote, and what follows.
    fn string(s: &str) -> Option<(&str, &str)> {
        let rest = s.strip_prefix('"')?;
        let end = rest.find(['"', '\\'])?;
        (rest.as_bytes()[end] == b'"').then(|| (&rest[..end], &rest[end + 1..]))
    }
    let mut rest = s.strip_prefix('{')?.strip_suffix('}')?;
    let mut out = Vec::new();
    while !rest.is_empty() {
        let (k, after) = string(rest)?;
        let (v, after) = string(after.strip_prefix(':')?)?;
        out.push((k, v));
        rest = match after.strip_prefix(',') {
            Some(more) if !more.is_empty() => more,
            Some(_) => return None,
            None if after.is_empty() => after,
            None => return None,
        };
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whatever a map holds, the fast path reads back exactly what `serde_json` wrote, or
    /// leaves it to `serde_json`; plain text always takes the fast path.
    #[test]
    fn stored_attributes_read_back_exactly_by_either_path() {
        let maps: Vec<Vec<(&str, &str)>> = vec![
            vec![("os", "Windows 11")],
            vec![("a", ""), ("", "b"), ("plan", "BK"), ("site", "Zürich ✓")],
            vec![("quote", "say \"hi\"")],
            vec![("path", "C:\\temp"), ("x", "1")],
            vec![("line", "a\nb"), ("tab", "\t")],
            vec![("k:{", "v,}"), ("\"", ":")],
            vec![("k:{", "v,}"), ("}", "{\u{1F600}")],
        ];
        for pairs in maps {
            let map: BTreeMap<String, String> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let text = serde_json::to_string(&map).unwrap();
            let plain = pairs
                .iter()
                .all(|(k, v)| !format!("{k}{v}").contains(['"', '\\', '\n', '\t']));
            match flat_pairs(&text) {
                Some(got) => {
                    let want: Vec<(&str, &str)> =
                        map.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                    assert_eq!(got, want, "{text}");
                }
                None => assert!(!plain, "plain text left to serde_json: {text}"),
            }
        }
        // Not what serde_json writes for a string map: left to it.
        for odd in [
            "{\"a\":1}",
            "{\"a\": \"b\"}",
            "{\"a\":\"b\",}",
            "{\"a\":\"b\"",
            "[\"a\"]",
            "{\"a\":\"b\"\"c\":\"d\"}",
            "{\"a\"}",
        ] {
            assert_eq!(flat_pairs(odd), None, "{odd}");
        }
        assert_eq!(flat_pairs("{}"), Some(Vec::new()));
    }
}
