//! `reconcile completions`: the shell's completion script, from the same clap definition as
//! `--help` (so it cannot drift from it); the values it completes come from `complete.rs`.

use std::io::Write;

use anyhow::{Context, Result, bail};

use crate::cli::Exit;

/// The environment variable the completion scripts set when they call `reconcile` back.
pub const COMPLETE_VAR: &str = "COMPLETE";

/// Print the shell completion script for SHELL.
///
/// Completes subcommands and flags, and values from your config and database as you type:
/// connection names (`sync`, `disconnect`, `--psa`), vendor services and product identifiers
/// (`map service`), companies (`explain`, `report --company`) and finding ids (`review`,
/// `explain`). The script calls `reconcile` back for each completion, so it follows upgrades.
///
///   bash:        echo 'source <(reconcile completions bash)' >> ~/.bashrc
///   zsh:         echo 'source <(reconcile completions zsh)' >> ~/.zshrc
///   fish:        reconcile completions fish > ~/.config/fish/completions/reconcile.fish
///   powershell:  reconcile completions powershell >> $PROFILE
#[derive(Debug, clap::Args)]
#[command(
    verbatim_doc_comment,
    about = "Print the shell completion script (bash, zsh, fish, powershell, elvish)"
)]
pub struct Args {
    /// bash, zsh, fish, powershell or elvish
    #[arg(value_name = "SHELL", value_parser = ["bash", "zsh", "fish", "powershell", "elvish"])]
    pub shell: String,
}

impl Args {
    pub fn run(self) -> Result<Exit> {
        let shells = clap_complete::env::Shells::builtins();
        let Some(shell) = shells.completer(&self.shell) else {
            bail!(
                "no completions for `{}`; one of: bash, zsh, fish, powershell, elvish",
                self.shell
            );
        };
        let mut out = std::io::stdout().lock();
        shell
            .write_registration(
                COMPLETE_VAR,
                "reconcile",
                "reconcile",
                "reconcile",
                &mut out,
            )
            .context("cannot write the completion script")?;
        out.flush()?;
        Ok(Exit::Ok)
    }
}
