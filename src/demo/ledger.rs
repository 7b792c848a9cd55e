//! What the PSA sandboxes were told to write: the one record of `reconcile push`'s changes to
//! the sample MSP's billing lines, so every PSA sandbox serves its lines with the writes applied
//! and a sync after a push sees them (`reconcile demo --push`).
//!
//! Each sandbox translates the sample's ConnectWise additions into its own lines; a write lands
//! here by addition id, as the absolute quantity and unit cost the line has from then on (an
//! Autotask adjustment's delta is applied by its sandbox before it lands here). The sample is
//! shared behind an `Arc`, so the ledger locks.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use jiff::civil::Date;
use rust_decimal::Decimal;

use super::sample::CwAddition;

/// One line's values after the writes to it.
#[derive(Debug, Clone, PartialEq)]
pub struct LineWrite {
    pub quantity: Decimal,
    pub unit_cost: Decimal,
    /// From which day the values apply, for sandboxes whose lines are dated (Autotask's units
    /// rows); `None` applies them to every period.
    pub from: Option<Date>,
    /// When the last write landed (ConnectWise's `_info.lastUpdated`).
    pub at: Timestamp,
    /// How many writes landed on the line.
    pub writes: u32,
}

/// The writes the sandboxes took, by ConnectWise addition id. Sandboxes serving one
/// `Arc<SampleMsp>` share it; a cloned sample gets its own copy, so a test that writes never
/// changes what another test's sandboxes serve.
#[derive(Debug, Default)]
pub struct Ledger(Arc<Mutex<BTreeMap<i64, LineWrite>>>);

impl Clone for Ledger {
    fn clone(&self) -> Ledger {
        Ledger(Arc::new(Mutex::new(self.all())))
    }
}

impl PartialEq for Ledger {
    fn eq(&self, other: &Ledger) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || *self.0.lock().unwrap() == *other.0.lock().unwrap()
    }
}

impl Ledger {
    /// Records a write of `quantity` and `unit_cost` to addition `id`, applying from `from`.
    pub fn write(&self, id: i64, quantity: Decimal, unit_cost: Decimal, from: Option<Date>) {
        let mut map = self.0.lock().unwrap();
        let writes = map.get(&id).map_or(0, |w| w.writes) + 1;
        map.insert(
            id,
            LineWrite {
                quantity,
                unit_cost,
                from,
                at: Timestamp::now(),
                writes,
            },
        );
    }

    /// The write to addition `id`, if any.
    pub fn get(&self, id: i64) -> Option<LineWrite> {
        self.0.lock().unwrap().get(&id).cloned()
    }

    /// Every write, by addition id.
    pub fn all(&self) -> BTreeMap<i64, LineWrite> {
        self.0.lock().unwrap().clone()
    }

    /// Writes in all (a second apply of the same plan must add none).
    pub fn count(&self) -> u32 {
        self.0.lock().unwrap().values().map(|w| w.writes).sum()
    }

    /// `addition` as a dated row from `start` to `end` (inclusive) holds it: a write applies to
    /// the row that covers its day and to every later row (Autotask's units rows).
    pub fn apply_to_row(&self, addition: &CwAddition, end: Date) -> CwAddition {
        self.apply(addition, Some(end))
    }

    /// `addition` as it stands on `day` after the writes (all writes when `day` is `None`).
    pub fn apply(&self, addition: &CwAddition, day: Option<Date>) -> CwAddition {
        let mut a = addition.clone();
        if let Some(w) = self.get(a.id) {
            let applies = match (w.from, day) {
                (Some(from), Some(day)) => day >= from,
                _ => true,
            };
            if applies {
                a.quantity = w.quantity;
                a.unit_cost = w.unit_cost;
            }
        }
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_changes_the_line_from_its_day_and_counts() {
        let ledger = Ledger::default();
        let add = crate::demo::sample::sample().connectwise.additions[0].clone();
        let from = jiff::civil::date(2026, 12, 1);
        ledger.write(
            add.id,
            Decimal::new(42, 0),
            Decimal::new(450, 2),
            Some(from),
        );
        assert_eq!(ledger.apply(&add, None).quantity, Decimal::new(42, 0));
        assert_eq!(
            ledger.apply(&add, Some(from)).unit_cost,
            Decimal::new(450, 2)
        );
        assert_eq!(
            ledger
                .apply(&add, Some(jiff::civil::date(2026, 11, 30)))
                .quantity,
            add.quantity
        );
        ledger.write(add.id, Decimal::new(43, 0), Decimal::new(450, 2), None);
        assert_eq!(ledger.count(), 2);
        assert_eq!(ledger.get(add.id).unwrap().writes, 2);
    }
}
