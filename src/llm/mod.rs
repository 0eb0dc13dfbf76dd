//! The Anthropic Messages API client and usage accounting.

mod client;
mod error;
pub mod usage;

pub use client::{AnthropicClient, RetryPolicy, ToolAnswer, ToolRequest};
pub use error::LlmError;
