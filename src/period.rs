//! Billing periods: a calendar month by default, or a month that starts on an anchor day
//! (`anchor_day = 15`: the period "2026-10" runs from 15 October to 15 November). Periods are in
//! UTC, so a report means the same thing on every machine that runs it.

use std::fmt;
use std::str::FromStr;

use anyhow::{Result, anyhow, bail};
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

/// One billing period, named by the month it starts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Period {
    pub year: i16,
    pub month: i8,
    /// The day of the month periods start on (1..=28).
    pub anchor_day: i8,
}

impl Period {
    /// The period `"YYYY-MM"` with periods starting on `anchor_day`.
    pub fn parse(s: &str, anchor_day: i8) -> Result<Period> {
        check_anchor(anchor_day)?;
        let bad = || anyhow!("`{s}` is not a billing period; write it as YYYY-MM, e.g. 2026-10");
        let (y, m) = s.trim().split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        let year: i16 = y.parse().map_err(|_| bad())?;
        let month: i8 = m.parse().map_err(|_| bad())?;
        if !(1..=12).contains(&month) || !(1900..=9999).contains(&year) {
            return Err(bad());
        }
        Ok(Period {
            year,
            month,
            anchor_day,
        })
    }

    /// The period a moment falls in.
    pub fn containing(t: Timestamp, anchor_day: i8) -> Result<Period> {
        check_anchor(anchor_day)?;
        let d = t.to_zoned(TimeZone::UTC).date();
        let (year, month) = if d.day() >= anchor_day {
            (d.year(), d.month())
        } else if d.month() == 1 {
            (d.year() - 1, 12)
        } else {
            (d.year(), d.month() - 1)
        };
        Ok(Period {
            year,
            month,
            anchor_day,
        })
    }

    /// The first instant of the period.
    pub fn start(&self) -> Timestamp {
        midnight(Date::new(self.year, self.month, self.anchor_day).expect("valid by construction"))
    }

    /// The first instant after the period (the next period's start).
    pub fn end(&self) -> Timestamp {
        self.next().start()
    }

    /// The last instant inside the period: what `--period` reconciles "as of".
    pub fn last_instant(&self) -> Timestamp {
        self.end() - jiff::SignedDuration::from_nanos(1)
    }

    pub fn next(&self) -> Period {
        let (year, month) = if self.month == 12 {
            (self.year + 1, 1)
        } else {
            (self.year, self.month + 1)
        };
        Period {
            year,
            month,
            anchor_day: self.anchor_day,
        }
    }

    pub fn contains(&self, t: Timestamp) -> bool {
        self.start() <= t && t < self.end()
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

fn midnight(d: Date) -> Timestamp {
    d.to_zoned(TimeZone::UTC)
        .expect("midnight UTC exists")
        .timestamp()
}

fn check_anchor(anchor_day: i8) -> Result<()> {
    if !(1..=28).contains(&anchor_day) {
        bail!(
            "the billing period anchor day must be between 1 and 28 (so every month has it), not {anchor_day}"
        );
    }
    Ok(())
}

/// `--as-of`: a date (`2026-10-31`, the end of that day, UTC) or an RFC 3339 timestamp.
pub fn parse_as_of(s: &str) -> Result<Timestamp> {
    if let Ok(t) = Timestamp::from_str(s) {
        return Ok(t);
    }
    let d = Date::from_str(s).map_err(|_| {
        anyhow!(
            "`{s}` is not a date; write YYYY-MM-DD (the end of that day, UTC) or an RFC 3339 time"
        )
    })?;
    let next = d
        .tomorrow()
        .map_err(|e| anyhow!("`{s}` is out of range: {e}"))?;
    Ok(midnight(next) - jiff::SignedDuration::from_nanos(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn calendar_months_and_anchored_months() {
        let cases: &[(&str, i8, &str, &str)] = &[
            // (period, anchor day, start, end)
            ("2026-10", 1, "2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z"),
            ("2026-12", 1, "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z"),
            (
                "2026-10",
                15,
                "2026-10-15T00:00:00Z",
                "2026-11-15T00:00:00Z",
            ),
            (
                "2027-02",
                28,
                "2027-02-28T00:00:00Z",
                "2027-03-28T00:00:00Z",
            ),
        ];
        for (p, anchor, start, end) in cases {
            let period = Period::parse(p, *anchor).unwrap();
            assert_eq!(period.start(), ts(start), "{p} anchor {anchor}");
            assert_eq!(period.end(), ts(end), "{p} anchor {anchor}");
            assert_eq!(period.to_string(), *p);
            assert!(period.contains(ts(start)) && !period.contains(ts(end)));
        }
    }

    #[test]
    fn the_period_containing_a_moment() {
        let cases: &[(&str, i8, &str)] = &[
            ("2026-10-31T23:59:59Z", 1, "2026-10"),
            ("2026-11-01T00:00:00Z", 1, "2026-11"),
            ("2026-11-14T12:00:00Z", 15, "2026-10"),
            ("2026-11-15T00:00:00Z", 15, "2026-11"),
            ("2026-01-03T00:00:00Z", 5, "2025-12"),
        ];
        for (t, anchor, want) in cases {
            assert_eq!(
                Period::containing(ts(t), *anchor).unwrap().to_string(),
                *want,
                "{t}"
            );
        }
    }

    #[test]
    fn bad_periods_and_anchors_say_how_to_write_them() {
        for bad in ["2026", "2026-13", "26-10", "2026/10", "october"] {
            let e = Period::parse(bad, 1).unwrap_err().to_string();
            assert!(e.contains("YYYY-MM"), "{bad}: {e}");
        }
        assert!(
            Period::parse("2026-10", 31)
                .unwrap_err()
                .to_string()
                .contains("between 1 and 28")
        );
    }

    #[test]
    fn as_of_a_date_is_the_end_of_that_day() {
        assert_eq!(
            parse_as_of("2026-10-31").unwrap(),
            ts("2026-10-31T23:59:59.999999999Z")
        );
        assert_eq!(
            parse_as_of("2026-10-31T12:00:00Z").unwrap(),
            ts("2026-10-31T12:00:00Z")
        );
        assert!(
            parse_as_of("yesterday")
                .unwrap_err()
                .to_string()
                .contains("YYYY-MM-DD")
        );
    }
}
