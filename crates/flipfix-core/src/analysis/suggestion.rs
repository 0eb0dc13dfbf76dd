//! What the analysis hands to review: checked suggestions, and the repairs
//! validation made on the way.

use std::collections::BTreeMap;

use serde::Serialize;

/// The machine of a suggestion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "match", rename_all = "snake_case")]
pub enum MachineMatch {
    /// Found in the catalog.
    Known {
        id: Option<i64>,
        slug: String,
        name: String,
    },
    /// The model named a machine the catalog does not have (or none where
    /// the kind needs one): the person picks it during review.
    Unknown { said: Option<String> },
    /// No machine, and the kind does not need one.
    None,
}

impl MachineMatch {
    pub fn slug(&self) -> Option<&str> {
        match self {
            Self::Known { slug, .. } => Some(slug),
            _ => None,
        }
    }
}

/// Who a suggestion is attributed to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SuggestedAuthor {
    /// A Discord user who wrote in the conversation.
    Discord {
        id: u64,
        username: String,
        display_name: String,
    },
    /// A records-app user named in a record post (`— Name`).
    Records { name: String },
}

impl SuggestedAuthor {
    /// As scenarios write it: a Discord id, or `flipfix/<name>`.
    pub fn key(&self) -> String {
        match self {
            Self::Discord { id, .. } => id.to_string(),
            Self::Records { name } => format!("flipfix/{name}"),
        }
    }

    pub fn display(&self) -> &str {
        match self {
            Self::Discord { display_name, .. } => display_name,
            Self::Records { name } => name,
        }
    }
}

/// A checked suggestion, ready for review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suggestion {
    pub kind: String,
    pub machine: MachineMatch,
    pub description: String,
    /// Declared fields only, values checked.
    pub fields: BTreeMap<String, String>,
    /// Messages of the conversation, in conversation order; never empty.
    pub source_message_ids: Vec<u64>,
    pub author: Option<SuggestedAuthor>,
    pub parent_record_id: Option<i64>,
    /// The model says this entry fixed its parent (`resolves_parent`): the
    /// review card offers "Create and close" first.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub resolves: bool,
    pub children: Vec<Suggestion>,
}

/// One thing validation changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Repair {
    /// Which of the model's suggestions (its numbering, before drops): `1`,
    /// `2.1` (first child of the second).
    pub at: String,
    pub action: RepairAction,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RepairAction {
    Dropped,
    Repaired,
}

impl std::fmt::Display for Repair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let action = match self.action {
            RepairAction::Dropped => "dropped",
            RepairAction::Repaired => "repaired",
        };
        write!(f, "model suggestion {}: {action}: {}", self.at, self.reason)
    }
}
