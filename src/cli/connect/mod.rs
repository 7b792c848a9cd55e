//! `reconcile connect`: verify credentials, store the secret in the keyring and the rest in the
//! config file. Secrets come from a hidden prompt or stdin, never from a flag value.

use std::io::{IsTerminal, Read};

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use secrecy::{ExposeSecret, SecretString};
use toml_edit::Value;

use crate::app::App;
use crate::cli::Exit;
use crate::config::{
    ConfigDocument, ConnectWiseSettings, ConnectionSettings, NinjaOneSettings, NinjaRegion,
    SentinelOneSettings, validate_connection_name,
};
use crate::connectors;
use crate::secrets::SecretSource;

pub mod autotask;
pub mod csv;
pub mod csv_billing;
pub mod halopsa;
pub mod jumpcloud;
pub mod keeper;
pub mod m365;
pub mod sherweb;
pub mod syncro;

/// Add or update a connection: verify it against the API, then save it.
///
/// Non-secret settings go into the config file (comments and layout kept); the secret goes into
/// the OS keyring (on Linux without a Secret Service: the kernel user keyring, lost on reboot).
/// The secret is read from a hidden prompt on a terminal, or from stdin when stdin is not a
/// terminal or with the target's --*-stdin flag.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub target: Target,
}

#[derive(Debug, Subcommand)]
pub enum Target {
    /// Connect NinjaOne (OAuth2 client credentials, scope `monitoring`).
    ///
    /// Create the client in NinjaOne: Administration > Apps > API > Client App IDs > Add,
    /// application platform "API Services (machine-to-machine)", scope Monitoring, grant type
    /// Client Credentials.
    #[command(name = "ninjaone")]
    NinjaOne(NinjaArgs),
    /// Connect ConnectWise PSA (API member keys plus your integration's clientId).
    ///
    /// Create an API member (System > Members > API Members) with a read-only security role, add
    /// an API key to it, and get a clientId at developer.connectwise.com.
    #[command(name = "connectwise")]
    ConnectWise(CwArgs),
    /// Connect SentinelOne (a service user's API token; Viewer role is enough).
    ///
    /// Create the token in the SentinelOne console: Settings > Users > Service Users > New
    /// Service User, role Viewer on the account or site scope, and pick an expiration date.
    #[command(name = "sentinelone")]
    SentinelOne(S1Args),
    /// Connect Microsoft 365 (licenses per customer tenant through the partner's multi-tenant app).
    ///
    /// Register a multi-tenant app in the partner tenant (Entra admin center > App registrations)
    /// with the Microsoft Graph permission LicenseAssignment.Read.All (and
    /// DelegatedAdminRelationship.Read.All to list GDAP customers), add a client secret, and
    /// consent it in each customer tenant.
    #[command(name = "m365")]
    M365(m365::Args),
    /// Connect JumpCloud (an MTP administrator's API key and your provider id).
    ///
    /// Find the Provider ID and generate the API key in the Multi-Tenant Portal: Account
    /// Management > Account Overview, signed in as an administrator with the Read Only role, API
    /// access enabled and access to the client orgs.
    #[command(name = "jumpcloud")]
    JumpCloud(jumpcloud::Args),
    /// Connect Sherweb (API key: client credentials, scope `service-provider`, plus the
    /// Subscription Key).
    #[command(name = "sherweb")]
    Sherweb(sherweb::Args),
    /// Connect Keeper MSP through Keeper Commander (Service Mode or the `keeper` executable).
    #[command(name = "keeper")]
    Keeper(keeper::Args),
    /// Set up a CSV or JSON import: a vendor's export file read through a column profile.
    #[command(name = "csv")]
    Csv(csv::Args),
    /// Connect Autotask PSA (API-only user; zone found from the user name).
    #[command(name = "autotask")]
    Autotask(autotask::Args),
    /// Connect HaloPSA (API application client id and secret; recurring invoices).
    #[command(name = "halopsa")]
    HaloPsa(halopsa::Args),
    /// Connect Syncro (API token; customers, recurring invoices and their lines).
    #[command(name = "syncro")]
    Syncro(syncro::Args),
    /// Set up a CSV billing import: a PSA's billing export read through a column profile.
    #[command(name = "csv-billing")]
    CsvBilling(csv_billing::Args),
}

#[derive(Debug, clap::Args)]
pub struct S1Args {
    /// Connection name, used by other commands and in the keyring
    #[arg(long, default_value = "sentinelone")]
    pub name: String,
    /// Your management console URL: https://<tenant>.sentinelone.net (http:// on loopback only)
    #[arg(long)]
    pub url: String,
    /// Read the API token from stdin instead of a prompt
    #[arg(long)]
    pub api_token_stdin: bool,
    /// Save without checking the token against the API
    #[arg(long)]
    pub no_verify: bool,
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("instance").required(true).args(["region", "url"])))]
pub struct NinjaArgs {
    /// Connection name, used by other commands and in the keyring
    #[arg(long, default_value = "ninjaone")]
    pub name: String,
    /// NinjaOne region of your instance
    #[arg(long, value_enum)]
    pub region: Option<NinjaRegion>,
    /// Instance URL instead of a region (https://..., or http:// on loopback only)
    #[arg(long)]
    pub url: Option<String>,
    /// The API client's Client ID
    #[arg(long)]
    pub client_id: String,
    /// Read the client secret from stdin instead of a prompt
    #[arg(long)]
    pub client_secret_stdin: bool,
    /// Save without checking the credentials against the API
    #[arg(long)]
    pub no_verify: bool,
}

#[derive(Debug, clap::Args)]
pub struct CwArgs {
    /// Connection name, used by other commands and in the keyring
    #[arg(long, default_value = "connectwise")]
    pub name: String,
    /// Your login site: na.myconnectwise.net, eu.myconnectwise.net, au.myconnectwise.net, or
    /// your on-premises host
    #[arg(long)]
    pub site: String,
    /// The company id you log in with
    #[arg(long)]
    pub company_id: String,
    /// The API member's public key
    #[arg(long)]
    pub public_key: String,
    /// Your integration's clientId (a GUID from developer.connectwise.com)
    #[arg(long)]
    pub client_id: String,
    /// Pin the API codebase (e.g. v4_6_release/); discovered through login/companyinfo when not
    /// given
    #[arg(long)]
    pub codebase: Option<String>,
    /// Company type that counts as a billable client (repeat for several); default every type
    #[arg(long = "billable-type", value_name = "TYPE")]
    pub billable_types: Vec<String>,
    /// Read the private key from stdin instead of a prompt
    #[arg(long)]
    pub private_key_stdin: bool,
    /// Save without checking the credentials against the API
    #[arg(long)]
    pub no_verify: bool,
}

/// Everything `connect` saves for one connection.
pub struct Plan {
    pub name: String,
    pub settings: ConnectionSettings,
    pub values: Vec<(&'static str, Value)>,
    /// Keys to drop from an existing entry (`url` when switching to `region`).
    pub remove: Vec<&'static str>,
    pub secrets: Vec<(&'static str, SecretString)>,
}

impl Args {
    pub async fn run(self, app: &App) -> Result<Exit> {
        let (plan, verify) = match self.target {
            Target::NinjaOne(a) => {
                let secret = read_secret("NinjaOne client secret", a.client_secret_stdin)?;
                (
                    ninjaone_plan(&a.name, a.region, a.url, &a.client_id, secret),
                    !a.no_verify,
                )
            }
            Target::ConnectWise(a) => {
                let secret = read_secret("ConnectWise private key", a.private_key_stdin)?;
                let plan = connectwise_plan(
                    &a.name,
                    &a.site,
                    &a.company_id,
                    &a.public_key,
                    &a.client_id,
                    a.codebase,
                    a.billable_types,
                    secret,
                );
                (plan, !a.no_verify)
            }
            Target::SentinelOne(a) => {
                let secret = read_secret("SentinelOne API token", a.api_token_stdin)?;
                (sentinelone_plan(&a.name, &a.url, secret), !a.no_verify)
            }
            Target::M365(a) => a.plan()?,
            Target::JumpCloud(a) => a.plan()?,
            Target::Sherweb(a) => a.plan()?,
            Target::Keeper(a) => a.plan()?,
            Target::Autotask(a) => a.plan()?,
            Target::HaloPsa(a) => a.plan()?,
            Target::Syncro(a) => a.plan()?,
            Target::CsvBilling(a) => a.plan()?,
            Target::Csv(a) => {
                // Re-connecting keeps the saved path and profile unless flags replace them, so
                // the check must read the file the way the next sync will.
                let saved = app
                    .config()
                    .ok()
                    .and_then(|c| match c.connections.get(&a.name) {
                        Some(ConnectionSettings::Csv(s)) => Some(s.clone()),
                        _ => None,
                    });
                a.plan(saved)?
            }
        };
        apply(app, plan, verify).await?;
        Ok(Exit::Ok)
    }
}

pub fn ninjaone_plan(
    name: &str,
    region: Option<NinjaRegion>,
    url: Option<String>,
    client_id: &str,
    secret: SecretString,
) -> Plan {
    let mut values = vec![("kind", Value::from("ninjaone"))];
    let remove;
    if let Some(r) = region {
        values.push(("region", Value::from(r.as_str())));
        remove = vec!["url"];
    } else {
        values.push(("url", Value::from(url.clone().unwrap_or_default())));
        remove = vec!["region"];
    }
    values.push(("client_id", Value::from(client_id)));
    Plan {
        name: name.to_string(),
        settings: ConnectionSettings::Ninjaone(NinjaOneSettings {
            region,
            url,
            client_id: client_id.to_string(),
            page_size: None,
            device_listing: Default::default(),
            secret_command: Default::default(),
        }),
        values,
        remove,
        secrets: vec![("client_secret", secret)],
    }
}

pub fn sentinelone_plan(name: &str, url: &str, secret: SecretString) -> Plan {
    let url = url.trim().trim_end_matches('/').to_string();
    Plan {
        name: name.to_string(),
        settings: ConnectionSettings::Sentinelone(SentinelOneSettings {
            url: url.clone(),
            page_size: None,
            secret_command: Default::default(),
        }),
        values: vec![
            ("kind", Value::from("sentinelone")),
            ("url", Value::from(url)),
        ],
        remove: Vec::new(),
        secrets: vec![("api_token", secret)],
    }
}

#[allow(clippy::too_many_arguments)]
pub fn connectwise_plan(
    name: &str,
    site: &str,
    company_id: &str,
    public_key: &str,
    client_id: &str,
    codebase: Option<String>,
    billable_types: Vec<String>,
    secret: SecretString,
) -> Plan {
    let mut values = vec![
        ("kind", Value::from("connectwise")),
        ("site", Value::from(site)),
        ("company_id", Value::from(company_id)),
        ("public_key", Value::from(public_key)),
        ("client_id", Value::from(client_id)),
    ];
    let mut remove = Vec::new();
    match &codebase {
        Some(c) => values.push(("codebase", Value::from(c.as_str()))),
        None => remove.push("codebase"),
    }
    if !billable_types.is_empty() {
        values.push((
            "billable_company_types",
            Value::Array(billable_types.iter().map(String::as_str).collect()),
        ));
    }
    Plan {
        name: name.to_string(),
        settings: ConnectionSettings::Connectwise(ConnectWiseSettings {
            site: site.to_string(),
            company_id: company_id.to_string(),
            public_key: public_key.to_string(),
            client_id: client_id.to_string(),
            codebase,
            billable_company_types: billable_types,
            page_size: None,
            secret_command: Default::default(),
        }),
        values,
        remove,
        secrets: vec![("private_key", secret)],
    }
}

/// Reads a secret: stdin when asked or when stdin is not a terminal (scripts), else a hidden
/// prompt on the terminal.
pub(crate) fn read_secret(what: &str, from_stdin: bool) -> Result<SecretString> {
    let stdin = std::io::stdin();
    let text = if from_stdin || !stdin.is_terminal() {
        let mut s = String::new();
        stdin
            .lock()
            .read_to_string(&mut s)
            .with_context(|| format!("cannot read the {what} from stdin"))?;
        // Only the line ending `echo` or a here-string adds; inner spaces are the user's.
        s.trim_end_matches(['\n', '\r']).to_string()
    } else {
        rpassword::prompt_password(format!("{what}: "))
            .with_context(|| format!("cannot read the {what} from the terminal"))?
    };
    if text.trim().is_empty() {
        bail!(
            "the {what} is empty: type it at the prompt, or pipe it in (`printf %s \"$SECRET\" | reconcile connect ...`)"
        );
    }
    Ok(SecretString::from(text))
}

/// Verifies (unless told not to), stores the secrets, then writes the config. If the config
/// cannot be written, the secrets just stored are removed again: nothing half-saved.
pub async fn apply(app: &App, plan: Plan, verify: bool) -> Result<()> {
    validate_connection_name(&plan.name)?;
    let kind = plan.settings.kind();
    let mut doc = ConfigDocument::open(&app.paths.config)?;
    if let Ok(config) = app.config()
        && let Some(existing) = config.connections.get(&plan.name)
        && existing.kind() != kind
    {
        bail!(
            "a {} connection named `{}` already exists; pick another name with --name, or remove it first with `reconcile disconnect {}`",
            existing.kind().display_name(),
            plan.name,
            plan.name
        );
    }
    if verify {
        let lookup = |field: &str| -> Result<SecretString> {
            plan.secrets
                .iter()
                .find(|(f, _)| *f == field)
                .map(|(_, s)| SecretString::from(s.expose_secret().to_string()))
                .with_context(|| format!("internal error: no `{field}` given"))
        };
        let connector = connectors::build(&plan.name, &plan.settings, &lookup, app.retry.clone())?;
        let description = connector.check().await.with_context(|| {
            format!(
                "the credentials for `{}` were not saved (use --no-verify to save them without checking)",
                plan.name
            )
        })?;
        app.info(format!("verified {}: {description}", kind.display_name()));
    }
    let mut stored: Vec<&str> = Vec::new();
    for (field, secret) in &plan.secrets {
        match app.secrets.store(&plan.name, field, secret) {
            Ok(source) => {
                app.info(format!("stored `{field}` of `{}` in {source}", plan.name));
                if source == SecretSource::KernelKeyring {
                    app.warn(format!(
                        "no Secret Service is running, so `{field}` went to the kernel user keyring, which is cleared on reboot; run `reconcile connect` again after a reboot, or use {} or a secret_command",
                        crate::secrets::env_var_name(&plan.name, field)
                    ));
                }
                stored.push(field);
            }
            Err(e) => {
                rollback(app, &plan.name, &stored);
                return Err(e.into());
            }
        }
    }
    doc.set_connection(&plan.name, &plan.values, &plan.remove);
    if let Err(e) = doc.save() {
        rollback(app, &plan.name, &stored);
        return Err(e);
    }
    app.info(format!(
        "saved connection `{}` ({}) in {}",
        plan.name,
        kind.display_name(),
        app.paths.config.display()
    ));
    Ok(())
}

fn rollback(app: &App, name: &str, fields: &[&str]) {
    for f in fields {
        let _ = app.secrets.delete(name, f);
    }
}
