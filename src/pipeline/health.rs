//! Source health: whether a connection's snapshot is to be trusted (its last sync failed, it is
//! too old, its record count dropped), and the warning lines that say so. Findings from an
//! unhealthy source are reported as `stale_source`.

use std::collections::BTreeMap;

use anyhow::Result;
use jiff::Timestamp;

use crate::config::HealthConfig;
use crate::connectors::Role;
use crate::store::{RunInfo, RunStatus, Store};

/// Why a connection's current snapshot (`current`, its last successful run) is not to be
/// trusted at `now`, or `None` when it is healthy. The rules, any of which makes it unhealthy
/// (the reasons are joined with "; "):
/// - its latest finished sync (after `current`) failed;
/// - `current` finished more than `[health] max_age_hours` before `now`;
/// - its record count (`items` for vendors, `lines` for PSAs) fell by more than
///   `[health] max_count_drop` (a fraction) from the previous successful run:
///   (previous − current) ÷ previous > max_count_drop, with previous > 0.
pub fn source_health(
    health: &HealthConfig,
    store: &Store,
    name: &str,
    role: Role,
    current: &RunInfo,
    now: Timestamp,
) -> Result<Option<String>> {
    let mut reasons = Vec::new();
    let synced = current
        .finished_at
        .as_deref()
        .unwrap_or(&current.started_at);
    // At a historical moment only the runs finished by then count.
    if let Some(last) = store.last_ended_run_by(name, now)?
        && last.id != current.id
        && last.status == RunStatus::Failed
    {
        reasons.push(format!(
            "its last sync failed ({}), so the snapshot of {synced} was used",
            last.error.as_deref().unwrap_or("no error recorded")
        ));
    }
    if let Ok(at) = synced.parse::<Timestamp>() {
        let hours = now.duration_since(at).as_secs_f64() / 3600.0;
        if hours > health.max_age_hours {
            reasons.push(format!(
                "its last successful sync was {hours:.0} hours ago ({synced}), more than [health] max_age_hours = {}",
                health.max_age_hours
            ));
        }
    }
    let key = match role {
        Role::Vendor => "items",
        Role::Psa => "lines",
    };
    if let Some(prev) = store.previous_ok_run(name, current.id)? {
        let before = prev.counts.get(key).copied().unwrap_or(0);
        let after = current.counts.get(key).copied().unwrap_or(0);
        if before > 0 && after < before {
            let drop = (before - after) as f64 / before as f64;
            if drop > health.max_count_drop {
                reasons.push(format!(
                    "its snapshot has {after} {key}, down from {before} in the previous successful sync ({:.0}% fewer, more than [health] max_count_drop = {}); if that is right, sync again",
                    drop * 100.0,
                    health.max_count_drop
                ));
            }
        }
    }
    Ok((!reasons.is_empty()).then(|| reasons.join("; ")))
}

/// One warning line per unhealthy connection (`unhealthy`: connection → reason), for the
/// caller to print.
pub fn warnings(unhealthy: &BTreeMap<String, String>) -> Vec<String> {
    unhealthy
        .iter()
        .map(|(name, reason)| {
            format!(
                "`{name}` is not healthy, so its findings are reported as stale_source: {reason}"
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Snapshot;
    use crate::pipeline::fixtures::{psa, vendor};

    /// Syncs `n` ("ok") or fails ("failed") in order, then asks for the health of `n` at `now`.
    fn health_after(
        steps: &[Result<Snapshot, &str>],
        role: Role,
        hours_later: i64,
    ) -> Option<String> {
        let mut store = Store::open_in_memory().unwrap();
        for step in steps {
            let run = store.begin_run("n", "x").unwrap();
            match step {
                Ok(snap) => store.finish_run_ok(run, "n", snap).unwrap(),
                Err(e) => store.finish_run_failed(run, e).unwrap(),
            }
        }
        let current = store.current_run("n").unwrap().unwrap();
        let now = Timestamp::now() + jiff::SignedDuration::from_hours(hours_later);
        source_health(&HealthConfig::default(), &store, "n", role, &current, now).unwrap()
    }

    #[test]
    fn health_by_age_of_the_last_successful_sync() {
        assert_eq!(health_after(&[Ok(vendor(3))], Role::Vendor, 0), None);
        assert_eq!(health_after(&[Ok(vendor(3))], Role::Vendor, 35), None);
        let r = health_after(&[Ok(vendor(3))], Role::Vendor, 37).unwrap();
        assert!(r.contains("last successful sync was 37 hours ago"), "{r}");
        assert!(r.contains("max_age_hours = 36"), "{r}");
    }

    #[test]
    fn health_by_a_failed_latest_sync() {
        let r = health_after(&[Ok(vendor(3)), Err("boom")], Role::Vendor, 0).unwrap();
        assert!(r.starts_with("its last sync failed (boom)"), "{r}");
        // A later success clears it; an older failure does not count.
        assert_eq!(
            health_after(
                &[Ok(vendor(3)), Err("boom"), Ok(vendor(3))],
                Role::Vendor,
                0
            ),
            None
        );
    }

    #[test]
    fn health_by_a_record_count_drop() {
        let r = health_after(&[Ok(vendor(10)), Ok(vendor(4))], Role::Vendor, 0).unwrap();
        assert!(
            r.contains("has 4 items, down from 10 in the previous successful sync (60% fewer"),
            "{r}"
        );
        // Exactly half is not more than half; growth is fine; a failed run in between is skipped.
        assert_eq!(
            health_after(&[Ok(vendor(10)), Ok(vendor(5))], Role::Vendor, 0),
            None
        );
        assert_eq!(
            health_after(&[Ok(vendor(1)), Ok(vendor(50))], Role::Vendor, 0),
            None
        );
        assert!(
            health_after(&[Ok(vendor(10)), Err("x"), Ok(vendor(2))], Role::Vendor, 0)
                .unwrap()
                .contains("down from 10")
        );
        // Syncing again with the same count confirms it.
        assert_eq!(
            health_after(
                &[Ok(vendor(10)), Ok(vendor(2)), Ok(vendor(2))],
                Role::Vendor,
                0
            ),
            None
        );
        // PSAs: agreement lines.
        let r = health_after(&[Ok(psa(8)), Ok(psa(0))], Role::Psa, 0).unwrap();
        assert!(r.contains("has 0 lines, down from 8"), "{r}");
    }

    #[test]
    fn every_rule_that_applies_is_given() {
        let r = health_after(
            &[Ok(vendor(10)), Ok(vendor(1)), Err("boom")],
            Role::Vendor,
            48,
        )
        .unwrap();
        assert!(r.contains("failed (boom)"), "{r}");
        assert!(r.contains("hours ago"), "{r}");
        assert!(r.contains("down from 10"), "{r}");
    }
}
