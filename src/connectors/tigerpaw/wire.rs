//! Tigerpaw REST API wire types, named as its (2019 Swagger) models name them:
//! `TsiWebAccountSummary` with its `Account`, `TsiWebAgreementSummary` with its `Agreement`, and
//! `TsiWebAgreementAdditionalCharge`, the recurring lines. The API writes PascalCase; these read
//! the camelCase [`crate::http::Enveloped`] turns it into. Every member is optional in the
//! models; only what attributes a record is required here (an account's `accountNumber`, an
//! agreement's `agreementNumber`, a charge's `detailId`). The lists are read by
//! `crate::http::decode_tolerant`; `mod.rs` decides which unknowns the count cannot do without.

use jiff::Timestamp;
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::connectors::de::{decimal_opt, flag_opt, text_opt, timestamp_opt};

/// An element of `accounts` in `POST /api/accounts/search`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountSummary {
    pub account_number: i64,
    #[serde(default)]
    pub account: Option<Account>,
}

/// `TsiWebAccount`: the account's own fields.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    #[serde(default, deserialize_with = "text_opt")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "text_opt")]
    pub account_id: Option<String>,
    /// Tenant-defined: `Customer`, `Prospect`, `Vendor`, …
    #[serde(default, deserialize_with = "text_opt")]
    pub account_type: Option<String>,
    /// Tenant-defined: `Active`, `Inactive`, …
    #[serde(default, deserialize_with = "text_opt")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "flag_opt")]
    pub is_vendor: Option<bool>,
}

/// An element of `agreements` in `GET /api/agreements/account/{accountNumber}/{activeOnly}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgreementSummary {
    pub agreement_number: i64,
    #[serde(default)]
    pub agreement: Option<Agreement>,
}

/// `TsiWebAgreement`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Agreement {
    #[serde(default)]
    pub account_number: Option<i64>,
    #[serde(default, deserialize_with = "text_opt", rename = "type")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "timestamp_opt")]
    pub start_date: Option<Timestamp>,
    #[serde(default, deserialize_with = "timestamp_opt")]
    pub end_date: Option<Timestamp>,
    /// `Monthly`, `Quarterly`, `Annually`, … as the tenant names its billing periods.
    #[serde(default, deserialize_with = "text_opt")]
    pub billing_period_description: Option<String>,
}

/// An element of `GET /api/agreements/{agreementNumber}/additionalcharges`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdditionalCharge {
    pub detail_id: i64,
    /// The price-book item billed.
    #[serde(default, deserialize_with = "text_opt")]
    pub special_item_id: Option<String>,
    #[serde(default, deserialize_with = "text_opt")]
    pub item_description: Option<String>,
    /// An integer in the model: Tigerpaw bills whole units.
    #[serde(default, deserialize_with = "decimal_opt")]
    pub quantity: Option<Decimal>,
    #[serde(default, deserialize_with = "decimal_opt")]
    pub price: Option<Decimal>,
    /// A one-time charge, removed once invoiced.
    #[serde(default, deserialize_with = "flag_opt")]
    pub delete_after_invoicing: Option<bool>,
    #[serde(default, deserialize_with = "timestamp_opt")]
    pub date_added: Option<Timestamp>,
}
