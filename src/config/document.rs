//! The config file as an editable document: `connect` writes a connection from its kind's
//! settings and `disconnect` removes one, keeping the user's comments, order and layout.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use toml_edit::{Array, DocumentMut, InlineTable, Item, Table, value};

use super::Config;
use crate::connectors::ConnectionSettings;

/// Keys of a connection's table that are not its kind's settings: `connect` leaves them alone.
const SHARED_KEYS: &[&str] = &["kind", "concurrency", "secret_command"];

/// The config file as an editable document: comments, order and layout survive edits.
pub struct ConfigDocument {
    path: PathBuf,
    doc: DocumentMut,
}

const NEW_FILE_HEADER: &str = "\
# reconcile configuration. Non-secret settings only: secrets live in the OS keyring,
# in RECONCILE_<CONNECTION>_<FIELD> environment variables, or come from a
# [connections.<name>.secret_command] entry. See config.example.toml for every key.

currency = \"USD\"
";

impl ConfigDocument {
    pub fn open(path: &Path) -> Result<ConfigDocument> {
        let text = match fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => NEW_FILE_HEADER.to_string(),
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("cannot read config file {}", path.display()));
            }
        };
        // Refuse to edit a file that does not parse: better than rewriting something we misread.
        Config::parse(&text).with_context(|| {
            format!(
                "config file {} is invalid; fix it before running this command",
                path.display()
            )
        })?;
        let doc: DocumentMut = text
            .parse()
            .with_context(|| format!("config file {} is not valid TOML", path.display()))?;
        Ok(ConfigDocument {
            path: path.to_path_buf(),
            doc,
        })
    }

    pub fn has_connection(&self, name: &str) -> bool {
        self.doc
            .get("connections")
            .and_then(|c| c.as_table_like())
            .is_some_and(|t| t.contains_key(name))
    }

    /// Writes `[connections.<name>]` from `settings`: each of its keys is set (comments around
    /// a key already there stay), keys of the kind's settings it no longer has are removed, and
    /// the shared keys (`concurrency`, `secret_command`) stay as the user wrote them.
    pub fn set_connection(&mut self, name: &str, settings: &ConnectionSettings) -> Result<()> {
        let written = settings
            .to_table()
            .context("internal error: the settings cannot be written as TOML")?;
        let connections = self
            .doc
            .entry("connections")
            .or_insert_with(|| {
                let mut t = Table::new();
                t.set_implicit(true);
                Item::Table(t)
            })
            .as_table_mut()
            .context("`connections` in the config file is not a table")?;
        let entry = connections
            .entry(name)
            .or_insert_with(|| Item::Table(Table::new()));
        // A connection written inline (`name = { kind = ... }`) becomes a table of its own.
        if let Some(inline) = entry.as_inline_table().cloned() {
            *entry = Item::Table(inline.into_table());
        }
        let table = entry
            .as_table_mut()
            .with_context(|| format!("`connections.{name}` in the config file is not a table"))?;
        let stale: Vec<String> = table
            .iter()
            .map(|(k, _)| k.to_string())
            .filter(|k| !SHARED_KEYS.contains(&k.as_str()) && !written.contains_key(k))
            .collect();
        for k in stale {
            table.remove(&k);
        }
        set_value(table, "kind", settings.kind().as_str().into());
        for (k, v) in written {
            set_value(table, &k, edit_value(v));
        }
        Ok(())
    }

    /// The file's `keyring_id`, written first if it has none (see [`Config::keyring_id`]).
    pub fn ensure_keyring_id(&mut self) -> String {
        if let Some(id) = self.doc.get("keyring_id").and_then(|v| v.as_str()) {
            return id.to_string();
        }
        let id = new_keyring_id(&self.path);
        let mut item = toml_edit::value(id.clone());
        if let Some(v) = item.as_value_mut() {
            v.decor_mut().set_prefix(" ");
        }
        self.doc.insert("keyring_id", item);
        if let Some(mut key) = self.doc.key_mut("keyring_id") {
            key.leaf_decor_mut().set_prefix(
                "\n# Scopes this file's secrets in the keyring: keep it when you edit or move the file.\n",
            );
        }
        id
    }

    pub fn remove_connection(&mut self, name: &str) -> bool {
        self.doc
            .get_mut("connections")
            .and_then(|c| c.as_table_like_mut())
            .is_some_and(|t| t.remove(name).is_some())
    }

    /// Checks that the edited document is still a valid configuration, without writing it.
    pub fn validate(&self) -> Result<()> {
        Config::parse(&self.doc.to_string()).map(|_| ())
    }

    /// Writes the file atomically (temp file + rename), creating its directory.
    pub fn save(&self) -> Result<()> {
        let mut text = self.doc.to_string();
        if !text.ends_with('\n') {
            text.push('\n');
        }
        Config::parse(&text)
            .context("internal error: the edited config does not parse; nothing was written")?;
        let dir = self
            .path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        fs::create_dir_all(dir)
            .with_context(|| format!("cannot create config directory {}", dir.display()))?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)
            .with_context(|| format!("cannot write in config directory {}", dir.display()))?;
        tmp.write_all(text.as_bytes())?;
        tmp.as_file().sync_all()?;
        tmp.persist(&self.path)
            .map_err(|e| e.error)
            .with_context(|| format!("cannot write config file {}", self.path.display()))?;
        Ok(())
    }
}

/// Sets `key` in `table`, keeping the comments around a value already there.
fn set_value(table: &mut Table, key: &str, v: toml_edit::Value) {
    match table.get_mut(key) {
        Some(item) if item.is_value() => {
            let decor = item.as_value().expect("checked").decor().clone();
            let mut v = v;
            *v.decor_mut() = decor;
            *item = Item::Value(v);
        }
        _ => {
            table.insert(key, value(v));
        }
    }
}

/// A serialized setting as a value of the document: nested tables are written inline, so a
/// connection stays one table under its header.
fn edit_value(v: toml::Value) -> toml_edit::Value {
    match v {
        toml::Value::String(s) => s.into(),
        toml::Value::Integer(i) => i.into(),
        toml::Value::Float(f) => f.into(),
        toml::Value::Boolean(b) => b.into(),
        toml::Value::Datetime(d) => d
            .to_string()
            .parse::<toml_edit::Datetime>()
            .map(Into::into)
            .unwrap_or_else(|_| d.to_string().into()),
        toml::Value::Array(a) => {
            toml_edit::Value::Array(a.into_iter().map(edit_value).collect::<Array>())
        }
        toml::Value::Table(t) => {
            let mut inline = InlineTable::new();
            for (k, v) in t {
                inline.insert(&k, edit_value(v));
            }
            toml_edit::Value::InlineTable(inline)
        }
    }
}

/// 32 hex digits derived from the file's absolute path (a fixed hasher): two processes that
/// give one file its id at once agree on it. Not a secret.
fn new_keyring_id(path: &Path) -> String {
    use std::hash::{Hash, Hasher};
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let hash = |salt: u8| {
        let mut h = std::hash::DefaultHasher::new();
        (salt, &path).hash(&mut h);
        h.finish()
    };
    format!("{:016x}{:016x}", hash(1), hash(2))
}
