//! CSV import end to end: `connect csv` with a column profile, ConnectWise from the demo
//! sandbox, `sync NAME --file PATH`, map, reconcile and a CSV report whose actual quantity is
//! the file's sum; a bad file fails whole and leaves the previous snapshot current.

use std::path::PathBuf;

use crate::flow::{connect_connectwise, serve};
use crate::harness::Env;
use crate::support::{billed_for, reconciled};

/// A backup vendor's export: a BOM, `;` as delimiter, a blank line, rows to sum.
fn export(env: &Env, file: &str, account: &str, seats: [&str; 2]) -> PathBuf {
    let text = format!(
        "\u{feff}Client Name;Plan;Plan Description;Protected Seats\n\
         {account};BK-WS;Workstation Backup;{}\n\
         \n\
         {account};bk-ws;;{}\n\
         {account};BK-SRV;Server Backup;2\n\
         Zephyr Labs;BK-WS;Workstation Backup;5\n",
        seats[0], seats[1]
    );
    let path = env.dir.path().join(file);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn connect_sync_map_report_with_a_csv_import() {
    let served = serve();
    let s = &served.sandbox;
    let env = Env::new();
    let company = billed_for(&s.sample, "NINJA-WS");
    // Not the PSA's exact name, so `map account` is what links them.
    let account = format!("{} (backup)", company.to_uppercase());
    let first = export(&env, "june.csv", &account, ["3", "4.5"]);

    let connect = env
        .run(
            &[
                "connect",
                "csv",
                "--name",
                "backup",
                "--path",
                first.to_str().unwrap(),
                "--account-column",
                "client name",
                "--sku-column",
                "Plan",
                "--sku-name-column",
                "Plan Description",
                "--quantity-column",
                "Protected Seats",
            ],
            "",
        )
        .expect(0);
    assert!(
        connect.stderr().contains("verified CSV import: read ")
            && connect.stderr().contains("4 rows for 2 accounts"),
        "{}",
        connect.stderr()
    );
    connect_connectwise(&env, s).expect(0);
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(config.contains("[connections.backup]"), "{config}");
    assert!(config.contains("kind = \"csv\""), "{config}");
    assert!(
        config.contains(r#"quantity = ["Protected Seats"]"#),
        "{config}"
    );

    // `sync` with no names reads the configured path.
    let sync = env.run(&["sync"], "").expect(0);
    assert!(
        sync.stderr().contains("backup: synced") && sync.stderr().contains("2 accounts, 3 items"),
        "{}",
        sync.stderr()
    );
    let unmapped = env.run(&["map"], "").expect(0);
    assert!(
        unmapped.stdout().contains(&account) || unmapped.stderr().contains(&account),
        "{}{}",
        unmapped.stdout(),
        unmapped.stderr()
    );
    env.run(
        &["map", "account", "backup", &account, "--to", &company],
        "",
    )
    .expect(0);
    env.run(
        &["map", "service", "backup", "bk-ws", "--to", "NINJA-WS"],
        "",
    )
    .expect(0);
    reconciled(&env, &company, "NINJA-WS", "backup", "7.5");

    // A bad row anywhere: the sync fails naming file, line, column and header, and the
    // previous snapshot stays current.
    let bad = export(&env, "bad.csv", &account, ["3", "lots"]);
    let failed = env
        .run(&["sync", "backup", "--file", bad.to_str().unwrap()], "")
        .expect(2);
    assert!(
        failed
            .stderr()
            .contains("bad.csv:4:4: column `Protected Seats`: `lots` is not a number"),
        "{}",
        failed.stderr()
    );
    reconciled(&env, &company, "NINJA-WS", "backup", "7.5");

    // `--file` wins over the configured path.
    let july = export(&env, "july.csv", &account, ["6", "4"]);
    env.run(&["sync", "backup", "--file", july.to_str().unwrap()], "")
        .expect(0);
    reconciled(&env, &company, "NINJA-WS", "backup", "10");
    let config_after = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(
        config_after.contains(first.to_str().unwrap()),
        "--file must not change the config"
    );

    // Connecting again without flags keeps the saved path and profile, and checks with them.
    let again = env
        .run(&["connect", "csv", "--name", "backup"], "")
        .expect(0);
    assert!(
        again.stderr().contains("june.csv: 4 rows for 2 accounts")
            && again.stderr().contains("quantity = `Protected Seats`"),
        "{}",
        again.stderr()
    );

    // `--file` is for import connections only.
    let wrong = env.run(&["sync", "cw", "--file", july.to_str().unwrap()], "");
    assert_ne!(wrong.code(), 0);
    assert!(
        wrong.stderr().contains("--file is for import connections"),
        "{}",
        wrong.stderr()
    );
}

#[test]
fn connect_csv_checks_the_header_and_works_without_a_path() {
    let env = Env::new();
    let path = env.dir.path().join("devices.csv");
    std::fs::write(&path, "Name,Qty\nAcme,1\n").unwrap();
    let refused = env.run(
        &[
            "connect",
            "csv",
            "--name",
            "dev",
            "--path",
            path.to_str().unwrap(),
        ],
        "",
    );
    assert_ne!(refused.code(), 0);
    assert!(
        refused.stderr().contains("no column for account")
            && refused.stderr().contains("the header has `Name`, `Qty`"),
        "{}",
        refused.stderr()
    );
    assert!(
        !env.config_path().exists(),
        "a refused connect wrote the config"
    );

    // Without --path nothing can be checked; sync then needs --file.
    env.run(
        &[
            "connect",
            "csv",
            "--name",
            "dev",
            "--account-column",
            "Name",
        ],
        "",
    )
    .expect(0);
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(!config.contains("path ="), "{config}");
    let sync = env.run(&["sync", "dev"], "").expect(2);
    assert!(
        sync.stderr().contains("no file to import")
            && sync.stderr().contains("reconcile sync dev --file PATH"),
        "{}",
        sync.stderr()
    );
    let sync = env
        .run(&["sync", "dev", "--file", path.to_str().unwrap()], "")
        .expect(0);
    assert!(
        sync.stderr().contains("dev: synced") && sync.stderr().contains("1 items"),
        "{}",
        sync.stderr()
    );
}

/// A vendor export and a billing export from a spreadsheet that writes `1,5` for one and a
/// half, both `;`-delimited: `connect` refuses a comma in a number (file, line and column, and
/// which setting says what it is), and reads the files right once told `--decimal-separator ,`.
#[test]
fn european_numbers_are_refused_until_the_separator_is_said_then_read_right() {
    let env = Env::new();
    let usage = env.dir.path().join("nutzung.csv");
    std::fs::write(&usage, "Customer;Plan;Seats\nAcme;BK;1,500\nAcme;BK;2\n").unwrap();
    let billing = env.dir.path().join("abrechnung.csv");
    std::fs::write(
        &billing,
        "Customer;Product;Qty;Price\nAcme;BK-PSA;3;1.012,50\n",
    )
    .unwrap();
    let usage_connect = |extra: &[&str]| {
        let mut args = vec![
            "connect",
            "csv",
            "--name",
            "eu",
            "--path",
            usage.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        env.run(&args, "")
    };
    usage_connect(&[]).expect(2).says(
        &[
            "nutzung.csv:2:3: column `Seats`: `1,500` is ambiguous: in a file delimited by `;` a comma may separate decimals (1,5 = 1.5) or thousands (1,500 = 1500)",
            "decimal_separator = \",\" or thousands_separator = \",\"",
            "--decimal-separator / --thousands-separator",
        ],
        &[],
    );
    assert!(
        !env.config_path().exists(),
        "a refused connect wrote the config"
    );
    usage_connect(&["--decimal-separator", ";"]).expect(2).says(
        &["--decimal-separator: `;` is not a decimal separator"],
        &[],
    );

    usage_connect(&["--decimal-separator", ","])
        .expect(0)
        .says(&["2 rows for 1 account"], &[]);
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(config.contains("decimal_separator = \",\""), "{config}");

    // The billing file groups thousands with a point: that alone is not a number with a
    // decimal comma, and is read once the thousands separator is said too.
    let billing_connect = |extra: &[&str]| {
        let mut args = vec![
            "connect",
            "csv-billing",
            "--name",
            "psa",
            "--path",
            billing.to_str().unwrap(),
            "--decimal-separator",
            ",",
        ];
        args.extend_from_slice(extra);
        env.run(&args, "")
    };
    billing_connect(&[]).expect(2).says(
        &["abrechnung.csv:2:4: column `Price`: `1.012,50` is not an amount (this connection reads numbers with decimal_separator = \",\")"],
        &[],
    );
    billing_connect(&["--thousands-separator", "."]).expect(0);

    env.run(&["sync"], "").expect(0);
    env.run(&["map", "account", "eu", "Acme", "--to", "Acme"], "")
        .expect(0);
    env.run(&["map", "service", "eu", "bk", "--to", "BK-PSA"], "")
        .expect(0);
    let row = reconciled(&env, "Acme", "BK-PSA", "eu", "3.5");
    assert_eq!(row.unit_price, "1012.50", "{row:?}");
    assert_eq!(row.billed_qty, "3", "{row:?}");
}

/// A header-only export is refused by `connect` and `sync` (exit 2, the previous snapshot stays
/// current), saying how to accept it; `sync --allow-empty` takes it once as 0 items, and
/// `connect --allow-empty` saves `allow_empty = true` for every sync after.
#[test]
fn an_empty_export_is_refused_unless_allowed() {
    let env = Env::new();
    let empty = env.dir.path().join("empty.csv");
    std::fs::write(&empty, "Customer,Plan,Seats\n").unwrap();
    let full = env.dir.path().join("full.csv");
    std::fs::write(&full, "Customer,Plan,Seats\nAcme,BK,3\nBeta,BK,2\n").unwrap();
    let connect = |path: &std::path::Path, extra: &[&str]| {
        let mut args = vec![
            "connect",
            "csv",
            "--name",
            "bk",
            "--path",
            path.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        env.run(&args, "")
    };
    connect(&empty, &[]).expect(2).says(
        &[
            "`bk` was not saved: its file did not import cleanly",
            "empty.csv: the file has a header but no rows, so nothing was imported",
            "add --allow-empty to save the connection with empty files accepted",
        ],
        &["credentials"],
    );
    assert!(
        !env.config_path().exists(),
        "a refused connect wrote the config"
    );

    connect(&full, &[]).expect(0);
    env.run(&["sync", "bk"], "")
        .expect(0)
        .says(&["bk: synced", "2 accounts, 2 items"], &[]);
    env.run(&["sync", "bk", "--file", empty.to_str().unwrap()], "")
        .expect(2)
        .says(
            &[
                "empty.csv: the file has a header but no rows",
                "sync again with --allow-empty (`reconcile sync bk --allow-empty`)",
                "`reconcile connect csv --name bk --allow-empty`",
                "`bk` keeps its previous snapshot",
            ],
            &[],
        );
    let status = env.run(&["status"], "").expect(0).stdout();
    assert!(status.contains("2 accounts, 2 items"), "{status}");

    env.run(
        &[
            "sync",
            "bk",
            "--file",
            empty.to_str().unwrap(),
            "--allow-empty",
        ],
        "",
    )
    .expect(0)
    .says(&["bk: synced", "0 accounts, 0 items"], &[]);
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(
        !config.contains("allow_empty"),
        "--allow-empty on sync is once: {config}"
    );

    connect(&empty, &["--allow-empty"])
        .expect(0)
        .says(&["0 rows for 0 accounts"], &[]);
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(config.contains("allow_empty = true"), "{config}");
    env.run(&["sync", "bk"], "")
        .expect(0)
        .says(&["0 accounts, 0 items"], &[]);
    // Connecting again without the flag keeps it; `--allow-empty=false` drops it.
    connect(&full, &[]).expect(0);
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(config.contains("allow_empty = true"), "{config}");
    connect(&full, &["--allow-empty=false"]).expect(0);
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(!config.contains("allow_empty"), "{config}");
}
