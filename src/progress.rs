//! Progress on stderr: one line per connection while a sync runs. Only on a terminal, never
//! under `--quiet` or `-v` (where log lines would tangle with the bars), never on stdout.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Progress {
    multi: Option<MultiProgress>,
    /// Bold connection names (`--color`).
    color: bool,
}

impl Progress {
    pub fn new(quiet: bool, verbose: u8, color: bool) -> Progress {
        let on = !quiet && verbose == 0 && std::io::stderr().is_terminal();
        let multi = on.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        if let Some(m) = &multi {
            *DRAWN.lock().unwrap_or_else(|e| e.into_inner()) = Some(m.clone());
        }
        Progress { multi, color }
    }

    pub fn hidden() -> Progress {
        Progress {
            multi: None,
            color: false,
        }
    }

    /// A line on stderr that stays: above the bars while they are drawn (a plain line would be
    /// erased by their next redraw), else printed as is.
    #[allow(
        clippy::print_stderr,
        reason = "progress owns stderr while bars are drawn"
    )]
    pub fn line(&self, line: &str) {
        match &self.multi {
            Some(m) if m.println(line).is_ok() => {}
            _ => eprintln!("{line}"),
        }
    }

    /// A bar for one connection; a no-op when progress is off.
    pub fn bar(&self, connection: &str) -> Bar {
        let Some(m) = &self.multi else {
            return Bar { pb: None };
        };
        let pb = m.add(ProgressBar::new_spinner());
        pb.set_style(
            ProgressStyle::with_template(if self.color {
                "{spinner} {prefix:.bold} {msg} ({elapsed})"
            } else {
                "{spinner} {prefix} {msg} ({elapsed})"
            })
            .expect("the template is valid"),
        );
        pb.set_prefix(connection.to_string());
        pb.set_message("starting");
        pb.enable_steady_tick(Duration::from_millis(120));
        Bar { pb: Some(pb) }
    }
}

#[derive(Clone)]
pub struct Bar {
    pb: Option<ProgressBar>,
}

impl Bar {
    pub fn update(&self, stage: &str, count: usize) {
        if let Some(pb) = &self.pb {
            pb.set_message(format!("{stage}: {count}"));
        }
    }

    /// Whether a bar is drawn (a terminal, not quiet); callers print plain lines otherwise.
    pub fn is_visible(&self) -> bool {
        self.pb.is_some()
    }

    pub fn finish(&self, message: &str) {
        if let Some(pb) = &self.pb {
            pb.finish_with_message(message.to_string());
        }
    }
}

/// The bars being drawn, if any: log lines written meanwhile go above them (see [`Stderr`]).
static DRAWN: Mutex<Option<MultiProgress>> = Mutex::new(None);

/// stderr for log lines (`tracing`'s writer, e.g. a connector's warning about an unknown
/// value): while bars are drawn each write clears them, writes, and draws them again below, so
/// their next redraw never erases the line.
pub struct Stderr;

impl Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let drawn = DRAWN.lock().unwrap_or_else(|e| e.into_inner()).clone();
        match drawn {
            Some(m) => m.suspend(|| std::io::stderr().write(buf)),
            None => std::io::stderr().write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}
