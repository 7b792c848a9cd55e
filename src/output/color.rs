//! Whether to draw colours: `--color auto|always|never`, then the conventions of
//! <https://no-color.org> (`NO_COLOR`) and <https://bixense.com/clicolors> (`CLICOLOR_FORCE`,
//! `CLICOLOR=0`), then whether the stream is a terminal. Cron mails, pipes and files get plain
//! text unless asked otherwise.

/// `--color`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colours on a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces them)
    #[default]
    Auto,
    /// Always, even into a pipe or a file
    Always,
    /// Never
    Never,
}

impl ColorChoice {
    /// Whether a stream gets colours, given whether it is a terminal and a lookup of the
    /// environment (a parameter, so the rules are tested without touching the process's).
    pub fn resolve(self, is_terminal: bool, env: impl Fn(&str) -> Option<String>) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                let set = |k: &str| env(k).filter(|v| !v.is_empty());
                if set("NO_COLOR").is_some() {
                    return false;
                }
                if set("CLICOLOR_FORCE").is_some_and(|v| v != "0") {
                    return true;
                }
                if set("CLICOLOR").is_some_and(|v| v == "0") {
                    return false;
                }
                is_terminal
            }
        }
    }

    /// For stdout (tables) of this process.
    pub fn stdout(self) -> bool {
        self.resolve(std::io::IsTerminal::is_terminal(&std::io::stdout()), |k| {
            std::env::var(k).ok()
        })
    }

    /// For stderr (log lines, progress) of this process.
    pub fn stderr(self) -> bool {
        self.resolve(std::io::IsTerminal::is_terminal(&std::io::stderr()), |k| {
            std::env::var(k).ok()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_then_environment_then_terminal() {
        type Case<'a> = (ColorChoice, bool, &'a [(&'a str, &'a str)], bool);
        let cases: &[Case] = &[
            (ColorChoice::Auto, true, &[], true),
            (ColorChoice::Auto, false, &[], false),
            (ColorChoice::Auto, true, &[("NO_COLOR", "1")], false),
            // An empty NO_COLOR is as if unset (no-color.org).
            (ColorChoice::Auto, true, &[("NO_COLOR", "")], true),
            (ColorChoice::Auto, false, &[("CLICOLOR_FORCE", "1")], true),
            (ColorChoice::Auto, false, &[("CLICOLOR_FORCE", "0")], false),
            (
                ColorChoice::Auto,
                false,
                &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")],
                false,
            ),
            (ColorChoice::Auto, true, &[("CLICOLOR", "0")], false),
            (ColorChoice::Always, false, &[("NO_COLOR", "1")], true),
            (ColorChoice::Never, true, &[("CLICOLOR_FORCE", "1")], false),
        ];
        for (choice, tty, env, want) in cases {
            let got = choice.resolve(*tty, |k| {
                env.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            });
            assert_eq!(got, *want, "{choice:?} tty={tty} {env:?}");
        }
    }
}
