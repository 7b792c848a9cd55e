//! Every connector's response parsing, fed mutated and arbitrary JSON: a sync must end in `Ok`
//! or an `Err`, never a panic (and never hang). Each connector is built from a config snippet,
//! its API served by a mock that answers every path with its fixture, one response per case
//! mutated: a value swapped for another type, a key dropped, an element doubled, the text cut
//! short or replaced by noise. Deterministic: a fixed seed per connector and case.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "the fuzz run prints what it refused, for the record"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use reconcile::config::Config;
use reconcile::connectors::{self, SyncCx};
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::common::{fast_retry, fixture};

/// splitmix64: a tiny deterministic generator, so a failing case can be replayed by number.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// A value of another shape than JSON APIs usually send.
fn odd_value(rng: &mut Rng) -> Value {
    let deep = (0..200).fold(json!(1), |v, _| json!([v]));
    match rng.below(12) {
        0 => Value::Null,
        1 => json!(true),
        2 => json!(-1),
        3 => json!(1e308),
        4 => json!(-9_223_372_036_854_775_808i64),
        5 => json!(""),
        6 => json!("\u{1F600}\u{0000}\u{202E}"),
        7 => json!({}),
        8 => json!([]),
        9 => json!("x".repeat(100_000)),
        10 => deep,
        _ => json!("12.5"),
    }
}

/// Mutates one node of `v`, chosen by a random walk.
fn mutate(v: &mut Value, rng: &mut Rng) {
    let stop = rng.below(4) == 0;
    match v {
        Value::Object(map) if !map.is_empty() && !stop => {
            let keys: Vec<String> = map.keys().cloned().collect();
            let key = keys[rng.below(keys.len())].clone();
            match rng.below(5) {
                0 => {
                    map.remove(&key);
                }
                1 => {
                    map.insert(key, odd_value(rng));
                }
                _ => mutate(map.get_mut(&key).expect("a key of the map"), rng),
            }
        }
        Value::Array(items) if !items.is_empty() && !stop => match rng.below(5) {
            0 => {
                let i = rng.below(items.len());
                let copy = items[i].clone();
                items.push(copy);
            }
            1 => {
                let i = rng.below(items.len());
                items[i] = odd_value(rng);
            }
            _ => {
                let i = rng.below(items.len());
                mutate(&mut items[i], rng)
            }
        },
        other => *other = odd_value(rng),
    }
}

/// Serves `routes` (path prefix → fixture), the `target`-th response of the run mutated.
struct Fuzzed {
    routes: Vec<(&'static str, String)>,
    seen: AtomicUsize,
    target: usize,
    seed: u64,
}

impl Respond for Fuzzed {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let n = self.seen.fetch_add(1, Ordering::SeqCst);
        let path = req.url.path();
        let Some((_, body)) = self.routes.iter().find(|(p, _)| path.contains(p)) else {
            return ResponseTemplate::new(404).set_body_string("{}");
        };
        if n != self.target {
            return ResponseTemplate::new(200).set_body_raw(body.clone(), "application/json");
        }
        let mut rng = Rng(self.seed ^ n as u64);
        let text = match rng.below(10) {
            // Cut short anywhere (on a char boundary).
            0 => {
                let mut cut = rng.below(body.len());
                while !body.is_char_boundary(cut) {
                    cut -= 1;
                }
                body[..cut].to_string()
            }
            // Noise.
            1 => (0..rng.below(300))
                .map(|_| (rng.below(95) as u8 + 32) as char)
                .collect(),
            _ => match serde_json::from_str::<Value>(body) {
                Ok(mut v) => {
                    for _ in 0..1 + rng.below(3) {
                        mutate(&mut v, &mut rng);
                    }
                    v.to_string()
                }
                // An XML fixture (N-sight): a range of it removed or replaced by odd text.
                Err(_) => {
                    let mut text = body.clone();
                    for _ in 0..1 + rng.below(3) {
                        let mut a = rng.below(text.len());
                        while !text.is_char_boundary(a) {
                            a -= 1;
                        }
                        let mut b = (a + rng.below(40)).min(text.len());
                        while !text.is_char_boundary(b) {
                            b -= 1;
                        }
                        let odd = [
                            "",
                            "<x>",
                            "</items>",
                            "-1",
                            "&amp;",
                            "<![CDATA[",
                            "99999999999999999999",
                        ];
                        text.replace_range(a..b, odd[rng.below(odd.len())]);
                    }
                    text
                }
            },
        };
        ResponseTemplate::new(200).set_body_raw(text, "application/json")
    }
}

/// Runs `cases` syncs of the connector `config` describes (`{url}` is the mock), each with one
/// response mutated; fails on a panic or a sync that does not end.
async fn fuzz(name: &str, config: &str, routes: &[(&'static str, &str)], cases: usize) {
    let routes: Vec<(&'static str, String)> =
        routes.iter().map(|(p, f)| (*p, fixture(f))).collect();
    let mut outcomes = (0, 0);
    for case in 0..cases {
        let server = MockServer::start().await;
        let responder = Fuzzed {
            // Fixtures that link back to the server (Autotask's zone URL) name it `{{BASE}}`.
            routes: routes
                .iter()
                .map(|(p, body)| (*p, body.replace("{{BASE}}", &server.uri())))
                .collect(),
            seen: AtomicUsize::new(0),
            // Early responses matter most (tokens, lists); later ones too, sometimes.
            target: case % 7,
            seed: 0x00F0_22ED_0000_0000 ^ (case as u64) << 8 ^ name.len() as u64,
        };
        Mock::given(wiremock::matchers::any())
            .respond_with(responder)
            .mount(&server)
            .await;
        let text = config.replace("{url}", &server.uri());
        let config = Config::parse(&text).unwrap_or_else(|e| panic!("{name}: {e:#}"));
        let settings = config.connections[name].clone();
        let secret = |_: &str| -> anyhow::Result<SecretString> { Ok(SecretString::from("s")) };
        let connector = settings
            .connect(name, &secret, fast_retry(2))
            .unwrap_or_else(|e| panic!("{name}: {e:#}"));
        let connector: Arc<dyn connectors::Connector> = Arc::from(connector);
        let run = tokio::spawn(async move { connector.sync(&SyncCx::silent()).await });
        let result = tokio::time::timeout(Duration::from_secs(20), run)
            .await
            .unwrap_or_else(|_| panic!("{name} case {case}: the sync did not end"));
        match result {
            Err(e) if e.is_panic() => panic!("{name} case {case}: the sync panicked: {e}"),
            Err(e) => panic!("{name} case {case}: {e}"),
            Ok(Ok(_)) => outcomes.0 += 1,
            Ok(Err(e)) => {
                if std::env::var("FUZZ_SHOW").is_ok() {
                    eprintln!("{name} case {case}: {e}");
                }
                outcomes.1 += 1
            }
        }
    }
    eprintln!("{name}: {} ok, {} refused", outcomes.0, outcomes.1);
    // Both outcomes occur: the mutations reach the parsers, and some are harmless.
    assert!(
        outcomes.1 > 0,
        "{name}: no mutation was refused: {outcomes:?}"
    );
}

const CASES: usize = 200;

#[tokio::test]
async fn ninjaone_parsing_never_panics() {
    fuzz(
        "n",
        "[connections.n]\nkind = \"ninjaone\"\nurl = \"{url}\"\nclient_id = \"c\"\n",
        &[
            ("/ws/oauth/token", "ninjaone/token.json"),
            ("/v2/organizations", "ninjaone/organizations.json"),
            ("/v2/roles", "ninjaone/roles.json"),
            ("/v2/devices", "ninjaone/devices_page3.json"),
        ],
        CASES,
    )
    .await;
}

#[tokio::test]
async fn connectwise_parsing_never_panics() {
    fuzz(
        "cw",
        "[connections.cw]\nkind = \"connectwise\"\nsite = \"{url}\"\ncompany_id = \"acme\"\npublic_key = \"p\"\nclient_id = \"c\"\n",
        &[
            ("/login/companyinfo", "connectwise/companyinfo.json"),
            ("system/info", "connectwise/system_info.json"),
            ("companies/statuses", "connectwise/statuses.json"),
            ("company/companies", "connectwise/companies.json"),
            ("/additions", "connectwise/additions_500.json"),
            ("finance/agreements", "connectwise/agreements.json"),
            ("procurement/catalog", "connectwise/catalog.json"),
        ],
        CASES,
    )
    .await;
}

#[tokio::test]
async fn sentinelone_parsing_never_panics() {
    fuzz(
        "s1",
        "[connections.s1]\nkind = \"sentinelone\"\nurl = \"{url}\"\n",
        &[
            ("/web/api/v2.1/sites", "sentinelone/sites_page2.json"),
            ("/web/api/v2.1/agents", "sentinelone/agents_page3.json"),
        ],
        CASES,
    )
    .await;
}

#[tokio::test]
async fn m365_parsing_never_panics() {
    fuzz(
        "m",
        "[connections.m]\nkind = \"m365\"\npartner_tenant_id = \"p\"\nclient_id = \"c\"\ntoken_host = \"{url}\"\ngraph_host = \"{url}\"\n",
        &[
            ("/oauth2/v2.0/token", "m365/token.json"),
            (
                "/v1.0/tenantRelationships/delegatedAdminCustomers",
                "m365/gdap_customers_page2.json",
            ),
            ("/v1.0/subscribedSkus", "m365/skus_fabrikam.json"),
        ],
        CASES,
    )
    .await;
}

#[tokio::test]
async fn jumpcloud_parsing_never_panics() {
    fuzz(
        "jc",
        "[connections.jc]\nkind = \"jumpcloud\"\nprovider_id = \"p\"\nurl = \"{url}\"\n",
        &[
            ("/organizations", "jumpcloud/organizations.json"),
            ("/api/systemusers", "jumpcloud/users_acme.json"),
            ("/api/systems", "jumpcloud/systems_acme.json"),
        ],
        CASES,
    )
    .await;
}

#[tokio::test]
async fn sherweb_parsing_never_panics() {
    fuzz(
        "sw",
        "[connections.sw]\nkind = \"sherweb\"\nclient_id = \"c\"\napi_url = \"{url}/service-provider/v1\"\ntoken_url = \"{url}/auth/oidc/connect/token\"\n",
        &[
            ("/auth/oidc/connect/token", "sherweb/token.json"),
            ("/customers", "sherweb/customers.json"),
            ("/billing/subscriptions", "sherweb/subscriptions_acme.json"),
        ],
        CASES,
    )
    .await;
}

#[tokio::test]
async fn pax8_parsing_never_panics() {
    fuzz(
        "p8",
        "[connections.p8]\nkind = \"pax8\"\nclient_id = \"c\"\napi_url = \"{url}/v1\"\ntoken_url = \"{url}/v1/token\"\n",
        &[
            ("/v1/token", "pax8/token.json"),
            ("/v1/companies", "pax8/companies.json"),
            ("/v1/subscriptions", "pax8/subscriptions_page1.json"),
        ],
        CASES,
    )
    .await;
}

#[tokio::test]
async fn datto_backup_parsing_never_panics() {
    fuzz(
        "db",
        "[connections.db]\nkind = \"datto-backup\"\npublic_key = \"p\"\nurl = \"{url}\"\n",
        &[
            ("/v1/saas/domains", "datto_backup/domains.json"),
            ("/v1/saas/31001/seats", "datto_backup/seats_31001.json"),
            ("/v1/bcdr/device", "datto_backup/devices_page2.json"),
            (
                "/v1/bcdr/device/FFEEDDCCBBAA/asset/agent",
                "datto_backup/agents_FFEEDDCCBBAA.json",
            ),
        ],
        CASES,
    )
    .await;
}

#[tokio::test]
async fn acronis_parsing_never_panics() {
    fuzz(
        "acr",
        "[connections.acr]\nkind = \"acronis\"\nclient_id = \"8d1f7e2c-5a3b-4c6d-9e0f-1a2b3c4d5e6f\"\nurl = \"{url}\"\n",
        &[
            ("/api/2/idp/token", "acronis/token.json"),
            (
                "/api/2/clients/8d1f7e2c-5a3b-4c6d-9e0f-1a2b3c4d5e6f",
                "acronis/client.json",
            ),
            ("/api/2/tenants", "acronis/tenants_page2.json"),
            ("/api/2/tenants/usages", "acronis/usages.json"),
        ],
        CASES,
    )
    .await;
}

/// Every Cove call goes to one path, so the one answer served is the login's, mutated: the
/// visa chain, the partner id and the nested results must never panic.
#[tokio::test]
async fn cove_parsing_never_panics() {
    fuzz(
        "cv",
        "[connections.cv]\nkind = \"cove\"\npartner = \"p\"\nusername = \"u\"\nurl = \"{url}\"\n",
        &[("/jsonapi", "cove/login.json")],
        CASES,
    )
    .await;
}

#[tokio::test]
async fn keeper_parsing_never_panics() {
    fuzz(
        "k",
        "[connections.k]\nkind = \"keeper\"\nmode = \"service\"\nurl = \"{url}\"\n",
        &[("/api/v1/executecommand", "keeper/service-msp-info.json")],
        CASES,
    )
    .await;
}

#[tokio::test]
async fn autotask_parsing_never_panics() {
    fuzz(
        "at",
        "[connections.at]\nkind = \"autotask\"\nusername = \"u@x\"\nintegration_code = \"I\"\nzone_lookup_url = \"{url}/atservicesrest/\"\n",
        &[
            ("zoneInformation", "autotask/zone.json"),
            ("ThresholdInformation", "autotask/threshold.json"),
            ("Companies/entityInformation", "autotask/companies_fields.json"),
            ("Contracts/entityInformation", "autotask/contracts_fields.json"),
            ("Companies/query", "autotask/companies_page2.json"),
            ("Contracts/query", "autotask/contracts.json"),
            ("ContractServiceUnits/query", "autotask/contract_service_units.json"),
            ("ContractServices/query", "autotask/contract_services.json"),
            ("Services/query", "autotask/services.json"),
        ],
        CASES,
    )
    .await;
}

#[tokio::test]
async fn syncro_parsing_never_panics() {
    fuzz(
        "sy",
        "[connections.sy]\nkind = \"syncro\"\nurl = \"{url}/api/v1\"\n",
        &[
            ("/customers", "syncro/customers_p1.json"),
            ("/schedules/", "syncro/schedule_204.json"),
            ("/schedules", "syncro/schedules_p1.json"),
            ("/products", "syncro/products_p1.json"),
        ],
        CASES,
    )
    .await;
}

#[tokio::test]
async fn halopsa_parsing_never_panics() {
    fuzz(
        "halo",
        "[connections.halo]\nkind = \"halopsa\"\nurl = \"{url}\"\nclient_id = \"c\"\nauth_url = \"{url}/auth\"\n",
        &[
            ("/auth/token", "halopsa/token.json"),
            ("/api/ClientContract", "halopsa/contracts.json"),
            ("/api/Client", "halopsa/clients.json"),
            ("/api/RecurringInvoice/", "halopsa/recurring_invoice_310.json"),
            ("/api/RecurringInvoice", "halopsa/recurring_invoices.json"),
            ("/api/Item", "halopsa/items.json"),
        ],
        CASES,
    )
    .await;
}

#[tokio::test]
async fn datto_rmm_parsing_never_panics() {
    fuzz(
        "datto",
        "[connections.datto]\nkind = \"datto-rmm\"\nurl = \"{url}\"\n",
        &[
            ("/auth/oauth/token", "datto_rmm/token.json"),
            ("/api/v2/account/sites", "datto_rmm/sites_page2.json"),
            ("/api/v2/account/devices", "datto_rmm/devices_page3.json"),
            ("/api/v2/account", "datto_rmm/account.json"),
        ],
        CASES,
    )
    .await;
}

#[tokio::test]
async fn ncentral_parsing_never_panics() {
    fuzz(
        "nc",
        "[connections.nc]\nkind = \"ncentral\"\nurl = \"{url}\"\ndevice_filters = [\"Managed Servers\"]\n",
        &[
            ("/api/auth/authenticate", "ncentral/authenticate.json"),
            ("/api/server-info", "ncentral/server_info.json"),
            ("/api/customers", "ncentral/customers_page2.json"),
            ("/api/device-filters", "ncentral/device_filters.json"),
            ("/api/devices", "ncentral/devices_page3.json"),
        ],
        CASES,
    )
    .await;
}

#[tokio::test]
async fn gravityzone_parsing_never_panics() {
    fuzz(
        "gz",
        "[connections.gz]\nkind = \"gravityzone\"\nurl = \"{url}/api\"\n",
        &[
            ("/api/v1.0/jsonrpc/companies", "gravityzone/companies.json"),
            (
                "/api/v1.0/jsonrpc/network",
                "gravityzone/endpoints_beta.json",
            ),
            ("/api/v1.0/jsonrpc/licensing", "gravityzone/usage_acme.json"),
        ],
        CASES,
    )
    .await;
}

#[tokio::test]
async fn webroot_parsing_never_panics() {
    fuzz(
        "wr",
        "[connections.wr]\nkind = \"webroot\"\ngsm_key = \"SA11-GSM0\"\nclient_id = \"c\"\nusername = \"u@x.example\"\nurl = \"{url}\"\n",
        &[
            ("/auth/token", "webroot/token.json"),
            ("/endpoints", "webroot/endpoints_acme_page2.json"),
            ("/sites", "webroot/sites.json"),
        ],
        CASES,
    )
    .await;
}

#[tokio::test]
async fn nsight_parsing_never_panics() {
    fuzz(
        "ns",
        "[connections.ns]\nkind = \"nsight\"\nurl = \"{url}\"\n",
        &[("/api/", "nsight/list_clients.xml")],
        CASES,
    )
    .await;
}

#[tokio::test]
async fn kaseya_bms_parsing_never_panics() {
    fuzz(
        "bms",
        "[connections.bms]\nkind = \"kaseya-bms\"\nurl = \"{url}\"\nuser = \"u\"\ntenant = \"t\"\n",
        &[
            ("/v2/security/authenticate", "kaseya_bms/authenticate.json"),
            ("/v2/crm/accounts/summary", "kaseya_bms/accounts_p1.json"),
            (
                "/v2/admin/finance/services/search",
                "kaseya_bms/services_p1.json",
            ),
            (
                "/v2/finance/contracts/summary",
                "kaseya_bms/contracts_p1.json",
            ),
            (
                "/v2/finance/invoices/summary",
                "kaseya_bms/invoices_p1.json",
            ),
            (
                "/v2/finance/invoices/details",
                "kaseya_bms/invoice_lines_p1.json",
            ),
        ],
        CASES,
    )
    .await;
}

#[tokio::test]
async fn accelo_parsing_never_panics() {
    fuzz(
        "acc",
        "[connections.acc]\nkind = \"accelo\"\nurl = \"{url}\"\nclient_id = \"c\"\n",
        &[
            ("/oauth2/v0/token", "accelo/token.json"),
            ("/periods", "accelo/periods_501.json"),
            ("/api/v0/companies", "accelo/companies_p2.json"),
            ("/api/v0/contracts", "accelo/contracts.json"),
            ("/object_budgets/materials", "accelo/materials.json"),
            ("/object_budgets/templates", "accelo/templates.json"),
        ],
        CASES,
    )
    .await;
}

#[tokio::test]
async fn tigerpaw_parsing_never_panics() {
    fuzz(
        "tp",
        "[connections.tp]\nkind = \"tigerpaw\"\nurl = \"{url}\"\n",
        &[
            ("/api/accounts/search", "tigerpaw/accounts_p2.json"),
            ("/api/agreements/account/", "tigerpaw/agreements_1001.json"),
            ("/additionalcharges", "tigerpaw/charges_501.json"),
        ],
        CASES,
    )
    .await;
}
