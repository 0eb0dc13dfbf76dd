//! The `examples` section: worked examples for the analysis prompt (a
//! conversation and the answer a correct analysis gives).

use serde::Deserialize;
use serde_saphyr::Spanned;

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
