//! `reconcile map export`: every mapping as CSV, to stdout or a file.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;

use crate::app::App;
use crate::cli::Exit;
use crate::config::Config;
use crate::output::write_atomically;
use crate::store::Store;

use super::list::{MappingRow, rows};

/// Write every mapping as CSV (columns: kind, vendor_connection, vendor_key, vendor_name,
/// psa_connection, psa_key, psa_name, source); empty psa columns mean "not billed".
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Write to FILE instead of stdout
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
}

impl Args {
    pub fn run(self, app: &App, config: &Config, store: &Store) -> Result<Exit> {
        let rows = rows(config, store)?;
        match self.output {
            None => {
                let mut out = std::io::stdout().lock();
                write_export(&mut out, &rows)?;
            }
            Some(p) => {
                write_atomically(&p, |out| write_export(out, &rows))?;
                app.info(format!(
                    "wrote {} mapping(s) to {}",
                    rows.len(),
                    p.display()
                ));
            }
        }
        Ok(Exit::Ok)
    }
}

fn write_export(out: &mut dyn Write, rows: &[MappingRow]) -> Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "kind",
        "vendor_connection",
        "vendor_key",
        "vendor_name",
        "psa_connection",
        "psa_key",
        "psa_name",
        "source",
    ])?;
    for r in rows {
        w.write_record([
            &r.kind,
            &r.vendor_connection,
            &r.vendor_key,
            &r.vendor_name,
            &r.psa_connection,
            &r.psa_key,
            &r.psa_name,
            &r.source,
        ])?;
    }
    w.flush()?;
    Ok(())
}
