//! Records → Discord: webhook notifications through a transactional outbox
//! (ARCHITECTURE decision 4). `outbox` stores and claims rows, `dispatcher`
//! drives them, `render` and `message` build payloads, `webhook_client` and
//! `rate_limit` speak to Discord; `failed` is the admin side of rows set
//! aside.

pub mod dispatcher;
pub mod failed;
mod failed_post;
pub mod message;
mod poison;
pub mod rate_limit;
pub mod render;
mod run_loop;
pub mod webhook_client;

pub use crate::config::{WebhookUrl, WebhookUrlError};
/// The queue this dispatcher drains (it lives below `records`, which fills it).
pub use crate::outbox;
pub use dispatcher::{Activity, DispatchError, Dispatcher, DispatcherConfig, Step, WorkflowSource};
