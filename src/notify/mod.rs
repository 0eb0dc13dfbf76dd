//! Records → Discord: webhook notifications through a transactional outbox
//! (ARCHITECTURE decision 4). `outbox` stores and claims rows, `dispatcher`
//! drives them, `render` and `message` build payloads, `webhook_client` and
//! `rate_limit` speak to Discord.

pub mod dispatcher;
pub mod message;
pub mod outbox;
pub mod rate_limit;
pub mod render;
pub mod webhook_client;
pub mod webhook_url;

pub use dispatcher::{DispatchError, Dispatcher, DispatcherConfig, Step, WorkflowSource};
pub use webhook_url::{WebhookUrl, WebhookUrlError};
