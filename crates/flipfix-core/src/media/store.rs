//! The stored copies: their state (for pages, cards and notifications) and
//! their bytes, kept in Postgres (`media_blobs`).

use sqlx::PgPool;

/// Where a record's attachment stands.
/// Stored as TEXT (its CHECK lists the values); `sqlx::Type` reads and
/// binds it by these snake_case names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum CopyState {
    /// Not copied yet: pages show "photo pending".
    Pending,
    /// The copy exists and is served at `/media/<id>`.
    Stored,
    /// It will not be copied; the reason is kept with the row.
    Failed,
    /// Not a photo or video; nothing to copy.
    Skipped,
}

impl CopyState {
    /// What a page or card says about it, in a few words.
    pub fn label(self) -> &'static str {
        match self {
            Self::Pending => "photo pending",
            Self::Stored => "stored",
            Self::Failed => "photo unavailable",
            Self::Skipped => "not a photo",
        }
    }
}

/// One attachment of a record and the state of its copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaItem {
    pub id: i64,
    pub record_id: i64,
    pub filename: String,
    /// The type the uploader declared (from Discord).
    pub declared_type: Option<String>,
    /// The type found on the bytes, once stored.
    pub stored_type: Option<String>,
    pub stored_bytes: Option<i64>,
    pub state: CopyState,
    /// Why the copy failed (or why the last attempt did).
    pub error: Option<String>,
}

impl MediaItem {
    /// An image (not a video), as far as is known.
    pub fn is_image(&self) -> bool {
        match &self.stored_type {
            Some(sniffed) => sniffed.starts_with("image/"),
            None => crate::domain::Media::is_image(self.declared_type.as_deref(), &self.filename),
        }
    }

    /// A file name safe for headers and `attachment://` references:
    /// the id, a cleaned stem, and the extension of the sniffed type.
    pub fn safe_filename(&self) -> String {
        let stem = self
            .filename
            .rsplit_once('.')
            .map_or(self.filename.as_str(), |(stem, _)| stem);
        let clean: String = stem
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
            .take(60)
            .collect();
        let extension = self
            .stored_type
            .as_deref()
            .map_or("bin", super::sniff::extension);
        if clean.is_empty() {
            format!("{}.{extension}", self.id)
        } else {
            format!("{}-{clean}.{extension}", self.id)
        }
    }
}

type ItemRow = (
    i64,
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<i64>,
    CopyState,
    Option<String>,
);

/// An item row and its record's kind.
type WithKind = (
    i64,
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<i64>,
    CopyState,
    Option<String>,
    String,
);

const ITEM_COLUMNS: &str =
    "id, record_id, filename, content_type, stored_type, stored_bytes, copy_state, copy_error";

fn item(
    (id, record_id, filename, declared_type, stored_type, stored_bytes, state, error): ItemRow,
) -> MediaItem {
    MediaItem {
        id,
        record_id,
        filename,
        declared_type,
        stored_type,
        stored_bytes,
        state,
        error,
    }
}

/// A record's attachments, in the order they were kept.
pub async fn for_record(pool: &PgPool, record_id: i64) -> Result<Vec<MediaItem>, sqlx::Error> {
    let rows: Vec<ItemRow> = sqlx::query_as(&format!(
        "SELECT {ITEM_COLUMNS} FROM record_media WHERE record_id = $1 ORDER BY id"
    ))
    .bind(record_id)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(item).collect())
}

/// One attachment, with the kind of its record (pages decide who may see it).
pub async fn get(pool: &PgPool, id: i64) -> Result<Option<(MediaItem, String)>, sqlx::Error> {
    let row: Option<WithKind> = sqlx::query_as(
        "SELECT m.id, m.record_id, m.filename, m.content_type, m.stored_type, m.stored_bytes,
                    m.copy_state, m.copy_error, r.kind
             FROM record_media m JOIN records r ON r.id = m.record_id
             WHERE m.id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(a, b, c, d, e, f, g, h, kind)| (item((a, b, c, d, e, f, g, h)), kind)))
}

/// The stored bytes of attachment `id`, if it has been copied.
pub async fn bytes(pool: &PgPool, id: i64) -> Result<Option<Vec<u8>>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT b.bytes FROM media_blobs b JOIN record_media m ON m.id = b.media_id
         WHERE b.media_id = $1 AND m.copy_state = 'stored'",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// Marks copy `id` stored (in `storage`), in `tx`, unless another worker
/// settled the row first (its lease ran out while this one downloaded).
pub(super) async fn mark_stored(
    tx: &mut sqlx::PgConnection,
    id: i64,
    content_type: &str,
    size: usize,
    storage: &str,
) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE record_media
         SET copy_state = 'stored', stored_type = $2, stored_bytes = $3, storage = $4,
             stored_at = now(), copy_error = NULL, copy_claimed_until = NULL
         WHERE id = $1 AND copy_state = 'pending'",
    )
    .bind(id)
    .bind(content_type)
    .bind(size as i64)
    .bind(storage)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    Ok(updated > 0)
}

/// Whether record `record_id` has an image still being copied and was
/// created after `since`: its notification waits a little for the copy, so
/// it shows the stored photo rather than Discord's expiring URL.
pub(crate) async fn copies_pending(
    pool: &PgPool,
    record_id: i64,
    since: chrono::DateTime<chrono::Utc>,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (
             SELECT 1 FROM record_media m JOIN records r ON r.id = m.record_id
             WHERE m.record_id = $1 AND m.copy_state = 'pending' AND r.created_at > $2
               -- Images only (as `Media::is_image`): videos are not shown.
               AND (m.content_type LIKE 'image/%'
                    OR (m.content_type IS NULL
                        AND lower(m.filename) ~ '\\.(jpe?g|png|gif|webp|heic)$')))",
    )
    .bind(record_id)
    .bind(since)
    .fetch_one(pool)
    .await
}
