//! Starts every sandbox of `reconcile demo` (every vendor's, every PSA's) and keeps them running,
//! so the real CLI can be tried by hand against them:
//!
//! ```sh
//! cargo run --example sandbox        # prints the connect commands to paste
//! ```
//!
//! Every PSA sandbox bills the same sample clients; connect one of them (or several, under
//! different names) with the vendors.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "an example prints the commands to paste"
)]

use reconcile::connectors::{ConnectorKind, Role};
use reconcile::demo::{self, Sandbox, apis};
use secrecy::ExposeSecret;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let sandbox = Sandbox::start_kinds(demo::sample(), ConnectorKind::ALL.iter().copied()).await?;
    for (role, title) in [
        (Role::Vendor, "# Vendors"),
        (Role::Psa, "# PSAs (the same clients and lines in each)"),
    ] {
        println!("{title}");
        let mut kinds: Vec<ConnectorKind> = sandbox.kinds().filter(|k| k.role() == role).collect();
        kinds.sort_by_key(|k| apis::of(*k).connect_order());
        for kind in kinds {
            let c = sandbox.connection(kind);
            let secrets: Vec<&str> = c.secrets.iter().map(|(_, s)| s.expose_secret()).collect();
            let stdin = match secrets.as_slice() {
                [] => String::new(),
                [one] => format!("printf %s '{one}' | "),
                many => format!(
                    "printf '{}' '{}' | ",
                    "%s\\n".repeat(many.len()),
                    many.join("' '")
                ),
            };
            println!(
                "{stdin}reconcile connect {kind} --name {} {}",
                c.name, c.flags
            );
        }
    }
    eprintln!("sandboxes running; Ctrl-C stops them");
    tokio::signal::ctrl_c().await?;
    sandbox.shutdown().await;
    Ok(())
}
