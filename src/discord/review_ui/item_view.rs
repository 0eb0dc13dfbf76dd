//! The template context of one suggestion: its machine, author and parent
//! looked up, as the card template sees them.

use crate::app::App;
use crate::catalog::machines;
use crate::discord::Error;
use crate::records::get_record;
use crate::records::view::{MachineView, ParentView, PhotoView, RecordView, ViewParts};
use crate::records::Author;
use crate::review::Session;
use crate::workflow::{RecordKind, Workflows};

/// The template context for one suggestion.
pub(super) async fn item_view(
    app: &App,
    workflows: &Workflows,
    kind: &RecordKind,
    session: &Session,
    position: usize,
) -> Result<RecordView, Error> {
    let entry = &session.items[position];
    let item = &entry.item;
    // With its status as it is now: the card says when the machine is not good.
    let machine = match item.machine_id {
        Some(id) => machines::by_id(&app.pool, id).await?.map(|m| {
            MachineView::from(&m).with_status(workflows.kinds.machine_statuses(), &m.status)
        }),
        None => None,
    };
    let author = match &item.author {
        Author::Name(name) => Some(name.clone()),
        Author::Maintainer(id) => {
            sqlx::query_scalar::<_, String>(
                "SELECT coalesce(display_name, username) FROM maintainers WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(&app.pool)
            .await?
        }
    };
    let parent_id = session.parent_record_id(position);
    let parent = match parent_id {
        Some(id) => get_record(&app.pool, id).await?.and_then(|record| {
            let parent_kind = workflows.kinds.get(&record.kind)?;
            Some(ParentView {
                id,
                kind: parent_kind.into(),
                url: app
                    .secrets
                    .public_base_url
                    .as_ref()
                    .map(|b| b.record(&parent_kind.link_path, id)),
                status_change: None,
            })
        }),
        None => None,
    };
    Ok(RecordView::new(
        kind,
        ViewParts {
            id: None,
            description: item.description.clone(),
            fields: item.fields.clone(),
            machine,
            author,
            parent,
            url: None,
            photos: item
                .media
                .iter()
                .map(|m| PhotoView {
                    url: m.url.clone(),
                    filename: m.filename.clone(),
                })
                .collect(),
            occurred_at: item.occurred_at.to_rfc3339(),
        },
    ))
}
