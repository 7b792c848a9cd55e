//! The conventions people expect of a command-line tool: `--version` that says what the build
//! reads and writes, shell completions that complete from the user's own data, a man page,
//! `--color` / `NO_COLOR` / `CLICOLOR_FORCE`, and JSON with stable field names.

use reconcile::connectors::ConnectorKind;

use crate::harness::Env;
use crate::support::{csv_pair_env, csv_rows};

/// Two CSV connections (vendor `usage`, PSA `psa`), synced, mapped and reported.
fn small_env() -> Env {
    let env = csv_pair_env(
        "Customer,Plan,Seats\nAcme Dental,BK,5\nBeta Labs,BK,2\n",
        "Customer,Product,Qty,Price\nAcme Dental,BK-PSA,4,7.5\nBeta Labs,BK-PSA,2,7.5\nGamma Unmapped,OTHER,1,3\n",
    );
    env.run(&["report"], "").expect(0);
    env
}

/// What the shell gets back for `reconcile <words>` with the cursor on the last word, flags
/// left out.
fn complete(env: &Env, words: &[&str]) -> Vec<String> {
    let mut args = vec!["--", "reconcile"];
    args.extend_from_slice(words);
    let index = words.len().to_string();
    env.run_env(
        &args,
        &[("COMPLETE", "bash"), ("_CLAP_COMPLETE_INDEX", &index)],
    )
    .expect(0)
    .stdout()
    .lines()
    .filter(|c| !c.starts_with('-'))
    .map(str::to_string)
    .collect()
}

#[test]
fn version_says_the_schema_and_the_connectors() {
    let env = Env::new();
    let out = env.run(&["--version"], "").expect(0).stdout();
    assert!(
        out.starts_with(&format!("reconcile {}\n", env!("CARGO_PKG_VERSION"))),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "database schema: {}",
            reconcile::store::schema_version()
        )),
        "{out}"
    );
    for kind in ConnectorKind::ALL {
        assert!(
            out.contains(kind.as_str()),
            "{} missing:\n{out}",
            kind.as_str()
        );
    }
    // -V stays one line, for scripts that parse it.
    let short = env.run(&["-V"], "").expect(0).stdout();
    assert_eq!(short, format!("reconcile {}\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn completion_scripts_for_each_shell_and_values_from_the_database() {
    let env = small_env();
    let bash = env.run(&["completions", "bash"], "").expect(0).stdout();
    assert!(
        bash.contains("COMPLETE=\"bash\"")
            && bash.contains("-F _clap_complete_reconcile reconcile"),
        "{bash}"
    );
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        let script = env.run(&["completions", shell], "").expect(0).stdout();
        assert!(
            script.contains("COMPLETE") && script.contains("reconcile"),
            "{shell}: {script}"
        );
    }
    env.run(&["completions", "tcsh"], "").expect(2);

    // Subcommands, then values from the config and the database.
    assert!(complete(&env, &["rep"]).contains(&"report".to_string()));
    assert_eq!(complete(&env, &["sync", ""]), ["psa", "usage"]);
    assert_eq!(complete(&env, &["map", "--psa", ""]), ["psa"]);
    assert_eq!(complete(&env, &["map", "service", ""]), ["usage"]);
    let services = complete(&env, &["map", "service", "usage", ""]);
    assert!(services.contains(&"bk".to_string()), "{services:?}");
    assert_eq!(complete(&env, &["report", "--company", "B"]), ["Beta Labs"]);
    // A billable company of the PSA with no finding yet is offered to `map account --to`.
    assert_eq!(
        complete(&env, &["map", "account", "usage", "x", "--to", "G"]),
        ["Gamma Unmapped"]
    );
    // Finding ids: exactly the ones the report has.
    let report: Vec<std::collections::HashMap<String, String>> =
        csv_rows(&env.run(&["report"], "").expect(0).stdout());
    let mut ids: Vec<String> = report.iter().map(|r| r["finding_id"].clone()).collect();
    ids.sort();
    let mut completed = complete(&env, &["review", "approve", "F"]);
    completed.sort();
    assert_eq!(completed, ids);
    let explain = complete(&env, &["explain", ""]);
    assert!(
        explain.contains(&"Acme Dental".to_string()) && explain.contains(&ids[0]),
        "{explain:?}"
    );

    // No config, no database: no values, no error, nothing created.
    let empty = Env::new();
    assert!(complete(&empty, &["sync", ""]).is_empty());
    assert!(!empty.config_path().exists() && !empty.db_path().exists());
}

#[test]
fn a_man_page_for_the_tool_and_each_command() {
    let env = Env::new();
    let page = env.run(&["man"], "").expect(0).stdout();
    assert!(page.contains(".TH reconcile 1"), "{page}");
    assert!(
        page.contains("reconcile\\-report(1)") || page.contains("report"),
        "{page}"
    );
    let dir = env.dir.path().join("man1");
    env.run(&["man", "--dir", dir.to_str().unwrap()], "")
        .expect(0);
    for name in [
        "reconcile.1",
        "reconcile-report.1",
        "reconcile-map-products.1",
    ] {
        let text =
            std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(text.contains(".TH"), "{name}");
    }
}

#[test]
fn colour_follows_the_flag_then_no_color_then_clicolor_force() {
    let env = small_env();
    let table = |flags: &[&str], envs: &[(&str, &str)], no_color: bool| {
        let mut c = env.cmd();
        if !no_color {
            c.env_remove("NO_COLOR");
        }
        for (k, v) in envs {
            c.env(k, v);
        }
        let mut args = vec!["report", "--format", "table"];
        args.extend_from_slice(flags);
        let out = c.args(&args).output().unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    let esc = "\x1b[";
    // Not a terminal, NO_COLOR set (the harness): plain.
    assert!(!table(&[], &[], true).contains(esc));
    // Not a terminal: plain unless forced.
    assert!(!table(&[], &[], false).contains(esc));
    assert!(table(&[], &[("CLICOLOR_FORCE", "1")], false).contains(esc));
    // NO_COLOR wins over CLICOLOR_FORCE; --color always wins over both.
    assert!(!table(&[], &[("CLICOLOR_FORCE", "1")], true).contains(esc));
    assert!(table(&["--color", "always"], &[], true).contains(esc));
    assert!(!table(&["--color", "never"], &[("CLICOLOR_FORCE", "1")], false).contains(esc));
}

#[test]
fn json_on_every_listing_command_with_stable_field_names() {
    let env = small_env();
    env.run(
        &["review", "approve", &first_discrepancy(&env), "--by", "ann"],
        "",
    )
    .expect(0);
    let keys = |args: &[&str]| -> Vec<String> {
        let v: serde_json::Value =
            serde_json::from_str(&env.run(args, "").expect(0).stdout()).unwrap();
        let first = v.as_array().and_then(|a| a.first()).cloned().unwrap_or(v);
        first
            .as_object()
            .unwrap_or_else(|| panic!("{args:?}: {first}"))
            .keys()
            .cloned()
            .collect()
    };
    let mut status = keys(&["status", "--format", "json"]);
    status.sort();
    assert_eq!(
        status,
        [
            "api",
            "connection",
            "current_snapshot",
            "error",
            "kind",
            "last_sync",
            "records",
            "result",
            "secret"
        ]
    );
    let mut list = keys(&["map", "list", "--format", "json"]);
    list.sort();
    assert_eq!(
        list,
        [
            "kind",
            "psa_connection",
            "psa_key",
            "psa_name",
            "source",
            "vendor_connection",
            "vendor_key",
            "vendor_name"
        ]
    );
    let mut review = keys(&["review", "list", "--format", "json"]);
    review.sort();
    assert_eq!(
        review,
        [
            "actual_qty",
            "billed_qty",
            "company",
            "decided_at",
            "decided_by",
            "decision",
            "finding_id",
            "note",
            "period",
            "product",
            "status",
            "type"
        ]
    );
    let mut products = keys(&["map", "products", "--format", "json"]);
    products.sort();
    assert_eq!(
        products,
        [
            "catalog_price",
            "companies",
            "identifier",
            "line_price_max",
            "line_price_min",
            "lines",
            "mapped_services",
            "name",
            "psa_connection",
            "status"
        ]
    );
}

fn first_discrepancy(env: &Env) -> String {
    let rows: Vec<std::collections::HashMap<String, String>> =
        csv_rows(&env.run(&["report"], "").expect(0).stdout());
    rows.iter()
        .find(|r| r["type"] == "under_billed")
        .map(|r| r["finding_id"].clone())
        .unwrap_or_else(|| panic!("{rows:?}"))
}
