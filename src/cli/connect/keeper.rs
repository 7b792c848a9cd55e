//! `reconcile connect keeper`: a Keeper MSP connection through Keeper Commander, either its
//! Service Mode REST server (`--url`, API key read like every other secret) or the local
//! `keeper` executable (`--commander`, no secret: Commander keeps its own login).

use anyhow::{Result, bail};
use toml_edit::Value;

use super::{Plan, read_secret};
use crate::config::ConnectionSettings;
use crate::connectors::keeper::{Mode, Settings};

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("route").required(true).args(["url", "commander"])))]
pub struct Args {
    /// Connection name, used by other commands and in the keyring
    #[arg(long, default_value = "keeper")]
    pub name: String,
    /// Service mode: your Commander Service Mode server, https://host:port (http:// on
    /// loopback only). The API key is then prompted for, or read from stdin
    #[arg(long)]
    pub url: Option<String>,
    /// Commander mode: run the local `keeper` executable instead (it must be logged in as an
    /// MSP administrator with persistent login); no secret is stored
    #[arg(long)]
    pub commander: bool,
    /// Commander mode: path of the `keeper` executable (default: `keeper` on PATH)
    #[arg(long, requires = "commander")]
    pub executable: Option<String>,
    /// Commander mode: an argument put before the command, e.g. `--arg=--config
    /// --arg=/etc/keeper/config.json` (repeat for several)
    #[arg(long = "arg", requires = "commander", allow_hyphen_values = true)]
    pub args: Vec<String>,
    /// Commander mode: seconds `keeper` may run before it is stopped (default 120)
    #[arg(long, requires = "commander")]
    pub timeout_secs: Option<u64>,
    /// Service mode: read the API key from stdin instead of a prompt
    #[arg(long, requires = "url")]
    pub api_key_stdin: bool,
    /// Save without running `msp-info` once to check the set-up
    #[arg(long)]
    pub no_verify: bool,
}

impl Args {
    /// What to save, and whether to verify it first. Secrets are read here (through
    /// [`super::read_secret`]), never from a flag value.
    pub fn plan(self) -> Result<(Plan, bool)> {
        let verify = !self.no_verify;
        if let Some(url) = self.url {
            let url = url.trim().trim_end_matches('/').to_string();
            let key = read_secret("Keeper Service Mode API key", self.api_key_stdin)?;
            return Ok((service_plan(&self.name, &url, key), verify));
        }
        if !self.commander {
            bail!("give --url (Service Mode) or --commander (the local `keeper` executable)");
        }
        Ok((
            commander_plan(&self.name, self.executable, self.args, self.timeout_secs),
            verify,
        ))
    }
}

/// A Service Mode connection.
pub fn service_plan(name: &str, url: &str, key: secrecy::SecretString) -> Plan {
    Plan {
        name: name.to_string(),
        settings: ConnectionSettings::Keeper(Settings {
            mode: Mode::Service,
            url: Some(url.to_string()),
            executable: None,
            args: Vec::new(),
            timeout_secs: None,
            secret_command: Default::default(),
        }),
        values: vec![
            ("kind", Value::from("keeper")),
            ("mode", Value::from("service")),
            ("url", Value::from(url)),
        ],
        remove: vec!["executable", "args", "timeout_secs"],
        secrets: vec![("api_key", key)],
    }
}

/// A connection that runs the local `keeper` executable.
pub fn commander_plan(
    name: &str,
    executable: Option<String>,
    args: Vec<String>,
    timeout_secs: Option<u64>,
) -> Plan {
    let mut values = vec![
        ("kind", Value::from("keeper")),
        ("mode", Value::from("commander")),
    ];
    let mut remove = vec!["url"];
    match &executable {
        Some(e) => values.push(("executable", Value::from(e.as_str()))),
        None => remove.push("executable"),
    }
    if args.is_empty() {
        remove.push("args");
    } else {
        values.push((
            "args",
            Value::Array(args.iter().map(String::as_str).collect()),
        ));
    }
    match timeout_secs {
        Some(t) => values.push(("timeout_secs", Value::from(t as i64))),
        None => remove.push("timeout_secs"),
    }
    Plan {
        name: name.to_string(),
        settings: ConnectionSettings::Keeper(Settings {
            mode: Mode::Commander,
            url: None,
            executable,
            args,
            timeout_secs,
            secret_command: Default::default(),
        }),
        values,
        remove,
        secrets: Vec::new(),
    }
}
