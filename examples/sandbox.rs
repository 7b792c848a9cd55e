//! Starts every sandbox of `reconcile demo` (the vendors, ConnectWise and the other PSAs) and
//! keeps them running, so the real CLI can be tried by hand against them:
//!
//! ```sh
//! cargo run --example sandbox        # prints the connect commands to paste
//! ```
//!
//! Every PSA sandbox bills the same sample clients; connect one of them (or several, under
//! different names) with the vendors.

use std::sync::Arc;

use reconcile::demo::{self, Sandbox};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let sandbox = Sandbox::start(demo::sample()).await?;
    let sample = sandbox.sample.clone();
    let autotask = demo::autotask::start(Arc::clone(&sample)).await?;
    let halopsa = demo::halopsa::start(Arc::clone(&sample)).await?;
    let syncro = demo::syncro::start(Arc::clone(&sample)).await?;
    let c = &sandbox.credentials;
    println!("# Vendors");
    println!(
        "printf %s '{}' | reconcile connect ninjaone --url {} --client-id {}",
        c.ninja_client_secret, sandbox.ninjaone_url, c.ninja_client_id
    );
    println!(
        "printf %s '{}' | reconcile connect sentinelone --url {}",
        demo::sentinelone::DEMO_API_TOKEN,
        sandbox.sentinelone.url
    );
    println!(
        "printf %s '{}' | reconcile connect m365 --partner-tenant {} --client-id {} --token-host {url} --graph-host {url}",
        demo::m365::DEMO_CLIENT_SECRET,
        demo::m365::DEMO_PARTNER_TENANT,
        demo::m365::DEMO_CLIENT_ID,
        url = sandbox.m365.url
    );
    println!(
        "printf %s '{}' | reconcile connect jumpcloud --provider-id {} --url {}",
        demo::jumpcloud::DEMO_API_KEY,
        demo::jumpcloud::DEMO_PROVIDER_ID,
        sandbox.jumpcloud.url
    );
    println!(
        "printf '%s\\n%s\\n' '{}' '{}' | reconcile connect sherweb --client-id {} --api-url {} --token-url {}",
        demo::sherweb::DEMO_CLIENT_SECRET,
        demo::sherweb::DEMO_SUBSCRIPTION_KEY,
        demo::sherweb::DEMO_CLIENT_ID,
        sandbox.sherweb.api_url(),
        sandbox.sherweb.token_url()
    );
    println!(
        "printf %s '{}' | reconcile connect keeper --url {}",
        demo::keeper::DEMO_API_KEY,
        sandbox.keeper.url
    );
    println!(
        "reconcile connect csv --name backup --path {} --account-column Client --sku-column 'Billing Code' --sku-name-column Description --quantity-column Quantity",
        sandbox.backup.path().display()
    );
    println!("# PSAs (the same clients and lines in each)");
    println!(
        "printf %s '{}' | reconcile connect connectwise --site {} --company-id {} --public-key {} --client-id {} --billable-type Client",
        c.cw_private_key,
        sandbox.connectwise_site,
        c.cw_company_id,
        c.cw_public_key,
        c.cw_client_id
    );
    let at = autotask.settings();
    println!(
        "printf %s '{}' | reconcile connect autotask --username {} --integration-code {} --zone-lookup-url {}",
        demo::autotask::DEMO_SECRET,
        at.username,
        at.integration_code,
        at.zone_lookup_url.as_deref().unwrap_or_default()
    );
    println!(
        "printf %s '{}' | reconcile connect halopsa --url {} --client-id {} --tenant {} --billable-client-type Client",
        demo::halopsa::DEMO_CLIENT_SECRET,
        halopsa.url,
        demo::halopsa::DEMO_CLIENT_ID,
        demo::halopsa::DEMO_TENANT
    );
    println!(
        "printf %s '{}' | reconcile connect syncro --url {}/api/v1 --billable-property {} --billable-value Client",
        demo::syncro::DEMO_API_TOKEN,
        syncro.url,
        demo::syncro::DEMO_TYPE_PROPERTY
    );
    eprintln!("sandboxes running; Ctrl-C stops them");
    tokio::signal::ctrl_c().await?;
    drop((autotask, halopsa, syncro));
    sandbox.shutdown().await;
    Ok(())
}
