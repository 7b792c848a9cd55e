//! The Acronis sandbox for `reconcile demo`: the Account Management API v2 as the connector
//! uses it: the token endpoint (client credentials in HTTP Basic), `GET /api/2/clients/{id}`,
//! `GET /api/2/tenants` (the hierarchy, cursor-paged: a next page carries `after` alone, as
//! Acronis asks) and `GET /api/2/tenants/usages?tenants=` (at most 100 ids). The write
//! endpoints the real API has (`PUT /api/2/tenants/usages`, `PUT
//! /api/2/tenants/{id}/offering_items`) are refused (405) and counted in [`WRITES_REFUSED`].
//!
//! [`sample`] gives a partner tenant with a folder, one customer tenant per client name (the
//! second on trial: never counted; one more customer disabled), and per customer usage rows
//! for workstations, servers, sometimes virtual machines, Microsoft 365 mailboxes and storage
//! in bytes; [`usage`] says what the connector will count.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post, put};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::connectors::acronis::{BATCH, Settings};
use crate::demo::kit::auth::{Tokens, basic, bearer, granted, guard, oauth_error};
use crate::demo::kit::http::{Query, reply};
use crate::demo::kit::{AsVendor, Connection, Entry, Served, Surface, Vendor, VendorDemo};

pub const SANDBOX: &dyn Entry = &AsVendor(Api);

pub const DEMO_CLIENT_ID: &str = "3f8a6c1e-demo-acronis-client";
pub const DEMO_CLIENT_SECRET: &str = "demo-acronis-secret-Lp4v";
const PARTNER: &str = "a0000000-0000-4000-8000-00000000partn";
const FOLDER: &str = "a0000000-0000-4000-8000-0000000folder";
const TOKEN_LIFETIME: Duration = Duration::from_secs(7200);
const GB: i64 = 1024 * 1024 * 1024;

/// Write requests the sandbox refused since the process started.
pub static WRITES_REFUSED: AtomicUsize = AtomicUsize::new(0);

pub struct Api;

impl crate::demo::kit::Api for Api {
    type Settings = Settings;
    type Sample = Sample;
    type Records = Sample;
    const CONNECTION: &'static str = "demo-acronis";
    const CONNECT_ORDER: u8 = 15;

    fn surface(sample: Arc<Sample>) -> Surface {
        let state = Arc::new(ApiState {
            sample,
            tokens: Tokens::default(),
        });
        let api = Router::new()
            .route("/api/2/clients/{id}", get(client))
            .route("/api/2/tenants", get(tenants))
            .route("/api/2/tenants/usages", get(usages).put(refuse_write))
            .route("/api/2/tenants/{id}/offering_items", put(refuse_write));
        let app = guard(api, state.clone(), authorize)
            .route("/api/2/idp/token", post(token))
            .fallback(|| async { error(StatusCode::NOT_FOUND, "Not found") })
            .with_state(state);
        Surface::router(app)
    }

    fn connection(served: &Served, _: &Sample) -> Connection<Settings> {
        let url = served.url().to_string();
        let flags = format!("--url {url} --client-id {DEMO_CLIENT_ID}");
        let settings = Settings {
            url,
            client_id: DEMO_CLIENT_ID.into(),
        };
        Connection::new(settings, flags).secret("client_secret", DEMO_CLIENT_SECRET)
    }
}

impl Vendor for Api {
    const DEMO: VendorDemo<Sample> = VendorDemo {
        billed: &[
            (
                "workstations",
                "ACR-CPC-WS",
                "Acronis Cyber Protect Cloud, workstation",
                "6.00",
                "3.20",
            ),
            (
                "servers",
                "ACR-CPC-SRV",
                "Acronis Cyber Protect Cloud, server",
                "40.00",
                "22.00",
            ),
            (
                "storage-gb",
                "ACR-CPC-GB",
                "Acronis Cyber Protect Cloud storage (per GB)",
                "0.10",
                "0.05",
            ),
        ],
        clients: 13..17,
        plant_order: 13,
        generate: sample,
        usage,
    };
}

#[derive(Debug, Clone, PartialEq)]
pub struct SampleTenant {
    pub id: String,
    pub name: String,
    pub pricing_mode: String,
    pub enabled: bool,
    /// (usage_name, edition, measurement unit, value)
    pub usages: Vec<(String, Option<String>, String, i64)>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample {
    pub customers: Vec<SampleTenant>,
}

/// One customer tenant per name (the second on trial), and a disabled one.
pub fn sample(names: &[&str]) -> Sample {
    let mut customers: Vec<SampleTenant> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let mut usages = vec![
                (
                    "workstations".to_string(),
                    Some("standard".to_string()),
                    "quantity".to_string(),
                    (5 + (i * 7) % 23) as i64,
                ),
                (
                    "servers".into(),
                    Some("advanced".into()),
                    "quantity".into(),
                    (1 + i % 4) as i64,
                ),
                (
                    "mailboxes".into(),
                    None,
                    "quantity".into(),
                    (10 + i * 3) as i64,
                ),
                (
                    "storage".into(),
                    Some("standard".into()),
                    "bytes".into(),
                    (120 + 85 * i as i64) * GB + 512 * 1024 * 1024,
                ),
            ];
            if i % 2 == 0 {
                usages.push(("vms".into(), Some("advanced".into()), "quantity".into(), 2));
            }
            SampleTenant {
                id: format!("c{i:07}-7d1c-4a5b-9c3d-1e2f3a4b5c6d"),
                name: name.to_string(),
                pricing_mode: if i == 1 { "trial" } else { "production" }.into(),
                enabled: true,
                usages,
            }
        })
        .collect();
    customers.push(SampleTenant {
        id: "cdisabld-7d1c-4a5b-9c3d-1e2f3a4b5c6d".into(),
        name: "Former Client (disabled)".into(),
        pricing_mode: "production".into(),
        enabled: false,
        usages: vec![("workstations".into(), None, "quantity".into(), 9)],
    });
    Sample { customers }
}

/// Per (tenant name, service key): what the connector counts (production tenants only).
pub fn usage(sample: &Sample) -> Vec<(String, String, Decimal)> {
    let mut out: BTreeMap<(String, String), Decimal> = BTreeMap::new();
    for t in sample
        .customers
        .iter()
        .filter(|t| t.enabled && t.pricing_mode == "production")
    {
        for (name, edition, unit, value) in &t.usages {
            let units = if unit == "bytes" {
                (Decimal::from(*value) / Decimal::from(GB)).round_dp(2)
            } else {
                Decimal::from(*value)
            };
            let key = match name.as_str() {
                "storage" => "storage-gb",
                other => other,
            };
            *out.entry((t.name.clone(), key.to_string())).or_default() += units;
            let family = match edition {
                Some(e) => format!("{name}-{e}:edition"),
                None => format!("{name}:edition"),
            };
            *out.entry((t.name.clone(), family)).or_default() += units;
        }
    }
    out.into_iter()
        .map(|((a, k), n)| (a, k, n.normalize()))
        .collect()
}

struct ApiState {
    sample: Arc<Sample>,
    tokens: Tokens<()>,
}

/// Acronis's error body.
fn error(status: StatusCode, message: &str) -> Response {
    reply(
        status,
        json!({"error": {"code": status.as_u16(), "domain": "AccountServer", "message": message, "details": {"info": null}}}),
    )
}

/// `POST /api/2/idp/token`: the client in HTTP Basic, a form asking for client credentials.
async fn token(State(st): State<Arc<ApiState>>, headers: HeaderMap, body: Bytes) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", None);
    }
    match basic(&headers) {
        Some((id, secret)) if id == DEMO_CLIENT_ID && secret == DEMO_CLIENT_SECRET => {}
        _ => {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "access_denied",
                Some("Invalid client credentials"),
            );
        }
    }
    let t = st.tokens.issue((), TOKEN_LIFETIME);
    granted(
        &t,
        "bearer",
        TOKEN_LIFETIME,
        json!({"id_token": "demo-id-token"}),
    )
}

fn authorize(st: &Arc<ApiState>, headers: &HeaderMap) -> Result<(), Response> {
    if bearer(headers).is_some_and(|t| st.tokens.check(t).is_ok()) {
        Ok(())
    } else {
        Err(error(StatusCode::UNAUTHORIZED, "Unauthorized"))
    }
}

async fn client(Path(id): Path<String>) -> Response {
    if id != DEMO_CLIENT_ID {
        return error(StatusCode::NOT_FOUND, "Client not found");
    }
    reply(
        StatusCode::OK,
        json!({"client_id": id, "tenant_id": PARTNER, "type": "api_client", "status": "enabled",
               "client_secret_expires_at": 0, "last_access_at": "2026-12-01T08:00:00Z"}),
    )
}

fn tenant_json(t: &SampleTenant) -> Value {
    json!({"id": t.id, "version": 3, "name": t.name, "kind": "customer", "parent_id": FOLDER,
           "enabled": t.enabled, "customer_type": "default", "pricing_mode": t.pricing_mode,
           "customer_id": null, "has_children": false, "deleted_at": null,
           "created_at": "2024-02-01T10:00:00Z", "updated_at": "2026-11-01T10:00:00Z"})
}

/// The hierarchy under the partner, three tenants a page (to show the paging); `after` must
/// come alone, as the cursor carries the filters.
async fn tenants(State(st): State<Arc<ApiState>>, RawQuery(q): RawQuery) -> Response {
    let q = Query::parse(q.as_deref());
    let mut all = vec![
        json!({"id": PARTNER, "name": "Bluewave Demo MSP", "kind": "partner", "enabled": true, "pricing_mode": "production", "parent_id": null}),
        json!({"id": FOLDER, "name": "Managed clients", "kind": "folder", "enabled": true, "pricing_mode": "production", "parent_id": PARTNER}),
    ];
    all.extend(st.sample.customers.iter().map(tenant_json));
    let offset = match q.get("after") {
        Some(cursor) => {
            if q.get("subtree_root_id").is_some() {
                return error(
                    StatusCode::BAD_REQUEST,
                    "`after` must be the only filter: the cursor carries them",
                );
            }
            match cursor.strip_prefix("cur-").and_then(|n| n.parse().ok()) {
                Some(n) => n,
                None => return error(StatusCode::BAD_REQUEST, "Invalid cursor"),
            }
        }
        None => {
            if q.get("subtree_root_id") != Some(PARTNER) {
                return error(StatusCode::FORBIDDEN, "Access to the tenant is denied");
            }
            0
        }
    };
    let per = 3;
    let page: Vec<Value> = all.iter().skip(offset).take(per).cloned().collect();
    let after = (offset + per < all.len()).then(|| format!("cur-{}", offset + per));
    reply(
        StatusCode::OK,
        json!({"items": page, "paging": {"cursors": {"after": after}}, "timestamp": "2026-12-05T00:00:00Z"}),
    )
}

async fn usages(State(st): State<Arc<ApiState>>, RawQuery(q): RawQuery) -> Response {
    let q = Query::parse(q.as_deref());
    let Some(ids) = q.get("tenants") else {
        return error(StatusCode::BAD_REQUEST, "`tenants` is required");
    };
    let ids: Vec<&str> = ids.split(',').collect();
    if ids.len() > BATCH {
        return error(StatusCode::BAD_REQUEST, "at most 100 tenants at once");
    }
    let items: Vec<Value> = ids
        .iter()
        .filter_map(|id| st.sample.customers.iter().find(|t| t.id == *id))
        .map(|t| {
            let usages: Vec<Value> = t
                .usages
                .iter()
                .map(|(name, edition, unit, value)| {
                    let mut u = json!({"application_id": "c6ab7fb4-b461-4214-9257-86fbad8efb85",
                        "name": name, "usage_name": name, "edition": edition,
                        "type": if unit == "bytes" { "infra" } else { "count" },
                        "measurement_unit": unit, "value": value, "absolute_value": value,
                        "range_start": "2026-12-01T00:00:00", "tenant_uuid": t.id,
                        "offering_item": {"status": 1, "quota": {"value": null, "overage": null, "version": 0}}});
                    if unit == "bytes" {
                        u["infra_id"] = json!("b0e1c2d3-0000-4a5b-9c3d-1e2f3a4b5c6d");
                    }
                    u
                })
                .collect();
            json!({"tenant": t.id, "usages": usages})
        })
        .collect();
    reply(StatusCode::OK, json!({ "items": items }))
}

async fn refuse_write() -> Response {
    WRITES_REFUSED.fetch_add(1, Ordering::SeqCst);
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        "the demo sandbox changes nothing: reconcile must only read Acronis",
    )
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;
    use crate::connectors::acronis::Acronis;
    use crate::connectors::acronis::{families, services};
    use crate::connectors::{Connector, SyncCx};
    use crate::demo::kit::testing::{counted_by_account, retry};
    use crate::demo::kit::{Api as _, serve};
    use crate::model::Snapshot;

    #[tokio::test]
    async fn the_connector_counts_what_usage_says_and_writes_nothing() {
        let s = Arc::new(sample(&[
            "Acme Dental Group",
            "Northwind",
            "Contoso Legal",
            "Fabrikam",
        ]));
        let server = serve::<Api>(s.clone()).await.unwrap();
        let secret = |f: &str| match f {
            "client_secret" => Ok(SecretString::from(DEMO_CLIENT_SECRET)),
            other => anyhow::bail!("unexpected {other}"),
        };
        let before = WRITES_REFUSED.load(Ordering::SeqCst);
        let c = Acronis::new(
            "acr",
            &Api::connection(&server, &s).settings,
            &secret,
            retry(),
        )
        .unwrap();
        let check = c.check().await.unwrap();
        assert!(check.contains("4 customer tenants are readable"), "{check}");
        let Snapshot::Vendor(v) = c.sync(&SyncCx::silent()).await.unwrap() else {
            panic!("a vendor snapshot")
        };
        assert!(v.unreadable.is_empty(), "{:?}", v.unreadable);
        // The disabled tenant is not an account; the trial one is, with nothing counted.
        assert_eq!(v.accounts.len(), 4);
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
        assert!(!usage(&s).iter().any(|(a, _, _)| a == "Northwind"));
        assert_eq!(WRITES_REFUSED.load(Ordering::SeqCst), before);
    }
}
