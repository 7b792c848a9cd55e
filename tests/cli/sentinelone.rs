//! SentinelOne end to end: `connect sentinelone` against a wiremock console serving the
//! fixtures, ConnectWise from the demo sandbox, then sync, map, reconcile and a CSV report whose
//! workstation count is the fixture's.

use wiremock::matchers::{header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::flow::{connect_connectwise, serve};
use crate::harness::Env;
use crate::support::{Running, billed_for, fixture, reconciled, running};

const TOKEN: &str = "s1-cli-api-token-do-not-print";

fn json(rel: &str) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_raw(fixture(&format!("sentinelone/{rel}")), "application/json")
}

/// A SentinelOne console on loopback serving the fixtures.
fn console() -> Running<MockServer> {
    running(async {
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
        Ok(server)
    })
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
        let v: serde_json::Value =
            serde_json::from_str(&fixture(&format!("sentinelone/{rel}"))).unwrap();
        v["data"].as_array().unwrap().clone()
    })
    .filter(|a| {
        a["siteId"] == site_id
            && a["isDecommissioned"] == false
            && matches!(a["machineType"].as_str(), Some("desktop" | "laptop"))
    })
    .count()
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
    connect.says(&["verified SentinelOne", "3 sites are readable"], &[TOKEN]);
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
    let company = billed_for(&s.sample, "NINJA-WS");
    env.run(&["map", "account", "s1", "Acme Corp", "--to", &company], "")
        .expect(0);
    env.run(
        &["map", "service", "s1", "workstations", "--to", "NINJA-WS"],
        "",
    )
    .expect(0);
    let want = fixture_workstations("1392053568582758390");
    assert_eq!(want, 3, "the fixtures changed");
    reconciled(&env, &company, "NINJA-WS", "s1", &want.to_string());
}
