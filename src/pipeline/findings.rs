//! Findings: computing them from a scope's snapshots and mappings, storing them, and knowing
//! when the stored ones are still what computing them now would give (so `report` can show
//! them without reading every usage record again); and `explain` for one company's lines.

use std::collections::BTreeMap;

use anyhow::Result;
use jiff::Timestamp;

use crate::config::Config;
use crate::engine::{self, Totals};
use crate::store::{Inputs, InputsHasher, ReconcileRecord, Store};

use super::health;
use super::input::with_input;
use super::snapshots::Scope;

/// Findings as computed: the record (stored or not yet) and what the caller should warn about.
pub struct Computed {
    pub record: ReconcileRecord,
    /// Unhealthy connections and why; their findings are `stale_source`.
    pub unhealthy: BTreeMap<String, String>,
    /// What the findings were computed from (current scope only), stored with them so
    /// `report` can reuse them while nothing changed.
    pub inputs: Option<Inputs>,
}

impl Computed {
    /// One line per unhealthy connection, for the caller to print.
    pub fn warnings(&self) -> Vec<String> {
        health::warnings(&self.unhealthy)
    }
}

/// Computes the findings of `scope` (see [`compute`]) and stores them; the returned record
/// carries its new id.
pub fn compute_and_store(config: &Config, store: &mut Store, scope: Scope) -> Result<Computed> {
    let mut done = compute(config, store, scope)?;
    done.record.id = store.save_reconcile_with(&done.record, done.inputs.as_ref())?;
    Ok(done)
}

/// Computes findings from the snapshots of `scope` and the mappings, without storing them.
pub fn compute(config: &Config, store: &Store, scope: Scope) -> Result<Computed> {
    // Hashed before the snapshots are read: a sync landing in between makes the stored hash
    // older than the data, so the next report recomputes rather than trusting it.
    let hashed = match scope {
        Scope::Current => Some(inputs_hash(config, store)?),
        _ => None,
    };
    let ((findings, excluded), cur) = with_input(config, store, scope, false, |i| {
        (engine::findings(i), engine::excluded_accounts(i))
    })?;
    let inputs = hashed.map(|(fingerprint, finished)| Inputs {
        fingerprint,
        valid_until: cur.valid_until(config, &config.engine_rules(), &finished),
        unhealthy: cur.unhealthy.clone(),
    });
    let mut sources = BTreeMap::new();
    for (name, _, run, _) in &cur.vendors {
        sources.insert(name.clone(), *run);
    }
    for (name, run, _) in &cur.psas {
        sources.insert(name.clone(), *run);
    }
    let record = ReconcileRecord {
        id: 0,
        created_at: Timestamp::now().to_string(),
        as_of: cur.as_of.to_string(),
        currency: config.currency.clone(),
        sources,
        totals: Totals {
            excluded_accounts: excluded,
            ..Totals::of(&findings)
        },
        findings,
    };
    Ok(Computed {
        record,
        unhealthy: cur.unhealthy,
        inputs,
    })
}

/// The shape of a stored finding; raised when findings gain what older stored ones lack.
const FINDINGS_FORMAT: u32 = 2;

/// A hash of everything findings depend on but the clock and the snapshots' records: the tool
/// version, the config, the mappings, every sync run (a new snapshot is a new run). Returns
/// it with the runs' finish times.
fn inputs_hash(config: &Config, store: &Store) -> Result<(String, Vec<Timestamp>)> {
    let mut h = InputsHasher::default();
    h.part(env!("CARGO_PKG_VERSION"));
    // What a finding holds: stored findings of an earlier shape (before revenue, cost and
    // margin) are computed again rather than shown without them.
    h.part(&format!("findings format {FINDINGS_FORMAT}"));
    h.part(&crate::store::schema_version().to_string());
    h.part(&format!("{config:?}"));
    for m in store.account_mappings()? {
        h.part(&format!("{m:?}"));
    }
    h.part("services");
    for m in store.service_mappings()? {
        h.part(&format!("{m:?}"));
    }
    let finished = store.hash_sync_state(&mut h)?;
    Ok((h.finish(), finished))
}

/// The latest stored findings, when they are what computing them now would give: they were
/// computed for the current scope from inputs that hash the same as now, and `now` is before
/// the first moment the clock could change them. With the unhealthy connections then.
pub fn stored_if_current(
    config: &Config,
    store: &Store,
    now: Timestamp,
) -> Result<Option<(ReconcileRecord, BTreeMap<String, String>)>> {
    let Some((id, inputs)) = store.latest_reconcile_inputs()? else {
        return Ok(None);
    };
    if now >= inputs.valid_until {
        return Ok(None);
    }
    let (fingerprint, _) = inputs_hash(config, store)?;
    if fingerprint != inputs.fingerprint {
        return Ok(None);
    }
    let Some(record) = store.latest_reconcile()? else {
        return Ok(None);
    };
    // A clock set back since (as_of after now) could undo what the bound assumed.
    let after_as_of = record.as_of.parse::<Timestamp>().is_ok_and(|t| t <= now);
    if record.id != id || !after_as_of {
        return Ok(None);
    }
    Ok(Some((record, inputs.unhealthy)))
}

/// The explanation of one company's line findings (`reconcile explain`), computed from the
/// same input as [`compute`] at `as_of`.
pub fn explain(
    config: &Config,
    store: &Store,
    scope: Scope,
    psa_connection: &str,
    company_id: &str,
    product: Option<&str>,
) -> Result<Vec<engine::Explanation>> {
    let (out, _) = with_input(config, store, scope, true, |input| {
        engine::explain(input, psa_connection, company_id, product)
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AccountMapping, Snapshot};
    use crate::period::Period;
    use crate::pipeline::fixtures::{psa, vendor};

    /// Computes and stores the current findings at `now`, then asks whether `report` at
    /// `later` may show them as they are.
    fn reusable_later(config: &str, store: &mut Store, later: jiff::SignedDuration) -> bool {
        let config = Config::parse(config).unwrap();
        compute_and_store(&config, store, Scope::Current).unwrap();
        stored_if_current(&config, store, Timestamp::now() + later)
            .unwrap()
            .is_some()
    }

    /// Whether `later` from now is still in this billing period (the end of a period ends
    /// every reuse, so near it the positive checks expect none).
    fn in_this_period(later: jiff::SignedDuration) -> bool {
        let now = Timestamp::now();
        now + later < Period::containing(now, 1).unwrap().last_instant()
    }

    fn one_vendor_store(last_contact: Option<Timestamp>) -> Store {
        let mut store = Store::open_in_memory().unwrap();
        let Snapshot::Vendor(mut v) = vendor(3) else {
            unreachable!()
        };
        v.items[0].last_contact = last_contact;
        let run = store.begin_run("n", "ninjaone").unwrap();
        store.finish_run_ok(run, "n", &Snapshot::Vendor(v)).unwrap();
        let run = store.begin_run("cw", "connectwise").unwrap();
        store.finish_run_ok(run, "cw", &psa(1)).unwrap();
        store
    }

    const TWO_CONNECTIONS: &str = "[connections.n]\nkind = \"ninjaone\"\nurl = \"http://x\"\nclient_id = \"c\"\n\
        [connections.cw]\nkind = \"connectwise\"\nsite = \"x\"\ncompany_id = \"x\"\npublic_key = \"x\"\nclient_id = \"x\"\n";

    #[test]
    fn stored_findings_are_not_reused_past_an_item_turning_inactive() {
        let hours = jiff::SignedDuration::from_hours;
        // Inactive after 30 days: this one turns inactive in an hour.
        let last = Timestamp::now() - hours(30 * 24) + hours(1);
        let mut store = one_vendor_store(Some(last));
        assert!(reusable_later(TWO_CONNECTIONS, &mut store, hours(0)));
        let soon = jiff::SignedDuration::from_mins(50);
        assert_eq!(
            reusable_later(TWO_CONNECTIONS, &mut store, soon),
            in_this_period(soon)
        );
        assert!(!reusable_later(TWO_CONNECTIONS, &mut store, hours(2)));
        // Without the item it would hold until the sync is 36 hours old.
        let mut store = one_vendor_store(None);
        assert_eq!(
            reusable_later(TWO_CONNECTIONS, &mut store, hours(30)),
            in_this_period(hours(30))
        );
        assert!(!reusable_later(TWO_CONNECTIONS, &mut store, hours(37)));
    }

    #[test]
    fn stored_findings_are_not_reused_once_a_source_is_too_old_or_inputs_change() {
        let hours = jiff::SignedDuration::from_hours;
        let mut store = one_vendor_store(None);
        let aged = format!("[health]\nmax_age_hours = 1\n{TWO_CONNECTIONS}");
        let soon = jiff::SignedDuration::from_mins(30);
        assert_eq!(
            reusable_later(&aged, &mut store, soon),
            in_this_period(soon)
        );
        assert!(!reusable_later(&aged, &mut store, hours(2)));
        let config = Config::parse(TWO_CONNECTIONS).unwrap();
        // A source already too old: its note counts the hours, so never reused.
        let mut old = Store::open_in_memory().unwrap();
        let run = old.begin_run("n", "ninjaone").unwrap();
        old.finish_run_ok(run, "n", &vendor(1)).unwrap();
        let run = old.begin_run("cw", "connectwise").unwrap();
        old.finish_run_ok(run, "cw", &psa(1)).unwrap();
        old.conn_for_tests()
            .execute(
                "UPDATE sync_run SET finished_at = '2020-01-01T00:00:00Z' WHERE connection = 'n'",
                [],
            )
            .unwrap();
        assert!(!reusable_later(TWO_CONNECTIONS, &mut old, hours(0)));

        // A mapping, a sync (even a failed one) or the config changes the inputs.
        assert!(reusable_later(TWO_CONNECTIONS, &mut store, hours(0)));
        compute_and_store(&config, &mut store, Scope::Current).unwrap();
        store
            .set_account_mapping(&AccountMapping {
                vendor_connection: "n".into(),
                account_id: "1".into(),
                account_name: "Acme".into(),
                target: None,
                source: crate::model::MapSource::Manual,
            })
            .unwrap();
        assert!(
            stored_if_current(&config, &store, Timestamp::now())
                .unwrap()
                .is_none()
        );
        compute_and_store(&config, &mut store, Scope::Current).unwrap();
        let run = store.begin_run("n", "ninjaone").unwrap();
        assert!(
            stored_if_current(&config, &store, Timestamp::now())
                .unwrap()
                .is_none()
        );
        store.finish_run_failed(run, "boom").unwrap();
        assert!(
            stored_if_current(&config, &store, Timestamp::now())
                .unwrap()
                .is_none()
        );
        compute_and_store(&config, &mut store, Scope::Current).unwrap();
        assert!(
            stored_if_current(&config, &store, Timestamp::now())
                .unwrap()
                .is_some()
        );
        let tolerant =
            Config::parse(&format!("[tolerance]\nincrease_abs = 1\n{TWO_CONNECTIONS}")).unwrap();
        assert!(
            stored_if_current(&tolerant, &store, Timestamp::now())
                .unwrap()
                .is_none()
        );
        // A --period result stored after it is not the current one.
        let period = Period::containing(Timestamp::now(), 1).unwrap();
        compute_and_store(&config, &mut store, Scope::Period(period)).unwrap();
        assert!(
            stored_if_current(&config, &store, Timestamp::now())
                .unwrap()
                .is_none()
        );
    }
}
