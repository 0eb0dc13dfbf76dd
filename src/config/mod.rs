//! Configuration in two layers: bootstrap secrets (environment and
//! `Secrets.toml`), read once at start, and typed settings in Postgres that
//! admins change while the bot runs.

mod secret;
pub mod secrets;
mod setting_values;
pub mod settings;

pub use secret::Secret;
pub use secrets::Secrets;
pub use settings::{SettingKey, SettingType, Settings};
