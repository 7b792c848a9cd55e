//! The N-able Cove sandbox for `reconcile demo`: the JSON-RPC endpoint (`POST /jsonapi`) with
//! `Login`, `EnumeratePartners` and `EnumerateAccountStatistics`, chained by a visa as Cove
//! chains it: every answer brings a new visa, and a request that sends any other than the latest
//! is refused ("visa is not valid"), so a connector that forks the chain (two calls at once)
//! fails here as it would there. Any other method is refused and counted in [`WRITES_REFUSED`].
//!
//! [`sample`] gives a reseller with one end customer per client name (the first with a site
//! under it holding some of its devices), and per customer servers, workstations and a virtual
//! machine with used storage; [`usage`] says what the connector will count.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::connectors::cove::{PAGE_SIZE, Settings};
use crate::demo::kit::http::reply;
use crate::demo::kit::{AsVendor, Connection, Entry, Served, Surface, Vendor, VendorDemo};

pub const SANDBOX: &dyn Entry = &AsVendor(Api);

pub const DEMO_PARTNER: &str = "Bluewave Demo MSP (ops@bluewave.example)";
pub const DEMO_USERNAME: &str = "api-reconcile";
pub const DEMO_PASSWORD: &str = "demo-cove-password-Zx81";
const RESELLER: i64 = 4_100_000;
const GB: i64 = 1024 * 1024 * 1024;

/// Calls of a method other than the three reads, since the process started.
pub static WRITES_REFUSED: AtomicUsize = AtomicUsize::new(0);

pub struct Api;

impl crate::demo::kit::Api for Api {
    type Settings = Settings;
    type Sample = Sample;
    type Records = Sample;
    const CONNECTION: &'static str = "demo-cove";
    const CONNECT_ORDER: u8 = 16;

    fn surface(sample: Arc<Sample>) -> Surface {
        let state = Arc::new(ApiState {
            sample,
            visa: Mutex::new((0, None)),
        });
        let app = Router::new().route("/jsonapi", post(rpc)).with_state(state);
        Surface::router(app)
    }

    fn connection(served: &Served, _: &Sample) -> Connection<Settings> {
        let url = served.url().to_string();
        let flags = format!("--partner '{DEMO_PARTNER}' --username {DEMO_USERNAME} --url {url}");
        let settings = Settings {
            partner: DEMO_PARTNER.into(),
            username: DEMO_USERNAME.into(),
            url: Some(url),
        };
        Connection::new(settings, flags).secret("password", DEMO_PASSWORD)
    }
}

impl Vendor for Api {
    const DEMO: VendorDemo<Sample> = VendorDemo {
        billed: &[
            (
                "servers",
                "COVE-SRV",
                "Cove Data Protection, server",
                "55.00",
                "30.00",
            ),
            (
                "workstations",
                "COVE-WS",
                "Cove Data Protection, workstation",
                "12.00",
                "6.50",
            ),
        ],
        clients: 20..23,
        plant_order: 14,
        generate: sample,
        usage,
    };
}

/// (device id, partner id, name, os type, physicality, used bytes)
pub type SampleDevice = (i64, i64, String, i64, &'static str, i64);

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample {
    /// (id, name, level, parent id)
    pub partners: Vec<(i64, String, &'static str, i64)>,
    pub devices: Vec<SampleDevice>,
}

pub fn sample(names: &[&str]) -> Sample {
    let mut partners = vec![(RESELLER, DEMO_PARTNER.to_string(), "Reseller", 1)];
    let mut devices = Vec::new();
    let mut next_device = 80_000_000;
    for (i, name) in names.iter().enumerate() {
        let customer = RESELLER + 10 * (i as i64 + 1);
        partners.push((customer, name.to_string(), "EndCustomer", RESELLER));
        let site = customer + 1;
        if i == 0 {
            partners.push((site, format!("{name} - Branch office"), "Site", customer));
        }
        let mut add = |partner: i64, name: String, os: i64, phys: &'static str, gb: i64| {
            next_device += 7;
            devices.push((next_device, partner, name, os, phys, gb * GB + 123_456_789));
        };
        for s in 0..(1 + i % 3) {
            add(
                customer,
                format!("SRV-{i}-{s}"),
                2,
                "Physical",
                200 + 50 * s as i64,
            );
        }
        for w in 0..(3 + i % 4) {
            // The first customer keeps two workstations at its branch site.
            let at = if i == 0 && w < 2 { site } else { customer };
            add(at, format!("WS-{i}-{w}"), 1, "Physical", 40);
        }
        add(customer, format!("VM-{i}"), 2, "Virtual", 120);
    }
    Sample { partners, devices }
}

/// Per (customer name, service key): what the connector counts.
pub fn usage(sample: &Sample) -> Vec<(String, String, Decimal)> {
    let owner = |partner: i64| -> String {
        let p = sample.partners.iter().find(|p| p.0 == partner).unwrap();
        if p.2 == "Site" {
            sample
                .partners
                .iter()
                .find(|q| q.0 == p.3)
                .unwrap()
                .1
                .clone()
        } else {
            p.1.clone()
        }
    };
    let mut out: BTreeMap<(String, String), Decimal> = BTreeMap::new();
    for (_, partner, _, os, phys, bytes) in &sample.devices {
        let name = owner(*partner);
        let kind = if *phys == "Virtual" {
            "virtual"
        } else if *os == 2 {
            "servers"
        } else {
            "workstations"
        };
        let product = if *os == 2 {
            "server:product"
        } else {
            "workstation:product"
        };
        let gb = (Decimal::from(*bytes) / Decimal::from(GB)).round_dp(2);
        for (k, n) in [
            (kind, Decimal::ONE),
            ("devices", Decimal::ONE),
            (product, Decimal::ONE),
            ("storage-gb", gb),
        ] {
            *out.entry((name.clone(), k.to_string())).or_default() += n;
        }
    }
    out.into_iter()
        .map(|((a, k), n)| (a, k, n.normalize()))
        .collect()
}

struct ApiState {
    sample: Arc<Sample>,
    /// The visa counter and the only visa a request may carry now.
    visa: Mutex<(u64, Option<String>)>,
}

fn answer(id: &Value, visa: Option<&str>, result: Value) -> Response {
    let mut body = json!({"jsonrpc": "2.0", "id": id, "result": result});
    if let Some(v) = visa {
        body["visa"] = json!(v);
    }
    reply(StatusCode::OK, body)
}

fn rpc_error(id: &Value, code: i64, message: &str) -> Response {
    reply(
        StatusCode::OK,
        json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message, "data": null}}),
    )
}

async fn rpc(State(st): State<Arc<ApiState>>, body: Bytes) -> Response {
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return rpc_error(&Value::Null, -32700, "Parse error");
    };
    let id = req.get("id").cloned().unwrap_or(Value::Null);
    let method = req.get("method").and_then(Value::as_str).unwrap_or("");
    let params = req.get("params").cloned().unwrap_or(Value::Null);
    let mut visa = st.visa.lock().expect("visa lock");
    let renew = |v: &mut (u64, Option<String>)| {
        v.0 += 1;
        let new = format!("demo-visa-{:08}", v.0);
        v.1 = Some(new.clone());
        new
    };
    if method == "Login" {
        let field = |k: &str| params.get(k).and_then(Value::as_str).unwrap_or("");
        if field("partner") != DEMO_PARTNER
            || field("username") != DEMO_USERNAME
            || field("password") != DEMO_PASSWORD
        {
            return rpc_error(
                &id,
                2,
                "Authorization failed: wrong partner, user name or password",
            );
        }
        let v = renew(&mut visa);
        return answer(
            &id,
            Some(&v),
            json!({"result": {"PartnerId": RESELLER, "Name": DEMO_USERNAME}}),
        );
    }
    let sent = req.get("visa").and_then(Value::as_str);
    if sent.is_none() || sent != visa.1.as_deref() {
        return rpc_error(
            &id,
            2,
            "Operation failed: visa is not valid (expired or superseded)",
        );
    }
    let v = renew(&mut visa);
    match method {
        "EnumeratePartners" => {
            let rows: Vec<Value> = st
                .sample
                .partners
                .iter()
                .filter(|p| p.0 != RESELLER)
                .map(|(pid, name, level, parent)| {
                    json!({"Id": pid, "Name": name, "Level": level, "ParentId": parent, "State": "InProduction", "ServiceType": "AllInclusive"})
                })
                .collect();
            answer(&id, Some(&v), json!({ "result": rows }))
        }
        "EnumerateAccountStatistics" => {
            let q = params.get("query").cloned().unwrap_or(Value::Null);
            let start = q
                .get("StartRecordNumber")
                .and_then(Value::as_u64)
                .unwrap_or(0) as usize;
            let count = q
                .get("RecordsCount")
                .and_then(Value::as_u64)
                .unwrap_or(PAGE_SIZE as u64) as usize;
            let rows: Vec<Value> = st
                .sample
                .devices
                .iter()
                .skip(start)
                .take(count)
                .map(|(did, partner, name, os, phys, bytes)| {
                    json!({"AccountId": did, "PartnerId": partner, "Flags": ["Active"], "Settings": [
                        {"I1": name}, {"I18": name.to_lowercase()},
                        {"I32": os.to_string()}, {"I81": phys},
                        {"I10": if *os == 2 { "Server" } else { "Workstation" }},
                        {"I14": bytes.to_string()}, {"I78": "D01D02"},
                        {"I16": if *os == 2 { "Windows Server 2022" } else { "Windows 11" }},
                    ]})
                })
                .collect();
            answer(
                &id,
                Some(&v),
                json!({"result": rows, "totalStatistics": null}),
            )
        }
        _ => {
            WRITES_REFUSED.fetch_add(1, Ordering::SeqCst);
            rpc_error(
                &id,
                -32601,
                "the demo sandbox answers only the three read methods",
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;
    use crate::connectors::cove::Cove;
    use crate::connectors::cove::{families, services};
    use crate::connectors::{Connector, SyncCx};
    use crate::demo::kit::testing::{counted_by_account, retry};
    use crate::demo::kit::{Api as _, serve};
    use crate::model::Snapshot;

    #[tokio::test]
    async fn the_connector_counts_what_usage_says_over_one_visa_chain() {
        let s = Arc::new(sample(&["Acme Dental Group", "Northwind", "Contoso Legal"]));
        let server = serve::<Api>(s.clone()).await.unwrap();
        let secret = |f: &str| match f {
            "password" => Ok(SecretString::from(DEMO_PASSWORD)),
            other => anyhow::bail!("unexpected {other}"),
        };
        let before = WRITES_REFUSED.load(Ordering::SeqCst);
        let c = Cove::new(
            "cv",
            &Api::connection(&server, &s).settings,
            &secret,
            retry(),
        )
        .unwrap();
        let check = c.check().await.unwrap();
        assert!(check.contains("3 end customer(s) readable"), "{check}");
        let Snapshot::Vendor(v) = c.sync(&SyncCx::silent()).await.unwrap() else {
            panic!("a vendor snapshot")
        };
        assert!(v.unreadable.is_empty(), "{:?}", v.unreadable);
        // The branch site rolls up to its end customer: three accounts.
        assert_eq!(v.accounts.len(), 3, "{:?}", v.accounts);
        let mut defs = services();
        for f in families() {
            defs.extend(f.expand(&v.items));
        }
        let want: BTreeMap<(String, String), Decimal> =
            usage(&s).into_iter().map(|(a, k, n)| ((a, k), n)).collect();
        assert_eq!(
            counted_by_account(&v, &defs.iter().collect::<Vec<_>>()),
            want
        );
        assert_eq!(WRITES_REFUSED.load(Ordering::SeqCst), before);
    }
}
