//! The config file's parsing, validation and editing.

use std::fs;

use rust_decimal::Decimal;

use super::*;
use crate::connectors::{ConnectionSettings, ConnectorKind, connectwise, ninjaone};
use crate::engine::{Bases, Basis, Rounding, Rules, Tolerance};

const TWO: &str = r#"
[connections.ninja]
kind = "ninjaone"
region = "eu"
client_id = "abc"
concurrency = 16

[connections.cw]
kind = "connectwise"
site = "na.myconnectwise.net"
company_id = "acme"
public_key = "pub"
client_id = "cid"
"#;

#[test]
fn concurrency_is_read_per_connection_with_kind_defaults() {
    let c = Config::parse(TWO).unwrap();
    assert_eq!(c.concurrency_of("ninja"), Some(16));
    assert_eq!(
        c.concurrency_of("cw"),
        Some(ConnectorKind::ConnectWise.default_concurrency())
    );
    assert_eq!(c.concurrency_of("nope"), None);
    assert_eq!(ConnectorKind::Autotask.default_concurrency(), 3);
}

#[test]
fn bad_concurrency_values_are_refused_by_key() {
    for bad in ["0", "65", "\"8\"", "2.5", "-1"] {
        let text = TWO.replace("concurrency = 16", &format!("concurrency = {bad}"));
        let err = format!("{:#}", Config::parse(&text).unwrap_err());
        assert!(
            err.contains("[connections.ninja] concurrency must be a whole number from 1 to 64"),
            "{bad}: {err}"
        );
    }
    // The shared keys are read from the parsed table, so an inline table may set them too.
    let inline = "[connections]\nninja = { kind = \"ninjaone\", region = \"eu\", client_id = \"a\", concurrency = 4 }\n";
    assert_eq!(
        Config::parse(inline).unwrap().concurrency_of("ninja"),
        Some(4)
    );
    let csv = "[connections.b]\nkind = \"csv\"\nconcurrency = 2\n";
    let err = format!("{:#}", Config::parse(csv).unwrap_err());
    assert!(err.contains("reads a file, not an API"), "{err}");
}

#[test]
fn errors_after_a_concurrency_key_keep_their_line_numbers() {
    // A wrong value in `[connections.cw]` (line 8 of TWO) is reported at line 8, with the
    // `concurrency` line of the connection above it read apart from the kind's settings.
    let text = TWO.replace("company_id = \"acme\"", "company_id = 5");
    let err = format!("{:#}", Config::parse(&text).unwrap_err());
    assert!(err.contains("line 8, column 1"), "{err}");
    assert!(err.contains("[connections.cw]"), "{err}");
}

#[test]
fn the_example_config_parses_and_names_both_kinds() {
    let c = Config::parse(include_str!("../../config.example.toml")).unwrap();
    assert_eq!(c.currency, "USD");
    assert_eq!(
        c.connection("ninjaone").unwrap().kind(),
        ConnectorKind::NinjaOne
    );
    assert_eq!(
        c.connection("connectwise").unwrap().kind(),
        ConnectorKind::ConnectWise
    );
}

#[test]
fn the_example_config_sets_tolerances_and_health() {
    let c = Config::parse(include_str!("../../config.example.toml")).unwrap();
    let t = c.tolerance.resolve();
    assert_eq!(t.default, Tolerance::default());
    let ws = &t.services["ninjaone/total-workstations"];
    assert_eq!(ws.increase_abs, Decimal::from(2));
    assert_eq!(ws.decrease_pct, Decimal::ZERO);
    assert_eq!(c.health, HealthConfig::default());
    assert_eq!(c.period.anchor_day, 1);
    assert_eq!(c.bases().default, Basis::Latest);
    assert_eq!(
        c.bases().for_service("ninjaone/total-workstations"),
        Basis::Peak
    );
}

#[test]
fn tolerances_parse_inherit_and_are_checked() {
    let c = Config::parse(
        "[tolerance]\nincrease_abs = 1\ndecrease_pct = 2.5\n[tolerance.services.\"n/ws\"]\nincrease_abs = 3\n",
    )
    .unwrap();
    let t = c.tolerance.resolve();
    assert_eq!(t.default.increase_abs, Decimal::ONE);
    assert_eq!(t.default.decrease_pct, Decimal::new(25, 1));
    assert_eq!(t.services["n/ws"].increase_abs, Decimal::from(3));
    assert_eq!(t.services["n/ws"].decrease_pct, Decimal::new(25, 1));
    let err = Config::parse("[tolerance]\ndecrease_abs = -1\n").unwrap_err();
    assert!(format!("{err:#}").contains("decrease_abs must not be negative"));
    let err = Config::parse("[tolerance.services.\"n/ws\"]\nincrease_pct = -1\n").unwrap_err();
    assert!(format!("{err:#}").contains("increase_pct must not be negative"));
    let err = Config::parse("[tolerance.services.ws]\nincrease_pct = 1\n").unwrap_err();
    assert!(format!("{err:#}").contains("<vendor connection>/<service key>"));
    let err = Config::parse("[tolerance]\nincrese_abs = 1\n").unwrap_err();
    assert!(format!("{err:#}").contains("increse_abs"));
}

#[test]
fn the_example_config_sets_rules_exclusions_custom_services_and_contracts() {
    let c = Config::parse(include_str!("../../config.example.toml")).unwrap();
    let r = c.engine_rules();
    assert_eq!(r.inactive_after_days, Some(30));
    assert_eq!(r.inactive_after("ninjaone/total-mobile-devices"), Some(60));
    assert!(!r.count_pending);
    assert_eq!(r.exclusions.len(), 2);
    assert_eq!(r.exclusions[1].device_name.as_deref(), Some("LAB-*"));
    let c_ws = &r.contracts["connectwise/NINJA-WS"];
    assert_eq!(c_ws.included, Decimal::from(5));
    let cost = &r.costs["ninjaone/total-workstations"];
    assert_eq!(
        (cost.unit_cost, cost.currency.as_str()),
        (Decimal::new(350, 2), "USD")
    );
    assert!(r.margin.check_psa_cost);
    assert_eq!(r.margin.low_margin_pct, None);
    assert_eq!(c_ws.rounding, Rounding::Ceil);
    let defs = c.services_for("ninjaone", ConnectorKind::NinjaOne);
    assert_eq!(defs.len(), 10);
    let bundle = defs
        .iter()
        .find(|d| d.key == "servers-and-workstations")
        .unwrap();
    assert_eq!(bundle.sum_of.len(), 2);
    let win = defs.iter().find(|d| d.key == "managed-windows").unwrap();
    assert_eq!(win.filters.os.as_deref(), Some("windows"));
    assert!(
        c.services_for("connectwise", ConnectorKind::ConnectWise)
            .is_empty()
    );
}

#[test]
fn rules_default_and_errors_name_the_key() {
    let c = Config::parse("").unwrap();
    assert_eq!(c.engine_rules(), Rules::default());
    // A cost with no currency is in the report's.
    let c = Config::parse("currency = \"EUR\"\n[cost.\"n/ws\"]\nunit_cost = 2.5\n").unwrap();
    assert_eq!(c.engine_rules().costs["n/ws"].currency, "EUR");
    assert_eq!(c.engine_rules().margin.currency, "EUR");
    let c = Config::parse("[rules]\ninactive_after_days = 0\n").unwrap();
    assert_eq!(c.engine_rules().inactive_after_days, None);
    let n = "[connections.n]\nkind = \"ninjaone\"\nurl = \"http://x\"\nclient_id = \"c\"\n";
    for (text, wants) in [
        ("[rules]\ninactive_days = 3\n", "inactive_days"),
        (
            "[rules.services.ws]\ninactive_after_days = 3\n",
            "<connection>/<key>",
        ),
        ("[[exclude]]\naccount = \"x\"\n", "`reason` is required"),
        ("[[exclude]]\nreason = \"x\"\n", "at least one of"),
        ("[[exclude]]\nreason = \"x\"\ndevice = \"y\"\n", "device"),
        (
            "[contract.\"cw/WS\"]\nincluded = -1\n",
            "included must not be negative",
        ),
        ("[contract.\"cw/WS\"]\nrounding = \"floor\"\n", "floor"),
        ("[contract.WS]\nminimum = 1\n", "<connection>/<key>"),
        (
            "[[custom_service]]\nconnection = \"nope\"\nkey = \"k\"\n",
            "connection `nope` is not configured",
        ),
        (
            "[cost.ws]\nunit_cost = 1\n",
            "[cost.\"ws\"] must name a service",
        ),
        (
            "[cost.\"n/ws\"]\nunit_cost = -1\n",
            "unit_cost must not be negative",
        ),
        ("[cost.\"n/ws\"]\ncurrency = \"USD\"\n", "unit_cost"),
        (
            "[cost.\"n/ws\"]\nunit_cost = 1\ncurrency = \"euro\"\n",
            "not an ISO 4217 code",
        ),
        ("[margin]\nlow_margin_pct = 150\n", "from 0 to 100"),
        ("[margin]\nlow_margin = 10\n", "low_margin"),
    ] {
        let err = format!("{:#}", Config::parse(text).unwrap_err());
        assert!(err.contains(wants), "{text}: {err}");
    }
    for (extra, wants) in [
        ("key = \"total-devices\"\n", "already a service"),
        ("key = \"b\"\nsum_of = [\"nope\"]\n", "sum_of names `nope`"),
        (
            "key = \"b\"\nsum_of = [\"total-devices\"]\nos = \"windows\"\n",
            "takes no filters",
        ),
        ("key = \"a b\"\n", "key must be"),
        ("key = \"k\"\ntag = [\"x\"]\n", "tag"),
    ] {
        let text = format!("{n}[[custom_service]]\nconnection = \"n\"\n{extra}");
        let err = format!("{:#}", Config::parse(&text).unwrap_err());
        assert!(err.contains(wants), "{text}: {err}");
    }
}

#[test]
fn period_and_basis_parse_and_errors_name_the_key() {
    let c = Config::parse("").unwrap();
    assert_eq!(c.period.anchor_day, 1);
    assert_eq!(c.bases(), Bases::default());
    let c = Config::parse(
        "[period]\nanchor_day = 15\n[basis]\ndefault = \"end-of-period\"\n[basis.services]\n\"n/ws\" = \"peak\"\n\"n/srv\" = \"average\"\n",
    )
    .unwrap();
    assert_eq!(c.period.anchor_day, 15);
    let b = c.bases();
    assert_eq!(b.default, Basis::EndOfPeriod);
    assert_eq!(b.for_service("n/ws"), Basis::Peak);
    assert_eq!(b.for_service("n/srv"), Basis::Average);
    assert_eq!(b.for_service("n/other"), Basis::EndOfPeriod);
    for (text, wants) in [
        (
            "[period]\nanchor_day = 29\n",
            "anchor_day must be between 1 and 28",
        ),
        (
            "[period]\nanchor_day = 0\n",
            "anchor_day must be between 1 and 28",
        ),
        ("[period]\nanchor = 2\n", "anchor"),
        ("[basis]\ndefault = \"max\"\n", "max"),
        ("[basis]\ndefualt = \"peak\"\n", "defualt"),
        ("[basis.services]\nws = \"peak\"\n", "<connection>/<key>"),
        ("[basis.services]\n\"n/ws\" = \"highest\"\n", "highest"),
    ] {
        let err = format!("{:#}", Config::parse(text).unwrap_err());
        assert!(err.contains(wants), "{text}: {err}");
    }
}

#[test]
fn health_defaults_and_checks() {
    let c = Config::parse("").unwrap();
    assert_eq!(c.health.max_age_hours, 36.0);
    assert_eq!(c.health.max_count_drop, 0.5);
    let c = Config::parse("[health]\nmax_age_hours = 12\nmax_count_drop = 0.25\n").unwrap();
    assert_eq!(c.health.max_age_hours, 12.0);
    assert!(Config::parse("[health]\nmax_count_drop = 1.5\n").is_err());
    assert!(Config::parse("[health]\nmax_age_hours = 0\n").is_err());
    assert!(Config::parse("[health]\nmax_age = 1\n").is_err());
}

#[test]
fn unknown_key_is_an_error_naming_the_key() {
    let err = Config::parse(
        "[connections.ninjaone]\nkind = \"ninjaone\"\nregoin = \"eu\"\nclient_id = \"x\"\n",
    )
    .unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains("regoin"), "{msg}");
}

#[test]
fn unknown_top_level_key_is_an_error() {
    let err = Config::parse("curency = \"EUR\"\n").unwrap_err();
    assert!(format!("{err:#}").contains("curency"));
}

#[test]
fn unknown_kind_is_an_error() {
    let err = Config::parse("[connections.x]\nkind = \"tigerpaw-classic\"\n").unwrap_err();
    assert!(format!("{err:#}").contains("tigerpaw-classic"));
}

#[test]
fn region_and_url_are_exclusive() {
    let err = Config::parse(
        "[connections.n]\nkind = \"ninjaone\"\nregion = \"eu\"\nurl = \"https://x\"\nclient_id = \"x\"\n",
    )
    .unwrap_err();
    assert!(format!("{err:#}").contains("both `region` and `url`"));
}

#[test]
fn secret_command_keys_are_checked() {
    let err = Config::parse(
        "[connections.n]\nkind = \"ninjaone\"\nregion = \"eu\"\nclient_id = \"x\"\n[connections.n.secret_command]\nprivate_key = \"pass show x\"\n",
    )
    .unwrap_err();
    assert!(format!("{err:#}").contains("client_secret"));
}

#[test]
fn edits_keep_comments_and_other_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    fs::write(
        &path,
        "# my notes\ncurrency = \"EUR\" # euro\n\n[connections.cw]\nkind = \"connectwise\"\n# the site\nsite = \"na.myconnectwise.net\"\ncompany_id = \"a\"\npublic_key = \"p\"\nclient_id = \"c\"\nbillable_company_types = [\"Client\"]\n",
    )
    .unwrap();
    let mut doc = ConfigDocument::open(&path).unwrap();
    let cw = connectwise::Settings {
        site: "eu.myconnectwise.net".into(),
        company_id: "a".into(),
        public_key: "p".into(),
        client_id: "c".into(),
        codebase: None,
        billable_company_types: vec!["Client".into()],
        page_size: None,
        allow_write: false,
        write_public_key: None,
    };
    doc.set_connection("cw", &cw.into()).unwrap();
    let ninja = ninjaone::Settings {
        region: Some(ninjaone::Region::Eu),
        url: None,
        client_id: "id".into(),
        page_size: None,
        device_listing: Default::default(),
    };
    doc.set_connection("ninjaone", &ninja.into()).unwrap();
    doc.save().unwrap();
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.contains("# my notes"));
    assert!(text.contains("# euro"));
    assert!(text.contains("# the site"));
    assert!(text.contains("site = \"eu.myconnectwise.net\""));
    assert!(text.contains("billable_company_types = [\"Client\"]"));
    let config = Config::parse(&text).unwrap();
    assert_eq!(config.connections.len(), 2);
    assert_eq!(config.currency, "EUR");

    let mut doc = ConfigDocument::open(&path).unwrap();
    assert!(doc.remove_connection("cw"));
    doc.save().unwrap();
    let config = Config::load(&path).unwrap();
    assert_eq!(
        config.connections.keys().collect::<Vec<_>>(),
        vec!["ninjaone"]
    );
    assert!(fs::read_to_string(&path).unwrap().contains("# my notes"));
}

#[cfg(unix)]
#[test]
fn a_config_written_by_connect_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reconcile").join("config.toml");
    let mut doc = ConfigDocument::open(&path).unwrap();
    let s1 = crate::connectors::sentinelone::Settings {
        url: "https://x.sentinelone.net".into(),
        page_size: None,
    };
    doc.set_connection("s1", &s1.into()).unwrap();
    doc.save().unwrap();
    let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn the_example_config_has_a_connection_of_every_kind() {
    let c = Config::parse(include_str!("../../config.example.toml")).unwrap();
    for kind in ConnectorKind::ALL {
        assert!(
            c.connections.values().any(|s| s.kind() == *kind),
            "config.example.toml has no `{kind}` connection"
        );
    }
}

#[test]
fn custom_services_filter_on_attributes_and_count_a_quantity() {
    let c = Config::parse(
        r#"
[connections.s1]
kind = "sentinelone"
url = "https://x.sentinelone.net"

[[custom_service]]
connection = "s1"
key = "installed"
attrs = { uninstalled = "false", sku = "Comp*" }

[[custom_service]]
connection = "s1"
key = "seats"
quantity = "seats"
"#,
    )
    .unwrap();
    let defs = c.services_for("s1", ConnectorKind::SentinelOne);
    let installed = defs.iter().find(|d| d.key == "installed").unwrap();
    let seats = defs.iter().find(|d| d.key == "seats").unwrap();
    let item = |attrs: &[(&str, &str)]| crate::model::UsageItem {
        id: "1".into(),
        account_id: "a".into(),
        name: "PC".into(),
        class: "DESKTOP".into(),
        raw_class: "desktop".into(),
        online: None,
        last_contact: None,
        pending_approval: false,
        attrs: attrs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        raw: None,
    };
    let one = Decimal::ONE;
    assert_eq!(
        installed.weight(&item(&[("uninstalled", "false"), ("sku", "Complete")])),
        one
    );
    assert!(!installed.counts(&item(&[("uninstalled", "true"), ("sku", "Complete")])));
    assert!(!installed.counts(&item(&[("sku", "Complete")])));
    assert_eq!(
        seats.weight(&item(&[("seats", "12.5")])),
        Decimal::new(125, 1)
    );
    assert!(!seats.counts(&item(&[("seats", "lots")])));
    assert!(!seats.counts(&item(&[])));
}

#[test]
fn sentinelone_connections_parse_and_are_checked() {
    let c = Config::parse(include_str!("../../config.example.toml")).unwrap();
    let s1 = c.connection("sentinelone").unwrap();
    assert_eq!(s1.kind(), ConnectorKind::SentinelOne);
    let ConnectionSettings::SentinelOne(s) = &s1.settings else {
        panic!("{s1:?}")
    };
    assert_eq!(s.url, "https://usea1-yourtenant.sentinelone.net");
    let base = "[connections.s1]\nkind = \"sentinelone\"\n";
    assert!(Config::parse(&format!("{base}url = \"https://x.sentinelone.net\"\n")).is_ok());
    let err = Config::parse(&format!("{base}url = \"http://x.sentinelone.net\"\n")).unwrap_err();
    assert!(format!("{err:#}").contains("only https"), "{err:#}");
    let err = Config::parse(&format!(
        "{base}url = \"https://x.sentinelone.net\"\npage_size = 5000\n"
    ))
    .unwrap_err();
    assert!(format!("{err:#}").contains("1000"), "{err:#}");
    let err = Config::parse(&format!(
        "{base}url = \"https://x\"\n[connections.s1.secret_command]\nclient_secret = \"x\"\n"
    ))
    .unwrap_err();
    assert!(format!("{err:#}").contains("api_token"), "{err:#}");
}

#[test]
fn connection_names_are_checked() {
    assert!(validate_connection_name("ninjaone").is_ok());
    assert!(validate_connection_name("cw-eu_2").is_ok());
    assert!(validate_connection_name("Ninja").is_err());
    assert!(validate_connection_name("a b").is_err());
    assert!(validate_connection_name("").is_err());
    assert!(validate_connection_name("-x").is_err());
}

#[test]
fn connect_writes_the_settings_and_drops_only_the_keys_they_no_longer_have() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    fs::write(
        &path,
        "[connections.sw]\nkind = \"sherweb\"\nclient_id = \"old\"\n# the gateway\napi_url = \"https://api.example.com/v1\"\ntoken_url = \"https://t.example.com\"\nconcurrency = 3\n\n[connections.sw.secret_command]\nclient_secret = \"pass show sw\"\n",
    )
    .unwrap();
    let mut doc = ConfigDocument::open(&path).unwrap();
    let sw = crate::connectors::sherweb::Settings {
        client_id: "new".into(),
        api_url: None,
        token_url: Some("https://t2.example.com".into()),
    };
    doc.set_connection("sw", &sw.clone().into()).unwrap();
    doc.save().unwrap();
    let text = fs::read_to_string(&path).unwrap();
    // A default left out is removed; the keys every kind shares stay as the user wrote them.
    assert!(!text.contains("api_url"), "{text}");
    assert!(
        text.contains("token_url = \"https://t2.example.com\""),
        "{text}"
    );
    assert!(text.contains("concurrency = 3"), "{text}");
    assert!(text.contains("client_secret = \"pass show sw\""), "{text}");
    let c = Config::parse(&text).unwrap();
    let conn = &c.connections["sw"];
    assert_eq!(conn.settings, sw.into());
    assert_eq!(conn.concurrency(), Some(3));
    assert_eq!(conn.secret_commands()["client_secret"], "pass show sw");

    // A new connection is written as its own table, `kind` first, defaults left out.
    let mut doc = ConfigDocument::open(&path).unwrap();
    let at = crate::connectors::autotask::Settings {
        username: "api@example.com".into(),
        integration_code: "CODE".into(),
        zone_lookup_url: None,
        billable_company_types: vec!["Customer".into()],
        product_field: None,
        max_threshold_percent: None,
        history_days: None,
        allow_write: false,
        write_username: None,
    };
    doc.set_connection("at", &at.into()).unwrap();
    doc.save().unwrap();
    let text = fs::read_to_string(&path).unwrap();
    let table = &text[text.find("[connections.at]").unwrap()..];
    assert!(
        table.starts_with(
            "[connections.at]\nkind = \"autotask\"\nusername = \"api@example.com\"\nintegration_code = \"CODE\"\nbillable_company_types = [\"Customer\"]\n"
        ),
        "{table}"
    );
}
