//! Writing outbox rows (a record's notification, a daily summary) in the
//! caller's transaction, and waking the dispatchers on commit.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::CHANNEL;
use crate::config::settings::bool_in;
use crate::config::SettingKey;
use crate::domain::CreatedVia;
use crate::workflow::RecordKind;

/// Why a record was or was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    Queued(i64),
    MasterSwitchOff,
    KindSwitchedOff,
    FromDiscordOff,
    /// Imported history, not asked to be posted.
    History,
}

/// Queues the notification of a new record, in the caller's transaction.
/// The switches are read on the same connection, so the decision matches the
/// settings the transaction commits against.
pub async fn enqueue_in(
    conn: &mut PgConnection,
    kind: &RecordKind,
    record_id: i64,
    created_via: CreatedVia,
    author_maintainer_id: Option<i64>,
    now: DateTime<Utc>,
) -> Result<Enqueued, sqlx::Error> {
    // Imported history happened long ago: posting it would flood the channel.
    if created_via == (CreatedVia::Import { notify: false }) {
        return Ok(Enqueued::History);
    }
    // Master off: records are not queued at all (see docs/notifications.md "Notifications");
    // otherwise a bot installed with the default (off) would flood the channel
    // with its whole history the day an admin turns posting on.
    if !bool_in(conn, SettingKey::DiscordWebhooksEnabled).await? {
        return Ok(Enqueued::MasterSwitchOff);
    }
    if !bool_in(conn, &kind.webhook_switch).await? {
        return Ok(Enqueued::KindSwitchedOff);
    }
    if created_via == CreatedVia::DiscordMessage
        && !bool_in(conn, SettingKey::DiscordWebhooksFromDiscord).await?
    {
        return Ok(Enqueued::FromDiscordOff);
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO notification_outbox (record_id, author_key, created_at, next_attempt_at)
         VALUES ($1, $2, $3, $3) RETURNING id",
    )
    .bind(record_id)
    .bind(author_maintainer_id.map(|id| format!("maintainer:{id}")))
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    wake_dispatchers(conn).await?;
    Ok(Enqueued::Queued(id))
}

/// Queues a daily summary (already stored in `summary_posts`), in the
/// caller's transaction, which also holds the summary's claim.
pub async fn enqueue_summary_in(
    conn: &mut PgConnection,
    summary_post_id: i64,
    now: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO notification_outbox (summary_post_id, created_at, next_attempt_at)
         VALUES ($1, $2, $2) RETURNING id",
    )
    .bind(summary_post_id)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    wake_dispatchers(conn).await?;
    Ok(id)
}

/// Tells the dispatchers a row is waiting; delivered to listeners only when
/// the caller's transaction commits.
async fn wake_dispatchers(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_notify($1, '')")
        .bind(CHANNEL)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
