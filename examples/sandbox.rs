//! Starts the sandbox APIs (NinjaOne, ConnectWise, and the other vendors) of `reconcile demo` and keeps them running,
//! so the real CLI can be tried by hand against them:
//!
//! ```sh
//! cargo run --example sandbox        # prints the connect commands to paste
//! ```

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let sandbox = reconcile::demo::Sandbox::start(reconcile::demo::sample()).await?;
    let c = &sandbox.credentials;
    println!(
        "printf %s '{}' | reconcile connect ninjaone --url {} --client-id {}",
        c.ninja_client_secret, sandbox.ninjaone_url, c.ninja_client_id
    );
    println!(
        "printf %s '{}' | reconcile connect connectwise --site {} --company-id {} --public-key {} --client-id {} --billable-type Client",
        c.cw_private_key,
        sandbox.connectwise_site,
        c.cw_company_id,
        c.cw_public_key,
        c.cw_client_id
    );
    println!(
        "printf %s '{}' | reconcile connect sentinelone --url {}",
        reconcile::demo::sentinelone::DEMO_API_TOKEN,
        sandbox.sentinelone.url
    );
    eprintln!("sandboxes running; Ctrl-C stops them");
    tokio::signal::ctrl_c().await?;
    sandbox.shutdown().await;
    Ok(())
}
