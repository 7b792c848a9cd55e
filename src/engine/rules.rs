//! The counting rules applied to each usage item, and the contract arithmetic applied to each
//! line. Pure: the config ([`crate::config`]) builds a [`Rules`], the engine applies it.

use std::collections::BTreeMap;

use jiff::Timestamp;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{CostRate, Margin};
use crate::model::{ItemView, glob_match};

/// What the engine does with items and lines beyond the mappings.
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    /// Items whose last contact is more than this many days before `as_of` are inactive (not
    /// billable, reported beside the count); `None` never makes an item inactive.
    pub inactive_after_days: Option<u32>,
    /// Per `<vendor connection>/<service key>`: an override of `inactive_after_days`.
    pub service_inactive_after_days: BTreeMap<String, Option<u32>>,
    /// Whether items pending approval count as billable (default: no).
    pub count_pending: bool,
    /// Exclusions, in config order; the first that applies gives the reason.
    pub exclusions: Vec<Exclusion>,
    /// Per `<psa connection>/<product identifier>`: the contract arithmetic.
    pub contracts: BTreeMap<String, Contract>,
    /// Per `<vendor connection>/<service key>`: what a unit costs when the vendor does not say.
    pub costs: BTreeMap<String, CostRate>,
    /// The low-margin threshold and the PSA cost check.
    pub margin: Margin,
}

impl Default for Rules {
    fn default() -> Rules {
        Rules {
            inactive_after_days: Some(30),
            service_inactive_after_days: BTreeMap::new(),
            count_pending: false,
            exclusions: Vec::new(),
            contracts: BTreeMap::new(),
            costs: BTreeMap::new(),
            margin: Margin::default(),
        }
    }
}

impl Rules {
    /// No stale threshold, nothing excluded, no contracts: the engine as it was before rules.
    pub fn none() -> Rules {
        Rules {
            inactive_after_days: None,
            ..Rules::default()
        }
    }

    /// The stale threshold for a service (`<vendor connection>/<service key>`).
    pub fn inactive_after(&self, service: &str) -> Option<u32> {
        match self.service_inactive_after_days.get(service) {
            Some(o) => *o,
            None => self.inactive_after_days,
        }
    }

    /// Whether an account-wide exclusion removes the whole account, and which.
    pub fn account_excluded(&self, connection: &str, id: &str, name: &str) -> Option<&Exclusion> {
        self.exclusions.iter().find(|e| {
            e.device_name.is_none()
                && e.service.is_none()
                && e.account.is_some()
                && e.matches_account(connection, id, name)
        })
    }
}

/// `[[exclude]]`: items that are never billable, with the reason the report gives. Every
/// criterion given must hold (at least one is given).
#[derive(Debug, Clone, PartialEq)]
pub struct Exclusion {
    pub reason: String,
    /// A vendor account id or name (glob; case and whitespace folded).
    pub account: Option<String>,
    /// A glob over the item's name.
    pub device_name: Option<String>,
    /// `<vendor connection>/<service key>`.
    pub service: Option<String>,
}

fn fold(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl Exclusion {
    fn matches_account(&self, _connection: &str, id: &str, name: &str) -> bool {
        match &self.account {
            None => true,
            Some(a) => {
                let a = fold(a);
                a == id || glob_match(&a, &fold(name))
            }
        }
    }

    fn matches<I: ItemView + ?Sized>(
        &self,
        item: &I,
        account_name: &str,
        connection: &str,
        service: &str,
    ) -> bool {
        self.matches_account(connection, item.account_id(), account_name)
            && self
                .device_name
                .as_ref()
                .is_none_or(|p| glob_match(p, item.name()))
            && self.service.as_ref().is_none_or(|s| s == service)
    }

    /// `account "Acme"`, `device name "LAB-*"`, `service ninja/total-devices`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(a) = &self.account {
            parts.push(format!("account \"{a}\""));
        }
        if let Some(d) = &self.device_name {
            parts.push(format!("device name \"{d}\""));
        }
        if let Some(s) = &self.service {
            parts.push(format!("service {s}"));
        }
        parts.join(", ")
    }
}

/// What one item counts as for one service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ItemStatus {
    Counted,
    /// Waiting for approval in the vendor tool (and `[rules] count_pending` is false).
    Pending,
    /// Last contact `days` days before `as_of`, more than the threshold.
    Inactive {
        days: i64,
        threshold: u32,
    },
    /// Removed by an `[[exclude]]`.
    Excluded {
        reason: String,
    },
}

impl ItemStatus {
    pub fn describe(&self) -> String {
        match self {
            ItemStatus::Counted => "counted".into(),
            ItemStatus::Pending => "pending approval, not billable".into(),
            ItemStatus::Inactive { days, threshold } => {
                format!("inactive: last contact {days} days ago (more than {threshold})")
            }
            ItemStatus::Excluded { reason } => format!("excluded: {reason}"),
        }
    }
}

/// The one decision per item and service (`<vendor connection>/<service key>`): an exclusion
/// first, then pending approval, then the stale threshold; else counted. An item with no known
/// last contact is never inactive.
pub fn classify<I: ItemView + ?Sized>(
    item: &I,
    account_name: &str,
    connection: &str,
    service: &str,
    rules: &Rules,
    as_of: Timestamp,
) -> ItemStatus {
    if let Some(e) = rules
        .exclusions
        .iter()
        .find(|e| e.matches(item, account_name, connection, service))
    {
        return ItemStatus::Excluded {
            reason: e.reason.clone(),
        };
    }
    if item.pending_approval() && !rules.count_pending {
        return ItemStatus::Pending;
    }
    if let (Some(threshold), Some(last)) = (rules.inactive_after(service), item.last_contact()) {
        let secs = as_of.as_second() - last.as_second();
        if secs > i64::from(threshold) * 86_400 {
            return ItemStatus::Inactive {
                days: secs / 86_400,
                threshold,
            };
        }
    }
    ItemStatus::Counted
}

/// [`classify`]'s answer to "counted?" when `rules` has no exclusion, with the service's stale
/// threshold looked up once (`threshold` = `rules.inactive_after(service)`): what counting a
/// period's snapshots asks for every item of every snapshot.
pub fn counted_without_exclusions<I: ItemView + ?Sized>(
    item: &I,
    threshold: Option<u32>,
    count_pending: bool,
    as_of: Timestamp,
) -> bool {
    if item.pending_approval() && !count_pending {
        return false;
    }
    match (threshold, item.last_contact()) {
        (Some(threshold), Some(last)) => {
            as_of.as_second() - last.as_second() <= i64::from(threshold) * 86_400
        }
        _ => true,
    }
}

/// How a contract quantity is rounded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Rounding {
    /// Up to a whole unit (PSAs that take only integers).
    #[default]
    Ceil,
    /// Kept as computed.
    None,
}

/// `[contract."<psa connection>/<product identifier>"]`: what the client pays for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Contract {
    /// Units the client gets without paying; it pays for the count above it.
    pub included: Decimal,
    /// The client pays at least this many units.
    pub minimum: Decimal,
    pub rounding: Rounding,
}

impl Contract {
    /// The quantity to bill for `actual` counted units: max(actual − included, 0), rounded,
    /// then at least `minimum`.
    pub fn billable(&self, actual: Decimal) -> Decimal {
        let above = (actual - self.included).max(Decimal::ZERO);
        let rounded = match self.rounding {
            Rounding::Ceil => above.ceil(),
            Rounding::None => above,
        };
        rounded.max(self.minimum)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::UsageItem;

    /// The shortcut agrees with [`classify`] on every case it stands in for.
    #[test]
    fn counting_without_exclusions_agrees_with_classify() {
        let at: Timestamp = "2026-10-31T12:00:00Z".parse().unwrap();
        let days_ago = |d: i64| Some(at - jiff::SignedDuration::from_secs(d * 86_400));
        let mut checked = 0;
        for pending in [false, true] {
            for last in [
                None,
                days_ago(0),
                days_ago(30),
                Some(at - jiff::SignedDuration::from_secs(30 * 86_400 + 1)),
                days_ago(400),
                Some(at + jiff::SignedDuration::from_secs(3_600)),
            ] {
                for (default, service) in [(Some(30), None), (None, None), (Some(30), Some(None))] {
                    for count_pending in [false, true] {
                        let mut rules = Rules {
                            inactive_after_days: default,
                            count_pending,
                            ..Rules::default()
                        };
                        if let Some(o) = service {
                            rules
                                .service_inactive_after_days
                                .insert("n/devices".into(), o);
                        }
                        let item = UsageItem {
                            id: "d1".into(),
                            account_id: "a".into(),
                            name: "PC-1".into(),
                            class: "workstation".into(),
                            raw_class: "WINDOWS_WORKSTATION".into(),
                            online: None,
                            last_contact: last,
                            pending_approval: pending,
                            attrs: Default::default(),
                            raw: None,
                        };
                        let full = classify(&item, "Acme", "n", "n/devices", &rules, at)
                            == ItemStatus::Counted;
                        let quick = counted_without_exclusions(
                            &item,
                            rules.inactive_after("n/devices"),
                            rules.count_pending,
                            at,
                        );
                        assert_eq!(
                            quick, full,
                            "{pending} {last:?} {default:?} {service:?} {count_pending}"
                        );
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(checked, 72);
    }
}
