//! `reconcile connect`: verify credentials, store the secret in the keyring and the rest in the
//! config file. Secrets come from a hidden prompt or stdin, never from a flag value.

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use secrecy::{ExposeSecret, SecretString};

use crate::app::App;
use crate::cli::Exit;
use crate::config::{ConfigDocument, validate_connection_name};
use crate::connectors::{self, ConnectArgs, ConnectionSettings, KindSettings, Registered};
use crate::secrets::SecretSource;

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
        self.target.run(app).await?;
        Ok(Exit::Ok)
    }
}

/// `connect <kind>`: the flags become the kind's settings (keys without a flag keep their saved
/// value when the connection exists), then [`save`].
async fn connect<S: Registered>(app: &App, args: S::Args) -> Result<()> {
    let name = args.common().name_or(S::KIND.key);
    let saved = app.config().ok().and_then(|c| {
        c.connections
            .get(&name)
            .and_then(|c| S::of(&c.settings).cloned())
    });
    let new = args.into_connection(saved.as_ref())?;
    save(app, &name, new.settings.into(), new.secrets, new.verify).await
}

/// Saves connection `name`: verifies it (unless told not to), stores the secrets, then writes the config. If the config
/// cannot be written, the secrets just stored are removed again: nothing half-saved.
pub async fn save(
    app: &App,
    name: &str,
    settings: ConnectionSettings,
    secrets: Vec<(&'static str, SecretString)>,
    verify: bool,
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
        let connector = settings.connect(name, &lookup, app.retry.clone())?;
        let description = connector.check().await.with_context(|| {
            if kind.reads_files() {
                format!(
                    "`{name}` was not saved: its file did not import cleanly (fix the file or the flags, or use --no-verify to save it without checking)"
                )
            } else {
                format!(
                    "the credentials for `{name}` were not saved (use --no-verify to save them without checking)"
                )
            }
        })?;
        app.info(format!("verified {}: {description}", kind.display_name()));
    }
    let mut stored: Vec<&str> = Vec::new();
    for (field, secret) in &secrets {
        match app.secrets.store(name, field, secret) {
            Ok(source) => {
                app.info(format!("stored `{field}` of `{}` in {source}", name));
                if source == SecretSource::KernelKeyring {
                    app.warn(format!(
                        "no Secret Service is running, so `{field}` went to the kernel user keyring, which is cleared on reboot; run `reconcile connect` again after a reboot, or use {} or a secret_command",
                        crate::secrets::env_var_name(name, field)
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

fn rollback(app: &App, name: &str, fields: &[&str]) {
    for f in fields {
        let _ = app.secrets.delete(name, f);
    }
}
