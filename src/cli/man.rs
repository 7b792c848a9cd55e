//! `reconcile man`: the manual pages, from the same clap definition as `--help`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::cli::Exit;

/// Print the manual page (roff), or write one page per command into a directory.
///
///   reconcile man | man -l -                           # read it now
///   sudo reconcile man --dir /usr/local/share/man/man1  # install: `man reconcile`, `man reconcile-sync`, ...
#[derive(Debug, clap::Args)]
#[command(
    verbatim_doc_comment,
    about = "Print the manual page, or write one page per command into a directory"
)]
pub struct Args {
    /// Write reconcile.1 and a page per subcommand (reconcile-sync.1, ...) into DIR
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

impl Args {
    pub fn run(self) -> Result<Exit> {
        let cmd = crate::cli::command();
        match self.dir {
            Some(dir) => {
                std::fs::create_dir_all(&dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
                clap_mangen::generate_to(cmd, &dir).with_context(|| {
                    format!("cannot write the manual pages into {}", dir.display())
                })?;
            }
            None => {
                let mut out = std::io::stdout().lock();
                clap_mangen::Man::new(cmd).render(&mut out)?;
                out.flush()?;
            }
        }
        Ok(Exit::Ok)
    }
}
