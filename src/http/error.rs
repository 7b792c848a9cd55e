//! What can go wrong talking to a vendor or PSA API. Every message names the connection and the
//! endpoint, and says what to do next. No message ever carries a secret or a request header.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ConnectorError {
    #[error(
        "connection `{connection}`: cannot reach {url}: {detail}. Check the host name, your network and any proxy, then run the command again"
    )]
    Unreachable {
        connection: String,
        url: String,
        detail: String,
    },

    #[error(
        "connection `{connection}`: {endpoint} did not answer within {seconds}s (tried {attempts} times). The service may be slow or down; run the command again later"
    )]
    Timeout {
        connection: String,
        endpoint: String,
        seconds: u64,
        attempts: u32,
    },

    #[error(
        "connection `{connection}`: {endpoint} rejected the credentials (HTTP {status}{detail}). {hint}"
    )]
    Auth {
        connection: String,
        endpoint: String,
        status: u16,
        detail: String,
        hint: String,
    },

    #[error(
        "connection `{connection}`: {endpoint} is rate limiting (HTTP 429) and {why}. Wait a few minutes and run the command again"
    )]
    RateLimited {
        connection: String,
        endpoint: String,
        why: String,
    },

    #[error(
        "connection `{connection}`: {endpoint} answered HTTP {status}{attempts}: {snippet}. {hint}"
    )]
    Http {
        connection: String,
        endpoint: String,
        status: u16,
        attempts: String,
        snippet: String,
        hint: String,
    },

    #[error(
        "connection `{connection}`: {endpoint} returned a body that is not valid {format} ({detail}). The response may have been cut off; run the command again, and report it if it persists"
    )]
    Malformed {
        connection: String,
        endpoint: String,
        /// `JSON`, or `XML` for an XML API.
        format: &'static str,
        detail: String,
    },

    #[error(
        "connection `{connection}`: {endpoint} returned a record this version cannot read: at `{path}`, {detail}. Nothing was saved; please report this with the field name"
    )]
    Decode {
        connection: String,
        endpoint: String,
        path: String,
        detail: String,
    },

    #[error(
        "connection `{connection}`: {endpoint} still failing after {attempts} attempts over {seconds}s (last: {last}); this tool gives one request at most {limit}s. The service may be down or overloaded; run the command again later"
    )]
    GaveUp {
        connection: String,
        endpoint: String,
        attempts: u32,
        seconds: u64,
        last: String,
        limit: u64,
    },

    #[error(
        "connection `{connection}`: {endpoint} answered the JSON-RPC error {code} to {method} ({message}). {hint}"
    )]
    Rpc {
        connection: String,
        endpoint: String,
        method: String,
        code: i32,
        message: String,
        hint: String,
    },

    #[error(
        "connection `{connection}`: {endpoint} answered that the request failed ({message}). {hint}"
    )]
    Failed {
        connection: String,
        endpoint: String,
        message: String,
        hint: String,
    },

    #[error("connection `{connection}`: {message}")]
    Invalid { connection: String, message: String },
}

impl ConnectorError {
    /// The HTTP status the failure came with, when the server answered (for the write audit).
    pub fn status(&self) -> Option<u16> {
        match self {
            ConnectorError::Auth { status, .. } | ConnectorError::Http { status, .. } => {
                Some(*status)
            }
            ConnectorError::RateLimited { .. } => Some(429),
            _ => None,
        }
    }

    /// True when the request may have reached the server and been acted on without an answer
    /// saying so: a timeout, a cut-off connection or a 5xx. After a write fails this way, only
    /// a fresh read tells whether it landed.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            // A reset after the request went out is reported as unreachable too.
            ConnectorError::Timeout { .. }
            | ConnectorError::Malformed { .. }
            | ConnectorError::Unreachable { .. } => true,
            ConnectorError::Http { status, .. } => *status >= 500,
            _ => false,
        }
    }

    /// True when the credentials themselves were refused (so `connect` can say so plainly).
    pub fn is_auth(&self) -> bool {
        matches!(self, ConnectorError::Auth { .. })
    }

    /// A 403 with its hint replaced by `hint(endpoint)`, which names the role or permission that
    /// endpoint needs; any other error as it is. Only the connector knows which permission each
    /// of its endpoints needs, and a 403 means the credentials are good but lack one, so the
    /// generic "rejected the credentials" hint would send the user to the wrong fix.
    pub fn name_permission(self, hint: impl FnOnce(&str) -> String) -> ConnectorError {
        match self {
            ConnectorError::Auth {
                connection,
                endpoint,
                status: 403,
                detail,
                ..
            } => ConnectorError::Auth {
                hint: hint(&endpoint),
                connection,
                endpoint,
                status: 403,
                detail,
            },
            other => other,
        }
    }
}
