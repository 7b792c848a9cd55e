//! JumpCloud through the Multi-Tenant Portal (MTP): the provider's organizations are accounts,
//! their users and systems (devices) are usage items.
//!
//! Auth is an MTP administrator's API key sent as `x-api-key`; calls about one organization add
//! `x-org-id: <org id>`. JumpCloud applies an administrator's role to its API key, so the key
//! of a Read Only administrator with access to the client orgs reads without power to change. Organizations come from v2
//! `GET /api/v2/providers/{provider_id}/organizations`; users and systems from v1
//! `GET /api/systemusers` and `GET /api/systems`. Every list pages with `limit` + `skip`
//! (JumpCloud caps `limit` at 100) and reports `totalCount`; user and system lists are sorted
//! by `_id` (JumpCloud's advice for stable skip paging), and each organization's fetched count
//! is checked against its `totalCount`, so a page lost or read twice fails the sync instead of
//! skewing a bill.
//!
//! Classes: users become `USER_ACTIVATED`, `USER_SUSPENDED` or `USER_STAGED` by their `state`;
//! any other state becomes `USER_OTHER` (the value as sent stays in `raw_class` and the item
//! gets `unknown_state = true`). Systems are `SYSTEM`.
//!
//! JumpCloud bills an MSP per org on the month's high-water mark of users (suspended users
//! included, per JumpCloud's billing FAQ), so the `users` service counts every user whatever
//! its state, and daily syncs with the `peak` basis reproduce the number JumpCloud bills.

mod args;
mod convert;
mod settings;
mod wire;

pub use args::Args;
pub use settings::{Region, Settings};

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use futures_util::{StreamExt, TryStreamExt, stream};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;

use crate::connectors::{Connector, ConnectorKind, KindSettings, SyncCx};
use crate::http::{
    ConnectorError, HttpClient, Pages, Paging, Param, RateLimit, Read, Request, RetryPolicy,
    StaticHeaders, Tolerant, check_url,
};
use crate::model::{ServiceDef, ServiceFamily, Snapshot, UsageItem, VendorAccount, VendorSnapshot};

pub use convert::user_class;
use convert::{system_item, unreadable_user, user_item};

/// Records per request; JumpCloud's largest `limit`.
pub const DEFAULT_PAGE_SIZE: usize = 100;
/// The API's largest `limit` (v2 documents "Limited to 100"; v1 systems too).
pub const MAX_PAGE_SIZE: usize = 100;

const USERS: &str = "api/systemusers";
const SYSTEMS: &str = "api/systems";
/// v1 `fields` is space-separated; asking only for what we keep keeps personal data out.
const USER_FIELDS: &str = "_id username email displayname state activated suspended account_locked externally_managed created";
const SYSTEM_FIELDS: &str =
    "_id displayName hostname os osFamily active lastContact serialNumber agentVersion";

pub const ACTIVATED: &str = "USER_ACTIVATED";
pub const SUSPENDED: &str = "USER_SUSPENDED";
pub const STAGED: &str = "USER_STAGED";
/// The class of a user whose `state` this build does not know.
pub const USER_OTHER: &str = "USER_OTHER";
pub const SYSTEM: &str = "SYSTEM";

/// Every user class: what JumpCloud's high-water mark counts.
const ALL_USERS: &[&str] = &[ACTIVATED, SUSPENDED, STAGED, USER_OTHER];

/// The JumpCloud services: users (all, and by state) and systems.
pub fn services() -> Vec<ServiceDef> {
    let def = ServiceDef::of_classes;
    vec![
        def("users", "Users (billed: every state)", ALL_USERS),
        def("users-activated", "Activated Users", &[ACTIVATED]),
        def("users-suspended", "Suspended Users", &[SUSPENDED]),
        def("users-staged", "Staged Users", &[STAGED]),
        def("systems", "Systems", &[SYSTEM]),
    ]
}

/// JumpCloud has no per-SKU services: one price per user.
pub fn families() -> Vec<ServiceFamily> {
    Vec::new()
}

/// `x-api-key` on every request, plus `x-org-id` for calls about one organization.
fn api_key_auth(
    key: &SecretString,
    org_id: Option<&str>,
    hint: String,
    forbidden: String,
) -> Result<StaticHeaders, String> {
    let mut value = HeaderValue::from_str(key.expose_secret().trim())
        .map_err(|_| "the API key contains characters a header cannot carry".to_string())?;
    value.set_sensitive(true);
    let mut headers = HeaderMap::new();
    headers.insert(HeaderName::from_static("x-api-key"), value);
    if let Some(org) = org_id {
        let v = HeaderValue::from_str(org)
            .map_err(|_| format!("the organization id `{org}` cannot be sent as x-org-id"))?;
        headers.insert(HeaderName::from_static("x-org-id"), v);
    }
    Ok(StaticHeaders::from_headers(headers, hint, forbidden))
}

pub struct JumpCloud {
    name: String,
    base: url::Url,
    provider_id: String,
    key: SecretString,
    retry: RetryPolicy,
    provider: HttpClient,
    /// Shared by the provider client and every organization's: `concurrency` in flight in all.
    limit: Arc<RateLimit>,
    page_size: usize,
    again: String,
}

impl JumpCloud {
    /// `secret` is asked for each secret field this connection needs (`api_key`).
    pub fn new(
        name: &str,
        settings: &Settings,
        secret: &dyn Fn(&str) -> anyhow::Result<SecretString>,
        retry: RetryPolicy,
    ) -> anyhow::Result<JumpCloud> {
        settings.validate(name)?;
        let key = secret("api_key")?;
        let base = check_url(name, &settings.base_url())?;
        let provider_id = settings.provider_id.trim().to_string();
        let place = match (&settings.url, settings.region) {
            (Some(u), _) => format!("--url {}", u.trim().trim_end_matches('/')),
            (None, r) => format!("--region {}", r.unwrap_or(Region::Us).as_str()),
        };
        let again = format!(
            "then run `reconcile connect jumpcloud --name {name} --provider-id {provider_id} {place}` again"
        );
        let hint = format!(
            "The API key was refused: it may be mistyped, replaced (generating a new API key revokes the previous one), or its administrator's API access may be disabled. Sign in to the Multi-Tenant Portal as the administrator the key is for, generate a key in Account Management > Account Overview, {again}"
        );
        let forbidden = format!(
            "The API key is valid but may not list provider `{provider_id}`'s organizations: the provider id must be yours (Account Management > Account Overview) and the key must belong to an administrator of that Multi-Tenant Portal with API access enabled and a role that can read (Read Only is the least role). Fix the provider id, or the administrator in Administrators > Permissions & Access, {again}"
        );
        let auth =
            api_key_auth(&key, None, hint, forbidden).map_err(|m| ConnectorError::Invalid {
                connection: name.into(),
                message: m,
            })?;
        let limit = Arc::new(RateLimit::in_flight(
            retry.concurrency_or(ConnectorKind::JumpCloud.default_concurrency()),
        ));
        Ok(JumpCloud {
            name: name.to_string(),
            provider: HttpClient::new(name, base.clone(), Arc::new(auth), retry.clone())
                .with_rate_limit(limit.clone()),
            limit,
            base,
            provider_id,
            key,
            retry,
            page_size: settings.page_size.unwrap_or(DEFAULT_PAGE_SIZE),
            again,
        })
    }

    fn orgs_path(&self) -> String {
        format!("api/v2/providers/{}/organizations", self.provider_id)
    }

    /// A client whose requests carry `x-org-id` for one organization.
    fn org_client(&self, org_id: &str, org_name: &str) -> Result<HttpClient, ConnectorError> {
        let hint = format!(
            "The API key was refused while reading organization `{org_name}` ({org_id}): it may have been replaced during the sync (generating a new API key revokes the previous one). Generate a key in Account Management > Account Overview, {}",
            self.again
        );
        let forbidden = format!(
            "The API key's administrator has no access to organization `{org_name}` ({org_id}): in the Multi-Tenant Portal open Administrators > the administrator > Permissions & Access and add the org under Organization Access (the Read Only role is enough to read users and systems), then run `reconcile sync {}` again",
            self.name
        );
        let auth = api_key_auth(&self.key, Some(org_id), hint, forbidden).map_err(|m| {
            ConnectorError::Invalid {
                connection: self.name.clone(),
                message: m,
            }
        })?;
        Ok(HttpClient::new(
            &self.name,
            self.base.clone(),
            Arc::new(auth),
            self.retry.clone(),
        )
        .with_rate_limit(self.limit.clone()))
    }
}

/// A `{totalCount, results}` list: `limit` + `skip`, until a short page or `totalCount`.
fn pages<'c, T: DeserializeOwned>(
    client: &'c HttpClient,
    path: &str,
    query: &[(&str, String)],
    page_size: usize,
) -> Pages<'c, T> {
    let paging = Paging::Offset {
        offset: "skip",
        size: Param::new("limit", page_size),
        total: Some("/totalCount"),
    };
    client.pages(Request::get(path).queries(query), paging, "/results")
}

/// Every record of a list read tolerantly (see [`crate::http::decode_tolerant`]), its
/// set-aside lines prefixed with the endpoint, and the last `totalCount` it stated.
async fn get_all_skip<T: DeserializeOwned>(
    client: &HttpClient,
    path: &str,
    query: &[(&str, String)],
    page_size: usize,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<(Tolerant<T>, Option<u64>), ConnectorError> {
    let mut pages = pages(client, path, query, page_size).tolerant();
    let mut all = Tolerant {
        records: Vec::new(),
        set_aside: Vec::new(),
    };
    while let Some(page) = pages.next().await? {
        let endpoint = &page.endpoint;
        (all.set_aside).extend(page.set_aside.iter().map(|s| format!("{endpoint} {s}")));
        let read = page.items.into_iter().zip(page.odd);
        (all.records).extend(read.map(|((value, raw), odd)| Read { value, raw, odd }));
        progress(all.records.len());
    }
    Ok((all, pages.total()))
}

/// Fails when a list read page by page holds an id twice or disagrees with its `totalCount`:
/// skip paging over records that changed mid-read loses or repeats records, and a wrong user
/// count is a wrong bill.
fn check_complete<'a>(
    connection: &str,
    what: &str,
    endpoint: &str,
    org: &str,
    ids: impl Iterator<Item = &'a str>,
    set_aside: usize,
    total: Option<u64>,
) -> Result<(), ConnectorError> {
    let mut seen = HashSet::new();
    // Records set aside were listed too: the total counts them.
    let mut n = set_aside as u64;
    for id in ids {
        n += 1;
        if !seen.insert(id) {
            return Err(ConnectorError::Invalid {
                connection: connection.into(),
                message: format!(
                    "{endpoint} returned {what} `{id}` of {org} twice while paging, so records may also have been skipped; nothing was saved. Records probably changed during the sync: run the sync again"
                ),
            });
        }
    }
    if let Some(t) = total
        && t != n
    {
        return Err(ConnectorError::Invalid {
            connection: connection.into(),
            message: format!(
                "{endpoint} returned {n} {what}s for {org} but its totalCount says {t}, so paging lost or added records; nothing was saved. Run the sync again; if the numbers still differ, report it"
            ),
        });
    }
    Ok(())
}

#[async_trait]
impl Connector for JumpCloud {
    fn kind(&self) -> ConnectorKind {
        ConnectorKind::JumpCloud
    }

    async fn check(&self) -> Result<String, ConnectorError> {
        let mut orgs = pages::<wire::Organization>(&self.provider, &self.orgs_path(), &[], 1);
        let first = orgs.next().await?;
        let listed = first.map_or(0, |p| p.items.len() as u64);
        let total = orgs.total().unwrap_or(listed);
        Ok(format!(
            "signed in to {} with an API key for provider {}; {total} organization{} readable",
            self.base.origin().ascii_serialization(),
            self.provider_id,
            if total == 1 { " is" } else { "s are" }
        ))
    }

    async fn sync(&self, cx: &SyncCx) -> Result<Snapshot, ConnectorError> {
        let orgs_path = self.orgs_path();
        let (orgs, total) = get_all_skip::<wire::Organization>(
            &self.provider,
            &orgs_path,
            &[],
            self.page_size,
            &|n| cx.report("organizations", n),
        )
        .await?;
        check_complete(
            &self.name,
            "organization",
            &format!("GET /{orgs_path}"),
            &format!("provider {}", self.provider_id),
            orgs.records.iter().map(|o| o.value.id.as_str()),
            orgs.set_aside.len(),
            total,
        )?;

        let users_read = AtomicUsize::new(0);
        let systems_read = AtomicUsize::new(0);
        // Organizations are independent: read `concurrency` of them at once, each org's users
        // and systems side by side, in the order listed so the snapshot is stable.
        let mut snap = VendorSnapshot {
            set_aside: orgs.set_aside,
            ..VendorSnapshot::default()
        };
        type PerOrg = (
            VendorAccount,
            Vec<UsageItem>,
            usize,
            Vec<String>,
            Option<String>,
        );
        let per_org: Vec<PerOrg> = stream::iter(orgs.records)
            .map(
                |Read {
                     value: org, raw, ..
                 }| {
                    let (users_read, systems_read) = (&users_read, &systems_read);
                    async move {
                        let org_name = org
                            .name
                            .clone()
                            .filter(|n| !n.trim().is_empty())
                            .unwrap_or_else(|| format!("organization {}", org.id));
                        let label = format!("organization `{org_name}` ({})", org.id);
                        let client = self.org_client(&org.id, &org_name)?;
                        let user_query = [
                            ("sort", "_id".to_string()),
                            ("fields", USER_FIELDS.to_string()),
                        ];
                        let system_query = [
                            ("sort", "_id".to_string()),
                            ("fields", SYSTEM_FIELDS.to_string()),
                        ];
                        let ((users, users_total), (systems, systems_total)) = tokio::try_join!(
                            get_all_skip::<wire::SystemUser>(
                                &client,
                                USERS,
                                &user_query,
                                self.page_size,
                                &|_| {},
                            ),
                            get_all_skip::<wire::System>(
                                &client,
                                SYSTEMS,
                                &system_query,
                                self.page_size,
                                &|_| {},
                            ),
                        )?;
                        check_complete(
                            &self.name,
                            "user",
                            "GET /api/systemusers",
                            &label,
                            users.records.iter().map(|u| u.value.id.as_str()),
                            users.set_aside.len(),
                            users_total,
                        )?;
                        check_complete(
                            &self.name,
                            "system",
                            "GET /api/systems",
                            &label,
                            systems.records.iter().map(|s| s.value.id.as_str()),
                            systems.set_aside.len(),
                            systems_total,
                        )?;
                        let (nu, ns) = (users.records.len(), systems.records.len());
                        cx.report("users", users_read.fetch_add(nu, Ordering::Relaxed) + nu);
                        cx.report(
                            "systems",
                            systems_read.fetch_add(ns, Ordering::Relaxed) + ns,
                        );
                        let mut aside = users.set_aside;
                        aside.extend(systems.set_aside);
                        let mut unreadable = None;
                        let mut items = Vec::with_capacity(nu + ns);
                        for u in users.records {
                            if unreadable.is_none() {
                                unreadable = unreadable_user(&u);
                            }
                            let odd = u.odd_fields();
                            let mut item = user_item(u.value, u.raw, &org, &org_name);
                            item.attrs
                                .extend(odd.map(|o| ("odd_fields".to_string(), o)));
                            items.push(item);
                        }
                        for s in systems.records {
                            let odd = s.odd_fields();
                            let mut item = system_item(s.value, s.raw, &org, &org_name);
                            item.attrs
                                .extend(odd.map(|o| ("odd_fields".to_string(), o)));
                            items.push(item);
                        }
                        let account = VendorAccount {
                            id: org.id,
                            name: org_name,
                            raw: Some(raw),
                        };
                        let unknown = items.iter().filter(|i| i.class == USER_OTHER).count();
                        // Stored now when the sync streams; kept for the snapshot otherwise.
                        let mut kept = Vec::new();
                        cx.emit(&self.name, items, &mut kept).await?;
                        Ok::<_, ConnectorError>((account, kept, unknown, aside, unreadable))
                    }
                },
            )
            .buffered(
                self.retry
                    .concurrency_or(ConnectorKind::JumpCloud.default_concurrency()),
            )
            .try_collect()
            .await?;
        let mut unknown = 0;
        for (account, items, unknown_users, aside, unreadable) in per_org {
            snap.set_aside.extend(aside);
            if let Some(why) = unreadable {
                snap.unreadable.insert(account.id.clone(), why);
            }
            snap.accounts.push(account);
            snap.items.extend(items);
            unknown += unknown_users;
        }
        let (users_read, systems_read) = (users_read.into_inner(), systems_read.into_inner());
        if unknown > 0 {
            tracing::warn!(
                connection = %self.name,
                users = unknown,
                "JumpCloud sent user states this version does not know; they are kept as class USER_OTHER and counted in `users` only"
            );
        }
        tracing::debug!(connection = %self.name, orgs = snap.accounts.len(), users = users_read, systems = systems_read, "read JumpCloud");
        Ok(Snapshot::Vendor(snap))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(toml_text: &str) -> Settings {
        toml::from_str(toml_text).unwrap()
    }

    #[test]
    fn settings_validate_region_url_and_page_size() {
        let s = settings("provider_id = \"5f0c9e2b1a2b3c4d5e6f7a8b\"\n");
        s.validate("jc").unwrap();
        assert_eq!(s.base_url(), "https://console.jumpcloud.com");
        let s = settings("provider_id = \"p1\"\nregion = \"eu\"\n");
        assert_eq!(s.base_url(), "https://console.eu.jumpcloud.com");
        let s = settings("provider_id = \"p1\"\nregion = \"in\"\n");
        assert_eq!(s.base_url(), "https://console.in.jumpcloud.com");
        for (text, want) in [
            ("provider_id = \"\"\n", "provider_id is empty"),
            ("provider_id = \"a/b\"\n", "not a JumpCloud provider id"),
            (
                "provider_id = \"p\"\nregion = \"us\"\nurl = \"https://x\"\n",
                "both region and url",
            ),
            (
                "provider_id = \"p\"\nurl = \"http://example.com\"\n",
                "only https",
            ),
            ("provider_id = \"p\"\npage_size = 101\n", "1 to 100"),
        ] {
            let err = settings(text).validate("jc").unwrap_err().to_string();
            assert!(err.contains(want), "{text}: {err}");
            assert!(err.contains("jc"), "{err}");
        }
        assert!(toml::from_str::<Settings>("provider_id = \"p\"\nregion = \"mars\"\n").is_err());
    }
}
