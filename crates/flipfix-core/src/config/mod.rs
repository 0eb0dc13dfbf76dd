//! Configuration in two layers: bootstrap secrets (environment and
//! `Secrets.toml`), read once at start, and typed settings in Postgres that
//! admins change while the bot runs.

pub mod channels;
mod known_keys;
pub mod public_url;
mod secret;
pub mod secrets;
mod setting_values;
pub mod settings;
pub mod switches;
pub mod webhook_url;

pub use public_url::{record_path, PublicBaseUrl};
pub use secret::Secret;
pub use secrets::Secrets;
pub use settings::{SettingKey, SettingType, Settings};
pub use switches::{DeclaredSwitches, Key, SwitchKey};
pub use webhook_url::{WebhookUrl, WebhookUrlError};
