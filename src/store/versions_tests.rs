//! Tests of `versions.rs`: every run reads back exactly what it saw, whichever way its items
//! were stored (held in memory or streamed page by page), while only changes are written.

use crate::model::{Snapshot, UsageItem, VendorAccount, VendorSnapshot};
use crate::store::Store;

fn item(id: &str, class: &str, contact: &str) -> UsageItem {
    UsageItem {
        id: id.into(),
        account_id: "1".into(),
        name: format!("pc-{id}"),
        class: class.into(),
        raw_class: class.into(),
        online: Some(id != "b"),
        last_contact: Some(contact.parse().unwrap()),
        pending_approval: false,
        attrs: [("os".to_string(), "Windows 11".to_string())].into(),
        raw: Some(format!("{{\"lastContact\":\"{contact}\"}}")),
    }
}

fn snap(items: &[UsageItem]) -> VendorSnapshot {
    VendorSnapshot {
        accounts: vec![VendorAccount {
            id: "1".into(),
            name: "Acme".into(),
            raw: None,
        }],
        items: items.to_vec(),
        ..VendorSnapshot::default()
    }
}

fn sync(s: &mut Store, v: &VendorSnapshot) -> i64 {
    let r = s.begin_run("n", "ninjaone").unwrap();
    s.finish_run_ok(r, "n", &Snapshot::Vendor(v.clone()))
        .unwrap();
    r
}

fn without_raw(mut v: VendorSnapshot) -> VendorSnapshot {
    for i in &mut v.items {
        i.raw = None;
    }
    v.items
        .sort_by(|a, b| (&a.account_id, &a.id).cmp(&(&b.account_id, &b.id)));
    v
}

fn versions(s: &Store) -> (i64, i64, i64) {
    s.conn_for_tests()
        .query_row(
            "SELECT (SELECT count(*) FROM item_current), (SELECT count(*) FROM item_past), (SELECT count(*) FROM temp.stage_item) + (SELECT count(*) FROM usage_item)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap()
}

#[test]
fn every_run_reads_back_exactly_what_it_saw_while_only_changes_are_stored() {
    let mut s = Store::open_in_memory().unwrap();
    let day1 = snap(&[
        item("a", "WS", "2026-10-01T08:00:00Z"),
        item("b", "WS", "2026-10-01T09:00:00.25Z"),
        item("c", "SRV", "2026-09-30T23:00:00Z"),
    ]);
    // b reclassified, c gone, d new; every last contact moved.
    let day2 = snap(&[
        item("a", "WS", "2026-10-02T08:00:00Z"),
        item("b", "SRV", "2026-10-02T09:00:00Z"),
        item("d", "WS", "2026-10-02T10:00:00Z"),
    ]);
    // c back as it was; a unchanged but for its last contact.
    let day3 = snap(&[
        item("a", "WS", "2026-10-03T08:00:00Z"),
        item("b", "SRV", "2026-10-03T09:00:00Z"),
        item("c", "SRV", "2026-09-30T23:00:00Z"),
        item("d", "WS", "2026-10-03T10:00:00Z"),
    ]);
    let r1 = sync(&mut s, &day1);
    let failed = s.begin_run("n", "ninjaone").unwrap();
    s.write_items(failed, &[item("zz", "WS", "2026-10-01T00:00:00Z")])
        .unwrap();
    s.finish_run_failed(failed, "boom").unwrap();
    let r2 = sync(&mut s, &day2);
    let r3 = sync(&mut s, &day3);
    for (run, want) in [(r1, &day1), (r2, &day2), (r3, &day3)] {
        assert_eq!(
            s.load_vendor_snapshot(run).unwrap(),
            without_raw(want.clone()),
            "run {run}"
        );
    }
    // a: 1 version; b: 2; c: 2 (gone on day 2, back on day 3); d: 1. Of these 6, b's
    // first and c's first ended.
    assert_eq!(versions(&s), (4, 2, 0));
    let per_account = s.items_per_account(r2).unwrap();
    assert_eq!(per_account["1"], 3);
}

/// Every item of a table as the engine sees it.
fn seen(t: &crate::engine::ItemTable) -> Vec<String> {
    use crate::engine::Usage;
    let mut out = Vec::new();
    t.each_item(&mut |i| {
        out.push(format!(
            "{} {} {} {} {:?} {:?}",
            i.item_id(),
            i.account_id(),
            i.name(),
            i.class(),
            i.last_contact(),
            i.attr("os")
        ))
    });
    out
}

#[test]
fn a_periods_runs_read_in_one_pass_are_each_what_the_run_saw() {
    let mut s = Store::open_in_memory().unwrap();
    let days = [
        vec![
            item("a", "WS", "2026-10-01T08:00:00Z"),
            item("b", "WS", "2026-10-01T09:00:00.25Z"),
            item("c", "SRV", "2026-09-30T23:00:00Z"),
        ],
        vec![
            item("a", "WS", "2026-10-02T08:00:00Z"),
            item("b", "SRV", "2026-10-02T09:00:00Z"),
            item("d", "WS", "2026-10-02T10:00:00Z"),
        ],
        vec![
            item("a", "WS", "2026-10-03T08:00:00Z"),
            item("b", "SRV", "2026-10-03T09:00:00Z"),
            item("c", "SRV", "2026-09-30T23:00:00Z"),
        ],
    ];
    let runs: Vec<i64> = days.iter().map(|d| sync(&mut s, &snap(d))).collect();
    let spec = crate::engine::ItemSpec::full(Vec::new());
    let views = s.load_item_tables(&runs, &spec).unwrap();
    assert_eq!(views.len(), 3);
    for (run, view) in runs.iter().zip(&views) {
        let one = s.load_item_table(*run, &spec).unwrap();
        assert_eq!(seen(view), seen(&one), "run {run}");
        assert_eq!(view.len(), one.len());
        assert_eq!(view.accounts, one.accounts);
    }
    assert_eq!(
        seen(&views[1])[1],
        "b 1 pc-b SRV Some(2026-10-02T09:00:00Z) Some(\"Windows 11\")"
    );
    // Only the middle run: the versions of the others are not in its view.
    let middle = s.load_item_tables(&runs[1..2], &spec).unwrap();
    assert_eq!(seen(&middle[0]), seen(&views[1]));
    // A last-contact blob that does not fit its run (decoded apart from the versions) is an
    // error naming the run, never contacts shifted onto the wrong items.
    let mut short = super::super::pulse::PulseWriter::default();
    short.push(Some(true), Some("2026-10-02T08:00:00Z".parse().unwrap()));
    short.push(Some(true), None);
    let (n, data) = short.finish();
    s.conn_for_tests()
        .execute(
            "UPDATE item_pulse SET items = ?1, data = ?2 WHERE run_id = ?3",
            rusqlite::params![n as i64, data, runs[1]],
        )
        .unwrap();
    let err = format!("{:#}", s.load_item_tables(&runs, &spec).err().unwrap());
    assert!(
        err.contains(&format!("sync run {}", runs[1])) && err.contains("does not fit"),
        "{err}"
    );
}

/// Streams `v`'s items in pages of `page`, as a streamed sync does, and completes the run.
fn sync_streamed(s: &mut Store, v: &VendorSnapshot, page: usize) -> i64 {
    let r = s.begin_run("n", "ninjaone").unwrap();
    for p in v.items.chunks(page) {
        s.write_items(r, p).unwrap();
    }
    let rest = VendorSnapshot {
        items: Vec::new(),
        ..v.clone()
    };
    s.finish_run_ok_streamed(r, "n", &Snapshot::Vendor(rest), v.items.len())
        .unwrap();
    r
}

/// Every stored version and pulse, as text.
fn stored(s: &Store) -> Vec<String> {
    let mut out = Vec::new();
    for sql in [
        "SELECT 'current', id, valid_from, NULL, account_id, name, class, attrs, raw FROM item_current ORDER BY id",
        "SELECT 'past', id, valid_from, valid_to, account_id, name, class, attrs, raw FROM item_past ORDER BY id, valid_to",
        "SELECT 'pulse', run_id, items, hex(data), NULL, NULL, NULL, NULL, NULL FROM item_pulse ORDER BY run_id",
    ] {
        let conn = s.conn_for_tests();
        let mut stmt = conn.prepare(sql).unwrap();
        let rows = stmt
            .query_map([], |r| {
                let cells: Vec<String> = (0..9)
                    .map(|i| {
                        r.get::<_, rusqlite::types::Value>(i)
                            .map(|v| format!("{v:?}"))
                    })
                    .collect::<rusqlite::Result<_>>()?;
                Ok(cells.join(" "))
            })
            .unwrap();
        out.extend(rows.map(Result::unwrap));
    }
    out
}

/// Three days: b reclassified and c gone on day 2, d new; c back as it was on day 3; every
/// last contact moved each day. Items not in id order, as a vendor may send them.
fn three_days() -> [VendorSnapshot; 3] {
    [
        snap(&[
            item("c", "SRV", "2026-09-30T23:00:00Z"),
            item("a", "WS", "2026-10-01T08:00:00Z"),
            item("b", "WS", "2026-10-01T09:00:00.25Z"),
        ]),
        snap(&[
            item("d", "WS", "2026-10-02T10:00:00Z"),
            item("b", "SRV", "2026-10-02T09:00:00Z"),
            item("a", "WS", "2026-10-02T08:00:00Z"),
        ]),
        snap(&[
            item("b", "SRV", "2026-10-03T09:00:00Z"),
            item("a", "WS", "2026-10-03T08:00:00Z"),
            item("d", "WS", "2026-10-03T10:00:00Z"),
            item("c", "SRV", "2026-09-30T23:00:00Z"),
        ]),
    ]
}

#[test]
fn streamed_runs_store_exactly_the_versions_a_run_held_in_memory_stores() {
    let days = three_days();
    let mut held = Store::open_in_memory().unwrap();
    for d in &days {
        sync(&mut held, d);
    }
    for page in [1, 2, 5] {
        let mut streamed = Store::open_in_memory().unwrap();
        let runs: Vec<i64> = days
            .iter()
            .map(|d| sync_streamed(&mut streamed, d, page))
            .collect();
        assert_eq!(stored(&streamed), stored(&held), "pages of {page}");
        for (run, want) in runs.iter().zip(&days) {
            assert_eq!(
                streamed.load_vendor_snapshot(*run).unwrap(),
                without_raw(want.clone()),
                "run {run}, pages of {page}"
            );
        }
        assert_eq!(versions(&streamed), (4, 2, 0), "nothing left staged");
    }
}

#[test]
fn streamed_items_are_unseen_until_the_run_completes_and_vanish_when_it_fails() {
    let [day1, day2, _] = three_days();
    let mut s = Store::open_in_memory().unwrap();
    let r1 = sync(&mut s, &day1);
    let before = stored(&s);
    // d is new (written as its page arrives), b changed (staged until the run completes).
    let r = s.begin_run("n", "ninjaone").unwrap();
    s.write_items(r, &day2.items[..2]).unwrap();
    assert_eq!(versions(&s), (4, 0, 1));
    assert_eq!(
        s.load_vendor_snapshot(r1).unwrap(),
        without_raw(day1.clone()),
        "an earlier run reads as it was while another streams"
    );
    let err = format!("{:#}", s.load_vendor_snapshot(r).unwrap_err());
    assert!(err.contains("it is running"), "{err}");
    s.finish_run_failed(r, "boom").unwrap();
    assert_eq!(stored(&s), before);

    // Killed after a page: the next sync of the connection finds the run and drops its
    // versions.
    let killed = s.begin_run("n", "ninjaone").unwrap();
    s.write_items(killed, &day2.items[..1]).unwrap();
    s.streams.clear();
    let r2 = sync_streamed(&mut s, &day2, 2);
    assert_eq!(
        s.load_vendor_snapshot(r2).unwrap(),
        without_raw(day2.clone())
    );
    assert_eq!(
        s.load_vendor_snapshot(r1).unwrap(),
        without_raw(day1.clone())
    );
    // The vendor's records of the new and the changed item are kept with their versions.
    let raw: Vec<Option<String>> = ["d", "b"]
        .iter()
        .map(|id| {
            s.conn_for_tests()
                .query_row("SELECT raw FROM item_current WHERE id = ?1", [id], |r| {
                    r.get(0)
                })
                .unwrap()
        })
        .collect();
    assert_eq!(
        raw,
        vec![day2.items[0].raw.clone(), day2.items[1].raw.clone()]
    );

    // Versions left by a run marked failed without its cleanup (killed in between, an
    // edited database) are dropped when the next run completes, streamed or not.
    for streamed in [true, false] {
        let left = s.begin_run("n", "ninjaone").unwrap();
        s.write_items(left, &[item("zz", "WS", "2026-10-04T00:00:00Z")])
            .unwrap();
        s.streams.clear();
        s.conn_for_tests()
            .execute(
                "UPDATE sync_run SET status = 'failed' WHERE id = ?1",
                [left],
            )
            .unwrap();
        let next = if streamed {
            sync_streamed(&mut s, &day1, 2)
        } else {
            sync(&mut s, &day1)
        };
        assert_eq!(
            s.load_vendor_snapshot(next).unwrap(),
            without_raw(day1.clone()),
            "streamed: {streamed}"
        );
        let zz: i64 = s
            .conn_for_tests()
            .query_row(
                "SELECT count(*) FROM item_current WHERE id = 'zz'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(zz, 0, "streamed: {streamed}");
    }
}

#[test]
fn a_streamed_run_fails_when_another_completes_or_an_id_repeats_across_pages() {
    let [day1, day2, _] = three_days();
    let mut s = Store::open_in_memory().unwrap();
    sync(&mut s, &day1);
    let r = s.begin_run("n", "ninjaone").unwrap();
    s.write_items(r, &day2.items[..1]).unwrap();
    // As if the first process was taken for dead and a second one synced meanwhile.
    s.conn_for_tests()
        .execute("UPDATE sync_run SET status = 'failed' WHERE id = ?1", [r])
        .unwrap();
    let other = sync(&mut s, &day1);
    s.conn_for_tests()
        .execute("UPDATE sync_run SET status = 'running' WHERE id = ?1", [r])
        .unwrap();
    let err = format!("{:#}", s.write_items(r, &day2.items[1..]).unwrap_err());
    assert!(
        err.contains(&format!(
            "sync run {other} of `n` completed while run {r} was reading"
        )) && err.contains("run `reconcile sync n` again"),
        "{err}"
    );
    // The failed page ended the stream: the run cannot complete with part of its items.
    let rest = Snapshot::Vendor(snap(&[]));
    let err = format!(
        "{:#}",
        s.finish_run_ok_streamed(r, "n", &rest, 1).unwrap_err()
    );
    assert!(
        err.contains("storing its streamed records failed earlier"),
        "{err}"
    );
    s.finish_run_failed(r, "boom").unwrap();

    // A new item, and an item already current, each sent twice on different pages.
    for id in ["new", "a"] {
        let r = s.begin_run("n", "ninjaone").unwrap();
        s.write_items(r, &[item(id, "WS", "2026-10-05T00:00:00Z")])
            .unwrap();
        let err = format!(
            "{:#}",
            s.write_items(r, &[item(id, "SRV", "2026-10-05T00:00:00Z")])
                .unwrap_err()
        );
        assert!(
            err.contains(&format!("cannot store item {id} (is the id repeated?)")),
            "{err}"
        );
        s.finish_run_failed(r, "repeated").unwrap();
    }
    assert_eq!(
        s.load_vendor_snapshot(other).unwrap(),
        without_raw(day1.clone())
    );
}

#[test]
fn a_repeated_item_id_fails_the_run_and_a_field_shifted_between_columns_is_a_change() {
    let mut s = Store::open_in_memory().unwrap();
    let r = s.begin_run("n", "ninjaone").unwrap();
    let twice = snap(&[
        item("a", "WS", "2026-10-01T08:00:00Z"),
        item("a", "SRV", "2026-10-01T08:00:00Z"),
    ]);
    let err = format!(
        "{:#}",
        s.finish_run_ok(r, "n", &Snapshot::Vendor(twice))
            .unwrap_err()
    );
    assert!(
        err.contains("cannot store item a (is the id repeated?)"),
        "{err}"
    );
    assert_eq!(versions(&s), (0, 0, 0), "nothing of the run was kept");
    // The same text, split differently between name and class: a new version.
    let mut one = item("x", "WS", "2026-10-01T08:00:00Z");
    one.name = "ab".into();
    one.class = "c".into();
    let mut two = one.clone();
    two.name = "a".into();
    two.class = "bc".into();
    sync(&mut s, &snap(&[one]));
    let r2 = sync(&mut s, &snap(&[two]));
    assert_eq!(versions(&s), (1, 1, 0));
    assert_eq!(s.load_vendor_snapshot(r2).unwrap().items[0].class, "bc");
}

#[test]
fn a_run_older_than_a_completed_one_cannot_complete() {
    let mut s = Store::open_in_memory().unwrap();
    let old = s.begin_run("n", "ninjaone").unwrap();
    // As if the first process was taken for dead and a second one synced meanwhile.
    s.conn_for_tests()
        .execute("UPDATE sync_run SET status = 'failed' WHERE id = ?1", [old])
        .unwrap();
    sync(&mut s, &snap(&[item("a", "WS", "2026-10-01T08:00:00Z")]));
    s.conn_for_tests()
        .execute(
            "UPDATE sync_run SET status = 'running' WHERE id = ?1",
            [old],
        )
        .unwrap();
    let err = s
        .finish_run_ok(old, "n", &Snapshot::Vendor(snap(&[])))
        .unwrap_err()
        .to_string();
    assert!(err.contains("completed after it started"), "{err}");
    assert_eq!(versions(&s), (1, 0, 0));
}
