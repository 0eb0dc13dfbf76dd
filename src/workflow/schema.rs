//! The YAML schema of workflow files, exactly as authors write it. Unknown
//! keys are refused; `Spanned` keeps the line of every value that another
//! part of the workflow refers to, so cross-reference errors point at it.

use serde::Deserialize;
use serde_saphyr::Spanned;

/// One file in `workflows/`. Every section is optional, so authors may split
/// a workflow across files as they like; names must be unique across files.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowFile {
    #[serde(default)]
    pub record_kinds: Vec<Spanned<KindDecl>>,
    /// The "Add to Flipfix" flow; declared in at most one file.
    #[serde(default)]
    pub context_menu: Option<Spanned<ContextMenuDecl>>,
    /// Worked examples for the analysis prompt: a conversation and the
    /// answer a correct analysis gives. Rendered into the system prompt and
    /// run through the real pipeline by `check`.
    #[serde(default)]
    pub examples: Vec<Spanned<ExampleDecl>>,
    /// Messages posted to the webhook at a set local time each day (see
    /// `workflow::summaries`).
    #[serde(default)]
    pub summaries: Vec<Spanned<super::summaries::SummaryDecl>>,
}

/// One worked example: a short plain-channel conversation, the clicked
/// message, and the `record_suggestions` answer a correct analysis gives.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExampleDecl {
    /// A short id, shown as the example's title.
    pub name: String,
    /// Why the answer is right, in one or two sentences (shown to the model).
    pub lesson: String,
    /// People who write in it: Discord user id → display name.
    pub users: std::collections::BTreeMap<String, String>,
    /// Machines it mentions: slug → name (the catalog `check` matches against).
    #[serde(default)]
    pub machines: std::collections::BTreeMap<String, String>,
    pub messages: Vec<ExampleMessageDecl>,
    /// Id of the clicked message.
    pub target: String,
    /// The tool input a correct analysis gives (the `record_suggestions` shape).
    pub answer: Spanned<serde_json::Value>,
    /// The conversation is a thread whose starter already became this
    /// record (shown as "This thread started from …"; its id may be a parent).
    #[serde(default)]
    pub started_from: Option<StartedFromDecl>,
}

/// An existing record a worked example's thread started from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartedFromDecl {
    pub kind: String,
    pub id: i64,
    /// A slug from the example's `machines`.
    #[serde(default)]
    pub machine: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    pub text: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExampleMessageDecl {
    pub id: String,
    /// A user id from `users`.
    pub author: String,
    pub content: String,
    #[serde(default)]
    pub reply_to: Option<String>,
}

/// The message context-menu flow: what is gathered, which model is asked
/// what, and what it costs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContextMenuDecl {
    /// The command's name in Discord's message menu ("Add to Flipfix").
    pub command_name: String,
    pub windows: WindowsDecl,
    /// Anthropic model id; must have an entry in `prices`.
    pub model: Spanned<String>,
    pub max_tokens: u32,
    #[serde(default)]
    pub temperature: f32,
    /// Seconds one API request may take before it is abandoned.
    #[serde(default = "default_timeout_seconds")]
    pub timeout_seconds: u64,
    /// Record kinds the model may suggest (declared kinds).
    pub kinds: Vec<Spanned<String>>,
    pub prompts: PromptsDecl,
    /// US dollars per million tokens, per model id.
    pub prices: std::collections::BTreeMap<String, PriceDecl>,
    /// Sending the conversation's photos to the model; off when absent.
    #[serde(default)]
    pub vision: Option<Spanned<VisionDecl>>,
    /// How the conversation learns that records were created (a reaction,
    /// optionally a reply); missing = react ✅, no reply.
    #[serde(default)]
    pub on_created: Option<Spanned<super::on_created::OnCreatedDecl>>,
    /// Which API the model is asked through (`anthropic` when not declared).
    #[serde(default)]
    pub provider: Option<Spanned<ProviderDecl>>,
    /// The API's base URL, for `openai_compatible` (where it is required),
    /// e.g. `http://127.0.0.1:11434/v1`.
    #[serde(default)]
    pub base_url: Option<Spanned<String>>,
    /// How the model is made to call the tool: `forced` or `auto`, for every
    /// model or per model (`forced` when not declared).
    #[serde(default)]
    pub tool_choice: Option<Spanned<ToolChoiceDecl>>,
}

/// `vision:` in the context menu: the photos of the conversation go to the
/// model as images. Writing the section opts in (`enabled` defaults to
/// true); the defaults and bounds are in `workflow::vision`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VisionDecl {
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Images sent per analysis at most, newest first.
    #[serde(default)]
    pub max_images: Option<Spanned<usize>>,
    /// Megabytes one image may have (declared and downloaded).
    #[serde(default)]
    pub max_image_mb: Option<Spanned<usize>>,
}

/// The model provider's API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderDecl {
    /// Anthropic's Messages API (`ANTHROPIC_BASE_URL`, `ANTHROPIC_API_KEY`).
    Anthropic,
    /// Any OpenAI-compatible Chat Completions API (OpenAI, Ollama, vLLM,
    /// llama.cpp's server) at `base_url`, with `OPENAI_API_KEY` if set.
    OpenaiCompatible,
}

/// How the tool call is asked for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolChoice {
    /// The API's forced tool choice: the model must call the tool.
    #[default]
    Forced,
    /// The tool is offered, and the prompt tells the model to call it (for
    /// models and servers that refuse a forced choice).
    Auto,
}

/// `tool_choice: forced`, or a default with exceptions per model.
#[derive(Debug, Clone)]
pub enum ToolChoiceDecl {
    Every(ToolChoice),
    PerModel(ToolChoiceTableDecl),
}

impl<'de> Deserialize<'de> for ToolChoiceDecl {
    /// By hand, so a mistake is named ("data did not match any variant"
    /// is what an untagged enum says).
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = ToolChoiceDecl;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("`forced`, `auto`, or a table with `default` and `models`")
            }

            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Self::Value, E> {
                match value {
                    "forced" => Ok(ToolChoiceDecl::Every(ToolChoice::Forced)),
                    "auto" => Ok(ToolChoiceDecl::Every(ToolChoice::Auto)),
                    other => Err(E::invalid_value(
                        serde::de::Unexpected::Str(other),
                        &"`forced` or `auto` (or a table with `default` and `models`)",
                    )),
                }
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                ToolChoiceTableDecl::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(ToolChoiceDecl::PerModel)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolChoiceTableDecl {
    #[serde(default)]
    pub default: ToolChoice,
    /// Model id (as in `prices`) → its tool choice.
    #[serde(default)]
    pub models: std::collections::BTreeMap<String, ToolChoice>,
}

fn default_timeout_seconds() -> u64 {
    60
}

/// How much conversation is gathered around the clicked message.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowsDecl {
    /// Plain channel: messages before the target.
    pub channel_before: usize,
    /// Thread: thread messages ending at the target (the target included).
    pub thread_messages: usize,
    /// Thread: parent-channel messages before the starter.
    pub thread_preroll: usize,
    /// Reply chain: how many replies are followed back.
    pub reply_chain_depth: usize,
    /// Reply chain: messages before the origin.
    pub reply_chain_preroll: usize,
    /// Never more than this many messages in all.
    pub max_messages: usize,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromptsDecl {
    /// The stable, cacheable part: role, kinds, guidelines, catalog.
    pub system: Spanned<String>,
    /// The conversation to analyse.
    pub conversation: Spanned<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct PriceDecl {
    pub input: f64,
    pub output: f64,
    pub cache_write: f64,
    pub cache_read: f64,
}

/// A record kind as declared in YAML.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KindDecl {
    /// Identifier used in the database and in the LLM schema (`problem_report`).
    pub name: Spanned<String>,
    /// What people read ("Problem report").
    pub label: String,
    /// Emoji shown before the label in Discord.
    #[serde(default)]
    pub emoji: String,
    /// Path segment of record pages on `PUBLIC_BASE_URL` (`problem-reports`).
    pub link_path: String,
    /// Who may see this kind's records on the web pages and in search:
    /// `public` (anyone) or `members` (signed-in members of the home server).
    /// Members-only when not declared: the safe side.
    #[serde(default = "WebAccess::members")]
    pub web: WebAccess,
    /// `required`, `optional`.
    pub machine: MachineDecl,
    /// Take the parent's machine when the record names none (and refuse a
    /// different one).
    #[serde(default)]
    pub inherit_machine: bool,
    /// Kinds this kind may be attached to.
    #[serde(default)]
    pub parents: Vec<Spanned<String>>,
    #[serde(default)]
    pub parent_required: bool,
    pub description: DescriptionDecl,
    #[serde(default)]
    pub fields: Vec<Spanned<FieldDecl>>,
    /// Which field (a `choice`) is the record's status.
    #[serde(default)]
    pub status_field: Option<Spanned<String>>,
    /// The `choice` field the review card offers as a select menu (the
    /// kind's most important choice, e.g. `priority`).
    #[serde(default)]
    pub card_select: Option<Spanned<String>>,
    /// Values of the status field that mean "done": records in any other
    /// status are open (duplicate checks, the prompt's open records). Empty
    /// = the kind's records are never treated as open.
    #[serde(default)]
    pub closed_statuses: Vec<Spanned<String>>,
    /// Changes made to the parent record when a record of this kind is created.
    #[serde(default)]
    pub updates_parent: Vec<Spanned<ParentUpdateDecl>>,
    /// Fields the review's edit modal shows (Discord allows at most five).
    #[serde(default)]
    pub edit_fields: Vec<Spanned<String>>,
    /// Template names (paths under `prompts/`).
    pub templates: TemplatesDecl,
    /// The boolean setting that switches webhook posts of this kind on and
    /// off (`DISCORD_WEBHOOKS_PARTS`); without one, the master switch alone
    /// governs the kind.
    #[serde(default)]
    pub notify_setting: Option<Spanned<String>>,
    /// Embed colour of the kind's webhook posts, `#rrggbb`.
    #[serde(default)]
    pub color: Option<Spanned<String>>,
    /// What the model is told about when to suggest this kind.
    #[serde(default)]
    pub guidance: String,
    /// A slash command that creates this kind directly, without the model.
    #[serde(default)]
    pub command: Option<Spanned<CommandDecl>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandDecl {
    /// Discord command name: 1–32 lower-case letters, digits, `-` or `_`.
    pub name: String,
    /// Shown in Discord's command picker (at most 100 characters).
    pub description: String,
}

/// Who may see a kind's records outside Discord.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WebAccess {
    /// Anyone, signed in or not.
    Public,
    /// Signed-in members of the home server only.
    Members,
}

impl WebAccess {
    fn members() -> Self {
        Self::Members
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MachineDecl {
    Required,
    Optional,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DescriptionDecl {
    pub label: String,
    pub max_length: usize,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldDecl {
    pub name: String,
    pub label: String,
    #[serde(rename = "type")]
    pub ty: FieldTypeDecl,
    /// For `choice`: the allowed values.
    #[serde(default)]
    pub choices: Vec<String>,
    /// For `text`: the longest value.
    #[serde(default)]
    pub max_length: Option<usize>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub default: Option<String>,
    /// What the model is told about this field.
    #[serde(default)]
    pub guidance: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldTypeDecl {
    Text,
    Choice,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParentUpdateDecl {
    /// The parent's field to set.
    pub field: String,
    /// This record's field whose value (when present) is copied.
    pub from: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplatesDecl {
    /// The review card shown in Discord.
    pub card: Spanned<String>,
    /// The webhook notification.
    pub notification: Spanned<String>,
}
