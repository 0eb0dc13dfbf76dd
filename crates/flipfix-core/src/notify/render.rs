//! A stored record as its notification: loads what the template shows
//! (machine, author, parent, link) and renders the kind's template.

use sqlx::PgPool;

use super::message::{PhotoFile, RecordMessage, MAX_PHOTOS};
use crate::media::{store as media_store, BlobError, BlobStore, CopyState};
use crate::records::view::{
    MachineView, ParentView, PhotoView, RecordView, StatusChangeView, ViewParts,
};
use crate::records::{get_record, Record};
use crate::workflow::Workflows;

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("record {0} no longer exists")]
    RecordMissing(i64),
    #[error("record {id} is of kind `{kind}`, which the workflows no longer declare")]
    UnknownKind { id: i64, kind: String },
    #[error("notification template failed: {0}")]
    Template(#[from] crate::templates::TemplateError),
    #[error("daily summary {0} no longer exists")]
    SummaryMissing(i64),
    #[error("outbox row {0} names neither a record nor a summary")]
    NoSubject(i64),
    #[error("database error while rendering a notification")]
    Database(#[from] sqlx::Error),
}

/// The rendered message of one record and the name it is attributed to.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub message: RecordMessage,
    pub author: Option<String>,
    /// Stored photos to upload with the post (`attachment://` in the
    /// embed), when there is no `PUBLIC_BASE_URL` to link them.
    pub files: Vec<PhotoFile>,
}

/// Discord's upload limit for a webhook post on a server without boosts;
/// photos past it are left out of an attached post rather than refused.
pub const MAX_UPLOAD_BYTES: i64 = 10 * 1024 * 1024;

/// Renders record `id` with its kind's notification template. Photos are
/// the stored copies (see `media`): linked at `PUBLIC_BASE_URL/media/<id>`,
/// or attached as files without it. A photo whose copy is still pending is
/// shown by its Discord URL (valid for about a day); one that failed is
/// left out.
pub async fn render_record(
    pool: &PgPool,
    workflows: &Workflows,
    base_url: Option<&crate::config::PublicBaseUrl>,
    blobs: &BlobStore,
    id: i64,
) -> Result<Rendered, RenderError> {
    let record = get_record(pool, id)
        .await?
        .ok_or(RenderError::RecordMissing(id))?;
    let (photos, files) = photos(pool, base_url, blobs, id).await?;
    let mut view = load_view(pool, workflows, base_url, &record, photos).await?;
    make_text_inert(&mut view);
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
        files,
    })
}

/// What people and the model wrote (description, field values, a kept
/// author name) cannot carry links or pass for the message's own lines.
fn make_text_inert(view: &mut RecordView) {
    use super::message::escape_record_text;
    view.description = escape_record_text(&view.description);
    for value in view.fields.values_mut().flatten() {
        *value = escape_record_text(value);
    }
    for field in &mut view.field_list {
        if let Some(value) = &mut field.value {
            *value = escape_record_text(value);
        }
    }
    if let Some(author) = &mut view.author {
        *author = escape_record_text(author);
    }
}

/// A daily summary's message, rendered when it was due and stored with its
/// claim (see `crate::summary`): posted as it was then.
pub(crate) async fn render_summary(pool: &PgPool, id: i64) -> Result<Rendered, RenderError> {
    let row: Option<(Option<String>, Option<String>)> =
        sqlx::query_as("SELECT title, body FROM summary_posts WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?;
    let Some((Some(title), Some(body))) = row else {
        return Err(RenderError::SummaryMissing(id));
    };
    Ok(Rendered {
        message: RecordMessage {
            title,
            body,
            url: None,
            color: Some(SUMMARY_COLOR),
            photo_urls: Vec::new(),
        },
        author: None,
        files: Vec::new(),
    })
}

/// The embed colour of daily summaries (Discord's blurple).
const SUMMARY_COLOR: u32 = 0x5865f2;

/// The record's images for its message, and the files to upload for them.
async fn photos(
    pool: &PgPool,
    base_url: Option<&crate::config::PublicBaseUrl>,
    blobs: &BlobStore,
    record_id: i64,
) -> Result<(Vec<PhotoView>, Vec<PhotoFile>), sqlx::Error> {
    let items = media_store::for_record(pool, record_id).await?;
    let cdn_urls: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, url FROM record_media WHERE record_id = $1")
            .bind(record_id)
            .fetch_all(pool)
            .await?;
    let mut photos = Vec::new();
    let mut files = Vec::new();
    let mut uploaded = 0;
    // Images only: Discord embeds cannot show videos as a gallery.
    for item in items.iter().filter(|item| item.is_image()) {
        if photos.len() == MAX_PHOTOS {
            break;
        }
        let url = match (item.state, base_url) {
            (CopyState::Stored, Some(base)) => {
                format!("{}/media/{}", base.trim_end_matches('/'), item.id)
            }
            (CopyState::Stored, None) => {
                let size = item.stored_bytes.unwrap_or(0);
                if uploaded + size > MAX_UPLOAD_BYTES {
                    continue;
                }
                let bytes = match blobs.get(pool, item.id).await {
                    Ok(Some(bytes)) => bytes,
                    Ok(None) => continue,
                    Err(BlobError::Database(err)) => return Err(err),
                    Err(err) => {
                        // The post goes out without this photo rather than
                        // waiting on a bucket.
                        tracing::warn!(media = item.id, error = %err, "a stored photo could not be read for a notification");
                        continue;
                    }
                };
                uploaded += size;
                let name = item.safe_filename();
                files.push(PhotoFile {
                    name: name.clone(),
                    content_type: item.stored_type.clone().unwrap_or_default(),
                    bytes,
                });
                format!("attachment://{name}")
            }
            (CopyState::Pending, _) => match cdn_urls.iter().find(|(id, _)| *id == item.id) {
                Some((_, url)) => url.clone(),
                None => continue,
            },
            (CopyState::Failed | CopyState::Skipped, _) => continue,
        };
        photos.push(PhotoView {
            url,
            filename: item.filename.clone(),
        });
    }
    Ok((photos, files))
}

fn record_url(
    base_url: Option<&crate::config::PublicBaseUrl>,
    link_path: &str,
    id: i64,
) -> Option<String> {
    base_url.map(|base| base.record(link_path, id))
}

async fn load_view(
    pool: &PgPool,
    workflows: &Workflows,
    base_url: Option<&crate::config::PublicBaseUrl>,
    record: &Record,
    photos: Vec<PhotoView>,
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
            status: None,
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
            let change = crate::records::status::change_made_by(pool, record.id)
                .await?
                .filter(|change| change.record_id == parent_id);
            parent_kind.and_then(|name| {
                let parent_kind = workflows.kinds.get(&name)?;
                Some(ParentView {
                    id: parent_id,
                    kind: parent_kind.into(),
                    url: record_url(base_url, &parent_kind.link_path, parent_id),
                    status_change: change
                        .map(|c| StatusChangeView::new(parent_kind, c.from_status, c.to_status)),
                })
            })
        }
        None => None,
    };
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
