//! BMS API v2 wire types, named as the spec names them (`AccountSummaryOutputDto`,
//! `ServiceListOutputDto`, `ClientContractSummaryOutputDto`, `InvoiceSummaryOutputDto`,
//! `InvoiceLineItemsOutputDto`), their members in camelCase as the live API sends them
//! ([`crate::http::Enveloped`] rewrites the spec's PascalCase to it). Unknown members are
//! ignored; names and statuses stay strings, since the tenant defines them.
//!
//! Only what attributes a record is required: its `id`, an invoice's `accountId`, a line's
//! `invoiceId`. Everything else is nullable in the spec and read as such; the lists are read by
//! `crate::http::decode_tolerant`, so an odd value is unknown for its record, and `mod.rs`
//! decides which unknowns the count cannot do without.

use jiff::Timestamp;
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::connectors::de::{decimal_opt, flag_opt, text_opt, timestamp_opt};

/// An element of `GET /v2/crm/accounts/summary`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    pub id: i64,
    #[serde(default, deserialize_with = "text_opt")]
    pub account_code: Option<String>,
    #[serde(default, deserialize_with = "text_opt")]
    pub account_name: Option<String>,
    /// Tenant-defined: `Customer`, `Prospect`, `Vendor`, ….
    #[serde(default, deserialize_with = "text_opt")]
    pub account_type: Option<String>,
    #[serde(default, deserialize_with = "flag_opt")]
    pub is_active: Option<bool>,
}

/// An element of `POST /v2/admin/finance/services/search`: the service catalogue.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    pub id: i64,
    #[serde(default, deserialize_with = "text_opt")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "text_opt")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "decimal_opt")]
    pub unit_cost: Option<Decimal>,
    #[serde(default, deserialize_with = "decimal_opt")]
    pub unit_price: Option<Decimal>,
    #[serde(default, deserialize_with = "flag_opt")]
    pub is_active: Option<bool>,
}

/// An element of `GET /v2/finance/contracts/summary` (no account id: contracts are tied to
/// accounts through their invoices).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Contract {
    pub id: i64,
    #[serde(default, deserialize_with = "text_opt")]
    pub contract_name: Option<String>,
    #[serde(default, deserialize_with = "text_opt")]
    pub contract_type: Option<String>,
    /// `Active`, `Inactive`, `Expired`, … as the tenant shows it.
    #[serde(default, deserialize_with = "text_opt")]
    pub status: Option<String>,
    /// `Monthly`, `Quarterly`, `Annually`, …
    #[serde(default, deserialize_with = "text_opt")]
    pub billing_cycle: Option<String>,
    #[serde(default, deserialize_with = "timestamp_opt")]
    pub start_date: Option<Timestamp>,
    #[serde(default, deserialize_with = "timestamp_opt")]
    pub end_date: Option<Timestamp>,
}

/// An element of `GET /v2/finance/invoices/summary`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Invoice {
    pub id: i64,
    pub account_id: i64,
    #[serde(default, deserialize_with = "text_opt")]
    pub invoice_number: Option<String>,
    /// `Draft`, `Sent`, `Paid`, `Void`, … as the tenant shows it.
    #[serde(default, deserialize_with = "text_opt")]
    pub status_name: Option<String>,
    #[serde(default, deserialize_with = "timestamp_opt")]
    pub invoice_date: Option<Timestamp>,
}

/// An element of `POST /v2/finance/invoices/details`: one invoice line. Recurring-service
/// lines carry the `contractId` they were billed from; other lines carry 0 or null.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceLine {
    pub id: i64,
    pub invoice_id: i64,
    #[serde(default)]
    pub contract_id: Option<i64>,
    #[serde(default, deserialize_with = "text_opt")]
    pub contract_name: Option<String>,
    /// The service's name (services are known by name on invoices).
    #[serde(default, deserialize_with = "text_opt")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "text_opt")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "decimal_opt")]
    pub qty: Option<Decimal>,
    #[serde(default, deserialize_with = "decimal_opt")]
    pub unit_price: Option<Decimal>,
}
