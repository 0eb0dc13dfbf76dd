//! `machine_statuses:` and `status_rules:` as authors write them (see
//! `workflow::machines`).

use serde::Deserialize;
use serde_saphyr::Spanned;

/// One operational status a machine can be in.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MachineStatusDecl {
    pub name: Spanned<String>,
    pub label: String,
    #[serde(default)]
    pub emoji: String,
    /// Whether a machine in this status counts as out of service.
    #[serde(default)]
    pub out_of_service: bool,
}

/// While an open record of `kind` has `field` = `equals`, its machine is
/// set to `sets`. When the last such record closes, the bot asks whether to
/// set the machine to `restore_to`; it never does so by itself.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusRuleDecl {
    pub kind: Spanned<String>,
    pub field: Spanned<String>,
    pub equals: Spanned<String>,
    pub sets: Spanned<String>,
    pub restore_to: Spanned<String>,
}
