//! `reconcile connect halopsa`: the instance URL, the API application's client id, the tenant
//! (hosted instances) and the billable-client filters as flags; the client secret from a hidden
//! prompt or stdin, never from a flag.

use anyhow::Result;
use secrecy::SecretString;
use toml_edit::Value;

use super::{Plan, read_secret};
use crate::config::ConnectionSettings;
use crate::connectors::halopsa::Settings;

#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// Connection name, used by other commands and in the keyring
    #[arg(long, default_value = "halopsa")]
    pub name: String,
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
    /// Read the client secret from stdin instead of a hidden prompt
    #[arg(long)]
    pub client_secret_stdin: bool,
    /// Save without checking the credentials against the API
    #[arg(long)]
    pub no_verify: bool,
}

const AFTER_HELP: &str = "\
Create the credential in HaloPSA: Configuration > Integrations > HaloPSA API > View Applications >
New. Authentication method: Client ID and Secret (Services); Login type: Agent, with an agent whose
role can view Customers, Contracts, Items and Billing (recurring invoices). On the Permissions tab
grant read:customers, read:invoices, read:contracts and read:items (or `all`). Copy the Client ID
and the Client Secret.

The secret is read from a hidden prompt, or from stdin when stdin is not a terminal:

  printf '%s' \"$HALO_SECRET\" | reconcile connect halopsa --url https://acme.halopsa.com --client-id \"$HALO_ID\" --tenant acme";

impl Args {
    /// What to save, and whether to verify it first. Secrets are read here (through
    /// [`super::read_secret`]), never from a flag value.
    pub fn plan(self) -> Result<(Plan, bool)> {
        let secret = read_secret("HaloPSA client secret", self.client_secret_stdin)?;
        let settings = Settings {
            url: self.url,
            client_id: self.client_id,
            tenant: self.tenant,
            auth_url: self.auth_url,
            scope: self.scope,
            billable_client_types: self.billable_client_types,
            billable_top_levels: self.billable_top_levels,
            page_size: None,
            secret_command: Default::default(),
        };
        let p = plan(&self.name, settings, secret);
        if let ConnectionSettings::HaloPsa(s) = &p.settings {
            s.validate(&self.name)?;
        }
        Ok((p, !self.no_verify))
    }
}

/// The plan for `settings` (trimmed; empty optional values dropped) and the client secret.
pub fn plan(name: &str, settings: Settings, client_secret: SecretString) -> Plan {
    let clean = |u: Option<String>| {
        u.map(|u| u.trim().trim_end_matches('/').to_string())
            .filter(|u| !u.is_empty())
    };
    let list = |l: Vec<String>| -> Vec<String> {
        l.into_iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let s = Settings {
        url: settings.url.trim().trim_end_matches('/').to_string(),
        client_id: settings.client_id.trim().to_string(),
        tenant: clean(settings.tenant),
        auth_url: clean(settings.auth_url),
        scope: clean(settings.scope),
        billable_client_types: list(settings.billable_client_types),
        billable_top_levels: list(settings.billable_top_levels),
        page_size: settings.page_size,
        secret_command: settings.secret_command,
    };
    let mut values = vec![
        ("kind", Value::from("halopsa")),
        ("url", Value::from(s.url.as_str())),
        ("client_id", Value::from(s.client_id.as_str())),
    ];
    let mut remove = Vec::new();
    for (key, v) in [
        ("tenant", &s.tenant),
        ("auth_url", &s.auth_url),
        ("scope", &s.scope),
    ] {
        match v {
            Some(u) => values.push((key, Value::from(u.as_str()))),
            None => remove.push(key),
        }
    }
    for (key, v) in [
        ("billable_client_types", &s.billable_client_types),
        ("billable_top_levels", &s.billable_top_levels),
    ] {
        if v.is_empty() {
            remove.push(key);
        } else {
            values.push((key, Value::Array(v.iter().map(String::as_str).collect())));
        }
    }
    if let Some(n) = s.page_size {
        values.push(("page_size", Value::from(n as i64)));
    }
    Plan {
        name: name.to_string(),
        settings: ConnectionSettings::HaloPsa(s),
        values,
        remove,
        secrets: vec![("client_secret", client_secret)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_writes_only_what_was_given() {
        let p = plan(
            "halo",
            Settings {
                url: "https://acme.halopsa.com/".into(),
                client_id: " id ".into(),
                tenant: Some("acme".into()),
                auth_url: Some(" ".into()),
                scope: None,
                billable_client_types: vec!["Managed".into(), " ".into()],
                billable_top_levels: vec![],
                page_size: None,
                secret_command: Default::default(),
            },
            SecretString::from("s"),
        );
        let keys: Vec<&str> = p.values.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            keys,
            [
                "kind",
                "url",
                "client_id",
                "tenant",
                "billable_client_types"
            ]
        );
        assert_eq!(p.remove, ["auth_url", "scope", "billable_top_levels"]);
        let ConnectionSettings::HaloPsa(s) = &p.settings else {
            panic!()
        };
        assert_eq!(s.url, "https://acme.halopsa.com");
        assert_eq!(s.client_id, "id");
        assert_eq!(s.billable_client_types, ["Managed"]);
    }
}
