//! `reconcile connect m365`: the partner's multi-tenant app (client ID + secret, and a partner
//! user's refresh token in refresh-token mode), the partner tenant, and optionally the customer
//! tenants, other hosts and Partner Center.

use anyhow::{Result, bail};

use super::{AuthMode, Settings, Tenant};
use crate::connectors::{
    Common, ConnectArgs, KindSettings, NewConnection, clean_url, read_secret, read_two_secrets,
};

/// Connect Microsoft 365 (licenses per customer tenant through the partner's multi-tenant app).
///
/// Register a multi-tenant app in the partner tenant (Entra admin center > App registrations)
/// with the Microsoft Graph permission LicenseAssignment.Read.All (and
/// DelegatedAdminRelationship.Read.All to list GDAP customers), add a client secret, and
/// consent it in each customer tenant.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub common: Common,
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
}

impl ConnectArgs for Args {
    type Settings = Settings;

    fn common(&self) -> &Common {
        &self.common
    }

    fn into_connection(self, _saved: Option<&Settings>) -> Result<NewConnection<Settings>> {
        let tenants = self
            .tenants
            .iter()
            .map(|t| parse_tenant(t))
            .collect::<Result<Vec<_>>>()?;
        let settings = Settings {
            partner_tenant_id: self.partner_tenant.trim().to_string(),
            client_id: self.client_id.trim().to_string(),
            auth: self.auth,
            tenants,
            token_host: clean_url(self.token_host),
            graph_host: clean_url(self.graph_host),
            partner_center: self.partner_center,
            partner_center_host: clean_url(self.partner_center_host),
        };
        settings.validate(&self.common.name_or(Settings::KIND.key))?;
        let secrets = match self.auth {
            AuthMode::ClientCredentials => vec![(
                "client_secret",
                read_secret("Microsoft 365 app client secret", self.client_secret_stdin)?,
            )],
            AuthMode::RefreshToken => {
                let (secret, refresh) = read_two_secrets(
                    (
                        "Microsoft 365 app client secret",
                        "partner user's refresh token",
                    ),
                    self.client_secret_stdin,
                )?;
                vec![("client_secret", secret), ("refresh_token", refresh)]
            }
        };
        Ok(NewConnection::new(&self.common, settings, secrets))
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
