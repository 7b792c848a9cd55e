//! The fast-moving fields of a vendor snapshot (each item's last contact and online flag), kept
//! as one compact blob per sync run instead of one row per item per run.
//!
//! Every sync moves every device's last contact, so storing it in the item's version would make
//! every item a new version every day. Instead a run's blob lists these two fields for the
//! items live in that run, in item-id order (the order SQLite's `BINARY` collation and Rust's
//! `str` ordering agree on), and readers zip it with the run's items read in the same order.
//!
//! Encoding, per item: a tag byte (bits 0-1 online: 0 unknown, 1 false, 2 true; bit 2 a last
//! contact follows; bit 3 it has a fraction of a second), then the last contact's whole seconds
//! as a zigzag varint delta from the previous item's (0 before the first), then its fraction of
//! a second in nanoseconds, zigzag (negative before 1970, as jiff keeps it). About 4 bytes an
//! item: 100,000 devices take some 400 KB a run, against some 6 MB as text in rows. The blob starts with a format number and the item count, so a blob
//! that does not fit the items it is read with is an error, never a wrong last contact.

use anyhow::{Result, bail};
use jiff::Timestamp;

const FORMAT: u64 = 1;

/// Builds a run's blob, item by item in id order.
#[derive(Default)]
pub(super) struct PulseWriter {
    body: Vec<u8>,
    count: u64,
    prev: i64,
}

impl PulseWriter {
    pub fn push(&mut self, online: Option<bool>, last_contact: Option<Timestamp>) {
        let mut tag = match online {
            None => 0u8,
            Some(false) => 1,
            Some(true) => 2,
        };
        if let Some(t) = last_contact {
            tag |= 4;
            if t.subsec_nanosecond() != 0 {
                tag |= 8;
            }
        }
        self.body.push(tag);
        if let Some(t) = last_contact {
            let secs = t.as_second();
            varint(&mut self.body, zigzag(secs.wrapping_sub(self.prev)));
            self.prev = secs;
            if t.subsec_nanosecond() != 0 {
                varint(&mut self.body, zigzag(i64::from(t.subsec_nanosecond())));
            }
        }
        self.count += 1;
    }

    pub fn finish(self) -> (u64, Vec<u8>) {
        let mut out = Vec::with_capacity(self.body.len() + 12);
        varint(&mut out, FORMAT);
        varint(&mut out, self.count);
        out.extend_from_slice(&self.body);
        (self.count, out)
    }
}

/// Reads a run's blob back, item by item in the order it was written.
pub(super) struct PulseReader<'a> {
    data: &'a [u8],
    at: usize,
    left: u64,
    prev: i64,
    run: i64,
}

impl<'a> PulseReader<'a> {
    /// `run` names the run in errors.
    pub fn new(data: &'a [u8], run: i64) -> Result<PulseReader<'a>> {
        let mut r = PulseReader {
            data,
            at: 0,
            left: 0,
            prev: 0,
            run,
        };
        let format = r.varint()?;
        if format != FORMAT {
            bail!(
                "sync run {run}'s last-contact record has format {format}, which this build does not know; upgrade reconcile"
            );
        }
        r.left = r.varint()?;
        Ok(r)
    }

    /// How many items are left to read.
    pub fn remaining(&self) -> u64 {
        self.left
    }

    /// Says the blob does not fit a run of `live` items (what [`PulseReader::next_item`] and
    /// [`PulseReader::finish`] say when reading it alongside them).
    pub fn misfit(&self, live: usize) -> anyhow::Error {
        anyhow::anyhow!(self.broken(&format!(
            "it holds a different number of items than the run's {live}"
        )))
    }

    /// The next item's (online, last contact).
    pub fn next_item(&mut self) -> Result<(Option<bool>, Option<Timestamp>)> {
        if self.left == 0 {
            bail!(self.broken("it holds fewer items than the run"));
        }
        self.left -= 1;
        let tag = *self
            .data
            .get(self.at)
            .ok_or_else(|| anyhow::anyhow!(self.broken("it ends early")))?;
        self.at += 1;
        let online = match tag & 3 {
            0 => None,
            1 => Some(false),
            2 => Some(true),
            _ => bail!(self.broken("an item has an unknown online flag")),
        };
        if tag & 4 == 0 {
            return Ok((online, None));
        }
        let secs = self.prev.wrapping_add(unzigzag(self.varint()?));
        self.prev = secs;
        let nanos = if tag & 8 != 0 {
            unzigzag(self.varint()?)
        } else {
            0
        };
        let nanos = i32::try_from(nanos)
            .map_err(|_| anyhow::anyhow!(self.broken("a fraction of a second is out of range")))?;
        let t = Timestamp::new(secs, nanos)
            .map_err(|_| anyhow::anyhow!(self.broken("a last contact is out of range")))?;
        Ok((online, Some(t)))
    }

    /// Errors unless every item was read.
    pub fn finish(&self) -> Result<()> {
        if self.left != 0 || self.at != self.data.len() {
            bail!(self.broken("it holds more items than the run"));
        }
        Ok(())
    }

    fn broken(&self, why: &str) -> String {
        format!(
            "the database's last-contact record of sync run {} does not fit its items ({why}); the run's history is damaged: `reconcile db prune` cannot repair it, but syncing again gives a good current snapshot",
            self.run
        )
    }

    fn varint(&mut self) -> Result<u64> {
        let mut v = 0u64;
        let mut shift = 0;
        loop {
            let Some(&b) = self.data.get(self.at) else {
                bail!(self.broken("it ends early"));
            };
            self.at += 1;
            if shift >= 64 {
                bail!(self.broken("a number is too long"));
            }
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
            shift += 7;
        }
    }
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn every_value_round_trips_exactly() {
        let items = [
            (Some(true), Some(ts("2026-01-02T03:04:05.5Z"))),
            (None, None),
            (Some(false), Some(ts("1970-01-01T00:00:00Z"))),
            (Some(true), Some(ts("1969-12-31T23:59:59.999999999Z"))),
            (None, Some(ts("9999-12-30T21:59:59Z"))),
            (Some(false), None),
            (Some(true), Some(ts("2026-01-02T03:04:05Z"))),
        ];
        let mut w = PulseWriter::default();
        for (o, t) in items {
            w.push(o, t);
        }
        let (n, blob) = w.finish();
        assert_eq!(n, 7);
        let mut r = PulseReader::new(&blob, 1).unwrap();
        for want in items {
            assert_eq!(r.next_item().unwrap(), want);
        }
        r.finish().unwrap();
    }

    #[test]
    fn a_day_of_contacts_takes_about_four_bytes_an_item() {
        let mut w = PulseWriter::default();
        for i in 0..100_000i64 {
            let t = Timestamp::from_second(1_780_000_000 + (i * 7919) % 86_400).unwrap();
            w.push(Some(i % 3 != 0), Some(t));
        }
        let (_, blob) = w.finish();
        assert!(blob.len() < 450_000, "{} bytes", blob.len());
    }

    #[test]
    fn a_blob_that_does_not_fit_its_items_is_an_error_naming_the_run() {
        let mut w = PulseWriter::default();
        w.push(Some(true), Some(ts("2026-01-02T03:04:05Z")));
        w.push(None, None);
        let (_, blob) = w.finish();
        let mut r = PulseReader::new(&blob, 42).unwrap();
        r.next_item().unwrap();
        let early = r.finish().unwrap_err().to_string();
        assert!(
            early.contains("sync run 42") && early.contains("more items"),
            "{early}"
        );
        r.next_item().unwrap();
        let short = r.next_item().unwrap_err().to_string();
        assert!(short.contains("fewer items"), "{short}");
        let cut = PulseReader::new(&blob[..blob.len() - 3], 42)
            .and_then(|mut r| r.next_item().map(|_| ()))
            .unwrap_err()
            .to_string();
        assert!(cut.contains("ends early"), "{cut}");
        assert!(PulseReader::new(&[9, 0], 42).is_err());
    }
}
