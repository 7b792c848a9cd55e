//! `reconcile connect sherweb`: the API key's Client ID as a flag; the Client Secret and the
//! Subscription Key, two secrets, from two hidden prompts or as two lines on stdin.

use std::io::{IsTerminal, Read};

use anyhow::{Context, Result, bail};
use secrecy::SecretString;
use toml_edit::Value;

use super::{Plan, read_secret};
use crate::config::ConnectionSettings;
use crate::connectors::sherweb::Settings;

// `connect sherweb` flags. The variant's doc comment in `connect/mod.rs` is the summary;
// `after_help` says where the credentials come from and how the two secrets are read.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// Connection name, used by other commands and in the keyring
    #[arg(long, default_value = "sherweb")]
    pub name: String,
    /// The API key's Client ID (Security > APIs in the Sherweb Partner Portal)
    #[arg(long)]
    pub client_id: String,
    /// Service Provider API base URL (default https://api.sherweb.com/service-provider/v1;
    /// http:// on loopback only)
    #[arg(long)]
    pub api_url: Option<String>,
    /// OAuth2 token endpoint (default https://api.sherweb.com/auth/oidc/connect/token; http://
    /// on loopback only)
    #[arg(long)]
    pub token_url: Option<String>,
    /// Read the Client Secret and the Subscription Key from stdin, one per line, instead of
    /// two prompts
    #[arg(long)]
    pub secrets_stdin: bool,
    /// Save without checking the credentials against the API
    #[arg(long)]
    pub no_verify: bool,
}

impl Args {
    /// What to save, and whether to verify it first. Secrets are read here (through
    /// [`super::read_secret`] at a terminal), never from a flag value.
    pub fn plan(self) -> Result<(Plan, bool)> {
        let (secret, key) = if self.secrets_stdin || !std::io::stdin().is_terminal() {
            let mut text = String::new();
            std::io::stdin()
                .lock()
                .read_to_string(&mut text)
                .context("cannot read the Sherweb Client Secret and Subscription Key from stdin")?;
            two_lines(&text)?
        } else {
            (
                read_secret("Sherweb Client Secret", false)?,
                read_secret("Sherweb Subscription Key", false)?,
            )
        };
        Ok((
            plan(
                &self.name,
                &self.client_id,
                self.api_url,
                self.token_url,
                secret,
                key,
            ),
            !self.no_verify,
        ))
    }
}

const AFTER_HELP: &str = "\
Create the API key in the Sherweb Partner Portal (cumulus.sherweb.com): Security > APIs, enter an
application name, Create; copy the Client ID, the Client Secret (shown once) and the Subscription
Key.

Secrets: on a terminal, two hidden prompts ask for the Client Secret, then the Subscription Key.
When stdin is not a terminal, or with --secrets-stdin, both are read from stdin as two lines: the
Client Secret on the first, the Subscription Key on the second:

  printf '%s\\n%s\\n' \"$SW_SECRET\" \"$SW_KEY\" | reconcile connect sherweb --client-id \"$SW_ID\"";

/// The Client Secret and the Subscription Key from two lines of stdin (blank lines skipped).
fn two_lines(text: &str) -> Result<(SecretString, SecretString)> {
    let lines: Vec<&str> = text
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.trim().is_empty())
        .collect();
    match lines.as_slice() {
        [secret, key] => Ok((
            SecretString::from(secret.to_string()),
            SecretString::from(key.trim().to_string()),
        )),
        _ => bail!(
            "stdin held {} non-empty line(s); give exactly two: the Client Secret on the first, the Subscription Key on the second (`printf '%s\\n%s\\n' \"$SECRET\" \"$KEY\" | reconcile connect sherweb ...`)",
            lines.len()
        ),
    }
}

pub fn plan(
    name: &str,
    client_id: &str,
    api_url: Option<String>,
    token_url: Option<String>,
    client_secret: SecretString,
    subscription_key: SecretString,
) -> Plan {
    let clean = |u: Option<String>| {
        u.map(|u| u.trim().trim_end_matches('/').to_string())
            .filter(|u| !u.is_empty())
    };
    let (api_url, token_url) = (clean(api_url), clean(token_url));
    let client_id = client_id.trim().to_string();
    let mut values = vec![
        ("kind", Value::from("sherweb")),
        ("client_id", Value::from(client_id.as_str())),
    ];
    let mut remove = Vec::new();
    for (key, v) in [("api_url", &api_url), ("token_url", &token_url)] {
        match v {
            Some(u) => values.push((key, Value::from(u.as_str()))),
            None => remove.push(key),
        }
    }
    Plan {
        name: name.to_string(),
        settings: ConnectionSettings::Sherweb(Settings {
            client_id,
            api_url,
            token_url,
            secret_command: Default::default(),
        }),
        values,
        remove,
        secrets: vec![
            ("client_secret", client_secret),
            ("subscription_key", subscription_key),
        ],
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn stdin_gives_two_lines() {
        let (s, k) = two_lines("the secret\r\n\nkey123\n").unwrap();
        assert_eq!(s.expose_secret(), "the secret");
        assert_eq!(k.expose_secret(), "key123");
        let err = two_lines("only-one\n").unwrap_err().to_string();
        assert!(err.contains("1 non-empty line"), "{err}");
        assert!(!err.contains("only-one"), "{err}");
        assert!(two_lines("a\nb\nc\n").is_err());
    }

    #[test]
    fn default_urls_are_not_written() {
        let p = plan(
            "sw",
            " id ",
            None,
            Some("http://127.0.0.1:1/t/".into()),
            SecretString::from("s"),
            SecretString::from("k"),
        );
        let keys: Vec<&str> = p.values.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, ["kind", "client_id", "token_url"]);
        assert_eq!(p.remove, ["api_url"]);
        let ConnectionSettings::Sherweb(s) = &p.settings else {
            panic!()
        };
        assert_eq!(s.client_id, "id");
        assert_eq!(s.token_url.as_deref(), Some("http://127.0.0.1:1/t"));
    }
}
