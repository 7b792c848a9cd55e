//! Keeper Security MSP: managed companies are accounts; each company's plan and each of its
//! add-ons are usage items carrying seat counts.
//!
//! Keeper has no public REST API for MSP data, so this connector reads it through Keeper
//! Commander, the supported route, in one of two modes:
//! - `service`: Commander's Service Mode, a REST wrapper around a logged-in Commander. We send
//!   `POST {url}/api/v1/executecommand` with the header `api-key: <key>` and the body
//!   `{"command": "msp-info --format json -v"}`; the answer is
//!   `{"status": "success", "command": "msp-info", "data": [...]}`.
//! - `commander`: runs the local `keeper` executable (`keeper [args] msp-info --format json -v`)
//!   with a timeout, no shell, and parses its stdout. Commander keeps its own login (persistent
//!   login), so this mode stores no secret.
//!
//! `-v` makes `msp-info` print plan ids (`businessPlus`) instead of display names and each
//! add-on with its own seats (`connection_manager:5`). Unlimited seats (`-1`, or the raw
//! 2147483647 sentinel) are flagged, never counted as a number: see [`billed_seats`].

mod args;
mod convert;
mod settings;
mod wire;

pub use args::Args;
pub use settings::{Mode, Settings};

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use secrecy::SecretString;
use serde_json::Value;

use crate::connectors::{Connector, ConnectorKind, KindSettings, SyncCx};
use crate::http::{
    ConnectorError, HttpClient, RetryPolicy, StaticHeaders, Tolerant, check_url, decode_tolerant,
};
use crate::model::{ServiceDef, ServiceFamily, Snapshot};

pub use convert::billed_seats;
use convert::snapshot;

/// Service Mode's synchronous endpoint (also served when the request queue is on).
pub const EXECUTE: &str = "api/v1/executecommand";
/// The command both modes run.
pub const MSP_INFO: &str = "msp-info --format json -v";
/// Default time the `keeper` executable may take.
pub const DEFAULT_TIMEOUT_SECS: u64 = 120;

/// Item class of a company's base plan (one per managed company).
pub const PLAN: &str = "PLAN";
/// Item class of one add-on of a managed company.
pub const ADDON: &str = "ADDON";

/// Built-in services: seats, active users and managed companies, on the plan items.
pub fn services() -> Vec<ServiceDef> {
    let def = |key: &str, name: &str, quantity: Option<&str>| ServiceDef {
        key: key.into(),
        name: name.into(),
        classes: Some(vec![PLAN.to_string()]),
        quantity: quantity.map(str::to_string),
        ..ServiceDef::default()
    };
    vec![
        def("seats", "Seats (allocated licenses)", Some("seats")),
        def("active-users", "Active Users", Some("active_users")),
        def("managed-companies", "Managed Companies", None),
    ]
}

/// One seats service per plan (`businessplus:seats`) and one per add-on
/// (`enterprise_breach_watch:addon`); unknown plans and add-ons get theirs too.
pub fn families() -> Vec<ServiceFamily> {
    vec![
        ServiceFamily {
            attr: "plan",
            name_attr: Some("plan_name"),
            key_suffix: ":seats",
            name_suffix: " (seats)",
            quantity: Some("seats"),
            classes: Some(&[PLAN]),
        },
        ServiceFamily {
            attr: "addon",
            name_attr: Some("addon_name"),
            key_suffix: ":addon",
            name_suffix: " (add-on seats)",
            quantity: Some("seats"),
            classes: Some(&[ADDON]),
        },
    ]
}

enum Route {
    Service(HttpClient),
    Commander {
        executable: String,
        args: Vec<String>,
        timeout: Duration,
    },
}

pub struct Keeper {
    name: String,
    route: Route,
}

impl Keeper {
    /// `secret` is asked for `api_key` in service mode only.
    pub fn new(
        name: &str,
        settings: &Settings,
        secret: &dyn Fn(&str) -> anyhow::Result<SecretString>,
        retry: RetryPolicy,
    ) -> anyhow::Result<Keeper> {
        settings.validate(name)?;
        let route = match settings.mode {
            Mode::Service => {
                let raw = settings.url.as_deref().unwrap_or_default().trim();
                // People paste the endpoint's prefix; the server root is what we join onto.
                let root = raw
                    .trim_end_matches('/')
                    .trim_end_matches("/api/v1")
                    .trim_end_matches("/api/v2");
                let base = check_url(name, root)?;
                let key = secret("api_key")?;
                let again = format!(
                    "then run `reconcile connect keeper --name {name} --url {}` again",
                    base.as_str().trim_end_matches('/')
                );
                let hint = format!(
                    "Service Mode refused the API key: it may be mistyped or expired (keys made with `service-create -te` expire), or, if the message says \"No active session\", the Commander behind it is not logged in. Log that Commander in as an MSP administrator with persistent login, or make a new key with `service-config`/`service-create`, {again}"
                );
                let forbidden = format!(
                    "Service Mode accepted the API key but its command list does not allow `msp-info`: add `msp-info` to the service's allowed commands (`service-create -c \"msp-info\"`, or edit `command_list` in its service config) and restart the service, {again}"
                );
                let auth =
                    StaticHeaders::header("api-key", &key, hint, forbidden).map_err(|m| {
                        ConnectorError::Invalid {
                            connection: name.into(),
                            message: m,
                        }
                    })?;
                Route::Service(HttpClient::new(name, base, Arc::new(auth), retry))
            }
            Mode::Commander => Route::Commander {
                executable: settings
                    .executable
                    .clone()
                    .unwrap_or_else(|| "keeper".to_string()),
                args: settings.args.clone(),
                timeout: Duration::from_secs(settings.timeout_secs.unwrap_or(DEFAULT_TIMEOUT_SECS)),
            },
        };
        Ok(Keeper {
            name: name.to_string(),
            route,
        })
    }

    fn invalid(&self, message: String) -> ConnectorError {
        ConnectorError::Invalid {
            connection: self.name.clone(),
            message,
        }
    }

    /// Runs `msp-info` through the configured route; the managed companies with their raw JSON.
    async fn managed_companies(&self) -> Result<Tolerant<wire::Company>, ConnectorError> {
        match &self.route {
            Route::Service(client) => self.via_service(client).await,
            Route::Commander {
                executable,
                args,
                timeout,
            } => self.via_commander(executable, args, *timeout).await,
        }
    }

    async fn via_service(
        &self,
        client: &HttpClient,
    ) -> Result<Tolerant<wire::Company>, ConnectorError> {
        // `msp-info` only reads, so the shared layer may safely repeat it on 5xx and 429.
        let body = serde_json::json!({ "command": MSP_INFO });
        let resp = match client.post_json(EXECUTE, &body).await {
            Ok(r) => r,
            // Service Mode answers 400 when Commander itself refused the command.
            Err(ConnectorError::Http {
                status: 400,
                snippet,
                ..
            }) => {
                return Err(self.invalid(format!(
                    "Service Mode ran `{MSP_INFO}` and Commander refused it: {snippet}. {}",
                    COMMAND_HINT
                )));
            }
            Err(e) => return Err(e),
        };
        let env: wire::Envelope = crate::http::decode_one(&self.name, &resp.endpoint, &resp.body)?;
        if env.status.as_deref() == Some("error") {
            return Err(self.invalid(format!(
                "Service Mode ran `{MSP_INFO}` and Commander reported an error: {}. {COMMAND_HINT}",
                env.error.as_deref().unwrap_or("no message")
            )));
        }
        match env.data {
            Some(Value::Array(elements)) => Ok(companies(&resp.endpoint, "data", elements)),
            None | Some(Value::Null) if says_no_companies(&message_text(&env.message)) => {
                Ok(companies(&resp.endpoint, "data", Vec::new()))
            }
            other => Err(ConnectorError::Decode {
                connection: self.name.clone(),
                endpoint: resp.endpoint.clone(),
                path: "data".into(),
                detail: format!(
                    "expected the managed companies as a JSON array, got {}{}",
                    match other {
                        None | Some(Value::Null) => "nothing".to_string(),
                        Some(v) => format!("`{}`", excerpt(&v.to_string())),
                    },
                    match message_text(&env.message) {
                        m if m.is_empty() => String::new(),
                        m => format!(" (message: {})", excerpt(&m)),
                    }
                ),
            }),
        }
    }

    async fn via_commander(
        &self,
        executable: &str,
        args: &[String],
        timeout: Duration,
    ) -> Result<Tolerant<wire::Company>, ConnectorError> {
        let mut full: Vec<String> = args.to_vec();
        full.extend(MSP_INFO.split(' ').map(str::to_string));
        let shown = format!("{executable} {}", full.join(" "));
        let exe = executable.to_string();
        let run = tokio::task::spawn_blocking(move || run_with_timeout(&exe, &full, timeout))
            .await
            .map_err(|e| self.invalid(format!("running `{shown}` failed: {e}")))?;
        let out = match run {
            Ok(o) => o,
            Err(RunError::NotFound) => {
                return Err(self.invalid(format!(
                    "cannot run `{executable}`: no such executable (on PATH or at that path). Install Keeper Commander (`pip install keepercommander`) or set `executable` to the full path of `keeper`"
                )));
            }
            Err(RunError::Spawn(e)) => {
                return Err(self.invalid(format!("cannot run `{shown}`: {e}")));
            }
            Err(RunError::TimedOut) => {
                return Err(self.invalid(format!(
                    "`{shown}` did not finish within {}s and was stopped. It may be waiting for a login: run `keeper login` once and turn on persistent login (`this-device persistent-login on`), or raise `timeout_secs`",
                    timeout.as_secs()
                )));
            }
        };
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            return Err(self.invalid(format!(
                "`{shown}` exited with {}: {}. {LOGIN_HINT}",
                out.status
                    .code()
                    .map(|c| format!("status {c}"))
                    .unwrap_or_else(|| "a signal".into()),
                excerpt_or(&stderr, "no error output"),
            )));
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        let text = stdout.trim();
        if text.is_empty() {
            if says_no_companies(&stderr) {
                return Ok(companies(&shown, "", Vec::new()));
            }
            return Err(self.invalid(format!(
                "`{shown}` printed nothing ({}). {LOGIN_HINT}",
                excerpt_or(&stderr, "no error output either")
            )));
        }
        let endpoint = format!("`{shown}`");
        let value = parse_stdout(text).ok_or_else(|| {
            self.invalid(format!(
                "`{shown}` did not print JSON: it printed `{}`. {LOGIN_HINT}",
                excerpt(text)
            ))
        })?;
        match value {
            Value::Array(elements) => Ok(companies(&endpoint, "", elements)),
            other => Err(ConnectorError::Decode {
                connection: self.name.clone(),
                endpoint,
                path: ".".into(),
                detail: format!(
                    "expected the managed companies as a JSON array, got `{}`",
                    excerpt(&other.to_string())
                ),
            }),
        }
    }
}

/// The managed companies of `msp-info`'s array, read record by record: an odd field is
/// unknown for its company (`convert` decides whether its counts still hold), a company
/// without its id is set aside, named by `endpoint` and place.
fn companies(endpoint: &str, at: &str, elements: Vec<Value>) -> Tolerant<wire::Company> {
    let mut read = decode_tolerant::<wire::Company>(at, 0, elements);
    for s in &mut read.set_aside {
        *s = format!("{endpoint} {s}");
    }
    read
}

const COMMAND_HINT: &str = "Check that the Commander session behind Service Mode is logged in as an MSP administrator (running `msp-info` there lists your managed companies)";
const LOGIN_HINT: &str = "Make sure this Commander is logged in as an MSP administrator without a prompt: run `keeper login` once, then `this-device persistent-login on` (or pass `--config PATH` of a logged-in config with `--arg`), and check that `keeper msp-info` lists your managed companies";

/// What the child process gave back.
struct Output {
    status: std::process::ExitStatus,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

enum RunError {
    NotFound,
    Spawn(std::io::Error),
    TimedOut,
}

/// Runs `exe args` (no shell, stdin closed so a login prompt fails instead of waiting), reading
/// both pipes on threads so a chatty child cannot block, and kills it after `timeout`.
fn run_with_timeout(exe: &str, args: &[String], timeout: Duration) -> Result<Output, RunError> {
    let mut child = Command::new(exe)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                RunError::NotFound
            } else {
                RunError::Spawn(e)
            }
        })?;
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(RunError::TimedOut);
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(RunError::Spawn(e)),
        }
    };
    Ok(Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}

/// Commander's stdout is the JSON report, sometimes after a banner or log line: take the whole
/// text, else from the first line that opens an array.
fn parse_stdout(text: &str) -> Option<Value> {
    if let Ok(v) = serde_json::from_str(text) {
        return Some(v);
    }
    let start = text
        .match_indices('\n')
        .map(|(i, _)| i + 1)
        .find(|&i| text[i..].trim_start().starts_with('['))?;
    serde_json::from_str(&text[start..]).ok()
}

/// `msp-info` logs "No Managed Companies" instead of printing an empty array.
fn says_no_companies(text: &str) -> bool {
    text.to_ascii_lowercase().contains("no managed companies")
}

fn message_text(v: &Option<Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| x.to_string())
            })
            .collect::<Vec<_>>()
            .join("; "),
        Some(other) => other.to_string(),
    }
}

fn excerpt(s: &str) -> String {
    let one: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut e: String = one.chars().take(200).collect();
    if one.chars().count() > 200 {
        e.push('…');
    }
    e
}

fn excerpt_or(s: &str, none: &str) -> String {
    if s.trim().is_empty() {
        none.to_string()
    } else {
        excerpt(s)
    }
}

#[async_trait]
impl Connector for Keeper {
    fn kind(&self) -> ConnectorKind {
        ConnectorKind::Keeper
    }

    async fn check(&self) -> Result<String, ConnectorError> {
        let companies = self.managed_companies().await?;
        let n = companies.records.len();
        let via = match &self.route {
            Route::Service(c) => format!(
                "Service Mode at {}",
                c.base().origin().ascii_serialization()
            ),
            Route::Commander { executable, .. } => format!("`{executable}`"),
        };
        Ok(format!(
            "ran `msp-info` through {via}; {n} managed compan{} readable",
            if n == 1 { "y is" } else { "ies are" }
        ))
    }

    async fn sync(&self, cx: &SyncCx) -> Result<Snapshot, ConnectorError> {
        let companies = self.managed_companies().await?;
        cx.report("managed companies", companies.records.len());
        let snap = snapshot(companies);
        tracing::debug!(connection = %self.name, companies = snap.accounts.len(), items = snap.items.len(), "read Keeper");
        Ok(Snapshot::Vendor(snap))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stdout_may_start_with_a_banner() {
        assert!(parse_stdout("Logging in...\n[{\"a\":1}]").is_some());
        assert!(parse_stdout("not json").is_none());
    }
}
