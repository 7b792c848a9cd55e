//! `reconcile connect autotask`: the API-only user's user name and API Tracking Identifier as
//! flags, its secret from a hidden prompt or stdin (never a flag).

use anyhow::{Result, bail};
use secrecy::SecretString;
use toml_edit::Value;

use super::{Plan, read_secret};
use crate::config::ConnectionSettings;
use crate::connectors::autotask::Settings;

// `connect autotask` flags. The variant's doc comment in `connect/mod.rs` is the summary;
// `after_help` says where the credentials come from.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// Connection name, used by other commands and in the keyring
    #[arg(long, default_value = "autotask")]
    pub name: String,
    /// The API-only user's user name (api@example.com); also finds the database's zone
    #[arg(long)]
    pub username: String,
    /// The API user's API Tracking Identifier (sent as ApiIntegrationCode)
    #[arg(long)]
    pub integration_code: String,
    /// Company type (picklist label such as Customer, or its number) whose companies are
    /// billable; repeat for several. Default: Customer
    #[arg(long = "billable-type", value_name = "TYPE")]
    pub billable_types: Vec<String>,
    /// The Service field a line's product is identified by (default: name)
    #[arg(long, value_name = "FIELD")]
    pub product_field: Option<String>,
    /// Zone lookup base URL (default https://webservices.autotask.net/atservicesrest/; http://
    /// on loopback only)
    #[arg(long)]
    pub zone_lookup_url: Option<String>,
    /// Read the secret from stdin instead of a prompt
    #[arg(long)]
    pub secret_stdin: bool,
    /// Save without checking the credentials against the API
    #[arg(long)]
    pub no_verify: bool,
}

const AFTER_HELP: &str = "\
Create an API-only user in Autotask: Admin > Account Settings & Users > Resources/Users > New
API User. Give it the `API User (system)` security level (or one that can view Companies,
Contracts and Services), generate its secret, and under API Tracking Identifier choose Custom
(Internal Integration) and name it: that identifier is --integration-code.

The secret is read from a hidden prompt, or from stdin when stdin is not a terminal or with
--secret-stdin:

  printf '%s' \"$AT_SECRET\" | reconcile connect autotask --username api@example.com --integration-code \"$AT_CODE\"";

impl Args {
    /// What to save, and whether to verify it first. Secrets are read here (through
    /// [`super::read_secret`]), never from a flag value.
    pub fn plan(self) -> Result<(Plan, bool)> {
        if self.username.trim().is_empty() || self.integration_code.trim().is_empty() {
            bail!("--username and --integration-code must not be empty");
        }
        let secret = read_secret("Autotask API user secret", self.secret_stdin)?;
        let settings = Settings {
            username: self.username.trim().to_string(),
            integration_code: self.integration_code.trim().to_string(),
            zone_lookup_url: self
                .zone_lookup_url
                .map(|u| u.trim().to_string())
                .filter(|u| !u.is_empty()),
            billable_company_types: if self.billable_types.is_empty() {
                vec!["Customer".into()]
            } else {
                self.billable_types
            },
            product_field: self.product_field.filter(|f| !f.trim().is_empty()),
            max_threshold_percent: None,
            history_days: None,
            secret_command: Default::default(),
        };
        Ok((plan(&self.name, settings, secret), !self.no_verify))
    }
}

/// The plan for `settings` and `secret` (the demo calls this without reading stdin).
pub fn plan(name: &str, settings: Settings, secret: SecretString) -> Plan {
    let mut values = vec![
        ("kind", Value::from("autotask")),
        ("username", Value::from(settings.username.as_str())),
        (
            "integration_code",
            Value::from(settings.integration_code.as_str()),
        ),
        (
            "billable_company_types",
            Value::Array(
                settings
                    .billable_company_types
                    .iter()
                    .map(String::as_str)
                    .collect(),
            ),
        ),
    ];
    let mut remove = Vec::new();
    match &settings.zone_lookup_url {
        Some(u) => values.push(("zone_lookup_url", Value::from(u.as_str()))),
        None => remove.push("zone_lookup_url"),
    }
    match &settings.product_field {
        Some(f) => values.push(("product_field", Value::from(f.as_str()))),
        None => remove.push("product_field"),
    }
    Plan {
        name: name.to_string(),
        settings: ConnectionSettings::Autotask(settings),
        values,
        remove,
        secrets: vec![("secret", secret)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_writes_no_secret_and_drops_unset_keys() {
        let p = plan(
            "at",
            Settings {
                username: "api@x.example".into(),
                integration_code: "CODE".into(),
                zone_lookup_url: None,
                billable_company_types: vec!["Customer".into()],
                product_field: None,
                max_threshold_percent: None,
                history_days: None,
                secret_command: Default::default(),
            },
            SecretString::from("the-secret"),
        );
        let written: Vec<String> = p.values.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let text = written.join("\n");
        assert!(text.contains("kind=\"autotask\""), "{text}");
        assert!(text.contains("integration_code=\"CODE\""), "{text}");
        assert!(!text.contains("the-secret"), "{text}");
        assert_eq!(p.remove, vec!["zone_lookup_url", "product_field"]);
        assert_eq!(p.secrets.len(), 1);
        assert_eq!(p.secrets[0].0, "secret");
    }
}
