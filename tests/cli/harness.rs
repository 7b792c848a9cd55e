//! The sealed environment every CLI test runs the binary in.

use std::path::PathBuf;
use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};

use assert_cmd::Command;
use tempfile::TempDir;

static COUNTER: AtomicUsize = AtomicUsize::new(0);

pub struct Env {
    pub dir: TempDir,
    /// Keyring service name unique to this test, so tests never see each other's (or a
    /// user's) entries.
    pub service: String,
    /// Connections to disconnect on drop, so no keyring entry outlives the test.
    pub cleanup: std::cell::RefCell<Vec<String>>,
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        for d in ["home", "config", "data", "cache", "runtime"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        let service = format!(
            "reconcile-test-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        Env {
            dir,
            service,
            cleanup: Default::default(),
        }
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("config/reconcile/config.toml")
    }

    /// The keyring user of `connection/field` for this env's config: scoped by its
    /// `keyring_id` when the file has one.
    pub fn keyring_user(&self, connection_field: &str) -> String {
        let config = std::fs::read_to_string(self.config_path()).unwrap_or_default();
        let id = config
            .lines()
            .find_map(|l| l.trim().strip_prefix("keyring_id = "))
            .map(|v| v.trim().trim_matches('"').to_string());
        match id {
            Some(id) => format!("{id}/{connection_field}"),
            None => connection_field.to_string(),
        }
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("data/reconcile/reconcile.db")
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::from_std(self.std_cmd());
        c.timeout(std::time::Duration::from_secs(120));
        c
    }

    /// The same sealed command as a `std::process::Command`, for tests that spawn and signal.
    pub fn std_cmd(&self) -> std::process::Command {
        let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("reconcile"));
        c.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.dir.path().join("home"))
            .env("XDG_CONFIG_HOME", self.dir.path().join("config"))
            .env("XDG_DATA_HOME", self.dir.path().join("data"))
            .env("XDG_CACHE_HOME", self.dir.path().join("cache"))
            .env("RECONCILE_KEYRING_SERVICE", &self.service)
            .env("COLUMNS", "250")
            .env("NO_COLOR", "1");
        // The Secret Service run of CI passes its session bus through; nothing else leaks in.
        if let Ok(bus) = std::env::var("DBUS_SESSION_BUS_ADDRESS") {
            c.env("DBUS_SESSION_BUS_ADDRESS", bus);
        }
        c
    }

    /// Runs the binary with `args` and stdin; returns the output whatever the exit code.
    pub fn run(&self, args: &[&str], stdin: &str) -> Run {
        let out = self.cmd().args(args).write_stdin(stdin).output().unwrap();
        Run(out)
    }

    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut c = self.cmd();
        for (k, v) in env {
            c.env(k, v);
        }
        Run(c.args(args).write_stdin("").output().unwrap())
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        for name in self.cleanup.borrow().iter() {
            let _ = self.cmd().args(["disconnect", name, "--quiet"]).output();
        }
    }
}

pub struct Run(pub Output);

impl Run {
    pub fn code(&self) -> i32 {
        self.0.status.code().unwrap_or(-1)
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }
    /// Asserts that stderr says each of `needles` and none of `never` (a secret typed on
    /// stdin, say), showing stderr when it does not.
    #[track_caller]
    pub fn says(&self, needles: &[&str], never: &[&str]) -> &Run {
        let err = self.stderr();
        for needle in needles {
            assert!(err.contains(needle), "missing `{needle}` in:\n{err}");
        }
        for bad in never {
            assert!(!err.contains(bad), "`{bad}` shows in:\n{err}");
        }
        self
    }

    /// Asserts the exit code, showing both streams when it is wrong.
    #[track_caller]
    pub fn expect(self, code: i32) -> Run {
        assert_eq!(
            self.code(),
            code,
            "unexpected exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout(),
            self.stderr()
        );
        self
    }
}

/// Which real secret store CI expects `connect` to use, if it says.
pub fn expected_backend() -> Option<String> {
    std::env::var("RECONCILE_TEST_EXPECT_BACKEND")
        .ok()
        .filter(|s| !s.is_empty())
}

/// Deletes a secret straight from the store, bypassing `reconcile`: what a reboot does to the
/// kernel keyring. Tries both stores when `.ci/run` names none.
pub fn forget_in_store(service: &str, user: &str) {
    let backend = expected_backend();
    if backend.as_deref() != Some("kernel-keyring") {
        let _ = std::process::Command::new("secret-tool")
            .args(["clear", "service", service, "username", user])
            .output();
    }
    if backend.as_deref() != Some("secret-service") {
        let desc = format!("{service}:{user}");
        if let Ok(id) = std::process::Command::new("keyctl")
            .args(["search", "@u", "user", &desc])
            .output()
            && id.status.success()
        {
            let id = String::from_utf8_lossy(&id.stdout).trim().to_string();
            let _ = std::process::Command::new("keyctl")
                .args(["unlink", &id, "@u"])
                .output();
        }
    }
}

/// Writes a secret straight into the store `.ci/run` names, bypassing `reconcile` (as an older
/// version left it); false when no store is named.
pub fn write_to_store(service: &str, user: &str, value: &str) -> bool {
    use std::io::Write;
    match expected_backend().as_deref() {
        Some("secret-service") => {
            let mut child = std::process::Command::new("secret-tool")
                .args([
                    "store", "--label", user, "service", service, "username", user,
                ])
                .stdin(std::process::Stdio::piped())
                .spawn()
                .expect("secret-tool is installed (libsecret-tools)");
            child
                .stdin
                .take()
                .unwrap()
                .write_all(value.as_bytes())
                .unwrap();
            child.wait().unwrap().success()
        }
        Some("kernel-keyring") => {
            let desc = format!("{service}:{user}");
            let out = std::process::Command::new("keyctl")
                .args(["add", "user", &desc, value, "@u"])
                .output()
                .expect("keyctl is installed (keyutils)");
            let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
            // What `reconcile` sets: the owning user may read it without possessing it.
            out.status.success()
                && std::process::Command::new("keyctl")
                    .args(["setperm", &id, "0x3f3f0000"])
                    .status()
                    .unwrap()
                    .success()
        }
        _ => false,
    }
}

/// Reads a secret straight from the real store `.ci/run` names, bypassing `reconcile`.
pub fn read_from_store(service: &str, user: &str) -> Option<String> {
    match expected_backend().as_deref() {
        Some("secret-service") => {
            let out = std::process::Command::new("secret-tool")
                .args(["lookup", "service", service, "username", user])
                .output()
                .expect("secret-tool is installed (libsecret-tools)");
            out.status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
        }
        Some("kernel-keyring") => {
            let desc = format!("{service}:{user}");
            let id = std::process::Command::new("keyctl")
                .args(["search", "@u", "user", &desc])
                .output()
                .expect("keyctl is installed (keyutils)");
            if !id.status.success() {
                return None;
            }
            let id = String::from_utf8_lossy(&id.stdout).trim().to_string();
            let out = std::process::Command::new("keyctl")
                .args(["pipe", &id])
                .output()
                .unwrap();
            out.status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
        }
        Some(other) => panic!("unknown RECONCILE_TEST_EXPECT_BACKEND `{other}`"),
        None => None,
    }
}
