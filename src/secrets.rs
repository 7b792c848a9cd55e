//! Where secrets come from and where `connect` puts them.
//!
//! Lookup order, first match wins:
//! 1. the environment variable `RECONCILE_<CONNECTION>_<FIELD>` (containers, CI);
//! 2. a command named in config, `[connections.<name>.secret_command] <field> = "pass show ..."`;
//! 3. the OS keyring: Keychain (macOS), Credential Manager (Windows), Secret Service (Linux/BSD
//!    desktops: GNOME Keyring, KWallet, KeePassXC), through keyring-core;
//! 4. on Linux, the kernel's per-user keyring (`@u`), which `connect` falls back to when no
//!    Secret Service is reachable. Not the session keyring: a cron job does not share the login
//!    session that stored the secret. Everything in the kernel keyring is lost on reboot.
//!
//! Secret values are `SecretString`s: `Debug` prints a placeholder, and the value is exposed only
//! where a request is signed. Nothing here writes a secret to a file, a log or an error message.

use std::collections::HashMap;
use std::fmt;
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};

use secrecy::{ExposeSecret, SecretString};
use thiserror::Error;

use crate::config::Connection;

/// Default keyring service name; `RECONCILE_KEYRING_SERVICE` overrides it (separate profiles,
/// tests that must not touch the real entries).
pub const DEFAULT_SERVICE: &str = "reconcile";

/// Where a secret was found or stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    Env(String),
    Command,
    OsKeyring(&'static str),
    KernelKeyring,
    Memory,
}

impl SecretSource {
    /// Whether a job outside this desktop session (cron, a service) can read a secret found
    /// or stored here; `Some(why not)` when it cannot.
    pub fn unreachable_outside_session(&self) -> Option<&'static str> {
        match self {
            SecretSource::OsKeyring(_) if cfg!(target_os = "linux") => Some(
                "the Secret Service lives in this desktop session: a cron job or a service runs outside it, has no session bus, and cannot read the secret",
            ),
            _ => None,
        }
    }
}

impl fmt::Display for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretSource::Env(var) => write!(f, "environment variable {var}"),
            SecretSource::Command => write!(f, "secret_command in config"),
            SecretSource::OsKeyring(name) => write!(f, "{name}"),
            SecretSource::KernelKeyring => write!(f, "kernel user keyring (lost on reboot)"),
            SecretSource::Memory => write!(f, "memory (demo)"),
        }
    }
}

#[derive(Debug, Error)]
pub enum SecretError {
    #[error(
        "no `{field}` secret for connection `{connection}`: enter it again with `reconcile connect --reauth {connection}`, or set {env_var}, or add `{field} = \"<command>\"` under [connections.{connection}.secret_command]{kernel_hint}"
    )]
    NotFound {
        connection: String,
        field: String,
        env_var: String,
        kernel_hint: String,
    },
    #[error("the secret_command for `{field}` of connection `{connection}` failed: {detail}")]
    Command {
        connection: String,
        field: String,
        detail: String,
    },
    #[error(
        "cannot {action} the `{field}` secret of connection `{connection}` in {store}: {detail}"
    )]
    Store {
        connection: String,
        field: String,
        action: &'static str,
        store: String,
        detail: String,
    },
    #[error(
        "no secret store is available to keep `{field}` of connection `{connection}`: {detail}. Start a Secret Service (gnome-keyring-daemon, KeePassXC), or skip storing and provide it through {env_var} or a secret_command"
    )]
    NoStore {
        connection: String,
        field: String,
        env_var: String,
        detail: String,
    },
}

/// The environment variable that holds a connection's secret field.
pub fn env_var_name(connection: &str, field: &str) -> String {
    let upper = |s: &str| {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect::<String>()
    };
    format!("RECONCILE_{}_{}", upper(connection), upper(field))
}

/// Reads, stores and deletes secrets. `system()` for real use, `memory()` for the demo.
pub struct Secrets {
    service: String,
    backend: Backend,
    /// The config's `keyring_id`: entries are `<id>/<connection>/<field>`, so two configs of
    /// one user never share (or overwrite) a secret. `None`: the unscoped entries of old.
    namespace: Mutex<Option<String>>,
}

enum Backend {
    System,
    Memory(Mutex<HashMap<String, String>>),
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let backend = match self.backend {
            Backend::System => "system",
            Backend::Memory(_) => "memory",
        };
        f.debug_struct("Secrets")
            .field("service", &self.service)
            .field("backend", &backend)
            .finish()
    }
}

impl Secrets {
    pub fn system() -> Secrets {
        let service = std::env::var("RECONCILE_KEYRING_SERVICE")
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| DEFAULT_SERVICE.to_string());
        Secrets {
            service,
            backend: Backend::System,
            namespace: Mutex::new(None),
        }
    }

    /// Secrets held in this process only: the demo uses it so it never touches the keyring.
    pub fn memory() -> Secrets {
        Secrets {
            service: DEFAULT_SERVICE.to_string(),
            backend: Backend::Memory(Mutex::new(HashMap::new())),
            namespace: Mutex::new(None),
        }
    }

    pub fn service(&self) -> &str {
        &self.service
    }

    /// Scopes every entry from now on to the config whose `keyring_id` this is.
    pub fn set_namespace(&self, keyring_id: &str) {
        *self.namespace.lock().unwrap() = Some(keyring_id.to_string());
    }

    /// Back to the unscoped entries (a config whose id could not be saved).
    pub fn clear_namespace(&self) {
        *self.namespace.lock().unwrap() = None;
    }

    fn user(&self, connection: &str, field: &str) -> String {
        match self.namespace.lock().unwrap().as_deref() {
            Some(id) => format!("{id}/{connection}/{field}"),
            None => Self::legacy_user(connection, field),
        }
    }

    /// The entry of a version before configs had a `keyring_id`.
    fn legacy_user(connection: &str, field: &str) -> String {
        format!("{connection}/{field}")
    }

    /// Copies the unscoped entry of a version before `keyring_id` under this config's id; true
    /// when there was one to copy.
    pub fn copy_unscoped(&self, connection: &str, field: &str) -> Result<bool, SecretError> {
        if !self.namespaced() {
            return Ok(false);
        }
        let Some((value, _)) =
            self.read_user(connection, field, &Self::legacy_user(connection, field))?
        else {
            return Ok(false);
        };
        self.store(connection, field, &value)?;
        Ok(true)
    }

    /// Deletes the copy [`Self::copy_unscoped`] made, when the config's id could not be saved.
    pub fn delete_scoped(&self, connection: &str, field: &str) -> Result<(), SecretError> {
        self.delete_user(connection, field, &self.user(connection, field))
            .map(|_| ())
    }

    /// Deletes the unscoped entry, once its copy and the config's id are saved.
    pub fn delete_unscoped(&self, connection: &str, field: &str) -> Result<(), SecretError> {
        self.delete_user(connection, field, &Self::legacy_user(connection, field))
            .map(|_| ())
    }

    fn namespaced(&self) -> bool {
        self.namespace.lock().unwrap().is_some()
    }

    /// Finds a secret in lookup order.
    pub fn get(
        &self,
        connection: &str,
        field: &str,
        settings: Option<&Connection>,
    ) -> Result<(SecretString, SecretSource), SecretError> {
        let var = env_var_name(connection, field);
        if let Some(v) = std::env::var(&var).ok().filter(|v| !v.is_empty()) {
            return Ok((SecretString::from(v), SecretSource::Env(var)));
        }
        if let Some(cmd) = settings.and_then(|s| s.secret_commands().get(field)) {
            let value = run_secret_command(cmd).map_err(|detail| SecretError::Command {
                connection: connection.into(),
                field: field.into(),
                detail,
            })?;
            return Ok((value, SecretSource::Command));
        }
        if let Some(found) = self.read_user(connection, field, &self.user(connection, field))? {
            return Ok(found);
        }
        Err(SecretError::NotFound {
            connection: connection.into(),
            field: field.into(),
            env_var: var,
            kernel_hint: match os_store() {
                Err(why) if cfg!(target_os = "linux") => format!(
                    ". Looked in the kernel user keyring (cleared on reboot) but not in the Secret Service, which this process cannot reach ({why}): a secret `connect` stored there from a desktop session is out of reach of cron jobs and services. For them, keep it where they can read it: `reconcile connect --reauth {connection} --store kernel`, the environment variable, or a secret_command"
                ),
                _ => String::new(),
            },
        })
    }

    /// The secret stored as keyring user `user`, if any.
    fn read_user(
        &self,
        connection: &str,
        field: &str,
        user: &str,
    ) -> Result<Option<(SecretString, SecretSource)>, SecretError> {
        match &self.backend {
            Backend::Memory(m) => {
                if let Some(v) = m.lock().unwrap().get(user) {
                    return Ok(Some((SecretString::from(v.clone()), SecretSource::Memory)));
                }
            }
            Backend::System => {
                if let Ok(store) = os_store() {
                    match store
                        .build(&self.service, user, None)
                        .and_then(|e| e.get_password())
                    {
                        Ok(v) => {
                            return Ok(Some((
                                SecretString::from(v),
                                SecretSource::OsKeyring(os_store_name()),
                            )));
                        }
                        Err(keyring_core::Error::NoEntry) => {}
                        Err(e) => {
                            return Err(SecretError::Store {
                                connection: connection.into(),
                                field: field.into(),
                                action: "read",
                                store: os_store_name().into(),
                                detail: describe_keyring_error(&e),
                            });
                        }
                    }
                }
                if let Some(v) =
                    kernel::get(&self.service, user).map_err(|detail| SecretError::Store {
                        connection: connection.into(),
                        field: field.into(),
                        action: "read",
                        store: "the kernel user keyring".into(),
                        detail,
                    })?
                {
                    return Ok(Some((v, SecretSource::KernelKeyring)));
                }
            }
        }
        Ok(None)
    }

    /// Stores a secret in the OS keyring, or in the kernel user keyring when no Secret Service
    /// is reachable (Linux). Returns where it went.
    pub fn store(
        &self,
        connection: &str,
        field: &str,
        secret: &SecretString,
    ) -> Result<SecretSource, SecretError> {
        let user = self.user(connection, field);
        let store_err = |store: &str, detail: String| SecretError::Store {
            connection: connection.into(),
            field: field.into(),
            action: "store",
            store: store.into(),
            detail,
        };
        match &self.backend {
            Backend::Memory(m) => {
                m.lock()
                    .unwrap()
                    .insert(user, secret.expose_secret().to_string());
                Ok(SecretSource::Memory)
            }
            Backend::System => match os_store() {
                Ok(store) => {
                    store
                        .build(&self.service, &user, None)
                        .and_then(|e| e.set_password(secret.expose_secret()))
                        .map_err(|e| store_err(os_store_name(), describe_keyring_error(&e)))?;
                    // A stale copy in the kernel keyring would come back if the Secret Service
                    // were unreachable later; drop it.
                    let _ = kernel::delete(&self.service, &user);
                    Ok(SecretSource::OsKeyring(os_store_name()))
                }
                Err(why) if kernel::AVAILABLE => {
                    kernel::set(&self.service, &user, secret).map_err(|d| {
                        store_err(
                            "the kernel user keyring",
                            format!("{d} (and {} is unreachable: {why})", os_store_name()),
                        )
                    })?;
                    Ok(SecretSource::KernelKeyring)
                }
                Err(why) => Err(SecretError::NoStore {
                    connection: connection.into(),
                    field: field.into(),
                    env_var: env_var_name(connection, field),
                    detail: why,
                }),
            },
        }
    }

    /// Stores a secret in the kernel user keyring (Linux), where a cron job of the same user
    /// finds it, and drops any copy in the OS keyring, which would otherwise be read first.
    pub fn store_kernel(
        &self,
        connection: &str,
        field: &str,
        secret: &SecretString,
    ) -> Result<SecretSource, SecretError> {
        let user = self.user(connection, field);
        if let Backend::Memory(_) = self.backend {
            return self.store(connection, field, secret);
        }
        if !kernel::AVAILABLE {
            return Err(SecretError::NoStore {
                connection: connection.into(),
                field: field.into(),
                env_var: env_var_name(connection, field),
                detail: "--store kernel: the kernel keyring exists on Linux only".into(),
            });
        }
        kernel::set(&self.service, &user, secret).map_err(|detail| SecretError::Store {
            connection: connection.into(),
            field: field.into(),
            action: "store",
            store: "the kernel user keyring".into(),
            detail,
        })?;
        if let Ok(store) = os_store() {
            let _ = store
                .build(&self.service, &user, None)
                .and_then(|e| e.delete_credential());
        }
        Ok(SecretSource::KernelKeyring)
    }

    /// Deletes a secret from every keyring that has it; returns where it was.
    pub fn delete(&self, connection: &str, field: &str) -> Result<Vec<SecretSource>, SecretError> {
        let mut removed = self.delete_user(connection, field, &self.user(connection, field))?;
        if self.namespaced() {
            for source in
                self.delete_user(connection, field, &Self::legacy_user(connection, field))?
            {
                if !removed.contains(&source) {
                    removed.push(source);
                }
            }
        }
        Ok(removed)
    }

    fn delete_user(
        &self,
        connection: &str,
        field: &str,
        user: &str,
    ) -> Result<Vec<SecretSource>, SecretError> {
        let mut removed = Vec::new();
        match &self.backend {
            Backend::Memory(m) => {
                if m.lock().unwrap().remove(user).is_some() {
                    removed.push(SecretSource::Memory);
                }
            }
            Backend::System => {
                if let Ok(store) = os_store() {
                    match store
                        .build(&self.service, user, None)
                        .and_then(|e| e.delete_credential())
                    {
                        Ok(()) => removed.push(SecretSource::OsKeyring(os_store_name())),
                        Err(keyring_core::Error::NoEntry) => {}
                        Err(e) => {
                            return Err(SecretError::Store {
                                connection: connection.into(),
                                field: field.into(),
                                action: "delete",
                                store: os_store_name().into(),
                                detail: describe_keyring_error(&e),
                            });
                        }
                    }
                }
                if kernel::delete(&self.service, user).map_err(|detail| SecretError::Store {
                    connection: connection.into(),
                    field: field.into(),
                    action: "delete",
                    store: "the kernel user keyring".into(),
                    detail,
                })? {
                    removed.push(SecretSource::KernelKeyring);
                }
            }
        }
        Ok(removed)
    }

    /// Where the secret would come from now, without exposing it; `None` when it is missing.
    pub fn locate(
        &self,
        connection: &str,
        field: &str,
        settings: Option<&Connection>,
    ) -> Option<SecretSource> {
        let var = env_var_name(connection, field);
        if std::env::var(&var).ok().is_some_and(|v| !v.is_empty()) {
            return Some(SecretSource::Env(var));
        }
        if settings.is_some_and(|s| s.secret_commands().contains_key(field)) {
            return Some(SecretSource::Command);
        }
        self.get(connection, field, None)
            .ok()
            .map(|(_, source)| source)
    }
}

fn describe_keyring_error(e: &keyring_core::Error) -> String {
    match e {
        keyring_core::Error::NoStorageAccess(_) => {
            format!(
                "{e} (is the keyring locked? unlock it, or use an environment variable or secret_command)"
            )
        }
        _ => e.to_string(),
    }
}

/// Runs a secret command through the shell and returns its first line of output.
fn run_secret_command(cmd: &str) -> Result<SecretString, String> {
    #[cfg(windows)]
    let output = Command::new("cmd").args(["/C", cmd]).output();
    #[cfg(not(windows))]
    let output = Command::new("sh").args(["-c", cmd]).output();
    let output = output.map_err(|e| format!("cannot start `{cmd}`: {e}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stderr: String = stderr.trim().chars().take(300).collect();
        return Err(format!("`{cmd}` exited with {}: {stderr}", output.status));
    }
    let stdout = String::from_utf8(output.stdout)
        .map_err(|_| format!("`{cmd}` printed something that is not UTF-8"))?;
    let first = stdout
        .lines()
        .next()
        .unwrap_or("")
        .trim_end_matches('\r')
        .to_string();
    if first.is_empty() {
        return Err(format!("`{cmd}` printed nothing"));
    }
    Ok(SecretString::from(first))
}

#[cfg(target_os = "macos")]
fn os_store_name() -> &'static str {
    "the macOS Keychain"
}
#[cfg(target_os = "windows")]
fn os_store_name() -> &'static str {
    "Windows Credential Manager"
}
#[cfg(not(any(target_os = "macos", target_os = "windows")))]
fn os_store_name() -> &'static str {
    "the Secret Service keyring"
}

/// The platform's credential store, opened once per process.
fn os_store() -> Result<Arc<keyring_core::CredentialStore>, String> {
    static STORE: OnceLock<Result<Arc<keyring_core::CredentialStore>, String>> = OnceLock::new();
    STORE.get_or_init(open_os_store).clone()
}

#[cfg(target_os = "macos")]
fn open_os_store() -> Result<Arc<keyring_core::CredentialStore>, String> {
    apple_native_keyring_store::keychain::Store::new()
        .map(|s| s as Arc<keyring_core::CredentialStore>)
        .map_err(|e| e.to_string())
}

#[cfg(target_os = "windows")]
fn open_os_store() -> Result<Arc<keyring_core::CredentialStore>, String> {
    windows_native_keyring_store::Store::new()
        .map(|s| s as Arc<keyring_core::CredentialStore>)
        .map_err(|e| e.to_string())
}

#[cfg(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
))]
fn open_os_store() -> Result<Arc<keyring_core::CredentialStore>, String> {
    // Without a session bus address zbus would still try a default socket path; say plainly why
    // the Secret Service is out of reach instead.
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none()
        && !std::env::var_os("XDG_RUNTIME_DIR")
            .map(|d| std::path::Path::new(&d).join("bus").exists())
            .unwrap_or(false)
    {
        return Err("no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)".into());
    }
    zbus_secret_service_keyring_store::Store::new()
        .map(|s| s as Arc<keyring_core::CredentialStore>)
        .map_err(|e| format!("no Secret Service on the session bus ({e})"))
}

#[cfg(not(any(unix, windows)))]
fn open_os_store() -> Result<Arc<keyring_core::CredentialStore>, String> {
    Err("this platform has no supported OS keyring".into())
}

/// The kernel's per-user keyring (`@u`), Linux only.
#[cfg(target_os = "linux")]
mod kernel {
    use linux_keyutils::{KeyError, KeyPermissionsBuilder, KeyRing, KeyRingIdentifier, Permission};
    use secrecy::{ExposeSecret, SecretString};

    pub const AVAILABLE: bool = true;

    fn description(service: &str, user: &str) -> String {
        format!("{service}:{user}")
    }

    fn user_keyring() -> Result<KeyRing, String> {
        KeyRing::from_special_id(KeyRingIdentifier::User, true)
            .map_err(|e| format!("cannot open the kernel user keyring: {e:?}"))
    }

    pub fn set(service: &str, user: &str, secret: &SecretString) -> Result<(), String> {
        let ring = user_keyring()?;
        // Setting a key's permissions needs possession, which a process has through its session
        // keyring's link to the user keyring. A shell whose session keyring was revoked (or a
        // service manager that gave none) has no such link: link the user keyring into this
        // process's own keyring so the process possesses what it adds.
        if let Ok(own) = KeyRing::from_special_id(KeyRingIdentifier::Process, true) {
            let _ = own.link_keyring_id(KeyRingIdentifier::User);
        }
        let key = ring
            .add_key(
                &description(service, user),
                secret.expose_secret().as_bytes(),
            )
            .map_err(|e| format!("add_key failed: {e:?}"))?;
        // By default only a process that *possesses* the key may read it. A cron job reaches the
        // user keyring but may not possess it, so grant read and search to the owning user too.
        let perms = KeyPermissionsBuilder::builder()
            .posessor(Permission::ALL)
            .user(
                Permission::VIEW
                    | Permission::READ
                    | Permission::WRITE
                    | Permission::SEARCH
                    | Permission::SETATTR,
            )
            .build();
        if let Err(e) = key.set_perms(perms) {
            // Never leave a key behind that a cron job could not read: take it out again
            // (unlinking needs only write access to the user keyring, not to the key).
            let removed = ring.unlink_key(key).is_ok();
            return Err(format!(
                "setting the key's permissions failed ({e:?}), so a job outside this login could not read it; {}. Run `reconcile connect` again from a normal login shell, or give the secret through an environment variable or a secret_command",
                if removed {
                    "the key was removed again"
                } else {
                    "removing it again failed too: `keyctl show @u` lists it, `keyctl unlink <id> @u` removes it"
                }
            ));
        }
        Ok(())
    }

    pub fn get(service: &str, user: &str) -> Result<Option<SecretString>, String> {
        let Ok(ring) = user_keyring() else {
            return Ok(None);
        };
        match ring.search(&description(service, user)) {
            Ok(key) => {
                let bytes = key
                    .read_to_vec()
                    .map_err(|e| format!("reading the key failed: {e:?}"))?;
                let s = String::from_utf8(bytes)
                    .map_err(|_| "the stored key is not UTF-8".to_string())?;
                Ok(Some(SecretString::from(s)))
            }
            Err(KeyError::KeyDoesNotExist)
            | Err(KeyError::KeyExpired)
            | Err(KeyError::KeyRevoked) => Ok(None),
            Err(e) => Err(format!("searching the kernel user keyring failed: {e:?}")),
        }
    }

    pub fn delete(service: &str, user: &str) -> Result<bool, String> {
        let Ok(ring) = user_keyring() else {
            return Ok(false);
        };
        match ring.search(&description(service, user)) {
            Ok(key) => {
                key.invalidate()
                    .map_err(|e| format!("invalidating the key failed: {e:?}"))?;
                Ok(true)
            }
            Err(KeyError::KeyDoesNotExist)
            | Err(KeyError::KeyExpired)
            | Err(KeyError::KeyRevoked) => Ok(false),
            Err(e) => Err(format!("searching the kernel user keyring failed: {e:?}")),
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod kernel {
    use secrecy::SecretString;

    pub const AVAILABLE: bool = false;

    pub fn set(_: &str, _: &str, _: &SecretString) -> Result<(), String> {
        Err("the kernel keyring exists on Linux only".into())
    }
    pub fn get(_: &str, _: &str) -> Result<Option<SecretString>, String> {
        Ok(None)
    }
    pub fn delete(_: &str, _: &str) -> Result<bool, String> {
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_var_names_are_upper_snake() {
        assert_eq!(
            env_var_name("ninjaone", "client_secret"),
            "RECONCILE_NINJAONE_CLIENT_SECRET"
        );
        assert_eq!(
            env_var_name("cw-eu", "private_key"),
            "RECONCILE_CW_EU_PRIVATE_KEY"
        );
    }

    #[test]
    fn debug_never_shows_a_secret() {
        let s = Secrets::memory();
        s.store(
            "x",
            "client_secret",
            &SecretString::from("hunter2".to_string()),
        )
        .unwrap();
        let (v, source) = s.get("x", "client_secret", None).unwrap();
        assert!(!format!("{v:?}").contains("hunter2"));
        assert!(!format!("{s:?}").contains("hunter2"));
        assert_eq!(source, SecretSource::Memory);
        assert_eq!(v.expose_secret(), "hunter2");
    }

    #[test]
    fn secret_command_output_is_used_and_failures_name_the_command() {
        let config = crate::config::Config::parse(
            "[connections.n]\nkind = \"ninjaone\"\nregion = \"eu\"\nclient_id = \"x\"\n[connections.n.secret_command]\nclient_secret = \"printf 's3cret\\\\nsecond line'\"\n",
        )
        .unwrap();
        let settings = config.connection("n").unwrap();
        let s = Secrets::memory();
        let (v, source) = s.get("n", "client_secret", Some(settings)).unwrap();
        assert_eq!(v.expose_secret(), "s3cret");
        assert_eq!(source, SecretSource::Command);

        let config = crate::config::Config::parse(
            "[connections.n]\nkind = \"ninjaone\"\nregion = \"eu\"\nclient_id = \"x\"\n[connections.n.secret_command]\nclient_secret = \"echo nope >&2; exit 3\"\n",
        )
        .unwrap();
        let err = s
            .get("n", "client_secret", Some(config.connection("n").unwrap()))
            .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("connection `n`") && msg.contains("nope"),
            "{msg}"
        );
    }

    #[test]
    fn missing_secret_says_what_to_do() {
        let s = Secrets::memory();
        let err = s
            .get("nothing-here", "client_secret", None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("RECONCILE_NOTHING_HERE_CLIENT_SECRET"),
            "{err}"
        );
        assert!(err.contains("reconcile connect"), "{err}");
    }
}
