//! `reconcile connect tigerpaw`: the REST API host and the billable account types as flags; the
//! token (or the rep's key pair it is made of) from a hidden prompt or stdin, never from a flag.

use anyhow::Result;
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};

use super::Settings;
use super::settings::DEFAULT_BILLABLE_TYPE;
use crate::connectors::{
    Common, ConnectArgs, KindSettings, NewConnection, clean_list, read_secret, read_two_secrets,
};

/// Connect Tigerpaw (the MSP's REST API, `Authorization: TSI <token>`; accounts, agreements and
/// their additional charges)
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    #[command(flatten)]
    pub common: Common,
    /// Your Tigerpaw REST API host (https://api.example-msp.com; http:// on loopback only)
    #[arg(long)]
    pub url: String,
    /// An account type that bills (repeat for several) [default: Customer]; other types are
    /// kept, not billable
    #[arg(long = "billable-type")]
    pub billable_types: Vec<String>,
    /// At most this many requests a minute (1-600) [default: 120]
    #[arg(long)]
    pub requests_per_minute: Option<usize>,
    /// Give the rep's public and private key (two prompts, or two lines of stdin) instead of the
    /// token; the token sent is base64(public:private), the form Tigerpaw's sample token has
    #[arg(long)]
    pub key_pair: bool,
    /// Read the token (or, with --key-pair, the two keys) from stdin instead of a prompt
    #[arg(long)]
    pub token_stdin: bool,
}

const AFTER_HELP: &str = "\
Make a dedicated rep whose security role only reads accounts and agreements: Master Tables >
Rep > Account Reps > the rep > Admin tab > REST API Security > Generate. That gives a public
and a private key; the API takes `Authorization: TSI <token>`. Give the token Tigerpaw shows
(a hidden prompt, or stdin), or the two keys with --key-pair. Whether your installation also
wants a per-request signature is in Tigerpaw's REST API Reference Guide (on request from
Tigerpaw): this version sends the token as is.

  printf '%s\\n' \"$TIGERPAW_TOKEN\" | reconcile connect tigerpaw --url https://api.example-msp.com";

/// The token of a key pair: `base64(public:private)`.
pub fn pair_token(public: &SecretString, private: &SecretString) -> SecretString {
    let joined = format!(
        "{}:{}",
        public.expose_secret().trim(),
        private.expose_secret().trim()
    );
    SecretString::from(base64::engine::general_purpose::STANDARD.encode(joined))
}

impl ConnectArgs for Args {
    type Settings = Settings;

    fn common(&self) -> &Common {
        &self.common
    }

    fn into_connection(self, saved: Option<&Settings>) -> Result<NewConnection<Settings>> {
        let token = if self.key_pair {
            let (public, private) = read_two_secrets(
                ("Tigerpaw public key", "Tigerpaw private key"),
                self.token_stdin,
            )?;
            pair_token(&public, &private)
        } else {
            read_secret("Tigerpaw API token", self.token_stdin)?
        };
        let types = clean_list(self.billable_types);
        let settings = Settings {
            url: self.url.trim().trim_end_matches('/').to_string(),
            billable_types: if types.is_empty() {
                saved
                    .map(|s| s.billable_types.clone())
                    .unwrap_or_else(|| vec![DEFAULT_BILLABLE_TYPE.into()])
            } else {
                types
            },
            requests_per_minute: self
                .requests_per_minute
                .or(saved.and_then(|s| s.requests_per_minute)),
        };
        settings.validate(&self.common.name_or(Settings::KIND.key))?;
        Ok(NewConnection::new(
            &self.common,
            settings,
            vec![("api_token", token)],
        ))
    }
}
