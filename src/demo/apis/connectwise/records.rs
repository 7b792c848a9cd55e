//! The ConnectWise sandbox's records: the sample's companies, agreements, additions and catalog
//! items as REST 3.0 sends them, with the real field names, reference objects carrying `_info`
//! links, ISO dates and JSON numbers for money.

use jiff::Timestamp;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Map, Value, json};

use crate::demo::sample::{CwAddition, CwAgreement, CwCatalogItem, CwCompany, CwData};

const UPDATED_BY: &str = "bwadmin";

pub(super) fn day_of(y: i16, m: i8, d: i8) -> Timestamp {
    jiff::civil::date(y, m, d)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .expect("a valid date")
        .timestamp()
}

pub(super) fn ts(t: Timestamp) -> Value {
    Value::String(t.to_string())
}

fn money(d: Decimal) -> Value {
    // The API sends JSON numbers; every sample amount has a short exact binary neighbour.
    d.to_f64()
        .and_then(serde_json::Number::from_f64)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

pub(super) fn info(updated: Timestamp) -> Value {
    json!({
        "lastUpdated": ts(updated),
        "updatedBy": UPDATED_BY,
        "dateEntered": ts(updated),
        "enteredBy": UPDATED_BY,
    })
}

fn reference(id: i64, name: &str, href_key: &str, href: String) -> Value {
    let mut info = Map::new();
    info.insert(href_key.into(), Value::String(href));
    json!({"id": id, "name": name, "_info": info})
}

pub(super) fn company_json(data: &CwData, c: &CwCompany, base: &str) -> Value {
    let status_name = data
        .company_statuses
        .iter()
        .find(|s| s.id == c.status_id)
        .map(|s| s.name.as_str())
        .unwrap_or("Active");
    let types: Vec<Value> = c
        .type_ids
        .iter()
        .filter_map(|id| data.company_types.iter().find(|t| t.id == *id))
        .map(|t| {
            reference(
                t.id,
                &t.name,
                "type_href",
                format!("{base}/company/companies/types/{}", t.id),
            )
        })
        .collect();
    let vendor = c.type_ids.iter().any(|id| {
        data.company_types
            .iter()
            .any(|t| t.id == *id && t.vendor_flag)
    });
    let updated = c.date_acquired + jiff::SignedDuration::from_hours(24 * 40);
    let mut info = info(updated)
        .as_object()
        .cloned()
        .expect("info is an object");
    info.insert(
        "contacts_href".into(),
        json!(format!(
            "{base}/company/contacts?conditions=company/id={}",
            c.id
        )),
    );
    info.insert(
        "agreements_href".into(),
        json!(format!(
            "{base}/finance/agreements?conditions=company/id={}",
            c.id
        )),
    );
    json!({
        "id": c.id,
        "identifier": c.identifier,
        "name": c.name,
        "status": reference(c.status_id, status_name, "status_href", format!("{base}/company/companies/statuses/{}", c.status_id)),
        "addressLine1": c.address_line1,
        "city": c.city,
        "state": c.state,
        "zip": c.zip,
        "country": reference(1, "United States", "country_href", format!("{base}/company/countries/1")),
        "phoneNumber": c.phone_number,
        "faxNumber": "",
        "website": c.website,
        "territory": reference(1, "Main", "location_href", format!("{base}/system/locations/1")),
        "dateAcquired": ts(c.date_acquired),
        "annualRevenue": 0.0,
        "timeZoneSetup": reference(1, "US Eastern", "timeZoneSetup_href", format!("{base}/system/timeZoneSetups/1")),
        "leadFlag": false,
        "unsubscribeFlag": false,
        "taxCode": reference(11, "Tax-State", "taxCode_href", format!("{base}/finance/taxCodes/11")),
        "billingTerms": reference(1, "Net 30 days", "billingTerms_href", format!("{base}/finance/billingTerms/1")),
        "billToCompany": {"id": c.id, "identifier": c.identifier, "name": c.name, "_info": {"company_href": format!("{base}/company/companies/{}", c.id)}},
        "invoiceDeliveryMethod": {"id": 1, "name": "Email"},
        "deletedFlag": c.deleted,
        "isVendorFlag": vendor,
        "types": types,
        "site": reference(c.id * 10 + 1, "Main", "site_href", format!("{base}/company/companies/{}/sites/{}", c.id, c.id * 10 + 1)),
        "_info": info,
    })
}

pub(super) fn agreement_json(data: &CwData, a: &CwAgreement, base: &str) -> Value {
    let company = data
        .companies
        .iter()
        .find(|c| c.id == a.company_id)
        .expect("agreements belong to sample companies");
    let type_name = data
        .agreement_types
        .iter()
        .find(|(id, _)| *id == a.type_id)
        .map(|(_, n)| n.as_str())
        .unwrap_or("Managed Services");
    let cycle = data
        .billing_cycles
        .iter()
        .find(|(id, _)| *id == a.billing_cycle_id)
        .map(|(_, n)| n.as_str())
        .unwrap_or("Monthly");
    let mut m = json!({
        "id": a.id,
        "name": a.name,
        "type": reference(a.type_id, type_name, "type_href", format!("{base}/finance/agreements/types/{}", a.type_id)),
        "company": {"id": company.id, "identifier": company.identifier, "name": company.name, "_info": {"company_href": format!("{base}/company/companies/{}", company.id)}},
        "contact": {"id": company.id * 3, "name": "Office Manager", "_info": {"contact_href": format!("{base}/company/contacts/{}", company.id * 3)}},
        "site": reference(company.id * 10 + 1, "Main", "site_href", format!("{base}/company/companies/{}/sites/{}", company.id, company.id * 10 + 1)),
        "location": reference(2, "Main Office", "location_href", format!("{base}/system/locations/2")),
        "department": reference(10, "Managed Services", "department_href", format!("{base}/system/departments/10")),
        "restrictLocationFlag": false,
        "restrictDepartmentFlag": false,
        "startDate": ts(a.start),
        "noEndingDateFlag": a.end.is_none(),
        "cancelledFlag": a.cancelled,
    });
    // Two literals: one would exceed serde_json's macro recursion limit.
    let terms = json!({
        "customerPO": "",
        "workOrder": "",
        "internalNotes": "",
        "applicationUnits": "Amount",
        "applicationLimit": 0.0,
        "applicationUnlimitedFlag": false,
        "oneTimeFlag": false,
        "coverAgreementTime": true,
        "coverAgreementProduct": false,
        "coverAgreementExpense": false,
        "coverSalesTax": false,
        "carryOverUnused": false,
        "allowOverruns": false,
        "chargeToFirm": false,
        "employeeCompRate": "Actual",
        "compHourlyRate": 0.0,
        "compLimitAmount": 0.0,
        "billCycleId": a.billing_cycle_id,
        "billingCycle": reference(a.billing_cycle_id, cycle, "billingCycle_href", format!("{base}/finance/billingCycles/{}", a.billing_cycle_id)),
        "billOneTimeFlag": false,
        "billingTerms": reference(1, "Net 30 days", "billingTerms_href", format!("{base}/finance/billingTerms/1")),
        "invoicingCycle": "CalendarYear",
        "billAmount": 0.0,
        "taxable": false,
        "prorateFirstBill": 0.0,
        "billStartDate": ts(a.start),
        "taxCode": reference(11, "Tax-State", "taxCode_href", format!("{base}/finance/taxCodes/11")),
        "restrictDownPayment": false,
        "prorateFlag": true,
        "invoiceDescription": "",
        "topComment": false,
        "bottomComment": false,
        "workRole": reference(3, "Technician", "workRole_href", format!("{base}/time/workRoles/3")),
        "workType": reference(2, "Remote Support", "workType_href", format!("{base}/time/workTypes/2")),
        "agreementStatus": a.status,
        "_info": info(a.start),
    });
    let obj = m.as_object_mut().expect("an object");
    if let Value::Object(t) = terms {
        obj.extend(t);
    }
    // The API leaves out what is unset instead of sending null.
    if let Some(end) = a.end {
        obj.insert("endDate".into(), ts(end));
    }
    if let Some(d) = a.date_cancelled {
        obj.insert("dateCancelled".into(), ts(d));
    }
    if let Some(r) = &a.reason_cancelled {
        obj.insert("reasonCancelled".into(), json!(r));
    }
    m
}

pub(super) fn addition_json(
    data: &CwData,
    a: &CwAddition,
    agreement: &CwAgreement,
    base: &str,
) -> Value {
    let product = data
        .catalog
        .iter()
        .find(|p| p.id == a.product_id)
        .expect("additions refer to catalog items");
    let billed = (a.quantity - a.less_included).max(Decimal::ZERO);
    let ext_price = billed * a.unit_price;
    let ext_cost = billed * a.unit_cost;
    let mut m = json!({
        "id": a.id,
        "product": {"id": product.id, "identifier": product.identifier, "_info": {"product_href": format!("{base}/procurement/catalog/{}", product.id)}},
        "quantity": money(a.quantity),
        "lessIncluded": money(a.less_included),
        "unitPrice": money(a.unit_price),
        "unitCost": money(a.unit_cost),
        "billCustomer": a.bill_customer,
        "effectiveDate": ts(a.effective),
        "taxableFlag": false,
        "serialNumber": "",
        "invoiceDescription": a.description,
        "purchaseItemFlag": false,
        "specialOrderFlag": false,
        "agreementId": a.agreement_id,
        "description": a.description,
        "billedQuantity": money(billed),
        "uom": "Each",
        "extPrice": money(ext_price),
        "extCost": money(ext_cost),
        "sequenceNumber": a.sequence_number as f64,
        "margin": money(ext_price - ext_cost),
        "prorateCost": 0.0,
        "proratePrice": 0.0,
        "extendedProrateCost": 0.0,
        "extendedProratePrice": 0.0,
        "prorateCurrentPeriodFlag": false,
        "agreementStatus": agreement.status,
        "invoiceGrouping": {"id": 1, "name": "Default", "_info": {"invoiceGrouping_href": format!("{base}/procurement/invoiceGroupings/1")}},
        "_info": info(a.cancelled.unwrap_or(a.effective)),
    });
    if let Some(c) = a.cancelled {
        m.as_object_mut()
            .expect("an object")
            .insert("cancelledDate".into(), ts(c));
    }
    m
}

pub(super) fn catalog_json(p: &CwCatalogItem, base: &str) -> Value {
    json!({
        "id": p.id,
        "identifier": p.identifier,
        "description": p.description,
        "inactiveFlag": p.inactive,
        "subcategory": reference(4, &p.subcategory, "subcategory_href", format!("{base}/procurement/subcategories/4")),
        "type": reference(2, "Recurring", "type_href", format!("{base}/procurement/types/2")),
        "productClass": "Agreement",
        "serializedFlag": false,
        "serializedCostFlag": false,
        "phaseProductFlag": false,
        "unitOfMeasure": reference(1, "Each", "unitOfMeasure_href", format!("{base}/procurement/unitOfMeasures/1")),
        "minStockLevel": 0,
        "price": money(p.price),
        "cost": money(p.cost),
        "priceAttribute": "FixedFee",
        "taxableFlag": false,
        "dropShipFlag": false,
        "specialOrderFlag": false,
        "customerDescription": p.customer_description,
        "manufacturer": reference(7, "NinjaOne", "manufacturer_href", format!("{base}/procurement/manufacturers/7")),
        "manufacturerPartNumber": p.identifier,
        "vendorSku": p.identifier,
        "notes": "",
        "recurringFlag": true,
        "recurringRevenue": money(p.price),
        "recurringCost": money(p.cost),
        "recurringOneTimeFlag": false,
        "recurringBillCycle": reference(2, "Monthly", "billingCycle_href", format!("{base}/finance/billingCycles/2")),
        "recurringCycleType": "ContractYear",
        "calculatedPriceFlag": false,
        "calculatedCostFlag": false,
        "category": reference(3, &p.category, "category_href", format!("{base}/procurement/categories/3")),
        "_info": info(day_of(2022, 6, 1)),
    })
}
