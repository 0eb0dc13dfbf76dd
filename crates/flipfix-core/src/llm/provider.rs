//! The model provider in force, behind one client: Anthropic's Messages API
//! or an OpenAI-compatible Chat Completions API. It also owns the fallback
//! from a forced tool choice to `auto` when an API refuses the forced one.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use super::{
    AnthropicClient, ApiAttempt, LlmError, OpenAiClient, RetryPolicy, ToolAnswer, ToolRequest,
};
use crate::config::{Secret, Secrets};
use crate::workflow::{Analyze, ModelProvider, ToolChoice};

/// Models whose forced tool choice an API refused, for the life of the
/// process (shared by every client the process builds).
#[derive(Debug, Clone, Default)]
pub struct ToolChoiceMemory(Arc<Mutex<HashSet<String>>>);

impl ToolChoiceMemory {
    fn refused(&self, key: &str) -> bool {
        self.0.lock().is_ok_and(|set| set.contains(key))
    }

    /// True the first time `key` is remembered.
    fn remember(&self, key: String) -> bool {
        match self.0.lock() {
            Ok(mut set) => set.insert(key),
            Err(poisoned) => poisoned.into_inner().insert(key),
        }
    }
}

#[derive(Debug, Clone)]
enum Backend {
    Anthropic(AnthropicClient),
    OpenAi(OpenAiClient),
}

/// A client for the provider a workflow names.
#[derive(Debug, Clone)]
pub struct LlmClient {
    backend: Backend,
    memory: ToolChoiceMemory,
}

impl From<AnthropicClient> for LlmClient {
    fn from(client: AnthropicClient) -> Self {
        Self {
            backend: Backend::Anthropic(client),
            memory: ToolChoiceMemory::default(),
        }
    }
}

impl From<OpenAiClient> for LlmClient {
    fn from(client: OpenAiClient) -> Self {
        Self {
            backend: Backend::OpenAi(client),
            memory: ToolChoiceMemory::default(),
        }
    }
}

impl LlmClient {
    /// A client for `provider`; Anthropic's URL comes from `anthropic_base_url`
    /// (`ANTHROPIC_BASE_URL`), an OpenAI-compatible one from the workflow.
    pub fn new(
        provider: &ModelProvider,
        anthropic_base_url: &str,
        timeout: Duration,
        retry: RetryPolicy,
    ) -> Result<Self, LlmError> {
        Ok(match provider {
            ModelProvider::Anthropic => {
                AnthropicClient::new(anthropic_base_url, timeout, retry)?.into()
            }
            ModelProvider::OpenAiCompatible { base_url } => {
                OpenAiClient::new(base_url, timeout, retry)?.into()
            }
        })
    }

    /// The client `menu` asks for, with the default retries.
    pub fn for_menu(menu: &Analyze, secrets: &Secrets) -> Result<Self, LlmError> {
        Self::new(
            &menu.provider,
            &secrets.anthropic_base_url,
            menu.timeout,
            RetryPolicy::default(),
        )
    }

    /// Shares `memory` (the process's) instead of a fresh one.
    pub fn with_memory(mut self, memory: ToolChoiceMemory) -> Self {
        self.memory = memory;
        self
    }

    /// `anthropic` or `openai_compatible`.
    pub fn provider_name(&self) -> &'static str {
        match &self.backend {
            Backend::Anthropic(_) => "anthropic",
            Backend::OpenAi(_) => "openai_compatible",
        }
    }

    /// Whether a call without a key is refused before it is sent (Anthropic
    /// always needs one; a local OpenAI-compatible server needs none).
    pub fn needs_key(&self) -> bool {
        matches!(self.backend, Backend::Anthropic(_))
    }

    /// The key this provider uses: for Anthropic the `ANTHROPIC_API_KEY`
    /// setting, else the secret; for OpenAI-compatible APIs the
    /// `OPENAI_API_KEY` secret.
    pub async fn resolve_key(
        &self,
        pool: &sqlx::PgPool,
        secrets: &Secrets,
    ) -> Result<Option<Secret>, crate::config::settings::SettingsError> {
        match self.backend {
            Backend::Anthropic(_) => super::resolve_api_key(pool, secrets).await,
            Backend::OpenAi(_) => Ok(secrets.openai_api_key.clone()),
        }
    }

    /// The JSON body sent for `request` (shown by `replay --show-prompt`).
    pub fn body(&self, request: &ToolRequest<'_>) -> Value {
        match &self.backend {
            Backend::Anthropic(_) => AnthropicClient::body(request),
            Backend::OpenAi(_) => OpenAiClient::body(request),
        }
    }

    pub async fn call_tool(
        &self,
        api_key: Option<&Secret>,
        request: &ToolRequest<'_>,
    ) -> Result<ToolAnswer, LlmError> {
        self.call_tool_logged(api_key, request, &mut Vec::new())
            .await
    }

    /// Sends `request`, retrying what is worth retrying, and tells
    /// `attempts` about every HTTP attempt. When the API answers that it
    /// does not take a forced tool choice, the request is sent once more
    /// with `auto` and an instruction, and the model is asked that way from
    /// then on (warned once).
    pub async fn call_tool_logged(
        &self,
        api_key: Option<&Secret>,
        request: &ToolRequest<'_>,
        attempts: &mut Vec<ApiAttempt>,
    ) -> Result<ToolAnswer, LlmError> {
        let memory_key = format!("{}:{}", self.endpoint(), request.model);
        let mut request = request.clone();
        if self.memory.refused(&memory_key) {
            request.tool_choice = ToolChoice::Auto;
        }
        match self.send(api_key, &request, attempts).await {
            Err(err)
                if request.tool_choice == ToolChoice::Forced
                    && err.refuses_forced_tool_choice() =>
            {
                if self.memory.remember(memory_key) {
                    tracing::warn!(
                        provider = self.provider_name(),
                        model = request.model,
                        error = %err,
                        "the API refuses a forced tool choice for this model; asking with tool_choice auto and an instruction from now on (until restart; set tool_choice auto for it in the workflow)"
                    );
                }
                request.tool_choice = ToolChoice::Auto;
                self.send(api_key, &request, attempts).await
            }
            other => other,
        }
    }

    async fn send(
        &self,
        api_key: Option<&Secret>,
        request: &ToolRequest<'_>,
        attempts: &mut Vec<ApiAttempt>,
    ) -> Result<ToolAnswer, LlmError> {
        match &self.backend {
            Backend::Anthropic(client) => client.call_tool_logged(api_key, request, attempts).await,
            Backend::OpenAi(client) => client.call_tool_logged(api_key, request, attempts).await,
        }
    }

    /// Tells one API from another in the memory.
    fn endpoint(&self) -> &str {
        match &self.backend {
            Backend::Anthropic(_) => "anthropic",
            Backend::OpenAi(client) => client.base_url(),
        }
    }
}
