//! `reconcile connect m365`: the partner's multi-tenant app (client ID + secret, and a partner
//! user's refresh token in refresh-token mode), the partner tenant, and optionally the customer
//! tenants, other hosts and Partner Center.

use std::io::{IsTerminal, Read};

use anyhow::{Context, Result, bail};
use secrecy::SecretString;
use toml_edit::{Array, InlineTable, Value};

use super::{Plan, read_secret};
use crate::config::ConnectionSettings;
use crate::connectors::m365::{AuthMode, Settings, Tenant};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Connection name, used by other commands and in the keyring
    #[arg(long, default_value = "m365")]
    pub name: String,
    /// Your partner tenant: its tenant ID (a GUID) or its onmicrosoft.com domain
    #[arg(long = "partner-tenant", value_name = "TENANT")]
    pub partner_tenant: String,
    /// The multi-tenant app registration's Application (client) ID
    #[arg(long)]
    pub client_id: String,
    /// How each customer tenant's token is obtained: the app consented in each tenant
    /// (client-credentials), or a partner user's refresh token through GDAP (refresh-token)
    #[arg(long, value_enum, default_value = "client-credentials")]
    pub auth: AuthMode,
    /// A customer tenant to read, as ID or ID=NAME (repeat for several); without any, the
    /// tenants are listed from your GDAP customers
    #[arg(long = "tenant", value_name = "ID[=NAME]")]
    pub tenants: Vec<String>,
    /// Also read each tenant's Partner Center subscriptions (needs the app registered in
    /// Partner Center)
    #[arg(long)]
    pub partner_center: bool,
    /// Token host for sovereign clouds or tests (default https://login.microsoftonline.com)
    #[arg(long)]
    pub token_host: Option<String>,
    /// Graph host for sovereign clouds or tests (default https://graph.microsoft.com)
    #[arg(long)]
    pub graph_host: Option<String>,
    /// Partner Center host (default https://api.partnercenter.microsoft.com)
    #[arg(long)]
    pub partner_center_host: Option<String>,
    /// Read the client secret from stdin instead of a prompt (refresh-token mode: the client
    /// secret on the first line, the refresh token on the second)
    #[arg(long)]
    pub client_secret_stdin: bool,
    /// Save without checking the credentials against the API
    #[arg(long)]
    pub no_verify: bool,
}

impl Args {
    /// What to save, and whether to verify it first. Secrets are read here (through
    /// [`super::read_secret`]), never from a flag value.
    pub fn plan(self) -> Result<(Plan, bool)> {
        let tenants = self
            .tenants
            .iter()
            .map(|t| parse_tenant(t))
            .collect::<Result<Vec<_>>>()?;
        let secrets = match self.auth {
            AuthMode::ClientCredentials => vec![(
                "client_secret",
                read_secret("Microsoft 365 app client secret", self.client_secret_stdin)?,
            )],
            AuthMode::RefreshToken => {
                let (secret, refresh) = read_two(self.client_secret_stdin)?;
                vec![("client_secret", secret), ("refresh_token", refresh)]
            }
        };
        let trim = |h: Option<String>| h.map(|h| h.trim().trim_end_matches('/').to_string());
        let settings = Settings {
            partner_tenant_id: self.partner_tenant.trim().to_string(),
            client_id: self.client_id.trim().to_string(),
            auth: self.auth,
            tenants,
            token_host: trim(self.token_host),
            graph_host: trim(self.graph_host),
            partner_center: self.partner_center,
            partner_center_host: trim(self.partner_center_host),
            secret_command: Default::default(),
        };
        settings.validate(&self.name)?;
        Ok((plan(&self.name, settings, secrets), !self.no_verify))
    }
}

/// `ID` or `ID=NAME`.
fn parse_tenant(raw: &str) -> Result<Tenant> {
    let (id, name) = match raw.split_once('=') {
        Some((id, name)) => (id.trim(), Some(name.trim().to_string())),
        None => (raw.trim(), None),
    };
    if id.is_empty() {
        bail!("--tenant `{raw}` has no tenant ID; give it as ID or ID=NAME");
    }
    Ok(Tenant {
        id: id.to_string(),
        name: name.filter(|n| !n.is_empty()),
    })
}

/// The client secret and the refresh token: two prompts on a terminal, two lines on stdin.
fn read_two(from_stdin: bool) -> Result<(SecretString, SecretString)> {
    let stdin = std::io::stdin();
    if !from_stdin && stdin.is_terminal() {
        return Ok((
            read_secret("Microsoft 365 app client secret", false)?,
            read_secret("partner user's refresh token", false)?,
        ));
    }
    let mut s = String::new();
    stdin
        .lock()
        .read_to_string(&mut s)
        .context("cannot read the client secret and refresh token from stdin")?;
    let mut lines = s.lines().map(|l| l.trim_end_matches('\r'));
    match (lines.next(), lines.next()) {
        (Some(a), Some(b)) if !a.trim().is_empty() && !b.trim().is_empty() => Ok((
            SecretString::from(a.to_string()),
            SecretString::from(b.to_string()),
        )),
        _ => bail!(
            "refresh-token mode reads two lines from stdin: the client secret, then the refresh token"
        ),
    }
}

/// The config entry for `settings`; keys left at their default are removed from an old entry.
pub fn plan(name: &str, settings: Settings, secrets: Vec<(&'static str, SecretString)>) -> Plan {
    let mut values = vec![
        ("kind", Value::from("m365")),
        (
            "partner_tenant_id",
            Value::from(settings.partner_tenant_id.as_str()),
        ),
        ("client_id", Value::from(settings.client_id.as_str())),
        ("auth", Value::from(settings.auth.as_str())),
    ];
    let mut remove = Vec::new();
    if settings.tenants.is_empty() {
        remove.push("tenants");
    } else {
        let list: Array = settings
            .tenants
            .iter()
            .map(|t| {
                let mut table = InlineTable::new();
                table.insert("id", Value::from(t.id.as_str()));
                if let Some(n) = &t.name {
                    table.insert("name", Value::from(n.as_str()));
                }
                Value::InlineTable(table)
            })
            .collect();
        values.push(("tenants", Value::Array(list)));
    }
    for (key, v) in [
        ("token_host", &settings.token_host),
        ("graph_host", &settings.graph_host),
        ("partner_center_host", &settings.partner_center_host),
    ] {
        match v {
            Some(h) => values.push((key, Value::from(h.as_str()))),
            None => remove.push(key),
        }
    }
    if settings.partner_center {
        values.push(("partner_center", Value::from(true)));
    } else {
        remove.push("partner_center");
    }
    Plan {
        name: name.to_string(),
        settings: ConnectionSettings::M365(settings),
        values,
        remove,
        secrets,
    }
}
