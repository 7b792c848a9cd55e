//! One `[connections.<name>]` table: the kind's own settings (see
//! [`crate::connectors::KindSettings`]) and the keys every kind shares, read here once:
//! `kind`, `concurrency` and `[connections.<name>.secret_command]`.

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

use crate::connectors::{ConnectionSettings, Connector, ConnectorKind, SecretFn};
use crate::http::RetryPolicy;

/// The most requests in flight a connection may be configured to make.
pub const MAX_CONCURRENCY: usize = 64;

/// A configured connection.
#[derive(Debug, Clone, PartialEq)]
pub struct Connection {
    pub settings: ConnectionSettings,
    /// `concurrency = N` as written; read through [`Connection::concurrency`] once
    /// [`Connection::validate`] has checked it (so its error can name the connection).
    concurrency: Option<toml::Value>,
    /// `[connections.<name>.secret_command]`: a command that prints a secret, by field
    /// (`client_secret = "pass show ninja"`).
    pub secret_command: BTreeMap<String, String>,
}

impl Connection {
    pub fn kind(&self) -> ConnectorKind {
        self.settings.kind()
    }

    /// `concurrency = N`: requests in flight at most (1 to [`MAX_CONCURRENCY`]); `None` leaves
    /// it to the kind's default.
    pub fn concurrency(&self) -> Option<usize> {
        self.concurrency
            .as_ref()
            .and_then(toml::Value::as_integer)
            .and_then(|n| usize::try_from(n).ok())
    }

    /// The secret fields this connection uses with its settings.
    pub fn secrets_needed(&self) -> Vec<&'static str> {
        self.settings.secrets_needed()
    }

    /// The live connector for this connection, named `name`.
    pub fn connect(
        &self,
        name: &str,
        secret: SecretFn,
        retry: RetryPolicy,
    ) -> Result<Box<dyn Connector>> {
        self.settings.connect(name, secret, retry)
    }

    /// Commands that print a secret, by field.
    pub fn secret_commands(&self) -> &BTreeMap<String, String> {
        &self.secret_command
    }

    /// Checks what deserializing cannot, naming the connection and the key.
    pub(super) fn validate(&self, name: &str) -> Result<()> {
        validate_connection_name(name)
            .map_err(|e| e.context(format!("in [connections.{name}]")))?;
        let kind = self.kind();
        if let Some(v) = &self.concurrency
            && !v
                .as_integer()
                .is_some_and(|n| (1..=MAX_CONCURRENCY as i64).contains(&n))
        {
            bail!(
                "[connections.{name}] concurrency must be a whole number from 1 to {MAX_CONCURRENCY} (requests in flight at once), not {v}"
            );
        }
        if self.concurrency.is_some() && kind.reads_files() {
            bail!(
                "[connections.{name}] concurrency: a {} reads a file, not an API; remove the key",
                kind.display_name()
            );
        }
        let fields = kind.secret_fields();
        for field in self.secret_command.keys() {
            if !fields.contains(&field.as_str()) {
                bail!(
                    "[connections.{name}.secret_command] has unknown key `{field}`; a {kind} connection's secrets are: {}",
                    if fields.is_empty() {
                        "none".to_string()
                    } else {
                        fields.join(", ")
                    }
                );
            }
        }
        self.settings.validate(name)
    }
}

impl From<ConnectionSettings> for Connection {
    fn from(settings: ConnectionSettings) -> Connection {
        Connection {
            settings,
            concurrency: None,
            secret_command: BTreeMap::new(),
        }
    }
}

impl<'de> Deserialize<'de> for Connection {
    /// The shared keys are taken out of the table and the rest goes to the kind's settings,
    /// which refuse unknown keys. Errors point at the connection's table.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Connection, D::Error> {
        let mut table = toml::Table::deserialize(d)?;
        let known = || {
            ConnectorKind::ALL
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let kind = match table.remove("kind") {
            Some(toml::Value::String(k)) => ConnectorKind::parse(&k).ok_or_else(|| {
                D::Error::custom(format!("unknown kind `{k}`; the kinds are: {}", known()))
            })?,
            Some(_) => {
                return Err(D::Error::custom(
                    "`kind` must be text, such as \"ninjaone\"",
                ));
            }
            None => {
                return Err(D::Error::custom(format!(
                    "`kind` is missing (one of: {}); `reconcile connect ...` writes it",
                    known()
                )));
            }
        };
        let concurrency = table.remove("concurrency");
        let secret_command = match table.remove("secret_command") {
            None => BTreeMap::new(),
            Some(v) => v
                .try_into()
                .map_err(|e| D::Error::custom(format!("secret_command: {e}")))?,
        };
        let settings = ConnectionSettings::from_table(kind, table)
            .map_err(|e| D::Error::custom(e.to_string().trim_end()))?;
        Ok(Connection {
            settings,
            concurrency,
            secret_command,
        })
    }
}

/// Checks a connection name: it becomes a config key, part of environment variable names and
/// part of keyring entry names, so keep it simple.
pub fn validate_connection_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 40
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        bail!(
            "connection name `{name}` is not allowed: use 1-40 lowercase letters, digits, `-` or `_`, starting with a letter or digit"
        )
    }
}
