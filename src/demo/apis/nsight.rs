//! The N-sight RMM sandbox for `reconcile demo`: one dashboard server answering
//! `GET /api/?apikey=&service=list_clients` and `service=list_devices_at_client&clientid=&devicetype=`
//! in the Data Extraction API's XML (`<result status="OK"><items>...`, CDATA text, a single
//! record not wrapped in a list), and `status="FAIL"` with error 3 for a wrong key, with HTTP 200
//! as N-sight does.
//!
//! [`sample`] builds one client per given company, with one site (two for the first), Windows
//! workstations with patch management and Managed Antivirus, servers with backup too, one
//! workstation without Managed Antivirus, and a mobile device count.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rust_decimal::Decimal;

use crate::connectors::nsight::Settings;
use crate::demo::kit::http::Query;
use crate::demo::kit::{AsVendor, Connection, Entry, Served, Surface, Vendor, VendorDemo};

pub const SANDBOX: &dyn Entry = &AsVendor(Api);

/// The API key the sandbox accepts.
pub const DEMO_API_KEY: &str = "9c2e7f4a1b8d3e6f0a5c9b2d7e4f1a8c";

/// The N-sight sandbox.
pub struct Api;

impl crate::demo::kit::Api for Api {
    type Settings = Settings;
    type Sample = Sample;
    type Records = Sample;
    const CONNECTION: &'static str = "demo-nsight";
    const CONNECT_ORDER: u8 = 12;

    fn surface(sample: Arc<Sample>) -> Surface {
        Surface::api(move |_url| Router::new().route("/api/", get(api)).with_state(sample))
    }

    fn connection(served: &Served, _: &Sample) -> Connection<Settings> {
        let settings = Settings {
            url: served.url().to_string(),
        };
        Connection::new(settings, format!("--url {}", served.url()))
            .secret("api_key", DEMO_API_KEY)
            .note("the API key on stdin")
    }
}

impl Vendor for Api {
    const DEMO: VendorDemo<Sample> = VendorDemo {
        // Per workstation, and Managed Antivirus per device, as N-able bills the MSP.
        billed: &[
            (
                "total-workstations",
                "NS-WS",
                "Remote Monitoring - Workstation (N-sight)",
                "4.00",
                "1.60",
            ),
            (
                "mav",
                "NS-MAV",
                "Managed Antivirus (N-sight)",
                "2.50",
                "0.95",
            ),
        ],
        clients: 17..20,
        plant_order: 10,
        generate: sample,
        usage,
    };
}

#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    pub id: u64,
    pub site: u64,
    pub name: String,
    pub server: bool,
    pub mav: bool,
    pub mob: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Client {
    pub id: u64,
    pub name: String,
    pub sites: Vec<(u64, String)>,
    pub mobile: u32,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample {
    pub clients: Vec<Client>,
    pub devices: Vec<Device>,
}

/// Per client: (workstations, servers). Cycled.
const MIX: &[(u32, u32)] = &[(11, 2), (7, 1), (16, 3)];

/// One client per company; the first has two sites and one workstation without Managed
/// Antivirus.
pub fn sample(companies: &[&str]) -> Sample {
    let mut out = Sample::default();
    for (i, name) in companies.iter().enumerate() {
        let id = 3_100 + i as u64;
        let code = crate::demo::kit::host_code(name);
        let mut sites = vec![(9_000 + 10 * i as u64, format!("{name} HQ"))];
        if i == 0 {
            sites.push((9_001, format!("{name} Warehouse")));
        }
        let (ws, srv) = MIX[i % MIX.len()];
        for n in 0..ws + srv {
            let server = n >= ws;
            out.devices.push(Device {
                id: 700_000 + (i as u64) * 1_000 + u64::from(n),
                site: sites[n as usize % sites.len()].0,
                name: if server {
                    format!("{code}-SRV-{:02}", n - ws + 1)
                } else {
                    format!("{code}-WS-{:02}", n + 1)
                },
                server,
                mav: !(i == 0 && n == 0),
                mob: server,
            });
        }
        out.clients.push(Client {
            id,
            name: name.to_string(),
            sites,
            mobile: 2 + i as u32,
        });
    }
    out
}

/// What the connector counts per (client name, service key) for the billed services.
pub fn usage(sample: &Sample) -> Vec<(String, String, Decimal)> {
    let mut out: BTreeMap<(String, String), Decimal> = BTreeMap::new();
    for c in &sample.clients {
        let sites: Vec<u64> = c.sites.iter().map(|s| s.0).collect();
        for d in sample.devices.iter().filter(|d| sites.contains(&d.site)) {
            if !d.server {
                *out.entry((c.name.clone(), "total-workstations".into()))
                    .or_default() += Decimal::ONE;
            }
            if d.mav {
                *out.entry((c.name.clone(), "mav".into())).or_default() += Decimal::ONE;
            }
        }
    }
    out.into_iter().map(|((a, s), n)| (a, s, n)).collect()
}

fn xml(body: String) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<result created=\"2026-12-01T10:00:00+00:00\" host=\"demo.systemmonitor.example\" status=\"{}\">{body}</result>",
            if body.starts_with("<error>") { "FAIL" } else { "OK" }
        ),
    )
        .into_response()
}

fn fail(code: u32, message: &str) -> Response {
    xml(format!(
        "<error><errorcode>{code}</errorcode><message><![CDATA[{message}]]></message></error>"
    ))
}

async fn api(State(sample): State<Arc<Sample>>, RawQuery(query): RawQuery) -> Response {
    let q = Query::parse(query.as_deref());
    if q.get("apikey") != Some(DEMO_API_KEY) {
        return fail(3, "Login failed");
    }
    match q.get("service") {
        Some("list_clients") => {
            let mut body = String::from("<items>");
            for c in &sample.clients {
                let sites: Vec<u64> = c.sites.iter().map(|s| s.0).collect();
                let mine = || sample.devices.iter().filter(|d| sites.contains(&d.site));
                let servers = mine().filter(|d| d.server).count();
                let ws = mine().count() - servers;
                let _ = write!(
                    body,
                    "<client><name><![CDATA[{}]]></name><clientid>{}</clientid><view_dashboard>0</view_dashboard><view_wkstsn_assets>0</view_wkstsn_assets><dashboard_username><![CDATA[]]></dashboard_username><timezone/><creation_date>2023-04-01</creation_date><server_count>{servers}</server_count><workstation_count>{ws}</workstation_count><mobile_device_count>{}</mobile_device_count><device_count>{}</device_count></client>",
                    c.name,
                    c.id,
                    c.mobile,
                    servers + ws
                );
            }
            body.push_str("</items>");
            xml(body)
        }
        Some("list_devices_at_client") => {
            let Some(c) = q
                .get("clientid")
                .and_then(|id| sample.clients.iter().find(|c| c.id.to_string() == id))
            else {
                return fail(5, "Client not found");
            };
            let element = match q.get("devicetype") {
                Some("workstation") => "workstation",
                Some("server") => "server",
                _ => return fail(4, "Invalid devicetype"),
            };
            let mut body = format!(
                "<items><client><name><![CDATA[{}]]></name><clientid>{}</clientid>",
                c.name, c.id
            );
            for (site_id, site_name) in &c.sites {
                let _ = write!(
                    body,
                    "<site><id>{site_id}</id><name><![CDATA[{site_name}]]></name>"
                );
                for d in sample
                    .devices
                    .iter()
                    .filter(|d| d.site == *site_id && d.server == (element == "server"))
                {
                    let _ = write!(
                        body,
                        "<{element}><id>{}</id><name><![CDATA[{}]]></name><description><![CDATA[]]></description><status>1</status><online>1</online><checkstatus><![CDATA[testok]]></checkstatus><lastresponse>2026-12-01 09:58:00</lastresponse><lastresponse_utc>2026-12-01 09:58:00</lastresponse_utc><takecontrol>1</takecontrol><patch>1</patch><mav>{}</mav><mob>{}</mob><systray>1</systray><mavbreck>0</mavbreck><webprotection>0</webprotection><riskintelligence>0</riskintelligence><os><![CDATA[{}]]></os><agent><![CDATA[Agent v10.13.8]]></agent><guid>{:08x}-demo</guid></{element}>",
                        d.id,
                        d.name,
                        u8::from(d.mav),
                        u8::from(d.mob),
                        if d.server {
                            "Microsoft Windows Server 2022 Standard"
                        } else {
                            "Microsoft Windows 11 Pro"
                        },
                        d.id
                    );
                }
                body.push_str("</site>");
            }
            body.push_str("</client></items>");
            xml(body)
        }
        _ => fail(2, "Unknown service"),
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;
    use crate::config::Config;
    use crate::connectors::nsight::Nsight;
    use crate::connectors::{Connector, ConnectorKind, SyncCx};
    use crate::demo::kit::{self, Api as _, serve};
    use crate::http::RetryPolicy;
    use crate::model::{ServiceDef, Snapshot};

    #[tokio::test]
    async fn the_connector_counts_what_usage_says() {
        let sample = Arc::new(sample(&["Acme Corp", "Beta LLC", "Cobalt Inc"]));
        let server = serve::<Api>(sample.clone()).await.unwrap();
        let settings = Api::connection(&server, &sample).settings;
        let c = |key: &str| {
            Nsight::new(
                "n",
                &settings,
                SecretString::from(key),
                RetryPolicy::default(),
            )
            .unwrap()
        };
        let check = c(DEMO_API_KEY).check().await.unwrap();
        assert!(check.contains("3 clients"), "{check}");
        let Snapshot::Vendor(v) = c(DEMO_API_KEY).sync(&SyncCx::silent()).await.unwrap() else {
            panic!("a vendor snapshot")
        };
        assert_eq!(v.accounts.len(), 3);
        assert_eq!(
            v.items.len(),
            sample.devices.len() + 3,
            "devices and mobile counts"
        );
        let services = Config::default().services_seen("n", ConnectorKind::Nsight, [&v]);
        let billed: Vec<&ServiceDef> = services
            .iter()
            .filter(|s| s.key == "total-workstations" || s.key == "mav")
            .collect();
        let counted = kit::testing::counted_by_account(&v, &billed);
        let want: BTreeMap<(String, String), Decimal> = usage(&sample)
            .into_iter()
            .map(|(a, s, n)| ((a, s), n))
            .collect();
        assert_eq!(counted, want);
        assert_eq!(
            want[&("Acme Corp".to_string(), "mav".to_string())],
            Decimal::from(12)
        );

        let e = c("nope").check().await.unwrap_err().to_string();
        assert!(
            e.contains("N-sight error 3, Login failed") && e.contains("General Settings > API"),
            "{e}"
        );
        assert!(!e.contains("nope"), "{e}");
    }
}
