//! A stored record as its notification: loads what the template shows
//! (machine, author, parent, link) and renders the kind's template.

use sqlx::PgPool;

use super::message::RecordMessage;
use crate::records::view::{MachineView, ParentView, PhotoView, RecordView, ViewParts};
use crate::records::{get_record, Media, Record};
use crate::workflow::Workflows;

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("record {0} no longer exists")]
    RecordMissing(i64),
    #[error("record {id} is of kind `{kind}`, which the workflows no longer declare")]
    UnknownKind { id: i64, kind: String },
    #[error("notification template failed: {0}")]
    Template(#[from] crate::templates::TemplateError),
    #[error("database error while rendering a notification")]
    Database(#[from] sqlx::Error),
}

/// The rendered message of one record and the name it is attributed to.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub message: RecordMessage,
    pub author: Option<String>,
}

/// Renders record `id` with its kind's notification template. Photos come
/// from `photo_urls` (the record media table is a later layer).
pub async fn render_record(
    pool: &PgPool,
    workflows: &Workflows,
    base_url: Option<&str>,
    id: i64,
) -> Result<Rendered, RenderError> {
    let record = get_record(pool, id)
        .await?
        .ok_or(RenderError::RecordMissing(id))?;
    let view = load_view(pool, workflows, base_url, &record).await?;
    let kind = workflows
        .kinds
        .get(&record.kind)
        .ok_or_else(|| RenderError::UnknownKind {
            id,
            kind: record.kind.clone(),
        })?;
    let rendered = workflows
        .templates
        .render_message(&kind.notification_template, &view)?;
    Ok(Rendered {
        message: RecordMessage {
            title: rendered.title,
            body: rendered.body,
            url: view.url.clone(),
            color: kind.color,
            photo_urls: view.photos.iter().map(|p| p.url.clone()).collect(),
        },
        author: view.author,
    })
}

fn record_url(base_url: Option<&str>, link_path: &str, id: i64) -> Option<String> {
    base_url.map(|base| format!("{}/{link_path}/{id}/", base.trim_end_matches('/')))
}

async fn load_view(
    pool: &PgPool,
    workflows: &Workflows,
    base_url: Option<&str>,
    record: &Record,
) -> Result<RecordView, RenderError> {
    let kind = workflows
        .kinds
        .get(&record.kind)
        .ok_or_else(|| RenderError::UnknownKind {
            id: record.id,
            kind: record.kind.clone(),
        })?;
    let machine = match record.machine_id {
        Some(machine_id) => sqlx::query_as::<_, (String, String, Option<String>)>(
            "SELECT slug, name, short_name FROM machines WHERE id = $1",
        )
        .bind(machine_id)
        .fetch_optional(pool)
        .await?
        .map(|(slug, name, short_name)| MachineView {
            display_name: short_name.clone().unwrap_or_else(|| name.clone()),
            slug,
            name,
            short_name,
        }),
        None => None,
    };
    let author = match (record.author_maintainer_id, &record.author_name) {
        (Some(maintainer), _) => {
            sqlx::query_scalar::<_, String>(
                "SELECT COALESCE(display_name, username) FROM maintainers WHERE id = $1",
            )
            .bind(maintainer)
            .fetch_optional(pool)
            .await?
        }
        (None, name) => name.clone(),
    };
    let parent = match record.parent_id {
        Some(parent_id) => {
            let parent_kind: Option<String> =
                sqlx::query_scalar("SELECT kind FROM records WHERE id = $1")
                    .bind(parent_id)
                    .fetch_optional(pool)
                    .await?;
            parent_kind.and_then(|name| {
                let parent_kind = workflows.kinds.get(&name)?;
                Some(ParentView {
                    id: parent_id,
                    kind: parent_kind.into(),
                    url: record_url(base_url, &parent_kind.link_path, parent_id),
                })
            })
        }
        None => None,
    };
    // Images only: Discord embeds cannot show videos as a gallery.
    let photos: Vec<PhotoView> = sqlx::query_as::<_, (String, String, Option<String>)>(
        "SELECT url, filename, content_type FROM record_media WHERE record_id = $1 ORDER BY id",
    )
    .bind(record.id)
    .fetch_all(pool)
    .await?
    .into_iter()
    .filter(|(_, filename, content_type)| Media::is_image(content_type.as_deref(), filename))
    .map(|(url, filename, _)| PhotoView { url, filename })
    .collect();
    Ok(RecordView::new(
        kind,
        ViewParts {
            id: Some(record.id),
            description: record.description.clone(),
            fields: record.fields.clone(),
            machine,
            author,
            parent,
            url: record_url(base_url, &kind.link_path, record.id),
            photos,
            occurred_at: record.occurred_at.to_rfc3339(),
        },
    ))
}
