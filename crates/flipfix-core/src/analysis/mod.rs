//! Analysis: the conversation around a clicked message → prompt → model →
//! validated record suggestions. Discord calls [`analyze`]; the replay tool
//! and tests use the same steps ([`prepare`], [`interpret`]) offline.
//!
//! ```text
//! let client = LlmClient::for_menu(menu, &secrets)?; // Anthropic or OpenAI-compatible
//! let key = client.resolve_key(&pool, &secrets).await?;
//! let menu = for_workflow(&workflows, Some("add_to_flipfix"))?;
//! let deps = AnalysisDeps { pool: &pool, workflows: &workflows, analyze: menu, client: &client, api_key: key.as_ref(), progress: None, limits: None, allow_loopback_urls: false, clock: &SystemClock };
//! match analyze(&deps, &discord_source, &request).await {
//!     Ok(analysis) if analysis.is_empty() => reply(NO_RECORDS_MESSAGE),
//!     Ok(analysis) => start_review(analysis.suggestions),
//!     Err(err) => reply(err.user_message()), // and log `err` (Display has the detail)
//! }
//! ```

pub mod card;
pub mod catalog;
pub mod conversation;
mod cost;
pub mod eval;
pub mod examples;
pub mod existing;
pub mod gather;
mod interpret;
pub mod own_posts;
pub mod prompt;
pub mod scenario;
pub mod source;
pub mod suggestion;
pub mod tool_schema;
pub mod validate;
pub mod vision;

use serde::Serialize;
use sqlx::PgPool;

pub use catalog::Catalog;
pub use conversation::{Conversation, Message, MessageAuthor, Mode};
pub use cost::{estimated_max_cost, record_attempts, Attribution};
pub use interpret::{interpret, known_from_conversation};
pub use source::{MessageSource, SourceError, ThreadInfo};
pub use suggestion::{MachineMatch, Repair, RepairAction, SuggestedAuthor, Suggestion};

use crate::config::Secret;
use crate::llm::budget::{self, SpendLimits, SpendRefusal};
use crate::llm::{LlmClient, LlmError, ToolRequest};
use crate::workflow::{Analyze, TokenUsage, Workflows};
use prompt::Prompt;

/// What the Discord layer asks for.
#[derive(Debug, Clone)]
pub struct AnalysisRequest {
    pub guild_id: Option<u64>,
    pub channel_id: u64,
    pub target_id: u64,
    /// Who clicked (a Discord user id), for usage accounting.
    pub requested_by: String,
    /// The workflow run this analysis is part of (`runs`): what it gathered
    /// and its usage are recorded with it.
    pub run_id: Option<i64>,
}

/// The result: suggestions to review, what validation changed, and cost.
#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    pub conversation: Conversation,
    pub suggestions: Vec<Suggestion>,
    pub repairs: Vec<Repair>,
    pub usage: TokenUsage,
    pub model: String,
    pub cost_usd: Option<f64>,
    pub request_id: Option<String>,
}

impl Analysis {
    /// "No records found" is an answer, not an error; the caller says so.
    pub fn is_empty(&self) -> bool {
        self.suggestions.is_empty()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    #[error("no workflow with an analyze section is declared")]
    NotConfigured,
    /// The named workflow is not in force or has no analysis.
    #[error(transparent)]
    Workflow(#[from] crate::workflow::ChooseError),
    #[error(transparent)]
    Gather(#[from] gather::GatherError),
    #[error("prompt template: {0}")]
    Template(#[from] crate::templates::TemplateError),
    #[error(transparent)]
    Llm(#[from] LlmError),
    #[error(transparent)]
    Schema(#[from] validate::SchemaError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Spend(#[from] SpendRefusal),
    #[error("settings: {0}")]
    Settings(#[from] crate::config::settings::SettingsError),
}

impl AnalysisError {
    /// Short and actionable, for the person who clicked.
    pub fn user_message(&self) -> &'static str {
        match self {
            Self::Llm(err) => err.user_message(),
            Self::Gather(gather::GatherError::TargetNotFound) => {
                "That message can no longer be read. Was it deleted?"
            }
            Self::Gather(_) => "Could not read the conversation. Please try again.",
            Self::Schema(_) => "The analysis returned something unusable. Please try again.",
            Self::NotConfigured | Self::Workflow(_) | Self::Template(_) => {
                "The analysis is not set up correctly. An admin should run `flipfix-bot check`."
            }
            Self::Database(_) | Self::Settings(_) => {
                "The database is unavailable. Please try again."
            }
            Self::Spend(_) => "The analysis limits for today are reached.",
        }
    }
}

/// What `analyze` needs besides the message source.
pub struct AnalysisDeps<'a> {
    pub pool: &'a PgPool,
    /// The set in force: its shared kinds and templates.
    pub workflows: &'a Workflows,
    /// The triggered workflow's analysis ([`for_workflow`]): its windows,
    /// prompts, model, kinds and vision.
    pub analyze: &'a Analyze,
    /// The provider's client (`LlmClient::for_menu`).
    pub client: &'a LlmClient,
    /// The key to use (`LlmClient::resolve_key`); `None` = not configured.
    pub api_key: Option<&'a Secret>,
    /// Told when the conversation is read and the model is being asked, so
    /// the person sees progress.
    pub progress: Option<&'a (dyn Fn(Progress) + Send + Sync)>,
    /// The spend limits to reserve against before the model is called;
    /// `None` = no limits (offline tools).
    pub limits: Option<SpendLimits>,
    /// Photos may be downloaded from the loopback as well as Discord's CDN
    /// (tests; `FLIPFIX_ALLOW_LOOPBACK_URLS`).
    pub allow_loopback_urls: bool,
    /// The one clock (see `clock`): budget days and usage times.
    pub clock: &'a dyn crate::clock::Clock,
}

/// A milestone of an analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// The conversation is read; the model is asked about it.
    AskingModel { messages: usize },
}

/// The user-facing message for "nothing to record".
pub const NO_RECORDS_MESSAGE: &str = "No records found in these messages.";

/// The whole analysis of one clicked message, in an `analysis` span that
/// carries the model, the tokens and the cost once the model has answered.
pub async fn analyze<S: MessageSource>(
    deps: &AnalysisDeps<'_>,
    source: &S,
    request: &AnalysisRequest,
) -> Result<Analysis, AnalysisError> {
    use tracing::{field::Empty, Instrument};
    let menu = deps.analyze;
    let span = tracing::info_span!(
        "analysis",
        model = %menu.model,
        input_tokens = Empty,
        output_tokens = Empty,
        cost_usd = Empty
    );
    analyze_in_span(deps, source, request, &span)
        .instrument(span.clone())
        .await
}

async fn analyze_in_span<S: MessageSource>(
    deps: &AnalysisDeps<'_>,
    source: &S,
    request: &AnalysisRequest,
    span: &tracing::Span,
) -> Result<Analysis, AnalysisError> {
    let menu = deps.analyze;
    if deps.api_key.is_none() && deps.client.needs_key() {
        // Before reading any history: the user can do nothing but ask an admin.
        return Err(LlmError::NoApiKey.into());
    }
    let catalog = Catalog::load(deps.pool).await?;
    let mut conversation = gather::gather(
        source,
        &menu.windows,
        request.guild_id,
        request.channel_id,
        request.target_id,
    )
    .await?;
    let posted = own_posts::posted_among(deps.pool, &conversation.ids()).await?;
    own_posts::exclude(&mut conversation, &posted, source.own_user_id());
    let saved = crate::records::records_for_messages(deps.pool, &conversation.ids()).await?;
    conversation.exclude_saved(&saved);
    conversation.parse_references(&deps.workflows.kinds);
    existing::attach(
        deps.pool,
        &deps.workflows.kinds,
        &catalog,
        &mut conversation,
        &saved,
    )
    .await?;
    let images = vision::fetch_images(&conversation, &menu.vision, deps.allow_loopback_urls).await;
    let (kinds, templates) = (&deps.workflows.kinds, &deps.workflows.templates);
    let parts = deps
        .workflows
        .derived
        .get_or_try_make(menu, || prompt::PromptParts::new(menu, kinds, templates))?;
    let prompt = prompt::build_prompt_with_images(
        menu,
        kinds,
        templates,
        &parts,
        &catalog,
        &conversation,
        images,
    )?;
    if let Some(run_id) = request.run_id {
        crate::runs::record_gathered(deps.pool, run_id, &conversation.ids(), prompt.images.len())
            .await?;
    }
    if let Some(progress) = deps.progress {
        progress(Progress::AskingModel {
            messages: conversation.messages.len(),
        });
    }
    let reservation = match deps.limits {
        Some(limits) => Some(
            budget::reserve(
                deps.pool,
                limits,
                &request.requested_by,
                estimated_max_cost(menu, &prompt),
                deps.clock.now(),
            )
            .await??,
        ),
        None => None,
    };
    let mut attempts = Vec::new();
    let answer = deps
        .client
        .call_tool_logged(
            deps.api_key,
            &tool_request(menu, &menu.model, &prompt),
            &mut attempts,
        )
        .await;
    let cost = record_attempts(
        deps.pool,
        menu,
        &attempts,
        answer.as_ref().ok().map(|a| a.model.as_str()),
        Attribution {
            purpose: "analysis",
            requested_by: &request.requested_by,
            run_id: request.run_id,
        },
        reservation,
        deps.clock.now(),
    )
    .await?;
    let answer = answer?;
    span.record("input_tokens", answer.usage.input_tokens);
    span.record("output_tokens", answer.usage.output_tokens);
    if let Some(cost) = cost {
        span.record("cost_usd", cost);
    }
    tracing::info!(model = %answer.model, "the model answered");
    let mut known = known_from_conversation(&conversation);
    for id in validate::mentioned_parents(&answer.input) {
        if let std::collections::hash_map::Entry::Vacant(entry) = known.entry(id) {
            if let Some(record) = crate::records::get_record(deps.pool, id).await? {
                entry.insert(record.kind);
            }
        }
    }
    interpret(
        deps.workflows,
        menu,
        &catalog,
        conversation,
        answer,
        &known,
        cost,
    )
}

/// The analysis of the workflow named `name` (the one a trigger started),
/// or, with `None`, of the one workflow with a message command (offline
/// tools and tests; several is an error naming them). Each workflow's
/// analysis sends its own prompts, model and tool schema.
pub fn for_workflow<'w>(
    workflows: &'w Workflows,
    name: Option<&str>,
) -> Result<&'w Analyze, AnalysisError> {
    workflows
        .choose(name)?
        .analyze
        .as_ref()
        .ok_or(AnalysisError::NotConfigured)
}

/// Gathers the conversation from `source` (no database: nothing is excluded
/// as saved) and renders the prompt; the offline half of [`analyze`].
pub async fn prepare<S: MessageSource>(
    workflows: &Workflows,
    menu: &Analyze,
    catalog: &Catalog,
    source: &S,
    channel_id: u64,
    target_id: u64,
) -> Result<(Conversation, Prompt), AnalysisError> {
    let mut conversation =
        gather::gather(source, &menu.windows, None, channel_id, target_id).await?;
    conversation.parse_references(&workflows.kinds);
    let prompt = prompt::build_prompt(
        menu,
        &workflows.kinds,
        &workflows.templates,
        catalog,
        &conversation,
    )?;
    Ok((conversation, prompt))
}

/// The request for `prompt` with `model`.
pub fn tool_request<'a>(menu: &Analyze, model: &'a str, prompt: &'a Prompt) -> ToolRequest<'a> {
    ToolRequest {
        model,
        max_tokens: menu.max_tokens,
        temperature: menu.temperature,
        system: &prompt.system,
        user: &prompt.conversation,
        images: &prompt.images,
        tool_name: &prompt.tool.name,
        tool_description: &prompt.tool.description,
        tool_schema: &prompt.tool.input_schema,
        tool_choice: menu.tool_choice.for_model(model),
    }
}
