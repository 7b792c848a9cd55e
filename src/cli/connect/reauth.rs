//! `reconcile connect --reauth NAME` / `--reauth-all`: re-enter only the secrets of saved
//! connections. The settings stay as saved; each connection is checked with its new secrets
//! (unless `--no-verify`) and its secrets stored only if that passes, all or none of them.
//!
//! One connection failing does not keep the others' secrets out: a script run after a reboot
//! stores what it can, names what it could not, and fails so that cron mails it.

use std::collections::BTreeSet;
use std::io::{IsTerminal, Read};

use anyhow::{Context, Result, bail};
use secrecy::{ExposeSecret, SecretString};

use crate::app::App;
use crate::config::{Config, Connection};
use crate::connectors::{SecretStore, read_secret};

use super::{check, store_secrets};

/// The secrets to ask for, per connection, in the order they are read.
struct Wanted<'a> {
    name: &'a str,
    connection: &'a Connection,
    fields: Vec<&'static str>,
}

/// Re-enters the secrets of the connections `names` (every connection that keeps a secret in
/// the keyring when `None`).
pub async fn run(
    app: &App,
    names: Option<&[String]>,
    no_verify: bool,
    store: SecretStore,
) -> Result<()> {
    let config = app.config()?;
    let wanted = wanted(app, &config, names)?;
    if wanted.is_empty() {
        app.info("no saved connection keeps a secret in the keyring: nothing to re-enter");
        return Ok(());
    }
    let mut given = read(&wanted)?.into_iter();
    let mut failed: Vec<String> = Vec::new();
    for w in &wanted {
        let secrets: Vec<(&'static str, SecretString)> = w
            .fields
            .iter()
            .map(|f| (*f, given.next().expect("one secret was read per field")))
            .collect();
        if let Err(e) = reauth_one(app, w, &secrets, no_verify, store).await {
            failed.push(format!("`{}`: {e:#}", w.name));
        }
    }
    if !failed.is_empty() {
        bail!(
            "the secrets of {} of {} connection(s) were not stored (one whose check failed keeps its old secrets); run `reconcile connect --reauth NAME` again for them:\n  {}",
            failed.len(),
            wanted.len(),
            failed.join("\n  ")
        );
    }
    Ok(())
}

async fn reauth_one(
    app: &App,
    w: &Wanted<'_>,
    secrets: &[(&'static str, SecretString)],
    no_verify: bool,
    store: SecretStore,
) -> Result<()> {
    if !no_verify {
        // A field this connection takes from its secret_command is read from there, as a sync
        // would.
        let lookup = |field: &str| -> Result<SecretString> {
            match secrets.iter().find(|(f, _)| *f == field) {
                Some((_, s)) => Ok(SecretString::from(s.expose_secret().to_string())),
                None => Ok(app.secrets.get(w.name, field, Some(w.connection))?.0),
            }
        };
        check(app, w.name, &w.connection.settings, &lookup).await?;
    }
    store_secrets(app, w.name, secrets, store)?;
    for (field, _) in secrets {
        let var = crate::secrets::env_var_name(w.name, field);
        if std::env::var(&var).is_ok_and(|v| !v.is_empty()) {
            app.warn(format!(
                "{var} is set in this environment, and a set variable is used instead of the keyring"
            ));
        }
    }
    Ok(())
}

/// The connections to re-enter and their keyring fields; an unknown name, or one that keeps no
/// secret in the keyring, is an error before anything is read.
fn wanted<'a>(
    app: &App,
    config: &'a Config,
    names: Option<&'a [String]>,
) -> Result<Vec<Wanted<'a>>> {
    let keyring_fields = |c: &Connection| -> Vec<&'static str> {
        c.settings
            .secrets_needed()
            .into_iter()
            .filter(|f| !c.secret_commands().contains_key(*f))
            .collect()
    };
    let Some(names) = names else {
        return Ok(config
            .connections
            .iter()
            .map(|(name, c)| Wanted {
                name,
                connection: c,
                fields: keyring_fields(c),
            })
            .filter(|w| !w.fields.is_empty())
            .collect());
    };
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut out = Vec::new();
    for name in names {
        if !seen.insert(name) {
            continue;
        }
        let Some(c) = config.connections.get(name) else {
            let known: Vec<&str> = config.connections.keys().map(String::as_str).collect();
            bail!(
                "no connection named `{name}` in {}{}; `reconcile connect <kind> --name {name} ...` adds one",
                app.paths.config.display(),
                if known.is_empty() {
                    String::new()
                } else {
                    format!(" (saved: {})", known.join(", "))
                }
            );
        };
        let fields = keyring_fields(c);
        if fields.is_empty() {
            bail!(
                "`{name}` keeps no secret in the keyring ({}), so there is nothing to re-enter",
                if c.settings.secrets_needed().is_empty() {
                    "it needs none"
                } else {
                    "its secret_command gives them"
                }
            );
        }
        out.push(Wanted {
            name,
            connection: c,
            fields,
        });
    }
    Ok(out)
}

/// One secret per wanted field: hidden prompts on a terminal, else the non-empty lines of stdin.
fn read(wanted: &[Wanted<'_>]) -> Result<Vec<SecretString>> {
    let labels: Vec<String> = wanted
        .iter()
        .flat_map(|w| w.fields.iter().map(move |f| format!("`{}` {f}", w.name)))
        .collect();
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return labels.iter().map(|l| read_secret(l, false)).collect();
    }
    let mut text = String::new();
    stdin
        .lock()
        .read_to_string(&mut text)
        .context("cannot read the secrets from stdin")?;
    lines(&text, &labels)
}

/// The non-empty lines of `text`, one per label; the error names the order, never a secret.
fn lines(text: &str, labels: &[String]) -> Result<Vec<SecretString>> {
    let lines: Vec<&str> = text
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.trim().is_empty())
        .collect();
    if lines.len() != labels.len() {
        bail!(
            "stdin held {} non-empty line(s); give {}, one per line in this order: {}. Nothing was stored",
            lines.len(),
            labels.len(),
            labels.join(", ")
        );
    }
    Ok(lines
        .into_iter()
        .map(|l| SecretString::from(l.to_string()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stdin_lines_give_one_secret_per_field_and_name_the_order_without_echoing() {
        let labels = vec![
            "`ninja` client_secret".to_string(),
            "`cw` private_key".into(),
        ];
        let got = lines("s3cret\r\n\nk3y\n", &labels).unwrap();
        assert_eq!(got[0].expose_secret(), "s3cret");
        assert_eq!(got[1].expose_secret(), "k3y");
        let err = lines("only-one\n", &labels).unwrap_err().to_string();
        assert!(err.contains("held 1 non-empty line(s); give 2"), "{err}");
        assert!(
            err.contains("`ninja` client_secret, `cw` private_key"),
            "{err}"
        );
        assert!(!err.contains("only-one"), "{err}");
        assert!(lines("a\nb\nc\n", &labels).is_err());
    }
}
