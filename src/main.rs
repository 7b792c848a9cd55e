//! The `reconcile` binary: parse the command line, set up logging and the runtime, run the
//! command, and turn its result into an exit code. Everything else lives in the library.

use std::process::ExitCode;

use clap::FromArgMatches;
use reconcile::app::App;
use reconcile::cli::{Cli, EXIT_ERROR};
use reconcile::config::Paths;
use reconcile::http::RetryPolicy;
use reconcile::secrets::Secrets;

fn main() -> ExitCode {
    // A shell asking for completions (`COMPLETE=bash reconcile -- ...`, from the script
    // `reconcile completions` prints) is answered here, and the process ends.
    clap_complete::CompleteEnv::with_factory(reconcile::cli::command)
        .var(reconcile::cli::completions::COMPLETE_VAR)
        .complete();
    let cli = match Cli::from_arg_matches(&reconcile::cli::command().get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let level = match (cli.global.quiet, cli.global.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "reconcile=debug,warn",
        (false, _) => "trace",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RECONCILE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level)),
        )
        // Above the progress bars while a sync draws them, so their redraw never erases a warning.
        .with_writer(|| reconcile::progress::Stderr)
        // Colours only for a person at a terminal (or as --color, NO_COLOR, CLICOLOR_FORCE say):
        // cron mails and log files get plain text.
        .with_ansi(cli.global.color.stderr())
        .with_target(false)
        .without_time()
        .init();

    let result = (|| -> anyhow::Result<_> {
        let paths = Paths::resolve(cli.global.config.clone(), cli.global.db.clone())?;
        let app = App {
            paths,
            quiet: cli.global.quiet,
            verbose: cli.global.verbose,
            secrets: Secrets::system(),
            retry: RetryPolicy::default(),
            color: cli.global.color,
        };
        // Several threads: each connection syncs on its own task while the database is written
        // on the main one.
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        rt.block_on(cli.command.run(&app))
    })();

    match result {
        Ok(exit) => ExitCode::from(exit.code()),
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            #[allow(
                clippy::print_stderr,
                reason = "the last word of the process: its error"
            )]
            {
                eprintln!("error: {err:#}");
            }
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// `reconcile report | head` closing the pipe early is not an error.
/// Every writer the output paths use reports it its own way: std's io errors, serde_json's and
/// the csv crate's.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    use std::io::ErrorKind::BrokenPipe;
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == BrokenPipe)
            || e.downcast_ref::<serde_json::Error>()
                .is_some_and(|j| j.io_error_kind() == Some(BrokenPipe))
            || e.downcast_ref::<csv::Error>().is_some_and(
                |c| matches!(c.kind(), csv::ErrorKind::Io(io) if io.kind() == BrokenPipe),
            )
    })
}
