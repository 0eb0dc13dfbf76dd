//! Loading a session and its items from their rows (optionally locking the
//! session row, which serialises every transition on it).

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::{ReviewError, ReviewItem, Session, SessionItem, SessionStatus};
use crate::domain::Snowflake;
use crate::records::open::LikelyDuplicate;
use crate::review::machine::ItemState;

#[derive(sqlx::FromRow)]
struct SessionRow {
    id: i64,
    guild_id: Option<Snowflake>,
    channel_id: Snowflake,
    target_message_id: Snowflake,
    owner_user_id: Snowflake,
    owner_name: String,
    status: SessionStatus,
    current_position: i32,
    expires_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct ItemRow {
    position: i32,
    item: sqlx::types::Json<ReviewItem>,
    parent_position: Option<i32>,
    state: ItemState,
    record_id: Option<i64>,
    duplicate: Option<sqlx::types::Json<LikelyDuplicate>>,
    attached_to: Option<i64>,
}

pub(in crate::review) async fn load_in(
    conn: &mut PgConnection,
    session_id: i64,
    lock: bool,
) -> Result<Session, ReviewError> {
    let sql = format!(
        "SELECT id, guild_id, channel_id, target_message_id, owner_user_id, owner_name, status, current_position, expires_at
         FROM review_sessions WHERE id = $1{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    let row: SessionRow = sqlx::query_as(&sql)
        .bind(session_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(ReviewError::NotFound)?;
    let items: Vec<ItemRow> = sqlx::query_as(
        "SELECT position, item, parent_position, state, record_id, duplicate, attached_to
         FROM review_items WHERE session_id = $1 ORDER BY position",
    )
    .bind(session_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(Session {
        id: row.id,
        guild_id: row.guild_id.map(Snowflake::get),
        channel_id: row.channel_id.get(),
        target_message_id: row.target_message_id.get(),
        owner_user_id: row.owner_user_id.get(),
        owner_name: row.owner_name,
        status: row.status,
        current_position: usize::try_from(row.current_position).unwrap_or_default(),
        expires_at: row.expires_at,
        items: items
            .into_iter()
            .map(|row| SessionItem {
                position: usize::try_from(row.position).unwrap_or_default(),
                item: row.item.0,
                parent_position: row.parent_position.and_then(|p| usize::try_from(p).ok()),
                state: row.state,
                record_id: row.record_id,
                duplicate: row.duplicate.map(|d| d.0),
                attached_to: row.attached_to,
            })
            .collect(),
    })
}
