//! `connectors!`: from the registry's list of connector folders (`Variant => module`, in
//! [`super::for_each_kind!`]) it generates [`super::ConnectorKind`], [`super::ConnectionSettings`]
//! and the dispatch from either to the folder's [`super::KindSettings`]. Everything a kind says
//! about itself lives in its folder; this only routes to it.

macro_rules! connectors {
    ($($variant:ident => $module:ident),* $(,)?) => {
        $(pub mod $module;)*

        /// Every connector kind this build knows, in the registry's order.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ConnectorKind {
            $($variant),*
        }

        impl ConnectorKind {
            pub const ALL: &'static [ConnectorKind] = &[$(ConnectorKind::$variant),*];

            /// The kind's fixed facts, from its folder.
            pub fn info(self) -> &'static KindInfo {
                match self {
                    $(ConnectorKind::$variant => &<$module::Settings as KindSettings>::KIND),*
                }
            }

            /// Built-in services of a vendor kind (none for PSAs).
            pub fn services(self) -> Vec<$crate::model::ServiceDef> {
                match self {
                    $(ConnectorKind::$variant => <$module::Settings as KindSettings>::services()),*
                }
            }

            /// What the vendor bills on the month's high watermark, if it does (see
            /// [`KindSettings::HIGH_WATERMARK`]).
            pub fn high_watermark(self) -> Option<&'static str> {
                match self {
                    $(ConnectorKind::$variant => <$module::Settings as KindSettings>::HIGH_WATERMARK),*
                }
            }

            /// Whether a PSA kind's lines record a unit cost (see [`KindSettings::LINE_COST`]).
            pub fn records_line_cost(self) -> bool {
                match self {
                    $(ConnectorKind::$variant => <$module::Settings as KindSettings>::LINE_COST),*
                }
            }

            /// Why a PSA kind is report-only, if it is (see [`KindSettings::REPORT_ONLY`]).
            pub fn report_only(self) -> Option<&'static str> {
                match self {
                    $(ConnectorKind::$variant => <$module::Settings as KindSettings>::REPORT_ONLY),*
                }
            }

            /// Service families of a vendor kind (see [`$crate::model::ServiceFamily`]).
            pub fn families(self) -> Vec<$crate::model::ServiceFamily> {
                match self {
                    $(ConnectorKind::$variant => <$module::Settings as KindSettings>::families()),*
                }
            }
        }

        /// One connection's settings: its kind's own [`KindSettings`].
        #[derive(Debug, Clone, PartialEq)]
        pub enum ConnectionSettings {
            $($variant($module::Settings)),*
        }

        impl ConnectionSettings {
            pub fn kind(&self) -> ConnectorKind {
                match self {
                    $(ConnectionSettings::$variant(_) => ConnectorKind::$variant),*
                }
            }

            /// The settings of `kind` from a connection's table (the shared keys taken out).
            pub fn from_table(
                kind: ConnectorKind,
                table: toml::Table,
            ) -> Result<ConnectionSettings, toml::de::Error> {
                let value = toml::Value::Table(table);
                Ok(match kind {
                    $(ConnectorKind::$variant => ConnectionSettings::$variant(value.try_into()?)),*
                })
            }

            /// The settings as `connect` writes them (defaults left out where the kind says so).
            pub fn to_table(&self) -> Result<toml::Table, toml::ser::Error> {
                match self {
                    $(ConnectionSettings::$variant(s) => toml::Table::try_from(s)),*
                }
            }

            /// Checks what deserializing cannot; errors name the connection and the key.
            pub fn validate(&self, name: &str) -> anyhow::Result<()> {
                match self {
                    $(ConnectionSettings::$variant(s) => s.validate(name)),*
                }
            }

            /// The secret fields this connection uses with its settings.
            pub fn secrets_needed(&self) -> Vec<&'static str> {
                match self {
                    $(ConnectionSettings::$variant(s) => s.secrets_needed()),*
                }
            }

            /// The live connector for connection `name`.
            pub fn connect(
                &self,
                name: &str,
                secret: SecretFn,
                retry: $crate::http::RetryPolicy,
            ) -> anyhow::Result<Box<dyn Connector>> {
                match self {
                    $(ConnectionSettings::$variant(s) => s.connect(name, secret, retry)),*
                }
            }

            /// Whether the connection may write back (`--allow-write`).
            pub fn allows_write(&self) -> bool {
                match self {
                    $(ConnectionSettings::$variant(s) => s.allows_write()),*
                }
            }

            /// The line writer of connection `name`, for a kind that can write back.
            pub fn writer(
                &self,
                name: &str,
                secret: SecretFn,
                retry: $crate::http::RetryPolicy,
                purpose: WritePurpose,
            ) -> anyhow::Result<Option<Box<dyn LineWriter>>> {
                match self {
                    $(ConnectionSettings::$variant(s) => s.writer(name, secret, retry, purpose)),*
                }
            }
        }

        $(
            impl From<$module::Settings> for ConnectionSettings {
                fn from(s: $module::Settings) -> ConnectionSettings {
                    ConnectionSettings::$variant(s)
                }
            }

            impl Registered for $module::Settings {
                const KIND_ENUM: ConnectorKind = ConnectorKind::$variant;

                fn of(settings: &ConnectionSettings) -> Option<&Self> {
                    match settings {
                        ConnectionSettings::$variant(s) => Some(s),
                        #[allow(unreachable_patterns)]
                        _ => None,
                    }
                }
            }
        )*
    };
}

/// A kind's settings type as the registry knows it: its [`super::ConnectorKind`] and the way
/// back from [`super::ConnectionSettings`]. Generated for every registered kind.
pub trait Registered: super::KindSettings + Into<super::ConnectionSettings> {
    const KIND_ENUM: super::ConnectorKind;
    fn of(settings: &super::ConnectionSettings) -> Option<&Self>;
}
