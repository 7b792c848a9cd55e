//! Mapping without guessing: `map products` lists what the PSA bills (identifier, name, price,
//! lines), `map` suggests products for services and says why accounts stay unmapped when
//! several PSAs bill the same clients (and `--psa` chooses), and a company that does not exist
//! is answered with the nearest names.

use std::collections::HashMap;

use reconcile::demo::apis::halopsa::{self as halo, DEMO_CLIENT_SECRET};
use reconcile::demo::kit;

use crate::flow::{connect_halopsa, connected_both, map_demo, serve};
use crate::harness::Env;
use crate::support::{csv_rows, running};

type Row = HashMap<String, String>;

#[test]
fn map_products_lists_identifiers_names_prices_and_use() {
    let served = serve();
    let s = &served.sandbox;
    let env = Env::new();
    connected_both(&env, s);
    env.run(&["sync"], "").expect(0);

    let rows: Vec<Row> = csv_rows(
        &env.run(&["map", "products", "--format", "csv"], "")
            .expect(0)
            .stdout(),
    );
    let ws = rows
        .iter()
        .find(|r| r["identifier"] == "NINJA-WS")
        .unwrap_or_else(|| panic!("{rows:?}"));
    assert_eq!(ws["psa_connection"], "cw");
    assert_eq!(ws["name"], "Managed Workstation (NinjaOne RMM)");
    assert_eq!(ws["catalog_price"], "45.00");
    assert_eq!(ws["status"], "active");
    assert_eq!(ws["mapped_services"], "");
    let (lines, companies): (usize, usize) = (
        ws["lines"].parse().unwrap(),
        ws["companies"].parse().unwrap(),
    );
    assert!(lines >= companies && companies > 10, "{ws:?}");
    // Most-used first.
    let counts: Vec<usize> = rows.iter().map(|r| r["lines"].parse().unwrap()).collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "{counts:?}");

    // --search narrows to identifiers or names with the text, any case.
    let found: Vec<Row> = csv_rows(
        &env.run(
            &[
                "map",
                "products",
                "--search",
                "WORKSTATION",
                "--format",
                "csv",
            ],
            "",
        )
        .expect(0)
        .stdout(),
    );
    assert!(!found.is_empty() && found.len() < rows.len());
    assert!(
        found
            .iter()
            .all(|r| r["name"].to_lowercase().contains("workstation")),
        "{found:?}"
    );

    // A mapping shows where it is used; the engine bills NINJA-WS to as many companies.
    map_demo(&env, s);
    let table = env
        .run(&["map", "products", "--search", "ninja-ws"], "")
        .expect(0)
        .stdout();
    assert!(
        table.contains("NINJA-WS") && table.contains("ninja/total-workstations"),
        "{table}"
    );
    let report: Vec<Row> = csv_rows(&env.run(&["report"], "").expect(0).stdout());
    let billed = report
        .iter()
        .filter(|r| {
            r["product"] == "NINJA-WS" && !r["billed_qty"].is_empty() && r["billed_qty"] != "0"
        })
        .count();
    assert_eq!(billed, companies, "companies billed NINJA-WS");
    env.run(&["map", "products", "--psa", "ninja"], "")
        .expect(2)
        .says(&["`ninja` is not a PSA connection"], &[]);
}

#[test]
fn map_suggests_products_for_unmapped_services() {
    let served = serve();
    let s = &served.sandbox;
    let env = Env::new();
    connected_both(&env, s);
    env.run(&["sync"], "").expect(0);
    let rows: Vec<Row> = csv_rows(&env.run(&["map", "--format", "csv"], "").expect(0).stdout());
    let suggestion = |key: &str| {
        rows.iter()
            .find(|r| r["kind"] == "service" && r["vendor_key"] == key)
            .map(|r| r["suggestions"].clone())
            .unwrap_or_else(|| panic!("no {key}: {rows:?}"))
    };
    for (service, product) in [
        ("total-workstations", "NINJA-WS"),
        ("total-servers", "NINJA-SRV"),
        ("total-network-devices", "NINJA-NET"),
        ("total-mobile-devices", "NINJA-MDM"),
    ] {
        let s = suggestion(service);
        assert!(s.starts_with(&format!("{product} ")), "{service}: {s}");
        assert!(s.contains("(cw, "), "{service}: {s}");
    }
}

#[test]
fn several_psas_say_why_accounts_stay_unmapped_and_psa_chooses() {
    let served = serve();
    let s = &served.sandbox;
    let h = running(kit::serve::<halo::Api>(s.sample.clone()));
    let env = Env::new();
    connected_both(&env, s);
    connect_halopsa(&env, h.server.url(), DEMO_CLIENT_SECRET, &[]).expect(0);
    env.run(&["sync"], "").expect(0);

    let first = env.run(&["map", "--format", "csv"], "").expect(0);
    let err = first.stderr();
    assert!(err.contains("mapped 0 account(s) automatically"), "{err}");
    let n: usize = err
        .split("warning: ")
        .nth(1)
        .and_then(|w| w.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{err}"));
    assert!(n >= 20, "{err}");
    assert!(
        err.contains(&format!(
            "{n} account(s) not mapped: each is named exactly as a company in every one of cw, halo, and only you know which PSA bills it. Choose the PSA with `reconcile map --psa <PSA>`"
        )),
        "{err}"
    );

    let second = env.run(&["map", "--psa", "halo"], "").expect(0);
    assert!(
        second.stderr().contains(&format!(
            "mapped {n} account(s) automatically (exact, unique name matches with `halo`'s companies)"
        )),
        "{}",
        second.stderr()
    );
    assert!(
        !second.stderr().contains("not mapped: each"),
        "{}",
        second.stderr()
    );
    let list: Vec<Row> = csv_rows(
        &env.run(&["map", "list", "--format", "csv"], "")
            .expect(0)
            .stdout(),
    );
    let to_halo = list
        .iter()
        .filter(|r| r["kind"] == "account" && r["psa_connection"] == "halo")
        .count();
    assert_eq!(to_halo, n);
    env.run(&["map", "--psa", "nope"], "")
        .expect(2)
        .says(&["nope"], &[]);
}

#[test]
fn mapping_to_a_company_that_does_not_exist_offers_the_nearest_names() {
    let served = serve();
    let s = &served.sandbox;
    let env = Env::new();
    connected_both(&env, s);
    env.run(&["sync"], "").expect(0);
    let fuzzy = &s.sample.planted.fuzzy_org;
    // A typo of the company's name: not mapped, and the right one is offered first.
    let typo: String = fuzzy.connectwise.replacen(' ', "  x", 1);
    let run = env
        .run(
            &["map", "account", "ninja", &fuzzy.ninjaone, "--to", &typo],
            "",
        )
        .expect(2);
    let err = run.stderr();
    assert!(
        err.contains(&format!(
            "`cw` has no company with id, identifier or name `{typo}`; nearest names: {} (id ",
            fuzzy.connectwise
        )),
        "{err}"
    );
    let list = env.run(&["map", "list", "--format", "csv"], "").expect(0);
    assert!(
        !list.stdout().contains(&fuzzy.ninjaone),
        "{}",
        list.stdout()
    );
}
