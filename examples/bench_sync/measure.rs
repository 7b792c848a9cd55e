//! Running `reconcile` as a child and measuring it: wall time, peak RSS and CPU time, through
//! this example re-run as a small launcher (`--launch`) so the peak RSS is `reconcile`'s own;
//! the sandboxes' own CPU time; a connection's `synced in` time from a sync's stderr.
#![allow(
    unsafe_code,
    reason = "getrusage and wait4 fill a plain C struct the kernel writes: the peak RSS figure"
)]

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

/// What one run of `reconcile` took.
pub struct Measured {
    pub wall: f64,
    /// Peak resident set, MB (Unix only).
    pub rss_mb: Option<f64>,
    /// User + system CPU time, s (Unix only).
    pub cpu: Option<f64>,
    pub stderr: String,
}

/// User + system CPU time this process (the sandboxes' threads) has used, s (Unix only).
pub fn own_cpu() -> Option<f64> {
    #[cfg(unix)]
    {
        // SAFETY: a zeroed rusage is a valid value for getrusage to fill in.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: RUSAGE_SELF with a valid pointer.
        if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
            return None;
        }
        Some(cpu_secs(&usage))
    }
    #[cfg(not(unix))]
    None
}

#[cfg(unix)]
fn cpu_secs(u: &libc::rusage) -> f64 {
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(u.ru_utime) + t(u.ru_stime)
}

/// Runs `cmd` to completion and measures it.
///
/// Through this example re-run as a launcher (`--launch`): a child's `ru_maxrss` counts the
/// resident set of the process it was forked from at `exec` time, and this process holds the
/// scaled sample (well over 100 MB), which would hide the figure of a smaller `reconcile`. The
/// launcher is small when it forks, so the `reconcile` it waits for reports its own peak.
pub fn measure(cmd: Command) -> Result<Measured> {
    let mut launcher = Command::new(std::env::current_exe()?);
    launcher
        .env_clear()
        .envs(cmd.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .arg("--launch")
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = launcher
        .spawn()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    let mut pipe = child.stderr.take().expect("stderr is piped");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = pipe.read_to_string(&mut s);
        s
    });
    let mut report = String::new();
    child
        .stdout
        .take()
        .expect("stdout is piped")
        .read_to_string(&mut report)?;
    child.wait()?;
    let stderr = reader.join().unwrap_or_default();
    // `<exit code> <wall seconds> <peak RSS in KiB or -1> <CPU seconds or -1>`
    let fields: Vec<&str> = report.split_whitespace().collect();
    let [code, secs, kib, cpu] = fields.as_slice() else {
        bail!("{cmd:?}: no report from the launcher:\n{stderr}");
    };
    if *code != "0" {
        bail!("{cmd:?} failed (exit {code}):\n{stderr}");
    }
    let kib: i64 = kib.parse()?;
    let cpu: f64 = cpu.parse()?;
    Ok(Measured {
        wall: secs.parse()?,
        rss_mb: (kib >= 0).then_some(kib as f64 / 1024.0),
        cpu: (cpu >= 0.0).then_some(cpu),
        stderr,
    })
}

/// The launcher side of [`measure`]: runs `args` (program first) with this process's stdin and
/// stderr, its stdout discarded, and prints `<exit code> <wall seconds> <peak RSS KiB or -1>
/// <CPU seconds or -1>`.
pub fn launch(args: &[std::ffi::OsString]) -> Result<()> {
    let (program, rest) = args.split_first().context("--launch needs a program")?;
    let started = Instant::now();
    let child = Command::new(program)
        .args(rest)
        .stdout(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot run {}", Path::new(program).display()))?;
    #[cfg(unix)]
    let (code, kib, cpu) = {
        let mut status = 0;
        // SAFETY: a zeroed rusage is a valid value for wait4 to fill in.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: the pid is our own child, not yet waited for; both pointers are valid.
        let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
        let code = if pid >= 0 && libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else {
            -1
        };
        // Linux reports kilobytes.
        (code, usage.ru_maxrss as i64, cpu_secs(&usage))
    };
    #[cfg(not(unix))]
    let (code, kib, cpu) = {
        let mut child = child;
        (child.wait()?.code().unwrap_or(-1), -1i64, -1.0)
    };
    println!(
        "{code} {:.3} {kib} {cpu:.3}",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `name: synced in 1.2s: ...` from a sync's stderr.
pub fn synced_in(stderr: &str, name: &str) -> Option<f64> {
    let prefix = format!("{name}: synced in ");
    stderr.lines().find_map(|l| {
        let rest = &l[l.find(&prefix)? + prefix.len()..];
        rest.split('s').next()?.parse().ok()
    })
}
