//! The public reply a review leaves in its conversation once it is over:
//! whether one is due, what it lists, and the claim in Postgres that makes
//! it happen at most once per review (two racing clicks, a restart, two
//! instances). The posted message is remembered in `bot_posts`, so later
//! analyses never read it as a source.

use serde::Serialize;
use sqlx::PgPool;

use super::{ItemState, Session, SessionStatus};
use crate::domain::Snowflake;
use crate::workflow::{RecordKind, RecordKinds};

/// One created record, as the reply template sees it.
#[derive(Debug, Clone, Serialize)]
pub struct ReplyRecord {
    pub id: i64,
    pub kind: String,
    pub label: String,
    pub emoji: String,
    /// The record's page, when `PUBLIC_BASE_URL` is set.
    pub url: Option<String>,
    /// The first line of its description: people's (or the model's) words,
    /// rendered as data.
    pub summary: String,
}

/// The reply template's context.
#[derive(Debug, Clone, Serialize)]
pub struct ReplyContext {
    pub records: Vec<ReplyRecord>,
    pub count: usize,
}

const SUMMARY_CHARS: usize = 120;

impl ReplyContext {
    /// The records `session` created, in review order.
    pub fn for_session(
        session: &Session,
        kinds: &RecordKinds,
        base_url: Option<&crate::config::PublicBaseUrl>,
    ) -> Self {
        let records: Vec<ReplyRecord> = session
            .items
            .iter()
            .filter(|entry| entry.state == ItemState::Created)
            .filter_map(|entry| {
                let id = entry.record_id?;
                let kind = kinds.get(&entry.item.kind);
                Some(record(
                    id,
                    &entry.item.kind,
                    kind,
                    &entry.item.description,
                    base_url,
                ))
            })
            .collect();
        Self {
            count: records.len(),
            records,
        }
    }

    /// A reply listing one record of every kind, with and without a link:
    /// what `check` renders the template against.
    pub fn sample(kinds: &RecordKinds) -> Self {
        let records: Vec<ReplyRecord> = kinds
            .iter()
            .enumerate()
            .map(|(i, kind)| {
                let base = (i % 2 == 0).then(crate::config::PublicBaseUrl::example);
                record(
                    i as i64 + 1,
                    &kind.name,
                    Some(kind),
                    "Sample description\nsecond line",
                    base.as_ref(),
                )
            })
            .collect();
        Self {
            count: records.len(),
            records,
        }
    }
}

fn record(
    id: i64,
    kind_name: &str,
    kind: Option<&RecordKind>,
    description: &str,
    base_url: Option<&crate::config::PublicBaseUrl>,
) -> ReplyRecord {
    ReplyRecord {
        id,
        kind: kind_name.to_string(),
        label: kind.map_or_else(|| kind_name.to_string(), |k| k.label.clone()),
        emoji: kind.map(|k| k.emoji.clone()).unwrap_or_default(),
        url: base_url
            .zip(kind)
            .map(|(base, kind)| base.record(&kind.link_path, id)),
        summary: crate::text::truncate_chars(
            description.lines().next().unwrap_or_default().trim(),
            SUMMARY_CHARS,
        ),
    }
}

/// True when the review is over (finished, or cancelled after some records
/// were created) and created at least one record: the moment to reply.
pub fn reply_due(session: &Session) -> bool {
    matches!(
        session.status,
        SessionStatus::Finished | SessionStatus::Cancelled
    ) && session
        .items
        .iter()
        .any(|entry| entry.state == ItemState::Created)
}

/// What became of a claimed reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyOutcome {
    Posted {
        channel_id: u64,
        message_id: u64,
    },
    /// A permission is missing; nothing was posted.
    Skipped,
    Failed,
}

/// Claims the reply of `session_id`: `true` for exactly one caller, ever.
pub async fn claim_reply(pool: &PgPool, session_id: i64) -> Result<bool, sqlx::Error> {
    let claimed = sqlx::query(
        "INSERT INTO review_replies (session_id) VALUES ($1) ON CONFLICT (session_id) DO NOTHING",
    )
    .bind(session_id)
    .execute(pool)
    .await?;
    Ok(claimed.rows_affected() == 1)
}

/// Records what became of the claim; a posted message also goes into
/// `bot_posts` (in the same transaction).
pub async fn finish_reply(
    pool: &PgPool,
    session_id: i64,
    outcome: ReplyOutcome,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    let (label, message_id) = match outcome {
        ReplyOutcome::Posted {
            channel_id,
            message_id,
        } => {
            sqlx::query(
                "INSERT INTO bot_posts (message_id, channel_id, session_id) VALUES ($1, $2, $3)
                 ON CONFLICT (message_id) DO NOTHING",
            )
            .bind(Snowflake(message_id))
            .bind(Snowflake(channel_id))
            .bind(session_id)
            .execute(&mut *tx)
            .await?;
            ("posted", Some(Snowflake(message_id)))
        }
        ReplyOutcome::Skipped => ("skipped", None),
        ReplyOutcome::Failed => ("failed", None),
    };
    sqlx::query("UPDATE review_replies SET outcome = $2, message_id = $3 WHERE session_id = $1")
        .bind(session_id)
        .bind(label)
        .bind(message_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}
