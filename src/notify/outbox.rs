//! The notification outbox: rows written in the record's transaction, claimed
//! by dispatchers with a lease, and marked delivered (kept as history) or,
//! when they cannot be posted, failed (see `failed` for the admin side).
//!
//! Claims commit at once (no row lock is held across the HTTP call); the
//! lease (`claimed_until`) keeps other dispatchers off the row meanwhile, and
//! its expiry hands the row to another dispatcher when the claimer died.

use chrono::{DateTime, Duration, Utc};
use sqlx::{PgConnection, PgPool};

use crate::config::settings::bool_in;
use crate::config::SettingKey;
use crate::records::CreatedVia;
use crate::workflow::RecordKind;

/// The channel dispatchers LISTEN on; record creation NOTIFYs it on commit.
pub const CHANNEL: &str = "notification_outbox";

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
) -> Result<Enqueued, sqlx::Error> {
    // Imported history happened long ago: posting it would flood the channel.
    if created_via == (CreatedVia::Import { notify: false }) {
        return Ok(Enqueued::History);
    }
    // Master off: records are not queued at all (see README "Notifications");
    // otherwise a bot installed with the default (off) would flood the channel
    // with its whole history the day an admin turns posting on.
    if !bool_in(conn, SettingKey::DiscordWebhooksEnabled).await? {
        return Ok(Enqueued::MasterSwitchOff);
    }
    if let Some(key) = kind.notify_setting {
        if !bool_in(conn, key).await? {
            return Ok(Enqueued::KindSwitchedOff);
        }
    }
    if created_via == CreatedVia::DiscordMessage
        && !bool_in(conn, SettingKey::DiscordWebhooksFromDiscord).await?
    {
        return Ok(Enqueued::FromDiscordOff);
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO notification_outbox (record_id, author_key) VALUES ($1, $2) RETURNING id",
    )
    .bind(record_id)
    .bind(author_maintainer_id.map(|id| format!("maintainer:{id}")))
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
) -> Result<i64, sqlx::Error> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO notification_outbox (summary_post_id) VALUES ($1) RETURNING id",
    )
    .bind(summary_post_id)
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

/// One claimed outbox row: a record's notification (`record_id`) or a
/// daily summary (`summary_post_id`); exactly one is set.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Claimed {
    pub id: i64,
    pub record_id: Option<i64>,
    pub summary_post_id: Option<i64>,
    pub attempts: i32,
}

/// How due rows are chosen.
#[derive(Debug, Clone, Copy)]
pub struct ClaimRules {
    pub lease: Duration,
    /// `Some` when coalescing is on.
    pub coalesce: Option<Coalescing>,
}

/// A person's rows wait until they have been quiet for `quiet`, but no row
/// waits longer than `max_delay` after it was queued.
#[derive(Debug, Clone, Copy)]
pub struct Coalescing {
    pub quiet: Duration,
    pub max_delay: Duration,
}

impl Default for Coalescing {
    fn default() -> Self {
        Self {
            quiet: Duration::minutes(5),
            max_delay: Duration::minutes(15),
        }
    }
}

/// Claims the oldest due row and, when coalescing, the same person's other
/// waiting rows with it (one digest). Returns an empty batch when nothing is
/// due. The claim commits before this returns.
pub async fn claim(
    pool: &PgPool,
    now: DateTime<Utc>,
    rules: ClaimRules,
) -> Result<Vec<Claimed>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let (coalesce, quiet, max_delay) = match rules.coalesce {
        Some(c) => (true, c.quiet, c.max_delay),
        None => (false, Duration::zero(), Duration::zero()),
    };
    // Pending = neither delivered nor failed; a failed row never holds up
    // anything (it is not due, and it does not count as a person's
    // activity). A row split off a refused digest goes alone, at once.
    let head: Option<(i64, Option<String>, bool)> = sqlx::query_as(
        "SELECT o.id, o.author_key, o.post_alone FROM notification_outbox o
         WHERE o.delivered_at IS NULL AND o.failed_at IS NULL
           AND o.next_attempt_at <= $1
           AND (o.claimed_until IS NULL OR o.claimed_until <= $1)
           AND (NOT $2 OR o.author_key IS NULL OR o.post_alone OR
                (SELECT max(p.created_at) FROM notification_outbox p
                 WHERE p.author_key = o.author_key
                   AND p.delivered_at IS NULL AND p.failed_at IS NULL) <= $1 - $3
                OR o.created_at <= $1 - $4)
         ORDER BY o.id
         LIMIT 1
         FOR UPDATE OF o SKIP LOCKED",
    )
    .bind(now)
    .bind(coalesce)
    .bind(quiet)
    .bind(max_delay)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((head_id, author_key, alone)) = head else {
        tx.rollback().await?;
        return Ok(Vec::new());
    };
    let ids: Vec<i64> = match author_key.filter(|_| coalesce && !alone) {
        Some(key) => {
            let mut ids = vec![head_id];
            ids.extend(
                sqlx::query_scalar::<_, i64>(
                    // Members waiting out a backoff stay out: they would
                    // spend an attempt early.
                    "SELECT id FROM notification_outbox
                     WHERE author_key = $1 AND id <> $2
                       AND delivered_at IS NULL AND failed_at IS NULL AND NOT post_alone
                       AND next_attempt_at <= $3
                       AND (claimed_until IS NULL OR claimed_until <= $3)
                     ORDER BY id
                     FOR UPDATE SKIP LOCKED",
                )
                .bind(&key)
                .bind(head_id)
                .bind(now)
                .fetch_all(&mut *tx)
                .await?,
            );
            ids
        }
        None => vec![head_id],
    };
    let claimed = sqlx::query_as::<_, Claimed>(
        "UPDATE notification_outbox
         SET claimed_until = $2, attempts = attempts + 1
         WHERE id = ANY($1)
         RETURNING id, record_id, summary_post_id, attempts",
    )
    .bind(&ids)
    .bind(now + rules.lease)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut claimed = claimed;
    claimed.sort_by_key(|row| row.id);
    Ok(claimed)
}

/// Marks a batch delivered. The first row carried the message; the others
/// (a digest's) point at it.
pub async fn mark_delivered(
    pool: &PgPool,
    ids: &[i64],
    now: DateTime<Utc>,
    message_id: Option<u64>,
) -> Result<(), sqlx::Error> {
    let Some(&carrier) = ids.first() else {
        return Ok(());
    };
    sqlx::query(
        "UPDATE notification_outbox
         SET delivered_at = $2, discord_message_id = $3, claimed_until = NULL, last_error = NULL,
             digest_of = CASE WHEN id = $4 THEN NULL ELSE $4 END
         WHERE id = ANY($1)",
    )
    .bind(ids)
    .bind(now)
    .bind(message_id.map(crate::records::to_db_id))
    .bind(carrier)
    .execute(pool)
    .await?;
    Ok(())
}

/// Gives a batch back to the queue, due again at `retry_at`.
pub async fn release(
    pool: &PgPool,
    ids: &[i64],
    retry_at: DateTime<Utc>,
    error: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE notification_outbox
         SET claimed_until = NULL, next_attempt_at = $2, last_error = COALESCE($3, last_error)
         WHERE id = ANY($1)",
    )
    .bind(ids)
    .bind(retry_at)
    .bind(error)
    .execute(pool)
    .await?;
    Ok(())
}

/// Puts rows back without counting the claim as an attempt: they were not
/// tried, only postponed (a record whose photos are still being copied).
pub async fn postpone(pool: &PgPool, ids: &[i64], at: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE notification_outbox
         SET claimed_until = NULL, next_attempt_at = $2, attempts = GREATEST(attempts - 1, 0)
         WHERE id = ANY($1)",
    )
    .bind(ids)
    .bind(at)
    .execute(pool)
    .await?;
    Ok(())
}

/// Sets rows aside as failed, with their error: they are no longer due and
/// hold up nothing, until an admin retries or drops them.
pub async fn fail(
    pool: &PgPool,
    ids: &[i64],
    now: DateTime<Utc>,
    error: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE notification_outbox
         SET failed_at = $2, last_error = $3, claimed_until = NULL
         WHERE id = ANY($1)",
    )
    .bind(ids)
    .bind(now)
    .bind(error)
    .execute(pool)
    .await?;
    Ok(())
}

/// Splits a digest Discord refused: its rows go back to the queue, due at
/// once, each to be posted on its own, so the one Discord refuses is found
/// (and ends failed) while the others go out.
pub async fn split(pool: &PgPool, ids: &[i64], error: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE notification_outbox
         SET claimed_until = NULL, post_alone = TRUE, last_error = $2
         WHERE id = ANY($1)",
    )
    .bind(ids)
    .bind(error)
    .execute(pool)
    .await?;
    Ok(())
}

/// The earliest time a pending row can be claimed under `coalesce`: its
/// retry time, the end of another dispatcher's lease, and (when coalescing)
/// the end of its author's quiet period or its maximum delay. `None` when
/// nothing is pending. The dispatcher sleeps until then.
pub async fn next_claimable(
    pool: &PgPool,
    coalesce: Option<Coalescing>,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    let (on, quiet, max_delay) = match coalesce {
        Some(c) => (true, c.quiet, c.max_delay),
        None => (false, Duration::zero(), Duration::zero()),
    };
    sqlx::query_scalar(
        "SELECT min(GREATEST(
                    o.next_attempt_at,
                    COALESCE(o.claimed_until, o.next_attempt_at),
                    CASE WHEN $1 AND o.author_key IS NOT NULL AND NOT o.post_alone THEN
                        LEAST((SELECT max(p.created_at) FROM notification_outbox p
                               WHERE p.author_key = o.author_key
                                 AND p.delivered_at IS NULL AND p.failed_at IS NULL) + $2,
                              o.created_at + $3)
                    ELSE o.next_attempt_at END))
         FROM notification_outbox o
         WHERE o.delivered_at IS NULL AND o.failed_at IS NULL",
    )
    .bind(on)
    .bind(quiet)
    .bind(max_delay)
    .fetch_one(pool)
    .await
}

/// The queue is parked while `DISCORD_WEBHOOK_URL` is the URL that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parked {
    pub error: String,
    pub url: String,
    pub at: DateTime<Utc>,
}

pub async fn parked(pool: &PgPool) -> Result<Option<Parked>, sqlx::Error> {
    type Row = (Option<String>, Option<String>, Option<DateTime<Utc>>);
    let row: Option<Row> = sqlx::query_as(
        "SELECT parked_error, parked_url, parked_at FROM notification_state WHERE id",
    )
    .fetch_optional(pool)
    .await?;
    Ok(match row {
        Some((Some(error), Some(url), Some(at))) => Some(Parked { error, url, at }),
        _ => None,
    })
}

pub async fn park(
    pool: &PgPool,
    url: &str,
    error: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO notification_state (id, parked_error, parked_url, parked_at)
         VALUES (TRUE, $1, $2, $3)
         ON CONFLICT (id) DO UPDATE
         SET parked_error = $1, parked_url = $2, parked_at = $3",
    )
    .bind(error)
    .bind(url)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn unpark(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE notification_state SET parked_error = NULL, parked_url = NULL, parked_at = NULL",
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// What `/flipfix status` shows of the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueStatus {
    /// Rows waiting to be delivered (failed rows excepted).
    pub pending: i64,
    /// Rows set aside as failed.
    pub failed: i64,
    /// The most recent error of an undelivered row, if any.
    pub last_error: Option<String>,
    pub last_delivered_at: Option<DateTime<Utc>>,
}

pub async fn queue_status(pool: &PgPool) -> Result<QueueStatus, sqlx::Error> {
    let (pending, failed, last_delivered_at): (i64, i64, Option<DateTime<Utc>>) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE delivered_at IS NULL AND failed_at IS NULL),
                count(*) FILTER (WHERE failed_at IS NOT NULL),
                max(delivered_at)
         FROM notification_outbox",
    )
    .fetch_one(pool)
    .await?;
    let last_error: Option<String> = sqlx::query_scalar(
        "SELECT last_error FROM notification_outbox
         WHERE delivered_at IS NULL AND failed_at IS NULL AND last_error IS NOT NULL
         ORDER BY next_attempt_at DESC LIMIT 1",
    )
    .fetch_optional(pool)
    .await?;
    Ok(QueueStatus {
        pending,
        failed,
        last_error,
        last_delivered_at,
    })
}
