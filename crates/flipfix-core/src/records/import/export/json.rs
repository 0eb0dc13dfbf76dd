//! The shapes of the original system's export files, as serde reads them;
//! `super` turns them into entries and names what it cannot read.

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ExportJson {
    pub(super) problem_reports: Option<Vec<Value>>,
    pub(super) log_entries: Option<Vec<Value>>,
    pub(super) part_requests: Option<Vec<Value>>,
}

#[derive(Debug, Deserialize)]
pub(super) struct ProblemJson {
    #[serde(default)]
    pub(super) id: Option<Value>,
    pub(super) machine: String,
    #[serde(alias = "text")]
    pub(super) description: String,
    #[serde(default)]
    pub(super) status: Option<String>,
    #[serde(default)]
    pub(super) priority: Option<String>,
    #[serde(default)]
    pub(super) problem_type: Option<String>,
    pub(super) reported_by: String,
    pub(super) occurred_at: String,
    #[serde(default)]
    pub(super) media: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct LogJson {
    #[serde(default)]
    pub(super) id: Option<Value>,
    #[serde(default)]
    pub(super) machine: Option<String>,
    #[serde(alias = "description")]
    pub(super) text: String,
    pub(super) maintainers: Vec<String>,
    pub(super) occurred_at: String,
    #[serde(default)]
    pub(super) media: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct PartJson {
    #[serde(default)]
    pub(super) id: Option<Value>,
    #[serde(default)]
    pub(super) machine: Option<String>,
    #[serde(alias = "description")]
    pub(super) text: String,
    #[serde(default)]
    pub(super) status: Option<String>,
    pub(super) requested_by: String,
    pub(super) occurred_at: String,
    #[serde(default)]
    pub(super) media: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct UpdateJson {
    #[serde(default)]
    pub(super) id: Option<Value>,
    #[serde(alias = "description")]
    pub(super) text: String,
    #[serde(default)]
    pub(super) new_status: Option<String>,
    pub(super) posted_by: String,
    pub(super) occurred_at: String,
    #[serde(default)]
    pub(super) media: Vec<String>,
}
