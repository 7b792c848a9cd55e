//! Readable names for the common SKU part numbers, after Microsoft's "Product names and service
//! plan identifiers for licensing" list, and the rules that flag trial and free SKUs. A part
//! number not in the table keeps the part number as its name.

/// (skuPartNumber, product name).
const NAMES: &[(&str, &str)] = &[
    ("SPB", "Microsoft 365 Business Premium"),
    ("O365_BUSINESS_PREMIUM", "Microsoft 365 Business Standard"),
    ("O365_BUSINESS_ESSENTIALS", "Microsoft 365 Business Basic"),
    ("O365_BUSINESS", "Microsoft 365 Apps for business"),
    ("OFFICESUBSCRIPTION", "Microsoft 365 Apps for enterprise"),
    ("SPE_E3", "Microsoft 365 E3"),
    ("SPE_E5", "Microsoft 365 E5"),
    ("SPE_F1", "Microsoft 365 F3"),
    ("M365_F1", "Microsoft 365 F1"),
    ("STANDARDPACK", "Office 365 E1"),
    ("ENTERPRISEPACK", "Office 365 E3"),
    ("ENTERPRISEPREMIUM", "Office 365 E5"),
    ("DESKLESSPACK", "Office 365 F3"),
    ("EXCHANGESTANDARD", "Exchange Online (Plan 1)"),
    ("EXCHANGEENTERPRISE", "Exchange Online (Plan 2)"),
    ("EXCHANGEDESKLESS", "Exchange Online Kiosk"),
    ("EXCHANGE_S_ESSENTIALS", "Exchange Online Essentials"),
    (
        "EXCHANGEARCHIVE_ADDON",
        "Exchange Online Archiving for Exchange Online",
    ),
    ("SHAREPOINTSTANDARD", "SharePoint Online (Plan 1)"),
    ("SHAREPOINTENTERPRISE", "SharePoint Online (Plan 2)"),
    (
        "ATP_ENTERPRISE",
        "Microsoft Defender for Office 365 (Plan 1)",
    ),
    (
        "THREAT_INTELLIGENCE",
        "Microsoft Defender for Office 365 (Plan 2)",
    ),
    ("DEFENDER_ENDPOINT_P1", "Microsoft Defender for Endpoint P1"),
    ("MDATP_XPLAT", "Microsoft Defender for Endpoint P2"),
    ("IDENTITY_THREAT_PROTECTION", "Microsoft 365 E5 Security"),
    ("EMS", "Enterprise Mobility + Security E3"),
    ("EMSPREMIUM", "Enterprise Mobility + Security E5"),
    ("AAD_PREMIUM", "Microsoft Entra ID P1"),
    ("AAD_PREMIUM_P2", "Microsoft Entra ID P2"),
    ("INTUNE_A", "Microsoft Intune Plan 1"),
    ("RIGHTSMANAGEMENT", "Azure Information Protection Plan 1"),
    ("POWER_BI_PRO", "Power BI Pro"),
    ("PBI_PREMIUM_PER_USER", "Power BI Premium Per User"),
    ("POWER_BI_STANDARD", "Microsoft Fabric (Free)"),
    ("PROJECT_P1", "Project Plan 1"),
    ("PROJECTPROFESSIONAL", "Project Plan 3"),
    ("PROJECTPREMIUM", "Project Plan 5"),
    ("VISIO_PLAN1_DEPT", "Visio Plan 1"),
    ("VISIOCLIENT", "Visio Plan 2"),
    ("MCOEV", "Microsoft Teams Phone Standard"),
    ("MCOMEETADV", "Microsoft 365 Audio Conferencing"),
    ("MCOPSTN1", "Microsoft 365 Domestic Calling Plan"),
    ("MCOPSTNC", "Communications Credits"),
    (
        "PHONESYSTEM_VIRTUALUSER",
        "Microsoft Teams Phone Resource Account",
    ),
    ("TEAMS_EXPLORATORY", "Microsoft Teams Exploratory"),
    ("Microsoft_Teams_Premium", "Microsoft Teams Premium"),
    ("Microsoft_365_Copilot", "Microsoft 365 Copilot"),
    ("WIN10_VDA_E3", "Windows 10/11 Enterprise E3"),
    ("FLOW_FREE", "Microsoft Power Automate Free"),
    ("POWERAPPS_VIRAL", "Microsoft Power Apps Plan 2 Trial"),
    ("POWERAPPS_DEV", "Microsoft Power Apps for Developer"),
    ("STREAM", "Microsoft Stream"),
    ("WINDOWS_STORE", "Windows Store for Business"),
    ("MICROSOFT_BUSINESS_CENTER", "Microsoft Business Center"),
    ("RIGHTSMANAGEMENT_ADHOC", "Rights Management Adhoc"),
];

/// Part numbers that are free, self-service ("viral") or exploratory offers even though their
/// name carries no marker.
const FREE: &[&str] = &[
    "POWER_BI_STANDARD",
    "TEAMS_EXPLORATORY",
    "WINDOWS_STORE",
    "STREAM",
    "MICROSOFT_BUSINESS_CENTER",
    "RIGHTSMANAGEMENT_ADHOC",
    "POWERAPPS_DEV",
    "FLOW_FREE",
];

/// The product name of a part number; `None` when the table does not know it.
pub fn name_of(part_number: &str) -> Option<&'static str> {
    NAMES
        .iter()
        .find(|(p, _)| p.eq_ignore_ascii_case(part_number.trim()))
        .map(|(_, n)| *n)
}

/// Graph does not mark trials; Microsoft's trial SKUs carry `TRIAL` in the part number
/// (`POWER_BI_PRO_TRIAL`, `DYN365_..._TRIAL`), and self-service trials are `..._VIRAL`.
pub fn is_trial(part_number: &str) -> bool {
    let p = part_number.to_ascii_uppercase();
    p.contains("TRIAL") || p.contains("VIRAL")
}

/// Free SKUs: `FREE` in the part number (`FLOW_FREE`, `TEAMS_FREE`) or a known free offer.
pub fn is_free(part_number: &str) -> bool {
    let p = part_number.to_ascii_uppercase();
    p.contains("FREE") || FREE.iter().any(|f| f.eq_ignore_ascii_case(&p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_flags() {
        assert_eq!(name_of("SPE_E3"), Some("Microsoft 365 E3"));
        assert_eq!(name_of("spb"), Some("Microsoft 365 Business Premium"));
        assert_eq!(name_of("CONTOSO_CUSTOM"), None);
        assert!(is_trial("POWER_BI_PRO_TRIAL") && is_trial("POWERAPPS_VIRAL"));
        assert!(!is_trial("SPE_E3"));
        assert!(is_free("FLOW_FREE") && is_free("TEAMS_EXPLORATORY"));
        assert!(!is_free("O365_BUSINESS_PREMIUM"));
    }
}
