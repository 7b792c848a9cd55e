//! Records that never sink a sync (issue 12): NinjaOne and HaloPSA consoles on loopback answer
//! with what their specifications allow (a `lastContact` before 1970, null names, a recurring
//! invoice template without a client, a line whose quantity is null, records without an id).
//! `connect` verifies, `sync` stores both snapshots and warns of what it set aside and which
//! company's billing it could not read, `status` shows both, `--quiet` keeps stderr empty, and
//! the report makes the unreadable company's finding `stale_source` with the reason instead of
//! an over-billing that is not there.

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::harness::Env;
use crate::health::rows;
use crate::support::{Running, fixture, running};

fn json(rel: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(fixture(rel), "application/json")
}

/// One console serving both APIs (their paths do not overlap): every list is one short page.
fn consoles() -> Running<MockServer> {
    running(async {
        let server = MockServer::start().await;
        let get = |p: &str| Mock::given(method("GET")).and(path(p.to_string()));
        Mock::given(method("POST"))
            .and(path("/ws/oauth/token"))
            .respond_with(json("ninjaone/token.json"))
            .mount(&server)
            .await;
        for (p, rel) in [
            ("/v2/organizations", "ninjaone/organizations.json"),
            ("/v2/roles", "ninjaone/roles.json"),
            ("/v2/devices", "ninjaone/devices_odd.json"),
            ("/api/Client", "halopsa/odd_clients.json"),
            ("/api/RecurringInvoice", "halopsa/odd_invoices.json"),
            ("/api/ClientContract", "halopsa/odd_contracts.json"),
            ("/api/Item", "halopsa/odd_items.json"),
        ] {
            get(p).respond_with(json(rel)).mount(&server).await;
        }
        get("/api/authinfo")
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "auth_url": format!("{}/auth", server.uri()),
            })))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/auth/token"))
            .respond_with(json("halopsa/token.json"))
            .mount(&server)
            .await;
        Ok(server)
    })
}

#[test]
fn spec_valid_odd_records_sync_warn_and_make_only_their_company_stale() {
    let console = consoles();
    let url = console.server.uri();
    let env = Env::new();
    env.cleanup.borrow_mut().push("ninja".to_string());
    env.cleanup.borrow_mut().push("halo".to_string());
    env.run(
        &[
            "connect",
            "ninjaone",
            "--name",
            "ninja",
            "--url",
            &url,
            "--client-id",
            "ninja-id",
        ],
        "ninja-secret\n",
    )
    .expect(0);
    // The first recurring invoice is a template without a client: `connect` still verifies.
    env.run(
        &[
            "connect",
            "halopsa",
            "--name",
            "halo",
            "--url",
            &url,
            "--client-id",
            "halo-id",
            "--tenant",
            "bluewave",
            "--client-secret-stdin",
        ],
        "halo-secret\n",
    )
    .expect(0)
    .says(&["recurring invoices are readable"], &[]);

    let sync = env.run(&["sync"], "").expect(0);
    sync.says(
        &[
            "2 records set aside, not attributable to an account: GET /v2/devices [3]",
            "what client 500 is billed was not read in full: line 7004 of recurring invoice 601 has no readable quantity (`qty_order`)",
            "4 records set aside, not attributable to an account: GET /api/Client clients[2]",
        ],
        &["cannot read", "error"],
    );
    // The cron line: the same facts are in `status`, never on a quiet stderr.
    let quiet = env.run(&["sync", "--quiet"], "").expect(0);
    assert_eq!(
        quiet.stderr(),
        "",
        "a sync that set records aside, under --quiet"
    );
    let status = env
        .run(&["status", "--format", "csv"], "")
        .expect(0)
        .stdout();
    assert!(
        status.contains("ok (partial: 1 account not read, 4 records set aside)"),
        "{status}"
    );
    assert!(
        status.contains("ok (partial: 2 records set aside)"),
        "{status}"
    );
    assert!(
        status.contains("set aside: 2 records set aside")
            && status.contains("set aside: 4 records set aside"),
        "{status}"
    );

    // Acme Dental's devices count against what client 500 is billed, which is unknown.
    env.run(
        &[
            "map",
            "account",
            "ninja",
            "Acme Dental",
            "--to",
            "client 500",
        ],
        "",
    )
    .expect(0);
    env.run(
        &["map", "service", "ninja", "total-devices", "--to", "MU-001"],
        "",
    )
    .expect(0);
    let csv = env
        .run(&["report", "--format", "csv"], "")
        .expect(0)
        .stdout();
    let found = rows(&csv);
    let row = found
        .iter()
        .find(|r| r["company"] == "client 500" && r["product"] == "MU-001")
        .unwrap_or_else(|| panic!("{csv}"));
    assert_eq!(row["type"], "stale_source", "{row:?}");
    // 201 (a `lastContact` before 1970: unknown, so not inactive) counts; 203 (epoch 0) and
    // 206 are inactive.
    assert_eq!(row["actual_qty"], "1", "{row:?}");
    assert_eq!(row["inactive_qty"], "2", "{row:?}");
    assert_eq!(row["monthly_impact"], "", "{row:?}");
    assert!(
        row["note"].contains("line 7004 of recurring invoice 601 has no readable quantity"),
        "{row:?}"
    );
}
