//! SentinelOne end to end: `connect sentinelone` against a wiremock console serving the
//! fixtures, ConnectWise from the demo sandbox, then sync, map, reconcile and a CSV report whose
//! workstation count is the fixture's.

use std::path::Path;

use wiremock::matchers::{header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::flow::{connect_connectwise, serve};
use crate::harness::Env;

const TOKEN: &str = "s1-cli-api-token-do-not-print";

fn fixture(rel: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/sentinelone")
        .join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn json(rel: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(fixture(rel), "application/json")
}

/// A SentinelOne console on loopback, served by the runtime's worker threads.
struct Console {
    server: MockServer,
    _rt: tokio::runtime::Runtime,
}

fn console() -> Console {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(async {
        let server = MockServer::start().await;
        let auth = || header("authorization", format!("ApiToken {TOKEN}").as_str());
        let sites = "/web/api/v2.1/sites";
        let agents = "/web/api/v2.1/agents";
        Mock::given(method("GET"))
            .and(path(sites))
            .and(auth())
            .and(query_param("limit", "1"))
            .respond_with(json("sites_one.json"))
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(sites))
            .and(auth())
            .and(query_param_is_missing("cursor"))
            .respond_with(json("sites_page1.json"))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(sites))
            .and(auth())
            .and(query_param("cursor", "c2l0ZXMtcGFnZS0y"))
            .respond_with(json("sites_page2.json"))
            .mount(&server)
            .await;
        for (cursor, rel) in [
            (None, "agents_page1.json"),
            (Some("YWdlbnRzLXBhZ2UtMg=="), "agents_page2.json"),
            (Some("YWdlbnRzLXBhZ2UtMw=="), "agents_page3.json"),
        ] {
            let m = Mock::given(method("GET")).and(path(agents)).and(auth());
            let m = match cursor {
                Some(c) => m.and(query_param("cursor", c)),
                None => m.and(query_param_is_missing("cursor")),
            };
            m.respond_with(json(rel)).mount(&server).await;
        }
        server
    });
    Console { server, _rt: rt }
}

/// Non-decommissioned desktops and laptops of a site in the agent fixtures.
fn fixture_workstations(site_id: &str) -> usize {
    [
        "agents_page1.json",
        "agents_page2.json",
        "agents_page3.json",
    ]
    .iter()
    .flat_map(|rel| {
        let v: serde_json::Value = serde_json::from_str(&fixture(rel)).unwrap();
        v["data"].as_array().unwrap().clone()
    })
    .filter(|a| {
        a["siteId"] == site_id
            && a["isDecommissioned"] == false
            && matches!(a["machineType"].as_str(), Some("desktop" | "laptop"))
    })
    .count()
}

#[derive(Debug, serde::Deserialize)]
struct Row {
    company: String,
    product: String,
    actual_qty: String,
    vendor_connection: String,
}

#[test]
fn connect_sync_map_report_with_sentinelone() {
    let console = console();
    let served = serve();
    let s = &served.sandbox;
    let env = Env::new();
    env.cleanup.borrow_mut().push("s1".to_string());

    let uri = console.server.uri();
    let connect = env
        .run(
            &[
                "connect",
                "sentinelone",
                "--name",
                "s1",
                "--url",
                &uri,
                "--api-token-stdin",
            ],
            &format!("{TOKEN}\n"),
        )
        .expect(0);
    assert!(
        connect.stderr().contains("verified SentinelOne"),
        "{}",
        connect.stderr()
    );
    assert!(
        connect.stderr().contains("3 sites are readable"),
        "{}",
        connect.stderr()
    );
    connect_connectwise(&env, s).expect(0);
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(config.contains("[connections.s1]"), "{config}");
    assert!(config.contains("kind = \"sentinelone\""), "{config}");
    assert!(!config.contains(TOKEN), "{config}");
    // The fixtures' agents last checked in on fixed dates; keep the stale-device rule from
    // reclassifying them as the calendar moves on.
    std::fs::write(
        env.config_path(),
        format!("{config}\n[rules]\ninactive_after_days = 0\n"),
    )
    .unwrap();

    let sync = env.run(&["sync"], "").expect(0);
    assert!(sync.stderr().contains("9 items"), "{}", sync.stderr());

    // A ConnectWise company billed for NINJA-WS.
    let company = s
        .sample
        .planted
        .expected
        .iter()
        .find(|e| e.product == "NINJA-WS")
        .map(|e| e.company.clone())
        .expect("the sample bills NINJA-WS somewhere");
    env.run(&["map", "account", "s1", "Acme Corp", "--to", &company], "")
        .expect(0);
    env.run(
        &["map", "service", "s1", "workstations", "--to", "NINJA-WS"],
        "",
    )
    .expect(0);
    env.run(&["reconcile"], "").expect(0);
    let csv_text = env
        .run(&["report", "--format", "csv"], "")
        .expect(0)
        .stdout();
    let rows: Vec<Row> = csv::Reader::from_reader(csv_text.as_bytes())
        .deserialize()
        .collect::<Result<_, _>>()
        .unwrap();
    let row = rows
        .iter()
        .find(|r| r.company == company && r.product == "NINJA-WS")
        .unwrap_or_else(|| panic!("no NINJA-WS finding for {company}:\n{csv_text}"));
    let want = fixture_workstations("1392053568582758390");
    assert_eq!(want, 3, "the fixtures changed");
    assert_eq!(row.actual_qty, want.to_string(), "{row:?}\n{csv_text}");
    assert_eq!(row.vendor_connection, "s1", "{row:?}");
}
