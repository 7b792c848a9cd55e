//! What a connector kind is, as the registry needs it: the facts about the kind ([`KindInfo`]),
//! its settings and everything they do ([`KindSettings`]: validate, say which secrets they need,
//! name the kind's services, build the connector), and its `connect` flags ([`ConnectArgs`]).
//! Each connector folder implements these once; `connectors!` (in `registry.rs`) turns the list
//! of folders into the kind enum, the settings enum and the dispatch, so nothing else names a
//! connector's types by hand.

use std::fmt::Debug;
use std::io::{IsTerminal, Read};

use anyhow::{Context, Result, bail};
use secrecy::SecretString;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Connector, LineWriter, Role};
use crate::http::RetryPolicy;
use crate::model::{ServiceDef, ServiceFamily};

/// The fixed facts about a connector kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindInfo {
    /// `ninjaone`: the `kind = "…"` in config, the `connect` subcommand, the default connection
    /// name.
    pub key: &'static str,
    /// `NinjaOne`, for people.
    pub name: &'static str,
    pub role: Role,
    /// The secret fields a connection of this kind may need, by config/env/keyring name.
    pub secrets: &'static [&'static str],
    /// Requests a connection has in flight at most unless its `concurrency` says otherwise:
    /// from the API's published limits where there are some, conservative where not.
    pub concurrency: usize,
    /// Whether it imports a file (`sync NAME --file PATH`) rather than calling an API.
    pub reads_files: bool,
}

/// Looks up a secret field of the connection being built (environment, secret command, keyring).
pub type SecretFn<'a> = &'a dyn Fn(&str) -> Result<SecretString>;

/// A kind's `[connections.<name>]` settings: the non-secret keys of the table besides `kind`,
/// `concurrency` and `secret_command`, which every kind shares and [`crate::config`] reads.
/// Serialized, they are what `connect` writes; skip defaults in the serialization so the file
/// stays as short as the user would write it.
pub trait KindSettings:
    Serialize + DeserializeOwned + Clone + Debug + PartialEq + Send + Sync + 'static
{
    const KIND: KindInfo;
    /// The `reconcile connect <kind>` flags.
    type Args: ConnectArgs<Settings = Self>;

    /// Checks what deserializing cannot; errors name the config key and connection `name`.
    fn validate(&self, name: &str) -> Result<()>;

    /// The secret fields these settings use (a subset of [`KindInfo::secrets`]: a Keeper
    /// connection running the local executable needs none).
    fn secrets_needed(&self) -> Vec<&'static str> {
        Self::KIND.secrets.to_vec()
    }

    /// When the vendor bills the MSP on the month's high watermark: what it counts that way
    /// (`map` then suggests the `peak` basis for the kind's services).
    const HIGH_WATERMARK: Option<&'static str> = None;

    /// Why a PSA kind without a writer is report-only (`reconcile push` says so, naming the
    /// reason); `None` for kinds that write back, vendors and file imports.
    const REPORT_ONLY: Option<&'static str> = None;

    /// Whether a PSA kind's billing lines carry a unit cost the user maintains (`false` where
    /// the API has no cost on a line, so a cost of 0 is not the PSA's word and is never a
    /// `cost_mismatch`).
    const LINE_COST: bool = true;

    /// Built-in services of a vendor kind.
    fn services() -> Vec<ServiceDef> {
        Vec::new()
    }

    /// Service families of a vendor kind: services that exist once per SKU or product the data
    /// holds.
    fn families() -> Vec<ServiceFamily> {
        Vec::new()
    }

    /// The live connector for connection `name`; `secret` is asked for each secret field.
    fn connect(
        &self,
        name: &str,
        secret: SecretFn,
        retry: RetryPolicy,
    ) -> Result<Box<dyn Connector>>;

    /// Whether the connection may write back (`connect ... --allow-write`); a PSA kind that
    /// has a writer keeps it off unless the user turned it on.
    fn allows_write(&self) -> bool {
        false
    }

    /// The line writer of a PSA kind that can write back (`reconcile push`), `None` for every
    /// other kind. For [`WritePurpose::Read`] (planning) it uses the read credential; for
    /// [`WritePurpose::Write`] the separate write credential when one was given, else the
    /// read one.
    fn writer(
        &self,
        name: &str,
        secret: SecretFn,
        retry: RetryPolicy,
        purpose: WritePurpose,
    ) -> Result<Option<Box<dyn LineWriter>>> {
        let _ = (name, secret, retry, purpose);
        Ok(None)
    }
}

/// What a [`LineWriter`] is built for: reading lines to plan, or writing them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WritePurpose {
    Read,
    Write,
}

/// The `reconcile connect <kind>` flags of a kind: doc comments are the `--help`.
pub trait ConnectArgs: clap::Args + clap::FromArgMatches + Debug {
    type Settings: KindSettings;

    /// The flags every kind shares.
    fn common(&self) -> &Common;

    /// Turns the flags into settings, reading secrets from a hidden prompt or stdin (never from
    /// a flag value). `saved` is the connection's current settings when it exists: keys that
    /// have no flag keep their saved value.
    fn into_connection(
        self,
        saved: Option<&Self::Settings>,
    ) -> Result<NewConnection<Self::Settings>>;
}

/// What `connect` saves for a connection: its settings, its secrets, and whether to check them
/// against the API (or the file) first.
pub struct NewConnection<S> {
    pub settings: S,
    pub secrets: Vec<(&'static str, SecretString)>,
    pub verify: bool,
}

impl<S> NewConnection<S> {
    /// `settings` with `secrets`, verified unless `--no-verify` was given.
    pub fn new(
        common: &Common,
        settings: S,
        secrets: Vec<(&'static str, SecretString)>,
    ) -> NewConnection<S> {
        NewConnection {
            settings,
            secrets,
            verify: !common.no_verify,
        }
    }
}

/// The `connect` flags of every kind.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Common {
    /// Connection name, used by other commands and in the keyring [default: the kind, such as
    /// `ninjaone`]
    #[arg(long)]
    pub name: Option<String>,
    /// Save without checking the credentials (or the file) first
    #[arg(long)]
    pub no_verify: bool,
    /// Where the secrets go: `auto` (the desktop's Secret Service when this session reaches
    /// one, else the kernel user keyring) or `kernel` (the kernel user keyring, which cron jobs
    /// of the same user can read; a reboot clears it, `connect --reauth` fills it again)
    #[arg(long, value_enum, default_value_t = SecretStore::Auto)]
    pub store: SecretStore,
}

/// `--store`: where `connect` keeps the secrets it reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum SecretStore {
    #[default]
    Auto,
    Kernel,
}

impl Common {
    /// The connection name: `--name`, else the kind's key.
    pub fn name_or(&self, key: &str) -> String {
        self.name.clone().unwrap_or_else(|| key.to_string())
    }
}

/// Reads a secret: stdin when asked or when stdin is not a terminal (scripts), else a hidden
/// prompt on the terminal.
pub fn read_secret(what: &str, from_stdin: bool) -> Result<SecretString> {
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

/// Two secrets: two hidden prompts on a terminal, or two non-empty lines of stdin (when stdin
/// is not a terminal or `from_stdin`). `what` names both for prompts and errors.
pub fn read_two_secrets(
    what: (&str, &str),
    from_stdin: bool,
) -> Result<(SecretString, SecretString)> {
    let stdin = std::io::stdin();
    if !from_stdin && stdin.is_terminal() {
        return Ok((read_secret(what.0, false)?, read_secret(what.1, false)?));
    }
    let mut text = String::new();
    stdin
        .lock()
        .read_to_string(&mut text)
        .with_context(|| format!("cannot read the {} and the {} from stdin", what.0, what.1))?;
    two_lines(&text, what)
}

/// The two non-empty lines of `text` (a trailing `\r` and blank lines skipped).
pub fn two_lines(text: &str, what: (&str, &str)) -> Result<(SecretString, SecretString)> {
    let lines: Vec<&str> = text
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.trim().is_empty())
        .collect();
    match lines.as_slice() {
        [a, b] => Ok((
            SecretString::from(a.to_string()),
            SecretString::from(b.trim().to_string()),
        )),
        _ => bail!(
            "stdin held {} non-empty line(s); give exactly two lines: the {} on the first, the {} on the second (`printf '%s\\n%s\\n' \"$FIRST\" \"$SECOND\" | reconcile connect ...`)",
            lines.len(),
            what.0,
            what.1
        ),
    }
}

/// For `skip_serializing_if` on flags that are off by default: `connect` leaves them out.
pub fn is_false(b: &bool) -> bool {
    !*b
}

/// An optional text flag as saved: trimmed, a trailing `/` dropped, empty meaning absent.
pub fn clean_url(u: Option<String>) -> Option<String> {
    u.map(|u| u.trim().trim_end_matches('/').to_string())
        .filter(|u| !u.is_empty())
}

/// A repeated text flag as saved: each value trimmed, empty ones dropped.
pub fn clean_list(l: Vec<String>) -> Vec<String> {
    l.into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn two_lines_give_two_secrets_and_name_them_without_echoing() {
        let what = ("Client Secret", "Subscription Key");
        let (s, k) = two_lines("the secret\r\n\nkey123\n", what).unwrap();
        assert_eq!(s.expose_secret(), "the secret");
        assert_eq!(k.expose_secret(), "key123");
        let err = two_lines("only-one\n", what).unwrap_err().to_string();
        assert!(err.contains("1 non-empty line"), "{err}");
        assert!(err.contains("Subscription Key on the second"), "{err}");
        assert!(!err.contains("only-one"), "{err}");
        assert!(two_lines("a\nb\nc\n", what).is_err());
    }
}
