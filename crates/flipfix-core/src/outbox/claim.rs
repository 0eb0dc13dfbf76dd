//! Claiming due rows under a lease (coalescing a person's rows into one
//! digest), and the earliest time a pending row can be claimed.

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;

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
