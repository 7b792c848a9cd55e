//! The JumpCloud sandbox for `reconcile demo`: a Multi-Tenant Portal with one organization per
//! demo client, serving the parts of the API the connector reads (v2 provider organizations,
//! v1 `systemusers` and `systems`) with JumpCloud's auth (`x-api-key`, `x-org-id` per org),
//! `limit` (at most 100, default 10) + `skip` paging, `sort`, `fields` and `totalCount`.
//! The data is fixed: the same company names always give the same orgs, users and systems.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

use crate::connectors::jumpcloud::Settings;
use crate::demo::kit::auth::{guard, header};
use crate::demo::kit::http::{Query, Window, reply};
use crate::demo::kit::{AsVendor, Connection, Entry, Served, Surface, Vendor, VendorDemo};

pub const SANDBOX: &dyn Entry = &AsVendor(Api);

/// The API key the sandbox accepts; nothing else is.
pub const DEMO_API_KEY: &str = "demo-jumpcloud-api-key-4Rt8";
/// The sandbox MSP's provider id.
pub const DEMO_PROVIDER_ID: &str = "5d1c0ffee0ddba11c0ffee01";

/// The JumpCloud sandbox.
pub struct Api;

impl crate::demo::kit::Api for Api {
    type Settings = Settings;
    type Sample = Sample;
    type Records = Sample;
    const CONNECTION: &'static str = "demo-jumpcloud";
    const CONNECT_ORDER: u8 = 3;

    fn surface(sample: Arc<Sample>) -> Surface {
        let per_org = Router::new()
            .route("/api/systemusers", get(systemusers))
            .route("/api/systems", get(systems));
        let api = guard(per_org, sample.clone(), org_of).route(
            "/api/v2/providers/{provider_id}/organizations",
            get(organizations),
        );
        // The key first, then (on per-org calls) the org.
        let api = guard(api, (), authorized)
            .fallback(|| async { error(StatusCode::NOT_FOUND, "Not Found") });
        Surface::router(api.with_state(sample))
    }

    fn connection(served: &Served, _: &Sample) -> Connection<Settings> {
        let settings = Settings {
            provider_id: DEMO_PROVIDER_ID.into(),
            region: None,
            url: Some(served.url().to_string()),
            page_size: None,
        };
        let flags = format!("--provider-id {DEMO_PROVIDER_ID} --url {}", served.url());
        Connection::new(settings, flags).secret("api_key", DEMO_API_KEY)
    }
}

impl Vendor for Api {
    const DEMO: VendorDemo<Sample> = VendorDemo {
        // Directory users, billed on every user whatever its state.
        billed: &[(
            "users",
            "JC-USER",
            "Directory & SSO per user (JumpCloud)",
            "11.00",
            "7.00",
        )],
        clients: 6..10,
        plant_order: 1,
        generate: sample,
        usage,
    };
}

/// A client organization in the MTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Org {
    pub id: String,
    pub name: String,
    pub max_system_users: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub org_id: String,
    pub username: String,
    pub email: String,
    /// `ACTIVATED`, `SUSPENDED`, `STAGED`, or one state the connector does not know.
    pub state: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct System {
    pub id: String,
    pub org_id: String,
    pub display_name: String,
    pub os: String,
    pub os_family: String,
    pub active: bool,
}

/// The sandbox MSP's JumpCloud records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sample {
    pub provider_id: String,
    pub orgs: Vec<Org>,
    pub users: Vec<User>,
    pub systems: Vec<System>,
}

const FIRST: &[&str] = &[
    "alex", "blake", "casey", "drew", "emery", "finley", "gray", "harper", "indy", "jules",
];
const OSES: &[(&str, &str)] = &[
    ("Windows", "windows"),
    ("Mac OS X", "darwin"),
    ("Ubuntu", "linux"),
];

fn slug(name: &str) -> String {
    crate::model::slug(name).replace('_', "-")
}

/// One org per company name, with a few users in each state and a few systems. The first org
/// also has a user in a state JumpCloud may add later, which the connector keeps as `USER_OTHER`.
pub fn sample(companies: &[&str]) -> Sample {
    let mut s = Sample {
        provider_id: DEMO_PROVIDER_ID.into(),
        orgs: Vec::new(),
        users: Vec::new(),
        systems: Vec::new(),
    };
    let mut user_no = 0u32;
    let mut system_no = 0u32;
    for (i, name) in companies.iter().enumerate() {
        let org_id = format!("6500000000000000000{:05x}", i + 1);
        let domain = format!("{}.example", slug(name));
        let activated = 3 + i % 4;
        let suspended = i % 2;
        let staged = usize::from(i % 3 == 0);
        let mut states: Vec<&str> = Vec::new();
        states.extend(std::iter::repeat_n("ACTIVATED", activated));
        states.extend(std::iter::repeat_n("SUSPENDED", suspended));
        states.extend(std::iter::repeat_n("STAGED", staged));
        if i == 0 {
            states.push("PENDING_REVIEW");
        }
        for (j, state) in states.into_iter().enumerate() {
            user_no += 1;
            let username = format!("{}{}", FIRST[j % FIRST.len()], j / FIRST.len() + 1);
            s.users.push(User {
                id: format!("5e00000000000000000{user_no:05x}"),
                org_id: org_id.clone(),
                email: format!("{username}@{domain}"),
                username,
                state: state.into(),
            });
        }
        for j in 0..(2 + i % 3) {
            system_no += 1;
            let (os, family) = OSES[(i + j) % OSES.len()];
            s.systems.push(System {
                id: format!("6a00000000000000000{system_no:05x}"),
                org_id: org_id.clone(),
                display_name: format!("{}-{:02}", slug(name).to_uppercase(), j + 1),
                os: os.into(),
                os_family: family.into(),
                active: j % 2 == 0,
            });
        }
        s.orgs.push(Org {
            id: org_id,
            name: name.to_string(),
            max_system_users: if i % 2 == 0 { 50 } else { 0 },
        });
    }
    s
}

/// Per (org name, service key), the count the connector's services give, computed from the
/// records' states (zero counts left out).
pub fn usage(sample: &Sample) -> Vec<(String, String, Decimal)> {
    let mut out = Vec::new();
    for org in &sample.orgs {
        let users: Vec<&User> = sample.users.iter().filter(|u| u.org_id == org.id).collect();
        let in_state = |s: &str| users.iter().filter(|u| u.state == s).count();
        let systems = sample.systems.iter().filter(|s| s.org_id == org.id).count();
        for (key, n) in [
            ("users", users.len()),
            ("users-activated", in_state("ACTIVATED")),
            ("users-suspended", in_state("SUSPENDED")),
            ("users-staged", in_state("STAGED")),
            ("systems", systems),
        ] {
            if n > 0 {
                out.push((org.name.clone(), key.to_string(), Decimal::from(n)));
            }
        }
    }
    out
}

fn error(status: StatusCode, message: &str) -> Response {
    reply(status, json!({ "message": message }))
}

/// `x-api-key` must be the demo key, as the real API refuses anything else with 401.
fn authorized(_: &(), headers: &HeaderMap) -> Result<(), Response> {
    if header(headers, "x-api-key") == Some(DEMO_API_KEY) {
        Ok(())
    } else {
        Err(error(StatusCode::UNAUTHORIZED, "Unauthorized"))
    }
}

/// The org an MTP administrator's per-org call is about (`x-org-id`), which must be the
/// provider's.
fn org_of(sample: &Arc<Sample>, headers: &HeaderMap) -> Result<Org, Response> {
    let Some(id) = header(headers, "x-org-id") else {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "x-org-id header is required for multi-tenant administrators",
        ));
    };
    sample
        .orgs
        .iter()
        .find(|o| o.id == id)
        .cloned()
        .ok_or_else(|| error(StatusCode::FORBIDDEN, "Forbidden"))
}

/// A `{totalCount, results}` page: `sort` by one field (`-` for descending), `skip`, `limit`
/// (default 10, at most 100), and `fields` (space- or comma-separated) to trim records.
fn page(mut records: Vec<Map<String, Value>>, raw_query: Option<String>, id_key: &str) -> Response {
    let q = Query::parse(raw_query.as_deref());
    let number = |name: &str, default: usize| -> Result<usize, Response> {
        q.number(name).map(|n| n.unwrap_or(default)).map_err(|_| {
            error(
                StatusCode::BAD_REQUEST,
                &format!("{name} must be a non-negative integer"),
            )
        })
    };
    let (limit, skip) = match (number("limit", 10), number("skip", 0)) {
        (Ok(l), Ok(s)) => (l, s),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    if limit > 100 {
        return error(
            StatusCode::BAD_REQUEST,
            "limit must be less than or equal to 100",
        );
    }
    if let Some(sort) = q.get("sort").map(str::trim).filter(|s| !s.is_empty()) {
        let (field, desc) = match sort.strip_prefix('-') {
            Some(f) => (f, true),
            None => (sort, false),
        };
        let key = |r: &Map<String, Value>| r.get(field).map(|v| v.to_string()).unwrap_or_default();
        records.sort_by_key(key);
        if desc {
            records.reverse();
        }
    }
    let total = records.len();
    let fields: Vec<String> = q
        .get("fields")
        .map(|f| {
            f.split([' ', ','])
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let window = Window { skip, take: limit };
    let results: Vec<Value> = window
        .of(records)
        .into_iter()
        .map(|mut r| {
            if !fields.is_empty() {
                r.retain(|k, _| k == id_key || fields.iter().any(|f| f == k));
            }
            Value::Object(r)
        })
        .collect();
    reply(
        StatusCode::OK,
        json!({ "totalCount": total, "results": results }),
    )
}

fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => unreachable!("records are built as objects"),
    }
}

async fn organizations(
    State(s): State<Arc<Sample>>,
    Path(provider_id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    if provider_id != s.provider_id {
        return reply(
            StatusCode::FORBIDDEN,
            json!({"code": 403, "message": "Forbidden", "status": "PERMISSION_DENIED"}),
        );
    }
    let records = s
        .orgs
        .iter()
        .map(|o| object(json!({"id": o.id, "name": o.name, "maxSystemUsers": o.max_system_users})))
        .collect();
    page(records, q, "id")
}

async fn systemusers(
    State(s): State<Arc<Sample>>,
    Extension(org): Extension<Org>,
    RawQuery(q): RawQuery,
) -> Response {
    let records = s
        .users
        .iter()
        .filter(|u| u.org_id == org.id)
        .map(|u| {
            object(json!({
                "_id": u.id,
                "username": u.username,
                "email": u.email,
                "displayname": "",
                "state": u.state,
                "activated": u.state == "ACTIVATED" || u.state == "SUSPENDED",
                "suspended": u.state == "SUSPENDED",
                "account_locked": false,
                "externally_managed": false,
                "organization": org.id,
                "created": "2024-01-15T09:00:00.000Z",
            }))
        })
        .collect();
    page(records, q, "_id")
}

async fn systems(
    State(s): State<Arc<Sample>>,
    Extension(org): Extension<Org>,
    RawQuery(q): RawQuery,
) -> Response {
    let now = jiff::Timestamp::now();
    let records = s
        .systems
        .iter()
        .filter(|x| x.org_id == org.id)
        .map(|x| {
            object(json!({
                "_id": x.id,
                "displayName": x.display_name,
                "hostname": x.display_name.to_lowercase(),
                "os": x.os,
                "osFamily": x.os_family,
                "active": x.active,
                // Recent, so the stale-device rule leaves the demo's systems alone.
                "lastContact": now.to_string(),
                "organization": org.id,
                "agentVersion": "1.160.0",
            }))
        })
        .collect();
    page(records, q, "_id")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use secrecy::SecretString;

    use super::*;
    use crate::connectors::jumpcloud::{JumpCloud, services};
    use crate::connectors::{Connector, SyncCx};
    use crate::demo::kit::testing::retry;
    use crate::demo::kit::{Api as _, serve};
    use crate::model::Snapshot;

    const COMPANIES: &[&str] = &["Acme Corp", "Globex", "Initech", "Umbrella Health"];

    fn connector(server: &Served, key: &str, page_size: Option<usize>) -> JumpCloud {
        let mut settings = Api::connection(server, &sample(COMPANIES)).settings;
        settings.page_size = page_size;
        let key = key.to_string();
        JumpCloud::new(
            "jumpcloud",
            &settings,
            &move |_| Ok(SecretString::from(key.clone())),
            retry(),
        )
        .unwrap()
    }

    #[test]
    fn the_sample_is_fixed_and_covers_every_state() {
        let a = sample(COMPANIES);
        assert_eq!(a, sample(COMPANIES));
        assert_eq!(a.orgs.len(), COMPANIES.len());
        for state in ["ACTIVATED", "SUSPENDED", "STAGED", "PENDING_REVIEW"] {
            assert!(a.users.iter().any(|u| u.state == state), "{state}");
        }
        let ids: std::collections::HashSet<&str> = a.users.iter().map(|u| u.id.as_str()).collect();
        assert_eq!(ids.len(), a.users.len());
    }

    #[tokio::test]
    async fn the_connector_reads_what_usage_says() {
        let s = Arc::new(sample(COMPANIES));
        let server = serve::<Api>(s.clone()).await.unwrap();
        // A page size of 2 makes every org's users span pages.
        let snap = match connector(&server, DEMO_API_KEY, Some(2))
            .sync(&SyncCx::silent())
            .await
            .unwrap()
        {
            Snapshot::Vendor(v) => v,
            other => panic!("{other:?}"),
        };
        assert_eq!(snap.accounts.len(), COMPANIES.len());
        assert_eq!(snap.items.len(), s.users.len() + s.systems.len());
        let name_of: BTreeMap<&str, &str> = snap
            .accounts
            .iter()
            .map(|a| (a.id.as_str(), a.name.as_str()))
            .collect();
        let mut got: BTreeMap<(String, String), Decimal> = BTreeMap::new();
        for def in services() {
            for item in &snap.items {
                let w = def.weight(item);
                if w > Decimal::ZERO {
                    *got.entry((
                        name_of[item.account_id.as_str()].to_string(),
                        def.key.clone(),
                    ))
                    .or_default() += w;
                }
            }
        }
        let want: BTreeMap<(String, String), Decimal> =
            usage(&s).into_iter().map(|(a, k, n)| ((a, k), n)).collect();
        assert_eq!(got, want);
        assert_eq!(
            want[&("Acme Corp".to_string(), "users".to_string())],
            Decimal::from(5)
        );
    }

    #[tokio::test]
    async fn a_wrong_key_is_refused_like_the_real_api() {
        let server = serve::<Api>(Arc::new(sample(COMPANIES))).await.unwrap();
        let err = connector(&server, "not-the-key", None)
            .check()
            .await
            .unwrap_err();
        assert!(err.is_auth(), "{err:?}");
        assert!(err.to_string().contains("HTTP 401"), "{err}");
        let resp = crate::http::build_reqwest(std::time::Duration::from_secs(30))
            .get(format!("{}/api/systemusers?limit=101", server.url()))
            .header("x-api-key", DEMO_API_KEY)
            .header("x-org-id", "nope")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 403);
    }
}
