//! `reconcile connect halopsa`: the instance URL, the API application's client id, the tenant
//! (hosted instances) and the billable-client filters as flags; the client secret from a hidden
//! prompt or stdin, never from a flag.

use anyhow::Result;

use super::Settings;
use crate::connectors::{
    Common, ConnectArgs, KindSettings, NewConnection, clean_list, clean_url, read_secret,
    read_two_secrets,
};

/// Connect HaloPSA (API application client id and secret; recurring invoices).
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    #[command(flatten)]
    pub common: Common,
    /// The Halo instance, e.g. https://acme.halopsa.com (the API is at URL/api)
    #[arg(long)]
    pub url: String,
    /// The API application's Client ID
    #[arg(long)]
    pub client_id: String,
    /// Hosted (halopsa.com) instances: the tenant name sent with the token request
    #[arg(long)]
    pub tenant: Option<String>,
    /// Pin the auth server instead of asking URL/api/authinfo
    #[arg(long)]
    pub auth_url: Option<String>,
    /// OAuth scope (default `all`; or the application's read scopes, space separated)
    #[arg(long)]
    pub scope: Option<String>,
    /// Only clients of this customer type bill (name or id; repeat for several)
    #[arg(long = "billable-client-type")]
    pub billable_client_types: Vec<String>,
    /// Only clients under this top level bill (name or id; repeat for several)
    #[arg(long = "billable-top-level")]
    pub billable_top_levels: Vec<String>,
    /// Let `reconcile push` change recurring-invoice lines (quantity, and unit cost where a
    /// mapping opts in). The application's agent that writes needs edit rights on recurring
    /// invoices (and the `edit:invoices` permission, or `all`); without this flag the
    /// connection stays read-only
    #[arg(long)]
    pub allow_write: bool,
    /// A second API application's Client ID, used only for writes; its secret is asked for
    /// after the read application's (or is the second line of stdin)
    #[arg(long, requires = "allow_write")]
    pub write_client_id: Option<String>,
    /// Read the client secret from stdin instead of a hidden prompt (with --write-client-id:
    /// two lines, the read secret, then the write secret)
    #[arg(long)]
    pub client_secret_stdin: bool,
}

const AFTER_HELP: &str = "\
Create the credential in HaloPSA: Configuration > Integrations > HaloPSA API > View Applications >
New. Authentication method: Client ID and Secret (Services); Login type: Agent, with an agent whose
role can view Customers, Contracts, Items and Billing (recurring invoices). On the Permissions tab
grant read:customers, read:invoices, read:contracts and read:items (or `all`). Copy the Client ID
and the Client Secret.

The secret is read from a hidden prompt, or from stdin when stdin is not a terminal:

  printf '%s' \"$HALO_SECRET\" | reconcile connect halopsa --url https://acme.halopsa.com --client-id \"$HALO_ID\" --tenant acme";

impl ConnectArgs for Args {
    type Settings = Settings;

    fn common(&self) -> &Common {
        &self.common
    }

    fn into_connection(self, saved: Option<&Settings>) -> Result<NewConnection<Settings>> {
        let settings = self.settings(saved);
        settings.validate(&self.common.name_or(Settings::KIND.key))?;
        let secrets = if settings.write_client_id.is_some() {
            let (read, write) = read_two_secrets(
                ("HaloPSA client secret", "HaloPSA write client secret"),
                self.client_secret_stdin,
            )?;
            vec![
                ("client_secret", read),
                (super::settings::WRITE_SECRET, write),
            ]
        } else {
            vec![(
                "client_secret",
                read_secret("HaloPSA client secret", self.client_secret_stdin)?,
            )]
        };
        Ok(NewConnection::new(&self.common, settings, secrets))
    }
}

impl Args {
    /// The settings the flags give (trimmed, empty values dropped); `page_size` has no flag
    /// and keeps its saved value.
    fn settings(&self, saved: Option<&Settings>) -> Settings {
        Settings {
            url: self.url.trim().trim_end_matches('/').to_string(),
            client_id: self.client_id.trim().to_string(),
            tenant: clean_url(self.tenant.clone()),
            auth_url: clean_url(self.auth_url.clone()),
            scope: clean_url(self.scope.clone()),
            billable_client_types: clean_list(self.billable_client_types.clone()),
            billable_top_levels: clean_list(self.billable_top_levels.clone()),
            page_size: saved.and_then(|s| s.page_size),
            allow_write: self.allow_write,
            write_client_id: clean_url(self.write_client_id.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    #[test]
    fn flags_are_trimmed_and_empty_values_dropped() {
        let cli = Cli::parse_from([
            "x",
            "--url",
            "https://acme.halopsa.com/",
            "--client-id",
            " id ",
            "--tenant",
            "acme",
            "--auth-url",
            " ",
            "--billable-client-type",
            "Managed",
            "--billable-client-type",
            " ",
            "--client-secret-stdin",
        ]);
        let s = cli.args.settings(None);
        assert_eq!(s.url, "https://acme.halopsa.com");
        assert_eq!(s.client_id, "id");
        assert_eq!(s.auth_url, None);
        assert_eq!(s.billable_client_types, ["Managed"]);
        let table = crate::connectors::ConnectionSettings::from(s)
            .to_table()
            .unwrap();
        let keys: Vec<&str> = table.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["url", "client_id", "tenant", "billable_client_types"]
        );
    }
}
