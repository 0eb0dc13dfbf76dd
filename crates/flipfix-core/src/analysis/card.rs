//! A suggestion as its kind's review-card template sees it, so the replay
//! tool and the Discord review show the same card.

use crate::records::view::{FieldView, KindView, MachineView, ParentView, RecordView};
use crate::workflow::RecordKinds;

use super::catalog::Catalog;
use super::validate::{MachineMatch, Suggestion};

/// The card context of `suggestion`, or `None` when its kind is unknown
/// (validated suggestions always have a known kind).
pub fn suggestion_view(
    suggestion: &Suggestion,
    parent_kind: Option<&str>,
    kinds: &RecordKinds,
    catalog: &Catalog,
    public_base_url: Option<&crate::config::PublicBaseUrl>,
) -> Option<RecordView> {
    let kind = kinds.get(&suggestion.kind)?;
    let field_list: Vec<FieldView> = kind
        .fields
        .iter()
        .map(|field| FieldView {
            name: field.name.clone(),
            label: field.label.clone(),
            value: suggestion
                .fields
                .get(&field.name)
                .cloned()
                .or_else(|| field.default.clone()),
        })
        .collect();
    let status = kind
        .status_field
        .as_ref()
        .and_then(|s| field_list.iter().find(|f| &f.name == s))
        .and_then(|f| f.value.clone());
    let machine = match &suggestion.machine {
        MachineMatch::Known { slug, name, .. } => {
            let short_name = catalog
                .machines
                .iter()
                .find(|m| &m.slug == slug)
                .and_then(|m| m.short_name.clone());
            Some(MachineView {
                slug: slug.clone(),
                name: name.clone(),
                display_name: short_name.clone().unwrap_or_else(|| name.clone()),
                short_name,
                // The replay has no live machine status to show.
                status: None,
            })
        }
        MachineMatch::Unknown { .. } | MachineMatch::None => None,
    };
    let parent = suggestion.parent_record_id.and_then(|id| {
        let parent = kinds.get(parent_kind?)?;
        Some(ParentView {
            id,
            kind: parent.into(),
            url: public_base_url.map(|base| base.record(&parent.link_path, id)),
            status_change: None,
        })
    });
    Some(RecordView {
        kind: KindView::from(kind),
        id: None,
        description: suggestion.description.clone(),
        fields: field_list
            .iter()
            .map(|f| (f.name.clone(), f.value.clone()))
            .collect(),
        field_list,
        status,
        machine,
        author: suggestion.author.as_ref().map(|a| a.display().to_string()),
        parent,
        url: None,
        photos: Vec::new(),
        occurred_at: String::new(),
    })
}
