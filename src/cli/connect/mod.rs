//! `reconcile connect`: verify credentials, store the secret in the keyring and the rest in the
//! config file; `--reauth` re-enters only the secrets of saved connections (`reauth.rs`).
//! Secrets come from a hidden prompt or stdin, never from a flag value.

mod reauth;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use secrecy::{ExposeSecret, SecretString};

use crate::app::App;
use crate::cli::Exit;
use crate::config::{ConfigDocument, validate_connection_name};
use crate::connectors::{
    self, ConnectArgs, ConnectionSettings, KindSettings, Registered, SecretStore,
};
use crate::secrets::SecretSource;

/// Add or update a connection: verify it against the API, then save it.
///
/// Non-secret settings go into the config file (comments and layout kept); the secret goes into
/// the OS keyring (on Linux without a Secret Service: the kernel user keyring, lost on reboot).
/// The secret is read from a hidden prompt on a terminal, or from stdin when stdin is not a
/// terminal or with the target's --*-stdin flag.
///
/// After a reboot cleared the kernel keyring, or when a key was rotated, `--reauth NAME` asks
/// only for the secrets of a saved connection (several: repeat it, or `--reauth-all`), verifies
/// them as connect does, and stores them; its settings stay as saved.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    pub target: Option<Target>,
    /// Re-enter only the secrets of this saved connection (repeat for several). On a terminal
    /// each is a hidden prompt; otherwise stdin holds one per line, in the order the
    /// connections are named and, within one, the order `reconcile status` lists its secrets
    #[arg(long, value_name = "NAME", add = crate::cli::complete::connections())]
    pub reauth: Vec<String>,
    /// Re-enter the secrets of every saved connection that keeps them in the keyring, in name
    /// order (connections whose secrets come from a secret_command are left alone)
    #[arg(long, conflicts_with = "reauth")]
    pub reauth_all: bool,
    /// With --reauth: store the secrets without checking them against the API first
    #[arg(long)]
    pub no_verify: bool,
    /// With --reauth: where the secrets go (`auto`: the Secret Service when this session
    /// reaches one, else the kernel user keyring; `kernel`: the kernel user keyring, which cron
    /// jobs of the same user can read)
    #[arg(long, value_enum, default_value_t = SecretStore::Auto)]
    pub store: SecretStore,
}

/// One subcommand per connector kind, named by its key; each kind's flags (and their doc
/// comments, the `--help`) live in its connector folder.
macro_rules! connect_targets {
    ($($variant:ident => $module:ident),* $(,)?) => {
        #[derive(Debug, Subcommand)]
        pub enum Target {
            $(
                #[command(name = <connectors::$module::Settings as KindSettings>::KIND.key)]
                $variant(connectors::$module::Args),
            )*
        }

        impl Target {
            async fn run(self, app: &App) -> Result<()> {
                match self {
                    $(Target::$variant(a) => connect::<connectors::$module::Settings>(app, a).await,)*
                }
            }
        }
    };
}
connectors::for_each_kind!(connect_targets);

impl Args {
    pub async fn run(self, app: &App) -> Result<Exit> {
        match self.target {
            // clap refuses connect's own flags next to a kind, so these are for --reauth.
            Some(target) => target.run(app).await?,
            None if self.reauth_all => reauth::run(app, None, self.no_verify, self.store).await?,
            None if !self.reauth.is_empty() => {
                reauth::run(app, Some(&self.reauth), self.no_verify, self.store).await?
            }
            None => bail!(
                "say what to connect: `reconcile connect <kind> ...` (see `reconcile connect --help` for the kinds), or `reconcile connect --reauth NAME` to re-enter the secrets of a saved connection"
            ),
        }
        Ok(Exit::Ok)
    }
}

/// `connect <kind>`: the flags become the kind's settings (keys without a flag keep their saved
/// value when the connection exists), then [`save`].
async fn connect<S: Registered>(app: &App, args: S::Args) -> Result<()> {
    let name = args.common().name_or(S::KIND.key);
    let store = args.common().store;
    let saved = app.config().ok().and_then(|c| {
        c.connections
            .get(&name)
            .and_then(|c| S::of(&c.settings).cloned())
    });
    let new = args.into_connection(saved.as_ref())?;
    save(
        app,
        &name,
        new.settings.into(),
        new.secrets,
        new.verify,
        store,
    )
    .await
}

/// Saves connection `name`: verifies it (unless told not to), stores the secrets, then writes the config. If the config
/// cannot be written, the secrets just stored are removed again: nothing half-saved.
pub async fn save(
    app: &App,
    name: &str,
    settings: ConnectionSettings,
    secrets: Vec<(&'static str, SecretString)>,
    verify: bool,
    store: SecretStore,
) -> Result<()> {
    validate_connection_name(name)?;
    settings.validate(name)?;
    let kind = settings.kind();
    let mut doc = ConfigDocument::open(&app.paths.config)?;
    if let Ok(config) = app.config()
        && let Some(existing) = config.connections.get(name)
        && existing.kind() != kind
    {
        bail!(
            "a {} connection named `{}` already exists; pick another name with --name, or remove it first with `reconcile disconnect {}`",
            existing.kind().display_name(),
            name,
            name
        );
    }
    if verify {
        let lookup = |field: &str| -> Result<SecretString> {
            secrets
                .iter()
                .find(|(f, _)| *f == field)
                .map(|(_, s)| SecretString::from(s.expose_secret().to_string()))
                .with_context(|| format!("internal error: no `{field}` given"))
        };
        check(app, name, &settings, &lookup).await?;
    }
    let keyring_id = doc.ensure_keyring_id();
    app.secrets.set_namespace(&keyring_id);
    let stored = store_secrets(app, name, &secrets, store)?;
    doc.set_connection(name, &settings)?;
    if let Err(e) = doc.save() {
        rollback(app, name, &stored);
        return Err(e);
    }
    app.info(format!(
        "saved connection `{}` ({}) in {}",
        name,
        kind.display_name(),
        app.paths.config.display()
    ));
    Ok(())
}

/// Checks connection `name` against its API with the secrets `lookup` gives, and says what it saw.
async fn check(
    app: &App,
    name: &str,
    settings: &ConnectionSettings,
    lookup: connectors::SecretFn<'_>,
) -> Result<()> {
    let connector = settings.connect(name, lookup, app.retry.clone())?;
    let description = connector.check().await.with_context(|| {
        if settings.kind().reads_files() {
            format!(
                "`{name}` was not saved: its file did not import cleanly (fix the file or the flags, or use --no-verify to save it without checking)"
            )
        } else {
            format!(
                "the credentials for `{name}` were not saved (use --no-verify to save them without checking)"
            )
        }
    })?;
    app.info(format!(
        "verified {}: {description}",
        settings.kind().display_name()
    ));
    Ok(())
}

/// Stores the secrets of connection `name`, saying where each went. If one cannot be stored, the
/// ones just stored are removed again and the error returned: never a half-stored set.
fn store_secrets<'a>(
    app: &App,
    name: &str,
    secrets: &'a [(&'static str, SecretString)],
    store: SecretStore,
) -> Result<Vec<&'a str>> {
    let mut stored: Vec<&str> = Vec::new();
    for (field, secret) in secrets {
        let result = match store {
            SecretStore::Auto => app.secrets.store(name, field, secret),
            SecretStore::Kernel => app.secrets.store_kernel(name, field, secret),
        };
        match result {
            Ok(source) => {
                app.info(format!("stored `{field}` of `{}` in {source}", name));
                let var = crate::secrets::env_var_name(name, field);
                if source == SecretSource::KernelKeyring {
                    app.warn(format!(
                        "`{field}` is in the kernel user keyring, which cron jobs of this user can read but which is cleared on reboot: after a reboot run `reconcile connect --reauth {name}`, or use {var} or a secret_command"
                    ));
                } else if let Some(why) = source.unreachable_outside_session() {
                    app.warn(format!(
                        "{why}. For unattended runs, keep it where they can read it: `reconcile connect --reauth {name} --store kernel`, {var}, or a secret_command"
                    ));
                }
                stored.push(field);
            }
            Err(e) => {
                rollback(app, name, &stored);
                return Err(e.into());
            }
        }
    }
    Ok(stored)
}

fn rollback(app: &App, name: &str, fields: &[&str]) {
    for f in fields {
        let _ = app.secrets.delete(name, f);
    }
}
