//! Running the release `reconcile` as a child and measuring it: wall time and its own peak
//! resident set (from `wait4`). Shared by the benchmark examples through `#[path]`.

use std::process::Command;
use std::time::Instant;

use anyhow::{Result, bail};

/// Runs `cmd`, and returns its wall time and its own peak resident set (MB, Unix only).
pub fn measure(mut cmd: Command) -> Result<(f64, String)> {
    let started = Instant::now();
    let child = cmd.spawn()?;
    #[cfg(unix)]
    {
        let mut status = 0;
        // SAFETY: a zeroed rusage is a valid value for wait4 to fill in.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: the pid is our own child, not yet waited for; both pointers are valid.
        let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
        let secs = started.elapsed().as_secs_f64();
        if pid < 0 || !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
            bail!("{cmd:?} failed (status {status})");
        }
        // Linux reports kilobytes.
        Ok((secs, (usage.ru_maxrss / 1024).to_string()))
    }
    #[cfg(not(unix))]
    {
        let mut child = child;
        let status = child.wait()?;
        if !status.success() {
            bail!("{cmd:?} failed: {status}");
        }
        Ok((started.elapsed().as_secs_f64(), "n/a".into()))
    }
}
