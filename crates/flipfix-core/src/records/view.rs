//! What templates see of a record: the context of review cards and
//! notifications. Every declared field is present (as `none` when unset) so
//! templates can test `{% if record.fields.x %}` under strict undefined.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::workflow::{FieldType, RecordKind};

#[derive(Debug, Clone, Serialize)]
pub struct RecordView {
    pub kind: KindView,
    /// `none` for a suggestion not yet created.
    pub id: Option<i64>,
    pub description: String,
    /// Field name → value (`none` when unset).
    pub fields: BTreeMap<String, Option<String>>,
    /// The same fields in declaration order, with labels, for generic lists.
    pub field_list: Vec<FieldView>,
    pub status: Option<String>,
    pub machine: Option<MachineView>,
    /// Who the record is attributed to.
    pub author: Option<String>,
    pub parent: Option<ParentView>,
    /// The record's page, when `PUBLIC_BASE_URL` is set.
    pub url: Option<String>,
    pub photos: Vec<PhotoView>,
    /// RFC 3339.
    pub occurred_at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct KindView {
    pub name: String,
    pub label: String,
    pub emoji: String,
}

impl From<&RecordKind> for KindView {
    fn from(kind: &RecordKind) -> Self {
        Self {
            name: kind.name.clone(),
            label: kind.label.clone(),
            emoji: kind.emoji.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct FieldView {
    pub name: String,
    pub label: String,
    pub value: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MachineView {
    pub slug: String,
    pub name: String,
    pub short_name: Option<String>,
    /// The short name when there is one, else the name.
    pub display_name: String,
    /// Its operational status, where the view knows it (the review card):
    /// templates show it when it is `not_good`.
    pub status: Option<MachineStatusView>,
}

/// A machine's operational status as declared (`machine_statuses:`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MachineStatusView {
    pub name: String,
    pub label: String,
    pub emoji: String,
    /// A declared status other than normal service (`good`).
    pub not_good: bool,
    pub out_of_service: bool,
}

impl MachineStatusView {
    /// `name` under the declared statuses (an undeclared name shows as
    /// itself).
    pub fn new(statuses: &crate::workflow::MachineStatuses, name: &str) -> Self {
        Self {
            name: name.to_string(),
            label: statuses.label(name),
            emoji: statuses
                .get(name)
                .map(|s| s.emoji.clone())
                .unwrap_or_default(),
            not_good: statuses.is_not_good(name),
            out_of_service: statuses.is_out_of_service(name),
        }
    }

    /// A broken machine, for the samples `check` renders.
    pub fn sample() -> Self {
        Self {
            name: "broken".into(),
            label: "Broken".into(),
            emoji: "❌".into(),
            not_good: true,
            out_of_service: true,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ParentView {
    pub id: i64,
    pub kind: KindView,
    pub url: Option<String>,
    /// The change this record made to the parent's status (a log entry
    /// that closed its report): the notification says "closed #12".
    pub status_change: Option<StatusChangeView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StatusChangeView {
    pub from: Option<String>,
    pub to: String,
    /// `to` is one of the parent kind's closed statuses.
    pub closed: bool,
    /// `from` was closed and `to` is not.
    pub reopened: bool,
}

impl StatusChangeView {
    pub fn new(parent_kind: &RecordKind, from: Option<String>, to: String) -> Self {
        let closed_value = |s: &str| parent_kind.closed_statuses.iter().any(|c| c == s);
        let closed = closed_value(&to);
        let reopened = !closed && from.as_deref().is_some_and(closed_value);
        Self {
            from,
            to,
            closed,
            reopened,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PhotoView {
    pub url: String,
    pub filename: String,
}

/// The parts a view is built from.
#[derive(Debug, Clone, Default)]
pub struct ViewParts {
    pub id: Option<i64>,
    pub description: String,
    pub fields: BTreeMap<String, String>,
    pub machine: Option<MachineView>,
    pub author: Option<String>,
    pub parent: Option<ParentView>,
    pub url: Option<String>,
    pub photos: Vec<PhotoView>,
    pub occurred_at: String,
}

impl From<&crate::catalog::Machine> for MachineView {
    fn from(machine: &crate::catalog::Machine) -> Self {
        Self {
            slug: machine.slug.clone(),
            name: machine.name.clone(),
            short_name: machine.short_name.clone(),
            display_name: machine.display_name().to_string(),
            status: None,
        }
    }
}

impl MachineView {
    /// The view with the machine's status under the declared statuses.
    pub fn with_status(self, statuses: &crate::workflow::MachineStatuses, status: &str) -> Self {
        Self {
            status: Some(MachineStatusView::new(statuses, status)),
            ..self
        }
    }
}

impl RecordView {
    /// The view of a record (or suggestion) of `kind`.
    pub fn new(kind: &RecordKind, parts: ViewParts) -> Self {
        let field_list: Vec<FieldView> = kind
            .fields
            .iter()
            .map(|field| FieldView {
                name: field.name.clone(),
                label: field.label.clone(),
                value: parts.fields.get(&field.name).cloned(),
            })
            .collect();
        let fields = field_list
            .iter()
            .map(|f| (f.name.clone(), f.value.clone()))
            .collect();
        let status = kind
            .status_field
            .as_ref()
            .and_then(|s| parts.fields.get(s))
            .cloned();
        Self {
            kind: kind.into(),
            id: parts.id,
            description: parts.description,
            fields,
            field_list,
            status,
            machine: parts.machine,
            author: parts.author,
            parent: parts.parent,
            url: parts.url,
            photos: parts.photos,
            occurred_at: parts.occurred_at,
        }
    }

    /// A made-up record of `kind` for checking templates: `full` fills every
    /// optional part, otherwise every optional part is absent.
    pub fn sample(kind: &RecordKind, full: bool) -> Self {
        let fields = kind
            .fields
            .iter()
            .filter_map(|field| {
                let value = match (&field.ty, full || field.required) {
                    (_, false) => None,
                    (FieldType::Choice { choices }, true) => {
                        field.default.clone().or_else(|| choices.first().cloned())
                    }
                    (FieldType::Text { .. }, true) => {
                        Some(format!("sample {}", field.label.to_lowercase()))
                    }
                };
                value.map(|value| (field.name.clone(), value))
            })
            .collect();
        let parts = ViewParts {
            id: full.then_some(42),
            description: "The left flipper is weak; adjusted the EOS switch.".into(),
            fields,
            machine: full.then(|| MachineView {
                slug: "eight-ball-deluxe-limited-edition".into(),
                name: "Eight Ball Deluxe (Limited Edition)".into(),
                short_name: Some("EBD LE".into()),
                display_name: "EBD LE".into(),
                status: Some(MachineStatusView::sample()),
            }),
            author: full.then(|| "Sample Maintainer".into()),
            parent: (full && !kind.parents.is_empty()).then(|| ParentView {
                id: 7,
                kind: KindView {
                    name: kind.parents[0].clone(),
                    label: kind.parents[0].replace('_', " "),
                    emoji: String::new(),
                },
                url: Some(crate::config::PublicBaseUrl::example().record("records", 7)),
                status_change: kind.resolves_parent.as_ref().map(|to| StatusChangeView {
                    from: Some("open".into()),
                    to: to.clone(),
                    closed: true,
                    reopened: false,
                }),
            }),
            url: full.then(|| crate::config::PublicBaseUrl::example().record(&kind.link_path, 42)),
            photos: if full {
                vec![PhotoView {
                    url: "https://cdn.discordapp.com/attachments/1/2/flipper.jpg".into(),
                    filename: "flipper.jpg".into(),
                }]
            } else {
                Vec::new()
            },
            occurred_at: "2025-01-15T15:23:08Z".into(),
        };
        Self::new(kind, parts)
    }
}
