//! The Keeper sandbox for `reconcile demo`: a local server that answers like Keeper Commander's
//! Service Mode (`POST /api/v1/executecommand`, `api-key` header, the service's allowed-command
//! list, the `{"status","command","data"}` envelope) for `msp-info --format json [-v]`, over a
//! fixed sample of managed companies. Unlimited seats are held as Keeper holds them
//! (2147483647) and printed as `msp-info` prints them (-1).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::connectors::keeper::{Mode, Settings, billed_seats};
use crate::demo::kit::auth::header;
use crate::demo::kit::http::reply;
use crate::demo::kit::{AsVendor, Connection, Entry, Served, Surface, Vendor, VendorDemo};
use crate::model::slug;

pub const SANDBOX: &dyn Entry = &AsVendor(Api);

/// The Keeper Commander Service Mode sandbox.
pub struct Api;

impl crate::demo::kit::Api for Api {
    type Settings = Settings;
    type Sample = Sample;
    type Records = Sample;
    const CONNECTION: &'static str = "demo-keeper";
    const CONNECT_ORDER: u8 = 5;

    fn surface(sample: Arc<Sample>) -> Surface {
        let api = Router::new()
            .route("/api/v1/executecommand", post(execute))
            .fallback(|| async { error(StatusCode::NOT_FOUND, "Not Found") })
            .with_state(sample);
        Surface::router(api)
    }

    fn connection(served: &Served, _: &Sample) -> Connection<Settings> {
        let settings = Settings {
            mode: Mode::Service,
            url: Some(served.url().to_string()),
            executable: None,
            args: Vec::new(),
            timeout_secs: None,
        };
        Connection::new(settings, format!("--url {}", served.url()))
            .secret("api_key", DEMO_API_KEY)
            .note("Commander Service Mode")
    }
}

impl Vendor for Api {
    const DEMO: VendorDemo<Sample> = VendorDemo {
        // Password-manager seats per managed company, and the BreachWatch add-on.
        billed: &[
            (
                "seats",
                "KEEPER-SEAT",
                "Password Manager per seat (Keeper)",
                "4.50",
                "2.75",
            ),
            (
                "enterprise_breach_watch:addon",
                "KEEPER-BW",
                "BreachWatch add-on per seat (Keeper)",
                "1.50",
                "0.85",
            ),
        ],
        clients: 0..8,
        plant_order: 2,
        generate: sample,
        usage,
    };
}

/// The API key the sandbox accepts; nothing else does.
pub const DEMO_API_KEY: &str = "demo-keeper-service-key-4Rt8";
/// Commands the sandbox's service config allows (like `service-create -c "msp-info"`).
pub const DEMO_ALLOWED_COMMANDS: &[&str] = &["msp-info"];
/// How Keeper stores an unlimited seat count.
pub const UNLIMITED: i64 = 2_147_483_647;

/// One managed company, as Commander holds it (`params.enterprise['managed_companies']`).
#[derive(Debug, Clone, PartialEq)]
pub struct Company {
    pub id: i64,
    pub name: String,
    pub node: i64,
    /// `product_id`.
    pub plan: String,
    pub storage: Option<String>,
    /// (add-on name, its own seats when it has them).
    pub addons: Vec<(String, Option<i64>)>,
    /// `number_of_seats`; [`UNLIMITED`] for unlimited.
    pub seats: i64,
    /// `number_of_users`.
    pub users: i64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample {
    pub companies: Vec<Company>,
}

const PLANS: &[(&str, &str)] = &[
    ("business", "Business"),
    ("businessPlus", "Business Plus"),
    ("enterprise", "Enterprise"),
    ("enterprisePlus", "Enterprise Plus"),
];

/// One managed company per name, with plans, seats and add-ons derived from its position.
pub fn sample(companies: &[&str]) -> Sample {
    let companies = companies
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let plan = PLANS[i % PLANS.len()].0.to_string();
            let unlimited = i % 7 == 5;
            let allocated = 5 + ((i * 7) % 36) as i64;
            let users = if unlimited {
                20 + i as i64
            } else {
                allocated - (i % 4) as i64
            };
            let mut addons = Vec::new();
            if i % 3 == 0 {
                addons.push(("enterprise_breach_watch".to_string(), None));
            }
            if i % 4 == 1 {
                addons.push(("connection_manager".to_string(), Some(2 + (i % 3) as i64)));
            }
            if i % 5 == 2 {
                addons.push(("secrets_manager".to_string(), None));
            }
            if i % 6 == 4 {
                addons.push((
                    "privileged_access_manager".to_string(),
                    Some(1 + (i % 2) as i64),
                ));
            }
            Company {
                id: 3800 + (i as i64) * 13,
                name: name.to_string(),
                node: 5_497_558_138_882 + (i % 2) as i64,
                plan,
                storage: (i % 2 == 0).then(|| if i % 4 == 0 { "1TB" } else { "100GB" }.to_string()),
                addons,
                seats: if unlimited { UNLIMITED } else { allocated },
                users,
            }
        })
        .collect();
    Sample { companies }
}

/// Per (managed company name, service key) the quantity the connector counts: `seats`,
/// `active-users`, `managed-companies`, `<plan>:seats` and `<add-on>:addon`.
pub fn usage(sample: &Sample) -> Vec<(String, String, Decimal)> {
    let mut out = Vec::new();
    for c in &sample.companies {
        let shown = if c.seats > 2_000_000 { -1 } else { c.seats };
        let seats = Decimal::from(billed_seats(Some(shown), Some(c.users)).unwrap_or(0));
        let name = c.name.clone();
        out.push((name.clone(), "seats".to_string(), seats));
        out.push((
            name.clone(),
            "active-users".to_string(),
            Decimal::from(c.users),
        ));
        out.push((name.clone(), "managed-companies".to_string(), Decimal::ONE));
        out.push((name.clone(), format!("{}:seats", slug(&c.plan)), seats));
        for (addon, own) in &c.addons {
            let n = own.map(Decimal::from).unwrap_or(seats);
            out.push((name.clone(), format!("{}:addon", slug(addon)), n));
        }
    }
    out
}

fn error(status: StatusCode, message: &str) -> Response {
    reply(status, json!({"status": "error", "error": message}))
}

async fn execute(State(sample): State<Arc<Sample>>, headers: HeaderMap, body: Bytes) -> Response {
    // Service Mode checks the key first, then the command against the key's allowed list.
    if header(&headers, "api-key").map(str::trim) != Some(DEMO_API_KEY) {
        return error(StatusCode::UNAUTHORIZED, "Please provide a valid api key");
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "No JSON data provided");
    };
    let Some(command) = request.get("command").and_then(Value::as_str) else {
        return error(
            StatusCode::BAD_REQUEST,
            "Missing required field \"command\" or incorrect field name",
        );
    };
    let words: Vec<&str> = command.split_whitespace().collect();
    if !words
        .first()
        .is_some_and(|w| DEMO_ALLOWED_COMMANDS.contains(w))
    {
        return error(
            StatusCode::FORBIDDEN,
            "Not permitted to perform this function",
        );
    }
    let json_format = command.contains("--format json") || command.contains("--format=json");
    if !json_format {
        return error(
            StatusCode::BAD_REQUEST,
            "this sandbox only answers `msp-info --format json`",
        );
    }
    let verbose = words.iter().any(|w| *w == "-v" || *w == "--verbose");
    let mut rows: Vec<&Company> = sample.companies.iter().collect();
    rows.sort_by_key(|c| c.name.to_lowercase());
    let data: Vec<Value> = rows.into_iter().map(|c| row(c, verbose)).collect();
    reply(
        StatusCode::OK,
        json!({"status": "success", "command": "msp-info", "data": data}),
    )
}

/// One `msp-info` row: keys are the report's columns; empty values are left out.
fn row(c: &Company, verbose: bool) -> Value {
    let mut obj = serde_json::Map::new();
    obj.insert("company_id".into(), json!(c.id));
    obj.insert("company_name".into(), json!(c.name));
    if verbose {
        obj.insert("node".into(), json!(c.node.to_string()));
        obj.insert("node_name".into(), json!("Demo MSP\\Clients"));
        obj.insert("plan".into(), json!(c.plan));
    } else {
        obj.insert("node".into(), json!("Demo MSP\\Clients"));
        let name = PLANS
            .iter()
            .find(|(id, _)| *id == c.plan)
            .map(|(_, n)| *n)
            .unwrap_or(&c.plan);
        obj.insert("plan".into(), json!(name));
    }
    if let Some(s) = &c.storage {
        obj.insert("storage".into(), json!(s));
    }
    if verbose {
        let list: Vec<String> = c
            .addons
            .iter()
            .map(|(n, seats)| match seats {
                Some(s) if *s > 0 => {
                    format!("{n}:{}", if *s == UNLIMITED { -1 } else { *s })
                }
                _ => n.clone(),
            })
            .collect();
        obj.insert("addons".into(), json!(list));
    } else {
        obj.insert("addons".into(), json!(c.addons.len()));
    }
    obj.insert(
        "allocated".into(),
        json!(if c.seats > 2_147_483_646 { -1 } else { c.seats }),
    );
    obj.insert("active".into(), json!(c.users));
    Value::Object(obj)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::connectors::keeper::{Keeper, families, services};
    use crate::connectors::{Connector, SyncCx};
    use crate::demo::kit::{Api as _, serve};
    use crate::http::RetryPolicy;
    use crate::model::Snapshot;
    use secrecy::SecretString;

    const NAMES: &[&str] = &[
        "Acme Dental Group",
        "Northwind Traders",
        "Contoso Legal",
        "Fabrikam Inc",
        "Tailspin Toys",
        "Wide World Importers",
        "Litware Labs",
    ];

    /// A Service Mode connector to `server` with the API key `key`.
    fn connector(server: &Served, sample: &Sample, key: &'static str) -> Keeper {
        let secret = move |f: &str| {
            assert_eq!(f, "api_key");
            Ok(SecretString::from(key))
        };
        let settings = Api::connection(server, sample).settings;
        Keeper::new("keeper", &settings, &secret, RetryPolicy::default()).unwrap()
    }

    #[tokio::test]
    async fn the_connector_counts_what_usage_says() {
        let sample = Arc::new(sample(NAMES));
        assert!(sample.companies.iter().any(|c| c.seats == UNLIMITED));
        let server = serve::<Api>(sample.clone()).await.unwrap();
        let k = connector(&server, &sample, DEMO_API_KEY);
        let Snapshot::Vendor(snap) = k.sync(&SyncCx::silent()).await.unwrap() else {
            panic!("vendor snapshot expected")
        };
        assert_eq!(snap.accounts.len(), NAMES.len());
        let mut defs = services();
        for f in families() {
            defs.extend(f.expand(&snap.items));
        }
        let mut got: BTreeMap<(String, String), Decimal> = BTreeMap::new();
        for a in &snap.accounts {
            for d in &defs {
                let n: Decimal = snap
                    .items
                    .iter()
                    .filter(|i| i.account_id == a.id)
                    .map(|i| d.weight(i))
                    .sum();
                if n > Decimal::ZERO {
                    got.insert((a.name.clone(), d.key.clone()), n);
                }
            }
        }
        let want: BTreeMap<(String, String), Decimal> = usage(&sample)
            .into_iter()
            .map(|(a, k, n)| ((a, k), n))
            .collect();
        assert_eq!(got, want);
    }

    #[tokio::test]
    async fn the_sandbox_enforces_key_and_command_list() {
        let sample = Arc::new(sample(NAMES));
        let server = serve::<Api>(sample.clone()).await.unwrap();
        let k = connector(&server, &sample, "wrong-key");
        let err = k.check().await.unwrap_err();
        assert!(err.is_auth(), "{err}");

        let client = crate::http::build_reqwest(std::time::Duration::from_secs(30));
        let resp = client
            .post(format!("{}/api/v1/executecommand", server.url()))
            .header("api-key", DEMO_API_KEY)
            .json(&json!({"command": "record-add --title x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 403);
        let resp = client
            .post(format!("{}/api/v1/executecommand", server.url()))
            .header("api-key", DEMO_API_KEY)
            .json(&json!({"command": "msp-info --format json"}))
            .send()
            .await
            .unwrap();
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["data"][0]["plan"], "Business");
        assert!(body["data"][0]["addons"].is_number());
    }
}
