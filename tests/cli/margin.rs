//! Cost and margin as a billing manager sees them: a vendor export with a unit cost column and
//! a PSA export with the recorded cost, read into revenue, cost and margin per line, a
//! `cost_mismatch`, a `low_margin` note, `explain`'s arithmetic, `[cost]` filling the gap, and
//! `report --by service`.

use reconcile::engine::FindingKind;

use crate::support::{Finding, csv_pair_env, csv_rows, dec, finding, report};

const USAGE: &str = "Customer,Plan,Seats,Unit Cost\n\
Acme,BK,10,4.00\n\
Beta,BK,5,4.00\n\
Gamma,BK,3,\n";

const BILLING: &str = "Customer,Product,Qty,Price,Cost\n\
Acme,BK-PSA,10,6.00,4.00\n\
Beta,BK-PSA,5,3.00,3.00\n\
Gamma,BK-PSA,3,6.00,4.00\n";

fn mismatch<'a>(rows: &'a [Finding], company: &str) -> Option<&'a Finding> {
    rows.iter()
        .find(|r| r.kind == FindingKind::CostMismatch && r.company == company)
}

#[test]
fn each_line_says_what_it_earns_and_where_the_psa_records_the_wrong_cost() {
    let env = csv_pair_env(USAGE, BILLING);
    let (rows, text) = report(&env, &[]);

    let acme = finding(&rows, "Acme", "BK-PSA", &text);
    assert_eq!(acme.kind, FindingKind::Match);
    assert_eq!(
        (
            acme.revenue_monthly.as_str(),
            acme.cost_monthly.as_str(),
            acme.margin_monthly.as_str(),
            acme.vendor_unit_cost.as_str(),
            acme.low_margin.as_str()
        ),
        ("60.00", "40.00", "20.00", "4.00", "false"),
        "{text}"
    );
    assert_eq!(acme.cost_source, "vendor (usage/bk)");
    assert!(mismatch(&rows, "Acme").is_none(), "{text}");

    // Beta is billed below cost, and the PSA records 3.00 where the vendor charges 4.00.
    let beta = finding(&rows, "Beta", "BK-PSA", &text);
    assert_eq!(beta.low_margin, "true", "{beta:?}");
    assert_eq!(dec(&beta.margin_monthly), dec("-5"), "{beta:?}");
    assert!(
        beta.note
            .contains("low_margin: loses 5.00/month (-33.3 %): revenue 15.00, cost 20.00"),
        "{beta:?}"
    );
    let m = mismatch(&rows, "Beta").unwrap_or_else(|| panic!("no cost_mismatch:\n{text}"));
    assert_eq!(
        (dec(&m.psa_unit_cost), dec(&m.vendor_unit_cost)),
        (dec("3"), dec("4"))
    );
    assert!(m.monthly_impact.is_empty(), "{m:?}");
    assert!(
        m.note.contains("off by 1.00 × 5 = 5.00/month"),
        "{}",
        m.note
    );

    // Gamma's export row has no cost: its cost is unknown, never 0, and the note says what
    // to set.
    let gamma = finding(&rows, "Gamma", "BK-PSA", &text);
    assert!(gamma.cost_monthly.is_empty(), "{gamma:?}");
    assert!(gamma.margin_monthly.is_empty(), "{gamma:?}");
    assert!(
        gamma.note.contains(
            "cost unknown for 3 unit(s): the vendor reports none; set [cost.\"usage/bk\"] unit_cost"
        ),
        "{gamma:?}"
    );

    // --type picks the new type.
    let (only, text) = report(&env, &["--type", "cost_mismatch"]);
    assert_eq!(only.len(), 1, "{text}");

    // explain shows the arithmetic.
    let out = env
        .run(&["explain", "Beta", "BK-PSA"], "")
        .expect(0)
        .stdout();
    for want in [
        "Margin:",
        "revenue           max(5 - 0, 0) x 3.00 / 1 = 15.00 USD/month",
        "vendor unit cost  4.00 USD/month, from vendor (usage/bk)",
        "cost              5 x 4.00 = 20.00 USD/month",
        "margin            15.00 - 20.00 = -5.00 USD/month (-33.3 % of revenue): low_margin",
        "PSA unit cost     3.00 USD/month: cost_mismatch",
        "vendor unit cost 4.00/month",
    ] {
        assert!(out.contains(want), "{want}:\n{out}");
    }

    // A configured cost fills the gap, and says it came from the config.
    let mut config = std::fs::read_to_string(env.config_path()).unwrap();
    config.push_str("\n[cost.\"usage/bk\"]\nunit_cost = 4.50\n");
    std::fs::write(env.config_path(), config).unwrap();
    let (rows, text) = report(&env, &[]);
    let gamma = finding(&rows, "Gamma", "BK-PSA", &text);
    assert_eq!(gamma.cost_monthly, "13.50", "{gamma:?}");
    assert_eq!(gamma.cost_source, "config ([cost.\"usage/bk\"])");
    // The vendor's cost still wins where it reports one.
    assert_eq!(
        finding(&rows, "Acme", "BK-PSA", &text).cost_monthly,
        "40.00"
    );
}

#[test]
fn by_service_totals_each_product_and_names_who_it_loses_money_on() {
    let env = csv_pair_env(USAGE, BILLING);
    std::fs::write(
        env.config_path(),
        std::fs::read_to_string(env.config_path()).unwrap()
            + "\n[cost.\"usage/bk\"]\nunit_cost = 4.50\n",
    )
    .unwrap();
    let out = env
        .run(&["report", "--by", "service", "--format", "csv"], "")
        .expect(0)
        .stdout();
    let mut lines = out.lines();
    assert_eq!(
        lines.next().unwrap(),
        "psa_connection,product,clients,billed_qty,actual_qty,revenue_monthly,cost_monthly,margin_monthly,margin_pct,currency,clients_losing_money,losses,clients_without_cost"
    );
    #[derive(serde::Deserialize, Debug)]
    struct Row {
        product: String,
        clients: usize,
        billed_qty: String,
        revenue_monthly: String,
        cost_monthly: String,
        margin_monthly: String,
        clients_losing_money: usize,
        losses: String,
    }
    let rows: Vec<Row> = csv_rows(&out);
    let bk = rows.iter().find(|r| r.product == "BK-PSA").expect("BK-PSA");
    // Acme 60 − 40, Beta 15 − 20, Gamma 18 − 13.50.
    assert_eq!(bk.clients, 3, "{bk:?}");
    assert_eq!(bk.billed_qty, "18");
    assert_eq!(
        (
            bk.revenue_monthly.as_str(),
            bk.cost_monthly.as_str(),
            bk.margin_monthly.as_str()
        ),
        ("93.00", "73.50", "19.50")
    );
    assert_eq!(
        (bk.clients_losing_money, bk.losses.as_str()),
        (1, "Beta: -5.00")
    );

    // The table report ends with the same view.
    let table = env
        .run(&["report", "--format", "table"], "")
        .expect(0)
        .stdout();
    assert!(
        table.contains("Per service offering, worst margin first"),
        "{table}"
    );
    assert!(table.contains("Beta: -5.00"), "{table}");
}

#[test]
fn push_cost_writes_the_vendors_unit_cost_onto_a_line_that_records_another() {
    let env = csv_pair_env(USAGE, BILLING);
    env.run(
        &[
            "map",
            "service",
            "usage",
            "bk",
            "--to",
            "BK-PSA",
            "--push",
            "--push-cost",
        ],
        "",
    )
    .expect(0);
    #[derive(serde::Deserialize, Debug)]
    struct Row {
        company: String,
        before_qty: String,
        after_qty: String,
        before_cost: String,
        after_cost: String,
    }
    let out = env
        .run(&["push", "plan", "--format", "csv"], "")
        .expect(0)
        .stdout();
    let rows: Vec<Row> = csv_rows(&out);
    // Beta bills what it uses but records 3.00 where the vendor charges 4.00: a cost-only
    // change, at the vendor's cost. Acme's line is right on both counts: nothing to write.
    let beta = rows
        .iter()
        .find(|r| r.company == "Beta")
        .unwrap_or_else(|| panic!("Beta not planned:\n{out}"));
    assert_eq!(
        (beta.before_qty.as_str(), beta.after_qty.as_str()),
        ("5", "5")
    );
    assert_eq!(dec(&beta.before_cost), dec("3"), "{beta:?}");
    assert_eq!(dec(&beta.after_cost), dec("4"), "{beta:?}");
    assert!(!rows.iter().any(|r| r.company == "Acme"), "{out}");
}
