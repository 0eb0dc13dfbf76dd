//! Records → Discord: webhook notifications.

pub mod webhook_url;

pub use webhook_url::{WebhookUrl, WebhookUrlError};
